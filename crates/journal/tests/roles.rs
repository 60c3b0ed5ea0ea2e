//! A journal's role (`ROLE`) decides what it takes: a primary's its own
//! entries, a standby's only another journal's, a fenced one nothing, and
//! a role set by another process takes effect in a writer that is open.
//! The epoch history (`EPOCHS`) records where each epoch began, on the
//! primary that raised it and on the replica that received it.

#![allow(clippy::unwrap_used)]

use drx_journal::{
    Effect, EpochStart, JournalError, NewEntry, NodeRole, Reader, Writer, WriterConfig,
    epoch_history, node_role, set_node_role,
};
use std::time::{Duration, Instant};

fn entry(data: &[u8]) -> NewEntry<'_> {
    NewEntry {
        txn: 0,
        process: "app",
        file: "/data/a.dat",
        effect: Effect::Write { offset: 0, data },
        record: None,
    }
}

fn copy_all(from: &std::path::Path, to: &mut Writer) -> Result<u64, JournalError> {
    let mut reader = Reader::open(from, to.last_seq() + 1).unwrap();
    let mut last = 0;
    while let Some(e) = reader.next().unwrap() {
        last = to.append_replica(&e)?;
    }
    Ok(last)
}

#[test]
fn each_role_refuses_what_it_must_and_says_what_to_do() {
    let primary = tempfile::tempdir().unwrap();
    let standby = tempfile::tempdir().unwrap();
    let mut p = Writer::open(WriterConfig::new(primary.path())).unwrap();
    assert_eq!(p.role(), None, "no role set: both kinds of append");
    p.append(&entry(b"one")).unwrap();
    p.set_role(NodeRole::Primary).unwrap();
    p.append(&entry(b"two")).unwrap();
    p.flush().unwrap();

    let mut s = Writer::open(WriterConfig::new(standby.path())).unwrap();
    s.set_role(NodeRole::Standby).unwrap();
    assert_eq!(copy_all(primary.path(), &mut s).unwrap(), 2);
    s.flush().unwrap();
    let e = s.append(&entry(b"local")).unwrap_err();
    assert!(matches!(
        e,
        JournalError::RoleForbids { replica: false, .. }
    ));
    assert!(
        e.to_string().contains("this node is a standby") && e.to_string().contains("drx promote"),
        "{e}"
    );
    // The primary takes no replica entries.
    let mut reader = Reader::open(standby.path(), 1).unwrap();
    let first = reader.next().unwrap().unwrap();
    let e = p.append_replica(&first).unwrap_err();
    assert!(e.to_string().contains("this node is a primary"), "{e}");
    s.close().unwrap();

    // A role set by another process reaches the open writer.
    set_node_role(
        primary.path(),
        &NodeRole::Fenced {
            epoch: 2,
            by: "stby node".into(),
        },
    )
    .unwrap();
    assert_eq!(
        node_role(primary.path()).unwrap(),
        Some(NodeRole::Fenced {
            epoch: 2,
            by: "stby node".into()
        })
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let e = loop {
        match p.append(&entry(b"late")) {
            Err(e) => break e,
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(_) => panic!("the fenced role never reached the writer"),
        }
    };
    assert!(
        e.to_string()
            .contains("fenced off: stby node was promoted to primary at epoch 2")
            && e.to_string().contains("drx rejoin"),
        "{e}"
    );
    p.close().unwrap();
    let e = Writer::open(WriterConfig::new(primary.path()))
        .unwrap()
        .append(&entry(b"after restart"))
        .unwrap_err();
    assert!(matches!(e, JournalError::RoleForbids { .. }), "{e}");
}

#[test]
fn the_epoch_history_follows_raises_and_replication() {
    let primary = tempfile::tempdir().unwrap();
    let replica = tempfile::tempdir().unwrap();
    let mut p = Writer::open(WriterConfig::new(primary.path())).unwrap();
    for _ in 0..3 {
        p.append(&entry(b"epoch 1")).unwrap();
    }
    p.set_epoch(2).unwrap();
    p.set_epoch(2).unwrap();
    for _ in 0..2 {
        p.append(&entry(b"epoch 2")).unwrap();
    }
    p.set_epoch(5).unwrap();
    p.append(&entry(b"epoch 5")).unwrap();
    p.close().unwrap();
    let expected = vec![
        EpochStart {
            epoch: 1,
            first_seq: 1,
        },
        EpochStart {
            epoch: 2,
            first_seq: 4,
        },
        EpochStart {
            epoch: 5,
            first_seq: 6,
        },
    ];
    assert_eq!(epoch_history(primary.path()).unwrap(), expected);

    let mut r = Writer::open(WriterConfig::new(replica.path())).unwrap();
    assert_eq!(copy_all(primary.path(), &mut r).unwrap(), 6);
    r.close().unwrap();
    assert_eq!(epoch_history(replica.path()).unwrap(), expected);
}

#[test]
fn a_raise_cut_short_by_a_crash_is_completed_when_the_journal_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(WriterConfig::new(dir.path())).unwrap();
    w.append(&entry(b"x")).unwrap();
    w.close().unwrap();
    // As if the process died between writing EPOCH and EPOCHS.
    std::fs::write(dir.path().join("EPOCH"), "3\n").unwrap();
    let mut w = Writer::open(WriterConfig::new(dir.path())).unwrap();
    assert_eq!(w.append(&entry(b"y")).unwrap(), 2);
    w.close().unwrap();
    assert_eq!(
        epoch_history(dir.path()).unwrap().last(),
        Some(&EpochStart {
            epoch: 3,
            first_seq: 2
        })
    );
    // A damaged history is an error naming the file and line.
    std::fs::write(dir.path().join("EPOCHS"), "3 2\n2 9\n").unwrap();
    let e = epoch_history(dir.path()).unwrap_err().to_string();
    assert!(e.contains("EPOCHS") && e.contains("line 2"), "{e}");
}

