//! The SQLite sink: table creation, the seed templates, exact values,
//! checkpoints, atomic batches and configuration errors.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use drx_sinks::sqlite::{SqliteConfig, SqliteSink, Synchronous};
use drx_sinks::{Checkpoint, Sink, SinkError};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

fn config(path: &str) -> SqliteConfig {
    SqliteConfig {
        name: Some("db".into()),
        path: path.into(),
        file_ids: vec![],
        tables: BTreeMap::new(),
        create_tables: true,
        synchronous: Synchronous::Normal,
    }
}

fn open(home: &Path, config: &SqliteConfig, templates: &Path) -> Result<SqliteSink, SinkError> {
    SqliteSink::open(
        "db".into(),
        config,
        home,
        binding(200, &layout_200(), "error_codes", templates),
    )
}

/// Every row of error_codes, by err_number, every column read back as stored.
fn rows(db: &Path) -> Vec<Row> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("select err_number, err_name, err_text, err_category, err_category2 from error_codes order by err_number")
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            number: r.get(0)?,
            name: r.get(1)?,
            text: r.get(2)?,
            category: r.get(3)?,
            category2: r.get(4)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn stored_checkpoint(db: &Path) -> Option<(String, i64, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("select consumer, applied, resume from drx_checkpoint")
        .unwrap();
    let mut all: Vec<(String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(all.len() <= 1, "{all:?}");
    all.pop()
}

#[test]
fn a_new_database_gets_a_typed_table_with_the_key_as_primary_key() {
    let home = tempfile::tempdir().unwrap();
    let mut sink = open(
        home.path(),
        &config("out/drx.db"),
        &home.path().join("no-templates"),
    )
    .unwrap();
    assert_eq!(sink.checkpoint().unwrap(), None);
    let db = home.path().join("out/drx.db");
    let conn = Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("select name, type, pk from pragma_table_info('error_codes') order by cid")
        .unwrap();
    let columns: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        columns,
        [
            ("err_number", "INTEGER", 1),
            ("err_name", "TEXT", 0),
            ("err_text", "TEXT", 0),
            ("err_category", "TEXT", 0),
            ("err_category2", "TEXT", 0),
        ]
        .map(|(n, t, pk)| (n.to_owned(), t.to_owned(), pk))
    );
    let mut stmt = conn
        .prepare("select name, pk from pragma_table_info('drx_checkpoint') order by cid")
        .unwrap();
    let columns: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        columns,
        [
            ("consumer".to_owned(), 1),
            ("applied".to_owned(), 0),
            ("resume".to_owned(), 0)
        ]
    );
    // Reopening an existing database keeps its table and rows.
    let layout = layout_200();
    sink.apply(
        &Changes::new(200, &layout)
            .insert(1, &row(1, "a", "b", "c", "d"))
            .done(1),
    )
    .unwrap();
    drop(sink);
    let _sink = open(
        home.path(),
        &config("out/drx.db"),
        &home.path().join("no-templates"),
    )
    .unwrap();
    assert_eq!(rows(&db), [row(1, "a", "b", "c", "d")]);
}

