//! Delta resync with real processes on 127.0.0.1 (docs/DR.md, "Delta
//! resync"): `drx sync` brings a standby's replica of a large file with
//! scattered differences to the primary's content sending only the blocks
//! that differ; a sync while `drx io` writes the file ends identical once
//! the standby has caught up; a sync killed with SIGKILL mid-way is
//! finished by running it again; `drx refresh` re-baselines every critical
//! file.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{Server, caught_up, free_port, logs, pair, replica_of};
use common::{Home, keys_of, wait_until};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const BIG: &str = "big.dat";
const BIG_LEN: usize = 64 * 1024 * 1024;

/// Pseudo-random bytes (xorshift), reproducible.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A primary with the sample's file (journaled by `drx demo`) and a big
/// file of its own, critical too, written directly (not journaled: the
/// standby never saw it).
fn homes() -> (Home, Home) {
    let (prim, stby) = pair(free_port());
    prim.append_config(&format!(
        "\n[[files]]\nrecord_type = \"include\"\nprocess_name = \"*\"\nsource_path = \"{BIG}\"\n"
    ));
    prim.demo("error_codes.table");
    std::fs::write(prim.join(BIG), noise(BIG_LEN, 7)).unwrap();
    (prim, stby)
}

fn source(home: &Home, name: &str) -> PathBuf {
    std::fs::canonicalize(home.join(name)).unwrap()
}

fn replica(prim: &Home, stby: &Home, name: &str) -> PathBuf {
    replica_of(stby, &source(prim, name))
}

fn same(prim: &Home, stby: &Home, name: &str) -> bool {
    match (
        std::fs::read(source(prim, name)),
        std::fs::read(replica(prim, stby, name)),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes `data` at each offset of `file`, directly (nothing journaled).
fn scribble(file: &Path, offsets: &[u64], data: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    for &o in offsets {
        f.write_all_at(data, o).unwrap();
    }
}

/// `n` offsets spread over the big file, each in its own 4 KiB block (the
/// block size of 64 MiB: 64 MiB / 16384).
fn scattered(n: u64) -> Vec<u64> {
    (0..n)
        .map(|i| i * (BIG_LEN as u64 / n) + 1000 + i * 37)
        .collect()
}

/// The blocks of `block` bytes that writes of `len` bytes at `offsets`
/// touch.
fn touched(offsets: &[u64], len: u64, block: u64) -> std::collections::BTreeSet<u64> {
    offsets
        .iter()
        .flat_map(|&o| [o / block, (o + len - 1) / block])
        .collect()
}

/// As `drx sync` prints a size.
fn human(n: u64) -> String {
    let n = n as f64;
    if n < 1e3 {
        format!("{n} B")
    } else if n < 1e6 {
        format!("{:.1} kB", n / 1e3)
    } else if n < 1e9 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.2} GB", n / 1e9)
    }
}

/// The line of `out` about `name`.
fn line_of<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(name) && l.contains(": "))
        .unwrap_or_else(|| panic!("no line about {name} in:\n{out}"))
}

