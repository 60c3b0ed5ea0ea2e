//! `drx canary` against real processes on 127.0.0.1: a primary and a
//! standby server, extractors following an SQLite sink and a CSV feed. The
//! canary record reaches the standby's replica byte for byte and every
//! sink, and each target that does not have it in time — the standby
//! server stopped, the primary server stopped, a sink whose extractor does
//! not run — is named by an ALERT line; `--every` repeats rounds and says
//! when a target recovers.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{free_port, identical, logs, pair, start, stop};
use common::{Home, wait_until};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

/// The canary file's Files Table record (file id 900), for both homes.
const CANARY_FILE: &str = "
[[files]]
record_type = \"include\"
process_name = \"*\"
source_path = \"canary.dat\"
extractor_file_id = 900
";

/// A CSV feed of the canary file, beside the sample's SQLite sink.
const FEED_SINK: &str = "
[[sinks]]
name = \"feed\"
type = \"csv\"
dir = \"feeds\"
file_ids = [900]
";

/// A linked primary and standby, both with the canary file; the primary's
/// SQLite sink also takes file id 900, and a CSV feed takes it too.
fn canary_pair() -> (Home, Home) {
    let (primary, standby) = pair(free_port());
    for home in [&primary, &standby] {
        home.append_config(CANARY_FILE);
    }
    primary.edit_config("file_ids = [200]", "file_ids = [200, 900]");
    primary.append_config(FEED_SINK);
    (primary, standby)
}

