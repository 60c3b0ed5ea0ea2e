//! Failback with real processes on 127.0.0.1: the primary is killed with
//! SIGKILL and goes on writing alone (its entries the standby never
//! received); the standby is promoted and takes writes; the old primary
//! is fenced off, then `drx rejoin` reports and rolls back its diverged
//! entries, repairs the files they wrote from the new primary, and follows
//! it as a standby: both nodes' files end byte-identical.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{SYMMETRIC_DATA, Server, start, stop, symmetric_pair, symmetric_script};
use common::{Home, keys_of, wait_until};
use drx_journal::NodeRole;
use std::path::Path;
use std::time::Duration;

const DATA: &str = SYMMETRIC_DATA;

fn same(a: &Home, b: &Home) -> bool {
    matches!(
        (std::fs::read(a.join(DATA)), std::fs::read(b.join(DATA))),
        (Ok(x), Ok(y)) if x == y
    )
}

fn logs(homes: &[(&Home, &str)]) -> String {
    homes
        .iter()
        .map(|(h, f)| {
            format!(
                "{f}:\n{}\n",
                std::fs::read_to_string(h.join(f)).unwrap_or_default()
            )
        })
        .collect()
}

fn role(home: &Home) -> Option<NodeRole> {
    drx_journal::node_role(&home.join("journal")).unwrap()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn diverged_entries_are_reported_rolled_back_and_the_old_primary_follows_the_new_one() {
    let (prim, stby) =
        symmetric_pair("heartbeat_ms = 200\ncommit = \"sync\"\nsync_timeout_ms = 3000");
    let stby_server = start(&stby, "standby");
    let mut prim_server = start(&prim, "primary");
    prim.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        DATA,
    ]);
    let mut keys = keys_of(&prim.file_rows(DATA));
    prim.io("ops0.jsonl", &symmetric_script(&mut keys, 200, 1));
    let all = [(&prim, "primary.log"), (&stby, "standby.log")];
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || same(
            &prim, &stby
        )),
        "{}",
        logs(&all)
    );

    // Everything committed so far was acknowledged by the standby.
    let committed = drx_journal::last_seq(&prim.join("journal")).unwrap();

    // The primary's server dies with SIGKILL under load; its application
    // goes on alone (sync commits degrade to async): the entries after it
    // never reach the standby.
    prim.write("load.jsonl", &symmetric_script(&mut keys, 1_500, 6));
    let mut load = prim
        .command(&["io", "--script", "load.jsonl"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = prim.join("journal");
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(5), || {
            drx_journal::last_seq(&journal).unwrap_or(0) > committed + 200
        }),
        "the load never started"
    );
    prim_server.kill().unwrap();
    prim_server.wait().unwrap();
    assert!(load.wait().unwrap().success(), "the application stopped");
    prim.io("alone.jsonl", &symmetric_script(&mut keys, 60, 2));
    let prim_last = drx_journal::last_seq(&prim.join("journal")).unwrap();

    // Failover: the standby is promoted (its server asked), and written to.
    let promoted = stby.ok(&["promote"]);
    assert!(promoted.contains("epoch 1 -> 2"), "{promoted}");
    // The last entry it received from the old primary: the last of epoch
    // 1 (the promotion may have appended AbortTxn entries of epoch 2 for
    // transactions the kill left open).
    let history = drx_journal::epoch_history(&stby.join("journal")).unwrap();
    let epoch2 = history
        .iter()
        .find(|e| e.epoch == 2)
        .expect("epoch 2 began");
    let received = epoch2.first_seq - 1;
    assert!(
        received < prim_last,
        "nothing diverged: {received} {prim_last}"
    );
    assert!(received >= committed, "a committed entry was lost");
    let mut stby_keys = keys_of(&stby.file_rows(DATA));
    stby.io("new1.jsonl", &symmetric_script(&mut stby_keys, 80, 3));

    // The old primary comes back: fenced off.
    let old = start(&prim, "primary");
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
            matches!(role(&prim), Some(NodeRole::Fenced { epoch: 2, .. }))
        }),
        "{}",
        logs(&all)
    );
    stop(old);

    // An operation whose bytes reached the file but whose entry never
    // reached the journal (an application killed in between): no entry
    // names these bytes, and the rejoin must still undo them.
    // They go where no entry after the last acknowledged one writes, on
    // either node, so that only a repair of the whole file mends them.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut written: Vec<(u64, u64)> = Vec::new();
        for home in [&prim, &stby] {
            let mut r = drx_journal::Reader::open(&home.join("journal"), committed + 1).unwrap();
            while let Some(e) = r.next().unwrap() {
                if let drx_journal::Effect::Write { offset, data } = e.effect {
                    written.push((offset, offset + data.len() as u64));
                }
            }
        }
        let stray = b"bytes no journal entry describes";
        let len = std::fs::metadata(prim.join(DATA)).unwrap().len();
        let at = (0..len - stray.len() as u64)
            .step_by(64)
            .find(|&at| {
                let end = at + stray.len() as u64;
                written.iter().all(|&(a, b)| end <= a || b <= at)
            })
            .expect("a range no entry wrote");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(prim.join(DATA))
            .unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(stray).unwrap();
    }

    // Rejoin: the diverged entries are reported and rolled back.
    let out = prim.ok(&["rejoin"]);
    let diverged = prim_last - received;
    assert!(
        out.contains(&format!(
            "rejoined stby (epoch 2) as its standby: the journals share seqs 1 to {received}"
        )) && out.contains(&format!(
            "{diverged} entries of this node after them were rolled back"
        )),
        "{out}"
    );
    let report = prim.join(&format!(
        "rejoin/rolled-back-{}-{prim_last}.jsonl",
        received + 1
    ));
    assert_eq!(lines(&report) as u64, diverged, "{out}");
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&report)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["seq"], received + 1);
    assert_eq!(first["epoch"], 1);
    assert_eq!(role(&prim), Some(NodeRole::Standby));
    assert_eq!(
        drx_journal::last_seq(&prim.join("journal")).unwrap(),
        received
    );
    // Running it again: nothing left to do.
    let again = prim.fails(&["rejoin"]);
    assert!(again.contains("already a standby"), "{again}");

    // The new primary streams to the old one, which follows.
    let prim_standby = start(&prim, "standby");
    let stby_primary = start(&stby, "primary");
    stby.io("new2.jsonl", &symmetric_script(&mut stby_keys, 80, 4));
    let all = [
        (&prim, "standby.log"),
        (&stby, "primary.log"),
        (&stby, "standby.log"),
    ];
    let caught_up = || {
        same(&prim, &stby)
            && drx_journal::last_seq(&stby.join("journal")).unwrap()
                == drx_journal::last_seq(&prim.join("journal")).unwrap()
    };
    assert!(
        wait_until(
            Duration::from_secs(60),
            Duration::from_millis(50),
            caught_up
        ),
        "{}",
        logs(&all)
    );
    assert_eq!(prim.file_rows(DATA), stby.file_rows(DATA));

    // Switchover: the role goes back to prim with no change lost.
    let mut stby_primary = stby_primary;
    let switched = stby.ok(&["switchover", "--timeout", "30"]);
    let last = drx_journal::last_seq(&stby.join("journal")).unwrap();
    assert!(
        switched.contains(&format!(
            "switched over: prim is the primary from seq {} on",
            last + 1
        )),
        "{switched}"
    );
    assert_eq!(role(&stby), Some(NodeRole::Standby));
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
            role(&prim) == Some(NodeRole::Primary)
        }),
        "{}",
        logs(&all)
    );
    assert_eq!(
        drx_journal::current_epoch(&prim.join("journal")).unwrap(),
        3
    );
    // stby's primary server has stopped; its standby server now serves as one.
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
            stby_primary.try_wait().unwrap().is_some()
        }),
        "stby's primary server goes on after the switchover"
    );
    // A standby takes no writes (its server holds the journal, else its
    // role refuses them).
    let refused = stby.fails(&["io", "--script", "new2.jsonl"]);
    assert!(
        refused.contains("this node is a standby") || refused.contains("locked"),
        "{refused}"
    );
    let prim_primary = start(&prim, "primary");
    let mut prim_keys = keys_of(&prim.file_rows(DATA));
    prim.io("back.jsonl", &symmetric_script(&mut prim_keys, 80, 5));
    let all = [
        (&prim, "primary.log"),
        (&prim, "standby.log"),
        (&stby, "standby.log"),
    ];
    assert!(
        wait_until(
            Duration::from_secs(60),
            Duration::from_millis(50),
            caught_up
        ),
        "{}",
        logs(&all)
    );
    // The two histories are one: epochs 1 (prim), 2 (stby), 3 (prim).
    let prim_history = drx_journal::epoch_history(&prim.join("journal")).unwrap();
    assert_eq!(
        prim_history.iter().map(|e| e.epoch).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        drx_journal::epoch_history(&stby.join("journal")).unwrap(),
        prim_history
    );
    stop(prim_primary);
    stop(prim_standby);
    stop(stby_server);
}

