//! Parsing layouts: the guide's examples, the syntax's freedoms, and the
//! exact `name:line:col: message` of each malformed case.

#![allow(clippy::unwrap_used)]

use drx_layouts::{ByteOrder, Charset, FieldType, Layout, Organization};

/// `layout.200` exactly as in the DRMS guide (tabs included).
const LAYOUT_200: &str = "fields: err_number\t\tfixed bin (15),
        err_name        \tchar (32),
        err_text           char (128) varying,
        err_category    \tchar(18),
        err_category2   \tchar(18);
end;
";

/// A Control-Table-style layout as in the guide's dd.
const CONTROL_TABLE: &str = "organization: relative;
fields: ct_name            char (32) var,
        ct_max_threads     bin (15) default ('8'),
        ct_enabled         bit (1)  default ('1'),
        ct_log             bit default ('1'),
        ct_mode            bin (31) default ('2'),
        ct_timeout         fixed bin (15) default (30),
        ct_flags           bit (15);
end;
";

fn parse(text: &str) -> Layout {
    match Layout::parse("test.dd", text) {
        Ok(layout) => layout,
        Err(e) => panic!("{e}"),
    }
}

fn error(text: &str) -> String {
    match Layout::parse("layouts/bad.dd", text) {
        Ok(layout) => panic!("parsed: {layout:?}"),
        Err(e) => e.to_string(),
    }
}

fn summary(layout: &Layout) -> Vec<(&str, FieldType, usize, usize)> {
    layout
        .fields()
        .iter()
        .map(|f| (f.name.as_str(), f.ty, f.offset, f.size))
        .collect()
}

#[test]
fn layout_200() {
    let layout = Layout::parse("layouts/layout.200", LAYOUT_200).expect("parses");
    assert_eq!(layout.name(), "layouts/layout.200");
    assert_eq!(layout.record_len(), 200);
    assert_eq!(
        summary(&layout),
        [
            ("err_number", FieldType::Binary { bytes: 2 }, 0, 2),
            ("err_name", FieldType::Char { len: 32 }, 2, 32),
            ("err_text", FieldType::VarChar { max: 128 }, 34, 130),
            ("err_category", FieldType::Char { len: 18 }, 164, 18),
            ("err_category2", FieldType::Char { len: 18 }, 182, 18),
        ]
    );
    let f = &layout.fields()[1];
    assert_eq!((f.line, f.col), (2, 9));
    assert_eq!(f.default, None);
    assert_eq!(layout.organization(), None);
    assert_eq!(layout.key_fields(), &[] as &[usize]);
    assert_eq!(layout.byte_order(), ByteOrder::Big);
    assert_eq!(layout.charset(), Charset::Latin1);
    assert!(layout.trim_right());
    assert_eq!(layout.dt_epoch().to_string(), "1980-01-01 00:00:00");
    assert_eq!(layout.field_index("err_text"), Some(2));
    assert_eq!(layout.field_index("ERR_TEXT"), None);
    assert_eq!(layout.field_index("nope"), None);
}

