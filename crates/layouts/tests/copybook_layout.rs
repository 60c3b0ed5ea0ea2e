//! Copybook layouts: a copybook through the `Layout` model that sinks use.
#![allow(clippy::unwrap_used)]

use drx_layouts::{
    ByteOrder, Cell, CobolOptions, CodePage, Copybook, CopybookLayoutOptions, DecodeErrorKind,
    FieldType, FloatFormat, InvalidValue, Layout, OccursColumns, RecordDecoder, RecordOptions,
    Trim, Value,
};

fn cobrix(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/cobrix")
        .join(rel)
}

/// A copybook from free lines (indented into the fixed-format area).
fn cb(body: &str) -> Copybook {
    let text: String = body.lines().map(|l| format!("       {l}\n")).collect();
    Copybook::parse("t.cob", &text).unwrap()
}

fn ascii() -> CopybookLayoutOptions {
    CopybookLayoutOptions {
        code_page: CodePage::Ascii,
        ..CopybookLayoutOptions::default()
    }
}

fn text(layout: &Layout, record: &[u8], i: usize) -> String {
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

/// Cobrix's test6 copybook and its data file.
fn test6() -> (Copybook, Vec<u8>) {
    let text = std::fs::read_to_string(cobrix("test6_copybook.cob")).unwrap();
    let copybook = Copybook::parse("test6_copybook.cob", &text).unwrap();
    let data = std::fs::read(cobrix("test6_data/INTEGR.TYPES.NOV28.DATA.dat")).unwrap();
    (copybook, data)
}

fn names(layout: &Layout) -> Vec<&str> {
    layout.fields().iter().map(|f| f.name.as_str()).collect()
}

/// Every value of Cobrix's test6 (100 records, every numeric type) read
/// through the layout equals the record decoder's (itself checked value by
/// value against Cobrix's output in tests/layout_decode.rs).
#[test]
fn test6_layout_values_equal_the_record_decoder() {
    let (copybook, data) = test6();
    let options = CopybookLayoutOptions {
        float_format: FloatFormat::Ieee754,
        lowercase_names: false,
        ..CopybookLayoutOptions::default()
    };
    let layout = Layout::from_copybook("test6", &copybook, &options).unwrap();
    let mut decoder = RecordDecoder::new(
        &copybook,
        RecordOptions {
            cobol: CobolOptions {
                float_format: FloatFormat::Ieee754,
                native_order: ByteOrder::Big,
                ..CobolOptions::default()
            },
            trim: Trim::Both,
            invalid: InvalidValue::Error,
            ..RecordOptions::default()
        },
    )
    .unwrap();
    assert_eq!(layout.record_len(), 1493);
    assert_eq!(layout.fields().len(), decoder.columns().len());
    for (f, c) in layout.fields().iter().zip(decoder.columns()) {
        assert_eq!(&f.name, c);
    }
    let mut compared = 0;
    for (n, record) in data.chunks(1493).enumerate() {
        decoder.decode(n as u64 + 1, record).unwrap();
        let view = layout.view(record).unwrap();
        for i in 0..layout.fields().len() {
            let value = view.get(i).unwrap();
            let mut got = String::new();
            value.write_text(&mut got).unwrap();
            let want = match decoder.cell(i) {
                Cell::Number(s) | Cell::Text(s) => s.to_owned(),
                Cell::Null | Cell::Absent => String::new(),
            };
            let name = &layout.fields()[i].name;
            match layout.fields()[i].ty {
                // The decoder prints COMP-1 as the shortest f32 text, the
                // layout as the f64 nearest it: compare as numbers.
                FieldType::Float { .. } if !want.is_empty() => {
                    let (g, w): (f64, f64) = (got.parse().unwrap(), want.parse().unwrap());
                    assert_eq!(g as f32, w as f32, "record {} {name}", n + 1);
                }
                _ => assert_eq!(got, want, "record {} {name}", n + 1),
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 100 * layout.fields().len());
}

#[test]
fn column_types_for_sinks() {
    let c = cb("01 R.
  05 ID      PIC S9(4) COMP.
  05 UID     PIC 9(4) COMP.
  05 BIG     PIC 9(18) COMP.
  05 AMT     PIC S9(5)V99 COMP-3.
  05 RATE    PIC S9(3)V9(4) COMP.
  05 QTY     PIC 9(5).
  05 HUNDREDS PIC 9(3)PP.
  05 NAME    PIC X(10).
  05 F1      COMP-1.
  05 F2      COMP-2.");
    let layout = Layout::from_copybook("t", &c, &ascii()).unwrap();
    let types: Vec<String> = layout.fields().iter().map(|f| f.ty.to_string()).collect();
    assert_eq!(
        types,
        [
            "fixed bin(15)",
            "fixed bin(31)",
            "fixed dec(20,0)",
            "fixed dec(7,2)",
            "fixed dec(10,4)",
            "fixed dec(5,0)",
            "fixed dec(5,0)",
            "char(10)",
            "float bin(24)",
            "float bin(53)"
        ]
    );
    assert_eq!(
        names(&layout),
        [
            "id", "uid", "big", "amt", "rate", "qty", "hundreds", "name", "f1", "f2"
        ]
    );
}

#[test]
fn occurs_depending_on_flattened_is_null_past_the_count() {
    let c = cb("01 R.
  05 N PIC 9.
  05 A PIC X(2) OCCURS 0 TO 3 DEPENDING ON N.");
    let layout = Layout::from_copybook("t", &c, &ascii()).unwrap();
    assert_eq!(names(&layout), ["n", "a_1", "a_2", "a_3"]);
    // A variable-length record: only the occurrences present.
    assert_eq!(layout.min_record_len(), 1);
    let record = b"2aabb";
    let view = layout.view(record).unwrap();
    assert_eq!(text(&layout, record, 2), "bb");
    assert_eq!(view.get(3).unwrap(), Value::Null);
    // The full-size record reads the same.
    assert_eq!(
        layout.view(b"2aabbcc").unwrap().get(3).unwrap(),
        Value::Null
    );
    // A count over the maximum names the counter and its offset.
    let e = layout.view(b"4aabbcc").unwrap().get(1).unwrap_err();
    assert_eq!(e.field, "n");
    assert_eq!(e.offset, 0);
    assert_eq!(e.kind, DecodeErrorKind::OccursOverMax { count: 4, max: 3 });
    assert_eq!(
        e.to_string(),
        "field n at byte 0: OCCURS DEPENDING ON count 4 exceeds the table's maximum 3"
    );
    // An occurrence within the count but past the record's end.
    let e = layout.view(b"3aabb").unwrap().get(3).unwrap_err();
    assert_eq!((e.field.as_str(), e.offset), ("a_3", 5));
    // Shorter than the fixed part.
    assert!(layout.view(b"").is_err());
}

#[test]
fn nested_tables_flattened_with_counters_inside_the_outer_table() {
    // Cobrix test21's copybook: the inner counter is in each outer occurrence.
    let c = cb("01 RECORD.
  02 COUNT PIC 9(1).
  02 GROUP OCCURS 0 TO 2 TIMES DEPENDING ON COUNT.
     03 INNER-COUNT PIC 9(1).
     03 INNER-GROUP OCCURS 0 TO 3 TIMES DEPENDING ON INNER-COUNT.
        04 FIELD PIC X.");
    let layout = Layout::from_copybook("t", &c, &ascii()).unwrap();
    assert_eq!(
        names(&layout),
        [
            "count",
            "inner_count_1",
            "field_1_1",
            "field_1_2",
            "field_1_3",
            "inner_count_2",
            "field_2_1",
            "field_2_2",
            "field_2_3"
        ]
    );
    // Fixed positions (maximum-size tables): 1 + 2 × (1 + 3).
    let record = b"21Axx2BCx";
    let got: Vec<Option<String>> = (0..layout.fields().len())
        .map(|i| {
            let v = layout.view(record).unwrap().get(i).unwrap();
            (!v.is_null()).then(|| {
                let mut s = String::new();
                v.write_text(&mut s).unwrap();
                s
            })
        })
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        got,
        [
            some("2"),
            some("1"),
            some("A"),
            None,
            None,
            some("2"),
            some("B"),
            some("C"),
            None
        ]
    );
}

#[test]
fn tables_as_json_columns() {
    let c = cb("01 RECORD.
  02 COUNT PIC 9(1).
  02 GROUP OCCURS 0 TO 2 TIMES DEPENDING ON COUNT.
     03 INNER-COUNT PIC 9(1).
     03 INNER-GROUP OCCURS 0 TO 3 TIMES DEPENDING ON INNER-COUNT.
        04 FIELD PIC X.
        04 AMT PIC S9V9 COMP-3.
  02 CODES PIC X(2) OCCURS 2.
  02 TAIL PIC X.");
    let options = CopybookLayoutOptions {
        occurs: OccursColumns::Json,
        ..ascii()
    };
    let layout = Layout::from_copybook("t", &c, &options).unwrap();
    assert_eq!(names(&layout), ["count", "group", "codes", "tail"]);
    assert_eq!(layout.fields()[1].ty, FieldType::Json { len: 20 });
    let mut record = b"21A".to_vec();
    record.extend_from_slice(&[0x01, 0x5C]);
    record.extend_from_slice(&[b' '; 6]);
    record.extend_from_slice(b"2B");
    record.extend_from_slice(&[0x02, 0x5D]);
    record.extend_from_slice(b"C");
    record.extend_from_slice(&[0x00, 0x0C]);
    record.extend_from_slice(&[b' '; 3]);
    record.extend_from_slice(b"x\"yz!");
    assert_eq!(record.len(), layout.record_len());
    assert_eq!(
        text(&layout, &record, 1),
        r#"[{"inner_count":1,"inner_group":[{"field":"A","amt":1.5}]},{"inner_count":2,"inner_group":[{"field":"B","amt":-2.5},{"field":"C","amt":0.0}]}]"#
    );
    assert_eq!(text(&layout, &record, 2), r#"["x\"","yz"]"#);
    let Value::Json(table) = layout.view(&record).unwrap().get(1).unwrap() else {
        panic!("a JSON column");
    };
    let mut quoted = String::new();
    table.write_json_numbers_as_strings(&mut quoted).unwrap();
    assert!(quoted.contains(r#""amt":"-2.5""#), "{quoted}");
    assert_eq!(text(&layout, &record, 3), "!");
    // A count of zero is an empty array; a bad inner count an error naming it.
    record[0] = b'0';
    assert_eq!(text(&layout, &record, 1), "[]");
    record[0] = b'1';
    record[1] = b'7';
    // (Tables decode when written.)
    let table = layout.view(&record).unwrap().get(1).unwrap();
    let mut out = String::from("kept");
    let e = table.write_text(&mut out).unwrap_err();
    assert_eq!((e.field.as_str(), e.offset), ("inner_count", 1));
    assert_eq!(out, "kept");
    // A value that does not decode is named by its path in the column.
    record[0] = b'2';
    record[1] = b'1';
    record[16] = 0xA2;
    let table = layout.view(&record).unwrap().get(1).unwrap();
    let e = table.write_text(&mut out).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.offset),
        ("group[1].inner_group[1].amt", 16)
    );
    assert_eq!(
        e.to_string(),
        "field group[1].inner_group[1].amt at byte 16: invalid packed digit 0xA"
    );
}

#[test]
fn code_page_per_layout_and_per_field() {
    let c = cb("01 R.
  05 NAME  PIC X(3).
  05 GRP.
     10 ASC PIC X(3).
     10 NUM PIC 9(2).");
    let options = CopybookLayoutOptions {
        code_page: CodePage::Ebcdic037,
        field_code_pages: vec![("grp".into(), CodePage::Ascii)],
        ..CopybookLayoutOptions::default()
    };
    let layout = Layout::from_copybook("t", &c, &options).unwrap();
    let record = [0xC1, 0xC2, 0x40, b'a', b'b', b'c', b'4', b'2'];
    assert_eq!(text(&layout, &record, 0), "AB");
    assert_eq!(text(&layout, &record, 1), "abc");
    assert_eq!(text(&layout, &record, 2), "42");
    // A name that is not in the copybook is an error.
    let bad = CopybookLayoutOptions {
        field_code_pages: vec![("NOPE".into(), CodePage::Ascii)],
        ..CopybookLayoutOptions::default()
    };
    let e = Layout::from_copybook("t.cob", &c, &bad).unwrap_err();
    assert!(e.to_string().contains("NOPE"), "{e}");
}

#[test]
fn redefines_failures_are_null_other_failures_name_field_and_offset() {
    let c = cb("01 R.
  05 A PIC X(2).
  05 B REDEFINES A PIC 99.
  05 C PIC 9(2).");
    let layout = Layout::from_copybook("t", &c, &ascii()).unwrap();
    let view = layout.view(b"ab12").unwrap();
    assert_eq!(view.get(1).unwrap(), Value::Null);
    assert_eq!(text(&layout, b"ab12", 2), "12");
    let e = layout.view(b"abx2").unwrap().get(2).unwrap_err();
    assert_eq!(e.to_string(), "field c at byte 2: invalid zoned digit 0x78");
    let lenient = CopybookLayoutOptions {
        invalid: InvalidValue::Null,
        ..ascii()
    };
    let layout = Layout::from_copybook("t", &c, &lenient).unwrap();
    assert_eq!(layout.view(b"abx2").unwrap().get(2).unwrap(), Value::Null);
}

#[test]
fn text_redefining_packed_bytes_is_null_not_an_error() {
    // ASCII text over COMP-3 bytes: invalid ASCII, in a REDEFINES.
    let c = cb("01 R.
  05 N PIC S9(3) COMP-3.
  05 T REDEFINES N PIC X(2).
  05 U PIC X(2).");
    let layout = Layout::from_copybook("t", &c, &ascii()).unwrap();
    let record = [0x99, 0x9C, 0xC3, 0xA9];
    assert_eq!(layout.view(&record).unwrap().get(1).unwrap(), Value::Null);
    // Outside REDEFINES, invalid text is an error naming field and offset
    // when written.
    let mut s = String::new();
    let e = layout
        .view(&record)
        .unwrap()
        .get(2)
        .unwrap()
        .write_text(&mut s)
        .unwrap_err();
    assert_eq!((e.field.as_str(), e.offset), ("u", 2));
    let lenient = CopybookLayoutOptions {
        invalid: InvalidValue::Null,
        ..ascii()
    };
    let layout = Layout::from_copybook("t", &c, &lenient).unwrap();
    assert_eq!(layout.view(&record).unwrap().get(2).unwrap(), Value::Null);
}

#[test]
fn a_table_too_large_to_flatten_is_an_error() {
    let c = cb("01 R.\n  05 A PIC X OCCURS 200000.");
    match Layout::from_copybook("t.cob", &c, &ascii()) {
        Err(e) => assert!(
            e.to_string().starts_with("t.cob:2:")
                && e.to_string().contains("more than 100000 columns"),
            "{e}"
        ),
        Ok(l) => panic!("{} columns built", l.fields().len()),
    }
    let json = CopybookLayoutOptions {
        occurs: OccursColumns::Json,
        ..ascii()
    };
    let layout = Layout::from_copybook("t.cob", &c, &json).unwrap();
    assert_eq!(layout.fields()[0].ty, FieldType::Json { len: 200_000 });
}

#[test]
fn a_qualified_counter_is_named_as_its_column() {
    let c = cb("01 R.
  05 A.
     10 N PIC 9.
  05 B.
     10 N PIC 9.
  05 T PIC X OCCURS 0 TO 2 DEPENDING ON N.");
    let layout = Layout::from_copybook("t", &c, &ascii()).unwrap();
    assert_eq!(names(&layout), ["a_n", "b_n", "t_1", "t_2"]);
    let e = layout.view(b"30ab").unwrap().get(2).unwrap_err();
    assert_eq!((e.field.as_str(), e.offset), ("a_n", 0));
}

#[test]
fn same_names_in_different_groups_are_qualified() {
    let c = cb("01 R.
  05 BILL.
     10 AMOUNT PIC 9(2).
  05 SHIP.
     10 AMOUNT PIC 9(2).
  05 AMOUNT-X PIC X.");
    let layout = Layout::from_copybook("t", &c, &ascii()).unwrap();
    assert_eq!(names(&layout), ["bill_amount", "ship_amount", "amount_x"]);
}

#[test]
fn keys_organization_and_encoding() {
    let c = cb("01 R.
  05 ID PIC 9(4).
  05 NAME PIC X(4).");
    let options = CopybookLayoutOptions {
        organization: Some(drx_layouts::Organization::Indexed),
        key: vec!["id".into()],
        ..ascii()
    };
    let layout = Layout::from_copybook("t", &c, &options).unwrap();
    assert_eq!(layout.key_fields(), [0]);
    let mut key = Vec::new();
    layout.key_bytes(b"0042abcd", &mut key).unwrap();
    assert_eq!(key, b"0042");
    assert!(layout.is_copybook());
    assert_eq!(layout.encode([("id", "1")]).unwrap(), b"0001    ");
    let bad = CopybookLayoutOptions {
        key: vec!["nope".into()],
        ..ascii()
    };
    assert!(Layout::from_copybook("t", &c, &bad).is_err());
}

#[test]
fn ebcdic_text_is_trimmed_of_blanks() {
    let c = cb("01 R.\n  05 T PIC X(6).");
    for (trim, want) in [
        (Trim::Both, "ab"),
        (Trim::Left, "ab\u{0} "),
        (Trim::Right, " \u{0}ab"),
        (Trim::None, " \u{0}ab\u{0} "),
    ] {
        let options = CopybookLayoutOptions {
            trim,
            ..CopybookLayoutOptions::default()
        };
        let layout = Layout::from_copybook("t", &c, &options).unwrap();
        let record = [0x40, 0x00, 0x81, 0x82, 0x00, 0x40];
        assert_eq!(text(&layout, &record, 0), want, "{trim:?}");
    }
}

/// `try_for_each` hands over exactly what `get` gives field by field, and
/// stops with the same error.
fn same_as_get(layout: &Layout, record: &[u8]) {
    let view = layout.view(record).unwrap();
    let mut got = Vec::new();
    let r = view.try_for_each(|i, v| {
        got.push((i, v.to_owned_value()));
        Ok::<_, drx_layouts::DecodeError>(())
    });
    let mut want = Vec::new();
    let mut error = None;
    for i in 0..layout.fields().len() {
        match view.get(i) {
            Ok(v) => want.push((i, v.to_owned_value())),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert_eq!(got, want);
    assert_eq!(r.err(), error);
}

#[test]
fn try_for_each_gives_what_get_gives() {
    let (copybook, data) = test6();
    for invalid in [InvalidValue::Error, InvalidValue::Null] {
        let options = CopybookLayoutOptions {
            float_format: FloatFormat::Ieee754,
            native_order: ByteOrder::Big,
            invalid,
            ..CopybookLayoutOptions::default()
        };
        let layout = Layout::from_copybook("test6", &copybook, &options).unwrap();
        for record in data.chunks_exact(layout.record_len()) {
            same_as_get(&layout, record);
        }
    }
    // Tables with counters, flattened (guards) and as JSON, and a count
    // over its maximum (an error, where both stop).
    let c = cb("01 RECORD.
  02 COUNT PIC 9(1).
  02 GROUP OCCURS 0 TO 2 TIMES DEPENDING ON COUNT.
     03 INNER-COUNT PIC 9(1).
     03 INNER-GROUP OCCURS 0 TO 3 TIMES DEPENDING ON INNER-COUNT.
        04 FIELD PIC X.");
    for occurs in [OccursColumns::Flatten, OccursColumns::Json] {
        let layout =
            Layout::from_copybook("t", &c, &CopybookLayoutOptions { occurs, ..ascii() }).unwrap();
        for record in [&b"21Axx2BCx"[..], b"0xxxxxxxx", b"27Axx2BCx", b"9xxxxxxxx"] {
            same_as_get(&layout, record);
        }
    }
}
