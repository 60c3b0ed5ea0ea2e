//! Log shipping end to end (docs/LOG_SHIPPING.md): `drx ship` on a primary
//! home, `drx apply` on a standby home, both real processes on real files.
//! The replicas equal the primary's files byte for byte and the standby
//! journal holds the primary's entries, each once — after re-runs, more
//! writes, `--seal`, and `kill -9` of `drx apply` in the middle of a large
//! apply; a damaged shipped file and a gap are errors naming the file and
//! the seqs, with nothing of them applied. `drx ship --to-standby` sends
//! the same files over the mirror connection to a running standby server
//! (through a real TCP proxy that cuts it), which applies them.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{Server, data_mirrored, free_port, identical, pair, start, stop};
use common::proxy::{Direction, Proxy};
use common::workload::Workload;
use common::{Home, keys_of, mixed_script, wait_until};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The Files Table record that makes every file under `data/` critical.
const DATA_FILES: &str = "
[[files]]
record_type = \"include\"
process_name = \"*\"
source_path = \"data/*\"
";

/// A primary and a standby home (no server runs), the primary's journal
/// rolling to a new segment every `segment_size` bytes, every file under
/// `data/` critical on both; and the shipping directory.
fn homes(segment_size: u64) -> (Home, Home, tempfile::TempDir) {
    homes_on(free_port(), segment_size)
}

/// [`homes`] linked on `port` (the standby listens there).
fn homes_on(port: u16, segment_size: u64) -> (Home, Home, tempfile::TempDir) {
    let (primary, standby) = pair(port);
    primary.edit_config(
        "durability = \"group\"",
        &format!("durability = \"group\"\nsegment_size = {segment_size}"),
    );
    for home in [&primary, &standby] {
        home.append_config(DATA_FILES);
    }
    std::fs::create_dir_all(primary.join("data")).unwrap();
    (primary, standby, tempfile::tempdir().unwrap())
}

/// The primary's journal directory.
fn journal(primary: &Home) -> PathBuf {
    drx_config::Config::load(primary.path())
        .unwrap()
        .journal
        .dir
}

/// The standby's journal directory, as its configuration says.
fn standby_journal(standby: &Home) -> PathBuf {
    drx_config::Config::load(standby.path())
        .unwrap()
        .mirror
        .standby_journal_dir
}

fn arg(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// `drx ship --to DIR` (and `extra` arguments), asserted to succeed.
fn ship(primary: &Home, dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["ship", "--to", arg(dir)];
    args.extend_from_slice(extra);
    primary.ok(&args)
}

/// `drx apply --from DIR`, asserted to succeed.
fn apply(standby: &Home, dir: &Path) -> String {
    standby.ok(&["apply", "--from", arg(dir)])
}

/// Every entry of the journal in `dir`, as its encoded bytes, by seq from 1.
fn entries(dir: &Path) -> Vec<Vec<u8>> {
    let mut reader = drx_journal::Reader::open(dir, 1).unwrap();
    let mut all = Vec::new();
    while let Some(entry) = reader.next().unwrap() {
        assert_eq!(entry.seq, all.len() as u64 + 1, "seqs from 1 without gaps");
        let mut bytes = Vec::new();
        drx_journal::encode_entry(&entry, &mut bytes).unwrap();
        all.push(bytes);
    }
    all
}

/// The entries of the primary's journal up to `last`, those of the
/// standby's: equal, each once.
fn assert_same_entries(primary: &Home, standby: &Home, last: u64) {
    let mut theirs = entries(&journal(primary));
    theirs.truncate(last as usize);
    let ours = entries(&standby_journal(standby));
    assert_eq!(ours.len(), theirs.len(), "standby journal length");
    assert!(
        ours == theirs,
        "the standby journal differs from the primary's"
    );
}

/// Whether the standby's replicas of `data/` and of error_codes.data are
/// exactly the primary's files, byte for byte; else what differs.
fn mirrored(primary: &Home, standby: &Home) -> Result<usize, String> {
    if !identical(primary, standby, "error_codes.data") {
        return Err("error_codes.data differs from its replica".into());
    }
    Ok(data_mirrored(primary, standby)? + 1)
}

/// The shipped files of `dir`, by name.
fn shipped(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".seg.zst"))
        .collect();
    files.sort();
    files
}

