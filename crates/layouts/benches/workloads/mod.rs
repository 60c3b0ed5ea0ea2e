//! The copybook decoding workloads of issue 5, shared by the criterion
//! bench `copybook` and `drx bench layout` (which includes this file with
//! `#[path]`): the Cobrix test6 record, and two synthetic record types, a
//! DISPLAY-heavy customer master and a COMP-3-heavy account summary, with
//! deterministic EBCDIC 037 records.
//!
//! Not a bench target of its own: Cargo only discovers `benches/*.rs` and
//! `benches/*/main.rs`.

use drx_layouts::{
    ByteOrder, CobolOptions, CodePage, DecodeError, FloatFormat, InvalidValue, RecordOptions,
    RecordView, Value,
};

/// The Cobrix test6 options: EBCDIC 037, IEEE 754 floats, big-endian
/// COMP-5, invalid values as null (as `tests/layout_decode.rs` runs it).
pub fn test6_options() -> RecordOptions {
    RecordOptions {
        cobol: CobolOptions {
            code_page: CodePage::Ebcdic037,
            float_format: FloatFormat::Ieee754,
            native_order: ByteOrder::Big,
            ..CobolOptions::default()
        },
        invalid: InvalidValue::Null,
        ..RecordOptions::default()
    }
}

/// The synthetic workloads' options: EBCDIC 037, every value must decode.
pub fn synthetic_options() -> RecordOptions {
    RecordOptions::default()
}

/// One elementary item of a synthetic copybook.
#[derive(Clone, Copy)]
enum Pic {
    /// `PIC X(n)`.
    Text(usize),
    /// `PIC [S]9(int)[V9(frac)]` DISPLAY, trailing overpunched sign.
    Zoned { int: u32, frac: u32, signed: bool },
    /// `PIC [S]9(int)[V9(frac)] COMP-3`.
    Packed { int: u32, frac: u32, signed: bool },
}

/// A level-05 entry: an elementary item, or a group of them, with OCCURS.
struct Entry {
    name: &'static str,
    occurs: u32,
    items: Vec<(&'static str, Pic)>,
}

fn item(name: &'static str, pic: Pic) -> Entry {
    Entry {
        name,
        occurs: 1,
        items: vec![(name, pic)],
    }
}

fn group(name: &'static str, occurs: u32, items: Vec<(&'static str, Pic)>) -> Entry {
    Entry {
        name,
        occurs,
        items,
    }
}

const fn z(int: u32, frac: u32) -> Pic {
    Pic::Zoned {
        int,
        frac,
        signed: false,
    }
}

const fn sz(int: u32, frac: u32) -> Pic {
    Pic::Zoned {
        int,
        frac,
        signed: true,
    }
}

const fn sp(int: u32, frac: u32) -> Pic {
    Pic::Packed {
        int,
        frac,
        signed: true,
    }
}

/// A customer master record of 570 bytes: 29 text and 35 DISPLAY number
/// columns (dates, codes, amounts with overpunched signs), addresses and
/// 12 months of activity as OCCURS groups.
fn display_heavy() -> Vec<Entry> {
    use Pic::Text as X;
    vec![
        item("CUST-ID", z(10, 0)),
        item("CUST-TYPE", X(1)),
        item("LAST-NAME", X(25)),
        item("FIRST-NAME", X(20)),
        item("MIDDLE-INIT", X(1)),
        group(
            "ADDRESS",
            2,
            vec![
                ("STREET", X(30)),
                ("CITY", X(20)),
                ("STATE", X(2)),
                ("ZIP", z(5, 0)),
                ("ZIP-EXT", z(4, 0)),
            ],
        ),
        item("PHONE", z(10, 0)),
        item("EMAIL", X(40)),
        item("BIRTH-DATE", z(8, 0)),
        item("OPEN-DATE", z(8, 0)),
        item("STATUS-CODE", X(2)),
        item("BRANCH", z(4, 0)),
        item("BALANCE", sz(11, 2)),
        item("CREDIT-LIMIT", z(9, 2)),
        item("RATE", z(1, 4)),
        group(
            "MONTHLY",
            12,
            vec![
                ("MON-AMOUNT", sz(9, 2)),
                ("MON-COUNT", z(5, 0)),
                ("MON-FLAG", X(1)),
            ],
        ),
        item("NOTES", X(60)),
        item("SEGMENT", X(3)),
        item("SCORE", sz(3, 0)),
        item("FILLER", X(20)),
    ]
}

/// An account summary record of 537 bytes: 101 packed decimal columns
/// (31 days of debits, credits and counts) and 2 text columns.
fn comp3_heavy() -> Vec<Entry> {
    vec![
        item(
            "ACCT-NO",
            Pic::Packed {
                int: 12,
                frac: 0,
                signed: false,
            },
        ),
        item("ACCT-NAME", Pic::Text(30)),
        item("CURRENCY", Pic::Text(3)),
        item("OPEN-BAL", sp(13, 2)),
        item("CLOSE-BAL", sp(13, 2)),
        group(
            "DAILY",
            31,
            vec![
                ("DAY-DEBIT", sp(9, 2)),
                ("DAY-CREDIT", sp(9, 2)),
                ("DAY-TXNS", sp(5, 0)),
            ],
        ),
        item("YTD-INTEREST", sp(7, 4)),
        item("FILLER", Pic::Text(10)),
    ]
}

fn pic_text(pic: Pic) -> String {
    let digits = |int: u32, frac: u32, signed: bool| {
        let s = if signed { "S" } else { "" };
        if frac == 0 {
            format!("{s}9({int})")
        } else {
            format!("{s}9({int})V9({frac})")
        }
    };
    match pic {
        Pic::Text(n) => format!("PIC X({n})"),
        Pic::Zoned { int, frac, signed } => format!("PIC {}", digits(int, frac, signed)),
        Pic::Packed { int, frac, signed } => format!("PIC {} COMP-3", digits(int, frac, signed)),
    }
}

