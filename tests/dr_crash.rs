//! `drx promote` and `drx rejoin` cut short by a crash are finished by
//! running them again (docs/DR.md, "Testing crash safety"): for every step
//! of each, the command is aborted right after that step
//! (`DRX_CRASH_AFTER=<step>`: `std::process::abort`, as good as `kill -9`
//! for durability), then run again, and the end state is the one a run
//! without a crash leaves.
//!
//! One set-up serves every case: a real pair on 127.0.0.1 (prim streaming
//! to stby) whose journals hold two transactions the primary left open;
//! prim then writes alone (entries stby never receives). A copy of stby's
//! home is promoted once per promotion step; stby itself is promoted, takes
//! writes and fences prim off; a copy of prim's home rejoins stby once per
//! rejoin step, and then follows stby's primary server.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{SYMMETRIC_DATA, start, stop, symmetric_pair, symmetric_script};
use common::{Home, keys_of, wait_until};
use drx_journal::{Effect, NewEntry, NodeRole, Reader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

const DATA: &str = SYMMETRIC_DATA;
/// The signal `std::process::abort` ends a process with.
const SIGABRT: i32 = 6;

const PROMOTE_STEPS: [&str; 4] = [
    "promote-redo",
    "promote-epoch",
    "promote-abort",
    "promote-role",
];
const REJOIN_STEPS: [&str; 6] = [
    "rejoin-report",
    "rejoin-plan",
    "rejoin-repair",
    "rejoin-truncate",
    "rejoin-replica",
    "rejoin-role",
];

/// Copies everything in `from` (files, journal, replica state) into `to`.
fn copy_into(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A copy of `home` in a new directory (its journal still names the
/// files it names: right for a standby, whose replicas are mapped).
fn copy_home(home: &Home) -> Home {
    let dir = tempfile::tempdir().unwrap();
    copy_into(home.path(), dir.path());
    Home { dir }
}

/// `home` as `template` left it: a node whose journal names its own files
/// by their paths is set back in place.
fn restore(home: &Home, template: &Home) {
    for entry in std::fs::read_dir(home.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    copy_into(template.path(), home.path());
}

fn journal(home: &Home) -> std::path::PathBuf {
    home.join("journal")
}

fn last_seq(home: &Home) -> u64 {
    drx_journal::last_seq(&journal(home)).unwrap()
}

fn role(home: &Home) -> Option<NodeRole> {
    drx_journal::node_role(&journal(home)).unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// Runs `drx ARGS` in `home` with `DRX_CRASH_AFTER=step` and asserts that
/// it died of the abort.
fn crash(home: &Home, args: &[&str], step: &str) {
    let out = home
        .command(args)
        .env("DRX_CRASH_AFTER", step)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(SIGABRT),
        "{step}: drx {args:?} was not aborted ({}): {stderr}",
        out.status
    );
    assert!(
        stderr.contains(&format!("DRX_CRASH_AFTER={step}: aborting")),
        "{step}: {stderr}"
    );
}

/// Every entry of `home`'s journal from `from` on.
fn entries_from(home: &Home, from: u64) -> Vec<(u64, u64, u64, String, Effect<'static>)> {
    let mut out = Vec::new();
    let mut reader = Reader::open(&journal(home), from).unwrap();
    while let Some(e) = reader.next().unwrap() {
        let effect = match e.effect {
            Effect::AbortTxn => Effect::AbortTxn,
            Effect::BeginTxn => Effect::BeginTxn,
            Effect::CommitTxn => Effect::CommitTxn,
            _ => Effect::None,
        };
        out.push((e.seq, e.epoch, e.txn, e.process.to_owned(), effect));
    }
    out
}

/// The two journals hold the same segments, byte for byte (but for each
/// header's creation time and the CRC over it), and the same epochs.
fn same_journal(a: &Home, b: &Home, what: &str) {
    let sa = drx_journal::segment_files(&journal(a)).unwrap();
    let sb = drx_journal::segment_files(&journal(b)).unwrap();
    assert_eq!(
        sa.iter().map(|s| s.first_seq).collect::<Vec<_>>(),
        sb.iter().map(|s| s.first_seq).collect::<Vec<_>>(),
        "{what}: segments"
    );
    for (x, y) in sa.iter().zip(&sb) {
        let (x, y) = (read(&x.path), read(&y.path));
        assert!(
            x.len() >= 48 && y.len() >= 48,
            "{what}: a segment without header"
        );
        assert!(
            x[..32] == y[..32] && x[48..] == y[48..],
            "{what}: segment {} differs",
            x.len()
        );
    }
    assert_eq!(
        drx_journal::epoch_history(&journal(a)).unwrap(),
        drx_journal::epoch_history(&journal(b)).unwrap(),
        "{what}: epochs"
    );
}

fn log(home: &Home, name: &str) -> String {
    std::fs::read_to_string(home.join(name)).unwrap_or_default()
}

#[test]
fn promote_and_rejoin_cut_short_at_every_step_are_finished_by_running_them_again() {
    // The pair, in sync.
    let (prim, stby) = symmetric_pair("heartbeat_ms = 200");
    let stby_server = start(&stby, "standby");
    let mut prim_server = start(&prim, "primary");
    prim.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        DATA,
    ]);
    let mut keys = keys_of(&prim.file_rows(DATA));
    prim.io("ops0.jsonl", &symmetric_script(&mut keys, 200, 1));
    let in_sync = |what: &str| {
        assert!(
            wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
                read(&prim.join(DATA)) == read(&stby.join(DATA))
                    && last_seq(&prim) == last_seq(&stby)
            }),
            "{what}: {}{}",
            log(&prim, "primary.log"),
            log(&stby, "standby.log")
        );
    };
    in_sync("the pair");
    // The committed content: what every replica must hold after promotion.
    let committed = read(&prim.join(DATA));

    // Two transactions the primary's application left open (it died
    // between an operation's entry and the commit): entries only, their
    // bytes never reach a replica.
    let (process, file) = {
        let mut reader = Reader::open(&journal(&prim), 1).unwrap();
        let mut found = None;
        while let Some(e) = reader.next().unwrap() {
            if let Effect::Write { .. } = e.effect {
                found = Some((e.process.to_owned(), e.file.to_owned()));
            }
        }
        found.unwrap()
    };
    let mut open = Vec::new();
    {
        let mut writer =
            drx_journal::Writer::open(drx_journal::WriterConfig::new(journal(&prim))).unwrap();
        for (i, data) in [b"OPEN-TXN-A".as_slice(), b"OPEN-TXN-B"].iter().enumerate() {
            let txn = writer.last_seq() + 1;
            open.push(txn);
            for effect in [
                Effect::BeginTxn,
                Effect::Write {
                    offset: 64 * i as u64,
                    data,
                },
            ] {
                writer
                    .append(&NewEntry {
                        txn,
                        process: &process,
                        file: &file,
                        effect,
                        record: None,
                    })
                    .unwrap();
            }
        }
        writer.close().unwrap();
    }
    in_sync("the open transactions");
    let received = last_seq(&stby);

    // The primary's server dies; its application goes on alone: entries
    // stby never receives.
    prim_server.kill().unwrap();
    prim_server.wait().unwrap();
    prim.io("alone.jsonl", &symmetric_script(&mut keys, 60, 2));
    let prim_last = last_seq(&prim);
    let diverged = prim_last - received;
    assert!(diverged > 0);
    stop(stby_server);
    assert_eq!(last_seq(&stby), received);
    let standby_template = copy_home(&stby);

    // Promotion, cut short after each step, then run again.
    for step in PROMOTE_STEPS {
        let node = copy_home(&standby_template);
        crash(&node, &["promote"], step);
        let out = node.ok(&["promote"]);
        // A run cut short after the epoch was raised raises it once more
        // when run again (docs/DR.md); after the role, nothing is left.
        let (epoch, aborted_in, expected_out) = match step {
            "promote-redo" => (2, 2, "epoch 1 -> 2"),
            "promote-epoch" => (3, 3, "epoch 2 -> 3"),
            "promote-abort" => (3, 2, "epoch 2 -> 3"),
            _ => (2, 2, "already the primary (epoch 2)"),
        };
        assert!(out.contains(expected_out), "{step}: {out}");
        assert_eq!(role(&node), Some(NodeRole::Primary), "{step}");
        assert_eq!(
            drx_journal::current_epoch(&journal(&node)).unwrap(),
            epoch,
            "{step}"
        );
        let history = drx_journal::epoch_history(&journal(&node)).unwrap();
        assert_eq!(
            history.iter().map(|e| e.epoch).collect::<Vec<_>>(),
            (1..=epoch).collect::<Vec<_>>(),
            "{step}: {history:?}"
        );
        assert_eq!(history[1].first_seq, received + 1, "{step}: {history:?}");
        // Each open transaction ended by exactly one AbortTxn of the new
        // primary, and nothing else after what was received.
        let after = entries_from(&node, received + 1);
        assert_eq!(after.len(), open.len(), "{step}: {after:?}");
        for ((seq, e_epoch, txn, e_process, effect), want) in after.iter().zip(&open) {
            assert_eq!(
                (*txn, *e_epoch, e_process.as_str(), *effect),
                (*want, aborted_in, "drx-promote", Effect::AbortTxn),
                "{step}: seq {seq}"
            );
        }
        // The replica holds what the journal committed, no byte of the
        // open transactions.
        assert!(read(&node.join(DATA)) == committed, "{step}: the replica");
        // The applications write, continuing the journal in the new epoch.
        let next = last_seq(&node) + 1;
        let mut node_keys = keys_of(&node.file_rows(DATA));
        node.io("after.jsonl", &symmetric_script(&mut node_keys, 20, 7));
        let written = entries_from(&node, next);
        assert!(!written.is_empty(), "{step}: no entry written");
        assert!(
            written
                .iter()
                .all(|(_, e_epoch, _, p, _)| *e_epoch == epoch && p != "drx-promote"),
            "{step}: {written:?}"
        );
        let mut now = keys_of(&node.file_rows(DATA));
        now.sort_unstable();
        node_keys.sort_unstable();
        assert_eq!(now, node_keys, "{step}: the rows after the writes");
    }

    // stby is promoted (no crash), takes writes and fences prim off.
    let promoted = stby.ok(&["promote"]);
    assert!(promoted.contains("epoch 1 -> 2"), "{promoted}");
    let mut stby_keys = keys_of(&stby.file_rows(DATA));
    stby.io("new1.jsonl", &symmetric_script(&mut stby_keys, 80, 3));
    let fence = start(&stby, "standby");
    let old = start(&prim, "primary");
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
            matches!(role(&prim), Some(NodeRole::Fenced { epoch: 2, .. }))
        }),
        "{}{}",
        log(&prim, "primary.log"),
        log(&stby, "standby.log")
    );
    stop(old);
    let primary_template = copy_home(&prim);
    let stby_primary = start(&stby, "primary");
    let report_name = format!("rejoin/rolled-back-{}-{prim_last}.jsonl", received + 1);

    // Rejoin, cut short after each step, then run again; then the rejoined
    // node follows stby. prim is set back before each step: its journal
    // names its files by their paths, which the rejoin repairs.
    for step in REJOIN_STEPS {
        restore(&prim, &primary_template);
        let node = &prim;
        crash(node, &["rejoin"], step);
        let state = journal(node).join("rejoin/state");
        let at = REJOIN_STEPS.iter().position(|s| *s == step).unwrap();
        assert_eq!(
            (
                node.join(&report_name).exists(),
                state.exists(),
                read(&node.join(DATA)) == read(&stby.join(DATA)),
                last_seq(node) == received,
                role(node) == Some(NodeRole::Standby),
            ),
            (true, at >= 1, at >= 2, at >= 3, at >= 5),
            "{step}: not where the crash should have left it"
        );
        let out = node.ok(&["rejoin"]);
        assert!(
            out.contains(&format!(
                "rejoined stby (epoch 2) as its standby: the journals share seqs 1 to {received}"
            )) && out.contains(&format!(
                "{diverged} entries of this node after them were rolled back"
            )),
            "{step}: {out}"
        );
        // One line per diverged entry, in order, none twice or lost.
        let reports: Vec<_> = std::fs::read_dir(node.join("rejoin"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(reports.len(), 1, "{step}: {reports:?}");
        let text = std::fs::read_to_string(node.join(&report_name)).unwrap();
        let seqs: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            seqs,
            (received + 1..=prim_last).collect::<Vec<_>>(),
            "{step}: the report"
        );
        assert_eq!(last_seq(node), received, "{step}: the journal");
        assert_eq!(role(node), Some(NodeRole::Standby), "{step}");
        assert!(!state.exists(), "{step}: the plan is left");
        let again = node.fails(&["rejoin"]);
        assert!(again.contains("already a standby"), "{step}: {again}");

        // stby's primary server streams to it: files and journals end the same.
        let server = start(node, "standby");
        let caught_up = wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
            read(&node.join(DATA)) == read(&stby.join(DATA)) && last_seq(node) == last_seq(&stby)
        });
        stop(server);
        assert!(
            caught_up,
            "{step}: {}{}",
            log(node, "standby.log"),
            log(&stby, "primary.log")
        );
        same_journal(node, &stby, step);
    }
    stop(stby_primary);
    stop(fence);
}