/// The (first, last) seqs a shipped file's name says it holds.
fn seqs_of(file: &Path) -> (u64, u64) {
    let name = file.file_name().unwrap().to_str().unwrap();
    let stem = name.strip_suffix(".seg.zst").unwrap();
    let (a, b) = stem.split_once('-').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// A workload with transactions (some aborted) on error_codes.data and on
/// files of every organization under `data/`.
fn workload(primary: &Home, keys: &mut Vec<i64>, workload: &mut Workload, round: u64) {
    primary.io(
        &format!("mixed{round}.jsonl"),
        &mixed_script(keys, 400, round),
    );
    primary.io(&format!("w{round}.jsonl"), &workload.script(300));
}

#[test]
fn shipped_segments_applied_leave_byte_identical_replicas_and_each_entry_once() {
    let (primary, standby, dir) = homes(64 * 1024);
    let outbox = dir.path();
    primary.demo("error_codes.table");
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    let mut work = Workload::new(3);
    workload(&primary, &mut keys, &mut work, 0);

    // Every finished segment ships; the one being appended to does not.
    let out = ship(&primary, outbox, &[]);
    let files = shipped(outbox);
    assert!(files.len() >= 3, "{out}");
    let last_shipped = seqs_of(files.last().unwrap()).1;
    let last = drx_journal::last_seq(&journal(&primary)).unwrap();
    assert!(last_shipped < last, "the open segment was shipped: {out}");
    assert!(
        out.contains(&format!("shipped up to seq {last_shipped}"))
            || out.contains(&format!("segments up to seq {last_shipped}")),
        "{out}"
    );
    assert!(out.contains("not shipped: seqs"), "{out}");
    // The consumer "ship" keeps what is not shipped from retention.
    assert_eq!(
        drx_journal::consumer_position(&journal(&primary), "ship").unwrap(),
        Some(last_shipped)
    );
    // Shipping again ships nothing new.
    let out = ship(&primary, outbox, &[]);
    assert!(out.contains("nothing new to ship"), "{out}");
    assert_eq!(shipped(outbox), files);

    // Apply: the replicas as of the last shipped seq, the same entries.
    // (The primary's files are ahead; compare after sealing below.)
    let out = apply(&standby, outbox);
    assert!(
        out.contains(&format!("up to date at seq {last_shipped}")),
        "{out}"
    );
    assert_same_entries(&primary, &standby, last_shipped);
    // Applying again applies nothing.
    let out = apply(&standby, outbox);
    assert!(out.contains("nothing to apply"), "{out}");
    assert_same_entries(&primary, &standby, last_shipped);

    // --seal with no application running ships the rest: byte-identical.
    let out = ship(&primary, outbox, &["--seal"]);
    assert!(
        out.contains(&format!("sealed the current segment at seq {last}")),
        "{out}"
    );
    apply(&standby, outbox);
    assert!(
        mirrored(&primary, &standby).unwrap() >= 5,
        "after the first round"
    );
    assert_same_entries(&primary, &standby, last);

    // More writes, ship, apply: identical again, each entry once.
    for round in 1..3 {
        workload(&primary, &mut keys, &mut work, round);
        let out = ship(&primary, outbox, &["--seal"]);
        assert!(out.contains("shipped seqs"), "{out}");
        let out = apply(&standby, outbox);
        assert!(out.contains("applied seqs"), "{out}");
        let last = drx_journal::last_seq(&journal(&primary)).unwrap();
        let files = mirrored(&primary, &standby).unwrap();
        assert!(files >= 5, "round {round}: {files} files");
        assert_same_entries(&primary, &standby, last);
        let out = apply(&standby, outbox);
        assert!(
            out.contains(&format!("up to date at seq {last}: nothing to apply")),
            "{out}"
        );
    }
}

#[test]
fn retention_keeps_the_segments_not_yet_shipped() {
    let (primary, _standby, dir) = homes(16 * 1024);
    primary.demo("error_codes.table");
    let journal = journal(&primary);
    ship(&primary, dir.path(), &[]);
    let shipped_to = drx_journal::consumer_position(&journal, "ship")
        .unwrap()
        .unwrap();
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    primary.io("more.jsonl", &mixed_script(&mut keys, 400, 5));
    // Another consumer has passed everything: only what is shipped goes.
    let last = drx_journal::last_seq(&journal).unwrap();
    drx_journal::register_consumer(&journal, "other").unwrap();
    drx_journal::set_consumer_position(&journal, "other", last).unwrap();
    let removed = drx_journal::remove_passed_segments(&journal).unwrap();
    assert!(!removed.is_empty());
    let mut reader = drx_journal::Reader::open(&journal, shipped_to + 1).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().seq, shipped_to + 1);
    // And the next ship ships from there on.
    let out = ship(&primary, dir.path(), &[]);
    assert!(
        out.contains(&format!("shipped seqs {}", shipped_to + 1)),
        "{out}"
    );
}

