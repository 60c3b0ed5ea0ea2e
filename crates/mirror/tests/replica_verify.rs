//! The standby's comparison of a replica with a `Checksum` entry, at that
//! entry's seq: equal replicas are identical (size, records by every
//! organization, digests), a flipped byte names its block, a size
//! difference and a missing replica are reported; a checksum inside a
//! transaction is ignored.
#![allow(clippy::unwrap_used)]

mod support;

use drx_capture::{FileSpec, Org, Target};
use drx_journal::{ChecksumReason, Effect, EntryRef, FileChecksum, FileOrganization, Reader};
use drx_mirror::{Outcome, Replica, ReplicaConfig, Verdict, Verified};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use support::Home;

const MIB: u64 = 1 << 20;

/// A mirrored home: every file of `primary/` critical, replicas under
/// `standby/`.
fn home() -> Home {
    Home::parse(
        "[journal]\ndurability = \"none\"\n[mirror]\nreplica_roots = [\"standby\"]\nsecret_env = \"DRX_TEST_SECRET\"\n[[files]]\nsource_path = \"primary/*\"\n",
    )
}

/// Every entry of the journal, as the journal encodes it.
fn journal(home: &Home) -> Vec<Vec<u8>> {
    let mut reader = Reader::open(&home.journal_dir(), 1).unwrap();
    let mut out = Vec::new();
    while let Some(e) = reader.next().unwrap() {
        let mut bytes = Vec::new();
        drx_journal::encode_entry(&e, &mut bytes).unwrap();
        out.push(bytes);
    }
    out
}

fn entry(bytes: &[u8]) -> EntryRef<'_> {
    drx_journal::decode_entry(bytes).unwrap()
}

fn is_checksum(bytes: &[u8]) -> bool {
    matches!(entry(bytes).effect, Effect::Checksum(_))
}

fn open(home: &Home) -> Replica {
    Replica::open(&ReplicaConfig::from_config(&home.config)).unwrap()
}

/// Applies the entries, returning the verification of each checksum.
fn apply(replica: &mut Replica, entries: &[Vec<u8>]) -> Vec<Verified> {
    let mut out = Vec::new();
    for bytes in entries {
        match replica.apply(&entry(bytes)).unwrap() {
            Outcome::Verified { identical } => {
                let v = replica.take_verification().unwrap();
                assert_eq!(identical, v.verdict == Verdict::Identical, "{v:?}");
                out.push(v);
            }
            _ => assert!(replica.take_verification().is_none()),
        }
    }
    out
}

/// The replica of a primary file.
fn replica_of(home: &Home, path: &std::path::Path) -> PathBuf {
    home.standby().join(path.strip_prefix("/").unwrap())
}

/// A fixed file of 4 MiB (4096 records of 1 KiB, each its own bytes),
/// then a full checksum of it; returns the journal and the file's path.
fn four_mib(home: &Home) -> (Vec<Vec<u8>>, PathBuf) {
    let path = home.primary().join("big.dat");
    let spec = FileSpec {
        organization: Org::Fixed,
        record_len: 1024,
        layout: None,
    };
    let mut capture = home.capture();
    let mut f = capture.create(&path, spec).unwrap();
    let records: Vec<u8> = (0..4 * MIB).map(|i| (i % 253) as u8).collect();
    capture.write_many(&mut f, &records).unwrap();
    let tickets = capture
        .checksum_files(std::slice::from_ref(&path), None)
        .unwrap();
    assert!(tickets[0].seq.is_some(), "{tickets:?}");
    capture.close_file(f).unwrap();
    capture.close().unwrap();
    (journal(home), path)
}

#[test]
fn an_equal_replica_is_identical() {
    let home = home();
    let (entries, path) = four_mib(&home);
    let mut replica = open(&home);
    let found = apply(&mut replica, &entries);
    assert_eq!(found.len(), 2);
    let full = &found[0];
    assert_eq!(full.verdict, Verdict::Identical, "{full}");
    assert_eq!(full.reason, ChecksumReason::Verify);
    assert_eq!((full.primary_size, full.replica_size), (4 * MIB, 4 * MIB));
    assert_eq!(full.block_size, MIB as u32);
    assert_eq!(full.first_difference, None);
    assert_eq!(full.path, path.display().to_string());
    // The close: the cheap form, records counted on both sides.
    let close = &found[1];
    assert_eq!(
        (close.verdict, close.reason),
        (Verdict::Identical, ChecksumReason::Close)
    );
    assert_eq!(
        (close.primary_records, close.replica_records),
        (Some(4096), Some(4096))
    );
    assert_eq!(close.block_size, 0);
    assert!(
        close
            .to_string()
            .starts_with("identical: size 4194304, records 4096")
    );
}

