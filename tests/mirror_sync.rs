//! Sync commit mode (`[mirror] commit = "sync"`) with real servers: a
//! capture call returns only once the standby has the entry durably, and
//! without a standby the application degrades to async with an alert
//! rather than stall.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{caught_up, free_port, logs, pair_with, replica_of, start, stop};
use common::{Home, keys_of, mixed_script, wait_until};
use std::time::Duration;

/// Runs `drx io` on `script`: its stdout and stderr.
fn io(home: &Home, name: &str, script: &str) -> (String, String) {
    home.write(name, script);
    let out = home.command(&["io", "--script", name]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

/// The primary server's status file, once it says `streaming`.
fn streaming(home: &Home) -> bool {
    wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        std::fs::read_to_string(home.join("status/primary.json"))
            .is_ok_and(|s| s.contains("\"state\": \"streaming\""))
    })
}

/// The number after `"name": ` in a status file.
fn counter(home: &Home, role: &str, name: &str) -> u64 {
    let text =
        std::fs::read_to_string(home.join(&format!("status/{role}.json"))).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    json["counters"][name].as_u64().unwrap_or(0)
}

#[test]
fn when_a_sync_capture_call_returns_the_standby_has_the_entry() {
    let (primary, standby) = pair_with(free_port(), "commit = \"sync\"\nsync_timeout_ms = 20000");
    let mut standby_server = start(&standby, "standby");
    let mut primary_server = start(&primary, "primary");
    assert!(streaming(&primary), "{}", logs(&primary, &standby));
    primary.demo("error_codes.table");
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    let (out, err) = io(&primary, "ops.jsonl", &mixed_script(&mut keys, 400, 7));
    assert!(
        out.contains(" acknowledged by the standby, 0 not waited for, degraded to async 0 times"),
        "{out}\n{err}"
    );
    let acknowledged: u64 = out
        .split("sync commit: ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(acknowledged >= 100, "{out}");
    // Kill both servers at once, without giving the standby a moment more:
    // what the application was told is committed is on the standby.
    standby_server.kill().unwrap();
    primary_server.kill().unwrap();
    standby_server.wait().unwrap();
    primary_server.wait().unwrap();
    // Every committed change is there: the last commit, or the last change
    // outside a transaction. (Not waited for: an aborted transaction, and
    // a checksum entry — a check for the standby, not a change.)
    let mut reader = drx_journal::Reader::open(&primary.join("journal"), 1).unwrap();
    let mut last_change = 0;
    while let Some(entry) = reader.next().unwrap() {
        let committed = match entry.effect {
            drx_journal::Effect::CommitTxn => true,
            drx_journal::Effect::Checksum(_) => false,
            _ => entry.txn == 0,
        };
        if committed {
            last_change = entry.seq;
        }
    }
    assert!(last_change > 1_000);
    let standby_last = drx_journal::last_seq(&standby.join("journal")).unwrap();
    assert!(
        standby_last >= last_change,
        "standby at {standby_last}, last change {last_change}\n{}",
        logs(&primary, &standby)
    );
    let source = std::fs::canonicalize(primary.join("error_codes.data")).unwrap();
    assert_eq!(
        std::fs::read(replica_of(&standby, &source)).unwrap(),
        std::fs::read(&source).unwrap()
    );
}

#[test]
fn without_a_standby_sync_commits_degrade_to_async_with_an_alert() {
    let (primary, standby) = pair_with(free_port(), "commit = \"sync\"\nsync_timeout_ms = 300");
    primary.demo("error_codes.table");
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));

    // No primary server at all: nobody answers on the commit socket.
    let (out, err) = io(&primary, "alone.jsonl", &mixed_script(&mut keys, 50, 1));
    assert!(out.contains("degraded to async 1 times"), "{out}\n{err}");
    assert!(
        err.contains("ALERT: sync commit degraded to async"),
        "{err}"
    );
    assert!(err.contains("no answer from the primary server"), "{err}");

    // A primary server but no standby: the wait times out.
    let primary_server = start(&primary, "primary");
    assert!(
        wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
            primary.join("journal/mirror.sock").exists()
        }),
        "{}",
        logs(&primary, &standby)
    );
    let (out, err) = io(
        &primary,
        "no_standby.jsonl",
        &mixed_script(&mut keys, 50, 2),
    );
    assert!(out.contains("degraded to async 1 times"), "{out}\n{err}");
    assert!(err.contains("acknowledged up to seq"), "{err}");
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            counter(&primary, "primary", "sync_timeouts") >= 1
        }),
        "{}",
        logs(&primary, &standby)
    );
    assert!(
        std::fs::read_to_string(primary.join("primary.log"))
            .unwrap()
            .contains("ALERT"),
        "{}",
        logs(&primary, &standby)
    );

    // The standby comes: it catches up, and the next session is sync again.
    let standby_server = start(&standby, "standby");
    assert!(
        caught_up(&primary, &standby),
        "{}",
        logs(&primary, &standby)
    );
    let (out, err) = io(&primary, "back.jsonl", &mixed_script(&mut keys, 50, 3));
    assert!(
        out.contains("0 not waited for, degraded to async 0 times"),
        "{out}\n{err}"
    );
    assert!(
        caught_up(&primary, &standby),
        "{}",
        logs(&primary, &standby)
    );
    stop(primary_server);
    stop(standby_server);
}