#[test]
fn seal_leaves_the_current_segment_open_while_an_application_holds_the_journal() {
    let (primary, _standby, dir) = homes(1024 * 1024);
    primary.demo("error_codes.table");
    let writer =
        drx_journal::Writer::open(drx_journal::WriterConfig::new(journal(&primary))).unwrap();
    let out = ship(&primary, dir.path(), &["--seal"]);
    assert!(
        out.contains(
            "not sealed: a writer (an application's capture session) holds the journal lock"
        ),
        "{out}"
    );
    assert!(out.contains("nothing new to ship"), "{out}");
    assert!(shipped(dir.path()).is_empty());
    drop(writer);
    let out = ship(&primary, dir.path(), &["--seal"]);
    let last = drx_journal::last_seq(&journal(&primary)).unwrap();
    assert!(out.contains(&format!("shipped seqs 1 to {last}")), "{out}");
    // Sealing an empty segment again seals nothing.
    let out = ship(&primary, dir.path(), &["--seal"]);
    assert!(out.contains("nothing to seal"), "{out}");
}

#[test]
fn kill_9_of_apply_in_the_middle_then_a_rerun_applies_each_entry_once() {
    let (primary, standby, dir) = homes(2 * 1024 * 1024);
    let outbox = dir.path();
    // About 40 MB of journal: 30,000 records copied into four files.
    primary.demo_records(30_000);
    for copy in 0..3 {
        primary.ok(&[
            "demo",
            "--input-path",
            "input.table",
            "--output-path",
            &format!("data/copy{copy}.dat"),
            "--file-id",
            "200",
        ]);
    }
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    let mut work = Workload::new(11);
    workload(&primary, &mut keys, &mut work, 0);
    ship(&primary, outbox, &["--seal"]);
    let last = drx_journal::last_seq(&journal(&primary)).unwrap();
    let standby_journal = standby_journal(&standby);
    let progress = || {
        if standby_journal.exists() {
            drx_journal::last_seq(&standby_journal).unwrap()
        } else {
            0
        }
    };

    // SIGKILL `drx apply` after growing delays until one run finishes.
    let mut mid_way = 0;
    let deadline = Instant::now() + Duration::from_secs(180);
    for round in 0..40u64 {
        if Instant::now() > deadline {
            break;
        }
        let mut child = standby
            .command(&["apply", "--from", arg(outbox)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + round * 100));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let at = progress();
        if at > 0 && at < last {
            mid_way += 1;
        }
    }
    assert!(mid_way >= 1, "no apply was killed in the middle");
    let out = apply(&standby, outbox);
    assert!(out.contains(&format!("up to date at seq {last}")), "{out}");
    assert!(mirrored(&primary, &standby).unwrap() >= 5);
    assert_same_entries(&primary, &standby, last);
}

