//! Decoding COBOL elementary items, and the Cobrix test6 conformance check.

#![allow(clippy::unwrap_used)]

use drx_layouts::{
    ByteOrder, CobolErrorKind, CobolOptions, Copybook, Decimal, FloatFormat, ZonedEncoding,
    ZonedSign, ZonedSpec, decode_binary, decode_edited, decode_float, decode_packed, decode_zoned,
    elementary_fields,
};

fn spec(encoding: ZonedEncoding, sign: ZonedSign, scale: i32) -> ZonedSpec {
    ZonedSpec {
        encoding,
        sign,
        scale,
        strict: true,
    }
}

fn zoned(bytes: &[u8], s: ZonedSpec) -> String {
    decode_zoned(bytes, &s).unwrap().to_string()
}

#[test]
fn zoned_ebcdic() {
    use ZonedEncoding::Ebcdic;
    let u = spec(Ebcdic, ZonedSign::Unsigned, 0);
    assert_eq!(zoned(&[0xF1, 0xF2, 0xF3], u), "123");
    assert_eq!(zoned(&[0xF0, 0xF0], u), "0");
    assert_eq!(zoned(&[0xF9; 38], u), "9".repeat(38));
    let t = spec(Ebcdic, ZonedSign::Trailing, 2);
    assert_eq!(zoned(&[0xF1, 0xF2, 0xD3], t), "-1.23");
    assert_eq!(zoned(&[0xF1, 0xF2, 0xC3], t), "1.23");
    assert_eq!(zoned(&[0xF1, 0xF2, 0xF3], t), "1.23");
    assert_eq!(zoned(&[0xF0, 0xF0, 0xD0], t), "0.00");
    let l = spec(Ebcdic, ZonedSign::Leading, 0);
    assert_eq!(zoned(&[0xD1, 0xF2, 0xF3], l), "-123");
    let ls = spec(Ebcdic, ZonedSign::LeadingSeparate, 1);
    assert_eq!(zoned(&[0x60, 0xF1, 0xF2], ls), "-1.2");
    let ts = spec(Ebcdic, ZonedSign::TrailingSeparate, 0);
    assert_eq!(zoned(&[0xF1, 0xF2, 0x4E], ts), "12");
    // P scaling: 9(3)PP and PP9(3)
    assert_eq!(
        zoned(&[0xF1, 0xF2, 0xF3], spec(Ebcdic, ZonedSign::Unsigned, -2)),
        "12300"
    );
    assert_eq!(
        zoned(&[0xF1, 0xF2, 0xF3], spec(Ebcdic, ZonedSign::Unsigned, 5)),
        "0.00123"
    );
    // explicit point: S9(2).99
    assert_eq!(zoned(&[0xF1, 0xF2, 0x4B, 0xF3, 0xD4], t), "-12.34");
    // leading spaces
    assert_eq!(zoned(&[0x40, 0xF2, 0xF3], u), "23");
}

#[test]
fn zoned_ascii() {
    use ZonedEncoding::Ascii;
    let t = spec(Ascii, ZonedSign::Trailing, 0);
    assert_eq!(zoned(b"123", t), "123");
    assert_eq!(zoned(b"12L", t), "-123");
    assert_eq!(zoned(b"12}", t), "-120");
    assert_eq!(zoned(b"12{", t), "120");
    assert_eq!(zoned(b"12C", t), "123");
    assert_eq!(zoned(b"12s", t), "-123");
    let l = spec(Ascii, ZonedSign::Leading, 1);
    assert_eq!(zoned(b"J23", l), "-12.3");
    assert_eq!(zoned(b"A23", l), "12.3");
    assert_eq!(
        zoned(b"+123", spec(Ascii, ZonedSign::LeadingSeparate, 0)),
        "123"
    );
    assert_eq!(
        zoned(b"123-", spec(Ascii, ZonedSign::TrailingSeparate, 0)),
        "-123"
    );
}

