//! The hazards of `backup`'s module documentation, made to happen at a
//! chosen moment: the test's barrier runs the application's next
//! operations (an abort, a commit) between the copy and the barrier seq,
//! as a real application does while `drx backup` waits for its answer.

#![allow(clippy::unwrap_used)]

use super::*;
use drx_capture::{Capture, CapturedFile, FileSpec, Org, Target};
use drx_config::Config;
use std::path::{Path, PathBuf};

const REC: usize = 8;

/// A home whose `*.rel` files are critical, a session on it, and `a.rel`
/// (relative, 8-byte records) with records 1 to 4.
fn setup() -> (tempfile::TempDir, PathBuf, Config, Capture, CapturedFile) {
    let dir = tempfile::tempdir().unwrap();
    let home = std::fs::canonicalize(dir.path()).unwrap();
    let config = Config::parse(
        "drx.toml",
        "[journal]\ndir = \"journal\"\n[[files]]\nprocess_name = \"*\"\nsource_path = \"*.rel\"\n",
        &home,
    )
    .unwrap();
    let mut capture = Capture::open(&config, "app").unwrap();
    let spec = FileSpec {
        organization: Org::Relative,
        record_len: REC,
        layout: None,
    };
    let mut f = capture.create(&home.join("a.rel"), spec).unwrap();
    for (i, r) in [b"11111111", b"22222222", b"33333333", b"44444444"]
        .iter()
        .enumerate()
    {
        capture.write(&mut f, *r, Some(i as u64 + 1)).unwrap();
    }
    (dir, home, config, capture, f)
}

/// What the application does at one barrier call.
type Step = Box<dyn FnMut(&mut Capture, &mut CapturedFile)>;

/// A barrier that runs `steps[i]` at its `i`th call, then answers with
/// the journal's last seq (flushed), as the application's session would.
struct Scripted<'a> {
    capture: &'a mut Capture,
    file: &'a mut CapturedFile,
    steps: Vec<Step>,
    calls: usize,
}

impl Barrier for Scripted<'_> {
    fn barrier(&mut self) -> Result<u64, BackupError> {
        if let Some(step) = self.steps.get_mut(self.calls) {
            step(self.capture, self.file);
        }
        self.calls += 1;
        self.capture.journal().flush().unwrap();
        Ok(self.capture.journal().last_seq())
    }
}

/// Backs up `home`'s a.rel with `barrier`, restores it at the consistent
/// seq into `<home>/restored` and returns the manifest.
fn backup_and_restore(home: &Path, config: &Config, barrier: &mut dyn Barrier) -> BackupManifest {
    let dest = home.join("backup");
    let report = take_backup(
        &BackupOptions {
            home: home.to_owned(),
            journal_dir: config.journal.dir.clone(),
            files: vec![home.join("a.rel")],
            dest: dest.clone(),
            pace: Pace::default(),
        },
        barrier,
    )
    .unwrap();
    let r = restore(&RestoreOptions {
        backup: dest,
        journal_dir: config.journal.dir.clone(),
        into: Some(home.join("restored")),
        target: RestoreTarget::Seq(report.manifest.consistent_seq),
        work_dir: Some(home.to_owned()),
    })
    .unwrap();
    assert_eq!(r.seq, report.manifest.consistent_seq);
    report.manifest
}

/// The file `name` of `home` as restored, as text.
fn restored(home: &Path, name: &str) -> Option<String> {
    let path = home
        .join("restored")
        .join(home.join(name).strip_prefix("/").unwrap());
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The file `name` of `home`, as text.
fn primary(home: &Path, name: &str) -> String {
    String::from_utf8_lossy(&std::fs::read(home.join(name)).unwrap()).into_owned()
}

#[test]
fn bytes_of_a_transaction_aborted_after_the_copy_are_read_again() {
    let (_d, home, config, mut capture, mut f) = setup();
    // Open during the copy: record 2 rewritten, record 9 written past the
    // end (the file grows from 4 to 9 slots).
    capture.begin().unwrap();
    capture
        .rewrite(&mut f, Target::RecNo(2), b"XXXXXXXX")
        .unwrap();
    capture.write(&mut f, b"99999999", Some(9)).unwrap();
    capture.journal().flush().unwrap();
    let mut barrier = Scripted {
        capture: &mut capture,
        file: &mut f,
        steps: vec![
            // After the copy: the abort undoes both, unjournaled; then a
            // new transaction rewrites record 2 while it is read again...
            Box::new(|c, f| {
                c.abort().unwrap();
                c.begin().unwrap();
                c.rewrite(f, Target::RecNo(2), b"ZZZZZZZZ").unwrap();
            }),
            // ...and aborts after that re-read.
            Box::new(|c, _| {
                c.abort().unwrap();
            }),
        ],
        calls: 0,
    };
    let manifest = backup_and_restore(&home, &config, &mut barrier);
    assert_eq!(primary(&home, "a.rel").len(), 4 * (REC + 1));
    assert_eq!(restored(&home, "a.rel").unwrap(), primary(&home, "a.rel"));
    assert_eq!(manifest.copy.aborted_transactions, 2);
    assert_eq!(manifest.copy.rounds, 3);
    assert!(manifest.open_transactions.is_empty());
}

#[test]
fn a_transaction_open_when_the_copy_begins_is_replayed_from_its_begin() {
    let (_d, home, config, mut capture, mut f) = setup();
    let txn = capture.begin().unwrap();
    capture.write(&mut f, b"55555555", Some(5)).unwrap();
    capture.journal().flush().unwrap();
    let mut barrier = Scripted {
        capture: &mut capture,
        file: &mut f,
        steps: vec![Box::new(|c, f| {
            // After the copy, in the same transaction, then committed.
            c.write(f, b"66666666", Some(6)).unwrap();
            c.commit().unwrap();
        })],
        calls: 0,
    };
    let manifest = backup_and_restore(&home, &config, &mut barrier);
    assert_eq!(manifest.journal.first_seq, txn);
    assert!(manifest.start_seq > txn);
    assert_eq!(primary(&home, "a.rel").len(), 6 * (REC + 1));
    assert_eq!(restored(&home, "a.rel").unwrap(), primary(&home, "a.rel"));
}

#[test]
fn a_rename_during_the_copy_copies_again_under_the_new_name() {
    let (_d, home, config, mut capture, mut f) = setup();
    capture.journal().flush().unwrap();
    let (a, b) = (home.join("a.rel"), home.join("b.rel"));
    let mut barrier = Scripted {
        capture: &mut capture,
        file: &mut f,
        steps: vec![Box::new(move |c, _| c.rename(&a, &b).unwrap())],
        calls: 0,
    };
    let manifest = backup_and_restore(&home, &config, &mut barrier);
    assert_eq!(manifest.copy.attempts, 2);
    assert_eq!(manifest.files.len(), 1);
    assert!(manifest.files[0].path.ends_with("/b.rel"));
    assert_eq!(restored(&home, "a.rel"), None);
    assert_eq!(restored(&home, "b.rel").unwrap(), primary(&home, "b.rel"));
}
