//! Copybook parser and field map, checked against the Cobrix conformance
//! cases in tests/conformance/cobrix (a copy of ../shared/conformance/cobrix,
//! read at test time).

use std::path::{Path, PathBuf};

use drx_layouts::{Copybook, CopybookError, PicCategory, Usage};

fn cobrix_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cobrix")
}

fn read(rel: &str) -> String {
    let path = cobrix_dir().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

fn parse(name: &str, text: &str) -> Copybook {
    Copybook::parse(name, text).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(text: &str) -> CopybookError {
    match Copybook::parse("cb.cob", text) {
        Ok(cb) => panic!("parsed:\n{cb}"),
        Err(e) => e,
    }
}

/// Every copybook of the conformance set parses.
#[test]
fn all_cobrix_copybooks_parse() {
    let mut n = 0;
    for entry in std::fs::read_dir(cobrix_dir()).expect("cobrix dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "cob") {
            let name = path.display().to_string();
            let text = String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
            let cb = parse(&name, &text);
            assert!(cb.record_len() > 0, "{name}");
            n += 1;
        }
    }
    assert_eq!(n, 7);
}

/// Our listing with Cobrix's name convention (`-` becomes `_`).
fn listing(cb: &Copybook) -> String {
    cb.to_string().replace('-', "_").replacen(
        "________ FIELD LEVEL/NAME _________ __ATTRIBS__",
        "-------- FIELD LEVEL/NAME --------- --ATTRIBS--",
        1,
    )
}

fn check_exact(cob: &str, layout: &str) {
    let cb = parse(cob, &read(cob));
    let expected = read(layout);
    assert_eq!(listing(&cb).trim_end(), expected.trim_end(), "{cob}");
}

#[test]
fn test7_fillers_layout() {
    check_exact("test7_fillers.cob", "test7_expected/test7_layout.txt");
}

#[test]
fn test13a_layout() {
    check_exact(
        "test13a_file_header_footer.cob",
        "test13_expected/test13a_layout.txt",
    );
}

#[test]
fn test6_every_numeric_type_layout() {
    check_exact("test6_copybook.cob", "test6_expected/test6_layout.txt");
}

/// (name, start, end, length) of a layout listing's lines.
fn rows(listing: &str) -> Vec<(String, usize, usize, usize)> {
    listing
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            let n = t.len();
            let num = |s: &str| s.parse::<usize>().unwrap_or_else(|_| panic!("{l}"));
            let name = if t[0].parse::<u32>().is_ok() {
                t[1]
            } else {
                t[0]
            };
            (name.to_owned(), num(t[n - 3]), num(t[n - 2]), num(t[n - 1]))
        })
        .collect()
}

/// test19's listing comes from a newer Cobrix (root collapsed: no level,
/// no field number): compare name, start, end and length per field.
#[test]
fn test19_display_num_layout() {
    let cob = "test19_display_num.cob";
    let cb = parse(cob, &read(cob));
    let expected = read("test19_display_num_expected/test19_layout.txt");
    assert_eq!(rows(&listing(&cb)), rows(&expected));
}

