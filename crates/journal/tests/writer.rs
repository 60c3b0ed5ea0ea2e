//! Writing and reading back: every variant, segment rolls, reopening,
//! epochs, the writer lock, durability modes.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use drx_journal::{
    Durability, Effect, JournalError, Locator, NewEntry, Reader, RecordChange, RecordOp, Writer,
    last_seq,
};
use support::*;

#[test]
fn every_effect_and_record_variant_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let entries = every_variant();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as i64;
    let mut w = open(dir.path(), 1 << 20);
    let seqs = append_all(&mut w, &entries);
    assert_eq!(seqs, (1..=entries.len() as u64).collect::<Vec<_>>());
    assert_eq!(w.last_seq(), entries.len() as u64);
    w.close().expect("close");

    let read = read_all(dir.path(), 1);
    assert_eq!(contents(&read), normalized(&entries));
    for (i, r) in read.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1);
        assert_eq!(r.epoch, 1);
        assert!(
            r.timestamp_us >= before,
            "timestamp {} < {before}",
            r.timestamp_us
        );
    }
}

#[test]
fn after_image_equal_to_the_written_tail_is_stored_once() {
    let record = [b'x'; 300];
    let entry = |after: Option<&'static [u8]>, data: &'static [u8]| NewEntry {
        txn: 0,
        process: "p",
        file: "f",
        effect: Effect::Write { offset: 0, data },
        record: Some(RecordChange {
            op: RecordOp::Insert,
            locator: Locator::None,
            before: None,
            after,
        }),
    };
    let size_of = |e: &NewEntry<'_>| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = open(dir.path(), 1 << 20);
        w.append(e).expect("append");
        w.close().expect("close");
        let read = read_all(dir.path(), 1);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].entry, Owned::from_new(e));
        std::fs::metadata(&segments(dir.path())[0])
            .expect("stat")
            .len()
    };
    let data: &'static [u8] = Box::leak(Box::new(record));
    let referenced = size_of(&entry(Some(&data[100..]), data));
    let copied = size_of(&entry(Some(b"something else"), data));
    let absent = size_of(&entry(None, data));
    assert_eq!(
        referenced,
        absent + 4,
        "a reference costs its 4-byte offset"
    );
    assert_eq!(copied, absent + 4 + 14);
}

#[test]
fn seq_stays_contiguous_across_segment_rolls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let entries: Vec<Owned> = (0..500).map(insert).collect();
    let mut w = open(dir.path(), 4096);
    append_all(&mut w, &entries);
    w.close().expect("close");

    let segs = segments(dir.path());
    assert!(
        segs.len() > 20,
        "expected many segments, got {}",
        segs.len()
    );
    let mut expect_first = 1;
    for s in &segs {
        let name = s.file_name().and_then(|n| n.to_str()).expect("name");
        assert_eq!(name, format!("{expect_first:020}.seg"));
        assert!(std::fs::metadata(s).expect("stat").len() <= 4096);
        expect_first += frame_offsets(s).len() as u64;
    }
    assert_eq!(expect_first, 501);

    let read = read_all(dir.path(), 1);
    assert_eq!(
        read.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=500).collect::<Vec<_>>()
    );
    assert_eq!(contents(&read), normalized(&entries));
    // From the middle of a segment.
    let tail = read_all(dir.path(), 333);
    assert_eq!(tail.first().map(|r| r.seq), Some(333));
    assert_eq!(tail.len(), 168);
    assert_eq!(last_seq(dir.path()).expect("last_seq"), 500);
}

#[test]
fn reopening_continues_the_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    for round in 0..3u64 {
        let mut w = open(dir.path(), 2048);
        assert_eq!(w.last_seq(), round * 10);
        let seqs = append_all(&mut w, &(0..10).map(insert).collect::<Vec<_>>());
        assert_eq!(seqs.first(), Some(&(round * 10 + 1)));
        w.close().expect("close");
    }
    let read = read_all(dir.path(), 1);
    assert_eq!(read.len(), 30);
    assert_eq!(last_seq(dir.path()).expect("last_seq"), 30);
}

#[test]
fn empty_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("new").join("journal");
    assert!(matches!(last_seq(&journal), Err(JournalError::Io { .. })));
    let w = open(&journal, 1 << 20);
    assert_eq!(w.last_seq(), 0);
    drop(w);
    assert_eq!(last_seq(&journal).expect("last_seq"), 0);
    assert!(read_all(&journal, 1).is_empty());
    assert!(read_all(&journal, 0).is_empty());
}