#[test]
fn zoned_errors() {
    let t = spec(ZonedEncoding::Ebcdic, ZonedSign::Trailing, 0);
    let e = decode_zoned(&[0xF1, 0xA2, 0xF3], &t).unwrap_err();
    assert_eq!(e.kind, CobolErrorKind::InvalidZonedDigit(0xA2));
    assert_eq!(e.offset, 1);
    assert_eq!(e.to_string(), "invalid zoned digit 0xA2 at byte 1");
    // overpunch not in the sign position
    let e = decode_zoned(&[0xD1, 0xF2], &t).unwrap_err();
    assert_eq!(e.kind, CobolErrorKind::InvalidZonedDigit(0xD1));
    // strict: no sign on unsigned
    let u = spec(ZonedEncoding::Ebcdic, ZonedSign::Unsigned, 0);
    let e = decode_zoned(&[0xF1, 0xD2], &u).unwrap_err();
    assert_eq!(e.kind, CobolErrorKind::UnexpectedSign(0xD2));
    let lax = ZonedSpec { strict: false, ..u };
    assert_eq!(
        decode_zoned(&[0xF1, 0xD2], &lax).unwrap().to_string(),
        "-12"
    );
    let ls = spec(ZonedEncoding::Ascii, ZonedSign::LeadingSeparate, 0);
    assert_eq!(
        decode_zoned(b"*12", &ls).unwrap_err().kind,
        CobolErrorKind::InvalidSign(b'*')
    );
    assert_eq!(
        decode_zoned(b"   ", &spec(ZonedEncoding::Ascii, ZonedSign::Unsigned, 0))
            .unwrap_err()
            .kind,
        CobolErrorKind::Blank
    );
    assert_eq!(
        decode_zoned(&[0xF9; 39], &u).unwrap_err().kind,
        CobolErrorKind::Overflow
    );
}

#[test]
fn packed() {
    assert_eq!(decode_packed(&[0x12, 0x3C], 0).unwrap().to_string(), "123");
    assert_eq!(
        decode_packed(&[0x12, 0x3D], 2).unwrap().to_string(),
        "-1.23"
    );
    assert_eq!(decode_packed(&[0x12, 0x3B], 0).unwrap().to_string(), "-123");
    assert_eq!(decode_packed(&[0x12, 0x3F], 0).unwrap().to_string(), "123");
    assert_eq!(decode_packed(&[0x00, 0x0C], 1).unwrap().to_string(), "0.0");
    assert_eq!(
        decode_packed(&[0x12, 0x3C], -3).unwrap().to_string(),
        "123000"
    );
    let mut max = vec![0x99u8; 19];
    max[18] = 0x9C;
    assert_eq!(decode_packed(&max, 0).unwrap().to_string(), "9".repeat(37));
    let e = decode_packed(&[0x1A, 0x3C], 0).unwrap_err();
    assert_eq!(e.to_string(), "invalid packed digit 0xA at byte 0");
    let e = decode_packed(&[0x12, 0x3E], 0).unwrap_err();
    assert_eq!(e.kind, CobolErrorKind::InvalidSignNibble(0xE));
    assert_eq!(e.offset, 1);
}

