//! The standby's apply: a random workload of every operation, across every
//! organization, run through `drx_capture` on a primary directory; its
//! journal read back and applied to a `Replica` in another directory →
//! every replica file is byte-identical (blake3) to its primary file, and
//! deleted files are absent. Restarts, crashes (between syncs, and in the
//! middle of a committed transaction) and escaping paths too.
#![allow(clippy::unwrap_used)]

mod support;

use drx_journal::{Effect, EntryRef, Reader};
use drx_mirror::{Outcome, Refusal, Replica, ReplicaConfig, ReplicaError};
use proptest::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use support::{App, FILES, Home, Op, assert_mirrored, fixed_workload, tree};

/// The home (see `support`): every file of the primary directory critical,
/// the replica's state beside the standby root.
impl Home {
    fn new() -> Home {
        Home::with_files("[[files]]\nsource_path = \"primary/*\"\n")
    }

    fn with_files(files: &str) -> Home {
        Home::parse(&format!(
            "[journal]\ndurability = \"none\"\n[mirror]\nreplica_roots = [\"standby\"]\n{files}"
        ))
    }

    fn replica_config(&self) -> ReplicaConfig {
        ReplicaConfig::from_config(&self.config)
    }

    /// A second replica of the same journal, in its own root and state.
    fn other_replica_config(&self, name: &str) -> ReplicaConfig {
        let mut c = self.replica_config();
        c.roots = vec![self.home().join(name)];
        c.state_dir = self.home().join(format!("{name}_state"));
        c
    }

    fn open(&self) -> Replica {
        Replica::open(&self.replica_config()).unwrap()
    }

    /// Every entry of the journal, owned.
    fn journal(&self) -> Vec<Owned> {
        let mut reader = Reader::open(&self.journal_dir(), 1).unwrap();
        let mut out = Vec::new();
        while let Some(e) = reader.next().unwrap() {
            out.push(Owned::of(&e));
        }
        out
    }
}

/// A journal entry kept beyond the reader's buffer: its bytes as the
/// journal encodes them for the wire.
#[derive(Debug, Clone)]
struct Owned {
    seq: u64,
    txn: u64,
    bytes: Vec<u8>,
}

impl Owned {
    fn of(e: &EntryRef<'_>) -> Owned {
        let mut bytes = Vec::new();
        drx_journal::encode_entry(e, &mut bytes).unwrap();
        Owned {
            seq: e.seq,
            txn: e.txn,
            bytes,
        }
    }

    fn entry(&self) -> EntryRef<'_> {
        drx_journal::decode_entry(&self.bytes).unwrap()
    }

    fn effect(&self) -> Effect<'_> {
        self.entry().effect
    }

    fn is_byte_effect(&self) -> bool {
        matches!(
            self.effect(),
            Effect::Create { .. }
                | Effect::Write { .. }
                | Effect::Truncate { .. }
                | Effect::Rename { .. }
                | Effect::DeleteFile
        )
    }
}

/// A hand-made entry of process `p`.
fn entry<'a>(seq: u64, txn: u64, file: &'a str, effect: Effect<'a>) -> EntryRef<'a> {
    EntryRef {
        seq,
        epoch: 1,
        txn,
        timestamp_us: 0,
        process: "p",
        file,
        effect,
        record: None,
    }
}

/// Applies entries, every one of which must be accepted.
fn apply_all(replica: &mut Replica, entries: &[Owned]) {
    for e in entries {
        if let Err(err) = replica.apply(&e.entry()) {
            panic!("seq {}: {err}", e.seq);
        }
    }
}

// ---------------------------------------------------------------------
// The random workload (the operations are in `support`).

