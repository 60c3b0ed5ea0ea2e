//! `drx backup` and `drx restore` with real processes: a backup taken
//! while a real `drx io` process writes (transactions, one in four or five
//! aborted), restored into a directory at the backup's consistent seq, at
//! a later seq, by time and to the latest entry, each file compared with
//! the primary's state at that seq as the test computes it itself, by
//! replaying the live journal from seq 1 (its own applier, not the code
//! under test); a target before the consistent seq refused; a damaged
//! backup file refused by name; a restore in place.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{free_port, link_home};
use common::{Home, mixed_script, wait_until};
use drx_journal::{Effect, Reader};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Files by journal path.
type Files = BTreeMap<String, Vec<u8>>;

/// The primary's files as of each seq in `at` (sorted), computed from the
/// live journal from seq 1: effects outside transactions at once, those
/// of a transaction at its commit, none of an aborted one.
fn states_at(journal: &Path, at: &[u64]) -> Vec<Files> {
    let mut files = Files::new();
    let mut open: HashMap<u64, Vec<(String, Op)>> = HashMap::new();
    let mut out = Vec::new();
    let mut reader = Reader::open(journal, 1).unwrap();
    let mut wanted = at.iter().copied().peekable();
    while let Some(&next) = wanted.peek() {
        if next == 0 {
            out.push(files.clone());
            wanted.next();
            continue;
        }
        let e = reader
            .next()
            .unwrap()
            .unwrap_or_else(|| panic!("journal ends before seq {next}"));
        let op = match e.effect {
            Effect::Create { .. } => Op::Create,
            Effect::Write { offset, data } => Op::Write(offset, data.to_vec()),
            Effect::Truncate { len } => Op::Truncate(len),
            Effect::DeleteFile => Op::Delete,
            Effect::Rename { to } => Op::Rename(to.to_owned()),
            Effect::BeginTxn => {
                open.insert(e.txn, Vec::new());
                Op::Nothing
            }
            Effect::CommitTxn => {
                for (file, op) in open.remove(&e.txn).unwrap() {
                    op.apply(&mut files, &file);
                }
                Op::Nothing
            }
            Effect::AbortTxn => {
                open.remove(&e.txn).unwrap();
                Op::Nothing
            }
            _ => Op::Nothing,
        };
        if e.txn != 0 && !matches!(op, Op::Nothing) {
            open.get_mut(&e.txn).unwrap().push((e.file.to_owned(), op));
        } else {
            op.apply(&mut files, e.file);
        }
        while wanted.peek() == Some(&e.seq) {
            out.push(files.clone());
            wanted.next();
        }
    }
    out
}

enum Op {
    Create,
    Write(u64, Vec<u8>),
    Truncate(u64),
    Delete,
    Rename(String),
    Nothing,
}

impl Op {
    fn apply(self, files: &mut Files, file: &str) {
        match self {
            Op::Create => {
                files.insert(file.to_owned(), Vec::new());
            }
            Op::Write(offset, data) => {
                let f = files.entry(file.to_owned()).or_default();
                let end = offset as usize + data.len();
                if f.len() < end {
                    f.resize(end, 0);
                }
                f[offset as usize..end].copy_from_slice(&data);
            }
            Op::Truncate(len) => files
                .entry(file.to_owned())
                .or_default()
                .resize(len as usize, 0),
            Op::Delete => {
                files.remove(file);
            }
            Op::Rename(to) => {
                if let Some(bytes) = files.remove(file) {
                    files.insert(to, bytes);
                }
            }
            Op::Nothing => {}
        }
    }
}

/// Every entry's (seq, timestamp).
fn stamps(journal: &Path) -> Vec<(u64, i64)> {
    let mut reader = Reader::open(journal, 1).unwrap();
    let mut out = Vec::new();
    while let Some(e) = reader.next().unwrap() {
        out.push((e.seq, e.timestamp_us));
    }
    out
}

fn manifest(dest: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).unwrap()).unwrap()
}

