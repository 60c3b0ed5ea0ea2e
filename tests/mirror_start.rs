//! `drx start` and `drx recover`: the servers the Control Table assigns to
//! a host, run as real processes; what `drx status` then shows.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{caught_up, free_port, logs, pair, stop};
use common::{Home, keys_of, mixed_script, wait_until};
use std::process::{Child, Stdio};
use std::time::Duration;

/// The Control Table's server records: the primary runs on "prim", the
/// standby on "stby".
const SERVERS: &str = "
[[servers]]
record_type = \"PRIMARY\"
run_on_module = \"prim\"

[[servers]]
record_type = \"BACKUP\"
run_on_module = \"stby\"
";

fn drx_start(home: &Home, verb: &str, log: &str) -> Child {
    let log = std::fs::File::create(home.join(log)).unwrap();
    home.command(&["-v", verb])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

#[test]
fn start_runs_the_servers_of_this_host_and_recover_resumes_them() {
    let (primary, standby) = pair(free_port());
    for home in [&primary, &standby] {
        // Before the [mirror] section: server records are top-level tables.
        let config = std::fs::read_to_string(home.join("drx.toml")).unwrap();
        let (before, after) = config.split_once("\n[mirror]").unwrap();
        home.write("drx.toml", &format!("{before}\n{SERVERS}\n[mirror]{after}"));
    }
    // On the standby, `drx extract` reads the journal the standby receives:
    // its Files Table names the primary's paths.
    let source = std::fs::canonicalize(primary.path())
        .unwrap()
        .join("error_codes.data");
    standby.edit_config("dir = \"journal\"", "dir = \"standby_journal\"");
    standby.edit_config(
        "source_path = \"error_codes.data\"",
        &format!("source_path = \"{}\"", source.display()),
    );
    // ... and maps them where `replica_of` looks.
    let replica_dir = common::pair::replica_of(&standby, source.parent().unwrap());
    standby.edit_config(
        "destination_dir = \"mirroring_dir\"",
        &format!("destination_dir = \"{}\"", replica_dir.display()),
    );
    // The log files `stop`/`logs` read are named after the roles.
    let standby_server = drx_start(&standby, "start", "standby.log");
    let primary_server = drx_start(&primary, "start", "primary.log");
    primary.demo("error_codes.table");
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    primary.io("ops.jsonl", &mixed_script(&mut keys, 600, 3));
    assert!(
        caught_up(&primary, &standby),
        "{}",
        logs(&primary, &standby)
    );

    // The replicas are readable, and the received journal extracts, while
    // the standby applies.
    standby.ok(&["extract", "--file-id", "200"]);
    common::assert_rows_equal_file(
        &primary,
        &standby.db_rows("error_codes.db"),
        "the standby's",
    );

    // The standby's status: per-file counters of what it received.
    let mut text = String::new();
    wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        text = standby.ok(&["status"]);
        text.contains(&format!("{}: ", source.display()))
    });
    assert!(
        text.contains("standby stby: streaming, peer prim"),
        "{text}"
    );
    assert!(text.contains(" inserts, "), "{text}");
    let json: serde_json::Value = serde_json::from_str(
        standby
            .ok(&["status", "--json"])
            .lines()
            .find(|l| l.contains("\"standby\""))
            .unwrap(),
    )
    .unwrap();
    let file = &json["files"][source.to_str().unwrap()];
    assert!(file["inserts"].as_u64().unwrap() >= 1, "{json}");
    assert!(file["updates"].as_u64().unwrap() >= 1, "{json}");

    // The application closed the file: the standby logs its counts
    // (log_statistics_on_close, on by default).
    let closed = format!("statistics at close: {}: ", source.display());
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            std::fs::read_to_string(standby.join("standby.log"))
                .is_ok_and(|log| log.contains(&closed))
        }),
        "{}",
        logs(&primary, &standby)
    );

    // The standby dies; `drx recover` says where it resumes and resumes.
    let mut standby_server = standby_server;
    standby_server.kill().unwrap();
    standby_server.wait().unwrap();
    primary.io("more.jsonl", &mixed_script(&mut keys, 300, 4));
    let durable = drx_journal::last_seq(&standby.join("standby_journal")).unwrap();
    let recover = drx_start(&standby, "recover", "standby.log");
    assert!(
        caught_up(&primary, &standby),
        "{}",
        logs(&primary, &standby)
    );
    let resumes = format!("resumes after seq {durable}");
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            std::fs::read_to_string(standby.join("standby.log"))
                .is_ok_and(|log| log.contains(&resumes))
        }),
        "{}",
        logs(&primary, &standby)
    );
    stop(recover);
    stop(primary_server);
    for (home, prefix) in [(&primary, "Primary."), (&standby, "Backup.")] {
        let named = std::fs::read_dir(home.join("logs"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(prefix));
        assert!(named, "no {prefix}<date> log");
    }
}

#[test]
fn start_names_the_hosts_when_none_is_this_one() {
    let (primary, _standby) = pair(free_port());
    let config = std::fs::read_to_string(primary.join("drx.toml")).unwrap();
    let (before, after) = config.split_once("\n[mirror]").unwrap();
    primary.write("drx.toml", &format!("{before}\n{SERVERS}\n[mirror]{after}"));
    let out = primary.run(&["start", "--host", "elsewhere"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "no server of the Control Table runs on elsewhere (PRIMARY on prim, BACKUP on stby)"
        ),
        "{err}"
    );
}