#[test]
fn a_damaged_shipped_file_is_named_and_nothing_of_it_is_applied() {
    let (primary, standby, dir) = homes(32 * 1024);
    let outbox = dir.path();
    primary.demo("error_codes.table");
    ship(&primary, outbox, &["--seal"]);
    let files = shipped(outbox);
    assert!(files.len() >= 3);
    let victim = &files[1];
    let original = std::fs::read(victim).unwrap();
    let before_victim = seqs_of(victim).0 - 1;

    // A flipped bit in the compressed bytes, then in the manifest, then a
    // truncated file: each refused by name, the standby stops before it.
    let mut flipped = original.clone();
    let middle = flipped.len() - 20;
    flipped[middle] ^= 0x10;
    let mut manifest = original.clone();
    manifest[30] ^= 0x01;
    let truncated = original[..original.len() - 7].to_vec();
    for (damage, says) in [
        (flipped, "blake3 of its compressed bytes"),
        (manifest, "manifest CRC mismatch"),
        (truncated, "compressed bytes, its manifest says"),
    ] {
        std::fs::write(victim, &damage).unwrap();
        let err = standby.fails(&["apply", "--from", arg(outbox)]);
        let name = victim.file_name().unwrap().to_str().unwrap();
        assert!(err.contains(name), "{err}");
        assert!(err.contains("is damaged"), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(err.contains("nothing of it was applied"), "{err}");
        assert_eq!(
            drx_journal::last_seq(&standby_journal(&standby)).unwrap(),
            before_victim
        );
    }
    // The file copied again whole: the rest applies.
    std::fs::write(victim, &original).unwrap();
    apply(&standby, outbox);
    let last = drx_journal::last_seq(&journal(&primary)).unwrap();
    assert!(identical(&primary, &standby, "error_codes.data"));
    assert_same_entries(&primary, &standby, last);
}

#[test]
fn a_gap_in_the_shipped_segments_is_an_error_naming_the_missing_seqs() {
    let (primary, standby, dir) = homes(32 * 1024);
    let outbox = dir.path();
    primary.demo("error_codes.table");
    ship(&primary, outbox, &["--seal"]);
    let files = shipped(outbox);
    assert!(files.len() >= 3);
    let hidden = dir.path().join("hidden");
    std::fs::rename(&files[1], &hidden).unwrap();
    let (from, to) = seqs_of(&files[1]);
    let err = standby.fails(&["apply", "--from", arg(outbox)]);
    assert!(
        err.contains(&format!("seqs {from} to {to} are in no shipped segment")),
        "{err}"
    );
    assert_eq!(
        drx_journal::last_seq(&standby_journal(&standby)).unwrap(),
        from - 1
    );
    std::fs::rename(&hidden, &files[1]).unwrap();
    apply(&standby, outbox);
    assert!(identical(&primary, &standby, "error_codes.data"));
}

#[test]
fn apply_refuses_to_run_while_the_standby_server_holds_the_standby_journal() {
    let (primary, standby, dir) = homes(32 * 1024);
    primary.demo("error_codes.table");
    ship(&primary, dir.path(), &["--seal"]);
    let server = start(&standby, "standby");
    let log = || std::fs::read_to_string(standby.join("standby.log")).unwrap_or_default();
    let listening = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        log().contains("standby listening")
    });
    let err = standby.fails(&["apply", "--from", arg(dir.path())]);
    stop(server);
    assert!(listening, "{}", log());
    assert!(err.contains("is locked"), "{err}");
    assert!(
        err.contains(
            "a standby server (drx mirror standby, drx start) or another drx apply is running"
        ),
        "{err}"
    );
    // Once the server is stopped, apply runs.
    apply(&standby, dir.path());
    assert!(identical(&primary, &standby, "error_codes.data"));
}

#[test]
fn one_ship_at_a_time_writes_to_a_directory() {
    let (primary, _standby, dir) = homes(32 * 1024);
    primary.demo("error_codes.table");
    let lock = std::fs::File::create(dir.path().join(".ship.lock")).unwrap();
    lock.try_lock().unwrap();
    let err = primary.fails(&["ship", "--to", arg(dir.path())]);
    assert!(
        err.contains(".ship.lock") && err.contains("another drx ship is writing"),
        "{err}"
    );
    assert!(shipped(dir.path()).is_empty());
    drop(lock);
    let out = ship(&primary, dir.path(), &[]);
    assert!(out.contains("shipped seqs 1 to"), "{out}");
}