fn record_op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![Just(4usize), Just(8usize)];
    prop_oneof![
        8 => (0..FILES, 0i16..6, b'a'..=b'z', len.clone())
            .prop_map(|(file, id, fill, len)| Op::Write { file, id, fill, len }),
        4 => (0..FILES, 1u64..7, 0i16..6, b'A'..=b'Z', len)
            .prop_map(|(file, at, id, fill, len)| Op::Rewrite { file, at, id, fill, len }),
        3 => (0..FILES, 1u64..7, 0i16..6).prop_map(|(file, at, id)| Op::Delete { file, at, id }),
        1 => (0..FILES, 0u64..6).prop_map(|(file, records)| Op::Truncate { file, records }),
        1 => (0..FILES).prop_map(|file| Op::Recreate { file }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => record_op(),
        1 => (0..FILES).prop_map(|file| Op::Rename { file }),
        1 => (0..FILES).prop_map(|file| Op::Copy { file }),
        1 => (0..FILES).prop_map(|file| Op::DeleteFile { file }),
        3 => (prop::collection::vec(record_op(), 1..6), any::<bool>())
            .prop_map(|(ops, commit)| Op::Txn { ops, commit }),
    ]
}

fn workload(max: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..max)
}

/// Runs `ops` on the primary; returns the journal.
fn run_workload(home: &Home, ops: &[Op]) -> Vec<Owned> {
    App::new(home).run_all(ops);
    home.journal()
}

#[test]
fn the_fixed_workload_is_mirrored_byte_for_byte() {
    let home = Home::new();
    let journal = run_workload(&home, &fixed_workload(0, 3));
    // Every kind of effect is there.
    for kind in [
        "Create",
        "Write",
        "Truncate",
        "Rename",
        "DeleteFile",
        "Begin",
        "Commit",
        "Abort",
    ] {
        assert!(
            journal
                .iter()
                .any(|e| format!("{:?}", e.effect()).starts_with(kind)),
            "no {kind} in the journal"
        );
    }
    assert!(journal.len() > 200, "{} entries", journal.len());
    assert!(tree(&home.primary()).len() >= 5);
    let mut replica = home.open();
    apply_all(&mut replica, &journal);
    let last = journal.last().unwrap().seq;
    assert_eq!(replica.applied_seq(), last);
    assert_eq!(replica.sync().unwrap(), last);
    assert_eq!(replica.open_transactions(), 0);
    assert_eq!(replica.refused_count(), 0);
    assert_mirrored(&home, &home.standby());
    assert!(!tree(&home.primary()).is_empty());
}

#[test]
fn applying_the_journal_again_after_a_restart_changes_nothing() {
    let home = Home::new();
    let journal = run_workload(&home, &fixed_workload(0, 3));
    let last = journal.last().unwrap().seq;
    let mut replica = home.open();
    apply_all(&mut replica, &journal);
    assert_eq!(replica.close().unwrap(), last);
    let before = tree(&home.standby());
    let mut replica = home.open();
    assert_eq!((replica.applied_seq(), replica.durable_seq()), (last, last));
    for e in &journal {
        assert_eq!(replica.apply(&e.entry()).unwrap(), Outcome::Skipped);
    }
    replica.close().unwrap();
    assert_eq!(tree(&home.standby()), before);
    assert_mirrored(&home, &home.standby());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_workloads_are_mirrored_byte_for_byte(ops in workload(60)) {
        let home = Home::new();
        let journal = run_workload(&home, &ops);
        let mut replica = home.open();
        apply_all(&mut replica, &journal);
        replica.close().unwrap();
        assert_mirrored(&home, &home.standby());
    }

    /// The standby dies at a random entry (some syncs done, some not): its
    /// files keep what was written, its state what was synced. Reopened,
    /// it is sent everything again: what is at or below the durable seq is
    /// skipped, the rest applied again over the files as they are.
    #[test]
    fn a_crash_between_syncs_then_the_whole_journal_again(
        ops in workload(50),
        cut in 0.0f64..1.0,
        sync_every in 1usize..12,
    ) {
        let home = Home::new();
        let journal = run_workload(&home, &ops);
        let cut = (journal.len() as f64 * cut) as usize;
        {
            let mut replica = home.open();
            for (i, e) in journal[..cut].iter().enumerate() {
                replica.apply(&e.entry()).unwrap();
                if i % sync_every == sync_every - 1 {
                    replica.sync().unwrap();
                }
            }
            // Dropped without a sync: a crash of the standby process.
        }
        let mut replica = home.open();
        prop_assert!(replica.durable_seq() <= cut as u64);
        apply_all(&mut replica, &journal);
        replica.close().unwrap();
        assert_mirrored(&home, &home.standby());
    }
}