#[test]
fn binary() {
    let d = |b: &[u8], s, o, sc| decode_binary(b, s, o, sc).unwrap().to_string();
    assert_eq!(d(&[0x00, 0x7B], true, ByteOrder::Big, 0), "123");
    assert_eq!(d(&[0xFF, 0x85], true, ByteOrder::Big, 2), "-1.23");
    assert_eq!(d(&[0xFF, 0x85], false, ByteOrder::Big, 0), "65413");
    assert_eq!(d(&[0x85, 0xFF], true, ByteOrder::Little, 0), "-123");
    assert_eq!(d(&[0, 0, 0, 0], true, ByteOrder::Big, 0), "0");
    assert_eq!(d(&[0x00, 0x7B], false, ByteOrder::Big, -3), "123000");
    assert_eq!(
        d(
            &[0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            true,
            ByteOrder::Big,
            0
        ),
        i64::MAX.to_string()
    );
    assert_eq!(
        d(&[0xFF; 8], false, ByteOrder::Big, 0),
        u64::MAX.to_string()
    );
    assert_eq!(
        decode_binary(&[0xFF; 16], false, ByteOrder::Big, 0)
            .unwrap_err()
            .kind,
        CobolErrorKind::Overflow
    );
}

#[test]
fn floats() {
    let ibm = |b: &[u8]| decode_float(b, FloatFormat::IbmHex).unwrap();
    assert_eq!(ibm(&[0x41, 0x10, 0, 0]), 1.0);
    assert_eq!(ibm(&[0xC2, 0x76, 0xA0, 0]), -118.625);
    assert_eq!(ibm(&[0, 0, 0, 0]), 0.0);
    assert_eq!(ibm(&[0x41, 0x10, 0, 0, 0, 0, 0, 0]), 1.0);
    assert_eq!(ibm(&[0xC2, 0x76, 0xA0, 0, 0, 0, 0, 0]), -118.625);
    assert_eq!(ibm(&[0x40, 0x80, 0, 0]), 0.5);
    let ieee = |b: &[u8]| decode_float(b, FloatFormat::Ieee754).unwrap();
    assert_eq!(ieee(&1.5f32.to_be_bytes()), 1.5);
    assert_eq!(ieee(&(-118.625f64).to_be_bytes()), -118.625);
    assert_eq!(
        decode_float(&[0; 3], FloatFormat::Ieee754)
            .unwrap_err()
            .kind,
        CobolErrorKind::BadFloatSize(3)
    );
}

#[test]
fn edited() {
    let e = |b: &[u8], s| {
        decode_edited(b, ZonedEncoding::Ascii, s)
            .unwrap()
            .to_string()
    };
    assert_eq!(e(b"+00001234", 0), "1234");
    assert_eq!(e(b"00001234-", 0), "-1234");
    assert_eq!(e(b"    1234-", 0), "-1234");
    assert_eq!(e(b"001234.56-", 2), "-1234.56");
    assert_eq!(e(b"  1,234.56CR", 2), "-1234.56");
}

#[test]
fn fields_from_copybook() {
    let text = "       01  REC.\n\
                \x20          05  A  PIC S9(3)V9 COMP-3.\n\
                \x20          05  B  PIC X(3).\n\
                \x20          05  C  PIC S9(4) COMP-5.\n\
                \x20          05  D  PIC 9(2).\n";
    let cb = Copybook::parse("rec.cob", text).unwrap();
    let fields = elementary_fields(&cb);
    let names: Vec<_> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C", "D"]);
    let rec = [0x12, 0x34, 0x5D, 0xC1, 0xC2, 0xC3, 0x00, 0x05, 0xF4, 0xF2];
    let mut opts = CobolOptions::default();
    assert_eq!(
        fields[0].decimal(&rec, &opts).unwrap(),
        Decimal::new(-12345, 1)
    );
    let mut s = String::new();
    fields[1].text_into(&rec, &opts, &mut s).unwrap();
    assert_eq!(s, "ABC");
    assert_eq!(fields[2].decimal(&rec, &opts).unwrap().to_string(), "5");
    opts.native_order = ByteOrder::Little;
    assert_eq!(fields[2].decimal(&rec, &opts).unwrap().to_string(), "1280");
    assert_eq!(fields[3].decimal(&rec, &opts).unwrap().to_string(), "42");
    let bad = [0x12, 0x3A, 0x5D];
    let e = fields[0].decimal(&bad, &opts).unwrap_err();
    assert_eq!(e.to_string(), "field A: invalid packed digit 0xA at byte 1");
    let e = fields[3].decimal(&rec[..9], &opts).unwrap_err();
    assert_eq!(e.kind, CobolErrorKind::Truncated(2));
    assert_eq!(e.offset, 8);
}

#[test]
fn blank_when_zero_and_occurs() {
    let text = "       01  REC.\n\
                \x20          05  A  PIC 9(2)V9 BLANK WHEN ZERO.\n\
                \x20          05  B  PIC 9(2)V9.\n\
                \x20          05  T  PIC S9(3) COMP-3 OCCURS 2 TIMES.\n";
    let cb = Copybook::parse("rec.cob", text).unwrap();
    let fields = elementary_fields(&cb);
    let opts = CobolOptions {
        code_page: drx_layouts::CodePage::Ascii,
        ..CobolOptions::default()
    };
    let rec = b"      \x12\x3C\x45\x6D";
    assert_eq!(fields[0].decimal(rec, &opts).unwrap().to_string(), "0.0");
    let e = fields[1].decimal(rec, &opts).unwrap_err();
    assert_eq!(e.kind, CobolErrorKind::Blank);
    let t = &fields[2];
    assert_eq!(t.decimal(rec, &opts).unwrap().to_string(), "123");
    let second = t.offset + t.len;
    assert_eq!(
        t.decimal_at(rec, second, &opts).unwrap().to_string(),
        "-456"
    );
    assert_eq!(
        t.decimal_at(rec, second + 1, &opts).unwrap_err().kind,
        CobolErrorKind::Truncated(2)
    );
}

// ---------------------------------------------------------------------------
// Cobrix test6 conformance.

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/conformance/cobrix"
);

