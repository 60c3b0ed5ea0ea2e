//! `drx io --script`: every op, and errors that name `script:line:col`.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, KEYED_LAYOUT, OwnedEffect, OwnedLocator, delivered, rec, records, spec};
use drx_capture::{FileSpec, Org, Script, ScriptError, ScriptSummary};
use drx_journal::RecordOp;

/// A home where `keyed.dat` is file id 7 (the keyed layout) and every
/// `*.dat` file is critical; `layouts/layout.7` and `my.layout` exist.
fn home() -> Home {
    let home = Home::new(
        "[[files]]\nsource_path = \"keyed.dat\"\nextractor_file_id = 7\n\n[[files]]\nsource_path = \"*.dat\"\n",
    );
    home.layout_file(7, KEYED_LAYOUT);
    std::fs::write(
        home.path("my.layout"),
        "fields: id fixed bin(15), amount fixed dec(19,2);\nend;\n",
    )
    .unwrap();
    home
}

/// `text` with `H` standing for the home directory.
fn script(home: &Home, text: &str) -> String {
    text.replace("H/", &format!("{}/", home.root().display()))
}

fn run(home: &Home, text: &str) -> Result<ScriptSummary, ScriptError> {
    let mut capture = home.capture("drx_io");
    let result =
        Script::new(&home.config).run(&mut capture, "ops.jsonl", script(home, text).as_bytes());
    capture.close().unwrap();
    result
}