#[test]
fn every_column_of_a_layout_gets_its_sqlite_type() {
    let home = tempfile::tempdir().unwrap();
    let layout = std::sync::Arc::new(
        drx_layouts::Layout::parse(
            "layout.300",
            "key: a, b;\nfields: a fixed bin(31), b char(4), f float bin(53), d fixed dec(7,2), bits bit(3), \
             wide bit(64), dt_when fixed bin(31), v char(9) varying;\nend;",
        )
        .unwrap(),
    );
    let b = binding(300, &layout, "wide_table", &home.path().join("t"));
    let mut sink = SqliteSink::open("db".into(), &config("x.db"), home.path(), b).unwrap();
    let record = layout
        .encode([
            ("a", "-5"),
            ("b", "k"),
            ("f", "0.1"),
            ("d", "-12.5"),
            ("bits", "101"),
            ("wide", &"1".repeat(64)),
            ("dt_when", "2024-01-31 12:00:00"),
            ("v", "v"),
        ])
        .unwrap();
    let mut batch = drx_sinks::Batch::new(300, layout.clone());
    batch.push(
        drx_templates::ChangeOp::Insert,
        1,
        0,
        FILE,
        None,
        Some(&record),
    );
    sink.apply(&batch).unwrap();
    let conn = Connection::open(home.path().join("x.db")).unwrap();
    let mut stmt = conn
        .prepare("select type, pk from pragma_table_info('wide_table') order by cid")
        .unwrap();
    let types: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expect = [
        ("INTEGER", 1),
        ("TEXT", 2),
        ("REAL", 0),
        ("TEXT", 0),
        ("INTEGER", 0),
        ("TEXT", 0),
        ("TEXT", 0),
        ("TEXT", 0),
    ];
    assert_eq!(types, expect.map(|(t, pk)| (t.to_owned(), pk)));
    let got: (i64, String, f64, String, i64, String, String, String) = conn
        .query_row(
            "select a, b, f, d, bits, wide, dt_when, v from wide_table",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        got,
        (
            -5,
            "k".into(),
            0.1,
            "-12.50".into(),
            5,
            "1".repeat(64),
            "2024-01-31 12:00:00".into(),
            "v".into()
        )
    );
}

#[test]
fn seed_templates_store_hard_values_exactly() {
    let home = tempfile::tempdir().unwrap();
    let templates = home.path().join("templates");
    write_seed_sql_templates(&templates);
    let layout = layout_200();
    let hard = hard_rows();
    // The Latin-1 byte 0xE9 is in the record, and comes out as "é".
    let record = encode(&layout, &hard[1]);
    assert!(record.contains(&0xE9) && !record.contains(&0xC3));

    let mut sink = open(home.path(), &config("drx.db"), &templates).unwrap();
    let mut changes = Changes::new(200, &layout);
    for (i, r) in hard.iter().enumerate() {
        changes = changes.insert(i as u64 + 1, r);
    }
    sink.apply(&changes.done(3)).unwrap();
    let db = home.path().join("drx.db");
    let mut expect = hard.clone();
    expect.sort_by_key(|r| r.number);
    assert_eq!(rows(&db), expect);

    // An update rewrites every column of the row its before image names
    // (the key itself changes here), a delete removes one row.
    let moved = row(12, "new name", "", "<&>'\"", "");
    let batch = Changes::new(200, &layout)
        .update(4, &hard[2], &moved)
        .delete(5, &hard[0])
        .update(6, &hard[1], &row(32767, "café crème", "é", "", ""))
        .done(6);
    sink.apply(&batch).unwrap();
    assert_eq!(rows(&db), [moved, row(32767, "café crème", "é", "", "")]);
    assert_eq!(stored_checkpoint(&db), Some(("db.200".into(), 6, 7)));
    // The injection attempt did nothing but be stored.
    let conn = Connection::open(&db).unwrap();
    let tables: i64 = conn
        .query_row(
            "select count(*) from sqlite_schema where name = 'error_codes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn defaults_apply_when_no_template_file_exists() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config("drx.db"), &home.path().join("empty")).unwrap();
    let hard = hard_rows();
    let batch = Changes::new(200, &layout)
        .insert(1, &hard[0])
        .insert(2, &hard[1])
        .update(3, &hard[1], &row(32767, "x", "y", "z", "w"))
        .delete(4, &hard[0])
        .insert(5, &hard[2])
        .done(5);
    sink.apply(&batch).unwrap();
    assert_eq!(
        rows(&home.path().join("drx.db")),
        [hard[2].clone(), row(32767, "x", "y", "z", "w")]
    );
}

#[test]
fn the_checkpoint_is_read_back_after_reopen() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let templates = home.path().join("templates");
    let mut sink = open(home.path(), &config("drx.db"), &templates).unwrap();
    assert_eq!(sink.checkpoint().unwrap(), None);
    let mut batch = Changes::new(200, &layout)
        .insert(10, &row(1, "a", "", "", ""))
        .done(0);
    batch.checkpoint = Checkpoint {
        applied: 11,
        resume: 9,
    };
    sink.apply(&batch).unwrap();
    sink.commit().unwrap();
    sink.finish().unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 11,
            resume: 9
        })
    );
    drop(sink);
    let mut sink = open(home.path(), &config("drx.db"), &templates).unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 11,
            resume: 9
        })
    );
    // An empty batch still moves the checkpoint.
    let mut empty = drx_sinks::Batch::new(200, layout.clone());
    empty.checkpoint = Checkpoint {
        applied: 20,
        resume: 21,
    };
    sink.apply(&empty).unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 20,
            resume: 21
        })
    );
    // Checkpoints are kept per sink name and file id.
    let other = SqliteSink::open(
        "other".into(),
        &config("drx.db"),
        home.path(),
        binding(200, &layout, "error_codes", &templates),
    );
    assert_eq!(other.unwrap().checkpoint().unwrap(), None);
}

