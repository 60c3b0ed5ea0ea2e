//! Property tests: random layouts and values survive encode → decode and
//! decode → text → encode; the parser never panics.

#![allow(clippy::unwrap_used)]

use drx_layouts::{Charset, DateTime, Decimal, FieldType, Layout, OwnedValue, Value};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

#[derive(Debug, Clone, Copy)]
enum Spec {
    Bin(u32),
    Char(usize),
    Var(usize),
    Bit(u32),
    Float(u32),
    Dec(u8, u8),
    Dt,
}

#[derive(Debug, Clone, Copy)]
struct Opts {
    little: bool,
    charset: Charset,
    trim: bool,
    epoch_1970: bool,
    upper: bool,
}

const EPOCH_1980: i64 = 315_532_800;

impl Opts {
    fn epoch(self) -> i64 {
        if self.epoch_1970 { 0 } else { EPOCH_1980 }
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        (1u32..=63).prop_map(Spec::Bin),
        (1usize..=12).prop_map(Spec::Char),
        (1usize..=12).prop_map(Spec::Var),
        (1u32..=64).prop_map(Spec::Bit),
        (1u32..=53).prop_map(Spec::Float),
        (1u8..=38)
            .prop_flat_map(|p| (Just(p), 0..=p))
            .prop_map(|(p, q)| Spec::Dec(p, q)),
        Just(Spec::Dt),
    ]
}

fn opts() -> impl Strategy<Value = Opts> {
    (
        any::<bool>(),
        prop_oneof![
            Just(Charset::Latin1),
            Just(Charset::Utf8),
            Just(Charset::Ascii),
            Just(Charset::Ebcdic037),
            Just(Charset::Ebcdic1140)
        ],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(little, charset, trim, epoch_1970, upper)| Opts {
            little,
            charset,
            trim,
            epoch_1970,
            upper,
        })
}

fn layout_text(specs: &[Spec], opts: Opts) -> String {
    let mut text = String::from("/* generated */\n");
    if opts.little {
        text.push_str("byte_order: little;\n");
    }
    text.push_str(match opts.charset {
        Charset::Latin1 => "charset: latin1;\n",
        Charset::Utf8 => "charset: utf-8;\n",
        Charset::Ascii => "charset: ascii;\n",
        Charset::Ebcdic037 => "charset: cp037;\n",
        Charset::Ebcdic273 => "charset: cp273;\n",
        Charset::Ebcdic500 => "charset: cp500;\n",
        Charset::Ebcdic1047 => "charset: cp1047;\n",
        Charset::Ebcdic1140 => "charset: ibm-1140;\n",
    });
    if !opts.trim {
        text.push_str("trim: none;\n");
    }
    if opts.epoch_1970 {
        text.push_str("dt_epoch: 1970-01-01;\n");
    }
    text.push_str("fields:");
    for (i, spec) in specs.iter().enumerate() {
        let decl = match *spec {
            Spec::Bin(p) => format!("f{i} fixed bin({p})"),
            Spec::Char(n) => format!("f{i} char({n})"),
            Spec::Var(n) => format!("f{i} char({n}) varying"),
            Spec::Bit(n) => format!("f{i} bit({n})"),
            Spec::Float(p) => format!("f{i} float bin({p})"),
            Spec::Dec(p, q) => format!("f{i} fixed dec({p},{q})"),
            Spec::Dt => format!("dt_{i} fixed bin(31)"),
        };
        let sep = if i + 1 == specs.len() { ";" } else { "," };
        text.push_str(&format!("\n\t{decl}{sep}"));
    }
    text.push_str("\nend;\n");
    if opts.upper {
        text = text.to_uppercase();
    }
    text
}

fn text_value(n: usize, charset: Charset) -> BoxedStrategy<String> {
    let c: BoxedStrategy<char> = match charset {
        Charset::Latin1 => any::<u8>().prop_map(char::from).boxed(),
        Charset::Ascii => (0u8..=127).prop_map(char::from).boxed(),
        Charset::Utf8 => any::<char>().boxed(),
        ebcdic => {
            let table = ebcdic.code_page().table().expect("an EBCDIC page");
            any::<u8>().prop_map(move |b| table[usize::from(b)]).boxed()
        }
    };
    let c = prop_oneof![1 => Just(' '), 4 => c];
    proptest::collection::vec(c, 0..=n)
        .prop_map(move |chars| {
            let mut s = String::new();
            let mut bytes = 0;
            for c in chars {
                let len = if charset == Charset::Utf8 {
                    c.len_utf8()
                } else {
                    1
                };
                if bytes + len > n {
                    break;
                }
                bytes += len;
                s.push(c);
            }
            s
        })
        .boxed()
}