fn keyed(home: &Home, name: &str) -> Vec<Vec<u8>> {
    records(&home.path(name), spec(Org::Indexed))
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

fn name(id: i16, text: &str) -> Vec<u8> {
    let mut r = id.to_be_bytes().to_vec();
    r.extend_from_slice(format!("{text:6}").as_bytes());
    r
}

#[test]
fn every_op_runs_and_is_journaled() {
    let home = home();
    let text = r#"# a drx io script: comments and blank lines are skipped

{"op":"create","file":"H/keyed.dat"}
{"op":"write","file":"H/keyed.dat","record":{"id":1,"name":"one"}}
{"op":"write","file":"H/keyed.dat","record":{"id":2,"name":"two"}}
   {"op":"write","file":"H/keyed.dat","hex":"0003 7468726565 20"}
{"op":"rewrite","file":"H/keyed.dat","key":{"id":2},"record":{"id":2,"name":"TWO"}}
{"op":"rewrite","file":"H/keyed.dat","record":{"id":3,"name":"3"}}
{"op":"delete","file":"H/keyed.dat","key":{"id":1}}
    # indented comment
{"op":"create","file":"H/rel.dat","organization":"relative","record_len":4}
{"op":"write","file":"H/rel.dat","hex":"61616161"}
{"op":"write","file":"H/rel.dat","recno":3,"hex":"63636363"}
{"op":"rewrite","file":"H/rel.dat","recno":3,"hex":"43434343"}
{"op":"delete","file":"H/rel.dat","recno":1}
{"op":"create","file":"H/fixed.dat","file_id":7,"organization":"fixed"}
{"op":"write","file":"H/fixed.dat","record":{"id":-5,"name":true}}
{"op":"create","file":"H/seq.dat","layout":"H/my.layout","organization":"sequential","record_len":20}
{"op":"write","file":"H/seq.dat","record":{"id":9,"amount":12345678901234567.89}}
{"op":"write","file":"H/seq.dat","hex":"ff"}
{"op":"write","file":"H/seq.dat","hex":""}
{"op":"truncate","file":"H/seq.dat","records":2}
{"op":"begin"}
{"op":"write","file":"H/keyed.dat","record":{"id":4,"name":"four"}}
{"op":"commit"}
{"op":"begin"}
{"op":"rewrite","file":"H/keyed.dat","key":{"id":4},"record":{"id":4,"name":"gone"}}
{"op":"delete","file":"H/keyed.dat","key":{"id":3}}
{"op":"abort"}
{"op":"copy","file":"H/keyed.dat","to":"H/keyed.copy.dat"}
{"op":"rename","file":"H/rel.dat","to":"H/rel2.dat"}
{"op":"delete_file","file":"H/fixed.dat"}
{"op":"open","file":"H/keyed.copy.dat","file_id":7}
{"op":"write","file":"H/keyed.copy.dat","record":{"id":5}}
{"op":"open","file":"H/rel2.dat","organization":"relative","record_len":4}
{"op":"truncate","file":"H/rel2.dat"}
"#;
    let summary = run(&home, text).unwrap();
    let entries = home.entries();
    assert_eq!(
        summary,
        ScriptSummary {
            operations: 33,
            journaled: entries.len() as u64
        }
    );

    assert_eq!(
        keyed(&home, "keyed.dat"),
        [name(4, "four"), name(2, "TWO"), name(3, "3")]
    );
    assert_eq!(
        keyed(&home, "keyed.copy.dat"),
        [name(4, "four"), name(2, "TWO"), name(3, "3"), name(5, "")]
    );
    assert!(!home.path("rel.dat").exists() && !home.path("fixed.dat").exists());
    // Truncated to no slots after the rename (the default `records` is 0).
    assert_eq!(std::fs::read(home.path("rel2.dat")).unwrap(), b"");
    let seq = records(
        &home.path("seq.dat"),
        FileSpec {
            organization: Org::Sequential,
            record_len: 20,
            layout: None,
        },
    );
    assert_eq!(seq.len(), 2);
    assert_eq!(seq[1], (2, vec![0xff]));
    let layout = drx_layouts::Layout::parse(
        "my",
        &std::fs::read_to_string(home.path("my.layout")).unwrap(),
    )
    .unwrap();
    let mut text = String::new();
    layout
        .view(&seq[0].1)
        .unwrap()
        .get(1)
        .unwrap()
        .write_text(&mut text)
        .unwrap();
    assert_eq!(
        text, "12345678901234567.89",
        "the decimal keeps every digit (no float on the way)"
    );

    // The journal, checked at a few points.
    let jp = |n: &str| home.path(n).to_str().unwrap().to_owned();
    let of = |n: &str| {
        entries
            .iter()
            .filter(|e| e.file == jp(n))
            .collect::<Vec<_>>()
    };
    let rel = of("rel.dat");
    assert_eq!(rel.len(), 6, "create, 2 writes, rewrite, delete, rename");
    let r = rel[3].record.as_ref().unwrap();
    assert_eq!(
        (r.op, &r.locator, r.before.as_deref(), r.after.as_deref()),
        (
            RecordOp::Update,
            &OwnedLocator::RecNo(3),
            Some(&b"cccc"[..]),
            Some(&b"CCCC"[..])
        )
    );
    assert_eq!(rel[5].effect, OwnedEffect::Rename { to: jp("rel2.dat") });
    assert_eq!(
        of("fixed.dat").last().unwrap().effect,
        OwnedEffect::DeleteFile
    );
    let fixed_write = of("fixed.dat")[1].record.clone().unwrap();
    assert_eq!(fixed_write.after, Some(name(-5, "1")), "true is the text 1");
    let aborted: Vec<_> = entries
        .iter()
        .filter(|e| e.effect == OwnedEffect::AbortTxn)
        .collect();
    assert_eq!(aborted.len(), 1);
    let gone = entries.iter().filter(|e| e.txn == aborted[0].txn).count();
    assert_eq!(gone, 4, "begin, rewrite, delete, abort");
    assert!(delivered(&entries).iter().all(|e| {
        e.record
            .as_ref()
            .is_none_or(|r| r.after != Some(name(4, "gone")))
    }));
    assert!(entries.iter().all(|e| e.process == "drx_io"));
}

/// Runs `good` lines then `bad`, then a line that must not run; returns the
/// error and checks that the good lines were applied.
fn fails(home: &Home, bad: &str) -> ScriptError {
    let text = format!(
        "{{\"op\":\"create\",\"file\":\"H/a.dat\",\"record_len\":4}}\n{{\"op\":\"write\",\"file\":\"H/a.dat\",\"hex\":\"61626364\"}}\n{bad}\n{{\"op\":\"write\",\"file\":\"H/a.dat\",\"hex\":\"7a7a7a7a\"}}\n"
    );
    let e = run(home, &text).unwrap_err();
    assert_eq!(
        std::fs::read(home.path("a.dat")).unwrap(),
        b"abcd",
        "lines 1-2 applied, line 4 not"
    );
    e
}

/// The 1-based column of `needle` in `line` (ASCII lines).
fn col(home: &Home, line: &str, needle: &str) -> usize {
    script(home, line).find(&script(home, needle)).unwrap() + 1
}

#[track_caller]
fn assert_error(home: &Home, bad: &str, col: usize, message: &str) {
    let e = fails(home, bad);
    let want = format!("ops.jsonl:3:{col}: {}", script(home, message));
    assert_eq!(e.to_string(), want);
    assert_eq!((e.line, e.col), (3, col));
}

#[test]
fn malformed_json_points_at_the_character() {
    let h = home();
    let bad = r#"{"op":"write","file":"H/a.dat","hex":"61"#;
    let len = script(&h, bad).len();
    assert_error(&h, bad, len + 1, "EOF while parsing a string");
    let bad = r#"{"op":"write" "file":"H/a.dat"}"#;
    assert_error(&h, bad, 15, "expected `,` or `}`");
    assert_error(&h, r#"  {"op":"begin",}"#, 17, "trailing comma");
    // Columns count characters, not bytes.
    assert_error(&h, r#"{"op":"é",}"#, 11, "trailing comma");
    assert_error(
        &h,
        "[1, 2]",
        1,
        r#"an operation is a JSON object, like {"op":"begin"}"#,
    );
    assert_error(&h, r#"{"op":"begin"} x"#, 16, "trailing characters");
}

#[test]
fn unknown_ops_and_fields_point_at_them() {
    let h = home();
    let bad = r#"{"op":"upsert","file":"H/a.dat"}"#;
    assert_error(
        &h,
        bad,
        7,
        "unknown op `upsert` (expected create, open, write, rewrite, delete, truncate, rename, copy, delete_file, begin, commit, abort)",
    );
    assert_error(
        &h,
        r#"{"op":"é"}"#,
        7,
        "unknown op `é` (expected create, open, write, rewrite, delete, truncate, rename, copy, delete_file, begin, commit, abort)",
    );
    let bad = r#"{"op":"write","file":"H/a.dat","hex":"61616161","recnum":2}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""recnum""#),
        "unknown field `recnum` for op `write` (expected file, recno, record, hex)",
    );
    assert_error(
        &h,
        r#"{"op":"begin", "file":"x"}"#,
        16,
        "unknown field `file` for op `begin` (it takes no fields)",
    );
    assert_error(&h, r#"{"file":"x"}"#, 1, "missing field `op`");
    assert_error(&h, r#"{"op":7}"#, 7, "`op`: expected a string, found 7");
    let bad = r#"{"op":"write","file":"H/a.dat","hex":"61616161","hex":"62626262"}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""hex":"62"#),
        "field `hex` given twice",
    );
    let bad = r#"{"op":"write","file":"H/a.dat","recno":"2","hex":"61616161"}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""2""#),
        r#"`recno`: expected a record number (an unsigned integer), found "2""#,
    );
    assert_error(&h, r#"{"op":"delete_file"}"#, 1, "missing field `file`");
    assert_error(
        &h,
        r#"   {"op":"copy","file":"a"}"#,
        4,
        "missing field `to`",
    );
}

#[test]
fn missing_records_and_unknown_files_are_errors() {
    let h = home();
    assert_error(
        &h,
        r#"{"op":"write","file":"H/a.dat"}"#,
        1,
        "missing `record` (field values) or `hex` (raw bytes)",
    );
    assert_error(
        &h,
        r#"  {"op":"rewrite","file":"H/a.dat","recno":1}"#,
        3,
        "missing `record` (field values) or `hex` (raw bytes)",
    );
    let bad = r#"{"op":"write","file":"H/nope.dat","hex":"61616161"}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""H/nope"#),
        "H/nope.dat: no layout: give file_id, layout or record_len, or map the file to an extractor_file_id in the Files Table",
    );
    // keyed.dat has a layout through the Files Table, but does not exist.
    let bad = r#"{"op":"delete","file":"H/keyed.dat","key":{"id":1}}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""H/keyed"#),
        "H/keyed.dat: No such file or directory (os error 2)",
    );
    let bad = r#"{"op":"write","file":"H/a.dat","record":{"id":1}}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, "{\"id"),
        "H/a.dat: fields need a layout; give `hex`",
    );
    let bad = r#"{"op":"write","file":"H/a.dat","hex":"6162636"}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""6162636""#),
        "hex has an odd number of digits",
    );
    let bad = r#"{"op":"write","file":"H/a.dat","hex":"é1zz"}"#;
    assert_error(&h, bad, col(&h, bad, r#""é"#), "`é` is not a hex digit");
    let bad = r#"{"op":"write","file":"H/a.dat","hex":"616263"}"#;
    assert_error(
        &h,
        bad,
        1,
        "H/a.dat: record of 3 bytes; the file's records are 4 bytes",
    );
    let bad = r#"{"op":"rewrite","file":"H/a.dat","recno":2,"hex":"61616161"}"#;
    assert_error(&h, bad, 1, "H/a.dat: no record at record 2");
    let bad = r#"{"op":"delete","file":"H/a.dat","recno":1}"#;
    assert_error(
        &h,
        bad,
        1,
        "H/a.dat: delete is not supported for fixed files",
    );
    let bad = r#"{"op":"delete","file":"H/a.dat"}"#;
    assert_error(&h, bad, 1, "missing `recno` or `key`");
    let bad = r#"{"op":"open","file":"H/a.dat","organization":"heap","record_len":4}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""heap""#),
        "unknown organization `heap` (fixed, relative, sequential, indexed)",
    );
    let bad = r#"{"op":"open","file":"H/a.dat","file_id":7,"record_len":4}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, "4}"),
        "record_len 4 differs from the layout's record length 8",
    );
    let bad = r#"{"op":"open","file":"H/a.dat","file_id":8}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, "8}"),
        "H/layouts/layout.8: No such file or directory (os error 2)",
    );
    let bad = r#"{"op":"open","file":"H/a.dat","file_id":70000}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, "70000"),
        "`file_id`: expected a file id from 0 to 65535, found 70000",
    );
    let bad = r#"{"op":"commit"}"#;
    assert_error(&h, bad, 1, "transaction: commit without begin");
    let bad = r#"{"op":"open","file":"H/missing.dat","record_len":4}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""H/missing"#),
        "H/missing.dat: No such file or directory (os error 2)",
    );
    let bad = r#"{"op":"create","file":"H/i.dat","organization":"Indexed","record_len":4}"#;
    assert_error(
        &h,
        bad,
        col(&h, bad, r#""H/i.dat"#),
        "H/i.dat: an indexed file needs a layout that declares a key",
    );
    assert!(!h.path("i.dat").exists());
}

