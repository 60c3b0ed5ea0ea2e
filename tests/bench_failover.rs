//! `drx bench failover --runs 2` as a real process: it exits 0 (each run
//! promoted the standby, wrote on it, fenced, rejoined and caught the old
//! primary up, checked by the bench itself) and prints one line per run
//! and every summary row, with figures above zero. No timing is asserted.
#![allow(clippy::unwrap_used)]

use std::process::Command;

/// The figure after `label` in `line` ("... label 1.23 ms ..."), parsed.
fn figure_after(line: &str, label: &str) -> f64 {
    let rest = line
        .split_once(label)
        .unwrap_or_else(|| panic!("no `{label}` in {line:?}"))
        .1;
    rest.split_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no number after `{label}` in {line:?}"))
}

fn row<'a>(stdout: &'a str, start: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no row starting `{start}` in:\n{stdout}"))
}

#[test]
fn bench_failover_runs_twice_and_reports_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("bench");
    let out = Command::new(env!("CARGO_BIN_EXE_drx"))
        .args(["bench", "failover", "--runs", "2", "--ops", "60", "--dir"])
        .arg(&work)
        .env_remove("RUST_LOG")
        .env_remove("DRX_HOME")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "drx bench failover failed:\nstdout: {stdout}\nstderr: {stderr}"
    );

    let header = row(&stdout, "drx bench failover: 2 runs,");
    assert!(figure_after(header, "127.0.0.1, ") >= 1.0, "{header}");
    for run in ["run 1/2: ", "run 2/2: "] {
        let line = row(&stdout, run);
        for label in [
            "silent ",
            "promotion took ",
            "(server ",
            "first write ",
            "detection ",
            "kill → first write ",
            "rejoin ",
            "catch-up ",
        ] {
            assert!(figure_after(line, label) > 0.0, "{label}: {line}");
        }
        // The load was running when the primary was killed.
        assert!(figure_after(line, "a load of ") > 0.0, "{line}");
    }

    assert!(stdout.contains("over 2 runs (ms):"), "{stdout}");
    for label in [
        "manual: promotion (drx promote's took)",
        "manual: drx promote, request to answer",
        "manual: server, request taken to promoted",
        "manual: primary silent at the decision",
        "manual: last heard to promotion done",
        "manual: decision to first write accepted",
        "manual: last heard to first write (recovery)",
        "auto: detection (silent when promoted)",
        "auto: decision to promoted (server log)",
        "auto: kill to ROLE primary",
        "auto: kill to first write accepted",
        "failback: old primary started to fenced",
        "failback: drx rejoin",
        "failback: catch-up as a standby",
        "failback: of which standby server starting",
        "failback: total (rejoin + catch-up)",
    ] {
        let line = row(&stdout, label);
        let (p50, p90, max) = (
            figure_after(line, "p50 "),
            figure_after(line, "p90 "),
            figure_after(line, "max "),
        );
        assert!(p50 > 0.0 && p50 <= p90 && p90 <= max, "{line}");
    }
    // The automatic promotion's own time is logged in whole milliseconds.
    let took = row(&stdout, "auto: promotion (took)");
    assert!(figure_after(took, "max ") >= 0.0, "{took}");
    // Detection waits for 5 missed heartbeats of 200 ms.
    let detection = row(&stdout, "auto: detection (silent when promoted)");
    assert!(figure_after(detection, "p50 ") >= 1_000.0, "{detection}");

    row(&stdout, "goal: under 1 s from the decision to promote");
    row(
        &stdout,
        "anchor: the seeds' clustered shadow-server failover",
    );
    let ratio = row(
        &stdout,
        "ratio anchor/drx, recovery, manual (last heard to first write): ",
    );
    assert!(figure_after(ratio, "write): ") > 0.0, "{ratio}");
    row(&stdout, "ratio anchor/drx, failback (rejoin + catch-up): ");

    // Each run removes its homes.
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