#[test]
fn a_large_file_with_scattered_changes_is_synced_by_its_differing_blocks_only() {
    let (prim, stby) = homes();
    let _server = Server::standby(&stby);

    // The standby has no replica: a full copy, said so.
    let out = prim.ok(&["sync", BIG]);
    let line = line_of(&out, BIG);
    assert!(
        line.contains(
            "full copy: the standby has no replica; 16384 blocks of 4.1 kB, 67.1 MB sent"
        ),
        "{out}"
    );
    assert!(same(&prim, &stby, BIG), "{}", logs(&prim, &stby));

    // A primary file that drifted: 163 scattered changes (written directly,
    // nothing journaled), the file grown by 10,000 bytes.
    let big = source(&prim, BIG);
    let changed = b"drifted on the primary";
    scribble(&big, &scattered(163), changed);
    let f = std::fs::OpenOptions::new().write(true).open(&big).unwrap();
    f.write_all_at(&noise(10_000, 9), BIG_LEN as u64).unwrap();
    drop(f);
    assert!(!same(&prim, &stby, BIG));
    let out = prim.ok(&["sync", BIG, "--block-size", "4096"]);
    let line = line_of(&out, BIG);
    // 16384 blocks of 4 KiB, plus 3 for the 10,000 bytes appended.
    let blocks = touched(&scattered(163), changed.len() as u64, 4096).len() as u64;
    let expected = format!(
        "delta: {} of 16387 blocks ({:.1} %) differ, {} sent instead of 67.1 MB",
        blocks + 3,
        (blocks + 3) as f64 * 100.0 / 16387.0,
        human(blocks * 4096 + 10_000)
    );
    assert!(line.contains(&expected), "{expected}\n{out}");
    assert!(same(&prim, &stby, BIG), "{}", logs(&prim, &stby));

    // A replica that drifted, and is longer than the primary's file.
    let rep = replica(&prim, &stby, BIG);
    let changed = b"drifted on the standby";
    scribble(&rep, &scattered(20), changed);
    let f = std::fs::OpenOptions::new().write(true).open(&rep).unwrap();
    f.write_all_at(b"tail", (BIG_LEN + 10_000) as u64).unwrap();
    drop(f);
    let out = prim.ok(&["sync", BIG, "--block-size", "65536"]);
    let line = line_of(&out, BIG);
    // The last block (10,000 bytes on the primary) differs too.
    let blocks = touched(&scattered(20), changed.len() as u64, 65536).len() as u64;
    let expected = format!(
        "delta: {} of 1025 blocks ({:.1} %) differ, {} sent",
        blocks + 1,
        (blocks + 1) as f64 * 100.0 / 1025.0,
        human(blocks * 65536 + 10_000)
    );
    assert!(line.contains(&expected), "{expected}\n{out}");
    assert!(same(&prim, &stby, BIG), "{}", logs(&prim, &stby));

    // Nothing differs: nothing is sent.
    let out = prim.ok(&["sync", BIG, "--block-size", "4096"]);
    assert!(
        line_of(&out, BIG).contains("delta: 0 of 16387 blocks (0.0 %) differ, 0 B sent"),
        "{out}"
    );

    // Not a critical file: refused, naming it.
    std::fs::write(prim.join("other.dat"), b"x").unwrap();
    let err = prim.fails(&["sync", "other.dat"]);
    assert!(err.contains("other.dat: not a critical file"), "{err}");
}

/// `n` rewrites of existing records of error_codes.data, outside any
/// transaction.
fn rewrites(keys: &[i64], n: usize, seed: usize) -> String {
    (0..n)
        .map(|i| {
            let key = keys[(i * 7 + seed) % keys.len()];
            format!(
                "{{\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{key}}},\"record\":{{\"err_number\":{key},\"err_name\":\"W{seed}_{i}\",\"err_text\":\"rewritten {i} while syncing\"}}}}\n"
            )
        })
        .collect()
}