/// A journal with a committed transaction of several effects on several
/// files, between other entries; returns it and the commit's index.
fn transaction_journal(home: &Home) -> (Vec<Owned>, usize) {
    let mut ops = Vec::new();
    for file in 0..FILES {
        for id in 0..4 {
            ops.push(Op::Write {
                file,
                id,
                fill: b'a',
                len: 8,
            });
        }
    }
    ops.push(Op::Txn {
        ops: vec![
            Op::Write {
                file: 0,
                id: 9,
                fill: b't',
                len: 8,
            },
            Op::Rewrite {
                file: 1,
                at: 2,
                id: 2,
                fill: b'u',
                len: 8,
            },
            Op::Truncate {
                file: 2,
                records: 1,
            },
            Op::Delete {
                file: 3,
                at: 0,
                id: 1,
            },
            Op::Write {
                file: 2,
                id: 7,
                fill: b'v',
                len: 4,
            },
            Op::Recreate { file: 4 },
            Op::Write {
                file: 4,
                id: 1,
                fill: b'w',
                len: 8,
            },
        ],
        commit: true,
    });
    ops.push(Op::Write {
        file: 0,
        id: 10,
        fill: b'z',
        len: 8,
    });
    ops.push(Op::Rename { file: 5 });
    let journal = run_workload(home, &ops);
    let commit = journal
        .iter()
        .position(|e| matches!(e.effect(), Effect::CommitTxn))
        .unwrap();
    (journal, commit)
}

#[test]
fn a_crash_in_the_middle_of_a_transaction_ends_with_all_of_it() {
    let home = Home::new();
    let (journal, commit) = transaction_journal(&home);
    let effects = journal[..commit]
        .iter()
        .filter(|e| e.txn != 0 && e.is_byte_effect())
        .count() as u64;
    assert!(effects >= 6, "{effects} effects in the transaction");
    // The replica as of the commit, with no crash.
    let reference = home.other_replica_config("reference");
    let mut clean = Replica::open(&reference).unwrap();
    apply_all(&mut clean, &journal[..=commit]);
    clean.close().unwrap();
    let expected = tree(&home.home().join("reference"));

    for k in 0..=effects + 1 {
        let config = home.other_replica_config(&format!("crash{k}"));
        {
            let mut replica = Replica::open(&config).unwrap();
            apply_all(&mut replica, &journal[..commit]);
            assert_eq!(replica.open_transactions(), 1);
            replica.crash_after_effects(k);
            let outcome = replica.apply(&journal[commit].entry());
            if k <= effects {
                assert!(
                    matches!(outcome, Err(ReplicaError::InjectedCrash { .. })),
                    "{outcome:?}"
                );
                // Stopped until reopened.
                assert!(matches!(
                    replica.apply(&journal[commit + 1].entry()),
                    Err(ReplicaError::Stopped { .. })
                ));
            } else {
                assert!(matches!(outcome, Ok(Outcome::Committed { .. })));
            }
        }
        // Reopened: the transaction is finished before anything else.
        let mut replica = Replica::open(&config).unwrap();
        assert_eq!(replica.applied_seq(), journal[commit].seq, "k = {k}");
        assert_eq!(replica.open_transactions(), 0);
        assert_eq!(tree(&config.roots[0]), expected, "k = {k}");
        // Then the rest, resent from the start, is mirrored.
        apply_all(&mut replica, &journal);
        replica.close().unwrap();
        assert_mirrored(&home, &config.roots[0]);
    }
}