#[test]
fn control_table() {
    let layout = parse(CONTROL_TABLE);
    assert_eq!(layout.organization(), Some(Organization::Relative));
    assert_eq!(
        summary(&layout),
        [
            ("ct_name", FieldType::VarChar { max: 32 }, 0, 34),
            ("ct_max_threads", FieldType::Binary { bytes: 2 }, 34, 2),
            ("ct_enabled", FieldType::Bit { bits: 1 }, 36, 1),
            ("ct_log", FieldType::Bit { bits: 1 }, 37, 1),
            ("ct_mode", FieldType::Binary { bytes: 4 }, 38, 4),
            ("ct_timeout", FieldType::Binary { bytes: 2 }, 42, 2),
            ("ct_flags", FieldType::Bit { bits: 15 }, 44, 2),
        ]
    );
    assert_eq!(layout.record_len(), 46);
    let defaults: Vec<_> = layout
        .fields()
        .iter()
        .map(|f| f.default.as_deref())
        .collect();
    assert_eq!(
        defaults,
        [
            None,
            Some("8"),
            Some("1"),
            Some("1"),
            Some("2"),
            Some("30"),
            None
        ]
    );
    // An empty encode takes the defaults.
    let record = layout.encode([]).expect("encodes");
    let view = layout.view(&record).expect("view");
    let mut texts = Vec::new();
    for i in 0..layout.fields().len() {
        let mut s = String::new();
        view.get(i)
            .expect("decodes")
            .write_text(&mut s)
            .expect("text");
        texts.push(s);
    }
    assert_eq!(texts, ["", "8", "1", "1", "2", "30", "000000000000000"]);
    assert_eq!(
        record,
        [
            &[0u8, 0][..],
            &[b' '; 32],
            &[0, 8, 0x80, 0x80, 0, 0, 0, 2, 0, 30, 0, 0]
        ]
        .concat()
    );
}

#[test]
fn all_declarations_any_order_any_case() {
    let layout = parse(
        "/* the account file */
        KEY: Account_Id, branch;
        Byte_Order: LITTLE;
        FIELDS: branch CHARACTER(4),
            /* the id */ Account_Id FIXED BINARY(31),
            balance FIXED DECIMAL(11, 2) DEFAULT(0.00),
            dt_opened FIXED BIN(31),
            dt_note CHAR(8),
            rate FLOAT BINARY(24),
            ratio FLOAT BIN,
            big FLOAT BIN(53),
            count DEC(5),
            small BIN(7),
            huge BINARY(63),
            plain BIN;
        Organization: Indexed;
        CharSet: UTF-8;
        Trim: None;
        DT_Epoch: 1970-01-01;
        END;
        /* trailing comment */",
    );
    assert_eq!(layout.organization(), Some(Organization::Indexed));
    assert_eq!(layout.byte_order(), ByteOrder::Little);
    assert_eq!(layout.charset(), Charset::Utf8);
    assert!(!layout.trim_right());
    assert_eq!(layout.dt_epoch().unix_seconds(), 0);
    assert_eq!(layout.key_fields(), &[1, 0]);
    let types: Vec<_> = layout.fields().iter().map(|f| f.ty).collect();
    assert_eq!(
        types,
        [
            FieldType::Char { len: 4 },
            FieldType::Binary { bytes: 4 },
            FieldType::Decimal {
                precision: 11,
                scale: 2
            },
            FieldType::DateTime,
            FieldType::Char { len: 8 },
            FieldType::Float { bytes: 4 },
            FieldType::Float { bytes: 8 },
            FieldType::Float { bytes: 8 },
            FieldType::Decimal {
                precision: 5,
                scale: 0
            },
            FieldType::Binary { bytes: 1 },
            FieldType::Binary { bytes: 8 },
            FieldType::Binary { bytes: 2 },
        ]
    );
    let sizes: Vec<_> = layout.fields().iter().map(|f| f.size).collect();
    assert_eq!(sizes, [4, 4, 6, 4, 8, 4, 8, 8, 3, 1, 8, 2]);
    assert_eq!(layout.record_len(), 60);
}

#[test]
fn binary_precisions() {
    for (p, bytes) in [
        (1, 1),
        (7, 1),
        (8, 2),
        (15, 2),
        (16, 4),
        (31, 4),
        (32, 8),
        (63, 8),
    ] {
        let layout = parse(&format!("fields: x fixed bin({p}); end;"));
        assert_eq!(
            layout.fields()[0].ty,
            FieldType::Binary { bytes },
            "bin({p})"
        );
    }
    for (p, bytes) in [(1, 4), (24, 4), (25, 8), (53, 8)] {
        let layout = parse(&format!("fields: x float bin({p}); end;"));
        assert_eq!(
            layout.fields()[0].ty,
            FieldType::Float { bytes },
            "float bin({p})"
        );
    }
    for (n, size) in [(1, 1), (8, 1), (9, 2), (64, 8)] {
        let layout = parse(&format!("fields: x bit({n}); end;"));
        assert_eq!(layout.fields()[0].size, size, "bit({n})");
    }
    for (p, size) in [(1, 1), (2, 2), (3, 2), (4, 3), (37, 19), (38, 20)] {
        let layout = parse(&format!("fields: x fixed dec({p}); end;"));
        assert_eq!(layout.fields()[0].size, size, "dec({p})");
    }
}

