//! `drx mirror standby` and `drx mirror primary` as real processes on
//! 127.0.0.1: the replica equals the critical file byte for byte after a
//! workload, and again after both servers were killed with SIGKILL at
//! spread-out moments while the application kept writing.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, keys_of, mixed_script, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const SECRET: &str = "a shared secret of the test link";

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A primary home (the sample) and a standby home, linked on `port`.
fn pair(port: u16) -> (Home, Home) {
    let primary = Home::sample();
    let standby = Home::sample();
    for (home, node) in [(&primary, "prim"), (&standby, "stby")] {
        home.write("secret", SECRET);
        home.edit_config(
            "replace_special_chars = true",
            &format!(
                "replace_special_chars = true\ntcp_host = \"127.0.0.1\"\ntcp_port = {port}\nprimary_call_timeout = 1"
            ),
        );
        home.append_config(&format!(
            "\n[mirror]\nnode_id = \"{node}\"\nsecret_file = \"secret\"\nreplica_roots = [\"replicas\"]\nheartbeat_ms = 200\n"
        ));
    }
    (primary, standby)
}

fn start(home: &Home, role: &str) -> Child {
    let log = std::fs::File::create(home.join(&format!("{role}.log"))).unwrap();
    home.command(&["-v", "mirror", role])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Where the standby keeps the replica of the primary's `path`.
fn replica_of(standby: &Home, path: &Path) -> PathBuf {
    standby
        .join("replicas")
        .join(path.strip_prefix("/").unwrap())
}

/// Waits until the replica of error_codes.data equals the primary's file.
fn caught_up(primary: &Home, standby: &Home) -> bool {
    let source = std::fs::canonicalize(primary.join("error_codes.data")).unwrap();
    let replica = replica_of(standby, &source);
    wait_until(
        Duration::from_secs(60),
        Duration::from_millis(100),
        || match (std::fs::read(&source), std::fs::read(&replica)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        },
    )
}

fn stop(mut child: Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let ok = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        child.try_wait().unwrap().is_some()
    });
    if !ok {
        let _ = child.kill();
    }
    let _ = child.wait();
}

fn logs(primary: &Home, standby: &Home) -> String {
    let read = |h: &Home, f: &str| std::fs::read_to_string(h.join(f)).unwrap_or_default();
    format!(
        "primary log:\n{}\nstandby log:\n{}",
        read(primary, "primary.log"),
        read(standby, "standby.log")
    )
}

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
    let standby_last = drx_journal::last_seq(&standby.join("standby_journal")).unwrap();
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