#[test]
fn an_open_transaction_survives_a_restart() {
    let home = Home::new();
    let (journal, commit) = transaction_journal(&home);
    let begin = journal
        .iter()
        .position(|e| matches!(e.effect(), Effect::BeginTxn))
        .unwrap();
    let middle = (begin + commit) / 2 + 1;
    {
        let mut replica = home.open();
        apply_all(&mut replica, &journal[..middle]);
        replica.sync().unwrap();
        // Held entries after the sync are lost with the process.
        apply_all(&mut replica, &journal[middle..commit]);
    }
    let mut replica = home.open();
    assert_eq!(replica.durable_seq(), journal[middle - 1].seq);
    assert_eq!(replica.open_transactions(), 1);
    apply_all(&mut replica, &journal);
    replica.close().unwrap();
    assert_mirrored(&home, &home.standby());
    // The spools are gone with the transaction.
    let spools = home.replica_config().state_dir.join("txn");
    assert_eq!(fs::read_dir(spools).unwrap().count(), 0);
}

/// Owned entries, the seqs between the given ones filled with markers of
/// nothing.
fn contiguous(entries: &[EntryRef<'_>]) -> Vec<Owned> {
    let mut journal: Vec<Owned> = Vec::new();
    for e in entries {
        while journal.last().map_or(0, |l| l.seq) + 1 < e.seq {
            let seq = journal.last().map_or(0, |l| l.seq) + 1;
            journal.push(Owned::of(&entry(seq, 0, "", Effect::None)));
        }
        journal.push(Owned::of(e));
    }
    journal
}

/// Renames inside a transaction (never journaled by the capture, which
/// refuses them there, but possible in a journal): a crash after any
/// number of effects — also between a rename and the barrier after it —
/// still ends with the whole transaction.
#[test]
fn a_transaction_with_renames_is_atomic_too() {
    let home = Home::with_files("");
    let (a, b, c, e) = ("/d/a", "/d/b", "/d/c", "/d/e");
    let t = 10;
    let journal = contiguous(&[
        entry(
            1,
            0,
            a,
            Effect::Write {
                offset: 0,
                data: b"AAAA",
            },
        ),
        entry(
            2,
            0,
            b,
            Effect::Write {
                offset: 0,
                data: b"BBBB",
            },
        ),
        entry(
            3,
            0,
            e,
            Effect::Write {
                offset: 0,
                data: b"EEEE",
            },
        ),
        entry(t, t, "", Effect::BeginTxn),
        entry(
            11,
            t,
            a,
            Effect::Write {
                offset: 2,
                data: b"aa",
            },
        ),
        entry(12, t, a, Effect::Rename { to: c }),
        entry(
            13,
            t,
            a,
            Effect::Write {
                offset: 0,
                data: b"new a",
            },
        ),
        entry(14, t, b, Effect::Rename { to: a }),
        entry(15, t, a, Effect::Truncate { len: 2 }),
        entry(16, t, e, Effect::DeleteFile),
        entry(
            17,
            t,
            b,
            Effect::Create {
                organization: drx_journal::FileOrganization::Fixed,
                record_len: 1,
            },
        ),
        entry(
            18,
            t,
            c,
            Effect::Write {
                offset: 4,
                data: b"cc",
            },
        ),
        entry(19, t, "", Effect::CommitTxn),
    ]);
    let expect = |root: &Path, k: u64| {
        let d = root.join("d");
        assert_eq!(fs::read(d.join("a")).unwrap(), b"BB", "k = {k}");
        assert_eq!(fs::read(d.join("b")).unwrap(), b"", "k = {k}");
        assert_eq!(fs::read(d.join("c")).unwrap(), b"AAaacc", "k = {k}");
        assert!(!d.join("e").exists(), "k = {k}");
    };
    let (commit, before) = journal.split_last().unwrap();
    for k in 0..=9 {
        let config = home.other_replica_config(&format!("r{k}"));
        {
            let mut replica = Replica::open(&config).unwrap();
            apply_all(&mut replica, before);
            replica.crash_after_effects(k);
            let outcome = replica.apply(&commit.entry());
            assert_eq!(outcome.is_ok(), k > 8, "k = {k}: {outcome:?}");
        }
        let replica = Replica::open(&config).unwrap();
        assert_eq!(replica.applied_seq(), 19, "k = {k}");
        expect(&config.roots[0], k);
    }
}

/// A rename outside a transaction, and a crash right after it (before the
/// barrier that counts it): the replay finds it done, and never runs the
/// effects before it over the renamed file.
#[test]
fn a_crash_right_after_a_rename_replays_well() {
    let home = Home::with_files("");
    let (a, c) = ("/d/a", "/d/c");
    let journal = contiguous(&[
        entry(
            1,
            0,
            a,
            Effect::Write {
                offset: 0,
                data: b"XXXX",
            },
        ),
        entry(
            2,
            0,
            a,
            Effect::Write {
                offset: 2,
                data: b"aa",
            },
        ),
        entry(3, 0, a, Effect::Rename { to: c }),
        entry(
            4,
            0,
            a,
            Effect::Write {
                offset: 0,
                data: b"new",
            },
        ),
    ]);
    {
        let mut replica = home.open();
        apply_all(&mut replica, &journal[..1]);
        replica.sync().unwrap();
        apply_all(&mut replica, &journal[1..2]);
        replica.crash_after_effects(1);
        assert!(matches!(
            replica.apply(&journal[2].entry()),
            Err(ReplicaError::InjectedCrash { seq: 3 })
        ));
    }
    let mut replica = home.open();
    // Everything before the rename was made durable before it.
    assert_eq!(replica.durable_seq(), 2);
    apply_all(&mut replica, &journal);
    replica.close().unwrap();
    assert_eq!(fs::read(replica_path(&home, c)).unwrap(), b"XXaa");
    assert_eq!(fs::read(replica_path(&home, a)).unwrap(), b"new");
}

#[test]
fn aborted_and_unknown_transactions_are_not_applied() {
    let home = Home::with_files("");
    let mut replica = home.open();
    let f = "/d/f";
    let outcomes: Vec<Outcome> = [
        entry(
            1,
            0,
            f,
            Effect::Write {
                offset: 0,
                data: b"base",
            },
        ),
        entry(2, 2, "", Effect::BeginTxn),
        entry(
            3,
            2,
            f,
            Effect::Write {
                offset: 0,
                data: b"XXXX",
            },
        ),
        entry(4, 2, f, Effect::Truncate { len: 1 }),
        entry(5, 2, "", Effect::AbortTxn),
        // A transaction whose begin was never seen.
        entry(
            6,
            99,
            f,
            Effect::Write {
                offset: 0,
                data: b"YYYY",
            },
        ),
        entry(7, 99, "", Effect::CommitTxn),
        entry(8, 98, "", Effect::AbortTxn),
        // An empty transaction.
        entry(9, 9, "", Effect::BeginTxn),
        entry(10, 9, "", Effect::CommitTxn),
    ]
    .iter()
    .map(|e| replica.apply(e).unwrap())
    .collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Applied,
            Outcome::Began,
            Outcome::Held,
            Outcome::Held,
            Outcome::Aborted { dropped: 2 },
            Outcome::Ignored,
            Outcome::Ignored,
            Outcome::Ignored,
            Outcome::Began,
            Outcome::Committed {
                effects: 0,
                refused: 0
            },
        ]
    );
    replica.close().unwrap();
    let path = replica_path(&home, f);
    assert_eq!(fs::read(path).unwrap(), b"base");
}

