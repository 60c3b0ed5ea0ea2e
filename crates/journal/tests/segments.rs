//! The public view of segments: the files of a journal directory, a whole
//! sealed segment checked in memory (damage named with its offset), and
//! `Writer::roll`, which seals the current segment on demand.

#![allow(clippy::unwrap_used)]

use drx_journal::{
    Durability, Effect, NewEntry, Writer, WriterConfig, decode_entry, scan_segment, segment_files,
};

fn append(w: &mut Writer, n: u64) {
    for i in 0..n {
        w.append(&NewEntry {
            txn: 0,
            process: "p",
            file: "/f",
            effect: Effect::Write {
                offset: i * 4,
                data: b"abcd",
            },
            record: None,
        })
        .unwrap();
    }
}

#[test]
fn a_rolled_segment_scans_whole_and_damage_is_named_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(WriterConfig {
        durability: Durability::None,
        ..WriterConfig::new(dir.path())
    })
    .unwrap();
    assert!(!w.roll().unwrap(), "an empty segment is not sealed");
    append(&mut w, 5);
    assert!(w.roll().unwrap());
    assert!(!w.roll().unwrap(), "nothing since");
    append(&mut w, 2);
    w.close().unwrap();

    let segments = segment_files(dir.path()).unwrap();
    let firsts: Vec<u64> = segments.iter().map(|s| s.first_seq).collect();
    assert_eq!(firsts, [1, 6]);
    let bytes = std::fs::read(&segments[0].path).unwrap();
    let scanned = scan_segment(&bytes, 1).unwrap();
    assert_eq!(scanned.frames.len(), 5);
    assert_eq!(scanned.last_seq(), Some(5));
    assert_eq!(scanned.epoch, 1);
    let (seq, range) = scanned.frames[2].clone();
    assert_eq!(decode_entry(&bytes[range]).unwrap().seq, seq);

    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let err = scan_segment(&bad, 1).unwrap_err();
    assert!(err.contains("frame CRC mismatch at byte offset"), "{err}");
    let err = scan_segment(&bytes[..bytes.len() - 3], 1).unwrap_err();
    assert!(err.contains("incomplete frame"), "{err}");
    let err = scan_segment(&bytes, 2).unwrap_err();
    assert!(err.contains("first seq 1"), "{err}");
    let err = scan_segment(&bytes[..10], 1).unwrap_err();
    assert!(err.contains("shorter than a segment header"), "{err}");
}