#[test]
fn a_batch_failing_midway_leaves_neither_rows_nor_checkpoint() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let templates = home.path().join("templates");
    write_seed_sql_templates(&templates);
    let db = home.path().join("drx.db");
    let mut sink = open(home.path(), &config("drx.db"), &templates).unwrap();
    let first = Changes::new(200, &layout)
        .insert(1, &row(1, "one", "", "", ""))
        .insert(2, &row(2, "two", "", "", ""));
    sink.apply(&first.done(2)).unwrap();

    // Row 3 goes in, then row 1 again breaks the primary key.
    let bad = Changes::new(200, &layout)
        .insert(3, &row(3, "three", "", "", ""))
        .update(4, &row(2, "two", "", "", ""), &row(2, "TWO", "", "", ""))
        .insert(5, &row(1, "again", "", "", ""))
        .done(5);
    let err = sink.apply(&bad).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, SinkError::Database { .. }), "{err:?}");
    assert!(
        message.starts_with("db: seq 5 (insert): UNIQUE constraint failed"),
        "{message}"
    );
    assert_eq!(
        rows(&db),
        [row(1, "one", "", "", ""), row(2, "two", "", "", "")]
    );
    assert_eq!(stored_checkpoint(&db), Some(("db.200".into(), 2, 3)));
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 2,
            resume: 3
        })
    );

    // The sink goes on after the failure.
    let good = Changes::new(200, &layout)
        .insert(3, &row(3, "three", "", "", ""))
        .done(3);
    sink.apply(&good).unwrap();
    assert_eq!(rows(&db).len(), 3);
    assert_eq!(stored_checkpoint(&db), Some(("db.200".into(), 3, 4)));
}

#[test]
fn a_record_too_short_for_the_layout_names_its_seq_and_keeps_nothing() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config("drx.db"), &home.path().join("t")).unwrap();
    let mut batch = Changes::new(200, &layout)
        .insert(1, &row(1, "one", "", "", ""))
        .done(2);
    batch.push(
        drx_templates::ChangeOp::Insert,
        2,
        0,
        FILE,
        None,
        Some(&[0, 7]),
    );
    let err = sink.apply(&batch).unwrap_err();
    assert!(matches!(err, SinkError::Decode { seq: 2, .. }), "{err:?}");
    assert!(rows(&home.path().join("drx.db")).is_empty());
    assert_eq!(sink.checkpoint().unwrap(), None);
}

