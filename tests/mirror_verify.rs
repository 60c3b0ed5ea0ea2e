//! `drx verify` with real `drx mirror standby` / `drx mirror primary`
//! processes on 127.0.0.1: it reports identical replicas while `drx io`
//! keeps writing (primary and standby compared at the same journal seq),
//! then names the block of a byte flipped in a replica (exit 1), and says
//! so when no result comes because the primary server is down (exit 2).
//! The capture's automatic checks (check_file_at_open / _at_close) reach
//! the primary's results file too.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{free_port, identical, logs, pair, replica_of, start, stop};
use common::{Home, keys_of, mixed_script, wait_until};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

/// `drx verify ARGS` in `home`: exit code, stdout, stderr.
fn verify(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out = home.run(&all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The lines of the primary's results file.
fn results(primary: &Home) -> Vec<serde_json::Value> {
    let path = primary.join("journal/verify/results.jsonl");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn drx_verify_compares_at_the_same_seq_while_writes_go_on_and_names_a_flipped_block() {
    let (primary, standby) = pair(free_port());
    primary.append_config(
        "\n[[files]]\nprocess_name = \"*\"\nsource_path = \"big.dat\"\n\n[[files]]\nprocess_name = \"*\"\nsource_path = \"log.dat\"\n",
    );
    let standby_server = start(&standby, "standby");
    let primary_server = start(&primary, "primary");
    primary.demo("error_codes.table");
    // big.dat: 4 MiB, copied in from a file that is not critical.
    let seed: Vec<u8> = (0..4 * MIB).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(primary.join("seed.bin"), &seed).unwrap();
    primary.io(
        "copy.jsonl",
        "{\"op\":\"copy\",\"file\":\"seed.bin\",\"to\":\"big.dat\"}\n",
    );
    let caught_up = || {
        wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
            identical(&primary, &standby, "error_codes.data")
                && identical(&primary, &standby, "big.dat")
        })
    };
    assert!(caught_up(), "{}", logs(&primary, &standby));

    // drx io keeps writing error_codes.data while drx verify runs (bounded
    // in runs and time; a run that finds the journal taken by drx verify's
    // own session simply goes again).
    let stop_writing = AtomicBool::new(false);
    let runs = AtomicU64::new(0);
    let (code, out, err) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut keys = keys_of(&primary.file_rows("error_codes.data"));
            let start = Instant::now();
            for round in 0..200u64 {
                if stop_writing.load(Ordering::Relaxed) || start.elapsed() > Duration::from_secs(90)
                {
                    break;
                }
                let name = format!("ops{round}.jsonl");
                primary.write(&name, &mixed_script(&mut keys, 400, round + 1));
                if !primary.run(&["io", "--script", &name]).status.success() {
                    keys = keys_of(&primary.file_rows("error_codes.data"));
                }
                runs.fetch_add(1, Ordering::Relaxed);
            }
        });
        assert!(wait_until(
            Duration::from_secs(30),
            Duration::from_millis(20),
            || runs.load(Ordering::Relaxed) >= 1
        ));
        let verified = verify(&primary, &["--timeout", "60"]);
        stop_writing.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        verified
    });
    assert_eq!(
        code,
        0,
        "stdout:\n{out}\nstderr:\n{err}\n{}",
        logs(&primary, &standby)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("big.dat: identical: size 4194304"),
        "{out}"
    );
    assert!(lines[0].contains("4 blocks of 1048576 bytes"), "{out}");
    assert!(lines[1].contains("error_codes.data: identical"), "{out}");
    assert!(runs.load(Ordering::Relaxed) >= 1);

    // An application that holds the journal takes drx verify's request
    // through the mailbox at its next operation, while it keeps writing.
    let config = drx_config::Config::load(primary.path()).unwrap();
    let mut app = drx_capture::Capture::open(&config, "app").unwrap();
    let spec = drx_capture::FileSpec {
        organization: drx_capture::Org::Fixed,
        record_len: 100,
        layout: None,
    };
    let mut log = app.create(&primary.join("log.dat"), spec).unwrap();
    let mut child = primary
        .command(&["verify", "--timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut written = 0u64;
    while child.try_wait().unwrap().is_none()
        && written < 100_000
        && start.elapsed() < Duration::from_secs(90)
    {
        written += 1;
        let record = format!("{written:0100}");
        app.write(&mut log, record.as_bytes(), None).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let done = child.wait_with_output().unwrap();
    app.close_file(log).unwrap();
    app.close().unwrap();
    let out = String::from_utf8(done.stdout).unwrap();
    let err = String::from_utf8(done.stderr).unwrap();
    assert_eq!(
        done.status.code(),
        Some(0),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines.iter().all(|l| l.contains(": identical: ")), "{out}");
    assert!(lines[2].contains("log.dat: identical: size "), "{out}");
    // It was taken while the application wrote on, at a seq of its own.
    let log_size: u64 = lines[2]
        .split("size ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        log_size > 0 && log_size < written * 100,
        "{log_size} of {written} records"
    );

    // The scripts' files were checked at open and close automatically.
    let found = results(&primary);
    for reason in ["open", "close", "verify"] {
        assert!(
            found
                .iter()
                .any(|r| r["reason"] == reason && r["verdict"] == "identical"),
            "no identical {reason} result: {found:?}"
        );
    }
    assert!(
        found.iter().all(|r| r["verdict"] == "identical"),
        "{found:?}"
    );

    // A byte of block 2 flipped in the standby's replica (nothing writes
    // big.dat any more): drx verify names that block.
    assert!(caught_up(), "{}", logs(&primary, &standby));
    let big = std::fs::canonicalize(primary.join("big.dat")).unwrap();
    let replica = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(replica_of(&standby, &big))
        .unwrap();
    let at = 2 * MIB + 4321;
    let mut byte = [0u8];
    replica.read_exact_at(&mut byte, at).unwrap();
    replica.write_all_at(&[!byte[0]], at).unwrap();
    let (code, out, err) = verify(&primary, &["big.dat", "--timeout", "60"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains(
            "big.dat: DIFFERS at block 2 (bytes 2097152..3145728): size 4194304 vs 4194304"
        ),
        "{out}"
    );
    // Counted by the standby.
    let counted = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        let status = standby.ok(&["status", "--json"]);
        status
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|s| s["role"] == "standby" && s["counters"]["verify_mismatches"] == 1)
    });
    assert!(counted, "{}", standby.ok(&["status", "--json"]));

    // No primary server: no result, exit 2, and drx verify says why.
    stop(primary_server);
    let (code, out, err) = verify(&primary, &["big.dat", "--timeout", "2"]);
    stop(standby_server);
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("primary server"), "{err}");
    assert!(out.contains("big.dat: no result"), "{out}");
}

#[test]
fn drx_verify_refuses_a_home_that_is_not_mirrored() {
    let home = Home::sample();
    home.demo("error_codes.table");
    let (code, _, err) = verify(&home, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a mirrored primary"), "{err}");
}
