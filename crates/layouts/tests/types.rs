//! Decoding and encoding each field type, with edge values.

#![allow(clippy::unwrap_used)]

use drx_layouts::{
    Charset, DateTime, Decimal, DecodeError, DecodeErrorKind, EncodeError, Layout, OwnedValue,
    Value,
};

fn layout(text: &str) -> Layout {
    match Layout::parse("test.dd", text) {
        Ok(layout) => layout,
        Err(e) => panic!("{e}"),
    }
}

/// Layout of one field `x` with extra declarations before `fields:`.
fn one(decls: &str, ty: &str) -> Layout {
    layout(&format!("{decls} fields: x {ty}; end;"))
}

fn get<'a>(layout: &'a Layout, record: &'a [u8]) -> Result<Value<'a>, DecodeError> {
    layout.view(record)?.get(0)
}

fn text(layout: &Layout, record: &[u8]) -> String {
    let mut s = String::new();
    get(layout, record)
        .expect("decodes")
        .write_text(&mut s)
        .expect("text");
    s
}

fn encode(layout: &Layout, value: &str) -> Vec<u8> {
    layout.encode([("x", value)]).expect("encodes")
}

fn encode_err(layout: &Layout, value: &str) -> String {
    layout
        .encode([("x", value)])
        .expect_err("does not encode")
        .to_string()
}

#[test]
fn binary_edges() {
    let l = one("", "fixed bin(15)");
    assert_eq!(get(&l, &[0x80, 0x00]), Ok(Value::Int(i64::from(i16::MIN))));
    assert_eq!(get(&l, &[0x7F, 0xFF]), Ok(Value::Int(i64::from(i16::MAX))));
    assert_eq!(get(&l, &[0xFF, 0xFF]), Ok(Value::Int(-1)));
    assert_eq!(text(&l, &[0x80, 0x00]), "-32768");
    assert_eq!(encode(&l, "-32768"), [0x80, 0x00]);
    assert_eq!(encode(&l, " +32767 "), [0x7F, 0xFF]);
    assert_eq!(
        encode_err(&l, "32768"),
        "field x: value 32768 is out of range for fixed bin(15) (-32768 to 32767)"
    );
    assert_eq!(
        encode_err(&l, "1.5"),
        "field x: \"1.5\" is not an integer for fixed bin(15)"
    );

    let l = one("", "bin(7)");
    assert_eq!(l.record_len(), 1);
    assert_eq!(get(&l, &[0xFF]), Ok(Value::Int(-1)));
    assert_eq!(get(&l, &[0x80]), Ok(Value::Int(-128)));
    assert_eq!(get(&l, &[0x7F]), Ok(Value::Int(127)));
    assert_eq!(encode(&l, "-128"), [0x80]);

    let l = one("", "fixed binary(31)");
    assert_eq!(
        get(&l, &[0x80, 0, 0, 0]),
        Ok(Value::Int(i64::from(i32::MIN)))
    );
    assert_eq!(
        get(&l, &[0x01, 0x02, 0x03, 0x04]),
        Ok(Value::Int(0x0102_0304))
    );

    let l = one("", "bin(63)");
    let min = i64::MIN.to_be_bytes();
    let max = i64::MAX.to_be_bytes();
    assert_eq!(get(&l, &min), Ok(Value::Int(i64::MIN)));
    assert_eq!(get(&l, &max), Ok(Value::Int(i64::MAX)));
    assert_eq!(text(&l, &min), "-9223372036854775808");
    assert_eq!(encode(&l, "-9223372036854775808"), min);
    assert_eq!(encode(&l, "9223372036854775807"), max);
    assert_eq!(
        encode_err(&l, "9223372036854775808"),
        "field x: \"9223372036854775808\" is not an integer for fixed bin(63)"
    );
}