#[test]
fn dt_fields() {
    let layout = parse(
        "fields: dt_a fixed bin(31), DT_B bin(31), dt_c bin(15), dt_d bin(30), \
         dt_e char(19), xdt_f bin(31); end;",
    );
    let types: Vec<_> = layout.fields().iter().map(|f| f.ty).collect();
    assert_eq!(
        types,
        [
            FieldType::DateTime,
            FieldType::DateTime,
            FieldType::Binary { bytes: 2 },
            FieldType::Binary { bytes: 4 },
            FieldType::Char { len: 19 },
            FieldType::Binary { bytes: 4 },
        ]
    );
}

#[test]
fn whitespace_and_comments_anywhere() {
    let layout = parse(
        "/*a*/fields/*b*/:/*c*/x/*d*/fixed/*e*/bin/*f*/(/*g*/7/*h*/)/*i*/default/*j*/(/*k*/'5'/*l*/)\
         /*m*/,\n\n\t\ty\r\n char\t(\n3\n)\nvar\n;\r\nend\n;",
    );
    assert_eq!(layout.record_len(), 6);
    assert_eq!(layout.fields()[0].default.as_deref(), Some("5"));
    assert_eq!(layout.fields()[1].ty, FieldType::VarChar { max: 3 });
    assert_eq!((layout.fields()[1].line, layout.fields()[1].col), (3, 3));
}

#[test]
fn quoted_defaults() {
    let layout = parse(
        r#"fields: a char(8) default ('it''s'), b char(4) default ("x""y"), c char(3) default (''); end;"#,
    );
    let defaults: Vec<_> = layout
        .fields()
        .iter()
        .map(|f| f.default.as_deref())
        .collect();
    assert_eq!(defaults, [Some("it's"), Some("x\"y"), Some("")]);
}

#[test]
fn key_names_are_matched_ignoring_case() {
    let layout = parse("key: ID; fields: id bin(31), name char(3); end;");
    assert_eq!(layout.key_fields(), &[0]);
}

#[test]
fn every_epoch_date() {
    let layout = parse("dt_epoch: 2000-02-29; fields: x bin; end;");
    assert_eq!(layout.dt_epoch().to_string(), "2000-02-29 00:00:00");
}

#[test]
fn charset_names() {
    for (name, charset) in [
        ("iso-8859-1", Charset::Latin1),
        ("ISO8859-1", Charset::Latin1),
        ("latin1", Charset::Latin1),
        ("utf-8", Charset::Utf8),
        ("utf8", Charset::Utf8),
        ("ascii", Charset::Ascii),
        ("US-ASCII", Charset::Ascii),
    ] {
        let layout = parse(&format!("charset: {name}; fields: x char(1); end;"));
        assert_eq!(layout.charset(), charset, "{name}");
    }
}