fn replica_path(home: &Home, file: &str) -> PathBuf {
    home.standby().join(file.trim_start_matches('/'))
}

#[test]
fn entries_come_in_sequence() {
    let home = Home::with_files("");
    let mut replica = home.open();
    // A new replica starts anywhere.
    assert_eq!(
        replica
            .apply(&entry(
                5,
                0,
                "/f",
                Effect::Write {
                    offset: 0,
                    data: b"a"
                }
            ))
            .unwrap(),
        Outcome::Applied
    );
    let gap = replica.apply(&entry(
        7,
        0,
        "/f",
        Effect::Write {
            offset: 1,
            data: b"c",
        },
    ));
    assert!(matches!(
        gap,
        Err(ReplicaError::OutOfSequence { applied: 5, seq: 7 })
    ));
    assert!(!gap.unwrap_err().is_fatal());
    replica
        .apply(&entry(
            6,
            0,
            "/f",
            Effect::Write {
                offset: 1,
                data: b"b",
            },
        ))
        .unwrap();
    assert_eq!(
        replica
            .apply(&entry(
                6,
                0,
                "/f",
                Effect::Write {
                    offset: 0,
                    data: b"X"
                }
            ))
            .unwrap(),
        Outcome::Skipped
    );
    assert_eq!(replica.applied_seq(), 6);
    assert_eq!(replica.durable_seq(), 0);
    assert_eq!(replica.sync().unwrap(), 6);
    assert_eq!(fs::read(replica_path(&home, "/f")).unwrap(), b"ab");
    // One replica per state directory.
    assert!(matches!(
        Replica::open(&home.replica_config()),
        Err(ReplicaError::Locked { .. })
    ));
}