#[test]
fn little_endian() {
    let l = layout(
        "byte_order: little; fields: a bin(15), b bin(31), c bin(63), v char(4) varying, \
         f float bin(53), g float bin(24), dt_x bin(31), bits bit(16), d dec(3); end;",
    );
    let mut record = Vec::new();
    record.extend_from_slice(&(-2i16).to_le_bytes());
    record.extend_from_slice(&0x0102_0304i32.to_le_bytes());
    record.extend_from_slice(&(-3i64).to_le_bytes());
    record.extend_from_slice(&[2, 0, b'h', b'i', b' ', b' ']);
    record.extend_from_slice(&1.5f64.to_le_bytes());
    record.extend_from_slice(&0.25f32.to_le_bytes());
    record.extend_from_slice(&60i32.to_le_bytes());
    record.extend_from_slice(&[0x80, 0x01]);
    record.extend_from_slice(&[0x12, 0x3C]);
    let view = l.view(&record).expect("view");
    let texts: Vec<String> = (0..l.fields().len())
        .map(|i| {
            let mut s = String::new();
            view.get(i)
                .expect("decodes")
                .write_text(&mut s)
                .expect("text");
            s
        })
        .collect();
    assert_eq!(
        texts,
        [
            "-2",
            "16909060",
            "-3",
            "hi",
            "1.5",
            "0.25",
            "1980-01-01 00:01:00",
            "1000000000000001",
            "123"
        ]
    );
    let pairs: Vec<(&str, &str)> = l
        .fields()
        .iter()
        .map(|f| f.name.as_str())
        .zip(texts.iter().map(String::as_str))
        .collect();
    assert_eq!(l.encode(pairs).expect("encodes"), record);
}

#[test]
fn varying() {
    let l = layout("fields: n bin(15), t char(4) varying; end;");
    assert_eq!(l.record_len(), 8);
    let empty = [0, 7, 0, 0, b'x', b'x', b'x', b'x'];
    let view = l.view(&empty).expect("view");
    let mut s = String::from("<");
    view.get(1)
        .expect("decodes")
        .write_text(&mut s)
        .expect("text");
    assert_eq!(s, "<");
    let full = [0, 7, 0, 4, b'a', b'b', b' ', b' '];
    let view = l.view(&full).expect("view");
    let mut s = String::new();
    view.get(1)
        .expect("decodes")
        .write_text(&mut s)
        .expect("text");
    assert_eq!(s, "ab  ", "varying text keeps its trailing spaces");
    assert_eq!(
        l.encode([("n", "7"), ("t", "ab  ")]).expect("encodes"),
        full
    );
    assert_eq!(
        l.encode([("n", "7"), ("t", "")]).expect("encodes"),
        [0, 7, 0, 0, b' ', b' ', b' ', b' ']
    );
    let too_long = [0, 7, 0, 5, b'a', b'b', b'c', b'd'];
    let view = l.view(&too_long).expect("view");
    let e = view.get(1).expect_err("too long");
    assert_eq!(
        e,
        DecodeError {
            field: "t".to_owned(),
            offset: 2,
            kind: DecodeErrorKind::VaryingTooLong { len: 5, max: 4 },
        }
    );
    assert_eq!(
        e.to_string(),
        "field t at byte 2: varying length 5 exceeds maximum 4"
    );
    assert_eq!(
        l.encode([("t", "abcde")])
            .expect_err("too long")
            .to_string(),
        "field t: text of 5 bytes is longer than the 4 of char(4) varying"
    );
}

#[test]
fn layout_200_varying_error() {
    let l = layout(
        "fields: err_number fixed bin (15), err_name char (32), err_text char (128) varying, \
         err_category char(18), err_category2 char(18); end;",
    );
    let mut record = vec![b' '; 200];
    record[34..36].copy_from_slice(&300u16.to_be_bytes());
    let e = l.view(&record).expect("view").get(2).expect_err("too long");
    assert_eq!(
        e.to_string(),
        "field err_text at byte 34: varying length 300 exceeds maximum 128"
    );
}

