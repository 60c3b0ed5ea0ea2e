//! Encoding records through copybook layouts: the exact inverse of
//! decoding them.
#![allow(clippy::unwrap_used)]

use drx_layouts::{
    ByteOrder, CodePage, Copybook, CopybookLayoutOptions, Decimal, EncodeError, FloatFormat,
    Layout, OccursColumns, OwnedValue, Value,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// A copybook from free lines (indented into the fixed-format area).
fn cb(body: &str) -> Copybook {
    let text: String = body.lines().map(|l| format!("       {l}\n")).collect();
    Copybook::parse("t.cob", &text).unwrap()
}

fn layout(body: &str, options: &CopybookLayoutOptions) -> Layout {
    Layout::from_copybook("t.cob", &cb(body), options).unwrap()
}

fn ascii() -> CopybookLayoutOptions {
    CopybookLayoutOptions {
        code_page: CodePage::Ascii,
        ..CopybookLayoutOptions::default()
    }
}

fn ebcdic() -> CopybookLayoutOptions {
    CopybookLayoutOptions::default()
}

/// The record of a one-column copybook holding `text`.
fn one(pic: &str, options: &CopybookLayoutOptions, text: &str) -> Result<Vec<u8>, EncodeError> {
    layout(&format!("01 R.\n  05 V {pic}."), options).encode([("v", text)])
}

fn dec(unscaled: i128, scale: u8) -> Decimal {
    Decimal::new(unscaled, scale)
}

fn text_of(layout: &Layout, record: &[u8], i: usize) -> String {
    let mut s = String::new();
    layout
        .view(record)
        .unwrap()
        .get(i)
        .unwrap()
        .write_text(&mut s)
        .unwrap();
    s
}

#[test]
fn known_bytes() {
    let e = ebcdic();
    let a = ascii();
    // Packed: sign C / D, F when unsigned.
    assert_eq!(
        one("PIC S9(3)V99 COMP-3", &e, "-10.00").unwrap(),
        [0x01, 0x00, 0x0D]
    );
    assert_eq!(
        one("PIC S9(3)V99 COMP-3", &e, "7.5").unwrap(),
        [0x00, 0x75, 0x0C]
    );
    assert_eq!(one("PIC 9(3) COMP-3", &e, "123").unwrap(), [0x12, 0x3F]);
    assert_eq!(
        one("PIC 9(4) COMP-3", &e, "123").unwrap(),
        [0x00, 0x12, 0x3F]
    );
    // Zoned EBCDIC: trailing and leading overpunch, separate signs, unsigned.
    assert_eq!(one("PIC S9(3)", &e, "-12").unwrap(), [0xF0, 0xF1, 0xD2]);
    assert_eq!(one("PIC S9(3)", &e, "12").unwrap(), [0xF0, 0xF1, 0xC2]);
    assert_eq!(
        one("PIC S9(3) SIGN LEADING", &e, "-12").unwrap(),
        [0xD0, 0xF1, 0xF2]
    );
    assert_eq!(
        one("PIC S9(3) SIGN LEADING SEPARATE", &e, "-12").unwrap(),
        [0x60, 0xF0, 0xF1, 0xF2]
    );
    assert_eq!(
        one("PIC S9(3) SIGN TRAILING SEPARATE", &e, "12").unwrap(),
        [0xF0, 0xF1, 0xF2, 0x4E]
    );
    assert_eq!(one("PIC 9(3)", &e, "7").unwrap(), [0xF0, 0xF0, 0xF7]);
    // Zoned ASCII: { A-I positive, } J-R negative.
    assert_eq!(one("PIC S9(3)", &a, "-12").unwrap(), b"01K");
    assert_eq!(one("PIC S9(3)", &a, "12").unwrap(), b"01B");
    assert_eq!(one("PIC S9(3)", &a, "0").unwrap(), b"00{");
    assert_eq!(one("PIC S9(3)", &a, "-10").unwrap(), b"01}");
    assert_eq!(one("PIC S9(3) SIGN LEADING", &a, "-12").unwrap(), b"}12");
    assert_eq!(
        one("PIC S9(3) SIGN TRAILING SEPARATE", &a, "-12").unwrap(),
        b"012-"
    );
    assert_eq!(
        one("PIC S9(3) SIGN LEADING SEPARATE", &a, "5").unwrap(),
        b"+005"
    );
    // An explicit point; P scaling both ways.
    assert_eq!(one("PIC 9(4).99", &a, "12.5").unwrap(), b"0012.50");
    assert_eq!(
        one("PIC 9(4).99", &e, "12.5").unwrap(),
        [0xF0, 0xF0, 0xF1, 0xF2, 0x4B, 0xF5, 0xF0]
    );
    assert_eq!(one("PIC S9(3)PP", &a, "-12300").unwrap(), b"12L");
    assert_eq!(one("PIC PP9(3)", &a, "0.00123").unwrap(), b"123");
    // Binary: big-endian COMP, COMP-5 in the native order, sizes by digits.
    assert_eq!(one("PIC S9(4) COMP", &e, "-2").unwrap(), [0xFF, 0xFE]);
    assert_eq!(one("PIC 9(9) BINARY", &e, "4294967295").unwrap(), [0xFF; 4]);
    assert_eq!(
        one("PIC S9(5)V99 COMP", &e, "-1.5").unwrap(),
        (-150i32).to_be_bytes()
    );
    let little = CopybookLayoutOptions {
        native_order: ByteOrder::Little,
        ..ebcdic()
    };
    assert_eq!(
        one("PIC S9(4) COMP-5", &little, "-2").unwrap(),
        [0xFE, 0xFF]
    );
    assert_eq!(one("PIC S9(4) COMP-4", &little, "1").unwrap(), [0x00, 0x01]);
    // Floats: IBM hexadecimal (default) and IEEE big-endian.
    assert_eq!(one("COMP-1", &e, "1.0").unwrap(), [0x41, 0x10, 0x00, 0x00]);
    assert_eq!(
        one("COMP-1", &e, "-118.625").unwrap(),
        [0xC2, 0x76, 0xA0, 0x00]
    );
    assert_eq!(
        one("COMP-2", &e, "-118.625").unwrap(),
        [0xC2, 0x76, 0xA0, 0, 0, 0, 0, 0]
    );
    assert_eq!(one("COMP-2", &e, "0").unwrap(), [0; 8]);
    let ieee = CopybookLayoutOptions {
        float_format: FloatFormat::Ieee754,
        ..ebcdic()
    };
    assert_eq!(one("COMP-1", &ieee, "1.5").unwrap(), 1.5f32.to_be_bytes());
    assert_eq!(
        one("COMP-2", &ieee, "-0.1").unwrap(),
        (-0.1f64).to_be_bytes()
    );
    // Text: the code page, padded with its spaces; JUSTIFIED RIGHT pads left.
    assert_eq!(one("PIC X(4)", &e, "Ab").unwrap(), [0xC1, 0x82, 0x40, 0x40]);
    assert_eq!(one("PIC X(4)", &a, "Ab").unwrap(), b"Ab  ");
    assert_eq!(one("PIC X(4) JUSTIFIED RIGHT", &a, "Ab").unwrap(), b"  Ab");
    assert_eq!(one("PIC X(4)", &a, "").unwrap(), b"    ");
    // BLANK WHEN ZERO writes zero as spaces.
    assert_eq!(one("PIC 9(3) BLANK WHEN ZERO", &e, "0").unwrap(), [0x40; 3]);
    assert_eq!(
        one("PIC 9(3) BLANK WHEN ZERO", &e, "1").unwrap(),
        [0xF0, 0xF0, 0xF1]
    );
}

#[test]
fn the_template_is_zeros_and_spaces() {
    let body = "01 R.
  05 NAME  PIC X(2).
  05 QTY   PIC 9(2).
  05 FILLER PIC X(1).
  05 AMT   PIC S9(3) COMP-3.
  05 SGN   PIC S9(2).
  05 SEP   PIC S9 SIGN LEADING SEPARATE.
  05 BIN   PIC S9(4) COMP.
  05 FLT   COMP-1.
  05 ED    PIC ZZ9.
  05 GRP.
     10 ASC PIC X(2).
     10 FILLER PIC X.";
    let options = CopybookLayoutOptions {
        field_code_pages: vec![("GRP".into(), CodePage::Ascii)],
        ..ebcdic()
    };
    let l = layout(body, &options);
    let record = l.encode([]).unwrap();
    assert_eq!(record.len(), l.record_len());
    assert_eq!(
        record,
        [
            0x40, 0x40, // NAME
            0xF0, 0xF0, // QTY
            0x40, // FILLER
            0x00, 0x0C, // AMT
            0xF0, 0xC0, // SGN
            0x4E, 0xF0, // SEP
            0x00, 0x00, // BIN
            0x00, 0x00, 0x00, 0x00, // FLT
            0xF0, 0xF0, 0xF0, // ED
            b' ', b' ', b' ', // GRP, in ASCII
        ]
    );
    // Every column reads back as its zero.
    let view = l.view(&record).unwrap();
    assert_eq!(view.get(1).unwrap(), Value::Decimal(dec(0, 0)));
    assert_eq!(text_of(&l, &record, 0), "");
    assert_eq!(text_of(&l, &record, 7), "0");
    assert_eq!(view.get(6).unwrap(), Value::Float(0.0));
    // encode_values with no values (or nulls only) is the same template.
    let nulls: Vec<(usize, OwnedValue)> = (0..l.fields().len())
        .map(|i| (i, OwnedValue::Null))
        .collect();
    assert_eq!(l.encode_values(&nulls).unwrap(), record);
}

#[test]
fn redefines_keep_the_first_alternative_zero_and_encode_either() {
    let l = layout(
        "01 R.
  05 A PIC X(2).
  05 B REDEFINES A PIC 9(2).
  05 C PIC 9.",
        &ascii(),
    );
    assert_eq!(l.encode([]).unwrap(), b"  0");
    assert_eq!(l.encode([("b", "42")]).unwrap(), b"420");
    assert_eq!(l.encode([("a", "xy")]).unwrap(), b"xy0");
}

#[test]
fn occurs_depending_on_counters_are_given_by_the_caller() {
    let l = layout(
        "01 R.
  05 N PIC 9.
  05 A PIC X(2) OCCURS 0 TO 3 DEPENDING ON N.",
        &ascii(),
    );
    assert_eq!(l.encode([]).unwrap(), b"0      ");
    let r = l
        .encode([("n", "2"), ("a_1", "ab"), ("a_2", "cd")])
        .unwrap();
    assert_eq!(r, b"2abcd  ");
    assert_eq!(l.view(&r).unwrap().get(3).unwrap(), Value::Null);
    assert_eq!(text_of(&l, &r, 2), "cd");
    // A value past the count would read back as null: an error.
    let e = l.encode([("a_1", "ab")]).unwrap_err();
    assert_eq!(e.field, "a_1");
    assert!(
        e.message
            .contains("past the OCCURS DEPENDING ON count 0 of n"),
        "{e}"
    );
    let e = l
        .encode_values(&[
            (0, OwnedValue::Decimal(dec(1, 0))),
            (3, OwnedValue::Text("zz".into())),
        ])
        .unwrap_err();
    assert_eq!(e.field, "a_3");
    // A null past the count is fine.
    assert!(l.encode_values(&[(3, OwnedValue::Null)]).is_ok());
    // A count over the table's maximum names the counter.
    let e = l.encode([("n", "4")]).unwrap_err();
    assert_eq!(e.field, "n");
    assert!(e.message.contains("exceeds the table's maximum 3"), "{e}");
}

#[test]
fn nested_counters_inside_a_table() {
    let l = layout(
        "01 RECORD.
  02 COUNT PIC 9(1).
  02 GROUP OCCURS 0 TO 2 TIMES DEPENDING ON COUNT.
     03 INNER-COUNT PIC 9(1).
     03 INNER-GROUP OCCURS 0 TO 3 TIMES DEPENDING ON INNER-COUNT.
        04 FIELD PIC X.",
        &ascii(),
    );
    let r = l
        .encode([
            ("count", "2"),
            ("inner_count_1", "1"),
            ("field_1_1", "A"),
            ("inner_count_2", "2"),
            ("field_2_1", "B"),
            ("field_2_2", "C"),
        ])
        .unwrap();
    assert_eq!(r, b"21A  2BC ");
    let e = l
        .encode([("count", "2"), ("inner_count_1", "1"), ("field_1_2", "X")])
        .unwrap_err();
    assert_eq!(e.field, "field_1_2");
}

#[test]
fn errors_name_the_column() {
    let e = ebcdic();
    let a = ascii();
    let check = |r: Result<Vec<u8>, EncodeError>, want: &str| {
        let err = r.unwrap_err();
        assert_eq!(err.field, "v", "{err}");
        assert!(err.message.contains(want), "{err:?} lacks {want:?}");
    };
    // Texts.
    check(
        one("PIC X(2)", &a, "abc"),
        "text of 3 bytes is longer than the 2 bytes",
    );
    check(one("PIC X(2)", &a, "é"), "cannot be written in ASCII");
    check(one("PIC X(2)", &e, "€"), "cannot be written in cp037");
    // Exact numbers: places, digits, signs, multiples, syntax.
    check(
        one("PIC S9(3)V99 COMP-3", &e, "1.234"),
        "value 1.234 has more than 2 decimal places for PIC S9(3)V99 COMP-3 at byte 0",
    );
    check(
        one("PIC S9(3)", &e, "1000"),
        "value 1000 is out of range (-999 to 999)",
    );
    check(
        one("PIC S9(3)V99 COMP-3", &e, "-1000"),
        "value -1000 is out of range (-999.99 to 999.99) for PIC S9(3)V99 COMP-3 at byte 0",
    );
    check(one("PIC 9(2)PP", &e, "10000"), "(0 to 9900)");
    check(
        one("PIC SPP9", &e, "0.0015"),
        "value 0.0015 has more than 3 decimal places",
    );
    check(one("PIC SPP9", &e, "0.01"), "(-0.009 to 0.009)");
    check(one("PIC 9(3)", &e, "-1"), "value -1 is negative");
    check(
        one("PIC 9(4) COMP", &e, "70000"),
        "value 70000 does not fit an unsigned binary of 2 bytes (unscaled 0 to 65535)",
    );
    check(one("PIC 9(3) COMP-3", &e, "-1"), "value -1 is negative");
    check(
        one("PIC 9(4) COMP", &e, "-1"),
        "value -1 is negative (the PIC has no sign)",
    );
    check(
        one("PIC S9(4) COMP", &e, "-40000"),
        "does not fit a signed binary of 2 bytes (unscaled -32768 to 32767)",
    );
    check(
        one("PIC S9(4) COMP", &e, "1.5"),
        "is not an integer for fixed bin(15)",
    );
    check(
        one("PIC S9(3)PP", &e, "150"),
        "value 150 is not a multiple of 100",
    );
    check(
        one("PIC S9(3)PP", &e, "0.5"),
        "value 0.5 is not a whole number",
    );
    check(
        one("PIC S9(3)V9", &e, "12x"),
        "\"12x\" is not a decimal number for fixed dec(4,1)",
    );
    check(one("PIC S9(3)V9", &e, ""), "is not a decimal number");
    // Floats.
    let ieee = CopybookLayoutOptions {
        float_format: FloatFormat::Ieee754,
        ..ebcdic()
    };
    check(
        one("COMP-1", &ieee, "1e39"),
        "out of range of a 4-byte float",
    );
    check(one("COMP-2", &e, "1e76"), "out of range of an IBM float");
    check(one("COMP-2", &e, "NaN"), "NaN is not a finite number");
    check(
        one("COMP-1", &e, "abc"),
        "is not a number for float bin(24)",
    );
    // Numeric-edited items.
    check(
        one("PIC ZZ9.99", &e, "1.00"),
        "numeric-edited item (PIC ZZ9.99) cannot be encoded",
    );
    // Typed values of the wrong kind.
    let l = layout("01 R.\n  05 V PIC S9(3)V99 COMP-3.", &e);
    let err = l
        .encode_values(&[(0, OwnedValue::Text("1".into()))])
        .unwrap_err();
    assert_eq!(err.field, "v");
    assert!(
        err.message
            .contains("a Text value does not fit a column of type fixed dec(5,2)"),
        "{err}"
    );
    let err = l.encode_values(&[(0, OwnedValue::Int(1))]).unwrap_err();
    assert!(err.message.contains("a Int value does not fit"), "{err}");
    // Unknown columns and columns given twice.
    let err = l.encode([("nope", "1")]).unwrap_err();
    assert_eq!(err.field, "nope");
    assert_eq!(err.message, "no such field in layout t.cob");
    let err = l.encode([("v", "1"), ("v", "2")]).unwrap_err();
    assert_eq!(err.to_string(), "field v: given more than once");
    let err = l.encode_values(&[(5, OwnedValue::Int(1))]).unwrap_err();
    assert_eq!(err.field, "#5");
    let err = l
        .encode_values(&[(0, OwnedValue::Null), (0, OwnedValue::Null)])
        .unwrap_err();
    assert_eq!(err.message, "given more than once");
}

#[test]
fn json_table_columns_cannot_be_encoded() {
    let options = CopybookLayoutOptions {
        occurs: OccursColumns::Json,
        ..ascii()
    };
    let l = layout(
        "01 R.
  05 N PIC 9.
  05 T OCCURS 2.
     10 X PIC X(2).
     10 Y PIC S9 COMP-3.",
        &options,
    );
    // The template holds the tables' zeros.
    let r = l.encode([("n", "3")]).unwrap();
    assert_eq!(r, b"3  \x0C  \x0C");
    assert_eq!(text_of(&l, &r, 1), r#"[{"x":"","y":0},{"x":"","y":0}]"#);
    let e = l.encode([("t", "[]")]).unwrap_err();
    assert_eq!(e.field, "t");
    assert!(
        e.message
            .contains("a table column (OCCURS as JSON) cannot be encoded"),
        "{e}"
    );
}

#[test]
fn decoded_records_encode_back_to_their_bytes() {
    // A mainframe-style record: decoding then encoding every column gives
    // the same bytes.
    let l = layout(
        "01 R.
  05 ID    PIC 9(5) COMP-3.
  05 NAME  PIC X(6).
  05 BAL   PIC S9(7)V99 COMP-3.
  05 CNT   PIC S9(4) COMP.
  05 RATE  COMP-2.",
        &ebcdic(),
    );
    let mut record = vec![0x12, 0x34, 0x5F];
    record.extend_from_slice(&[0xC1, 0xC2, 0xC3, 0x40, 0x40, 0x40]);
    record.extend_from_slice(&[0x00, 0x12, 0x34, 0x56, 0x7D]);
    record.extend_from_slice(&[0xFF, 0x85]);
    record.extend_from_slice(&[0x41, 0x18, 0, 0, 0, 0, 0, 0]);
    let view = l.view(&record).unwrap();
    let values: Vec<(usize, OwnedValue)> = (0..l.fields().len())
        .map(|i| (i, view.get(i).unwrap().to_owned_value().unwrap()))
        .collect();
    assert_eq!(values[2].1, OwnedValue::Decimal(dec(-1_234_567, 2)));
    assert_eq!(values[4].1, OwnedValue::Float(1.5));
    assert_eq!(l.encode_values(&values).unwrap(), record);
}

#[test]
fn keys_of_indexed_copybook_files_come_from_encoded_records() {
    let options = CopybookLayoutOptions {
        organization: Some(drx_layouts::Organization::Indexed),
        key: vec!["id".into()],
        ..ebcdic()
    };
    let l = layout("01 R.\n  05 ID PIC 9(4).\n  05 NAME PIC X(4).", &options);
    let record = l.encode([("id", "42")]).unwrap();
    let mut key = Vec::new();
    l.key_bytes(&record, &mut key).unwrap();
    assert_eq!(key, [0xF0, 0xF0, 0xF4, 0xF2]);
}

/// Every value of Cobrix's test6 (100 records, every numeric type and
/// sign mode) encodes back to bytes that decode to the same value.
#[test]
fn test6_values_encode_to_bytes_that_decode_the_same() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cobrix");
    let text = std::fs::read_to_string(dir.join("test6_copybook.cob")).unwrap();
    let copybook = Copybook::parse("test6_copybook.cob", &text).unwrap();
    let data = std::fs::read(dir.join("test6_data/INTEGR.TYPES.NOV28.DATA.dat")).unwrap();
    let options = CopybookLayoutOptions {
        float_format: FloatFormat::Ieee754,
        ..CopybookLayoutOptions::default()
    };
    let l = Layout::from_copybook("test6", &copybook, &options).unwrap();
    let (mut compared, mut edited) = (0, std::collections::BTreeSet::new());
    for (n, record) in data.chunks(l.record_len()).enumerate() {
        let view = l.view(record).unwrap();
        let mut values: Vec<(usize, OwnedValue)> = (0..l.fields().len())
            .map(|i| (i, view.get(i).unwrap().to_owned_value().unwrap()))
            .collect();
        // Numeric-edited columns cannot be encoded: leave them out.
        let encoded = loop {
            match l.encode_values(&values) {
                Ok(r) => break r,
                Err(e) => {
                    assert!(
                        e.message.contains("numeric-edited"),
                        "record {}: {e}",
                        n + 1
                    );
                    let i = l.field_index(&e.field).unwrap();
                    edited.insert(e.field.clone());
                    values[i].1 = OwnedValue::Null;
                }
            }
        };
        let again = l.view(&encoded).unwrap();
        for (i, want) in &values {
            if *want == OwnedValue::Null {
                continue;
            }
            let got = again.get(*i).unwrap().to_owned_value().unwrap();
            assert_eq!(&got, want, "record {} {}", n + 1, l.fields()[*i].name);
            compared += 1;
        }
    }
    // PIC +9(8), 9(8)+, -9(8), Z(8)-, +9(6)V99, Z(6)VZZ-, 9(6).99-.
    assert_eq!(edited.len(), 7, "{edited:?}");
    assert!(compared >= 100 * (l.fields().len() - 7) - 100, "{compared}");
}

// ---- the round trip ----

/// Every type and sign mode; the group `OTHER` is in the other code page.
const MIXED: &str = "01 R.
  05 T-NAME  PIC X(8).
  05 T-JUST  PIC X(5) JUSTIFIED RIGHT.
  05 Z-UNS   PIC 9(5).
  05 Z-TRL   PIC S9(4)V99.
  05 Z-LEAD  PIC S9(3) SIGN LEADING.
  05 Z-LSEP  PIC S9(3)V9 SIGN LEADING SEPARATE.
  05 Z-TSEP  PIC S9(5) SIGN TRAILING SEPARATE.
  05 Z-PNT   PIC 9(4).99.
  05 Z-PSC   PIC S9(3)PP.
  05 Z-LP    PIC SPP9(3).
  05 P-SGN   PIC S9(7)V99 COMP-3.
  05 P-UNS   PIC 9(4) COMP-3.
  05 P-BIG   PIC S9(31) COMP-3.
  05 B-S2    PIC S9(4) COMP.
  05 B-U4    PIC 9(9) COMP.
  05 B-S8    PIC S9(18) COMP.
  05 B-DEC   PIC S9(5)V99 BINARY.
  05 B-N5    PIC S9(4) COMP-5.
  05 B-U5    PIC 9(8) COMP-5.
  05 F-1     COMP-1.
  05 F-2     COMP-2.
  05 FILLER  PIC X(3).
  05 OTHER.
     10 O-TXT  PIC X(4).
     10 O-NUM  PIC S9(3)V9.
     10 O-LEAD PIC S9(2) SIGN LEADING.
  05 N PIC 9.
  05 ITEMS OCCURS 0 TO 3 DEPENDING ON N.
     10 IT-AMT PIC S9(3) COMP-3.
     10 IT-TXT PIC X(2).";

/// What a column holds, to generate its values.
#[derive(Debug, Clone, Copy)]
enum Gen {
    Text(usize),
    /// `unscaled` below 10^digits (non-negative if unsigned) at `scale`;
    /// a negative scale multiplies.
    Exact {
        digits: u32,
        scale: i32,
        signed: bool,
    },
    Int {
        min: i64,
        max: i64,
    },
    Float32,
    Float64,
}

/// The generator of each column of [`MIXED`], in order (`N` and the
/// occurrences are generated apart).
const GENS: [Gen; 24] = [
    Gen::Text(8),
    Gen::Text(5),
    Gen::Exact {
        digits: 5,
        scale: 0,
        signed: false,
    },
    Gen::Exact {
        digits: 6,
        scale: 2,
        signed: true,
    },
    Gen::Exact {
        digits: 3,
        scale: 0,
        signed: true,
    },
    Gen::Exact {
        digits: 4,
        scale: 1,
        signed: true,
    },
    Gen::Exact {
        digits: 5,
        scale: 0,
        signed: true,
    },
    Gen::Exact {
        digits: 6,
        scale: 2,
        signed: false,
    },
    Gen::Exact {
        digits: 3,
        scale: -2,
        signed: true,
    },
    Gen::Exact {
        digits: 3,
        scale: 5,
        signed: true,
    },
    Gen::Exact {
        digits: 9,
        scale: 2,
        signed: true,
    },
    Gen::Exact {
        digits: 4,
        scale: 0,
        signed: false,
    },
    Gen::Exact {
        digits: 31,
        scale: 0,
        signed: true,
    },
    Gen::Int {
        min: i16::MIN as i64,
        max: i16::MAX as i64,
    },
    Gen::Int {
        min: 0,
        max: u32::MAX as i64,
    },
    Gen::Int {
        min: i64::MIN,
        max: i64::MAX,
    },
    // A 4-byte binary holds more than the PIC's 7 digits.
    Gen::Exact {
        digits: 9,
        scale: 2,
        signed: true,
    },
    Gen::Int {
        min: i16::MIN as i64,
        max: i16::MAX as i64,
    },
    Gen::Int {
        min: 0,
        max: u32::MAX as i64,
    },
    Gen::Float32,
    Gen::Float64,
    Gen::Text(4),
    Gen::Exact {
        digits: 4,
        scale: 1,
        signed: true,
    },
    Gen::Exact {
        digits: 2,
        scale: 0,
        signed: true,
    },
];

fn text_value(len: usize) -> BoxedStrategy<String> {
    // No blanks at either end: text is trimmed when read.
    let inner = len.saturating_sub(2);
    let regex = format!("[A-Za-z0-9]([A-Za-z0-9 .,-]{{0,{inner}}}[A-Za-z0-9])?");
    prop_oneof![
        Just(String::new()),
        proptest::string::string_regex(&regex).unwrap(),
    ]
    .boxed()
}

/// The `f64` a 4-byte float column reads `x` as: the nearest to its
/// shortest decimal form (as `Value::Float` documents).
fn widened(x: f32) -> f64 {
    match ryu::Buffer::new().format_finite(x).parse::<f64>() {
        #[allow(clippy::cast_possible_truncation)]
        Ok(y) if (y as f32).to_bits() == x.to_bits() => y,
        _ => f64::from(x),
    }
}

fn value(g: Gen) -> BoxedStrategy<OwnedValue> {
    match g {
        Gen::Text(n) => text_value(n).prop_map(OwnedValue::Text).boxed(),
        Gen::Exact {
            digits,
            scale,
            signed,
        } => {
            let limit = 10i128.pow(digits);
            let min = if signed { -limit + 1 } else { 0 };
            prop_oneof![
                Just(0i128),
                Just(limit - 1),
                Just(min),
                min..limit,
                -99i128..100,
            ]
            .prop_map(move |u| {
                let u = if signed { u } else { u.abs() };
                let d = if scale < 0 {
                    Decimal::new(u * 10i128.pow(scale.unsigned_abs()), 0)
                } else {
                    Decimal::new(u, u8::try_from(scale).unwrap())
                };
                OwnedValue::Decimal(d)
            })
            .boxed()
        }
        Gen::Int { min, max } => prop_oneof![Just(min), Just(max), Just(0), min..=max]
            .prop_map(OwnedValue::Int)
            .boxed(),
        // 21 significant bits: exact in IBM short floats and in f32.
        Gen::Float32 => (-(1i32 << 21)..(1 << 21), -100i32..100)
            .prop_map(|(m, e)| {
                #[allow(clippy::cast_precision_loss)]
                let x = m as f32 * 2f32.powi(e);
                OwnedValue::Float(widened(x))
            })
            .boxed(),
        // Within IBM long floats' range, where every f64 is exact.
        Gen::Float64 => prop_oneof![
            Just(0.0),
            (any::<i64>(), -190i32..180).prop_map(|(m, e)| {
                #[allow(clippy::cast_precision_loss)]
                let v = m as f64 * 2f64.powi(e);
                v
            }),
        ]
        .prop_map(OwnedValue::Float)
        .boxed(),
    }
}

#[derive(Debug, Clone)]
struct Case {
    code_page: CodePage,
    other_page: CodePage,
    native_order: ByteOrder,
    float_format: FloatFormat,
    /// A value or null (not given) per column of `GENS`.
    values: Vec<Option<OwnedValue>>,
    /// The table's occurrences given: (amount, text).
    items: Vec<(OwnedValue, OwnedValue)>,
}

fn case() -> impl Strategy<Value = Case> {
    let pages = prop_oneof![
        Just((CodePage::Ebcdic037, CodePage::Ascii)),
        Just((CodePage::Ascii, CodePage::Ebcdic037)),
        Just((CodePage::Ebcdic500, CodePage::Latin1)),
        Just((CodePage::Latin1, CodePage::Ebcdic1047)),
    ];
    let values: Vec<_> = GENS
        .iter()
        .map(|&g| proptest::option::weighted(0.8, value(g)))
        .collect();
    let item = (
        value(Gen::Exact {
            digits: 3,
            scale: 0,
            signed: true,
        }),
        value(Gen::Text(2)),
    );
    (
        pages,
        prop_oneof![Just(ByteOrder::Big), Just(ByteOrder::Little)],
        prop_oneof![Just(FloatFormat::IbmHex), Just(FloatFormat::Ieee754)],
        values,
        proptest::collection::vec(item, 0..=3),
    )
        .prop_map(
            |((code_page, other_page), native_order, float_format, values, items)| Case {
                code_page,
                other_page,
                native_order,
                float_format,
                values,
                items,
            },
        )
}

/// What column `i` reads back: the value given, else the zero.
fn expected(g: Gen, given: Option<&OwnedValue>) -> OwnedValue {
    if let Some(v) = given {
        return v.clone();
    }
    match g {
        Gen::Text(_) => OwnedValue::Text(String::new()),
        Gen::Exact { scale, .. } => {
            OwnedValue::Decimal(Decimal::new(0, u8::try_from(scale.max(0)).unwrap()))
        }
        Gen::Int { .. } => OwnedValue::Int(0),
        Gen::Float32 | Gen::Float64 => OwnedValue::Float(0.0),
    }
}

fn check(c: &Case) -> Result<(), TestCaseError> {
    let options = CopybookLayoutOptions {
        code_page: c.code_page,
        field_code_pages: vec![("OTHER".into(), c.other_page)],
        native_order: c.native_order,
        float_format: c.float_format,
        ..CopybookLayoutOptions::default()
    };
    let l = Layout::from_copybook("mixed.cob", &cb(MIXED), &options).unwrap();
    let n_at = GENS.len();
    prop_assert_eq!(l.fields().len(), n_at + 1 + 3 * 2);
    let mut given: Vec<(usize, OwnedValue)> = c
        .values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.clone().map(|v| (i, v)))
        .collect();
    let count = c.items.len();
    given.push((n_at, OwnedValue::Decimal(Decimal::new(count as i128, 0))));
    for (k, (amt, txt)) in c.items.iter().enumerate() {
        given.push((n_at + 1 + 2 * k, amt.clone()));
        given.push((n_at + 2 + 2 * k, txt.clone()));
    }
    let record = l
        .encode_values(&given)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(record.len(), l.record_len());
    let view = l.view(&record).unwrap();
    let mut texts = Vec::new();
    for (i, field) in l.fields().iter().enumerate() {
        let got = view
            .get(i)
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", field.name)))?;
        let want = if i < n_at {
            expected(GENS[i], c.values[i].as_ref())
        } else if i == n_at {
            OwnedValue::Decimal(Decimal::new(count as i128, 0))
        } else {
            let k = (i - n_at - 1) / 2;
            match c.items.get(k) {
                Some((amt, _)) if (i - n_at - 1).is_multiple_of(2) => amt.clone(),
                Some((_, txt)) => txt.clone(),
                None => OwnedValue::Null,
            }
        };
        let owned = got.to_owned_value().unwrap();
        prop_assert_eq!(&owned, &want, "column {}", field.name);
        if !got.is_null() {
            let mut s = String::new();
            got.write_text(&mut s).unwrap();
            texts.push((field.name.clone(), s));
        }
    }
    // The same values as text encode to the same bytes.
    let again = l
        .encode(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(again, record);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_gives_the_values_back(c in case()) {
        check(&c)?;
    }

    /// Any bytes that decode re-encode to the same bytes (zoned digits and
    /// packed nibbles in canonical form).
    #[test]
    fn decode_then_encode_gives_the_bytes_back(
        id in 0u32..100_000,
        amt in -9_999_999i64..10_000_000,
        neg in any::<bool>(),
    ) {
        let l = layout("01 R.\n  05 ID PIC 9(5).\n  05 AMT PIC S9(5)V99 COMP-3.\n  05 S PIC S9(2).", &ebcdic());
        let mut record: Vec<u8> = format!("{id:05}").bytes().map(|b| b - b'0' + 0xF0).collect();
        let digits = format!("{:07}", amt.unsigned_abs());
        let mut nibbles: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
        nibbles.push(if amt < 0 { 0xD } else { 0xC });
        record.extend(nibbles.chunks(2).map(|p| p[0] << 4 | p[1]));
        record.extend_from_slice(&[0xF1, if neg { 0xD2 } else { 0xC2 }]);
        let view = l.view(&record).unwrap();
        let values: Vec<(usize, OwnedValue)> = (0..3)
            .map(|i| (i, view.get(i).unwrap().to_owned_value().unwrap()))
            .collect();
        prop_assert_eq!(l.encode_values(&values).unwrap(), record);
    }
}