#[test]
fn epoch_is_persisted_and_never_goes_backwards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 1 << 20);
    assert_eq!(w.epoch(), 1);
    w.append(&insert(1).as_new()).expect("append");
    w.set_epoch(5).expect("set epoch");
    w.set_epoch(5).expect("same epoch again");
    w.append(&insert(2).as_new()).expect("append");
    match w.set_epoch(3) {
        Err(
            e @ JournalError::EpochBackwards {
                current: 5,
                requested: 3,
            },
        ) => {
            assert!(e.to_string().contains("backwards"), "{e}");
        }
        other => panic!("expected EpochBackwards, got {other:?}"),
    }
    w.close().expect("close");

    let w = open(dir.path(), 1 << 20);
    assert_eq!(w.epoch(), 5);
    drop(w);
    let epochs: Vec<u64> = read_all(dir.path(), 1).iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, [1, 5]);
}

#[test]
fn a_second_writer_is_locked_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = open(dir.path(), 1 << 20);
    match Writer::open(config(dir.path(), 1 << 20, Durability::None)) {
        Err(e @ JournalError::Locked { .. }) => {
            let JournalError::Locked { path } = &e else {
                unreachable!()
            };
            assert_eq!(path, &dir.path().join("LOCK"));
            assert!(
                e.to_string()
                    .contains(&*dir.path().join("LOCK").to_string_lossy()),
                "{e}"
            );
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    first.close().expect("close");
    let again = open(dir.path(), 1 << 20);
    drop(again);
    // Dropping (not closing) also releases the lock.
    let _third = open(dir.path(), 1 << 20);
}

#[test]
fn every_durability_mode_produces_a_readable_journal() {
    for durability in [Durability::EveryEntry, group(), Durability::None] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut entries = every_variant();
        entries.extend((0..40).map(insert));
        let mut w = Writer::open(config(dir.path(), 1024, durability)).expect("open");
        append_all(&mut w, &entries);
        w.sync().expect("sync");
        append_all(&mut w, &entries);
        w.close().expect("close");
        let read = read_all(dir.path(), 1);
        let mut expected = normalized(&entries);
        expected.extend(normalized(&entries));
        assert_eq!(contents(&read), expected, "{durability:?}");
    }
}

#[test]
fn group_commit_flushes_an_idle_writer_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = Writer::open(config(
        dir.path(),
        1 << 20,
        Durability::Group {
            max_entries: 1000,
            max_delay: Duration::from_millis(5),
        },
    ))
    .expect("open");
    w.append(&insert(1).as_new()).expect("append");
    // No flush: the flusher thread must write it out by itself.
    let mut r = Reader::open(dir.path(), 1).expect("reader");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = None;
    for _ in 0..20_000 {
        if let Some(e) = r.next().expect("next") {
            seen = Some(e.seq);
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        seen,
        Some(1),
        "the idle writer's entry never reached the file"
    );
    w.close().expect("close");
}

#[test]
fn commit_and_abort_markers_flush_to_the_os() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 1 << 20);
    w.append(&insert(1).as_new()).expect("append");
    assert!(read_all(dir.path(), 1).is_empty(), "buffered until a flush");
    let marker = |effect| NewEntry {
        txn: 9,
        process: "p",
        file: "f",
        effect,
        record: None,
    };
    w.append(&marker(Effect::CommitTxn)).expect("commit");
    assert_eq!(read_all(dir.path(), 1).len(), 2);
    w.append(&insert(2).as_new()).expect("append");
    w.append(&marker(Effect::AbortTxn)).expect("abort");
    assert_eq!(read_all(dir.path(), 1).len(), 4);
    w.append(&insert(3).as_new()).expect("append");
    w.flush().expect("flush");
    assert_eq!(read_all(dir.path(), 1).len(), 5);
    drop(w); // best-effort flush on drop
}

#[test]
fn dropping_a_writer_flushes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 1 << 20);
    append_all(&mut w, &(0..10).map(insert).collect::<Vec<_>>());
    drop(w);
    assert_eq!(read_all(dir.path(), 1).len(), 10);
}