#[test]
fn char_trimming_and_latin1() {
    let l = one("", "char(6)");
    assert_eq!(text(&l, b"ab    "), "ab");
    assert_eq!(text(&l, b"  ab  "), "  ab");
    assert_eq!(text(&l, b"      "), "");
    assert_eq!(text(&l, &[b'c', b'a', b'f', 0xE9, b' ', b' ']), "café");
    assert_eq!(
        text(&l, &[0xFF, 0x00, 0x80, b' ', b' ', b' ']),
        "\u{ff}\u{0}\u{80}"
    );
    match get(&l, b"ab    ").expect("decodes") {
        Value::Text(t) => {
            assert_eq!(t.raw(), b"ab");
            assert_eq!(t.charset(), Charset::Latin1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(encode(&l, "café"), [b'c', b'a', b'f', 0xE9, b' ', b' ']);
    assert_eq!(
        encode_err(&l, "€"),
        "field x: character '€' (U+20AC) cannot be written in ISO-8859-1"
    );
    assert_eq!(
        encode_err(&l, "abcdefg"),
        "field x: text of 7 bytes is longer than the 6 of char(6)"
    );

    let l = one("trim: none;", "character(6)");
    assert_eq!(text(&l, b"ab    "), "ab    ");
    match get(&l, b"ab    ").expect("decodes") {
        Value::Text(t) => assert_eq!(t.raw(), b"ab    "),
        other => panic!("{other:?}"),
    }
}

#[test]
fn utf8_and_ascii() {
    let l = one("charset: utf-8;", "char(4)");
    assert_eq!(text(&l, &[0xC3, 0xA9, b' ', b' ']), "é");
    assert_eq!(encode(&l, "é"), [0xC3, 0xA9, b' ', b' ']);
    let bad = [b'a', 0xE9, b' ', b' '];
    let e = get(&l, &bad)
        .expect("a view")
        .write_text(&mut String::new())
        .expect_err("invalid UTF-8");
    assert_eq!(
        e,
        DecodeError {
            field: "x".to_owned(),
            offset: 0,
            kind: DecodeErrorKind::BadText {
                charset: Charset::Utf8
            },
        }
    );
    assert_eq!(e.to_string(), "field x at byte 0: text is not valid UTF-8");
    let mut out = String::from("keep");
    assert!(get(&l, &bad).expect("a view").write_text(&mut out).is_err());
    assert_eq!(out, "keep", "a failed write leaves out unchanged");
    assert_eq!(
        encode_err(&l, "ééé"),
        "field x: text of 6 bytes is longer than the 4 of char(4)"
    );

    let l = one("charset: ascii;", "char(4)");
    assert_eq!(text(&l, b"ab  "), "ab");
    let e = get(&l, &[b'a', 0x80, b' ', b' '])
        .expect("a view")
        .to_owned_value()
        .expect_err("not ASCII");
    assert_eq!(e.to_string(), "field x at byte 0: text is not valid ASCII");
    assert_eq!(
        encode_err(&l, "é"),
        "field x: character 'é' (U+00E9) cannot be written in ASCII"
    );
}

#[test]
fn packed_decimal() {
    let l = one("", "fixed dec(5,2)");
    assert_eq!(l.record_len(), 3);
    assert_eq!(text(&l, &[0x12, 0x34, 0x5C]), "123.45");
    assert_eq!(text(&l, &[0x12, 0x34, 0x5D]), "-123.45");
    assert_eq!(text(&l, &[0x12, 0x34, 0x5F]), "123.45");
    assert_eq!(text(&l, &[0x00, 0x00, 0x5B]), "-0.05");
    assert_eq!(text(&l, &[0x00, 0x00, 0x0C]), "0.00");
    assert_eq!(text(&l, &[0x00, 0x00, 0x0D]), "0.00");
    assert_eq!(
        get(&l, &[0x01, 0x25, 0x0D]),
        Ok(Value::Decimal(Decimal::new(-1250, 2)))
    );
    assert_eq!(encode(&l, "-12.5"), [0x01, 0x25, 0x0D]);
    assert_eq!(encode(&l, "0"), [0x00, 0x00, 0x0C]);
    assert_eq!(encode(&l, "999.99"), [0x99, 0x99, 0x9C]);
    assert_eq!(
        encode_err(&l, "1000"),
        "field x: value 1000.00 is out of range for fixed dec(5,2)"
    );
    assert_eq!(
        encode_err(&l, "1.234"),
        "field x: value 1.234 has more than 2 decimal places for fixed dec(5,2)"
    );
    assert_eq!(encode(&l, "1.230"), [0x00, 0x12, 0x3C]);
    assert_eq!(
        encode_err(&l, "1,5"),
        "field x: \"1,5\" is not a decimal number for fixed dec(5,2)"
    );
    let e = get(&l, &[0x12, 0x3A, 0x5C]).expect_err("bad digit");
    assert_eq!(
        e,
        DecodeError {
            field: "x".to_owned(),
            offset: 1,
            kind: DecodeErrorKind::BadPackedDigit { nibble: 0xA },
        }
    );
    assert_eq!(
        e.to_string(),
        "field x at byte 1: bad packed decimal digit nibble 0xA"
    );
    let e = get(&l, &[0x12, 0x34, 0x56]).expect_err("bad sign");
    assert_eq!(e.kind, DecodeErrorKind::BadPackedSign { nibble: 6 });
    assert_eq!(e.offset, 2);

    let l = one("", "dec(4)");
    assert_eq!(text(&l, &[0x01, 0x23, 0x4C]), "1234");
    assert_eq!(
        get(&l, &[0x11, 0x23, 0x4C]).expect_err("pad nibble").kind,
        DecodeErrorKind::BadPackedDigit { nibble: 1 }
    );

    let l = one("", "fixed decimal(38,10)");
    let max = format!("{}.{}", "9".repeat(28), "9".repeat(10));
    let bytes = encode(&l, &max);
    assert_eq!(bytes.len(), 20);
    assert_eq!(text(&l, &bytes), max);
    let min = format!("-{max}");
    assert_eq!(text(&l, &encode(&l, &min)), min);
}

#[test]
fn floats() {
    let l = one("", "float bin(24)");
    assert_eq!(l.record_len(), 4);
    assert_eq!(text(&l, &0.1f32.to_be_bytes()), "0.1");
    assert_eq!(text(&l, &(-2.5f32).to_be_bytes()), "-2.5");
    assert_eq!(text(&l, &f32::MAX.to_be_bytes()), "3.4028235e38");
    assert_eq!(text(&l, &f32::MIN_POSITIVE.to_be_bytes()), "1.1754944e-38");
    assert_eq!(text(&l, &f32::INFINITY.to_be_bytes()), "inf");
    assert_eq!(text(&l, &f32::NAN.to_be_bytes()), "NaN");
    assert_eq!(get(&l, &0.1f32.to_be_bytes()), Ok(Value::Float(0.1)));
    assert_eq!(encode(&l, "0.1"), 0.1f32.to_be_bytes());
    assert_eq!(encode(&l, "-inf"), f32::NEG_INFINITY.to_be_bytes());
    assert_eq!(
        encode_err(&l, "1e39"),
        "field x: value 1000000000000000000000000000000000000000 is out of range for float bin(24)"
    );
    assert_eq!(
        encode_err(&l, "one"),
        "field x: \"one\" is not a number for float bin(24)"
    );

    let l = one("", "float bin");
    assert_eq!(l.record_len(), 8);
    assert_eq!(text(&l, &0.1f64.to_be_bytes()), "0.1");
    assert_eq!(text(&l, &1.0f64.to_be_bytes()), "1.0");
    assert_eq!(text(&l, &(-0.0f64).to_be_bytes()), "-0.0");
    assert_eq!(text(&l, &f64::MAX.to_be_bytes()), "1.7976931348623157e308");
    assert_eq!(
        get(&l, &f64::from(0.1f32).to_be_bytes()),
        Ok(Value::Float(f64::from(0.1f32))),
        "8-byte floats are exact"
    );
    assert_eq!(encode(&l, "-1e-300"), (-1e-300f64).to_be_bytes());
}

#[test]
fn bits() {
    let l = one("", "bit");
    assert_eq!(l.record_len(), 1);
    assert_eq!(text(&l, &[0x80]), "1");
    assert_eq!(text(&l, &[0x00]), "0");
    assert_eq!(text(&l, &[0x7F]), "0", "only the leading bit counts");
    assert_eq!(get(&l, &[0xFF]), Ok(Value::Bits { value: 1, bits: 1 }));
    assert_eq!(encode(&l, "1"), [0x80]);
    assert_eq!(encode(&l, "0"), [0x00]);
    assert_eq!(
        encode_err(&l, "2"),
        "field x: \"2\" is not a bit string for bit(1) (expected 1 to 1 binary digits)"
    );

    let l = one("", "bit(15)");
    assert_eq!(l.record_len(), 2);
    assert_eq!(
        get(&l, &[0xFF, 0xFE]),
        Ok(Value::Bits {
            value: 0x7FFF,
            bits: 15
        })
    );
    assert_eq!(text(&l, &[0x80, 0x02]), "100000000000001");
    assert_eq!(encode(&l, "100000000000001"), [0x80, 0x02]);
    assert_eq!(
        encode(&l, "101"),
        [0x00, 0x0A],
        "fewer digits are the low bits"
    );

    let l = one("", "bit(3)");
    assert_eq!(text(&l, &[0b1010_0000]), "101");
    assert_eq!(text(&l, &[0b0001_1111]), "000");

    let l = one("", "bit(64)");
    assert_eq!(
        get(&l, &[0xFF; 8]),
        Ok(Value::Bits {
            value: u64::MAX,
            bits: 64
        })
    );
    assert_eq!(text(&l, &[0xFF; 8]), "1".repeat(64));

    assert_eq!(
        one("", "bit(2)")
            .encode_values(&[(0, OwnedValue::Bits(4))])
            .expect_err("too big")
            .to_string(),
        "field x: value 4 does not fit bit(2)"
    );
}

#[test]
fn date_times() {
    let l = layout("fields: dt_x fixed bin(31); end;");
    let dt = |record: &[u8]| text(&l, record);
    assert_eq!(dt(&0i32.to_be_bytes()), "1980-01-01 00:00:00");
    assert_eq!(dt(&86_399i32.to_be_bytes()), "1980-01-01 23:59:59");
    assert_eq!(dt(&(-1i32).to_be_bytes()), "1979-12-31 23:59:59");
    assert_eq!(dt(&i32::MAX.to_be_bytes()), "2048-01-19 03:14:07");
    assert_eq!(dt(&i32::MIN.to_be_bytes()), "1911-12-13 20:45:52");
    assert_eq!(
        get(&l, &0i32.to_be_bytes()),
        Ok(Value::DateTime(DateTime::from_unix_seconds(315_532_800)))
    );
    // 2024-01-31 12:00:00 UTC is 1_706_702_400 s after 1970, 1_391_169_600 after 1980.
    assert_eq!(
        l.encode([("dt_x", "2024-01-31 12:00:00")])
            .expect("encodes"),
        1_391_169_600i32.to_be_bytes()
    );
    assert_eq!(
        l.encode([("dt_x", "2050-01-01")])
            .expect_err("out of range")
            .to_string(),
        "field dt_x: date-time 2050-01-01 00:00:00 is out of range for a dt_ field \
         (1911-12-13 20:45:52 to 2048-01-19 03:14:07)"
    );
    assert_eq!(
        l.encode([("dt_x", "yesterday")])
            .expect_err("bad")
            .to_string(),
        "field dt_x: \"yesterday\" is not a date-time (expected YYYY-MM-DD HH:MM:SS)"
    );

    let l = layout("dt_epoch: 1970-01-01; fields: dt_x bin(31); end;");
    assert_eq!(text(&l, &0i32.to_be_bytes()), "1970-01-01 00:00:00");
    assert_eq!(text(&l, &i32::MAX.to_be_bytes()), "2038-01-19 03:14:07");
    assert_eq!(
        l.encode([("dt_x", "2024-01-31 12:00:00")])
            .expect("encodes"),
        1_706_702_400i32.to_be_bytes()
    );
    // The zero record is the epoch.
    assert_eq!(
        text(&l, &l.encode([]).expect("encodes")),
        "1970-01-01 00:00:00"
    );
}

#[test]
fn record_lengths() {
    let l = layout("fields: a bin(15), b char(2); end;");
    let e = l.view(&[0, 1, b'x']).expect_err("short");
    assert_eq!(
        e,
        DecodeError {
            field: String::new(),
            offset: 3,
            kind: DecodeErrorKind::ShortRecord { len: 3, need: 4 },
        }
    );
    assert_eq!(
        e.to_string(),
        "record is 3 bytes, shorter than the 4 bytes of the layout"
    );
    let long = [0, 1, b'x', b'y', 0xEE, 0xEE];
    let view = l.view(&long).expect("longer is fine");
    assert_eq!(view.bytes(), &long[..4]);
    assert_eq!(view.get(0), Ok(Value::Int(1)));
    assert!(std::ptr::eq(view.layout(), &l));
    assert!(l.key_bytes(&[0], &mut Vec::new()).is_err());
}

#[test]
fn key_bytes() {
    let l = layout(
        "organization: indexed; key: id, region; \
         fields: region char(2), name char(3), id bin(31); end;",
    );
    let record = l
        .encode([("region", "EU"), ("name", "abc"), ("id", "258")])
        .expect("encodes");
    let mut out = vec![0xAA];
    l.key_bytes(&record, &mut out).expect("long enough");
    assert_eq!(out, [0xAA, 0, 0, 1, 2, b'E', b'U']);

    let no_key = layout("fields: a char(1); end;");
    let mut out = Vec::new();
    no_key.key_bytes(b"x", &mut out).expect("long enough");
    assert!(out.is_empty());
}

#[test]
fn encode_errors() {
    let l = layout("fields: a bin(15), b char(2), c fixed dec(3,1); end;");
    assert_eq!(
        l.encode([("nope", "1")]).expect_err("unknown"),
        EncodeError {
            field: "nope".to_owned(),
            message: "no such field in layout test.dd".to_owned(),
        }
    );
    assert_eq!(
        l.encode([("a", "1"), ("a", "2")])
            .expect_err("twice")
            .to_string(),
        "field a: given more than once"
    );
    assert_eq!(
        l.encode_values(&[(1, OwnedValue::Int(1))])
            .expect_err("mismatch")
            .to_string(),
        "field b: a Int value does not fit a field of type char(2)"
    );
    assert_eq!(
        l.encode_values(&[(3, OwnedValue::Int(1))])
            .expect_err("no field")
            .to_string(),
        "field #3: no field number 3 in layout test.dd (3 fields)"
    );
    assert_eq!(
        l.encode_values(&[
            (0, OwnedValue::Int(-7)),
            (1, OwnedValue::Text("é".to_owned())),
            (2, OwnedValue::Decimal(Decimal::new(-5, 0))),
        ])
        .expect("encodes"),
        [0xFF, 0xF9, 0xE9, b' ', 0x05, 0x0D]
    );
    assert_eq!(
        l.encode_values(&[(2, OwnedValue::Decimal(Decimal::new(100, 0)))])
            .expect_err("range")
            .to_string(),
        "field c: value 100.0 is out of range for fixed dec(3,1)"
    );
}

#[test]
fn value_texts() {
    let mut s = String::new();
    Value::Decimal(Decimal::new(5, 2))
        .write_text(&mut s)
        .expect("text");
    s.push('|');
    Value::Bits { value: 5, bits: 4 }
        .write_text(&mut s)
        .expect("text");
    s.push('|');
    Value::Int(i64::MIN).write_text(&mut s).expect("text");
    s.push('|');
    Value::Float(1e16).write_text(&mut s).expect("text");
    s.push('|');
    Value::DateTime(DateTime::from_unix_seconds(-86_400))
        .write_text(&mut s)
        .expect("text");
    assert_eq!(s, "0.05|0101|-9223372036854775808|1e16|1969-12-31 00:00:00");
}

#[test]
fn write_utf8_matches_write_text_for_every_kind_of_value() {
    let layout = drx_layouts::Layout::parse(
        "l",
        "fields: a bin(31), b char(8), c char(10) varying, d fixed dec(7,2), e float bin(53), f bit(3), dt_g bin(31); end;",
    )
    .unwrap();
    let record = layout
        .encode([
            ("a", "-12"),
            ("b", "caf\u{e9}"),
            ("c", "x\u{ff}<y"),
            ("d", "-123.45"),
            ("e", "1.5"),
            ("f", "101"),
            ("dt_g", "2024-02-29 12:34:56"),
        ])
        .unwrap();
    let view = layout.view(&record).unwrap();
    for i in 0..layout.fields().len() {
        let (mut s, mut v) = (String::new(), Vec::new());
        view.get(i).unwrap().write_text(&mut s).unwrap();
        view.get(i).unwrap().write_utf8(&mut v).unwrap();
        assert_eq!(s.as_bytes(), v.as_slice(), "field {i}");
    }
}