/// The bytes a rejoin says it fetched ("… repaired from stby (N bytes)").
fn repaired_bytes(out: &str) -> u64 {
    let tail = out.split("repaired from stby (").nth(1).unwrap_or_default();
    tail.split(' ').next().unwrap_or_default().parse().unwrap()
}

#[test]
fn a_rejoin_fetches_only_the_blocks_that_differ_from_the_new_primary() {
    let (prim, stby) = symmetric_pair("heartbeat_ms = 200");
    let stby_server = Server::start(&stby, "standby");
    let mut prim_server = Server::start(&prim, "primary");
    // A file of 20,000 records, mirrored.
    common::write_input(&prim.layout(), &prim.join("input.table"), 20_000);
    prim.ok(&["demo", "--input-path", "input.table", "--output-path", DATA]);
    let all = [(&prim, "primary.log"), (&stby, "standby.log")];
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || same(
            &prim, &stby
        )),
        "{}",
        logs(&all)
    );
    let len = std::fs::metadata(prim.join(DATA)).unwrap().len();
    // The primary's server dies; its application changes a few records
    // alone; the standby is promoted and changes a few of its own.
    prim_server.kill();
    let mut keys = keys_of(&prim.file_rows(DATA));
    prim.io("alone.jsonl", &symmetric_script(&mut keys, 12, 2));
    drop(stby_server);
    let promoted = stby.ok(&["promote"]);
    assert!(promoted.contains("epoch 1 -> 2"), "{promoted}");
    let mut stby_keys = keys_of(&stby.file_rows(DATA));
    stby.io("new.jsonl", &symmetric_script(&mut stby_keys, 12, 3));

    // The rejoin compares block digests and fetches what differs only.
    let fence = Server::start(&stby, "standby");
    let out = prim.ok(&["rejoin"]);
    drop(fence);
    let fetched = repaired_bytes(&out);
    eprintln!("the rejoin fetched {fetched} of {len} bytes");
    assert!(
        0 < fetched && fetched * 10 < len,
        "{fetched} of {len} bytes fetched: {out}"
    );

    // Then the new primary streams to the old one: identical.
    let _prim_standby = Server::start(&prim, "standby");
    let _stby_primary = Server::start(&stby, "primary");
    stby.io("more.jsonl", &symmetric_script(&mut stby_keys, 12, 4));
    let all = [
        (&prim, "standby.log"),
        (&stby, "primary.log"),
        (&stby, "standby.log"),
    ];
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
            same(&prim, &stby)
                && drx_journal::last_seq(&stby.join("journal")).unwrap()
                    == drx_journal::last_seq(&prim.join("journal")).unwrap()
        }),
        "{}",
        logs(&all)
    );
}
