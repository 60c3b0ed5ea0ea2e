//! The CSV sink: header, quoting, checkpoints, continuing after reopen, and
//! what a crash leaves.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use drx_sinks::csv::{CsvConfig, CsvSink};
use drx_sinks::{Checkpoint, Sink, SinkError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn config(commit_every: u64) -> CsvConfig {
    CsvConfig {
        name: Some("feed".into()),
        dir: "out".into(),
        file_ids: vec![],
        tables: BTreeMap::new(),
        commit_every,
        delimiter: ',',
    }
}

fn open(home: &Path, config: &CsvConfig) -> Result<CsvSink, SinkError> {
    CsvSink::open(
        "feed".into(),
        config,
        home,
        binding(200, &layout_200(), "error_codes", &home.join("templates")),
    )
}

fn data(home: &Path) -> PathBuf {
    home.join("out/error_codes.csv")
}

fn read(home: &Path) -> String {
    String::from_utf8(std::fs::read(data(home)).unwrap()).unwrap()
}

fn ckpt(home: &Path) -> String {
    std::fs::read_to_string(home.join("out/error_codes.csv.ckpt")).unwrap()
}

/// Parses the file back with the csv crate: the rows as written.
fn parse(home: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(data(home))
        .unwrap();
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn first_batch() -> drx_sinks::Batch {
    let layout = layout_200();
    let hard = hard_rows();
    Changes::new(200, &layout)
        .insert(1, &hard[0])
        .insert(2, &hard[1])
        .txn(
            3,
            9,
            drx_templates::ChangeOp::Update,
            Some(&hard[1]),
            Some(&row(32767, "x", "multi\r\nline", "", "")),
        )
        .txn(4, 9, drx_templates::ChangeOp::Delete, Some(&hard[2]), None)
        .done(4)
}

#[test]
fn rows_are_quoted_and_the_checkpoint_follows_the_commit() {
    let home = tempfile::tempdir().unwrap();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    assert_eq!(sink.checkpoint().unwrap(), None);
    sink.apply(&first_batch()).unwrap();
    // Not committed yet: no checkpoint file.
    assert!(!home.path().join("out/error_codes.csv.ckpt").exists());
    assert_eq!(sink.checkpoint().unwrap(), None);
    sink.commit().unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 4,
            resume: 5
        })
    );
    let text = read(home.path());
    // CR shown as `\r`: snapshots normalize line ends.
    insta::assert_snapshot!(text.replace('\r', "\\r"));
    assert_eq!(
        ckpt(home.path()),
        format!(
            "drx-feed-checkpoint 1\napplied 4\nresume 5\nlength {}\n",
            text.len()
        )
    );
    // The file reads back as the values went in.
    let rows = parse(home.path());
    assert_eq!(
        rows[0],
        [
            "op",
            "seq",
            "txn",
            "err_number",
            "err_name",
            "err_text",
            "err_category",
            "err_category2"
        ]
    );
    assert_eq!(
        rows[1],
        [
            "insert",
            "1",
            "0",
            "-32768",
            "'); DROP TABLE error_codes; --",
            "it's \"quoted\", isn't it?",
            "<&>",
            ""
        ]
    );
    assert_eq!(
        rows[2],
        [
            "insert",
            "2",
            "0",
            "32767",
            "café",
            "",
            "a,b",
            "line1\nline2"
        ]
    );
    assert_eq!(
        rows[3],
        ["update", "3", "9", "32767", "x", "multi\r\nline", "", ""]
    );
    assert_eq!(
        rows[4],
        [
            "delete",
            "4",
            "9",
            "0",
            "",
            "tab\there",
            "x'y\"z",
            "@err_name@"
        ]
    );
    // finish writes nothing more for CSV.
    sink.finish().unwrap();
    assert_eq!(read(home.path()), text);
}

#[test]
fn a_reopened_feed_continues_without_a_second_header() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(&first_batch()).unwrap();
    sink.finish().unwrap();
    drop(sink);

    let mut sink = open(home.path(), &config(1_000)).unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 4,
            resume: 5
        })
    );
    sink.apply(
        &Changes::new(200, &layout)
            .insert(5, &row(1, "after reopen", "", "", ""))
            .done(5),
    )
    .unwrap();
    sink.finish().unwrap();
    drop(sink);
    let text = read(home.path());
    assert_eq!(text.matches("op,seq,txn").count(), 1);
    let rows = parse(home.path());
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows[5],
        ["insert", "5", "0", "1", "after reopen", "", "", ""]
    );
    assert_eq!(
        open(home.path(), &config(1_000))
            .unwrap()
            .checkpoint()
            .unwrap(),
        Some(Checkpoint {
            applied: 5,
            resume: 6
        })
    );
}

