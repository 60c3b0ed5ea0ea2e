//! Failover with real processes on 127.0.0.1: a standby refuses writes
//! until promoted; the primary is killed with SIGKILL under load; `drx
//! promote` raises the epoch and the promoted node takes writes that
//! continue its journal; the old primary, started again, is fenced off by
//! the promoted node's server and refuses writes, with a clear message.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{free_port, logs, pair_with, start, stop};
use common::{Home, keys_of, mixed_script, wait_until};
use drx_journal::{NodeRole, Reader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// A standby whose replica of the primary's error_codes.data is its own
/// `data/error_codes.data`, the file its applications use once promoted.
fn failover_pair(port: u16) -> (Home, Home) {
    let (primary, standby) = pair_with(port, "commit = \"sync\"\nsync_timeout_ms = 5000");
    let source = std::fs::canonicalize(primary.path())
        .unwrap()
        .join("error_codes.data");
    std::fs::create_dir_all(standby.join("data")).unwrap();
    standby.edit_config(
        "replica_roots = [\"replicas\"]",
        "replica_roots = [\"data\"]",
    );
    standby.edit_config(
        "source_path = \"error_codes.data\"",
        "source_path = \"data/error_codes.data\"",
    );
    standby.append_config(&format!(
        "\n[[files]]\nrecord_type = \"include\"\nprocess_name = \"*\"\nsource_path = \"{}\"\ndestination_dir = \"data\"\nextractor_file_id = 200\n",
        source.display()
    ));
    (primary, standby)
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// Every entry of `a` up to `last` equals `b`'s (seq, epoch, content).
fn same_history(a: &Path, b: &Path, last: u64) {
    let mut ra = Reader::open(a, 1).unwrap();
    let mut rb = Reader::open(b, 1).unwrap();
    for seq in 1..=last {
        let ea = format!("{:?}", ra.next().unwrap().unwrap());
        let eb = format!("{:?}", rb.next().unwrap().unwrap());
        assert_eq!(ea, eb, "entry {seq} differs");
    }
}

#[test]
fn kill_9_promote_write_on_the_new_primary_and_the_old_one_is_fenced() {
    let port = free_port();
    let (primary, standby) = failover_pair(port);
    let primary_file = primary.join("error_codes.data");
    let replica_file = standby.join("data/error_codes.data");
    let standby_server = start(&standby, "standby");
    let mut primary_server = start(&primary, "primary");
    primary.demo("error_codes.table");
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    primary.io("ops0.jsonl", &mixed_script(&mut keys, 300, 1));
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
            same_file(&primary_file, &replica_file)
        }),
        "{}",
        logs(&primary, &standby)
    );

    // Reports run on the standby: `drx extract` reads the journal it
    // receives (the primary's paths, mapped to file id 200 by its Files
    // Table) into its own SQLite sink, equal to its replica.
    let out = standby.ok(&["extract", "--file-id", "200"]);
    assert!(
        out.contains("sqlite: ") && out.contains("checkpoint seq"),
        "{out}"
    );
    let rows = standby.db_rows("error_codes.db");
    assert_eq!(rows.len(), standby.file_rows("data/error_codes.data").len());
    assert_eq!(
        keys_of(&rows),
        keys_of(&standby.file_rows("data/error_codes.data"))
    );

    // A standby is read-only: while its server runs the journal is held,
    // and stopped, the journal's role refuses the application's writes.
    let write_on_standby = mixed_script(&mut keys.clone(), 3, 99).replace(
        "\"file\":\"error_codes.data\"",
        "\"file\":\"data/error_codes.data\"",
    );
    standby.write("standby_ops.jsonl", &write_on_standby);
    let refused = standby.fails(&["io", "--script", "standby_ops.jsonl"]);
    assert!(
        refused.contains("LOCK") || refused.contains("locked"),
        "{refused}"
    );
    stop(standby_server);
    let refused = standby.fails(&["io", "--script", "standby_ops.jsonl"]);
    assert!(
        refused.contains("this node is a standby") && refused.contains("drx promote"),
        "{refused}"
    );
    let standby_server = start(&standby, "standby");

    // The primary dies with SIGKILL under load (application and server).
    primary.write("load.jsonl", &mixed_script(&mut keys, 4_000, 2));
    let mut load = primary
        .command(&["io", "--script", "load.jsonl"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = primary.join("journal");
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(5), || {
            drx_journal::last_seq(&journal).unwrap_or(0) > 400
        }),
        "the load never started"
    );
    load.kill().unwrap();
    primary_server.kill().unwrap();
    load.wait().unwrap();
    primary_server.wait().unwrap();

    // Promotion, the standby server stopped.
    stop(standby_server);
    let standby_journal = standby.join("journal");
    let received = drx_journal::last_seq(&standby_journal).unwrap();
    assert!(received > 0);
    let promoted = standby.ok(&["promote"]);
    assert!(
        promoted.contains("promoted to primary: epoch 1 -> 2")
            && promoted.contains(&format!("the last entry received was seq {received}")),
        "{promoted}"
    );
    assert_eq!(
        drx_journal::node_role(&standby_journal).unwrap(),
        Some(NodeRole::Primary)
    );
    let history = drx_journal::epoch_history(&standby_journal).unwrap();
    assert_eq!(history[0].epoch, 1);
    assert_eq!(history.last().unwrap().epoch, 2);
    let epoch_2_from = history.last().unwrap().first_seq;
    assert_eq!(epoch_2_from, received + 1, "{history:?}");
    // Promoting again does nothing.
    assert!(
        standby
            .ok(&["promote"])
            .contains("already the primary (epoch 2)")
    );
    // The two journals hold the same history up to what was received.
    same_history(&journal, &standby_journal, received);

    // The promoted node's server only fences; its applications write, and
    // their entries continue the journal in epoch 2.
    let fence = start(&standby, "standby");
    let aborted = drx_journal::last_seq(&standby_journal).unwrap() - received;
    let mut standby_keys = keys_of(&standby.file_rows("data/error_codes.data"));
    let more = mixed_script(&mut standby_keys, 50, 7).replace(
        "\"file\":\"error_codes.data\"",
        "\"file\":\"data/error_codes.data\"",
    );
    standby.io("after_promotion.jsonl", &more);
    let mut reader = Reader::open(&standby_journal, received + 1).unwrap();
    let mut new_entries = 0;
    while let Some(e) = reader.next().unwrap() {
        assert_eq!(e.epoch, 2, "seq {}", e.seq);
        new_entries += 1;
    }
    assert!(new_entries > aborted, "no entry of the new primary");

    // The old primary comes back: its server is fenced off and stops, and
    // its applications may not write.
    let old = start(&primary, "primary");
    let fenced = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        matches!(
            drx_journal::node_role(&journal),
            Ok(Some(NodeRole::Fenced { epoch: 2, .. }))
        )
    });
    assert!(fenced, "{}", logs(&primary, &standby));
    let mut old = old;
    let exited = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        old.try_wait().unwrap().is_some()
    });
    assert!(exited, "a fenced primary server keeps running");
    let log = std::fs::read_to_string(primary.join("primary.log")).unwrap();
    assert!(
        log.contains("this node was fenced off: stby was promoted to primary at epoch 2"),
        "{log}"
    );
    primary.write("late.jsonl", &mixed_script(&mut keys, 3, 3));
    let refused = primary.fails(&["io", "--script", "late.jsonl"]);
    assert!(
        refused.contains("this node was fenced off: stby was promoted to primary at epoch 2")
            && refused.contains("drx rejoin"),
        "{refused}"
    );
    stop(fence);
    let log: PathBuf = standby.join("standby.log");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.contains("epoch fenced")
            || log.contains("EpochFenced")
            || log.contains("older than this node"),
        "{log}"
    );
}