#[test]
fn a_missing_table_without_create_tables_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let mut config = config("drx.db");
    config.create_tables = false;
    let err = open(home.path(), &config, &home.path().join("t")).unwrap_err();
    assert!(matches!(err, SinkError::Config(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("db: table `error_codes` (file id 200) does not exist in")
            && message.contains("create_tables = false")
            && message.contains("layouts/layout.200"),
        "{message}"
    );

    // With the table made by hand (any case), the sink opens and uses it.
    let conn = Connection::open(home.path().join("drx.db")).unwrap();
    conn.execute_batch(
        "create table Error_Codes (err_number integer primary key, err_name text, err_text text, err_category text, err_category2 text)",
    )
    .unwrap();
    let mut sink = open(home.path(), &config, &home.path().join("t")).unwrap();
    sink.apply(
        &Changes::new(200, &layout_200())
            .insert(1, &row(5, "n", "t", "c", "d"))
            .done(1),
    )
    .unwrap();
    assert_eq!(
        rows(&home.path().join("drx.db")),
        [row(5, "n", "t", "c", "d")]
    );
}

#[test]
fn update_or_delete_without_key_or_template_names_the_template_to_add() {
    let home = tempfile::tempdir().unwrap();
    let layout = std::sync::Arc::new(
        drx_layouts::Layout::parse(
            "layouts/layout.300",
            "fields: n fixed bin(15), s char(4);\nend;",
        )
        .unwrap(),
    );
    let b = binding(300, &layout, "nokey", &home.path().join("t"));
    let mut sink = SqliteSink::open("db".into(), &config("drx.db"), home.path(), b).unwrap();
    let rec = layout.encode([("n", "1"), ("s", "a")]).unwrap();
    // Inserts need no key.
    let mut batch = drx_sinks::Batch::new(300, layout.clone());
    batch.push(
        drx_templates::ChangeOp::Insert,
        1,
        0,
        FILE,
        None,
        Some(&rec),
    );
    batch.checkpoint = Checkpoint {
        applied: 1,
        resume: 2,
    };
    sink.apply(&batch).unwrap();

    for (op, suffix, article) in [
        (drx_templates::ChangeOp::Update, "u", "an"),
        (drx_templates::ChangeOp::Delete, "d", "a"),
    ] {
        let mut batch = drx_sinks::Batch::new(300, layout.clone());
        batch.push(
            drx_templates::ChangeOp::Insert,
            2,
            0,
            FILE,
            None,
            Some(&rec),
        );
        batch.push(op, 3, 0, FILE, Some(&rec), Some(&rec));
        batch.checkpoint = Checkpoint {
            applied: 3,
            resume: 4,
        };
        let err = sink.apply(&batch).unwrap_err();
        assert!(matches!(err, SinkError::Config(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "seq 3: {article} {} of file id 300 needs template.300.{suffix} (or a `key:` in layout layouts/layout.300 for the default)",
                op.as_str()
            )
        );
        assert_eq!(
            sink.checkpoint().unwrap(),
            Some(Checkpoint {
                applied: 1,
                resume: 2
            })
        );
    }
    let conn = Connection::open(home.path().join("drx.db")).unwrap();
    let n: i64 = conn
        .query_row("select count(*) from nokey", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);

    // With template files the same changes go through.
    let templates = home.path().join("t");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("template.300.u"),
        "update @drms_file@ set s = '@s@' where n = @n@",
    )
    .unwrap();
    std::fs::write(
        templates.join("template.300.d"),
        "delete from @drms_file@ where n = @n@ -- @s@ stays a comment",
    )
    .unwrap();
    let b = binding(300, &layout, "nokey", &templates);
    let mut sink = SqliteSink::open("db".into(), &config("drx.db"), home.path(), b).unwrap();
    let renamed = layout.encode([("n", "1"), ("s", "b")]).unwrap();
    let mut batch = drx_sinks::Batch::new(300, layout.clone());
    batch.push(
        drx_templates::ChangeOp::Update,
        2,
        0,
        FILE,
        Some(&rec),
        Some(&renamed),
    );
    sink.apply(&batch).unwrap();
    let s: String = conn
        .query_row("select s from nokey", [], |r| r.get(0))
        .unwrap();
    assert_eq!(s, "b");
    let mut batch = drx_sinks::Batch::new(300, layout.clone());
    batch.push(
        drx_templates::ChangeOp::Delete,
        3,
        0,
        FILE,
        Some(&renamed),
        None,
    );
    sink.apply(&batch).unwrap();
    let n: i64 = conn
        .query_row("select count(*) from nokey", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn template_errors_name_the_file_and_position() {
    let home = tempfile::tempdir().unwrap();
    let templates = home.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("template.200.u"),
        "update @drms_file@\nset err_name = '@err_nmae@'",
    )
    .unwrap();
    let err = open(home.path(), &config("drx.db"), &templates).unwrap_err();
    assert!(matches!(err, SinkError::Template(_)), "{err:?}");
    let message = err.to_string();
    let expect = format!(
        "{}:2:17: placeholder @err_nmae@ names no field",
        templates.join("template.200.u").display()
    );
    assert!(message.starts_with(&expect), "{message}");

    // A statement SQLite refuses is named at open, not at the first change.
    std::fs::write(
        templates.join("template.200.u"),
        "updat @drms_file@ set err_name = '@err_name@'",
    )
    .unwrap();
    let err = open(home.path(), &config("drx.db"), &templates).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, SinkError::Database { .. }), "{err:?}");
    assert!(
        message.contains("syntax error")
            && message.contains("`updat \"error_codes\" set err_name = ?`"),
        "{message}"
    );

    // One statement per template.
    std::fs::write(
        templates.join("template.200.u"),
        "update @drms_file@ set err_name = '@err_name@'; delete from error_codes",
    )
    .unwrap();
    let err = open(home.path(), &config("drx.db"), &templates).unwrap_err();
    assert!(matches!(err, SinkError::Database { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("db: Multiple statements provided in `update"),
        "{err}"
    );
}

#[test]
fn handlebars_sql_templates_bind_values_too() {
    let home = tempfile::tempdir().unwrap();
    let templates = home.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("template.200.i.hbs"),
        "insert into {{drms_file}} ({{#each fields}}{{#if @index}}, {{/if}}{{this}}{{/each}})\n\
         values ({{err_number}}, '{{err_name}}', '{{err_text}}', '{{err_category}}', '{{err_category2}}')",
    )
    .unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config("drx.db"), &templates).unwrap();
    let hard = hard_rows();
    let mut changes = Changes::new(200, &layout);
    for (i, r) in hard.iter().enumerate() {
        changes = changes.insert(i as u64 + 1, r);
    }
    sink.apply(&changes.done(3)).unwrap();
    let mut expect = hard;
    expect.sort_by_key(|r| r.number);
    assert_eq!(rows(&home.path().join("drx.db")), expect);
}