#[test]
fn a_crash_before_commit_loses_the_data_with_its_checkpoint() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(&first_batch()).unwrap();
    sink.commit().unwrap();
    let committed = read(home.path());

    // Two batches applied, never committed; the sink goes away without finish
    // (its buffer reaches the file on drop, as a crash after a write would leave it).
    sink.apply(
        &Changes::new(200, &layout)
            .insert(5, &row(5, "lost", "", "", ""))
            .done(5),
    )
    .unwrap();
    sink.apply(
        &Changes::new(200, &layout)
            .insert(6, &row(6, "lost too", "", "", ""))
            .done(6),
    )
    .unwrap();
    drop(sink);
    let crashed = read(home.path());
    assert!(
        crashed.len() > committed.len() && crashed.contains("lost too"),
        "{crashed}"
    );
    // A torn write: half a row more.
    let mut torn = std::fs::read(data(home.path())).unwrap();
    torn.extend_from_slice(b"insert,7,0,7,\"half");
    std::fs::write(data(home.path()), torn).unwrap();

    let mut sink = open(home.path(), &config(1_000)).unwrap();
    // The unconfirmed tail is cut: the file is what the checkpoint confirms.
    assert_eq!(read(home.path()), committed);
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 4,
            resume: 5
        })
    );
    let length: u64 = ckpt(home.path())
        .lines()
        .find_map(|l| l.strip_prefix("length "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(length, std::fs::metadata(data(home.path())).unwrap().len());
    // Replaying from the checkpoint gives each change once.
    sink.apply(
        &Changes::new(200, &layout)
            .insert(5, &row(5, "again", "", "", ""))
            .done(5),
    )
    .unwrap();
    sink.commit().unwrap();
    let rows = parse(home.path());
    let seqs: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(seqs, ["1", "2", "3", "4", "5"]);
}

#[test]
fn a_crash_before_the_first_commit_starts_the_feed_again() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(&first_batch()).unwrap();
    drop(sink);
    assert!(read(home.path()).contains("DROP TABLE"));
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    assert_eq!(sink.checkpoint().unwrap(), None);
    sink.apply(
        &Changes::new(200, &layout)
            .insert(1, &row(1, "a", "", "", ""))
            .done(1),
    )
    .unwrap();
    sink.commit().unwrap();
    assert_eq!(
        read(home.path()),
        "op,seq,txn,err_number,err_name,err_text,err_category,err_category2\ninsert,1,0,1,a,,,\n"
    );
}

#[test]
fn commit_every_commits_by_itself() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config(3)).unwrap();
    sink.apply(
        &Changes::new(200, &layout)
            .insert(1, &row(1, "a", "", "", ""))
            .insert(2, &row(2, "b", "", "", ""))
            .done(2),
    )
    .unwrap();
    assert_eq!(sink.checkpoint().unwrap(), None);
    sink.apply(
        &Changes::new(200, &layout)
            .insert(3, &row(3, "c", "", "", ""))
            .done(3),
    )
    .unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 3,
            resume: 4
        })
    );
    sink.apply(
        &Changes::new(200, &layout)
            .insert(4, &row(4, "d", "", "", ""))
            .done(4),
    )
    .unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 3,
            resume: 4
        })
    );
}