#[test]
fn test1_redefines_and_occurs_depending() {
    let cb = parse("test1", &read("test1_copybook.cob"));
    let f = |name: &str| {
        cb.field_map()
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    assert_eq!((f("ID").start(), f("ID").len), (1, 2));
    assert_eq!(
        (f("COMPANY-ID-NUM").start(), f("COMPANY-ID-NUM").len),
        (13, 3)
    );
    assert_eq!(f("COMPANY-ID-STR").start(), 13);
    assert_eq!(
        f("COMPANY-ID-STR").redefines.as_deref(),
        Some("COMPANY-ID-NUM")
    );
    assert!(f("COMPANY-ID-NUM").redefined);
    let acct = f("ACCOUNT-DETAIL");
    let occurs = acct.occurs.clone().expect("occurs");
    assert_eq!(
        (occurs.max, occurs.depending_on.as_deref()),
        (80, Some("NUMBER-OF-ACCTS"))
    );
    assert_eq!((acct.start(), acct.item_len, acct.len), (43, 27, 27 * 80));
    assert_eq!(cb.record_len(), 42 + 27 * 80);
}

#[test]
fn test21_nested_occurs_depending() {
    let cb = parse("test21", &read("test21_copybook.cob"));
    let names: Vec<(&str, usize, usize)> = cb
        .field_map()
        .iter()
        .map(|f| (f.name.as_str(), f.start(), f.len))
        .collect();
    assert_eq!(
        names,
        vec![
            ("RECORD", 1, 9),
            ("COUNT", 1, 1),
            ("GROUP", 2, 8),
            ("INNER-COUNT", 2, 1),
            ("INNER-GROUP", 3, 3),
            ("FIELD", 3, 1),
        ]
    );
}

#[test]
fn clauses_in_any_order_and_usage_inheritance() {
    let text = [
        "       01  REC.",
        "           05  G USAGE IS COMP-3.",
        "               10  A PIC S9(5).",
        "               10  B PIC 9(4) BINARY.",
        "           05  C VALUE 'X' PICTURE IS X(3) JUSTIFIED RIGHT.",
        "           05  D SIGN IS TRAILING SEPARATE CHARACTER PIC S9(3)V99.",
        "           05  E OCCURS 2 TIMES INDEXED BY IX",
        "                 ASCENDING KEY IS E1.",
        "               10  E1 PIC 9 SYNC.",
        "           05  F PIC 9(3) VALUE ZERO BLANK WHEN ZERO.",
        "               88  F-LOW VALUES 1 THRU 10.",
        "               88  F-TOP VALUE 999.",
        "           05  PIC X(2).",
        "           05  H COMPUTATIONAL-2.",
        "           05  I PIC ZZ,ZZ9.99CR.",
    ]
    .join("\n");
    let cb = parse("cb.cob", &text);
    let rows: Vec<(&str, usize, usize, &str)> = cb
        .field_map()
        .iter()
        .map(|f| (f.name.as_str(), f.start(), f.len, f.kind.as_str()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("REC", 1, 40, "GROUP"),
            ("G", 1, 5, "GROUP"),
            ("A", 1, 3, "S9(5) COMP-3"),
            ("B", 4, 2, "9(4) COMP"),
            ("C", 6, 3, "X(3)"),
            ("D", 9, 6, "S9(3)V99 TRAILING SEPARATE"),
            ("E", 15, 2, "GROUP"),
            ("E1", 15, 1, "9"),
            ("F", 17, 3, "9(3)"),
            ("FILLER", 20, 2, "X(2)"),
            ("H", 22, 8, "COMP-2"),
            ("I", 30, 11, "ZZ,ZZ9.99CR"),
        ]
    );
    let rec = &cb.items()[0];
    let g = &rec.children[0];
    assert_eq!(g.children[0].usage, Usage::Packed);
    assert_eq!(g.children[1].usage, Usage::Binary);
    let pic = rec.children[7].picture.as_ref().expect("pic");
    assert_eq!(pic.category, PicCategory::NumericEdited);
    let f = &rec.children[4];
    assert_eq!(f.conditions.len(), 2);
    assert_eq!(f.conditions[0].name, "F-LOW");
    assert_eq!(f.conditions[0].values, vec!["1", "THRU", "10"]);
    assert!(rec.children[1].justified);
}

#[test]
fn level_77_and_several_records() {
    let text = [
        "       01  A PIC X(4).",
        "       01  B.",
        "           05 B1 PIC 9(2).",
        "       77  C PIC 9(9) COMP.",
    ]
    .join("\n");
    let cb = parse("cb.cob", &text);
    let starts: Vec<usize> = cb.field_map().iter().map(|f| f.start()).collect();
    assert_eq!(starts, vec![1, 1, 1, 1]);
    assert_eq!(cb.record_len(), 4);
}

#[test]
fn errors_name_line_and_column() {
    let e = parse_err("       01  A.\n           05  B PIC.\n");
    assert_eq!(
        e.to_string(),
        "cb.cob:2:21: expected a PIC string, found \".\""
    );
    let e = parse_err("       01  A.\n           05  B PIC X.\n       66  C RENAMES B.\n");
    assert_eq!((e.line, e.col), (3, 8));
    assert!(e.message.contains("RENAMES"), "{e}");
    let e = parse_err("       01  A.\n           05  B PIC X COLOR.\n");
    assert_eq!(
        e.to_string(),
        "cb.cob:2:24: expected a clause or \".\", found \"COLOR\""
    );
    let e = parse_err("       01  A.\n           05  B PIC X(3)\n");
    assert!(e.message.contains("expected \".\""), "{e}");
    let e =
        parse_err("       01  A.\n           05  B PIC X.\n           05  C REDEFINES Z PIC X.\n");
    assert_eq!((e.line, e.col), (3, 12));
    let e = parse_err("       01  A.\n           05  B OCCURS 3 DEPENDING ON N PIC X.\n");
    assert!(e.message.contains("DEPENDING ON N"), "{e}");
    let e = parse_err("       01  A.\n           05  B PIC X COMP-3.\n");
    assert!(e.message.contains("numeric PIC"), "{e}");
    let e = parse_err("       01  A.\n           05  B.\n");
    assert!(e.message.contains("no PIC clause"), "{e}");
    let e = parse_err("       01  A.\n           05  B PIC 9(.\n");
    assert_eq!((e.line, e.col), (2, 22));
    let e = parse_err("      * nothing\n");
    assert!(e.message.contains("no data description"), "{e}");
}

#[test]
fn free_format() {
    let cb = Copybook::parse_with(
        "cb.cob",
        "01 A. *> record\n* comment\n  05 B PIC X(2).\n  05 C PIC S9(3) COMP-3.\n",
        drx_layouts::SourceFormat::Free,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cb.record_len(), 4);
}