#[test]
fn entries_older_than_the_standbys_epoch_are_refused() {
    let (primary, standby, dir) = homes(32 * 1024);
    let outbox = dir.path();
    primary.demo("error_codes.table");
    ship(&primary, outbox, &["--seal"]);
    let files = shipped(outbox);
    assert!(files.len() >= 2);
    let later = dir.path().join("later");
    std::fs::create_dir(&later).unwrap();
    for file in &files[1..] {
        std::fs::rename(file, later.join(file.file_name().unwrap())).unwrap();
    }
    apply(&standby, outbox);
    // A failover raised the standby's epoch; the old primary's entries
    // (epoch 1) must not be applied after it.
    let mut writer =
        drx_journal::Writer::open(drx_journal::WriterConfig::new(standby_journal(&standby)))
            .unwrap();
    writer.set_epoch(5).unwrap();
    writer.close().unwrap();
    let before = drx_journal::last_seq(&standby_journal(&standby)).unwrap();
    let err = standby.fails(&["apply", "--from", arg(&later)]);
    assert!(
        err.contains(&format!(
            "seq {} has epoch 1, older than the standby's epoch 5",
            before + 1
        )),
        "{err}"
    );
    assert!(err.contains("nothing of this file was applied"), "{err}");
    assert_eq!(
        drx_journal::last_seq(&standby_journal(&standby)).unwrap(),
        before
    );
}

/// Waits until the standby holds one part file of `len` bytes and its
/// session has let it go (it writes what arrived before a cut after the
/// sender has seen the cut); returns the part files.
fn wait_for_part(standby: &Home, len: u64) -> Vec<PathBuf> {
    wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        let parts = part_files(standby);
        parts.len() == 1
            && std::fs::File::open(&parts[0])
                .is_ok_and(|f| f.metadata().is_ok_and(|m| m.len() == len) && f.try_lock().is_ok())
    });
    part_files(standby)
}

/// The part files of shipped segments being received on the standby.
fn part_files(standby: &Home) -> Vec<PathBuf> {
    let inbox = standby_journal(standby).join("shipped");
    let Ok(dir) = std::fs::read_dir(inbox) else {
        return Vec::new();
    };
    dir.map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect()
}

#[test]
fn shipping_over_the_mirror_connection_is_applied_by_the_running_standby_each_entry_once() {
    let (primary, standby, _dir) = homes(64 * 1024);
    primary.demo("error_codes.table");
    let mut keys = keys_of(&primary.file_rows("error_codes.data"));
    let mut work = Workload::new(5);
    workload(&primary, &mut keys, &mut work, 0);
    let server = Server::standby(&standby);

    // The finished segments go; the standby server applies them.
    let out = primary.ok(&["ship", "--to-standby"]);
    let last = drx_journal::last_seq(&journal(&primary)).unwrap();
    let durable = drx_journal::consumer_position(&journal(&primary), "ship-standby")
        .unwrap()
        .unwrap();
    assert!(out.matches("shipped seqs").count() >= 3, "{out}");
    assert!(0 < durable && durable < last, "{out}");
    assert!(
        out.contains(&format!("durable there from seq 0 to {durable}")),
        "{out}"
    );
    assert!(out.contains("not shipped: seqs"), "{out}");
    assert_same_entries(&primary, &standby, durable);
    let out = primary.ok(&["ship", "--to-standby"]);
    assert!(
        out.contains(&format!(
            "nothing new to ship: the standby stby is durable at seq {durable}"
        )),
        "{out}"
    );

    // --seal ships the rest; the replicas equal the files, each entry once.
    let out = primary.ok(&["ship", "--to-standby", "--seal"]);
    assert!(out.contains(&format!("to {last}")), "{out}");
    assert!(mirrored(&primary, &standby).unwrap() >= 5);
    assert_same_entries(&primary, &standby, last);

    // More writes, shipped again: identical again.
    for round in 1..3 {
        workload(&primary, &mut keys, &mut work, round);
        let out = primary.ok(&["ship", "--to-standby", "--seal"]);
        let last = drx_journal::last_seq(&journal(&primary)).unwrap();
        assert!(out.contains("the standby applied"), "{out}");
        assert!(mirrored(&primary, &standby).unwrap() >= 5, "round {round}");
        assert_same_entries(&primary, &standby, last);
    }
    assert!(part_files(&standby).is_empty());
    drop(server);
}