/// Waits (at most 30 s) until `home`'s journal is a primary's.
fn promoted(home: &Home) -> bool {
    let journal = home.join("journal");
    wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        matches!(
            drx_journal::node_role(&journal),
            Ok(Some(NodeRole::Primary))
        )
    })
}

#[test]
fn a_running_standby_server_promotes_on_request_and_then_fences() {
    let (primary, standby) = failover_pair(free_port());
    let standby_server = start(&standby, "standby");
    let mut primary_server = start(&primary, "primary");
    primary.demo("error_codes.table");
    let replica_file = standby.join("data/error_codes.data");
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
            same_file(&primary.join("error_codes.data"), &replica_file)
        }),
        "{}",
        logs(&primary, &standby)
    );
    primary_server.kill().unwrap();
    primary_server.wait().unwrap();
    // The server holds the journal: `drx promote` asks it.
    let out = standby.ok(&["promote"]);
    assert!(out.contains("promoted to primary: epoch 1 -> 2"), "{out}");
    assert!(out.contains("the primary had been silent for"), "{out}");
    assert!(promoted(&standby));
    // The same process now fences, and has let go of the journal.
    let mut keys = keys_of(&standby.file_rows("data/error_codes.data"));
    let ops = mixed_script(&mut keys, 20, 5).replace(
        "\"file\":\"error_codes.data\"",
        "\"file\":\"data/error_codes.data\"",
    );
    standby.io("ops.jsonl", &ops);
    let old = start(&primary, "primary");
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
            matches!(
                drx_journal::node_role(&primary.join("journal")),
                Ok(Some(NodeRole::Fenced { epoch: 2, .. }))
            )
        }),
        "{}",
        logs(&primary, &standby)
    );
    stop(old);
    stop(standby_server);
}

#[test]
fn a_standby_promotes_itself_after_missed_heartbeats_when_told_to() {
    let (primary, standby) = failover_pair(free_port());
    // Heartbeats every 200 ms: promote after 5 missed, one second.
    standby.edit_config(
        "heartbeat_ms = 200",
        "heartbeat_ms = 200\nauto_promote_after_missed = 5",
    );
    let standby_server = start(&standby, "standby");
    let mut primary_server = start(&primary, "primary");
    primary.demo("error_codes.table");
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
            same_file(
                &primary.join("error_codes.data"),
                &standby.join("data/error_codes.data"),
            )
        }),
        "{}",
        logs(&primary, &standby)
    );
    // Still a standby while the primary is alive and heard.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        drx_journal::node_role(&standby.join("journal")).unwrap(),
        Some(NodeRole::Standby),
        "{}",
        logs(&primary, &standby)
    );
    primary_server.kill().unwrap();
    primary_server.wait().unwrap();
    assert!(promoted(&standby), "{}", logs(&primary, &standby));
    let log = std::fs::read_to_string(standby.join("standby.log")).unwrap();
    assert!(
        log.contains("PROMOTED to primary") && log.contains("automatic: nothing from the primary"),
        "{log}"
    );
    stop(standby_server);
}