#[test]
fn a_journal_cut_back_to_a_seq_goes_on_from_there() {
    let dir = tempfile::tempdir().unwrap();
    let config = WriterConfig {
        segment_size: 4096,
        ..WriterConfig::new(dir.path())
    };
    let mut w = Writer::open(config.clone()).unwrap();
    let payload = vec![7u8; 300];
    for _ in 0..40 {
        w.append(&entry(&payload)).unwrap();
    }
    w.set_epoch(2).unwrap();
    for _ in 0..20 {
        w.append(&entry(&payload)).unwrap();
    }
    w.close().unwrap();
    drx_journal::register_consumer(dir.path(), "extractor").unwrap();
    drx_journal::set_consumer_position(dir.path(), "extractor", 55).unwrap();
    let segments_before = std::fs::read_dir(dir.path()).unwrap().count();

    // Held by a writer: refused.
    let held = Writer::open(config.clone()).unwrap();
    assert!(matches!(
        drx_journal::truncate_after(dir.path(), 25),
        Err(JournalError::Locked { .. })
    ));
    held.close().unwrap();

    assert_eq!(drx_journal::truncate_after(dir.path(), 25).unwrap(), 35);
    assert_eq!(drx_journal::last_seq(dir.path()).unwrap(), 25);
    assert!(std::fs::read_dir(dir.path()).unwrap().count() < segments_before);
    assert_eq!(
        epoch_history(dir.path()).unwrap(),
        vec![EpochStart {
            epoch: 1,
            first_seq: 1
        }]
    );
    assert_eq!(drx_journal::current_epoch(dir.path()).unwrap(), 1);
    assert_eq!(
        drx_journal::consumer_position(dir.path(), "extractor").unwrap(),
        Some(25)
    );
    // Again: nothing more to cut.
    assert_eq!(drx_journal::truncate_after(dir.path(), 25).unwrap(), 0);
    // It goes on at 26, every entry readable in order.
    let mut w = Writer::open(config).unwrap();
    assert_eq!(w.append(&entry(b"next")).unwrap(), 26);
    w.close().unwrap();
    let mut r = Reader::open(dir.path(), 1).unwrap();
    let mut seqs = Vec::new();
    while let Some(e) = r.next().unwrap() {
        seqs.push(e.seq);
    }
    assert_eq!(seqs, (1..=26).collect::<Vec<_>>());
}

#[test]
fn a_cut_stopped_after_its_segments_is_finished_by_running_it_again() {
    // The journal as a crash leaves it after the segments were cut back
    // to seq 25 and before the history and the consumers were: epoch 2
    // still begins at 41, the extractor still at 55.
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(WriterConfig::new(dir.path())).unwrap();
    for _ in 0..25 {
        w.append(&entry(b"kept")).unwrap();
    }
    w.close().unwrap();
    std::fs::write(dir.path().join("EPOCH"), "2\n").unwrap();
    std::fs::write(dir.path().join("EPOCHS"), "1 1\n2 41\n").unwrap();
    drx_journal::register_consumer(dir.path(), "extractor").unwrap();
    drx_journal::set_consumer_position(dir.path(), "extractor", 55).unwrap();
    assert_eq!(drx_journal::current_epoch(dir.path()).unwrap(), 2);

    assert_eq!(drx_journal::truncate_after(dir.path(), 25).unwrap(), 0);
    assert_eq!(
        epoch_history(dir.path()).unwrap(),
        vec![EpochStart {
            epoch: 1,
            first_seq: 1
        }]
    );
    assert_eq!(drx_journal::current_epoch(dir.path()).unwrap(), 1);
    assert_eq!(
        drx_journal::consumer_position(dir.path(), "extractor").unwrap(),
        Some(25)
    );
    assert_eq!(drx_journal::last_seq(dir.path()).unwrap(), 25);
}