/// Parses one flat JSON object of the expected file: (key, raw value text,
/// is_string).
fn json_pairs(line: &str) -> Vec<(String, String, bool)> {
    let b = line.trim().as_bytes();
    let mut out = Vec::new();
    let mut i = 1;
    let read_str = |i: &mut usize| -> String {
        let mut s = String::new();
        *i += 1;
        while b[*i] != b'"' {
            if b[*i] == b'\\' {
                *i += 1;
            }
            s.push(char::from(b[*i]));
            *i += 1;
        }
        *i += 1;
        s
    };
    while i < b.len() && b[i] != b'}' {
        if b[i] == b',' {
            i += 1;
        }
        let key = read_str(&mut i);
        assert_eq!(b[i], b':');
        i += 1;
        if b[i] == b'"' {
            let v = read_str(&mut i);
            out.push((key, v, true));
        } else {
            let start = i;
            while b[i] != b',' && b[i] != b'}' {
                i += 1;
            }
            out.push((key, line.trim()[start..i].to_owned(), false));
        }
    }
    out
}

fn same_decimal(a: Decimal, b: Decimal) -> bool {
    let s = a.scale().max(b.scale());
    a.rescale(s) == b.rescale(s)
}

#[test]
fn cobrix_test6() {
    let Ok(cob) = std::fs::read_to_string(format!("{DIR}/test6_copybook.cob")) else {
        panic!("conformance data missing under {DIR}");
    };
    let data = std::fs::read(format!("{DIR}/test6_data/INTEGR.TYPES.NOV28.DATA.dat")).unwrap();
    let expected = std::fs::read_to_string(format!("{DIR}/test6_expected/test6.txt")).unwrap();
    let cb = Copybook::parse("test6_copybook.cob", &cob).unwrap();
    assert_eq!(cb.record_len(), 1493);
    let fields = elementary_fields(&cb);
    let opts = CobolOptions {
        float_format: FloatFormat::Ieee754,
        ..CobolOptions::default()
    };
    // Decode every record; key by ID.
    let mut by_id = std::collections::HashMap::new();
    for rec in data.chunks(1493) {
        let id = fields[0].decimal(rec, &opts).unwrap().unscaled();
        by_id.insert(id, rec);
    }
    let mut checked = 0usize;
    let mut mismatches = Vec::new();
    let mut nulls = Vec::new();
    for line in expected.lines() {
        let pairs = json_pairs(line);
        let id: i128 = pairs[0].1.parse().unwrap();
        let rec = by_id[&id];
        for f in &fields {
            let key = f.name.replace('-', "_");
            let Some((_, want, is_str)) = pairs.iter().find(|(k, _, _)| *k == key) else {
                continue;
            };
            if *is_str {
                let mut s = String::new();
                f.text_into(rec, &opts, &mut s).unwrap();
                // Cobrix trims as Java's String.trim: every char <= U+0020.
                let got = s.trim_matches(|c: char| c <= ' ');
                if got != want {
                    mismatches.push(format!("id {id} {key}: got {got:?} want {want:?}"));
                }
            } else if f.is_float() {
                let got = f.float(rec, &opts).unwrap();
                let ok = if f.len == 4 {
                    #[allow(clippy::cast_possible_truncation)]
                    let g = got as f32;
                    want.parse::<f32>().unwrap() == g
                } else {
                    want.parse::<f64>().unwrap() == got
                };
                if !ok {
                    mismatches.push(format!("id {id} {key}: got {got} want {want}"));
                }
            } else {
                let want_d = Decimal::parse(want).unwrap();
                // Cobrix: an invalid value is null, filled with 0 here.
                let got = match f.decimal(rec, &opts) {
                    Ok(d) => d,
                    Err(e) => {
                        nulls.push(format!("id {id} {e}"));
                        Decimal::new(0, 0)
                    }
                };
                if !same_decimal(got, want_d) {
                    let why = match f.decimal(rec, &opts) {
                        Err(e) => e.to_string(),
                        Ok(_) => String::new(),
                    };
                    mismatches.push(format!("id {id} {key}: got {got} want {want} {why}"));
                }
            }
            checked += 1;
        }
    }
    eprintln!(
        "{checked} values compared; {} decoded as invalid (null, 0):",
        nulls.len()
    );
    for n in &nulls {
        eprintln!("  {n}");
    }
    assert_eq!(checked, 100 * 195, "every field of every record compared");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