#[test]
fn oversized_entries_are_refused_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 1 << 20);
    let big = vec![0u8; drx_journal::MAX_PAYLOAD + 1];
    let e = NewEntry {
        txn: 0,
        process: "p",
        file: "f",
        effect: Effect::Write {
            offset: 0,
            data: &big,
        },
        record: None,
    };
    match w.append(&e) {
        Err(e @ JournalError::EntryTooLarge { .. }) => {
            assert!(e.to_string().contains("too large"), "{e}")
        }
        other => panic!("expected EntryTooLarge, got {other:?}"),
    }
    let long_name = "n".repeat(70_000);
    let e = NewEntry {
        txn: 0,
        process: "p",
        file: &long_name,
        effect: Effect::None,
        record: None,
    };
    assert!(matches!(
        w.append(&e),
        Err(JournalError::EntryTooLarge { len: 70_000 })
    ));
    assert_eq!(w.append(&insert(1).as_new()).expect("append"), 1);
    // A large entry (bigger than the write buffer and the segment size)
    // still goes through, alone in its segment.
    let large = vec![7u8; 3 << 20];
    let e = NewEntry {
        txn: 0,
        process: "p",
        file: "f",
        effect: Effect::Write {
            offset: 0,
            data: &large,
        },
        record: None,
    };
    assert_eq!(w.append(&e).expect("append large"), 2);
    assert_eq!(w.append(&insert(3).as_new()).expect("append"), 3);
    w.close().expect("close");
    let read = read_all(dir.path(), 1);
    assert_eq!(read.len(), 3);
    assert_eq!(read[1].entry, Owned::from_new(&e));
}

#[test]
fn the_documented_sizes_and_check_value_hold() {
    // docs/JOURNAL_FORMAT.md: the CRC32C check value, and a 200-byte insert
    // by record number takes a 304-byte frame after the 48-byte header.
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = [b'r'; 200];
    let mut w = open(dir.path(), 1 << 20);
    w.append(&NewEntry {
        txn: 0,
        process: "bench_app",
        file: "/srv/data/customers.dat",
        effect: Effect::Write {
            offset: 0,
            data: &data,
        },
        record: Some(RecordChange {
            op: RecordOp::Insert,
            locator: Locator::RecNo(1),
            before: None,
            after: Some(&data),
        }),
    })
    .expect("append");
    w.close().expect("close");
    let segment = &segments(dir.path())[0];
    assert_eq!(std::fs::metadata(segment).expect("stat").len(), 48 + 304);
    let bytes = std::fs::read(segment).expect("read");
    assert_eq!(&bytes[..8], b"DRXJRNL\0");
    assert_eq!(&bytes[8..12], &[1, 0, 48, 0]);
}

#[test]
fn debug_output_stays_short() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = open(dir.path(), 1 << 20);
    let r = Reader::open(dir.path(), 1).expect("reader");
    assert!(format!("{w:?}").len() < 1000, "{w:?}");
    assert!(format!("{r:?}").len() < 1000, "{r:?}");
}

#[test]
fn writers_and_readers_can_move_between_threads() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Writer>();
    sync::<Writer>();
    send::<Reader>();
    send::<JournalError>();
    sync::<JournalError>();
}

/// Records each call, and whether the entry was visible to a reader then.
#[derive(Debug)]
struct Waiter {
    dir: std::path::PathBuf,
    calls: std::sync::Arc<std::sync::Mutex<Vec<(u64, bool)>>>,
}

impl drx_journal::CommitWaiter for Waiter {
    fn committed(&mut self, seq: u64) {
        let visible = last_seq(&self.dir).unwrap() >= seq;
        self.calls.lock().unwrap().push((seq, visible));
    }
}

#[test]
fn the_commit_waiter_is_called_after_each_committed_unit_once_readers_see_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Group durability: without the waiter nothing would reach the OS yet.
    let mut w = Writer::open(config(dir.path(), 1 << 20, group())).unwrap();
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    w.set_commit_waiter(Some(Box::new(Waiter {
        dir: dir.path().to_owned(),
        calls: calls.clone(),
    })));
    let entry = |txn: u64, effect: Effect<'static>| NewEntry {
        txn,
        process: "p",
        file: "/f",
        effect,
        record: None,
    };
    let write = Effect::Write {
        offset: 0,
        data: b"abcd",
    };
    let lone = w.append(&entry(0, write)).unwrap();
    // As capture writes them: a transaction's id is its begin's seq, which
    // every entry of it carries, the begin included.
    let begin = w.last_seq() + 1;
    w.append(&entry(begin, Effect::BeginTxn)).unwrap();
    w.append(&entry(begin, write)).unwrap();
    w.append(&entry(begin, write)).unwrap();
    let commit = w.append(&entry(begin, Effect::CommitTxn)).unwrap();
    let begin2 = w.last_seq() + 1;
    w.append(&entry(begin2, Effect::BeginTxn)).unwrap();
    w.append(&entry(begin2, write)).unwrap();
    w.append(&entry(begin2, Effect::AbortTxn)).unwrap();
    let calls = calls.lock().unwrap().clone();
    // Nothing inside a transaction, nothing for an abort.
    assert_eq!(calls, vec![(lone, true), (commit, true)]);
    w.set_commit_waiter(None);
    w.append(&entry(0, write)).unwrap();
    w.close().unwrap();
}
