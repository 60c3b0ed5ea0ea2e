//! Readers following a journal while it is written.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs::OpenOptions;
use std::io::Write;
use std::time::{Duration, Instant};

use drx_journal::Reader;
use support::*;

#[test]
fn a_reader_at_the_end_sees_what_is_appended_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 1 << 20);
    append_all(&mut w, &(1..=5).map(insert).collect::<Vec<_>>());
    w.flush().expect("flush");

    let mut r = Reader::open(dir.path(), 6).expect("reader");
    assert_eq!(r.position(), 6);
    assert!(r.next().expect("next").is_none());
    assert!(r.next().expect("next").is_none());

    w.append(&insert(6).as_new()).expect("append");
    assert!(
        r.next().expect("next").is_none(),
        "still in the writer's buffer"
    );
    w.flush().expect("flush");
    let e = r.next().expect("next").map(|e| ReadEntry::from_ref(&e));
    assert_eq!(
        e.map(|e| (e.seq, e.entry)),
        Some((6, insert(6).normalized()))
    );
    assert_eq!(r.position(), 7);
    assert!(r.next().expect("next").is_none());
    w.close().expect("close");
}

#[test]
fn a_reader_follows_the_writer_across_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 3000);
    let mut r = Reader::open(dir.path(), 1).expect("reader");
    let mut seen = Vec::new();
    let mut n = 0;
    for batch in 0..40u64 {
        for _ in 0..=batch % 7 {
            n += 1;
            w.append(&insert(n).as_new()).expect("append");
        }
        w.flush().expect("flush");
        while let Some(e) = r.next().expect("next") {
            seen.push(ReadEntry::from_ref(&e));
        }
        assert_eq!(seen.len() as u64, n, "after batch {batch}");
    }
    w.close().expect("close");
    assert!(segments(dir.path()).len() > 10);
    assert_eq!(
        contents(&seen),
        normalized(&(1..=n).map(insert).collect::<Vec<_>>())
    );
    assert_eq!(
        seen.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
}

#[test]
fn a_reader_opened_before_the_first_segment_waits_for_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut r = Reader::open(dir.path(), 1).expect("reader on an empty directory");
    assert!(r.next().expect("next").is_none());
    let mut w = open(dir.path(), 1 << 20);
    assert!(r.next().expect("next").is_none());
    w.append(&insert(1).as_new()).expect("append");
    w.flush().expect("flush");
    assert_eq!(r.next().expect("next").map(|e| e.seq), Some(1));
    w.close().expect("close");
}

#[test]
fn a_frame_still_being_written_is_not_yet_an_entry() {
    // The bytes of entry 4 as a writer would put them.
    let model = tempfile::tempdir().expect("tempdir");
    let mut w = open(model.path(), 1 << 20);
    append_all(&mut w, &(1..=4).map(insert).collect::<Vec<_>>());
    w.close().expect("close");
    let seg = &segments(model.path())[0];
    let bytes = std::fs::read(seg).expect("read");
    let start = *frame_offsets(seg).last().expect("frames") as usize;

    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join(seg.file_name().expect("name"));
    std::fs::write(&copy, &bytes[..start]).expect("write");
    let mut r = Reader::open(dir.path(), 1).expect("reader");
    for seq in 1..=3 {
        assert_eq!(r.next().expect("next").map(|e| e.seq), Some(seq));
    }
    // Feed the last frame a few bytes at a time, as a slow writer would.
    let mut file = OpenOptions::new().append(true).open(&copy).expect("open");
    let mut at = start;
    while at < bytes.len() {
        assert!(r.next().expect("partial frame is not an error").is_none());
        let step = (bytes.len() - at).min(37);
        file.write_all(&bytes[at..at + step]).expect("write");
        at += step;
    }
    let e = r.next().expect("next").map(|e| ReadEntry::from_ref(&e));
    assert_eq!(
        e.map(|e| (e.seq, e.entry)),
        Some((4, insert(4).normalized()))
    );
    assert!(r.next().expect("next").is_none());
}

#[test]
fn a_reader_in_another_thread_keeps_up_with_a_writer() {
    const TOTAL: u64 = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let mut w = open(&path, 64 * 1024);
    let reader = std::thread::spawn(move || {
        let mut r = Reader::open(&path, 1).expect("reader");
        let mut next = 1;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut polls = 0u64;
        while next <= TOTAL && Instant::now() < deadline && polls < 10_000_000 {
            polls += 1;
            match r.next().expect("next") {
                Some(e) => {
                    assert_eq!(e.seq, next);
                    let Some(rec) = e.record else {
                        panic!("record")
                    };
                    assert_eq!(rec.locator, drx_journal::Locator::RecNo(next));
                    next += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        next - 1
    });
    for n in 1..=TOTAL {
        w.append(&insert(n).as_new()).expect("append");
        if n % 97 == 0 {
            w.flush().expect("flush");
        }
    }
    w.flush().expect("flush");
    let got = reader.join().expect("reader thread");
    w.close().expect("close");
    assert_eq!(got, TOTAL);
}
