//! Consumer positions and the removal of passed segments.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use drx_journal::{
    JournalError, Reader, consumer_position, consumers, register_consumer, remove_passed_segments,
    set_consumer_position,
};
use support::*;

/// 100 inserts in small segments; returns each segment's (first, last) seq.
fn journal(dir: &Path) -> Vec<(u64, u64)> {
    let mut w = open(dir, 2048);
    append_all(&mut w, &(1..=100).map(insert).collect::<Vec<_>>());
    w.close().expect("close");
    let mut ranges = Vec::new();
    let mut first = 1;
    for s in segments(dir) {
        let n = frame_offsets(&s).len() as u64;
        ranges.push((first, first + n - 1));
        first += n;
    }
    assert!(ranges.len() >= 10);
    ranges
}

#[test]
fn consumer_positions_are_durable_and_only_move_forward() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(consumers(dir.path()).expect("none yet").is_empty());
    assert_eq!(
        consumer_position(dir.path(), "standby").expect("read"),
        None
    );
    register_consumer(dir.path(), "standby").expect("register");
    register_consumer(dir.path(), "extractor").expect("register");
    assert_eq!(
        consumer_position(dir.path(), "standby").expect("read"),
        Some(0)
    );
    set_consumer_position(dir.path(), "standby", 40).expect("set");
    set_consumer_position(dir.path(), "standby", 30).expect("backwards is ignored");
    assert_eq!(
        consumer_position(dir.path(), "standby").expect("read"),
        Some(40)
    );
    register_consumer(dir.path(), "standby").expect("registering again");
    assert_eq!(
        consumer_position(dir.path(), "standby").expect("read"),
        Some(40)
    );
    assert_eq!(
        consumers(dir.path()).expect("list"),
        [("extractor".to_string(), 0), ("standby".to_string(), 40)]
    );
    match set_consumer_position(dir.path(), "nobody", 5) {
        Err(JournalError::Io { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound)
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    for bad in ["", "../x", ".hidden", "a/b"] {
        assert!(matches!(
            register_consumer(dir.path(), bad),
            Err(JournalError::BadConsumerName { .. })
        ));
    }
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("consumers"))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn without_consumers_nothing_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ranges = journal(dir.path());
    assert!(
        remove_passed_segments(dir.path())
            .expect("remove")
            .is_empty()
    );
    assert_eq!(segments(dir.path()).len(), ranges.len());
}

#[test]
fn exactly_the_fully_passed_sealed_segments_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ranges = journal(dir.path());
    let all = segments(dir.path());
    register_consumer(dir.path(), "fast").expect("register");
    register_consumer(dir.path(), "slow").expect("register");
    set_consumer_position(dir.path(), "fast", 100).expect("set");

    // "slow" at 0: nothing passed.
    assert!(
        remove_passed_segments(dir.path())
            .expect("remove")
            .is_empty()
    );

    // "slow" one short of the end of segment 3: segments 0..=2 go.
    set_consumer_position(dir.path(), "slow", ranges[3].1 - 1).expect("set");
    let removed = remove_passed_segments(dir.path()).expect("remove");
    assert_eq!(removed, all[..3]);
    assert_eq!(segments(dir.path()), all[3..]);

    // Exactly at the end of segment 3: it goes too.
    set_consumer_position(dir.path(), "slow", ranges[3].1).expect("set");
    assert_eq!(
        remove_passed_segments(dir.path()).expect("remove"),
        all[3..4]
    );

    // Reading from a removed seq is Gone; from the oldest kept one works.
    let oldest = ranges[4].0;
    match Reader::open(dir.path(), oldest - 1) {
        Err(e @ JournalError::Gone { .. }) => {
            let JournalError::Gone {
                requested,
                oldest: o,
            } = e
            else {
                unreachable!()
            };
            assert_eq!((requested, o), (oldest - 1, oldest));
        }
        other => panic!("expected Gone, got {other:?}"),
    }
    let read = read_all(dir.path(), oldest);
    assert_eq!(read.first().map(|r| r.seq), Some(oldest));
    assert_eq!(read.last().map(|r| r.seq), Some(100));

    // Everyone at the end: every sealed segment goes, never the newest.
    set_consumer_position(dir.path(), "slow", 100).expect("set");
    remove_passed_segments(dir.path()).expect("remove");
    assert_eq!(segments(dir.path()), all[all.len() - 1..]);
    assert!(
        remove_passed_segments(dir.path())
            .expect("remove")
            .is_empty()
    );

    // The writer still resumes correctly.
    let mut w = open(dir.path(), 2048);
    assert_eq!(w.last_seq(), 100);
    assert_eq!(w.append(&insert(101).as_new()).expect("append"), 101);
    w.close().expect("close");
    assert_eq!(drx_journal::last_seq(dir.path()).expect("last_seq"), 101);
}

#[test]
fn an_open_reader_survives_removal_of_its_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ranges = journal(dir.path());
    let mut r = Reader::open(dir.path(), 1).expect("reader");
    assert_eq!(r.next().expect("next").map(|e| e.seq), Some(1));
    register_consumer(dir.path(), "other").expect("register");
    set_consumer_position(dir.path(), "other", ranges[0].1).expect("set");
    assert_eq!(remove_passed_segments(dir.path()).expect("remove").len(), 1);
    // The reader still holds segment 0 open and crosses into segment 1.
    let mut n = 1;
    while let Some(e) = r.next().expect("next") {
        n += 1;
        assert_eq!(e.seq, n);
    }
    assert_eq!(n, 100);

    // A reader whose next segment was removed under it gets Gone.
    set_consumer_position(dir.path(), "other", ranges[5].1).expect("set");
    let mut r = Reader::open(dir.path(), ranges[1].0).expect("reader");
    assert_eq!(r.next().expect("next").map(|e| e.seq), Some(ranges[1].0));
    remove_passed_segments(dir.path()).expect("remove");
    let mut result = Ok(());
    for _ in 0..1000 {
        match r.next() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    match result {
        Err(JournalError::Gone { oldest, .. }) => assert_eq!(oldest, ranges[6].0),
        other => panic!("expected Gone, got {other:?}"),
    }
}

#[test]
fn two_processes_moving_the_same_consumer_at_once_never_collide() {
    // Threads stand in for processes: each replacement has its own
    // temporary file, so none renames or loses another's.
    let dir = tempfile::tempdir().unwrap();
    drx_journal::register_consumer(dir.path(), "sqlite.200").unwrap();
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                for i in 0..200u64 {
                    drx_journal::register_consumer(&dir, "sqlite.200").unwrap();
                    drx_journal::set_consumer_position(&dir, "sqlite.200", i * 4 + t).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let position = drx_journal::consumer_position(dir.path(), "sqlite.200")
        .unwrap()
        .unwrap();
    assert!(position >= 199 * 4, "{position}");
    assert_eq!(
        drx_journal::consumers(dir.path()).unwrap(),
        vec![("sqlite.200".to_owned(), position)]
    );
}