#[test]
fn field_errors_point_at_the_field() {
    let h = home();
    let prefix = "{\"op\":\"create\",\"file\":\"H/k.dat\",\"file_id\":7}\n{\"op\":\"write\",\"file\":\"H/k.dat\",\"record\":{\"id\":1}}\n";
    let cases = [
        (
            r#"{"op":"write","file":"H/k.dat","record":{"id":70000}}"#,
            "70000",
            "field id: value 70000 is out of range for fixed bin(15) (-32768 to 32767)",
        ),
        (
            r#"{"op":"write","file":"H/k.dat","record":{"idd":2}}"#,
            r#""idd""#,
            "field idd: no such field in layout H/layouts/layout.7",
        ),
        (
            r#"{"op":"write","file":"H/k.dat","record":{"id":2,"name":[1]}}"#,
            "[1]",
            "field name: expected a string, number, boolean or null, found [1]",
        ),
        (
            r#"{"op":"write","file":"H/k.dat","record":{"id":2,"id":3}}"#,
            r#""id":3"#,
            "field `id` given twice",
        ),
        (
            r#"{"op":"write","file":"H/k.dat","record":{"id":1}}"#,
            "{\"op\"",
            "H/k.dat: duplicate key 0001",
        ),
        (
            r#"{"op":"delete","file":"H/k.dat","key":{"id":1,"name":"x"}}"#,
            r#""name""#,
            "`name` is not a key field (the key: id)",
        ),
        (
            r#"{"op":"delete","file":"H/k.dat","key":{}}"#,
            "{}",
            "key field `id` missing",
        ),
        (
            r#"{"op":"delete","file":"H/k.dat","key":{"id":2}}"#,
            "{\"op\"",
            "H/k.dat: no record at key 0002",
        ),
        (
            r#"{"op":"rewrite","file":"H/k.dat","recno":1,"key":{"id":1},"record":{"id":1}}"#,
            "{\"id\":1},\"rec",
            "give `recno` or `key`, not both",
        ),
        (
            r#"{"op":"rewrite","file":"H/k.dat","key":{"id":1},"record":{"id":2}}"#,
            "{\"op\"",
            "H/k.dat: a rewrite cannot change the key (0001 to 0002): delete and write instead",
        ),
        (
            r#"{"op":"rewrite","file":"H/k.dat","recno":1,"record":{"id":1}}"#,
            "{\"op\"",
            "H/k.dat: rewrite by record number is not possible in an indexed file",
        ),
        (
            r#"{"op":"write","file":"H/k.dat","record":{"id":2},"hex":"00"}"#,
            r#""00""#,
            "give `record` or `hex`, not both",
        ),
    ];
    for (bad, at, message) in cases {
        let text = format!(
            "{prefix}{bad}\n{{\"op\":\"write\",\"file\":\"H/k.dat\",\"record\":{{\"id\":9}}}}\n"
        );
        let e = run(&h, &text).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("ops.jsonl:3:{}: {}", col(&h, bad, at), script(&h, message)),
            "{bad}"
        );
        assert_eq!(keyed(&h, "k.dat"), [name(1, "")], "{bad}");
    }
}

