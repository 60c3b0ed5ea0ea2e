//! Checksums for the standby: on a mirrored primary only, a critical file's
//! size and record count are journaled at open and close, the full form
//! (blake3 per block and whole) every check interval and for `drx
//! verify`, never inside a transaction; `drx verify`'s mailbox is served
//! by a running session.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Entry, Home, OwnedEffect, rec, spec};
use drx_capture::{ChecksumRequest, Org, Script, Target, request_checksums};
use drx_journal::{ChecksumReason, FileChecksum, FileOrganization};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const MIRRORED: &str = "[mirror]\nsecret_env = \"DRX_TEST_SECRET\"\n";

/// A mirrored home (a `[mirror]` secret) where every `*.dat` is critical.
fn mirrored(global: &str) -> Home {
    Home::with_config(&format!(
        "[global_settings]\n{global}\n[journal]\ndurability = \"none\"\n{MIRRORED}\n[[files]]\nsource_path = \"*.dat\"\n"
    ))
}

fn checksums(entries: &[Entry]) -> Vec<(u64, String, FileChecksum)> {
    entries
        .iter()
        .filter_map(|e| match &e.effect {
            OwnedEffect::Checksum(c) => Some((e.seq, e.file.clone(), c.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn no_checksum_unless_the_home_is_a_mirrored_primary() {
    let home = Home::all_critical();
    let path = home.path("a.dat");
    let mut capture = home.capture("p");
    let mut f = capture.create(&path, spec(Org::Fixed)).unwrap();
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    capture.close_file(f).unwrap();
    let mut f = capture.open_file(&path, spec(Org::Fixed)).unwrap();
    assert_eq!(capture.write(&mut f, &rec(2, b'b'), None).unwrap(), 3);
    capture.close_file(f).unwrap();
    capture.close().unwrap();
    let entries = home.entries();
    assert_eq!(entries.len(), 3);
    assert!(checksums(&entries).is_empty());
}

#[test]
fn open_and_close_journal_size_and_record_count() {
    let home = mirrored("");
    let mut capture = home.capture("p");
    for org in [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed] {
        let path = home.path(&format!("{}.dat", org.name()));
        let mut f = capture.create(&path, spec(org)).unwrap();
        for i in 1..=3 {
            capture.write(&mut f, &rec(i, b'a'), None).unwrap();
        }
        if org == Org::Relative {
            capture.delete(&mut f, Target::RecNo(2)).unwrap();
        }
        capture.close_file(f).unwrap();
        let f = capture.open_file(&path, spec(org)).unwrap();
        capture.close_file(f).unwrap();
    }
    capture.close().unwrap();
    let entries = home.entries();
    let found = checksums(&entries);
    assert_eq!(found.len(), 12, "{found:?}");
    for org in [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed] {
        let path = home.path(&format!("{}.dat", org.name()));
        let size = std::fs::metadata(&path).unwrap().len();
        let records = if org == Org::Relative { 2 } else { 3 };
        let mine: Vec<&FileChecksum> = found
            .iter()
            .filter(|(_, f, _)| *f == home.jpath(&format!("{}.dat", org.name())))
            .map(|(_, _, c)| c)
            .collect();
        let reasons: Vec<ChecksumReason> = mine.iter().map(|c| c.reason).collect();
        assert_eq!(
            reasons,
            [
                ChecksumReason::Close,
                ChecksumReason::Open,
                ChecksumReason::Close
            ],
            "{org:?}"
        );
        for c in mine {
            assert_eq!(c.size, size, "{org:?}");
            assert_eq!(c.records, Some(records), "{org:?}");
            assert_eq!(c.organization, org_code(org));
            assert_eq!(c.record_len, 8);
            assert_eq!((c.block_size, c.file_digest, c.blocks.len()), (0, None, 0));
        }
    }
    // Checksums carry no transaction and no record meaning.
    for e in entries
        .iter()
        .filter(|e| matches!(e.effect, OwnedEffect::Checksum(_)))
    {
        assert_eq!((e.txn, e.record.is_none()), (0, true));
    }
}

fn org_code(org: Org) -> FileOrganization {
    match org {
        Org::Fixed => FileOrganization::Fixed,
        Org::Relative => FileOrganization::Relative,
        Org::Sequential => FileOrganization::Sequential,
        Org::Indexed => FileOrganization::Indexed,
    }
}

#[test]
fn check_file_at_open_and_at_close_can_be_turned_off() {
    let home = mirrored("check_file_at_open = false\ncheck_file_at_close = false");
    let path = home.path("a.dat");
    let mut capture = home.capture("p");
    let mut f = capture.create(&path, spec(Org::Fixed)).unwrap();
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    capture.close_file(f).unwrap();
    let f = capture.open_file(&path, spec(Org::Fixed)).unwrap();
    capture.close_file(f).unwrap();
    capture.close().unwrap();
    assert!(checksums(&home.entries()).is_empty());
}

#[test]
fn a_check_due_inside_a_transaction_waits_for_its_end() {
    let home = mirrored("");
    let path = home.path("a.dat");
    let mut capture = home.capture("p");
    let mut f = capture.create(&path, spec(Org::Fixed)).unwrap();
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    capture.close_file(f).unwrap();

    // Opened inside a transaction: checked right after the commit, with
    // the records the commit leaves.
    capture.begin().unwrap();
    let mut f = capture.open_file(&path, spec(Org::Fixed)).unwrap();
    capture.write(&mut f, &rec(2, b'b'), None).unwrap();
    let commit = capture.commit().unwrap();
    // Closed inside a transaction that aborts: checked after the abort,
    // with the records the abort leaves.
    capture.begin().unwrap();
    capture.write(&mut f, &rec(3, b'c'), None).unwrap();
    capture.close_file(f).unwrap();
    let abort = capture.abort().unwrap();
    capture.close().unwrap();

    let entries = home.entries();
    let found = checksums(&entries);
    assert_eq!(found.len(), 3, "{found:?}");
    let (seq, _, c) = &found[1];
    assert_eq!((*seq, c.reason), (commit + 1, ChecksumReason::Open));
    assert_eq!((c.size, c.records), (16, Some(2)));
    let (seq, _, c) = &found[2];
    assert_eq!((*seq, c.reason), (abort + 1, ChecksumReason::Close));
    assert_eq!((c.size, c.records), (16, Some(2)));
    // None inside a transaction.
    for e in &entries {
        if matches!(e.effect, OwnedEffect::Checksum(_)) {
            assert_eq!(e.txn, 0);
        }
    }
}

#[test]
fn the_interval_check_is_the_full_form_at_the_next_operation() {
    let home = mirrored("check_file_interval = 5");
    let path = home.path("a.dat");
    let mut capture = home.capture("p");
    let mut f = capture.create(&path, spec(Org::Fixed)).unwrap();
    // Five minutes have not passed: nothing but the writes.
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    capture.write(&mut f, &rec(2, b'b'), None).unwrap();
    assert!(
        checksums(&{
            capture.sync().unwrap();
            home.entries()
        })
        .is_empty()
    );
    // Now due at every operation (outside transactions).
    capture.set_check_interval(Some(Duration::ZERO));
    let before = std::fs::read(&path).unwrap();
    let seq = capture.write(&mut f, &rec(3, b'c'), None).unwrap();
    capture.begin().unwrap();
    capture.write(&mut f, &rec(4, b'd'), None).unwrap();
    capture.commit().unwrap();
    capture.close().unwrap();

    let entries = home.entries();
    let found = checksums(&entries);
    assert_eq!(found.len(), 1, "{found:?}");
    let (at, file, c) = &found[0];
    assert_eq!(
        (*at, file.as_str()),
        (seq - 1, home.jpath("a.dat").as_str())
    );
    assert_eq!(c.reason, ChecksumReason::Interval);
    assert_eq!((c.size, c.records), (16, Some(2)));
    assert_eq!(c.block_size, drx_journal::CHECKSUM_BLOCK_SIZE);
    assert_eq!(c.file_digest, Some(*blake3::hash(&before).as_bytes()));
    assert_eq!(c.blocks, vec![*blake3::hash(&before).as_bytes()]);
}

#[test]
fn checksum_files_takes_full_checksums_and_names_what_it_cannot() {
    let home = mirrored("");
    let path = home.path("a.dat");
    let mut capture = home.capture("p");
    let mut f = capture.create(&path, spec(Org::Fixed)).unwrap();
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    let outside = home.path("not-critical.txt");
    std::fs::write(&outside, b"x").unwrap();
    let tickets = capture
        .checksum_files(&[path.clone(), home.path("missing.dat"), outside], None)
        .unwrap();
    capture.close().unwrap();
    assert_eq!(tickets.len(), 3);
    assert_eq!(tickets[0].seq, Some(3));
    assert!(
        tickets[1]
            .error
            .as_deref()
            .unwrap()
            .contains("no such file")
    );
    assert!(
        tickets[2]
            .error
            .as_deref()
            .unwrap()
            .contains("not a critical file")
    );
    let entries = home.entries();
    let found = checksums(&entries);
    assert_eq!(found.len(), 1);
    let (_, _, c) = &found[0];
    assert_eq!(c.reason, ChecksumReason::Verify);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(c.size, bytes.len() as u64);
    assert_eq!(c.file_digest, Some(*blake3::hash(&bytes).as_bytes()));
    // No layout maps the file: records unknown.
    assert_eq!(
        (c.organization, c.records),
        (FileOrganization::Unknown, None)
    );
}

#[test]
fn a_running_session_serves_the_mailbox_at_its_next_operation() {
    let home = mirrored("");
    let path = home.path("a.dat");
    let mut capture = home.capture("p");
    let mut f = capture.create(&path, spec(Org::Fixed)).unwrap();
    let journal = home.config.journal.dir.clone();
    let request = ChecksumRequest {
        files: vec![path.clone()],
        process: None,
    };
    let asker = std::thread::spawn(move || {
        request_checksums(&journal, &request, Duration::from_secs(20)).unwrap()
    });
    // The application goes on writing; bounded in count and time.
    let start = Instant::now();
    let mut n = 0;
    while !asker.is_finished() && n < 10_000 && start.elapsed() < Duration::from_secs(30) {
        n += 1;
        capture.write(&mut f, &rec(n, b'w'), None).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let tickets = asker.join().unwrap().expect("answered in time");
    capture.close().unwrap();
    assert_eq!(tickets.len(), 1);
    let seq = tickets[0].seq.expect("a seq");
    let entries = home.entries();
    let e = entries.iter().find(|e| e.seq == seq).unwrap();
    let OwnedEffect::Checksum(c) = &e.effect else {
        panic!("seq {seq} is not a checksum: {e:?}");
    };
    assert_eq!(c.reason, ChecksumReason::Verify);
    // The state as of that seq: the writes before it.
    let writes_before = entries
        .iter()
        .filter(|x| x.seq < seq && matches!(x.effect, OwnedEffect::Write { .. }))
        .count() as u64;
    assert_eq!(c.size, writes_before * 8);
    // The mailbox is empty again.
    let verify = drx_capture::verify_dir(&home.config.journal.dir);
    for sub in ["requests", "answers"] {
        let left: Vec<PathBuf> = std::fs::read_dir(verify.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "{sub}: {left:?}");
    }
}

#[test]
fn a_request_nobody_serves_times_out_and_is_withdrawn() {
    let home = mirrored("");
    let journal = home.config.journal.dir.clone();
    std::fs::create_dir_all(&journal).unwrap();
    let request = ChecksumRequest {
        files: vec![home.path("a.dat")],
        process: None,
    };
    let answer = request_checksums(&journal, &request, Duration::from_millis(100)).unwrap();
    assert_eq!(answer, None);
    let left = std::fs::read_dir(drx_capture::verify_dir(&journal).join("requests"))
        .unwrap()
        .count();
    assert_eq!(left, 0);
}

#[test]
fn a_script_closes_its_files_at_its_end() {
    let home = mirrored("");
    let file = home.jpath("a.dat");
    let script = format!(
        "{{\"op\":\"create\",\"file\":\"{file}\",\"organization\":\"fixed\",\"record_len\":4}}\n\
         {{\"op\":\"write\",\"file\":\"{file}\",\"hex\":\"61626364\"}}\n"
    );
    let mut capture = home.capture("p");
    let summary = Script::new(&home.config).run(&mut capture, "ops", script.as_bytes());
    let summary = summary.unwrap();
    capture.close().unwrap();
    assert_eq!(summary.journaled, 3);
    let found = checksums(&home.entries());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].2.reason, ChecksumReason::Close);
    assert_eq!((found[0].2.size, found[0].2.records), (4, Some(1)));
}
