//! `drx bench mirror` with tiny sizes, as a real process: it exits 0 (every
//! replica checked equal to its source by the bench itself) and prints each
//! of its rows, with figures. No timing is asserted.
#![allow(clippy::unwrap_used)]

use std::path::Path;
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
fn bench_mirror_runs_every_part_with_tiny_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("bench");
    let out = Command::new(env!("CARGO_BIN_EXE_drx"))
        .args([
            "bench",
            "mirror",
            "--entries",
            "2000",
            "--big-mib",
            "4",
            "--lag-secs",
            "1",
            "--lag-rate",
            "2000",
            "--sync-commits",
            "50",
            "--dir",
        ])
        .arg(&work)
        .env_remove("RUST_LOG")
        .env_remove("DRX_HOME")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "drx bench mirror failed:\nstdout: {stdout}\nstderr: {stderr}"
    );

    let records = row(&stdout, "async, 200-byte records:");
    assert!(records.contains(" 2000 entries in "), "{records}");
    assert!(records.contains("replica checked (blake3)"), "{records}");
    assert!(figure_after(records, " s ") > 0.0, "{records}");

    // 4 MiB in 64 KiB writes: 64 entries (and the Create before them).
    let big = row(&stdout, "async, 64 KiB writes:");
    assert!(big.contains(" 64 entries in "), "{big}");
    assert!(big.contains("replica checked (blake3)"), "{big}");
    let fresh = row(&stdout, "fresh standby to a 4 MiB file: drx ");
    assert!(figure_after(fresh, "drx ") > 0.0, "{fresh}");
    if Path::new("/usr/bin/rsync").exists() {
        let anchor = row(&stdout, "anchor: rsync to rsync://127.0.0.1");
        assert!(anchor.contains("with --fsync"), "{anchor}");
        let ratio = row(&stdout, "ratio drx/rsync (4 MiB, rate): ");
        assert!(figure_after(ratio, "rate): ") > 0.0, "{ratio}");
    } else {
        row(&stdout, "anchor: rsync not found");
    }

    let lag = row(&stdout, "lag at 2000 entries/s for 1 s (2000 entries");
    let (p50, p99, max) = (
        figure_after(lag, "p50 "),
        figure_after(lag, "p99 "),
        figure_after(lag, "max "),
    );
    assert!(p50 <= p99 && p99 <= max, "{lag}");

    let sync = row(&stdout, "sync commits, one at a time (50 commits");
    let (p50, p99) = (figure_after(sync, "p50 "), figure_after(sync, "p99 "));
    assert!(p50 > 0.0 && p50 <= p99, "{sync}");

    // Each part removes its nodes; the rsync daemon is gone with its module.
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("rsyncd"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