fn backed_up(m: &serde_json::Value) -> Vec<String> {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

/// Where a restore `--into dir` puts the file `path`.
fn below(dir: &Path, path: &str) -> PathBuf {
    dir.join(path.trim_start_matches('/'))
}

/// Asserts that each file of `paths` restored below `dir` equals its state
/// in `expected` (absent when absent there).
fn assert_restored(dir: &Path, paths: &[String], expected: &Files, what: &str) {
    for path in paths {
        let restored = below(dir, path);
        match expected.get(path) {
            Some(bytes) => {
                let got = std::fs::read(&restored)
                    .unwrap_or_else(|e| panic!("{what}: {}: {e}", restored.display()));
                assert!(
                    got == *bytes,
                    "{what}: {path} differs: {} bytes restored, {} expected, first difference at byte {:?}",
                    got.len(),
                    bytes.len(),
                    got.iter().zip(bytes).position(|(a, b)| a != b)
                );
            }
            None => assert!(!restored.exists(), "{what}: {path} should not exist"),
        }
    }
}

/// A script of `n` transactions on the relative file slots.rel (16-byte
/// slots): writes into empty slots (past the end too, extending the file),
/// rewrites and deletes; one in four aborted. `slots` is kept up to date.
fn slots_script(slots: &mut HashSet<u64>, n: usize, seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let mut s = String::from(
        "{\"op\":\"open\",\"file\":\"slots.rel\",\"organization\":\"relative\",\"record_len\":16}\n",
    );
    for t in 0..n {
        let before = slots.clone();
        s += "{\"op\":\"begin\"}\n";
        for _ in 0..1 + next(3) {
            let recno = 1 + next(400);
            let hex: String = (0..16)
                .map(|i| format!("{:02x}", (seed as usize + t * 7 + i) % 256))
                .collect();
            if !slots.contains(&recno) {
                s += &format!(
                    "{{\"op\":\"write\",\"file\":\"slots.rel\",\"recno\":{recno},\"hex\":\"{hex}\"}}\n"
                );
                slots.insert(recno);
            } else if next(3) == 0 {
                s += &format!("{{\"op\":\"delete\",\"file\":\"slots.rel\",\"recno\":{recno}}}\n");
                slots.remove(&recno);
            } else {
                s += &format!(
                    "{{\"op\":\"rewrite\",\"file\":\"slots.rel\",\"recno\":{recno},\"hex\":\"{hex}\"}}\n"
                );
            }
        }
        if next(4) == 0 {
            s += "{\"op\":\"abort\"}\n";
            *slots = before;
        } else {
            s += "{\"op\":\"commit\"}\n";
        }
    }
    s
}

/// A mirrored primary home (no server runs: the capture serves the
/// mailbox) with error_codes.data (2,000 records, indexed) and slots.rel.
fn primary() -> (Home, Vec<i64>, HashSet<u64>) {
    let home = link_home(free_port(), "prim", "");
    home.append_config("\n[[files]]\nprocess_name = \"*\"\nsource_path = \"slots.rel\"\n");
    home.demo_records(2000);
    let mut slots = HashSet::new();
    let script = String::from(
        "{\"op\":\"create\",\"file\":\"slots.rel\",\"organization\":\"relative\",\"record_len\":16}\n",
    ) + &slots_script(&mut slots, 40, 99);
    home.io("init.jsonl", &script);
    let keys = home.file_keys();
    (home, keys, slots)
}

fn restore_into(home: &Home, dest: &Path, dir: &Path, target: &[&str]) -> String {
    let mut args = vec![
        "restore",
        dest.to_str().unwrap(),
        "--into",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(target);
    home.ok(&args)
}

#[test]
fn a_backup_under_concurrent_transactions_restores_the_primary_at_each_target() {
    let (home, mut keys, mut slots) = primary();
    let dest = home.join("backup");
    let stop = AtomicBool::new(false);
    let rounds = AtomicU64::new(0);
    let backup_out = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let start = Instant::now();
            for round in 0..400u64 {
                if stop.load(Ordering::Relaxed) || start.elapsed() > Duration::from_secs(120) {
                    break;
                }
                let name = format!("ops{round}.jsonl");
                let script = mixed_script(&mut keys, 150, round + 1)
                    + &slots_script(&mut slots, 30, round + 7);
                home.write(&name, &script);
                home.ok(&["io", "--script", &name]);
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        });
        assert!(wait_until(
            Duration::from_secs(60),
            Duration::from_millis(20),
            || { rounds.load(Ordering::Relaxed) >= 2 }
        ));
        // Slowed down (1 KiB reads, 2 ms apart: over a second) so that
        // many transactions run, and abort, while the files are read.
        let out = home.ok(&[
            "backup",
            dest.to_str().unwrap(),
            "--pace-ms",
            "2",
            "--chunk",
            "1024",
        ]);
        let after = rounds.load(Ordering::Relaxed);
        wait_until(Duration::from_secs(60), Duration::from_millis(20), || {
            rounds.load(Ordering::Relaxed) >= after + 3
        });
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        out
    });
    eprintln!("{backup_out}");
    let m = manifest(&dest);
    let consistent = m["consistent_seq"].as_u64().unwrap();
    let start = m["start_seq"].as_u64().unwrap();
    assert!(
        backup_out.contains(&format!("consistent at seq {consistent}")),
        "{backup_out}"
    );
    // Writes and aborts did happen while the files were read.
    assert!(consistent > start, "{m:#}");
    assert!(
        m["copy"]["aborted_transactions"].as_u64().unwrap() > 0,
        "{m:#}"
    );
    let paths = backed_up(&m);
    assert_eq!(paths.len(), 2, "{m:#}");

    let journal = home.join("journal");
    let all = stamps(&journal);
    let last = all.last().unwrap().0;
    assert!(last > consistent + 10, "no writes after the backup: {last}");
    let later = consistent + (last - consistent) / 2;
    // A time three quarters of the way: the entries up to the first one
    // stamped after it.
    let t = all[((consistent + (last - consistent) * 3 / 4) - 1) as usize].1;
    let by_time = all
        .iter()
        .find(|(_, ts)| *ts > t)
        .map_or(last, |(seq, _)| seq - 1);
    let mut targets = vec![consistent, later, by_time, last];
    targets.sort_unstable();
    let states: HashMap<u64, Files> = targets
        .iter()
        .copied()
        .zip(states_at(&journal, &targets))
        .collect();

    let r = home.join("at_consistent");
    restore_into(&home, &dest, &r, &["--to-seq", &consistent.to_string()]);
    assert_restored(&r, &paths, &states[&consistent], "at the consistent seq");

    let r = home.join("at_later");
    let out = restore_into(&home, &dest, &r, &["--to-seq", &later.to_string()]);
    assert!(out.contains(&format!("restored to seq {later}")), "{out}");
    assert_restored(&r, &paths, &states[&later], "at a later seq");

    let r = home.join("by_time");
    let out = restore_into(
        &home,
        &dest,
        &r,
        &["--to-time", &drx_mirror::format_micros(t)],
    );
    assert!(out.contains(&format!("restored to seq {by_time}")), "{out}");
    assert_restored(&r, &paths, &states[&by_time], "by time");

    let r = home.join("latest");
    restore_into(&home, &dest, &r, &[]);
    assert_restored(&r, &paths, &states[&last], "latest");
    // The latest state is what the primary's files hold now.
    for path in &paths {
        assert_eq!(
            std::fs::read(below(&r, path)).unwrap(),
            std::fs::read(path).unwrap(),
            "{path}"
        );
    }
}