#[test]
fn a_flipped_byte_in_block_3_names_block_3() {
    let home = home();
    let (entries, path) = four_mib(&home);
    let at = entries.iter().position(|e| is_checksum(e)).unwrap();
    let mut replica = open(&home);
    assert!(apply(&mut replica, &entries[..at]).is_empty());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(replica_of(&home, &path))
        .unwrap();
    let offset = 3 * MIB + 517;
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, offset).unwrap();
    file.write_all_at(&[byte[0] ^ 0x40], offset).unwrap();
    let found = apply(&mut replica, &entries[at..]);
    let v = &found[0];
    assert_eq!(v.verdict, Verdict::Differs);
    assert_eq!(v.first_difference, Some(3));
    assert_eq!(v.difference_range(), Some((3 * MIB, 4 * MIB)));
    assert_eq!((v.primary_size, v.replica_size), (4 * MIB, 4 * MIB));
    assert!(
        v.to_string()
            .starts_with("DIFFERS at block 3 (bytes 3145728..4194304)"),
        "{v}"
    );
    // Size and record count agree: the cheap form cannot see it.
    assert_eq!(found[1].verdict, Verdict::Identical);
}

#[test]
fn a_size_difference_is_reported_by_both_forms() {
    let home = home();
    let (entries, path) = four_mib(&home);
    let at = entries.iter().position(|e| is_checksum(e)).unwrap();
    let mut replica = open(&home);
    apply(&mut replica, &entries[..at]);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(replica_of(&home, &path))
        .unwrap();
    file.set_len(4 * MIB - 1024).unwrap();
    let found = apply(&mut replica, &entries[at..]);
    let full = &found[0];
    assert_eq!(full.verdict, Verdict::Differs);
    assert_eq!(
        (full.primary_size, full.replica_size),
        (4 * MIB, 4 * MIB - 1024)
    );
    // The last block is short on the replica.
    assert_eq!(full.first_difference, Some(3));
    let cheap = &found[1];
    assert_eq!(cheap.verdict, Verdict::Differs);
    assert_eq!(
        (cheap.primary_records, cheap.replica_records),
        (Some(4096), Some(4095))
    );
    assert_eq!(cheap.first_difference, None);
    assert!(
        cheap
            .to_string()
            .contains("size 4194304 vs 4193280, records 4096 vs 4095"),
        "{cheap}"
    );
}

#[test]
fn a_missing_replica_is_reported() {
    let home = home();
    let (entries, path) = four_mib(&home);
    let at = entries.iter().position(|e| is_checksum(e)).unwrap();
    let mut replica = open(&home);
    apply(&mut replica, &entries[..at]);
    std::fs::remove_file(replica_of(&home, &path)).unwrap();
    let found = apply(&mut replica, &entries[at..at + 1]);
    assert_eq!(found[0].verdict, Verdict::Missing);
    assert!(found[0].text.contains("no replica"), "{}", found[0].text);
}

#[test]
fn records_are_counted_on_the_replica_for_every_organization() {
    let home = home();
    let layout = std::sync::Arc::new(
        drx_layouts::Layout::parse(
            "keyed",
            "organization: indexed;\nkey: id;\nfields: id fixed bin(15),\n        name char(6);\nend;\n",
        )
        .unwrap(),
    );
    let mut capture = home.capture();
    for org in [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed] {
        let path = home.primary().join(format!("{}.dat", org.name()));
        let spec = FileSpec {
            organization: org,
            record_len: 8,
            layout: (org == Org::Indexed).then(|| layout.clone()),
        };
        let mut f = capture.create(&path, spec.clone()).unwrap();
        for id in 1..=5i16 {
            let mut rec = id.to_be_bytes().to_vec();
            rec.extend_from_slice(b"abcdef");
            capture.write(&mut f, &rec, None).unwrap();
        }
        match org {
            Org::Relative => {
                capture.delete(&mut f, Target::RecNo(2)).unwrap();
            }
            Org::Indexed => {
                capture
                    .delete(&mut f, Target::Key(&3i16.to_be_bytes()))
                    .unwrap();
            }
            _ => {}
        }
        capture.close_file(f).unwrap();
    }
    capture.close().unwrap();
    let mut replica = open(&home);
    let found = apply(&mut replica, &journal(&home));
    assert_eq!(found.len(), 4);
    for (v, expected) in found.iter().zip([5, 4, 5, 4]) {
        assert_eq!(v.verdict, Verdict::Identical, "{v}");
        assert_eq!(
            (v.primary_records, v.replica_records),
            (Some(expected), Some(expected)),
            "{v}"
        );
    }
}

#[test]
fn a_checksum_inside_a_transaction_is_ignored() {
    let home = home();
    let body = FileChecksum::cheap(ChecksumReason::Open, FileOrganization::Fixed, 4, 0, Some(0))
        .encode()
        .unwrap();
    let file = home.primary().join("a.dat");
    let file = file.to_str().unwrap();
    let mut replica = open(&home);
    let begin = EntryRef {
        seq: 1,
        epoch: 1,
        txn: 1,
        timestamp_us: 0,
        process: "p",
        file: "",
        effect: Effect::BeginTxn,
        record: None,
    };
    assert_eq!(replica.apply(&begin).unwrap(), Outcome::Began);
    let inside = EntryRef {
        seq: 2,
        file,
        effect: body.effect(),
        ..begin
    };
    assert_eq!(replica.apply(&inside).unwrap(), Outcome::Ignored);
    assert!(replica.take_verification().is_none());
    // Outside one: compared (no replica yet).
    let outside = EntryRef {
        seq: 3,
        txn: 0,
        ..inside
    };
    assert_eq!(
        replica.apply(&outside).unwrap(),
        Outcome::Verified { identical: false }
    );
    assert_eq!(
        replica.take_verification().unwrap().verdict,
        Verdict::Missing
    );
}