#[test]
fn malformed() {
    let cases: &[(&str, &str)] = &[
        (
            "fields: err_number fixed bin (15),\n        err_name   chr (32),\n        x char(2);\nend;",
            "layouts/bad.dd:2:20: expected a type (fixed bin, char, bit, float bin, fixed dec), found \"chr (32)\"",
        ),
        (
            "fields: a char(2),\n        b bin(15),\n        A char(3);\nend;",
            "layouts/bad.dd:3:9: duplicate field name \"A\" (first declared at 1:9)",
        ),
        (
            "key: a, nope;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:9: key field \"nope\" is not a field of the layout",
        ),
        (
            "key: a, a;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:9: key field \"a\" is listed twice",
        ),
        (
            "fields: a fixed bin(99);\nend;",
            "layouts/bad.dd:1:21: fixed bin(99): precision must be 1 to 63",
        ),
        (
            "fields: a bin(0);\nend;",
            "layouts/bad.dd:1:15: fixed bin(0): precision must be 1 to 63",
        ),
        (
            "fields: a char(0);\nend;",
            "layouts/bad.dd:1:16: char(0): length must be 1 to 65535",
        ),
        (
            "fields: a char(65536) varying;\nend;",
            "layouts/bad.dd:1:16: char(65536): length must be 1 to 65535",
        ),
        (
            "fields: a bit(65);\nend;",
            "layouts/bad.dd:1:15: bit(65): length must be 1 to 64 bits",
        ),
        (
            "fields: a float bin(54);\nend;",
            "layouts/bad.dd:1:21: float bin(54): precision must be 1 to 53",
        ),
        (
            "fields: a fixed dec(39);\nend;",
            "layouts/bad.dd:1:21: fixed dec(39): precision must be 1 to 38",
        ),
        (
            "fields: a fixed dec(5, 6);\nend;",
            "layouts/bad.dd:1:24: fixed dec(5,6): scale must be 0 to the precision 5",
        ),
        (
            "fields: a fixed dec;\nend;",
            "layouts/bad.dd:1:20: expected \"(\" and a precision after dec, found \";\"",
        ),
        (
            "fields: a char;\nend;",
            "layouts/bad.dd:1:15: expected \"(\" and a length after char, found \";\"",
        ),
        (
            "fields: a char(x);\nend;",
            "layouts/bad.dd:1:16: expected a length, found \"x)\"",
        ),
        (
            "fields: a char(3;\nend;",
            "layouts/bad.dd:1:17: expected \")\", found \";\"",
        ),
        (
            "fields: a fixed char(3);\nend;",
            "layouts/bad.dd:1:17: expected bin or dec after fixed, found \"char(3)\"",
        ),
        (
            "fields: a float dec(3);\nend;",
            "layouts/bad.dd:1:17: expected bin after float, found \"dec(3)\"",
        ),
        (
            "fields: a char(3)\n        b char(4);\nend;",
            "layouts/bad.dd:2:9: expected \",\" or \";\" after field a, found \"b char(4)\"",
        ),
        (
            "fields: a char(3) varyng;\nend;",
            "layouts/bad.dd:1:19: expected \",\" or \";\" after field a, found \"varyng\"",
        ),
        (
            "fields: a char(3),;\nend;",
            "layouts/bad.dd:1:19: expected a field name, found \";\"",
        ),
        (
            "fields: ;\nend;",
            "layouts/bad.dd:1:9: expected a field name, found \";\"",
        ),
        (
            "fields: a char(2);\n",
            "layouts/bad.dd:1:19: missing \"end;\" at the end of the layout",
        ),
        (
            "",
            "layouts/bad.dd:1:1: missing \"end;\" at the end of the layout",
        ),
        (
            "fields: a char(2);\nend",
            "layouts/bad.dd:2:4: expected \";\" after end, found end of input",
        ),
        (
            "fields: a char(2);\nend;\nfields: b char(2);",
            "layouts/bad.dd:3:1: unexpected text after \"end;\": \"fields: b char(2)\"",
        ),
        (
            "record_size: 200;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:1: unknown declaration \"record_size\" (expected organization, key, \
             byte_order, charset, trim, dt_epoch, fields or end)",
        ),
        (
            "fields a char(2);\nend;",
            "layouts/bad.dd:1:8: expected \":\" after fields, found \"a char(2)\"",
        ),
        (
            "organization: heap;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:15: unknown organization \"heap\" (expected fixed, relative, \
             sequential or indexed)",
        ),
        (
            "byte_order: middle;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:13: unknown byte_order \"middle\" (expected big or little)",
        ),
        (
            "charset: ebcdic;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:10: unknown charset \"ebcdic\" (expected iso-8859-1, latin1, utf-8 or ascii)",
        ),
        (
            "trim: left;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:7: unknown trim \"left\" (expected right or none)",
        ),
        (
            "dt_epoch: 1980-02-30;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:11: invalid dt_epoch \"1980-02-30\" (expected a date YYYY-MM-DD)",
        ),
        (
            "dt_epoch: ;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:11: expected a value for dt_epoch, found \";\"",
        ),
        (
            "trim: none\nfields: a char(2);\nend;",
            "layouts/bad.dd:2:1: expected \";\" after trim: none, found \"fields: a char(2)\"",
        ),
        (
            "trim: none;\ntrim: right;\nfields: a char(2);\nend;",
            "layouts/bad.dd:2:1: trim is declared twice (first at 1:1)",
        ),
        (
            "organization: fixed;\nend;",
            "layouts/bad.dd:2:1: the layout declares no fields: \"fields:\" must come before \"end;\"",
        ),
        (
            "fields: a char(2) /* open\nend;",
            "layouts/bad.dd:1:19: unterminated comment: \"/*\" without \"*/\"",
        ),
        (
            "fields: a char(2) default ('ab);\nend;",
            "layouts/bad.dd:1:28: unterminated string: ' without a closing '",
        ),
        (
            "fields: a bin(15) default ('x');\nend;",
            "layouts/bad.dd:1:28: default \"x\" of field a is not valid: \"x\" is not an integer \
             for fixed bin(15)",
        ),
        (
            "fields: a bin(7) default (300);\nend;",
            "layouts/bad.dd:1:27: default \"300\" of field a is not valid: value 300 is out of \
             range for fixed bin(7) (-128 to 127)",
        ),
        (
            "fields: a char(2) default ('abc');\nend;",
            "layouts/bad.dd:1:28: default \"abc\" of field a is not valid: text of 3 bytes is \
             longer than the 2 of char(2)",
        ),
        (
            "fields: a char(2) default ();\nend;",
            "layouts/bad.dd:1:28: expected a default value, found \")\"",
        ),
        (
            "fields: a bin(99999999999999999999);\nend;",
            "layouts/bad.dd:1:15: number 99999999999999999999 is too large",
        ),
        (
            "fields: 9a char(2);\nend;",
            "layouts/bad.dd:1:9: expected a field name, found \"9a char(2)\"",
        ),
        (
            "\tfields: é char(2);\nend;",
            "layouts/bad.dd:1:10: expected a field name, found \"é char(2)\"",
        ),
        (
            "key: ;\nfields: a char(2);\nend;",
            "layouts/bad.dd:1:6: expected a key field name, found \";\"",
        ),
        (
            "(",
            "layouts/bad.dd:1:1: expected a declaration (organization, key, byte_order, charset, \
             trim, dt_epoch, fields) or \"end;\", found \"(\"",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&error(text), want, "for {text:?}");
    }
}

#[test]
fn documented_error() {
    let text = LAYOUT_200.replace("char (128)", "chr (128)");
    let e = Layout::parse("layouts/layout.200", &text).expect_err("bad type");
    assert_eq!(
        e.to_string(),
        "layouts/layout.200:3:28: expected a type (fixed bin, char, bit, float bin, fixed dec), \
         found \"chr (128) varying\""
    );
}

#[test]
fn error_fields() {
    let e = Layout::parse("layouts/layout.200", "fields: a char(0);\nend;").expect_err("char(0)");
    assert_eq!(e.name, "layouts/layout.200");
    assert_eq!((e.line, e.col), (1, 16));
    assert_eq!(e.message, "char(0): length must be 1 to 65535");
}
