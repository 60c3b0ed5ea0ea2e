//! The DRMS guide's complete example, end to end through the `drx` binary.

#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, decode};

#[test]
fn complete_example_lands_every_record_verbatim_in_sqlite() {
    let home = Home::sample();
    let check = home.ok(&["check"]);
    assert!(
        check.contains(
            "file id 200: layout.200 (5 fields, 200 bytes), 3 of 3 SQL templates from files"
        ),
        "{check}"
    );
    let demo = home.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        "error_codes.data",
    ]);
    assert_eq!(
        demo.trim(),
        "copied 1200 records from error_codes.table to error_codes.data"
    );
    let out = home.ok(&["extract", "--file-id", "200"]);
    assert!(
        out.starts_with("sqlite: 1200 records (1200 inserts, 0 updates, 0 deletes)"),
        "{out}"
    );

    // Every input record, decoded through the layout, is a row, field for field.
    let layout = home.layout();
    let input = std::fs::read(home.join("error_codes.table")).unwrap();
    let mut expected: Vec<Vec<String>> = input.chunks(200).map(|r| decode(&layout, r)).collect();
    expected.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    let rows = home.db_rows("error_codes.db");
    assert_eq!(rows.len(), 1200);
    assert_eq!(rows, expected);

    // The hard values, spelled out.
    let find = |n: &str| rows.iter().find(|r| r[0] == n).unwrap().clone();
    assert_eq!(find("-32768")[1], "MIN_NUMBER");
    assert_eq!(find("32767")[1], "MAX_NUMBER");
    assert_eq!(find("-4")[2], "'); DROP TABLE error_codes; --");
    assert_eq!(find("-3")[2], "<tag attr=\"x\">&amp; & <&></tag>");
    assert_eq!(
        find("-5")[2],
        "caf\u{e9} na\u{ef}ve \u{fc}ber Stra\u{df}e \u{a9} \u{d7} \u{ff}"
    );
    assert_eq!(find("-1")[2], "");
    assert_eq!(
        find("-6")[2],
        "   leading and trailing   ",
        "varying text keeps its spaces"
    );
    assert_eq!(find("-6")[3], "  spaces", "char(n) is right-trimmed only");
    assert_eq!(find("-7")[2], "tab\there\nnewline\r\nCRLF");

    // The critical file holds the same records as the input (indexed slots).
    assert_eq!(home.file_rows("error_codes.data"), expected);

    // A second extract finds nothing new.
    let again = home.ok(&["extract", "--file-id", "200"]);
    assert!(again.starts_with("sqlite: 0 records"), "{again}");
    assert_eq!(home.db_rows("error_codes.db").len(), 1200);
}