#[test]
fn a_sync_while_the_application_writes_ends_identical_once_caught_up() {
    let (prim, stby) = homes();
    let _standby = Server::standby(&stby);
    let _primary = Server::start(&prim, "primary");
    assert!(caught_up(&prim, &stby), "{}", logs(&prim, &stby));

    // The replica drifts (changed behind the standby's back).
    let file = "error_codes.data";
    let rep = replica(&prim, &stby, file);
    let len = std::fs::metadata(&rep).unwrap().len();
    scribble(&rep, &[0, len / 3, len / 2, len - 10], b"DRIFT");
    assert!(!same(&prim, &stby, file));

    // The application writes the file while it is synced, several times.
    let keys = keys_of(&prim.file_rows(file));
    prim.write("writes.jsonl", &rewrites(&keys, 3000, 1));
    let mut io = prim
        .command(&["io", "--script", "writes.jsonl"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut outs = Vec::new();
    for _ in 0..3 {
        outs.push(prim.ok(&["sync", file]));
    }
    assert!(io.wait().unwrap().success());
    assert!(
        outs[0].contains("delta: ") && outs[0].contains(" differ, "),
        "{outs:?}"
    );
    assert!(caught_up(&prim, &stby), "{outs:?}\n{}", logs(&prim, &stby));
}

/// A `drx io` script writing each of the 256 records
/// of rel.dat (1 KiB each), `cycles` times over; `create` first.
fn rel_script(cycles: usize, create: bool) -> String {
    let mut script = String::new();
    let op = if create { "create" } else { "open" };
    script += &format!(
        "{{\"op\":\"{op}\",\"file\":\"rel.dat\",\"organization\":\"relative\",\"record_len\":1024}}\n"
    );
    let write = if create { "write" } else { "rewrite" };
    for c in 0..cycles {
        for r in 1..=256 {
            let hex: String = format!("{c:08x}{r:08x}").repeat(128);
            script += &format!(
                "{{\"op\":\"{write}\",\"file\":\"rel.dat\",\"recno\":{r},\"hex\":\"{hex}\"}}\n"
            );
        }
    }
    script
}

#[test]
fn writes_to_blocks_already_read_are_replayed_on_the_standby() {
    let (prim, stby) = homes();
    prim.append_config(
        "\n[[files]]\nrecord_type = \"include\"\nprocess_name = \"*\"\nsource_path = \"rel.dat\"\n",
    );
    let _standby = Server::standby(&stby);
    let _primary = Server::start(&prim, "primary");
    prim.io("create.jsonl", &rel_script(1, true));
    let file = "rel.dat";
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || same(
            &prim, &stby, file
        )),
        "{}",
        logs(&prim, &stby)
    );
    // Every other block of the replica drifts: 128 blocks to send, one
    // message each, 40 ms apart.
    let offsets: Vec<u64> = (0..128).map(|i| i * 2048 + 100).collect();
    scribble(&replica(&prim, &stby, file), &offsets, b"DRIFT");
    let sync = prim
        .command(&["sync", file, "--block-size", "1024", "--pace-ms", "40"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Meanwhile the application rewrites every record, again and again:
    // some writes land in blocks read and not yet written on the standby.
    std::thread::sleep(Duration::from_millis(300));
    prim.io("writes.jsonl", &rel_script(20, false));
    let out = sync.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = line_of(&stdout, file);
    assert!(line.contains("delta: "), "{stdout}");
    // The writes made while it was sent were replayed over the blocks.
    let replayed: u64 = line
        .split("; ")
        .find_map(|part| part.strip_suffix(" entries replayed on the standby"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(replayed > 0, "{stdout}");
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || same(
            &prim, &stby, file
        )),
        "{stdout}\n{}",
        logs(&prim, &stby)
    );
}

#[test]
fn a_sync_killed_mid_way_is_finished_by_running_it_again() {
    let (prim, stby) = homes();
    let _server = Server::standby(&stby);
    let rep = replica(&prim, &stby, BIG);

    // A full copy, paced (64 messages of 1 MiB, 50 ms apart), killed once
    // a part of it has reached the replica.
    let mut sync = prim
        .command(&["-v", "sync", BIG, "--pace-ms", "50"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(prim.join("sync.log")).unwrap())
        .spawn()
        .unwrap();
    let started = wait_until(Duration::from_secs(30), Duration::from_millis(10), || {
        std::fs::read(&rep).is_ok_and(|r| r.len() >= 4 * 1024 * 1024)
    });
    sync.kill().unwrap(); // SIGKILL
    sync.wait().unwrap();
    let log = std::fs::read_to_string(prim.join("sync.log")).unwrap();
    assert!(
        started,
        "the replica did not grow: {log}\n{}",
        logs(&prim, &stby)
    );
    assert!(!same(&prim, &stby, BIG), "the sync was not interrupted");

    // Run again: it compares and sends what is still missing.
    let out = prim.ok(&["sync", BIG]);
    let line = line_of(&out, BIG);
    assert!(line.contains("delta: "), "{out}");
    let differing: u64 = line
        .split("delta: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(differing > 0 && differing < 16384, "{out}");
    assert!(same(&prim, &stby, BIG), "{}", logs(&prim, &stby));
}

#[test]
fn refresh_brings_every_critical_file_to_the_primary() {
    let (prim, stby) = homes();
    prim.append_config(
        "\n[[files]]\nrecord_type = \"include\"\nprocess_name = \"*\"\nsource_path = \"small.dat\"\n",
    );
    std::fs::write(prim.join("small.dat"), noise(5000, 3)).unwrap();
    let _standby = Server::standby(&stby);
    let _primary = Server::start(&prim, "primary");
    assert!(caught_up(&prim, &stby), "{}", logs(&prim, &stby));
    scribble(&replica(&prim, &stby, "error_codes.data"), &[100], b"DRIFT");

    let out = prim.ok(&["refresh"]);
    for name in ["error_codes.data", BIG, "small.dat"] {
        assert!(same(&prim, &stby, name), "{name}: {out}");
    }
    assert!(
        line_of(&out, BIG).contains("full copy: the standby has no replica"),
        "{out}"
    );
    assert!(
        line_of(&out, "error_codes.data").contains("delta: 1 of "),
        "{out}"
    );
    assert!(out.contains("3 file(s) synced to stby (0 failed)"), "{out}");
}