fn value(spec: Spec, opts: Opts) -> BoxedStrategy<OwnedValue> {
    match spec {
        Spec::Bin(p) if p <= 7 => any::<i8>().prop_map(|v| OwnedValue::Int(v.into())).boxed(),
        Spec::Bin(p) if p <= 15 => any::<i16>().prop_map(|v| OwnedValue::Int(v.into())).boxed(),
        Spec::Bin(p) if p <= 31 => any::<i32>().prop_map(|v| OwnedValue::Int(v.into())).boxed(),
        Spec::Bin(_) => any::<i64>().prop_map(OwnedValue::Int).boxed(),
        Spec::Char(n) | Spec::Var(n) => text_value(n, opts.charset)
            .prop_map(OwnedValue::Text)
            .boxed(),
        Spec::Bit(64) => any::<u64>().prop_map(OwnedValue::Bits).boxed(),
        Spec::Bit(n) => (0u64..(1u64 << n)).prop_map(OwnedValue::Bits).boxed(),
        Spec::Float(p) if p <= 24 => any::<f32>()
            .prop_filter("not NaN", |x| !x.is_nan())
            .prop_map(|x| OwnedValue::Float(x.into()))
            .boxed(),
        Spec::Float(_) => any::<f64>()
            .prop_filter("not NaN", |x| !x.is_nan())
            .prop_map(OwnedValue::Float)
            .boxed(),
        Spec::Dec(p, q) => {
            let lim = 10i128.pow(u32::from(p)) - 1;
            (-lim..=lim)
                .prop_map(move |v| OwnedValue::Decimal(Decimal::new(v, q)))
                .boxed()
        }
        Spec::Dt => any::<i32>()
            .prop_map(move |s| {
                OwnedValue::DateTime(DateTime::from_unix_seconds(opts.epoch() + i64::from(s)))
            })
            .boxed(),
    }
}

/// A random layout and, for each field, a value or `None` (not given).
fn case() -> impl Strategy<Value = (Vec<Spec>, Opts, Vec<Option<OwnedValue>>)> {
    (proptest::collection::vec(spec(), 1..10), opts()).prop_flat_map(|(specs, opts)| {
        let values: Vec<_> = specs
            .iter()
            .map(|&s| proptest::option::weighted(0.8, value(s, opts)))
            .collect();
        (Just(specs), Just(opts), values)
    })
}

/// What decoding gives back for a field given `value` (or nothing).
fn expected(spec: Spec, opts: Opts, value: Option<&OwnedValue>) -> OwnedValue {
    let pad = |s: &str, n: usize| {
        let len = if opts.charset == Charset::Utf8 {
            s.len()
        } else {
            s.chars().count()
        };
        format!("{s}{}", " ".repeat(n - len))
    };
    match (spec, value) {
        (Spec::Char(n), Some(OwnedValue::Text(s))) => {
            if opts.trim {
                OwnedValue::Text(s.trim_end_matches(' ').to_owned())
            } else {
                OwnedValue::Text(pad(s, n))
            }
        }
        (_, Some(v)) => v.clone(),
        (Spec::Bin(_), None) => OwnedValue::Int(0),
        (Spec::Char(n), None) if !opts.trim => OwnedValue::Text(" ".repeat(n)),
        (Spec::Char(_) | Spec::Var(_), None) => OwnedValue::Text(String::new()),
        (Spec::Bit(_), None) => OwnedValue::Bits(0),
        (Spec::Float(_), None) => OwnedValue::Float(0.0),
        (Spec::Dec(_, q), None) => OwnedValue::Decimal(Decimal::new(0, q)),
        (Spec::Dt, None) => OwnedValue::DateTime(DateTime::from_unix_seconds(opts.epoch())),
    }
}

fn same(spec: Spec, got: &OwnedValue, want: &OwnedValue) -> bool {
    match (spec, got, want) {
        (Spec::Float(p), OwnedValue::Float(g), OwnedValue::Float(w)) if p <= 24 => {
            (*g as f32).to_bits() == (*w as f32).to_bits()
        }
        (Spec::Float(_), OwnedValue::Float(g), OwnedValue::Float(w)) => g.to_bits() == w.to_bits(),
        _ => got == want,
    }
}

