//! `drx layout show` and `drx layout decode` on the Cobrix conformance
//! cases (tests/conformance/cobrix, see its README.md for the conventions
//! the adapter below undoes).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::{Command, Output};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/cobrix");

fn drx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drx"))
        .args(args)
        .env_remove("DRX_HOME")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = drx(args);
    assert!(
        out.status.success(),
        "drx {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn path(rel: &str) -> String {
    format!("{DIR}/{rel}")
}

/// A JSON leaf value, numbers kept as their text.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Str(String),
    Num(String),
}

/// A minimal JSON reader: flattens nested objects to their leaf names (as
/// our output names fields), keeps number texts exact.
struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.b[self.i], c, "at {}", self.i);
        self.i += 1;
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        while self.b[self.i] != b'"' {
            if self.b[self.i] == b'\\' {
                self.i += 1;
                match self.b[self.i] {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'u' => {
                        let h = std::str::from_utf8(&self.b[self.i + 1..self.i + 5]).unwrap();
                        let c = char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap();
                        out.extend_from_slice(c.to_string().as_bytes());
                        self.i += 4;
                    }
                    c => out.push(c),
                }
            } else {
                out.push(self.b[self.i]);
            }
            self.i += 1;
        }
        self.i += 1;
        String::from_utf8(out).unwrap()
    }
    fn object(&mut self, out: &mut BTreeMap<String, V>) {
        self.eat(b'{');
        self.ws();
        if self.b[self.i] == b'}' {
            self.i += 1;
            return;
        }
        loop {
            let key = self.string();
            self.eat(b':');
            self.ws();
            match self.b[self.i] {
                b'{' => self.object(out),
                b'"' => {
                    let s = self.string();
                    out.insert(key, V::Str(s));
                }
                b'n' => {
                    self.i += 4;
                    out.insert(key, V::Null);
                }
                _ => {
                    let start = self.i;
                    while !matches!(self.b[self.i], b',' | b'}' | b' ' | b'\n') {
                        self.i += 1;
                    }
                    let n = std::str::from_utf8(&self.b[start..self.i]).unwrap();
                    out.insert(key, V::Num(n.to_owned()));
                }
            }
            self.ws();
            if self.b[self.i] == b',' {
                self.i += 1;
            } else {
                self.eat(b'}');
                return;
            }
        }
    }
}

/// Every top-level object of `text` (JSON lines, or a pretty array).
fn objects(text: &str) -> Vec<BTreeMap<String, V>> {
    let mut p = P {
        b: text.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.ws();
        while p.i < p.b.len() && matches!(p.b[p.i], b'[' | b']' | b',') {
            p.i += 1;
            p.ws();
        }
        if p.i >= p.b.len() {
            return out;
        }
        let mut m = BTreeMap::new();
        p.object(&mut m);
        out.push(m);
    }
}

/// Compares one record of ours with Cobrix's: every value Cobrix has must
/// be ours (numbers as exact text; floats as f32 / f64 values; null filled
/// with 0 where the case says so); a value Cobrix omits must be null or an
/// empty string in ours.
fn compare(
    id: &str,
    ours: &BTreeMap<String, V>,
    want: &BTreeMap<String, V>,
    null_is_zero: bool,
    floats: &[&str],
) -> Vec<String> {
    let mut bad = Vec::new();
    for (k, w) in want {
        let got = ours.get(k).cloned().unwrap_or(V::Null);
        let same = match (&got, w) {
            (a, b) if a == b => true,
            (V::Null, V::Num(n)) => null_is_zero && n.parse::<f64>() == Ok(0.0),
            (V::Num(a), V::Num(b)) if floats.contains(&k.as_str()) => {
                // Floats: Spark prints its own shortest text.
                a.parse::<f32>().ok() == b.parse::<f32>().ok()
                    || a.parse::<f64>().ok() == b.parse::<f64>().ok()
            }
            _ => false,
        };
        if !same {
            bad.push(format!("{id} {k}: got {got:?} want {w:?}"));
        }
    }
    for (k, v) in ours {
        if !want.contains_key(k) && !matches!(v, V::Null) && *v != V::Str(String::new()) {
            bad.push(format!("{id} {k}: got {v:?}, Cobrix has no value"));
        }
    }
    bad
}

/// The numeric value of `k` (for sorting; missing or not a number: -inf).
fn key(m: &BTreeMap<String, V>, k: &str) -> f64 {
    match m.get(k) {
        Some(V::Num(n)) => n.parse().unwrap_or(f64::NEG_INFINITY),
        _ => f64::NEG_INFINITY,
    }
}