#[test]
fn an_error_inside_a_transaction_aborts_it() {
    let h = home();
    let text = r#"{"op":"create","file":"H/a.dat","record_len":4}
{"op":"write","file":"H/a.dat","hex":"61616161"}
{"op":"begin"}
{"op":"write","file":"H/a.dat","hex":"62626262"}
{"op":"rewrite","file":"H/a.dat","recno":1,"hex":"7a7a7a7a"}
{"op":"write","file":"H/a.dat","hex":"6363"}
{"op":"commit"}
"#;
    let e = run(&h, text).unwrap_err();
    assert_eq!(
        e.to_string(),
        script(
            &h,
            "ops.jsonl:6:1: H/a.dat: record of 2 bytes; the file's records are 4 bytes; the open transaction (begun at line 3) was aborted"
        )
    );
    assert_eq!(std::fs::read(h.path("a.dat")).unwrap(), b"aaaa");
    let entries = h.entries();
    assert_eq!(entries.last().unwrap().effect, OwnedEffect::AbortTxn);
    assert_eq!(
        delivered(&entries).len(),
        2,
        "the create and the first write"
    );
}

#[test]
fn a_transaction_left_open_at_the_end_is_aborted() {
    let h = home();
    let text = r#"{"op":"create","file":"H/a.dat","record_len":4}
{"op":"begin"}
{"op":"commit"}
  {"op":"begin"}
{"op":"write","file":"H/a.dat","hex":"62626262"}
"#;
    let e = run(&h, text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ops.jsonl:4:3: the transaction begun here was not committed by the end of the script; it was aborted"
    );
    assert_eq!(std::fs::read(h.path("a.dat")).unwrap(), b"");
    assert_eq!(h.entries().last().unwrap().effect, OwnedEffect::AbortTxn);
}