fn check(specs: &[Spec], opts: Opts, values: &[Option<OwnedValue>]) -> Result<(), TestCaseError> {
    let text = layout_text(specs, opts);
    let layout =
        Layout::parse("random.dd", &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let sizes: usize = layout.fields().iter().map(|f| f.ty.size()).sum();
    prop_assert_eq!(layout.record_len(), sizes);
    for (field, spec) in layout.fields().iter().zip(specs) {
        prop_assert_eq!(
            matches!(field.ty, FieldType::DateTime),
            matches!(spec, Spec::Dt)
        );
    }

    let given: Vec<(usize, OwnedValue)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.clone().map(|v| (i, v)))
        .collect();
    let record = layout
        .encode_values(&given)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(record.len(), layout.record_len());

    let view = layout
        .view(&record)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut texts = Vec::new();
    for (i, (&spec, value)) in specs.iter().zip(values).enumerate() {
        let got = view
            .get(i)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let owned = got
            .to_owned_value()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want = expected(spec, opts, value.as_ref());
        prop_assert!(
            same(spec, &owned, &want),
            "field {} ({:?}): got {:?}, want {:?}",
            i,
            spec,
            owned,
            want
        );
        let mut s = String::new();
        got.write_text(&mut s)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Value::Text(t) = got {
            prop_assert_eq!(Some(&OwnedValue::Text(s.clone())), Some(&owned));
            prop_assert!(t.raw().len() <= layout.fields()[i].size);
        }
        texts.push(s);
    }

    // The canonical texts encode back to the same bytes.
    let pairs: Vec<(&str, &str)> = layout
        .fields()
        .iter()
        .map(|f| f.name.as_str())
        .zip(texts.iter().map(String::as_str))
        .collect();
    let again = layout
        .encode(pairs)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(again, record);
    Ok(())
}

/// A valid layout to mutate.
const SEED: &str = "organization: indexed;
key: err_number;
fields: err_number\t\tfixed bin (15) default ('8'),
        err_name        \tchar (32) /* name */,
        err_text           char (128) varying,
        dt_when            bin (31),
        amount             fixed dec (7,2) default (-1.50),
        flags              bit (3) default ('101'),
        ratio              float bin (24);
end;
";

const TOKENS: &[&str] = &[
    "fields",
    "key",
    "organization",
    "byte_order",
    "charset",
    "trim",
    "dt_epoch",
    "end",
    ":",
    ";",
    ",",
    "(",
    ")",
    "fixed",
    "bin",
    "binary",
    "dec",
    "decimal",
    "char",
    "character",
    "varying",
    "var",
    "bit",
    "float",
    "default",
    "'",
    "\"",
    "'x'",
    "/*",
    "*/",
    "1",
    "15",
    "31",
    "99",
    "0",
    "64",
    "65536",
    "dt_a",
    "a",
    "b",
    "A",
    "relative",
    "little",
    "utf-8",
    "none",
    "1980-01-01",
    " ",
    "\n",
    "\t",
    "-",
    ".",
    "é",
];

fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..40)
        .prop_map(|tokens| tokens.join(" "))
}

fn mutated() -> impl Strategy<Value = String> {
    let edit = (
        any::<proptest::sample::Index>(),
        any::<char>(),
        any::<bool>(),
    );
    proptest::collection::vec(edit, 1..4).prop_map(|edits| {
        let mut s = SEED.to_owned();
        for (at, c, insert) in edits {
            let boundaries: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
            let i = boundaries[at.index(boundaries.len())];
            if insert {
                s.insert(i, c);
            } else {
                s.remove(i);
            }
        }
        s
    })
}

/// Whatever parses must also lay out, encode its defaults and decode them.
fn parse_is_total(text: &str) -> Result<(), TestCaseError> {
    if let Ok(layout) = Layout::parse("fuzz.dd", text) {
        let sizes: usize = layout.fields().iter().map(|f| f.size).sum();
        prop_assert_eq!(layout.record_len(), sizes);
        let record = layout
            .encode([])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let view = layout
            .view(&record)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for i in 0..layout.fields().len() {
            let mut s = String::new();
            let value = view
                .get(i)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            value
                .write_text(&mut s)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_decode_round_trip((specs, opts, values) in case()) {
        check(&specs, opts, &values)?;
    }

    #[test]
    fn parse_never_panics_on_any_string(text in any::<String>()) {
        parse_is_total(&text)?;
    }

    #[test]
    fn parse_never_panics_on_token_soup(text in token_soup()) {
        parse_is_total(&text)?;
    }

    #[test]
    fn parse_never_panics_on_mutations(text in mutated()) {
        parse_is_total(&text)?;
    }
}

#[test]
fn seed_parses() {
    let layout = Layout::parse("seed.dd", SEED).expect("valid");
    assert_eq!(layout.record_len(), 2 + 32 + 130 + 4 + 4 + 1 + 4);
}
