//! `drx mirror standby` and `drx mirror primary` as real processes on
//! 127.0.0.1: the replica equals the critical file byte for byte after a
//! workload, and again after both servers were killed with SIGKILL at
//! spread-out moments while the application kept writing.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{
    caught_up, data_mirrored, free_port, logs, pair, pair_with, replica_of, start, stop,
};
use common::workload::Workload;
use common::{Home, keys_of, mixed_script, wait_until};
use std::path::PathBuf;
use std::time::Duration;

#[test]
fn a_workload_and_kill_9_of_both_servers_leave_the_replica_byte_identical() {
    let (primary, standby) = pair(free_port());
    let mut standby_server = start(&standby, "standby");
    let mut primary_server = start(&primary, "primary");
    primary.demo("error_codes.table");
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    primary.io("ops0.jsonl", &mixed_script(&mut keys, 1_500, 1));
    assert!(
        caught_up(&primary, &standby),
        "{}",
        logs(&primary, &standby)
    );
    let status = standby.ok(&["status", "--json"]);
    assert!(status.contains("\"role\":\"standby\""), "{status}");

    // SIGKILL one server or the other while the application keeps writing.
    for round in 0..4u64 {
        let victim = if round % 2 == 0 {
            &mut standby_server
        } else {
            &mut primary_server
        };
        primary.io(
            &format!("ops{}.jsonl", round + 1),
            &mixed_script(&mut keys, 800, round + 10),
        );
        std::thread::sleep(Duration::from_millis(50 + round * 70));
        victim.kill().unwrap();
        victim.wait().unwrap();
        primary.io(
            &format!("more{round}.jsonl"),
            &mixed_script(&mut keys, 300, round + 20),
        );
        *victim = start(
            if round % 2 == 0 { &standby } else { &primary },
            if round % 2 == 0 { "standby" } else { "primary" },
        );
    }
    assert!(
        caught_up(&primary, &standby),
        "{}",
        logs(&primary, &standby)
    );

    // The standby's journal holds the primary's entries, each once.
    let last = drx_journal::last_seq(&primary.join("journal")).unwrap();
    let standby_last = drx_journal::last_seq(&standby.join("journal")).unwrap();
    assert_eq!(standby_last, last, "{}", logs(&primary, &standby));
    stop(primary_server);
    stop(standby_server);
    let status = standby.ok(&["status"]);
    assert!(status.contains(&format!("durable {last}")), "{status}");
    // Each server keeps a daily log, named as the seed's servers name theirs.
    for (home, prefix, line) in [
        (&standby, "Backup.", "standby listening"),
        (&primary, "Primary.", "INFO"),
    ] {
        let logs: Vec<PathBuf> = std::fs::read_dir(home.join("logs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .collect();
        assert!(!logs.is_empty(), "no {prefix}<date> log");
        let text: String = logs
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert!(text.contains(line), "{prefix}: {text}");
    }
}

#[test]
fn a_wrong_secret_is_refused_and_nothing_is_applied() {
    let (primary, standby) = pair(free_port());
    standby.write("secret", "another secret, also long enough");
    let standby_server = start(&standby, "standby");
    let primary_server = start(&primary, "primary");
    primary.demo("error_codes.table");
    let refused = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        std::fs::read_to_string(standby.join("standby.log"))
            .unwrap_or_default()
            .to_lowercase()
            .contains("secret")
    });
    stop(primary_server);
    stop(standby_server);
    assert!(refused, "{}", logs(&primary, &standby));
    let source = std::fs::canonicalize(primary.join("error_codes.data")).unwrap();
    assert!(
        !replica_of(&standby, &source).exists(),
        "a refused primary wrote a replica"
    );
}

/// The Files Table record that makes every file under `data/` critical.
const DATA_FILES: &str = "
[[files]]
record_type = \"include\"
process_name = \"*\"
source_path = \"data/*\"
";

#[test]
fn every_operation_on_every_organization_is_mirrored_through_kills() {
    let (primary, standby) = pair(free_port());
    for home in [&primary, &standby] {
        home.append_config(DATA_FILES);
    }
    std::fs::create_dir_all(primary.join("data")).unwrap();
    let mut standby_server = start(&standby, "standby");
    let mut primary_server = start(&primary, "primary");
    let mut workload = Workload::new(4);
    primary.io("w0.jsonl", &workload.script(600));
    // SIGKILL each server in turn while the application writes on.
    for (round, victim) in ["standby", "primary"].into_iter().enumerate() {
        let server = if victim == "standby" {
            &mut standby_server
        } else {
            &mut primary_server
        };
        server.kill().unwrap();
        server.wait().unwrap();
        primary.io(&format!("w{}.jsonl", round + 1), &workload.script(400));
        *server = start(
            if victim == "standby" {
                &standby
            } else {
                &primary
            },
            victim,
        );
    }
    primary.io("w3.jsonl", &workload.script(300));
    let mut last = Err(String::new());
    let same = wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        last = data_mirrored(&primary, &standby);
        last.is_ok()
    });
    assert!(same, "{last:?}\n{}", logs(&primary, &standby));
    // The four organizations and the copies that stayed.
    assert!(last.unwrap() >= 5);
    let journal = drx_journal::last_seq(&primary.join("journal")).unwrap();
    assert!(
        wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            drx_journal::last_seq(&standby.join("journal")).unwrap() == journal
        }),
        "{}",
        logs(&primary, &standby)
    );
    stop(primary_server);
    stop(standby_server);
}

/// The highest `applied` seq of the standby's replica state slots.
fn replica_state_applied(standby: &Home) -> u64 {
    ["STATE.0", "STATE.1"]
        .iter()
        .filter_map(|slot| std::fs::read_to_string(standby.join("replica_state").join(slot)).ok())
        .filter_map(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("applied "))
                .and_then(|n| n.parse().ok())
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_standby_killed_before_its_replicas_were_synced_redoes_them_from_its_journal() {
    // Replicas fsynced only at connection and shutdown: every acknowledged
    // entry is durable in the standby journal alone.
    let (primary, standby) = pair_with(free_port(), "replica_sync_ms = 3600000");
    let mut standby_server = start(&standby, "standby");
    let primary_server = start(&primary, "primary");
    primary.demo("error_codes.table");
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    primary.io("ops.jsonl", &mixed_script(&mut keys, 600, 9));
    let last = drx_journal::last_seq(&primary.join("journal")).unwrap();
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
            drx_journal::last_seq(&standby.join("journal")).unwrap() == last
        }),
        "{}",
        logs(&primary, &standby)
    );
    standby_server.kill().unwrap();
    standby_server.wait().unwrap();
    assert!(
        replica_state_applied(&standby) < last,
        "the replicas' state was already durable: nothing to redo"
    );
    let standby_server = start(&standby, "standby");
    assert!(
        caught_up(&primary, &standby),
        "{}",
        logs(&primary, &standby)
    );
    // (The replica files themselves survived in the page cache: a kill -9
    // loses no write; their durable state is what lagged.)
    assert!(
        wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
            std::fs::read_to_string(standby.join("standby.log"))
                .is_ok_and(|log| log.contains("the replicas caught up with the standby journal"))
        }),
        "{}",
        logs(&primary, &standby)
    );
    stop(primary_server);
    stop(standby_server);
    assert_eq!(replica_state_applied(&standby), last);
}