#[test]
fn paths_escaping_the_roots_are_refused_and_nothing_is_written_outside() {
    let home = Home::with_files(
        "[[files]]\nsource_path = \"/up/*\"\ndestination_dir = \"standby/../outside\"\n\
         [[files]]\nsource_path = \"/abs/*\"\ndestination_dir = \"/tmp/drx-replica-test-outside\"\n\
         [[files]]\nsource_path = \"/into/*\"\ndestination_dir = \"standby/mapped\"\n",
    );
    let outside = home.home().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let standby = home.standby();
    fs::create_dir_all(standby.join("ok")).unwrap();
    // A directory link out of the root, and a file link out of it.
    std::os::unix::fs::symlink(&outside, standby.join("evil")).unwrap();
    std::os::unix::fs::symlink(outside.join("target"), standby.join("ok/link")).unwrap();
    let before_home: Vec<_> = fs::read_dir(home.home())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    let mut replica = home.open();
    let w = |seq, file| {
        entry(
            seq,
            0,
            file,
            Effect::Write {
                offset: 0,
                data: b"x",
            },
        )
    };
    let refused = [
        (w(1, "../x"), Refusal::ParentDir),
        (w(2, "/data/../../../x"), Refusal::ParentDir),
        (w(3, "relative/x"), Refusal::NotAbsolute),
        (w(4, "/up/a"), Refusal::ParentDir),
        (
            w(5, "/abs/a"),
            Refusal::OutsideRoots(PathBuf::from("/tmp/drx-replica-test-outside/a")),
        ),
        (
            w(6, "/evil/a"),
            Refusal::SymlinkOutOfRoot(fs::canonicalize(&standby).unwrap().join("evil")),
        ),
        (
            w(7, "/evil/deeper/a"),
            Refusal::SymlinkOutOfRoot(fs::canonicalize(&standby).unwrap().join("evil")),
        ),
        (
            w(8, "/ok/link"),
            Refusal::Symlink(fs::canonicalize(&standby).unwrap().join("ok/link")),
        ),
    ];
    for (e, reason) in &refused {
        match replica.apply(e) {
            Err(ReplicaError::Refused { seq, reason: r, .. }) => {
                assert_eq!((seq, &r), (e.seq, reason));
            }
            other => panic!("seq {}: {other:?}", e.seq),
        }
    }
    // The rest goes on: good paths, and renames to or from a bad one.
    assert_eq!(replica.apply(&w(9, "/ok/good")).unwrap(), Outcome::Applied);
    assert_eq!(replica.apply(&w(10, "/into/f")).unwrap(), Outcome::Applied);
    let rename_out = entry(11, 0, "/ok/good", Effect::Rename { to: "/up/b" });
    assert!(matches!(
        replica.apply(&rename_out),
        Err(ReplicaError::Refused {
            seq: 11,
            reason: Refusal::ParentDir,
            ..
        })
    ));
    let rename_in = entry(12, 0, "/evil/a", Effect::Rename { to: "/ok/stolen" });
    assert!(matches!(
        replica.apply(&rename_in),
        Err(ReplicaError::Refused { seq: 12, .. })
    ));
    // Inside a transaction, refused on arrival.
    replica.apply(&entry(13, 13, "", Effect::BeginTxn)).unwrap();
    assert!(matches!(
        replica.apply(&entry(14, 13, "/up/c", Effect::Truncate { len: 0 })),
        Err(ReplicaError::Refused { seq: 14, .. })
    ));
    replica
        .apply(&entry(
            15,
            13,
            "/ok/good",
            Effect::Write {
                offset: 1,
                data: b"y",
            },
        ))
        .unwrap();
    assert_eq!(
        replica
            .apply(&entry(16, 13, "", Effect::CommitTxn))
            .unwrap(),
        Outcome::Committed {
            effects: 1,
            refused: 0
        }
    );
    assert_eq!(replica.refused_count(), 11);
    assert_eq!(replica.close().unwrap(), 16);

    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "written outside"
    );
    assert!(!Path::new("/tmp/drx-replica-test-outside").exists());
    let after_home: Vec<_> = fs::read_dir(home.home())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "replica_state")
        .collect();
    assert_eq!(after_home, before_home);
    assert_eq!(fs::read(standby.join("ok/good")).unwrap(), b"xy");
    assert_eq!(fs::read(standby.join("mapped/f")).unwrap(), b"x");
}

