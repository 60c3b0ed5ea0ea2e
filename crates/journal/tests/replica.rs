//! Entries shipped to another journal: `encode_entry` / `decode_entry`
//! round trip, and `Writer::append_replica` makes a journal that holds the
//! same entries (seq, epoch, timestamp, content) as the one they came from.

#![allow(clippy::unwrap_used)]

mod support;

use drx_journal::{
    JournalError, Reader, Writer, WriterConfig, current_epoch, decode_entry, encode_entry,
};
use proptest::prelude::*;
use support::*;

/// Writes every variant, in epochs 1 then 3, to a journal in `dir`.
fn primary(dir: &std::path::Path) -> Vec<ReadEntry> {
    let mut w = Writer::open(WriterConfig::new(dir)).unwrap();
    for (i, e) in every_variant().iter().enumerate() {
        if i == 4 {
            w.set_epoch(3).unwrap();
        }
        w.append(&e.as_new()).unwrap();
    }
    w.close().unwrap();
    read_all(dir)
}

fn read_all(dir: &std::path::Path) -> Vec<ReadEntry> {
    let mut r = Reader::open(dir, 1).unwrap();
    let mut out = Vec::new();
    while let Some(e) = r.next().unwrap() {
        out.push(ReadEntry::from_ref(&e));
    }
    out
}

#[test]
fn a_replica_journal_holds_the_same_entries_after_going_through_the_wire_encoding() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let original = primary(a.path());
    let mut reader = Reader::open(a.path(), 1).unwrap();
    let mut replica = Writer::open(WriterConfig::new(b.path())).unwrap();
    let mut wire = Vec::new();
    while let Some(e) = reader.next().unwrap() {
        wire.clear();
        encode_entry(&e, &mut wire).unwrap();
        let decoded = decode_entry(&wire).unwrap();
        assert_eq!(ReadEntry::from_ref(&decoded), ReadEntry::from_ref(&e));
        assert_eq!(replica.append_replica(&decoded).unwrap(), e.seq);
    }
    replica.close().unwrap();
    assert_eq!(read_all(b.path()), original);
    assert_eq!(
        current_epoch(b.path()).unwrap(),
        3,
        "the epoch came with the entries"
    );
}

#[test]
fn an_entry_that_does_not_follow_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    primary(a.path());
    let mut reader = Reader::open(a.path(), 1).unwrap();
    let mut replica = Writer::open(WriterConfig::new(b.path())).unwrap();
    let first = reader.next().unwrap().unwrap();
    replica.append_replica(&first).unwrap();
    let mut second = Vec::new();
    encode_entry(&reader.next().unwrap().unwrap(), &mut second).unwrap();
    let mut third = Vec::new();
    encode_entry(&reader.next().unwrap().unwrap(), &mut third).unwrap();
    let err = replica
        .append_replica(&decode_entry(&third).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            err,
            JournalError::OutOfSequence {
                expected: 2,
                got: 3
            }
        ),
        "{err}"
    );
    // Nothing was written: the right one still follows.
    replica
        .append_replica(&decode_entry(&second).unwrap())
        .unwrap();
    replica.close().unwrap();
    assert_eq!(read_all(b.path()).len(), 2);
}

proptest! {
    #[test]
    fn any_bytes_decode_to_an_entry_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_entry(&bytes);
    }

    #[test]
    fn a_truncated_entry_is_an_error(cut in 0usize..40) {
        let e = &every_variant()[5];
        let a = tempfile::tempdir().unwrap();
        let mut w = Writer::open(WriterConfig::new(a.path())).unwrap();
        w.append(&e.as_new()).unwrap();
        w.close().unwrap();
        let mut r = Reader::open(a.path(), 1).unwrap();
        let entry = r.next().unwrap().unwrap();
        let mut wire = Vec::new();
        encode_entry(&entry, &mut wire).unwrap();
        let cut = cut.min(wire.len() - 1);
        prop_assert!(decode_entry(&wire[..cut]).is_err());
    }
}
