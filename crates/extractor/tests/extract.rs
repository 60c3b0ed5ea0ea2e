//! The extractor as a library: checkpoints across open transactions,
//! summaries, and `check`.
#![allow(clippy::unwrap_used)]

use drx_capture::{Capture, FileSpec};
use drx_config::Config;
use drx_extractor::{ExtractOptions, check, extract};
use std::path::Path;
use std::sync::Arc;

const LAYOUT: &str = "key: n;\nfields: n bin(31), text char(8);\nend;\n";

fn home() -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::create_dir_all(root.join("layouts")).unwrap();
    std::fs::write(root.join("layouts/layout.300"), LAYOUT).unwrap();
    let text = r#"
[journal]
durability = "none"

[extractor]
batch_size = 3

[[files]]
source_path = "t.dat"
extractor_file_id = 300

[[sinks]]
type = "csv"
dir = "out"
"#;
    std::fs::write(root.join("drx.toml"), text).unwrap();
    let config = Config::load(&root).unwrap();
    (dir, config)
}

fn record(config: &Config, n: i32, text: &str) -> Vec<u8> {
    let layout = drx_capture::load_layout(&config.extractor.layouts_dir, 300).unwrap();
    layout
        .encode([("n", n.to_string().as_str()), ("text", text)])
        .unwrap()
}

fn csv_rows(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join("out/t.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_open_transaction_is_read_again_and_delivered_whole_at_its_commit() {
    let (_dir, config) = home();
    let layout = drx_capture::load_layout(&config.extractor.layouts_dir, 300).unwrap();
    let mut capture = Capture::open(&config, "p").unwrap();
    let path = config.home.join("t.dat");
    let mut f = capture
        .create(&path, FileSpec::from_layout(Arc::clone(&layout)))
        .unwrap();
    for n in 1..=4 {
        capture
            .write(&mut f, &record(&config, n, "plain"), None)
            .unwrap();
    }
    capture.begin().unwrap();
    for n in 5..=9 {
        capture
            .write(&mut f, &record(&config, n, "txn"), None)
            .unwrap();
    }
    capture.journal().flush().unwrap();

    // The transaction is open: only what precedes it is delivered.
    let first = extract(&config, &ExtractOptions::new(300), &mut |_| {}).unwrap();
    assert_eq!(first[0].records, 4);
    let begin_seq = 6; // 1 create, 2..=5 writes, 6 begin
    assert_eq!(
        first[0].checkpoint.resume, begin_seq,
        "reading resumes at the open transaction"
    );
    assert!(first[0].checkpoint.applied > begin_seq);

    capture
        .write(&mut f, &record(&config, 10, "txn"), None)
        .unwrap();
    capture.commit().unwrap();
    capture
        .write(&mut f, &record(&config, 11, "after"), None)
        .unwrap();
    capture.close().unwrap();

    let second = extract(&config, &ExtractOptions::new(300), &mut |_| {}).unwrap();
    assert_eq!(
        second[0].records, 7,
        "the whole transaction, then the write after it"
    );
    let rows = csv_rows(&config.home);
    let numbers: Vec<&str> = rows.iter().map(|r| r.split(',').nth(3).unwrap()).collect();
    assert_eq!(
        numbers,
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]
    );
    // The transaction's rows carry its id; the others none.
    assert!(
        rows[4].starts_with(&format!("insert,7,{begin_seq},")),
        "{}",
        rows[4]
    );
    assert!(rows[0].ends_with(",0,1,plain"), "{}", rows[0]);

    let third = extract(&config, &ExtractOptions::new(300), &mut |_| {}).unwrap();
    assert_eq!(third[0].records, 0);
}

#[test]
fn an_aborted_transaction_is_counted_and_dropped() {
    let (_dir, config) = home();
    let layout = drx_capture::load_layout(&config.extractor.layouts_dir, 300).unwrap();
    let mut capture = Capture::open(&config, "p").unwrap();
    let mut f = capture
        .create(&config.home.join("t.dat"), FileSpec::from_layout(layout))
        .unwrap();
    capture.begin().unwrap();
    capture
        .write(&mut f, &record(&config, 1, "gone"), None)
        .unwrap();
    capture.abort().unwrap();
    capture
        .write(&mut f, &record(&config, 1, "kept"), None)
        .unwrap();
    capture.close().unwrap();
    let s = extract(&config, &ExtractOptions::new(300), &mut |_| {}).unwrap();
    assert_eq!((s[0].records, s[0].aborted_txns), (1, 1));
    assert_eq!(csv_rows(&config.home).len(), 1);
    assert!(
        s[0].to_string().starts_with(
            "csv: 1 records (1 inserts, 0 updates, 0 deletes), 1 aborted transactions dropped in "
        ),
        "{}",
        s[0]
    );
}

#[test]
fn check_reports_each_file_id_and_sink() {
    let (_dir, config) = home();
    let report = check(&config).unwrap();
    assert_eq!(report.file_ids, [300]);
    let text = report.to_string();
    assert!(
        text.contains(
            "file id 300: layout.300 (2 fields, 12 bytes), 0 of 3 SQL templates from files"
        ),
        "{text}"
    );
    assert!(text.contains("sink csv: file ids 300"), "{text}");
}

#[test]
fn no_sink_for_the_file_id_is_a_clear_error() {
    let (_dir, config) = home();
    std::fs::write(config.extractor.layouts_dir.join("layout.301"), LAYOUT).unwrap();
    let mut options = ExtractOptions::new(300);
    options.sink = Some("nope".into());
    let err = extract(&config, &options, &mut |_| {}).unwrap_err();
    assert_eq!(err.to_string(), "no sink named `nope` takes file id 300");
}

/// Extracts 2,000 records with a batch size larger than all of them and
/// `batch_latency_ms` as given; returns how many batches the sink got.
fn batches_with_latency(latency_ms: u64) -> usize {
    let (_dir, mut config) = home();
    config.extractor.batch_size = 1_000_000;
    config.extractor.batch_latency_ms = latency_ms;
    let layout = drx_capture::load_layout(&config.extractor.layouts_dir, 300).unwrap();
    let mut capture = Capture::open(&config, "p").unwrap();
    let mut f = capture
        .create(&config.home.join("t.dat"), FileSpec::from_layout(layout))
        .unwrap();
    for n in 1..=2_000 {
        capture
            .write(&mut f, &record(&config, n, "x"), None)
            .unwrap();
    }
    capture.close().unwrap();
    let mut batches = 0;
    let s = extract(&config, &ExtractOptions::new(300), &mut |_| batches += 1).unwrap();
    assert_eq!(s[0].records, 2_000);
    assert_eq!(csv_rows(&config.home).len(), 2_000);
    batches
}

#[test]
fn a_batch_waits_no_longer_than_batch_latency_ms() {
    // 0 ms: every look at the batch's age (each 256 entries) sends it.
    assert!(batches_with_latency(0) >= 7);
    // An hour: only the end of the journal sends it.
    assert_eq!(batches_with_latency(3_600_000), 1);
}