#[test]
fn a_shipment_cut_mid_file_resumes_where_it_stopped_and_a_damaged_rest_is_sent_whole() {
    let port = free_port();
    let (primary, standby, dir) = homes_on(port, 2 * 1024 * 1024);
    let proxy = Proxy::start(([127, 0, 0, 1], port).into());
    primary.edit_config(
        &format!("tcp_port = {port}"),
        &format!("tcp_port = {}", proxy.port()),
    );
    // Segments of 2 MiB, shipped files of more than 100 kB (a ShipData
    // carries 64 KiB).
    primary.demo_records(12_000);
    let copy = |n: u32| {
        primary.ok(&[
            "demo",
            "--input-path",
            "input.table",
            "--output-path",
            &format!("data/copy{n}.dat"),
            "--file-id",
            "200",
        ])
    };
    // The same files shipped to a directory give their sizes.
    ship(&primary, dir.path(), &["--seal"]);
    let first_len = std::fs::metadata(&shipped(dir.path())[0]).unwrap().len();
    assert!(first_len > 100_000, "{first_len} bytes");
    let mut server = Server::standby(&standby);

    // The link is cut in the first file's second ShipData:
    // an error, and the bytes received before it kept.
    proxy.cut_after(Direction::ToStandby, 80_000);
    let err = primary.fails(&["ship", "--to-standby"]);
    assert!(err.contains("drx ship --to-standby"), "{err}");
    let parts = wait_for_part(&standby, 64 * 1024);
    assert_eq!(parts.len(), 1, "{err}");
    let kept = std::fs::metadata(&parts[0]).unwrap().len();
    assert_eq!(kept, 64 * 1024, "{err}");

    // The standby is killed (-9) and started again: the shipment resumes
    // at the bytes it kept, and ends identical, each entry once.
    server.kill();
    let server = Server::standby(&standby);
    let out = primary.ok(&["ship", "--to-standby", "--seal"]);
    assert!(out.contains(&format!("resumed at byte {kept}")), "{out}");
    let last = drx_journal::last_seq(&journal(&primary)).unwrap();
    mirrored(&primary, &standby).unwrap();
    assert_same_entries(&primary, &standby, last);
    assert!(part_files(&standby).is_empty());

    // Cut again in a new file, and the kept part damaged: it does not
    // verify, nothing of it is applied, and it is sent again whole.
    copy(0);
    proxy.cut_after(Direction::ToStandby, 80_000);
    primary.fails(&["ship", "--to-standby", "--seal"]);
    let parts = wait_for_part(&standby, 64 * 1024);
    assert_eq!(parts.len(), 1);
    let mut bytes = std::fs::read(&parts[0]).unwrap();
    assert_eq!(bytes.len(), 64 * 1024);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5A;
    std::fs::write(&parts[0], &bytes).unwrap();
    let out = primary.ok(&["ship", "--to-standby", "--seal"]);
    assert!(!out.contains("resumed at byte"), "{out}");
    let log = std::fs::read_to_string(standby.join("standby.log")).unwrap();
    assert!(log.contains("does not verify"), "{log}");
    let last = drx_journal::last_seq(&journal(&primary)).unwrap();
    assert!(mirrored(&primary, &standby).unwrap() >= 2);
    assert_same_entries(&primary, &standby, last);
    assert!(part_files(&standby).is_empty());
    drop(server);
}

#[test]
fn seqs_the_primary_no_longer_holds_are_named_and_nothing_is_sent() {
    let (primary, standby, _dir) = homes(32 * 1024);
    primary.demo("error_codes.table");
    primary.ok(&["ship", "--to", "outbox", "--seal"]);
    // Retention (or an operator) removed the oldest segment.
    let segments = drx_journal::segment_files(&journal(&primary)).unwrap();
    assert!(segments.len() >= 3);
    std::fs::remove_file(&segments[0].path).unwrap();
    let server = Server::standby(&standby);
    let err = primary.fails(&["ship", "--to-standby"]);
    drop(server);
    let to = segments[1].first_seq - 1;
    assert!(
        err.contains(&format!(
            "the standby needs seqs 1 to {to}, which the journal in"
        )) && err.contains("drx refresh"),
        "{err}"
    );
    assert!(entries(&standby_journal(&standby)).is_empty());
}