/// A quiet primary with a backup of it, and more changes after it.
fn backed_up_home() -> (Home, PathBuf, u64) {
    let (home, mut keys, mut slots) = primary();
    let dest = home.join("backup");
    home.ok(&["backup", dest.to_str().unwrap()]);
    let consistent = manifest(&dest)["consistent_seq"].as_u64().unwrap();
    let script = mixed_script(&mut keys, 100, 5) + &slots_script(&mut slots, 20, 5);
    home.io("after.jsonl", &script);
    (home, dest, consistent)
}

#[test]
fn a_target_before_the_consistent_seq_is_refused() {
    let (home, dest, consistent) = backed_up_home();
    let into = home.join("r");
    let err = home.fails(&[
        "restore",
        dest.to_str().unwrap(),
        "--to-seq",
        &(consistent - 1).to_string(),
        "--into",
        into.to_str().unwrap(),
    ]);
    assert!(
        err.contains(&format!(
            "target seq {} is before the backup's consistent seq {consistent}",
            consistent - 1
        )),
        "{err}"
    );
    let err = home.fails(&[
        "restore",
        dest.to_str().unwrap(),
        "--to-time",
        "2001-01-01T00:00:00Z",
        "--into",
        into.to_str().unwrap(),
    ]);
    assert!(
        err.contains("time 2001-01-01T00:00:00.000000Z")
            && err.contains(&format!("before the backup's consistent seq {consistent}")),
        "{err}"
    );
    let err = home.fails(&["restore", dest.to_str().unwrap(), "--to-time", "yesterday"]);
    assert!(
        err.contains("\"yesterday\" is not an RFC 3339 time"),
        "{err}"
    );
    assert!(!into.exists());
}