#[test]
fn a_checkpoint_claiming_more_bytes_than_the_file_has_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let mut sink = open(home.path(), &config(1)).unwrap();
    sink.apply(&first_batch()).unwrap();
    drop(sink);
    let len = std::fs::metadata(data(home.path())).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(data(home.path()))
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let err = open(home.path(), &config(1)).unwrap_err();
    assert!(matches!(err, SinkError::Checkpoint { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("error_codes.csv.ckpt: confirms")
            && message.contains(&format!("{len} bytes"))
            && message.contains(&format!("the file has only {}", len - 10)),
        "{message}"
    );
    // The file is left as it was.
    assert_eq!(
        std::fs::metadata(data(home.path())).unwrap().len(),
        len - 10
    );
}

#[test]
fn a_damaged_checkpoint_file_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let mut sink = open(home.path(), &config(1)).unwrap();
    sink.apply(&first_batch()).unwrap();
    drop(sink);
    let path = home.path().join("out/error_codes.csv.ckpt");
    for (text, expect) in [
        (
            "something else\n",
            "line 1: expected `drx-feed-checkpoint 1`",
        ),
        (
            "drx-feed-checkpoint 1\napplied 4\nresume x\nlength 10\n",
            "line 3: expected `resume <number>`, found `resume x`",
        ),
        (
            "drx-feed-checkpoint 1\napplied 4\nresume 5\n",
            "line 4: expected `length <number>`, found ``",
        ),
        (
            "drx-feed-checkpoint 1\napplied 4\nresume 5\nlength 10\n",
            "less than its",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = open(home.path(), &config(1)).unwrap_err();
        assert!(matches!(err, SinkError::Checkpoint { .. }), "{err:?}");
        assert!(err.to_string().contains(expect), "{err}");
    }
}

#[test]
fn a_file_that_is_not_this_feed_is_never_cut() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("out")).unwrap();
    // Someone else's file, no checkpoint: refused, left whole.
    std::fs::write(data(home.path()), "id,name\n1,precious\n").unwrap();
    let err = open(home.path(), &config(1)).unwrap_err();
    assert!(matches!(err, SinkError::Config(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("does not start with the header this sink writes and has no checkpoint"),
        "{err}"
    );
    assert_eq!(read(home.path()), "id,name\n1,precious\n");

    // A feed written with another delimiter: refused too.
    std::fs::remove_file(data(home.path())).unwrap();
    let mut sink = open(home.path(), &config(1)).unwrap();
    sink.apply(&first_batch()).unwrap();
    drop(sink);
    let mut semicolon = config(1);
    semicolon.delimiter = ';';
    let err = open(home.path(), &semicolon).unwrap_err();
    assert!(
        err.to_string()
            .contains("the layout, delimiter or root element changed"),
        "{err}"
    );
}

#[test]
fn another_delimiter_and_a_bad_one() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut tab = config(1);
    tab.delimiter = '\t';
    let mut sink = open(home.path(), &tab).unwrap();
    sink.apply(
        &Changes::new(200, &layout)
            .insert(1, &row(1, "a,b", "t\tt", "", ""))
            .done(1),
    )
    .unwrap();
    sink.finish().unwrap();
    assert_eq!(
        read(home.path()),
        "op\tseq\ttxn\terr_number\terr_name\terr_text\terr_category\terr_category2\ninsert\t1\t0\t1\ta,b\t\"t\tt\"\t\t\n"
    );
    for bad in ['é', '"', '\n'] {
        let mut c = config(1);
        c.delimiter = bad;
        let err = open(home.path(), &c).unwrap_err();
        assert!(
            matches!(err, SinkError::Config(_))
                && err.to_string().contains("cannot separate CSV fields"),
            "{err}"
        );
    }
}

/// A field that does not decode (bytes invalid in the layout's UTF-8)
/// fails the batch naming its seq and field; nothing of the batch is
/// checkpointed.
#[test]
fn a_field_that_does_not_decode_names_its_seq_and_field() {
    let home = tempfile::tempdir().unwrap();
    let layout = std::sync::Arc::new(
        drx_layouts::Layout::parse(
            "layouts/layout.200",
            "charset: utf8;\nfields: id fixed bin (15), name char (4);\nend;",
        )
        .unwrap(),
    );
    let mut sink = CsvSink::open(
        "feed".into(),
        &config(1_000),
        home.path(),
        binding(200, &layout, "error_codes", &home.path().join("templates")),
    )
    .unwrap();
    let mut batch = Changes::new(200, &layout).done(2);
    for (seq, record) in [
        (1, [0, 1, b'a', b'b', b' ', b' ']),
        (2, [0, 2, b'a', 0xFF, b' ', b' ']),
    ] {
        batch.push(
            drx_templates::ChangeOp::Insert,
            seq,
            0,
            FILE,
            None,
            Some(&record),
        );
    }
    let err = sink.apply(&batch).unwrap_err();
    match err {
        SinkError::Decode { seq, source } => {
            assert_eq!(seq, 2);
            assert_eq!((source.field.as_str(), source.offset), ("name", 2));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sink.checkpoint().unwrap(), None);
}