#[test]
fn the_summary_counts_journal_entries_exactly() {
    let h = Home::new("[[files]]\nsource_path = \"crit.dat\"\n");
    std::fs::write(h.path("plain.bin"), [7u8; 10]).unwrap();
    let text = r#"{"op":"create","file":"H/crit.dat","record_len":2}
{"op":"create","file":"H/other.dat","record_len":2}
{"op":"write","file":"H/other.dat","hex":"0102"}
{"op":"copy","file":"H/other.dat","to":"H/other2.dat"}
{"op":"rename","file":"H/other2.dat","to":"H/other3.dat"}
{"op":"delete_file","file":"H/other3.dat"}
{"op":"copy","file":"H/plain.bin","to":"H/crit.dat"}
"#;
    let summary = run(&h, text).unwrap();
    assert_eq!(
        summary,
        ScriptSummary {
            operations: 7,
            journaled: 3
        }
    );
    assert_eq!(
        h.entries().len(),
        3,
        "create, then the copy's create and write"
    );
}

#[test]
fn a_handle_on_a_replaced_file_is_dropped() {
    // Copying or renaming onto a file the script has open replaces it: the
    // next operation must see the new file (opened again with the Files
    // Table's spec), not the old handle's state or inode.
    let h = home();
    let text = r#"{"op":"create","file":"H/keyed.dat"}
{"op":"write","file":"H/keyed.dat","record":{"id":1}}
{"op":"write","file":"H/keyed.dat","record":{"id":2}}
{"op":"create","file":"H/src.dat","file_id":7}
{"op":"write","file":"H/src.dat","record":{"id":5}}
{"op":"copy","file":"H/src.dat","to":"H/keyed.dat"}
{"op":"write","file":"H/keyed.dat","record":{"id":6}}
{"op":"write","file":"H/./keyed.dat","record":{"id":7}}
{"op":"create","file":"H/other.dat","file_id":7}
{"op":"write","file":"H/other.dat","record":{"id":8}}
{"op":"rename","file":"H/other.dat","to":"H/keyed.dat"}
{"op":"write","file":"H/keyed.dat","record":{"id":9}}
{"op":"delete","file":"H/x/../keyed.dat","key":{"id":8}}
"#;
    run(&h, text).unwrap();
    assert_eq!(keyed(&h, "keyed.dat"), [name(9, "")]);
    let entries = h.entries();
    let replayed = common::replay(&entries);
    for name in ["keyed.dat", "src.dat"] {
        assert_eq!(
            replayed[&h.jpath(name)],
            std::fs::read(h.path(name)).unwrap(),
            "{name}: the journal replays to the same bytes"
        );
    }
    assert_eq!(replayed.len(), 2);
    // Every path is journaled normalized.
    assert!(
        entries
            .iter()
            .all(|e| !e.file.contains("/./") && !e.file.contains("/../"))
    );
}

#[test]
fn rewrite_by_key_takes_defaults_for_fields_not_given() {
    let h = home();
    let text = r#"{"op":"create","file":"H/keyed.dat"}
{"op":"write","file":"H/keyed.dat","record":{"id":1,"name":"one"}}
{"op":"rewrite","file":"H/keyed.dat","key":{"id":1},"record":{"id":1}}
{"op":"write","file":"H/keyed.dat","record":{"id":2,"name":null}}
"#;
    run(&h, text).unwrap();
    assert_eq!(keyed(&h, "keyed.dat"), [rec(1, b' '), rec(2, b' ')]);
}
