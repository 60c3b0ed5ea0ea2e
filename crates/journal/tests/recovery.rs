//! Crash recovery: torn tails are cut, corruption is reported.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use drx_journal::{JournalError, Reader, Writer, last_seq};
use support::*;

const N: u64 = 8;

/// A journal of `N` inserts in one segment; returns the segment path.
fn journal(dir: &Path) -> std::path::PathBuf {
    let mut w = open(dir, 1 << 20);
    append_all(&mut w, &(1..=N).map(insert).collect::<Vec<_>>());
    w.close().expect("close");
    let segs = segments(dir);
    assert_eq!(segs.len(), 1);
    segs[0].clone()
}

/// Opens a writer, checks it resumed after `expect_last`, appends one entry
/// and checks the journal reads back as inserts 1..=expect_last then it.
fn assert_recovers_to(dir: &Path, expect_last: u64) {
    let mut w = open(dir, 1 << 20);
    assert_eq!(w.last_seq(), expect_last);
    assert_eq!(
        w.append(&insert(100).as_new()).expect("append"),
        expect_last + 1
    );
    w.close().expect("close");
    let read = read_all(dir, 1);
    let mut expected: Vec<Owned> = (1..=expect_last).map(insert).collect();
    expected.push(insert(100));
    assert_eq!(contents(&read), normalized(&expected));
    assert_eq!(
        read.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=expect_last + 1).collect::<Vec<_>>()
    );
}

#[test]
fn a_torn_last_frame_is_cut_at_every_byte_offset() {
    let template = tempfile::tempdir().expect("tempdir");
    let seg = journal(template.path());
    let bytes = std::fs::read(&seg).expect("read");
    let offsets = frame_offsets(&seg);
    let last = *offsets.last().expect("frames") as usize;
    for cut in last..bytes.len() {
        let dir = tempfile::tempdir().expect("tempdir");
        let copy = dir.path().join(seg.file_name().expect("name"));
        std::fs::write(&copy, &bytes[..cut]).expect("write");
        // A reader (no writer running) sees the complete entries and
        // waits at the torn frame.
        assert_eq!(read_all(dir.path(), 1).len() as u64, N - 1, "cut at {cut}");
        assert_eq!(last_seq(dir.path()).expect("last_seq"), N - 1);
        assert_recovers_to(dir.path(), N - 1);
        assert_eq!(
            std::fs::metadata(&copy).expect("stat").len(),
            bytes.len() as u64,
            "the torn frame was cut and the new entry took its place"
        );
    }
}

#[test]
fn garbage_or_zeros_after_the_last_frame_are_cut() {
    let mut tails: Vec<Vec<u8>> = vec![vec![0; 1], vec![0; 7], vec![0; 8], vec![0; 4096]];
    let mut x: u32 = 0x9e37_79b9;
    for len in [1, 5, 9, 100, 5000] {
        tails.push(
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect(),
        );
    }
    // A plausible-looking header: a length that fits, a wrong CRC.
    let mut fake = 60u32.to_le_bytes().to_vec();
    fake.extend_from_slice(&[0xAB; 4]);
    fake.extend_from_slice(&[1u8; 60]);
    tails.push(fake);
    for tail in tails {
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = journal(dir.path());
        OpenOptions::new()
            .append(true)
            .open(&seg)
            .and_then(|mut f| f.write_all(&tail))
            .expect("append garbage");
        assert_eq!(read_all(dir.path(), 1).len() as u64, N);
        assert_recovers_to(dir.path(), N);
    }
}

#[test]
fn a_segment_whose_header_creation_was_torn_is_redone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 1 << 20);
    append_all(&mut w, &(1..=3).map(insert).collect::<Vec<_>>());
    w.close().expect("close");
    // As if a crash hit right after creating the next segment.
    std::fs::write(dir.path().join(format!("{:020}.seg", 4)), b"DRXJ").expect("write");
    assert_eq!(read_all(dir.path(), 1).len(), 3);
    assert_recovers_to(dir.path(), 3);
    // A leftover temporary file is removed.
    std::fs::write(dir.path().join(format!("{:020}.seg.tmp", 9)), b"x").expect("write");
    drop(open(dir.path(), 1 << 20));
    assert!(!dir.path().join(format!("{:020}.seg.tmp", 9)).exists());
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset as usize] ^= 0x20;
    std::fs::write(path, bytes).expect("write");
}