/// `drx extract --file-id 900 --sink SINK --follow`, its output to
/// `extract-SINK.log`.
fn follow(home: &Home, sink: &str) -> Child {
    let log = std::fs::File::create(home.join(&format!("extract-{sink}.log"))).unwrap();
    home.command(&["extract", "--file-id", "900", "--sink", sink, "--follow"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// `drx canary ARGS`: its exit code, stdout and stderr.
fn canary(home: &Home, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["canary"];
    all.extend_from_slice(args);
    let Output {
        status,
        stdout,
        stderr,
    } = home.run(&all);
    (
        status.code(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// The seq of the canary record a round wrote (`canary: seq N written …`).
fn written_seq(out: &str) -> u64 {
    let rest = out
        .split("canary: seq ")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

/// The number after `marker` in `line` (up to a space or `;`).
fn number_after(line: &str, marker: &str) -> u64 {
    let rest = line
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("{line}"));
    rest.split([' ', ';', ')'])
        .next()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{line}"))
}

/// The line of `out` that starts with `prefix`.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line `{prefix}…` in:\n{out}"))
}

/// Waits (at most a minute) until the primary server streams to the standby.
fn streaming(primary: &Home, standby: &Home) {
    let up = wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        primary
            .ok(&["status", "--json"])
            .lines()
            .any(|l| l.contains("\"role\":\"primary\"") && l.contains("\"state\":\"streaming\""))
    });
    assert!(up, "{}", logs(primary, standby));
}

#[test]
fn the_canary_reaches_the_standby_replica_and_every_sink() {
    let (primary, standby) = canary_pair();
    let standby_server = start(&standby, "standby");
    let primary_server = start(&primary, "primary");
    // The extractors need the canary layout before the first round.
    let layout = primary.ok(&["canary", "--print-layout"]);
    primary.write("layouts/layout.900", &layout);
    // One extractor first: two registering the journal consumers at once
    // can collide on the temporary file of the same consumer.
    let first = follow(&primary, "sqlite");
    let registered = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        ["sqlite.200", "sqlite.900", "feed.900"]
            .iter()
            .all(|c| primary.join(&format!("journal/consumers/{c}")).exists())
    });
    assert!(registered, "the extractor registered no consumers");
    let followers = [first, follow(&primary, "feed")];
    for round in 1..=3u64 {
        let (code, out, err) = canary(&primary, &["--timeout", "60"]);
        let extract_logs = ["sqlite", "feed"]
            .map(|s| std::fs::read_to_string(primary.join(&format!("extract-{s}.log"))).unwrap());
        assert_eq!(
            code,
            Some(0),
            "{out}\n{err}\n{extract_logs:?}\n{}",
            logs(&primary, &standby)
        );
        assert!(
            out.contains(&format!("written by prim (round {round})")),
            "{out}"
        );
        let seq = written_seq(&out);
        for target in ["standby", "sink sqlite", "sink feed"] {
            let l = line(&out, &format!("{target}: arrived in "));
            assert!(number_after(l, "(at seq ") >= seq, "{l}");
            println!("round {round}: {l}");
        }
        // Acknowledged means applied to the replica: it equals the file now.
        assert!(
            identical(&primary, &standby, "canary.dat"),
            "{}",
            logs(&primary, &standby)
        );
    }
    for f in followers {
        stop(f);
    }
    stop(primary_server);
    stop(standby_server);

    // The sinks hold the record, one row per node.
    let conn = rusqlite::Connection::open(primary.join("error_codes.db")).unwrap();
    let row: (String, i64, String) = conn
        .query_row("select node_id, counter, written_at from canary", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((row.0.as_str(), row.1), ("prim", 3), "{row:?}");
    assert!(row.2.ends_with('Z') && row.2.len() == 27, "{row:?}");
    let feed = std::fs::read_to_string(primary.join("feeds/canary.csv")).unwrap();
    let ops: Vec<&str> = feed
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ops, ["insert", "update", "update"], "{feed}");
    assert!(
        feed.lines()
            .all(|l| l.contains("prim") || l.starts_with("op,")),
        "{feed}"
    );
}

#[test]
fn a_sink_behind_and_a_stopped_standby_are_named_by_alerts() {
    let (primary, standby) = canary_pair();
    let standby_server = start(&standby, "standby");
    let primary_server = start(&primary, "primary");
    streaming(&primary, &standby);

    // No extractor has run: the standby has the canary, the sinks not.
    let (code, out, err) = canary(&primary, &["--timeout", "2"]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    let seq = written_seq(&out);
    assert!(
        number_after(line(&out, "standby: arrived in "), "(at seq ") >= seq,
        "{out}"
    );
    for sink in ["sqlite", "feed"] {
        let alert = line(
            &out,
            &format!("ALERT: sink {sink}: the canary (seq {seq}) did not arrive"),
        );
        assert!(number_after(alert, "waited ") >= 2000, "{alert}");
        assert!(alert.contains("it has no checkpoint yet"), "{alert}");
    }

    // The SQLite sink extracted once, then left behind.
    primary.ok(&["extract", "--file-id", "900", "--sink", "sqlite"]);
    let (code, out, _) = canary(&primary, &["--timeout", "1"]);
    assert_eq!(code, Some(1), "{out}");
    let next = written_seq(&out);
    let alert = line(&out, "ALERT: sink sqlite: ");
    assert!(
        alert.contains(&format!("the canary (seq {next})")),
        "{alert}"
    );
    let at = number_after(alert, "its checkpoint is at seq ");
    assert!(seq <= at && at < next, "{alert}");
    line(&out, "ALERT: sink feed: ");
    line(&out, "standby: arrived in ");

    // The standby server stopped: the primary server answers, the standby
    // does not acknowledge.
    stop(standby_server);
    let (code, out, _) = canary(&primary, &["--timeout", "2"]);
    assert_eq!(code, Some(1), "{out}");
    let seq = written_seq(&out);
    let alert = line(&out, "ALERT: standby: ");
    assert!(
        alert.contains(&format!("the canary (seq {seq}) did not arrive")),
        "{alert}"
    );
    assert!(number_after(alert, "waited ") >= 2000, "{alert}");
    assert!(
        number_after(alert, "acknowledged up to seq ") < seq,
        "{alert}"
    );
    assert!(
        !identical(&primary, &standby, "canary.dat"),
        "the replica has a record the standby never received"
    );

    // No primary server either: nobody answers on the commit socket.
    stop(primary_server);
    let (code, out, _) = canary(&primary, &["--timeout", "1"]);
    assert_eq!(code, Some(1), "{out}");
    let alert = line(&out, "ALERT: standby: ");
    assert!(alert.contains("no primary server answers on"), "{alert}");
    assert!(alert.contains("mirror.sock"), "{alert}");
}

#[test]
fn rounds_repeat_alert_while_the_standby_is_away_and_say_when_it_recovers() {
    let (primary, standby) = canary_pair();
    primary.append_config("\n[canary]\nsinks = []\n");
    let primary_server = start(&primary, "primary");
    let out_path = primary.join("canary.out");
    let mut rounds = primary
        .command(&["canary", "--every", "1", "--timeout", "1"])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let printed = || std::fs::read_to_string(&out_path).unwrap_or_default();
    let alerted = wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        printed().contains("ALERT: standby: ")
    });
    assert!(alerted, "{}", printed());
    let standby_server = start(&standby, "standby");
    let recovered = wait_until(Duration::from_secs(90), Duration::from_millis(100), || {
        printed().contains("RECOVERED: standby: the canary arrives again")
    });
    assert!(recovered, "{}\n{}", printed(), logs(&primary, &standby));

    // SIGTERM ends the rounds.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &rounds.id().to_string()])
        .status();
    let ended = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        rounds.try_wait().unwrap().is_some()
    });
    if !ended {
        let _ = rounds.kill();
    }
    let status = rounds.wait().unwrap();
    stop(primary_server);
    stop(standby_server);
    assert!(
        ended,
        "drx canary --every did not stop on SIGTERM:\n{}",
        printed()
    );
    assert_eq!(status.code(), Some(0), "{}", printed());
    let text = printed();
    let rounds: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("canary: seq "))
        .map(|l| number_after(l, "(round "))
        .collect();
    assert!(rounds.len() >= 2, "{text}");
    assert!(rounds.windows(2).all(|w| w[1] == w[0] + 1), "{text}");
}

