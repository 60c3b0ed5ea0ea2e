//! Property tests: random entries round trip; a random cut of the newest
//! segment recovers to exactly a prefix of what was written.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs::OpenOptions;
use std::time::Duration;

use drx_journal::{
    ChecksumReason, Durability, FileChecksum, FileOrganization, RecordOp, Writer, last_seq,
};
use proptest::prelude::*;
use support::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn effect() -> impl Strategy<Value = OwnedEffect> {
    prop_oneof![
        Just(OwnedEffect::None),
        (0u8..5, any::<u32>()).prop_map(|(code, record_len)| OwnedEffect::Create {
            organization: FileOrganization::from_code(code).unwrap_or(FileOrganization::Unknown),
            record_len,
        }),
        (any::<u64>(), bytes(400)).prop_map(|(offset, data)| OwnedEffect::Write { offset, data }),
        (any::<u64>(), bytes(400)).prop_map(|(offset, data)| OwnedEffect::Write { offset, data }),
        any::<u64>().prop_map(|len| OwnedEffect::Truncate { len }),
        "\\PC{0,30}".prop_map(|to| OwnedEffect::Rename { to }),
        Just(OwnedEffect::DeleteFile),
        Just(OwnedEffect::BeginTxn),
        Just(OwnedEffect::CommitTxn),
        Just(OwnedEffect::AbortTxn),
        checksum(),
    ]
}

/// A Checksum body of either form, every field random.
fn checksum() -> impl Strategy<Value = OwnedEffect> {
    (
        0usize..4,
        0u8..5,
        any::<u32>(),
        0u64..5000,
        proptest::option::of(any::<u64>()),
        prop_oneof![Just(0u32), 1u32..700],
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(reason, org, record_len, size, records, block_size, seed)| {
                let mut c = FileChecksum::cheap(
                    ChecksumReason::ALL[reason],
                    FileOrganization::from_code(org).unwrap_or(FileOrganization::Unknown),
                    record_len,
                    size,
                    records,
                );
                if block_size > 0 {
                    c.block_size = block_size;
                    c.file_digest = Some(seed);
                    c.blocks = (0..size.div_ceil(u64::from(block_size)))
                        .map(|i| {
                            let mut d = seed;
                            d[0] ^= i as u8;
                            d
                        })
                        .collect();
                }
                OwnedEffect::Checksum(c.encode().unwrap().checksum().as_bytes().to_vec())
            },
        )
}

fn record() -> impl Strategy<Value = Option<OwnedRecord>> {
    let op = prop_oneof![
        Just(RecordOp::Insert),
        Just(RecordOp::Update),
        Just(RecordOp::Delete)
    ];
    let locator = prop_oneof![
        Just(OwnedLocator::None),
        any::<u64>().prop_map(OwnedLocator::RecNo),
        bytes(40).prop_map(OwnedLocator::Key),
    ];
    let after = prop_oneof![
        bytes(300).prop_map(After::Bytes),
        (0usize..450).prop_map(After::Tail),
    ];
    proptest::option::of((
        op,
        locator,
        proptest::option::of(bytes(300)),
        proptest::option::of(after),
    ))
    .prop_map(|r| {
        r.map(|(op, locator, before, after)| OwnedRecord {
            op,
            locator,
            before,
            after,
        })
    })
}

fn entry() -> impl Strategy<Value = Owned> {
    (
        prop_oneof![Just(0u64), any::<u64>()],
        "[a-zA-Z0-9_]{0,12}",
        "\\PC{0,40}",
        effect(),
        record(),
    )
        .prop_map(|(txn, process, file, effect, record)| Owned {
            txn,
            process,
            file,
            effect,
            record,
        })
}

fn durability() -> impl Strategy<Value = Durability> {
    prop_oneof![
        Just(Durability::None),
        Just(Durability::EveryEntry),
        (1u32..10).prop_map(|max_entries| Durability::Group {
            max_entries,
            max_delay: Duration::from_millis(2),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_entries_round_trip(
        entries in prop::collection::vec(entry(), 1..80),
        segment_size in 200u64..6000,
        durability in durability(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = Writer::open(config(dir.path(), segment_size, durability)).expect("open");
        let seqs = append_all(&mut w, &entries);
        prop_assert_eq!(seqs, (1..=entries.len() as u64).collect::<Vec<_>>());
        w.close().expect("close");
        let read = read_all(dir.path(), 1);
        prop_assert_eq!(contents(&read), normalized(&entries));
        prop_assert_eq!(
            read.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (1..=entries.len() as u64).collect::<Vec<_>>()
        );
        prop_assert_eq!(last_seq(dir.path()).expect("last_seq"), entries.len() as u64);
    }

    #[test]
    fn a_cut_newest_segment_recovers_to_a_prefix(
        entries in prop::collection::vec(entry(), 1..50),
        segment_size in 300u64..5000,
        cut in any::<prop::sample::Index>(),
        extra in entry(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = open(dir.path(), segment_size);
        append_all(&mut w, &entries);
        w.close().expect("close");
        let newest = segments(dir.path()).pop().expect("a segment");
        let len = std::fs::metadata(&newest).expect("stat").len();
        let at = cut.index(len as usize + 1) as u64;
        OpenOptions::new().write(true).open(&newest)
            .and_then(|f| f.set_len(at))
            .expect("truncate");

        // The frames left whole, counted independently of the crate.
        let whole: usize = segments(dir.path()).iter().map(|s| frame_offsets(s).len()).sum();
        let expected = normalized(&entries);
        // Readers see a prefix and no garbage...
        let read = read_all(dir.path(), 1);
        let kept = read.len();
        prop_assert_eq!(kept, whole);
        prop_assert_eq!(contents(&read), expected[..kept].to_vec());
        prop_assert_eq!(last_seq(dir.path()).expect("last_seq"), kept as u64);

        // ...and the writer resumes right after it.
        let mut w = open(dir.path(), segment_size);
        prop_assert_eq!(w.last_seq(), kept as u64);
        prop_assert_eq!(w.append(&extra.as_new()).expect("append"), kept as u64 + 1);
        w.close().expect("close");
        let read = read_all(dir.path(), 1);
        let mut want = expected[..kept].to_vec();
        want.push(extra.normalized());
        prop_assert_eq!(contents(&read), want);
    }
}