fn expect_corrupt(
    result: Result<impl std::fmt::Debug, JournalError>,
    seg: &Path,
    at: u64,
) -> String {
    match result {
        Err(e @ JournalError::Corrupt { .. }) => {
            let JournalError::Corrupt {
                segment, offset, ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(segment, seg);
            assert_eq!(*offset, at);
            let message = e.to_string();
            assert!(message.contains(&*seg.to_string_lossy()), "{message}");
            assert!(message.contains(&format!("at byte {at}")), "{message}");
            message
        }
        other => panic!("expected Corrupt at {at}, got {other:?}"),
    }
}

fn read_until_error(dir: &Path) -> Result<u64, JournalError> {
    let mut r = Reader::open(dir, 1)?;
    let mut n = 0;
    while r.next()?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[test]
fn a_damaged_frame_followed_by_valid_ones_is_corruption() {
    // Damage in the payload, the CRC and the length of the third frame.
    for (field, delta) in [("payload", 30), ("crc", 5), ("length", 2)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = journal(dir.path());
        let bad = frame_offsets(&seg)[2];
        flip(&seg, bad + delta);
        let before = std::fs::read(&seg).expect("read");

        let message = expect_corrupt(
            Writer::open(config(dir.path(), 1 << 20, drx_journal::Durability::None)),
            &seg,
            bad,
        );
        assert!(
            message.contains("followed by valid frames"),
            "{field}: {message}"
        );
        assert_eq!(
            std::fs::read(&seg).expect("read"),
            before,
            "nothing was cut"
        );

        // A reader returns the entries before it, then the error.
        let mut r = Reader::open(dir.path(), 1).expect("reader");
        assert_eq!(r.next().expect("1").map(|e| e.seq), Some(1));
        assert_eq!(r.next().expect("2").map(|e| e.seq), Some(2));
        expect_corrupt(r.next().map(|e| e.map(|e| e.seq)), &seg, bad);
        // It stays an error: nothing after it is returned.
        assert!(r.next().is_err());
        expect_corrupt(last_seq(dir.path()), &seg, bad);
        // A reader starting after the damage still has to cross it.
        expect_corrupt(read_until_error(dir.path()), &seg, bad);
    }
}

#[test]
fn any_damage_in_a_sealed_segment_is_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 2048);
    append_all(&mut w, &(1..=30).map(insert).collect::<Vec<_>>());
    w.close().expect("close");
    let segs = segments(dir.path());
    assert!(segs.len() >= 3);
    // Damage the last frame of the first segment: the tail of a sealed
    // segment is no torn tail.
    let sealed = &segs[0];
    let bad = *frame_offsets(sealed).last().expect("frames");
    flip(sealed, bad + 20);
    let message = expect_corrupt(read_until_error(dir.path()), sealed, bad);
    assert!(message.contains("sealed segment"), "{message}");
    expect_corrupt(
        Writer::open(config(dir.path(), 2048, drx_journal::Durability::None)),
        sealed,
        bad,
    );

    // A sealed segment cut short (a whole frame lost) is a sequence gap.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), 2048);
    append_all(&mut w, &(1..=30).map(insert).collect::<Vec<_>>());
    w.close().expect("close");
    let segs = segments(dir.path());
    let cut = *frame_offsets(&segs[0]).last().expect("frames");
    OpenOptions::new()
        .write(true)
        .open(&segs[0])
        .and_then(|f| f.set_len(cut))
        .expect("truncate");
    let message = expect_corrupt(read_until_error(dir.path()), &segs[0], cut);
    assert!(message.contains("sequence gap"), "{message}");
    match Writer::open(config(dir.path(), 2048, drx_journal::Durability::None)) {
        Err(JournalError::Corrupt {
            segment, reason, ..
        }) => {
            assert_eq!(segment, segs[1]);
            assert!(reason.contains("sequence gap"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn damaged_headers_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seg = journal(dir.path());
    flip(&seg, 20); // the epoch field: header CRC mismatch
    match Writer::open(config(dir.path(), 1 << 20, drx_journal::Durability::None)) {
        Err(e @ JournalError::BadHeader { .. }) => {
            assert!(e.to_string().contains("CRC"), "{e}");
        }
        other => panic!("expected BadHeader, got {other:?}"),
    }
    assert!(matches!(
        Reader::open(dir.path(), 1),
        Err(JournalError::BadHeader { .. })
    ));

    let dir = tempfile::tempdir().expect("tempdir");
    let seg = journal(dir.path());
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    std::fs::write(&seg, bytes).expect("write");
    match Writer::open(config(dir.path(), 1 << 20, drx_journal::Durability::None)) {
        Err(e @ JournalError::UnsupportedVersion { version: 2, .. }) => {
            assert!(e.to_string().contains("version 2"), "{e}");
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}