#[test]
fn configuration_errors_exit_2_naming_what_is_wrong() {
    let home = Home::sample();
    // The canary file is not in the Files Table.
    let (code, _, err) = canary(&home, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("canary.dat") && err.contains("Files Table"),
        "{err}"
    );
    assert!(!home.join("canary.dat").exists());

    // Not mirrored, and no sink takes file id 900: nothing to check.
    home.append_config(CANARY_FILE);
    let (code, _, err) = canary(&home, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("nothing to check") && err.contains("(900)"),
        "{err}"
    );

    // A sink named in [canary] sinks that does not exist, or does not take 900.
    home.append_config("\n[canary]\nsinks = [\"nope\"]\n");
    let (code, _, err) = canary(&home, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no [[sinks]] section is named `nope`"),
        "{err}"
    );
    home.edit_config("sinks = [\"nope\"]", "sinks = [\"sqlite\"]");
    let (code, _, err) = canary(&home, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("sink `sqlite` does not take file id 900"),
        "{err}"
    );

    // A bad timeout, and an unknown key of the section.
    home.edit_config(
        "sinks = [\"sqlite\"]",
        "sinks = [\"sqlite\"]\ntimeout_ms = 0",
    );
    let (code, _, err) = canary(&home, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("canary.timeout_ms must be at least 1"),
        "{err}"
    );
    home.edit_config("timeout_ms = 0", "");
    home.edit_config("file_ids = [200]", "file_ids = [200, 900]");
    let (code, _, err) = canary(&home, &["--timeout=-1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--timeout -1"), "{err}");

    // Another layout under the canary's file id is refused.
    home.write("layouts/layout.900", "fields: a char(4);\nend;\n");
    let (code, _, err) = canary(&home, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("layout.900") && err.contains("not drx's canary layout"),
        "{err}"
    );

    // With the layout gone, it is installed, and an unmirrored home's
    // canary goes to its sink.
    std::fs::remove_file(home.join("layouts/layout.900")).unwrap();
    let (code, out, err) = canary(&home, &["--timeout", "1"]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(err.contains("installed the canary layout"), "{err}");
    assert!(!out.contains("standby"), "{out}");
    line(&out, "ALERT: sink sqlite: ");
    home.ok(&["extract", "--file-id", "900"]);
    let rows: i64 = rusqlite::Connection::open(home.join("error_codes.db"))
        .unwrap()
        .query_row("select count(*) from canary", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(
        home.ok(&["canary", "--print-layout"]),
        drx_capture::CANARY_LAYOUT
    );
}