fn copybook_text(record: &str, entries: &[Entry]) -> String {
    let mut out = format!("       01  {record}.\n");
    for e in entries {
        let occurs = if e.occurs > 1 {
            format!(" OCCURS {}", e.occurs)
        } else {
            String::new()
        };
        if e.items.len() == 1 && e.items[0].0 == e.name {
            out.push_str(&format!(
                "           05  {:<14} {}{occurs}.\n",
                e.name,
                pic_text(e.items[0].1)
            ));
        } else {
            out.push_str(&format!("           05  {}{occurs}.\n", e.name));
            for (name, pic) in &e.items {
                out.push_str(&format!(
                    "               10  {name:<12} {}.\n",
                    pic_text(*pic)
                ));
            }
        }
    }
    out
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: [&str; 16] = [
    "SMITH",
    "GARCIA",
    "MUELLER",
    "ROSSI",
    "DUPONT",
    "NOVAK",
    "MAIN ST",
    "OAK AVENUE",
    "SPRINGFIELD",
    "RIVERSIDE",
    "ACCOUNT",
    "PREFERRED",
    "REVIEW",
    "CLOSED",
    "MARIA",
    "JOHN",
];

/// Digits of a number whose magnitude varies (often with leading zeros).
fn number_digits(rng: &mut Rng, n: usize) -> Vec<u8> {
    let used = 1 + rng.below(n as u64) as usize;
    let mut d = vec![0u8; n];
    for x in &mut d[n - used..] {
        *x = rng.below(10) as u8;
    }
    d
}

fn push_field(rng: &mut Rng, pic: Pic, out: &mut Vec<u8>) {
    match pic {
        Pic::Text(n) => {
            let mut text = String::new();
            while text.len() < n {
                let w = WORDS[rng.below(WORDS.len() as u64) as usize];
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(w);
                if rng.below(3) == 0 {
                    break;
                }
            }
            text.truncate(n);
            let start = out.len();
            // Every character of WORDS is in code page 037.
            let _ = CodePage::Ebcdic037.encode_into(&text, out);
            out.resize(start + n, 0x40);
        }
        Pic::Zoned { int, frac, signed } => {
            let d = number_digits(rng, (int + frac) as usize);
            let negative = signed && rng.below(4) == 0;
            let last = d.len() - 1;
            for (i, &x) in d.iter().enumerate() {
                let zone = match (i == last, signed, negative) {
                    (true, true, true) => 0xD0,
                    (true, true, false) => 0xC0,
                    _ => 0xF0,
                };
                out.push(zone | x);
            }
        }
        Pic::Packed { int, frac, signed } => {
            let n = (int + frac) as usize;
            let bytes = n / 2 + 1;
            let mut nibbles = vec![0u8; 2 * bytes - 1 - n];
            nibbles.extend(number_digits(rng, n));
            let sign = match (signed, rng.below(4) == 0) {
                (false, _) => 0xF,
                (true, true) => 0xD,
                (true, false) => 0xC,
            };
            nibbles.push(sign);
            out.extend(nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]));
        }
    }
}

/// A synthetic workload: its copybook text and `count` records, back to
/// back, of its record length.
pub struct Synthetic {
    /// Short name for reports.
    pub name: &'static str,
    /// The copybook (fixed format).
    pub copybook: String,
    /// Bytes of one record.
    pub record_len: usize,
    /// The records.
    pub data: Vec<u8>,
}

fn build(name: &'static str, record: &str, entries: &[Entry], count: usize) -> Synthetic {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ record.len() as u64);
    let mut data = Vec::new();
    let mut record_len = 0;
    for _ in 0..count {
        let start = data.len();
        for e in entries {
            for _ in 0..e.occurs {
                for (_, pic) in &e.items {
                    push_field(&mut rng, *pic, &mut data);
                }
            }
        }
        record_len = data.len() - start;
    }
    Synthetic {
        name,
        copybook: copybook_text(record, entries),
        record_len,
        data,
    }
}

/// `count` DISPLAY-heavy customer records (570 bytes each).
pub fn display(count: usize) -> Synthetic {
    build("display", "CUSTOMER-MASTER", &display_heavy(), count)
}

/// `count` COMP-3-heavy account records (537 bytes each).
pub fn comp3(count: usize) -> Synthetic {
    build("comp3", "ACCOUNT-SUMMARY", &comp3_heavy(), count)
}

/// Uses every column of a record as a sink does: text (and JSON tables)
/// decoded into UTF-8 in `text`, numbers folded into the returned checksum
/// (so no value can be skipped), nulls counted. `text` is cleared first.
pub fn consume(view: &RecordView<'_>, text: &mut Vec<u8>) -> Result<u64, DecodeError> {
    text.clear();
    let mut sum = 0u64;
    view.try_for_each(|_, value| {
        sum = sum.rotate_left(5)
            ^ match value {
                Value::Text(t) => {
                    t.write_utf8(text)?;
                    text.len() as u64
                }
                Value::Int(v) => v as u64,
                #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
                Value::Decimal(d) => d.unscaled() as u64 ^ u64::from(d.scale()),
                Value::Float(f) => f.to_bits(),
                Value::Bits { value, .. } => value,
                Value::DateTime(dt) => dt.unix_seconds() as u64,
                Value::Null => 1,
                Value::Json(t) => {
                    t.write_json_utf8(text)?;
                    text.len() as u64
                }
            };
        Ok::<_, DecodeError>(())
    })?;
    Ok(sum)
}
