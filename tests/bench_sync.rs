//! `drx bench sync` runs end to end with a small file: the standby's
//! replica and rsync's copy are both checked against the changed file by
//! the bench itself, which fails otherwise.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn bench_sync_runs_small_and_prints_both_times() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_drx"))
        .args(["bench", "sync", "--size-mib", "8", "--dir"])
        .arg(dir.path().join("work"))
        .env_remove("DRX_HOME")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 8 MiB: 2048 blocks of 4 KiB; 1 % of the 128 blocks of 64 KiB is 1.
    assert!(
        stdout.contains("changed 1 of 128 blocks of 64 KiB"),
        "{stdout}"
    );
    assert!(
        stdout.contains("delta: 1 of 2048 blocks (0.0 %) differ, 4.1 kB sent instead of 8.4 MB"),
        "{stdout}"
    );
    let rsync = std::path::Path::new("/usr/bin/rsync").exists();
    assert!(
        !rsync || (stdout.contains("rsync (delta)") && stdout.contains("ratio drx/rsync: ")),
        "{stdout}"
    );
}