#[test]
fn meta_placeholders_bind_seq_txn_op_and_file_id() {
    let home = tempfile::tempdir().unwrap();
    let templates = home.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let db = home.path().join("drx.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch("create table log (seq integer, txn integer, op text, file_id integer, note text, n integer)")
        .unwrap();
    for suffix in ["i", "u", "d"] {
        std::fs::write(
            templates.join(format!("template.200.{suffix}")),
            "insert into log values (@drms_seq@, @drms_txn@, @drms_op@, @drms_file_id@, \
             '@drms_op@ of @err_name@ into @drms_file@, mail user@example.com', @err_number@)",
        )
        .unwrap();
    }
    let mut config = config("drx.db");
    config.create_tables = false;
    let layout = layout_200();
    let b = binding(200, &layout, "log", &templates);
    let mut sink = SqliteSink::open("db".into(), &config, home.path(), b).unwrap();
    let a = row(7, "it's", "", "", "");
    let batch = Changes::new(200, &layout)
        .txn(10, 3, drx_templates::ChangeOp::Insert, None, Some(&a))
        .txn(11, 3, drx_templates::ChangeOp::Delete, Some(&a), None)
        .done(11);
    sink.apply(&batch).unwrap();
    let conn = Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("select seq, txn, op, file_id, note, n from log order by seq")
        .unwrap();
    let got: Vec<(i64, i64, String, i64, String, i64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        got,
        [
            (
                10,
                3,
                "insert".into(),
                200,
                "insert of it's into log, mail user@example.com".into(),
                7
            ),
            (
                11,
                3,
                "delete".into(),
                200,
                "delete of it's into log, mail user@example.com".into(),
                7
            ),
        ]
    );
}