#[test]
fn test6_every_value_of_every_record() {
    let out = ok(&[
        "layout",
        "decode",
        "--layout",
        &path("test6_copybook.cob"),
        "--data",
        &path("test6_data/INTEGR.TYPES.NOV28.DATA.dat"),
        "--float",
        "ieee",
        "--comp5-big-endian",
        "--invalid",
        "null",
    ]);
    let mut ours = objects(&out);
    let want = objects(&std::fs::read_to_string(path("test6_expected/test6.txt")).unwrap());
    assert_eq!(ours.len(), 100);
    assert_eq!(want.len(), 100);
    let id = |m: &BTreeMap<String, V>| match m.get("ID") {
        Some(V::Num(n)) => n.parse::<u64>().unwrap(),
        other => panic!("no ID: {other:?}"),
    };
    ours.sort_by_key(id);
    let mut bad = Vec::new();
    let mut values = 0;
    for (o, w) in ours.iter().zip(&want) {
        assert_eq!(id(o), id(w));
        values += w.len();
        bad.extend(compare(
            &id(o).to_string(),
            o,
            w,
            true,
            &["FLOAT_01", "DOUBLE_01"],
        ));
    }
    assert_eq!(values, 100 * 195);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn test6_csv_has_a_header_and_a_row_per_record() {
    let out = ok(&[
        "layout",
        "decode",
        "--format",
        "csv",
        "--layout",
        &path("test6_copybook.cob"),
        "--data",
        &path("test6_data/INTEGR.TYPES.NOV28.DATA.dat"),
        "--float",
        "ieee",
        "--comp5-big-endian",
        "--invalid",
        "null",
    ]);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let headers = r.headers().unwrap().clone();
    assert_eq!(headers.len(), 195);
    assert_eq!(&headers[1], "STRING_VAL");
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 100);
    assert!(rows.iter().all(|r| r.len() == 195));
}

/// Compares as multisets sorted by `sort_key` (Cobrix's order is not the
/// file's); Cobrix's output may hold only the first records in that
/// order, of the `total` we decode. `floats` are compared by value.
fn compare_unordered(
    ours: &str,
    expected_rel: &str,
    sort_key: &str,
    total: usize,
    floats: &[&str],
) {
    let mut ours = objects(ours);
    let mut want = objects(&std::fs::read_to_string(path(expected_rel)).unwrap());
    assert_eq!(ours.len(), total);
    let k = |m: &BTreeMap<String, V>| {
        m.iter()
            .filter(|(_, v)| !matches!(v, V::Null) && **v != V::Str(String::new()))
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(";")
    };
    let order = |a: &BTreeMap<String, V>, b: &BTreeMap<String, V>| {
        key(a, sort_key)
            .total_cmp(&key(b, sort_key))
            .then_with(|| k(a).cmp(&k(b)))
    };
    ours.sort_by(order);
    want.sort_by(order);
    ours.truncate(want.len());
    let mut bad = Vec::new();
    for (i, (o, w)) in ours.iter().zip(&want).enumerate() {
        bad.extend(compare(&format!("#{i}"), o, w, false, floats));
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn test13a_header_and_footer_are_skipped() {
    let out = ok(&[
        "layout",
        "decode",
        "--layout",
        &path("test13a_file_header_footer.cob"),
        "--data",
        &path("test13a_data/TRAN2.JUN24.DATA.dat"),
        "--header",
        "10",
        "--footer",
        "12",
    ]);
    compare_unordered(&out, "test13_expected/test13a.txt", "AMOUNT", 50, &[]);
}

#[test]
fn test7_fillers_and_redefines() {
    let out = ok(&[
        "layout",
        "decode",
        "--layout",
        &path("test7_fillers.cob"),
        "--data",
        &path("test7_data/TEST.FILLERS.DEC07.DATA.dat"),
    ]);
    // Cobrix kept the 100 smallest amounts of the 1000 records.
    // Its pretty JSON prints AMOUNT without trailing zeros (14.0 for our
    // exact 14.00): compared by value.
    compare_unordered(
        &out,
        "test7_expected/test7.txt",
        "AMOUNT",
        1000,
        &["AMOUNT"],
    );
}

#[test]
fn show_test6_equals_cobrix_listing() {
    let out = ok(&["layout", "show", &path("test6_copybook.cob")]);
    let want = std::fs::read_to_string(path("test6_expected/test6_layout.txt")).unwrap();
    assert_eq!(
        out.replace('-', "_").trim_end(),
        want.replace('-', "_").trim_end()
    );
}

#[test]
fn show_vos_layout_lists_fields() {
    let out = ok(&[
        "layout",
        "show",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/error_codes/layouts/layout.200"
        ),
    ]);
    assert!(
        out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == ["err_name", "char(32)", "3", "34", "32"]),
        "{out}"
    );
}