#[test]
fn a_damaged_backup_file_is_refused_by_name() {
    let (home, dest, _) = backed_up_home();
    let m = manifest(&dest);
    let file = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("slots.rel"))
        .unwrap();
    let copy = dest.join(file["copy"].as_str().unwrap());
    let mut bytes = std::fs::read(&copy).unwrap();
    bytes[17] ^= 0x40;
    std::fs::write(&copy, &bytes).unwrap();
    let into = home.join("r");
    let err = home.fails(&[
        "restore",
        dest.to_str().unwrap(),
        "--into",
        into.to_str().unwrap(),
    ]);
    assert!(
        err.contains(&format!(
            "{}: damaged backup file ({})",
            copy.display(),
            file["path"].as_str().unwrap()
        )) && err.contains(&format!(
            "the manifest says {}",
            file["blake3"].as_str().unwrap()
        )),
        "{err}"
    );
    assert!(!into.exists());
}

#[test]
fn a_restore_in_place_brings_the_files_back_to_the_seq() {
    let (home, dest, consistent) = backed_up_home();
    let paths = backed_up(&manifest(&dest));
    let expected = states_at(&home.join("journal"), &[consistent])
        .pop()
        .unwrap();
    let before: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(paths.iter().zip(&before).any(|(p, b)| expected[p] != *b));
    let out = home.ok(&[
        "restore",
        dest.to_str().unwrap(),
        "--to-seq",
        &consistent.to_string(),
    ]);
    assert!(
        out.contains(&format!("restored to seq {consistent}")),
        "{out}"
    );
    for path in &paths {
        assert!(std::fs::read(path).unwrap() == expected[path], "{path}");
    }
}

#[test]
fn a_running_application_that_serves_no_barrier_is_said_clearly() {
    // Not mirrored: an application's session serves no mailbox. The
    // journal's writer is held here for as long as the backup tries (an
    // application that holds it without a mailbox), so that the backup
    // cannot outlast it (a `drx io` run could end within the timeout).
    let home = Home::sample();
    home.demo_records(100);
    let journal = home.join("journal");
    let writer = drx_journal::Writer::open(drx_journal::WriterConfig::new(&journal)).unwrap();
    let dest = home.join("backup");
    let err = home.fails(&["backup", dest.to_str().unwrap(), "--timeout", "1"]);
    writer.close().unwrap();
    assert!(
        err.contains("an application holds the journal")
            && err.contains("applications serve no barrier requests"),
        "{err}"
    );
    assert!(!dest.exists());
    // Once the application is gone, the backup runs.
    let out = home.ok(&["backup", dest.to_str().unwrap(), "--timeout", "1"]);
    assert!(out.contains("consistent at seq"), "{out}");
}