#[test]
fn a_directory_swapped_for_a_link_out_is_seen_at_the_next_open() {
    let home = Home::with_files("");
    let outside = home.home().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let mut replica = home.open();
    let w = |seq, file| {
        entry(
            seq,
            0,
            file,
            Effect::Write {
                offset: 0,
                data: b"x",
            },
        )
    };
    assert_eq!(replica.apply(&w(1, "/x/f")).unwrap(), Outcome::Applied);
    let x = home.standby().join("x");
    fs::rename(&x, home.standby().join("x_old")).unwrap();
    std::os::unix::fs::symlink(&outside, &x).unwrap();
    assert!(matches!(
        replica.apply(&w(2, "/x/g")),
        Err(ReplicaError::Refused {
            seq: 2,
            reason: Refusal::SymlinkOutOfRoot(_),
            ..
        })
    ));
    replica.close().unwrap();
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn replicas_are_readable_and_lockable_by_readers_during_apply() {
    let home = Home::with_files("");
    let mut replica = home.open();
    replica
        .apply(&entry(
            1,
            0,
            "/r/f",
            Effect::Write {
                offset: 0,
                data: b"one",
            },
        ))
        .unwrap();
    let reader = fs::File::open(replica_path(&home, "/r/f")).unwrap();
    // A reader may even hold a shared lock: apply never locks.
    reader.try_lock_shared().unwrap();
    replica
        .apply(&entry(
            2,
            0,
            "/r/f",
            Effect::Write {
                offset: 3,
                data: b"two",
            },
        ))
        .unwrap();
    replica.sync().unwrap();
    assert_eq!(fs::read(replica_path(&home, "/r/f")).unwrap(), b"onetwo");
    reader.unlock().unwrap();
}

#[test]
fn a_rename_of_a_file_the_replica_lacks_is_reported_and_passed() {
    let home = Home::with_files("");
    let mut replica = home.open();
    let e = entry(1, 0, "/d/missing", Effect::Rename { to: "/d/other" });
    let err = replica.apply(&e).unwrap_err();
    assert!(matches!(err, ReplicaError::NotOnReplica { seq: 1, .. }));
    assert!(!err.is_fatal());
    assert_eq!(replica.applied_seq(), 1);
    // Deleting a missing file is no error.
    let e = entry(2, 0, "/d/missing", Effect::DeleteFile);
    assert_eq!(replica.apply(&e).unwrap(), Outcome::Applied);
}

#[test]
fn the_state_directory_must_not_overlap_a_root() {
    let home = Home::with_files("");
    let mut config = home.replica_config();
    config.state_dir = home.standby().join("state");
    assert!(matches!(
        Replica::open(&config),
        Err(ReplicaError::Config(_))
    ));
    config.roots = vec![];
    config.state_dir = home.home().join("s");
    assert!(matches!(
        Replica::open(&config),
        Err(ReplicaError::Config(_))
    ));
}