#[test]
fn copybook_syntax_error_names_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let cob = dir.path().join("bad.cob");
    std::fs::write(&cob, "       01  R.\n           05  A  PIC .\n").unwrap();
    let cob = cob.to_str().unwrap();
    for args in [
        vec!["layout", "show", cob],
        vec!["layout", "decode", "--layout", cob, "--data", cob],
    ] {
        let out = drx(&args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{cob}:2:")), "{err}");
    }
}

#[test]
fn partial_record_names_record_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("part.dat");
    let full = std::fs::read(path("test6_data/INTEGR.TYPES.NOV28.DATA.dat")).unwrap();
    std::fs::write(&data, &full[..1493 * 2 + 14]).unwrap();
    let out = drx(&[
        "layout",
        "decode",
        "--layout",
        &path("test6_copybook.cob"),
        "--data",
        data.to_str().unwrap(),
        "--float",
        "ieee",
        "--invalid",
        "null",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("record 3 at byte 2986"), "{err}");
    // The two whole records were written before the error.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn invalid_value_is_an_error_naming_record_field_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cob = dir.path().join("r.cob");
    std::fs::write(
        &cob,
        "       01  R.\n           05  A  PIC X(2).\n           05  N  PIC S9(3) COMP-3.\n",
    )
    .unwrap();
    let data = dir.path().join("r.dat");
    std::fs::write(&data, [0xC1, 0xC2, 0x12, 0x3C, 0xC1, 0xC2, 0x1A, 0x3C]).unwrap();
    let out = drx(&[
        "layout",
        "decode",
        "--layout",
        cob.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("record 2: field N:"), "{err}");
    assert!(err.contains("invalid packed digit 0xA at byte 2"), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"A\":\"AB\",\"N\":123}\n"
    );
}

#[test]
fn test21_nested_variable_size_records_back_to_back() {
    let out = ok(&[
        "layout",
        "decode",
        "--layout",
        &path("test21_copybook.cob"),
        "--data",
        &path("test21_data/data.dat"),
        "--code-page",
        "ascii",
        "--nested",
        "--keep-root",
        "--variable-size-occurs",
    ]);
    let expected = std::fs::read_to_string(path("test21_expected/test21.txt")).unwrap();
    let parse = |s: &str| -> Vec<serde_json::Value> {
        s.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(parse(&out), parse(&expected));
    assert_eq!(out.lines().count(), 5);
}

#[test]
fn bad_records_go_to_the_dead_letter_file_and_decoding_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cob = dir.path().join("r.cob");
    std::fs::write(&cob, "       01  R.\n           05  N  PIC 99.\n").unwrap();
    let data = dir.path().join("r.dat");
    std::fs::write(&data, b"12x4567").unwrap();
    let dead = dir.path().join("dead.jsonl");
    let out = drx(&[
        "layout",
        "decode",
        "--layout",
        cob.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--code-page",
        "ascii",
        "--dead-letter",
        dead.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"N\":12}\n{\"N\":56}\n"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 records did not decode"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    // The partial last record is a dead letter too.
    assert_eq!(lines[1]["record"], 4);
    assert_eq!(lines[1]["offset"], 6);
    assert_eq!(lines[1]["hex"], "37");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("not a whole number of 2-byte records"),
        "{}",
        lines[1]
    );
    let line = &lines[0];
    assert_eq!(line["record"], 2);
    assert_eq!(line["offset"], 2);
    assert_eq!(line["hex"], "7834");
    assert_eq!(
        line["error"],
        "record 2: field N: invalid zoned digit 0x78 at byte 0"
    );
}

#[test]
fn gnucobol_binary_sizes_in_the_listing() {
    let dir = tempfile::tempdir().unwrap();
    let cob = dir.path().join("r.cob");
    std::fs::write(
        &cob,
        "       01  R.\n           05  A  PIC 99 COMP.\n           05  B  PIC 9(4) COMP.\n",
    )
    .unwrap();
    let cob = cob.to_str().unwrap();
    let ibm = ok(&["layout", "show", cob]);
    let gnu = ok(&["layout", "show", cob, "--binary-sizes", "1-2-4-8"]);
    let len_of = |listing: &str, name: &str| -> String {
        let line = listing.lines().find(|l| l.contains(name)).unwrap();
        line.split_whitespace().last().unwrap().to_owned()
    };
    assert_eq!(
        (len_of(&ibm, " A "), len_of(&ibm, " B ")),
        ("2".into(), "2".into())
    );
    assert_eq!(
        (len_of(&gnu, " A "), len_of(&gnu, " B ")),
        ("1".into(), "2".into())
    );
}
