//! `drx mirror primary` → fault-injecting proxy (tests/common/proxy.rs) →
//! `drx mirror standby`, as real processes on 127.0.0.1, while `drx io`
//! writes a mixed workload on the primary: connections cut mid-frame,
//! latency and a blackhole longer than the dead interval, damaged `Entries`
//! frames. Each scenario ends with every replica byte-identical to its
//! primary file, the standby journal holding the primary's entries (same
//! last seq, same bytes), and the standby's status counting each entry
//! applied once.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{free_port, logs, replica_of, start, stop};
use common::proxy::{Direction, Proxy};
use common::{Home, keys_of, mixed_script, wait_until};
use drx_mirror::{MessageKind, MirrorStatus, Role};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// `[mirror] heartbeat_ms` of both servers.
const HEARTBEAT_MS: u64 = 150;
/// `[mirror] missed_heartbeats`: a peer silent for 600 ms is gone.
const MISSED_HEARTBEATS: u32 = 4;
/// The longest wait for the link to get somewhere.
const PATIENCE: Duration = Duration::from_secs(30);
const EVERY: Duration = Duration::from_millis(50);

/// A home of the sample whose server links to `127.0.0.1:port` (the
/// standby listens there, the primary connects there: to the proxy); a
/// peer silent for `missed` heartbeats is gone.
fn link_home(port: u16, node: &str, missed: u32) -> Home {
    common::pair::link_home(
        port,
        node,
        &format!("heartbeat_ms = {HEARTBEAT_MS}\nmissed_heartbeats = {missed}"),
    )
}

/// Both servers, the proxy between them, and their homes. The servers are
/// killed if the test ends early.
struct Link {
    standby_server: Option<Child>,
    primary_server: Option<Child>,
    proxy: Proxy,
    primary: Home,
    standby: Home,
}

/// How a scenario ended, once both servers stopped.
struct Ended {
    primary: MirrorStatus,
    standby: MirrorStatus,
    /// The primary journal's last seq.
    last: u64,
}

impl Link {
    /// Both servers with [`MISSED_HEARTBEATS`].
    fn start() -> Link {
        Link::start_with(MISSED_HEARTBEATS)
    }

    /// Both servers, a peer silent for `missed` heartbeats being gone.
    fn start_with(missed: u32) -> Link {
        let standby_port = free_port();
        let proxy = Proxy::start(([127, 0, 0, 1], standby_port).into());
        let primary = link_home(proxy.port(), "prim", missed);
        let standby = link_home(standby_port, "stby", missed);
        let standby_server = Some(start(&standby, "standby"));
        let primary_server = Some(start(&primary, "primary"));
        Link {
            standby_server,
            primary_server,
            proxy,
            primary,
            standby,
        }
    }

    fn logs(&self) -> String {
        format!(
            "{}\nproxy: {:?}",
            logs(&self.primary, &self.standby),
            self.proxy.stats()
        )
    }

    /// Starts `drx io` on the primary with `script`.
    fn spawn_io(&self, name: &str, script: &str) -> Child {
        self.primary.write(name, script);
        self.primary
            .command(&["io", "--script", name])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits (bounded) for a `drx io` to end, and asserts it succeeded.
    fn wait_io(&self, mut io: Child) {
        let ended = wait_until(Duration::from_secs(60), EVERY, || {
            io.try_wait().unwrap().is_some()
        });
        if !ended {
            let _ = io.kill();
        }
        let out = io.wait_with_output().unwrap();
        assert!(
            ended && out.status.success(),
            "drx io: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits until the link streams through the proxy.
    fn wait_streaming(&self) {
        assert!(
            wait_until(PATIENCE, Duration::from_millis(20), || self
                .proxy
                .streaming()),
            "the link does not stream through the proxy\n{}",
            self.logs()
        );
    }

    /// Waits until the standby has caught up: the standby journal ends at
    /// the primary's last seq and every replica equals its file.
    fn wait_caught_up(&self) {
        let primary_journal = self.primary.join("journal");
        let standby_journal = self.standby.join("journal");
        let caught_up = wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
            let last = drx_journal::last_seq(&primary_journal).unwrap();
            drx_journal::last_seq(&standby_journal).ok() == Some(last)
                && replicas_identical(&self.primary, &self.standby).is_ok()
        });
        assert!(caught_up, "the standby did not catch up\n{}", self.logs());
    }

    /// Waits until the standby has caught up (every replica equals its
    /// file, the standby journal ends at the primary's last seq), stops
    /// both servers (their last status is written as they stop), and
    /// checks: the same journal entries on both sides, every replica
    /// byte-identical, each entry applied once.
    fn finish(mut self) -> Ended {
        let primary_journal = self.primary.join("journal");
        let standby_journal = self.standby.join("journal");
        self.wait_caught_up();
        stop(self.primary_server.take().unwrap());
        stop(self.standby_server.take().unwrap());

        let last = drx_journal::last_seq(&primary_journal).unwrap();
        assert!(last > 0);
        assert_eq!(
            drx_journal::last_seq(&standby_journal).unwrap(),
            last,
            "the standby journal ends where the primary's does"
        );
        assert_same_entries(&primary_journal, &standby_journal, last);
        if let Err(e) = replicas_identical(&self.primary, &self.standby) {
            panic!("{e}\n{}", self.logs());
        }
        let primary = status(&self.primary, Role::Primary);
        let standby = status(&self.standby, Role::Standby);
        let c = &standby.counters;
        assert_eq!(
            c.entries,
            last,
            "each entry applied once (the standby ran from an empty journal): {c:?}\n{}",
            self.logs()
        );
        assert_eq!(c.refused_entries, 0, "{c:?}");
        assert_eq!(standby.durable_seq, last, "{standby:?}");
        Ended {
            primary,
            standby,
            last,
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for server in [self.primary_server.take(), self.standby_server.take()]
            .into_iter()
            .flatten()
        {
            let mut server = server;
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

/// The status file of the server of `role` in `home`.
fn status(home: &Home, role: Role) -> MirrorStatus {
    drx_mirror::read_status(home.path())
        .unwrap()
        .into_iter()
        .find(|s| s.role == role)
        .unwrap_or_else(|| panic!("no {role} status in {}", home.path().display()))
}

/// The files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every replica under the standby's replica root equals, byte for byte,
/// the primary file it mirrors, and error_codes.data has its replica.
fn replicas_identical(primary: &Home, standby: &Home) -> Result<(), String> {
    let source =
        std::fs::canonicalize(primary.join("error_codes.data")).map_err(|e| e.to_string())?;
    let root = standby.join("replicas");
    let replicas = files_under(&root);
    if !replicas.contains(&replica_of(standby, &source)) {
        return Err(format!("no replica of {}", source.display()));
    }
    for replica in replicas {
        let original = Path::new("/").join(replica.strip_prefix(&root).unwrap());
        let (a, b) = match (std::fs::read(&original), std::fs::read(&replica)) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                return Err(format!(
                    "{}: {:?} / replica {:?}",
                    original.display(),
                    a.err(),
                    b.err()
                ));
            }
        };
        if a != b {
            let first = a.iter().zip(&b).position(|(x, y)| x != y);
            return Err(format!(
                "{} ({} bytes) and its replica ({} bytes) differ, first at byte {:?}",
                original.display(),
                a.len(),
                b.len(),
                first.unwrap_or(a.len().min(b.len()))
            ));
        }
    }
    Ok(())
}

/// The two journals hold the same `last` entries, byte for byte.
fn assert_same_entries(primary: &Path, standby: &Path, last: u64) {
    let mut p = drx_journal::Reader::open(primary, 1).unwrap();
    let mut s = drx_journal::Reader::open(standby, 1).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for seq in 1..=last {
        a.clear();
        b.clear();
        let entry = p.next().unwrap().unwrap();
        drx_journal::encode_entry(&entry, &mut a).unwrap();
        let entry = s
            .next()
            .unwrap()
            .unwrap_or_else(|| panic!("the standby journal ends before seq {seq}"));
        drx_journal::encode_entry(&entry, &mut b).unwrap();
        assert!(a == b, "the entries at seq {seq} differ");
    }
    assert!(s.next().unwrap().is_none(), "the standby journal goes on");
}

/// Waits (bounded) until the status file of `role` satisfies `done`.
fn wait_status(link: &Link, home: &Home, role: Role, done: impl Fn(&MirrorStatus) -> bool) {
    let ok = wait_until(PATIENCE, Duration::from_millis(100), || {
        drx_mirror::read_status(home.path())
            .ok()
            .and_then(|all| all.into_iter().find(|s| s.role == role))
            .is_some_and(|s| done(&s))
    });
    assert!(ok, "the {role} status never got there\n{}", link.logs());
}

/// [`wait_status`] for both servers.
fn wait_both(link: &Link, done: impl Fn(&MirrorStatus) -> bool) {
    wait_status(link, &link.primary, Role::Primary, &done);
    wait_status(link, &link.standby, Role::Standby, &done);
}

#[test]
fn connections_cut_mid_frame_while_the_application_writes_are_resumed() {
    let link = Link::start();
    link.primary.demo("error_codes.table");
    let mut keys = keys_of(&link.primary.file_rows("error_codes.data"));
    // Cuts on the way to the standby (in Entries frames, mostly) and one on
    // the way back (in an Ack or a heartbeat).
    let cuts = [
        (Direction::ToStandby, 1_500),
        (Direction::ToStandby, 7_001),
        (Direction::ToPrimary, 150),
        (Direction::ToStandby, 20_000),
        (Direction::ToStandby, 3_333),
    ];
    for (i, &(direction, after)) in cuts.iter().enumerate() {
        link.wait_streaming();
        link.proxy.cut_after(direction, after);
        let io = link.spawn_io(
            &format!("ops{i}.jsonl"),
            &mixed_script(&mut keys, 500, i as u64 + 1),
        );
        let cut = wait_until(PATIENCE, Duration::from_millis(20), || {
            link.proxy.stats().cuts.len() > i
        });
        assert!(cut, "cut {i} never happened\n{}", link.logs());
        link.wait_io(io);
    }
    let stats = link.proxy.stats();
    assert_eq!(stats.cuts.len(), cuts.len(), "{stats:?}");
    for (record, (direction, _)) in stats.cuts.iter().zip(cuts) {
        assert_eq!(record.direction, direction);
        assert!(record.mid_frame(), "a cut between frames: {record:?}");
    }
    assert!(
        stats
            .cuts
            .iter()
            .any(|c| c.frame == Some(MessageKind::Entries)),
        "no cut fell in an Entries frame: {:?}",
        stats.cuts
    );
    let ended = link.finish();
    let n = cuts.len() as u64;
    assert!(
        ended.primary.counters.connections > n,
        "the primary reconnected after each of the {n} cuts: {:?}",
        ended.primary.counters
    );
    assert!(
        ended.standby.counters.connections > n,
        "{:?}",
        ended.standby.counters
    );
    assert!(ended.primary.counters.entries >= ended.last);
}

#[test]
fn latency_and_a_blackhole_longer_than_the_dead_interval_time_out_and_recover() {
    let link = Link::start();
    link.proxy.set_delay(Duration::from_millis(30));
    link.primary.demo("error_codes.table");
    let mut keys = keys_of(&link.primary.file_rows("error_codes.data"));
    let io = link.spawn_io("ops0.jsonl", &mixed_script(&mut keys, 400, 1));
    link.wait_io(io);
    // The standby idles (it does not count the time it spends applying a
    // backlog as silence): both sides only exchange heartbeats.
    link.wait_caught_up();
    link.wait_streaming();

    // Nothing passes for 2.5 dead intervals, while the application writes.
    let dead = Duration::from_millis(HEARTBEAT_MS) * MISSED_HEARTBEATS;
    link.proxy.set_blackhole(true);
    let io = link.spawn_io("ops1.jsonl", &mixed_script(&mut keys, 400, 2));
    std::thread::sleep(dead * 5 / 2);
    link.proxy.set_blackhole(false);
    link.wait_io(io);
    wait_both(&link, |s| s.counters.timeouts >= 1);
    let stats = link.proxy.stats();
    assert!(stats.blackholed_bytes > 0, "{stats:?}");
    assert!(stats.blackholed_connections >= 1, "{stats:?}");

    // Still slow, the link recovers and goes on.
    link.wait_streaming();
    let io = link.spawn_io("ops2.jsonl", &mixed_script(&mut keys, 300, 3));
    link.wait_io(io);
    // Once the link idles, each side hears the other's heartbeats.
    wait_both(&link, |s| s.counters.heartbeats_received > 0);
    let ended = link.finish();
    for s in [&ended.primary, &ended.standby] {
        assert!(s.counters.timeouts >= 1, "{:?}", s.counters);
        assert!(s.counters.connections >= 2, "{:?}", s.counters);
        assert!(s.counters.heartbeats_received > 0, "{:?}", s.counters);
    }
}

#[test]
fn damaged_entries_frames_are_rejected_and_sent_again() {
    // No fault here is silence: a long dead interval keeps the one
    // connection up even on a loaded machine.
    let link = Link::start_with(20);
    link.primary.demo("error_codes.table");
    let mut keys = keys_of(&link.primary.file_rows("error_codes.data"));
    link.wait_streaming();

    // One damaged frame, then two in a row (the second is likely the one
    // sent again), each in the entries of the payload.
    let mut damaged = 0;
    for (round, (frames, offset)) in [(1, 40), (2, 1_000)].into_iter().enumerate() {
        link.proxy.corrupt_entries(frames, offset);
        damaged += u64::from(frames);
        let io = link.spawn_io(
            &format!("ops{round}.jsonl"),
            &mixed_script(&mut keys, 400, round as u64 + 1),
        );
        let done = wait_until(PATIENCE, Duration::from_millis(20), || {
            link.proxy.stats().corrupted.len() as u64 >= damaged
        });
        assert!(done, "round {round}: frames not damaged\n{}", link.logs());
        link.wait_io(io);
    }
    let stats = link.proxy.stats();
    assert_eq!(stats.corrupted.len() as u64, damaged, "{stats:?}");
    for c in &stats.corrupted {
        assert!(
            c.first_seq >= 1 && c.payload_offset >= 12 && c.payload_offset < c.payload_len,
            "{c:?}"
        );
    }
    let ended = link.finish();
    let s = &ended.standby.counters;
    let p = &ended.primary.counters;
    assert!(
        s.corrupt_frames >= 1,
        "the standby saw damaged frames: {s:?}"
    );
    assert_eq!(s.resends, s.corrupt_frames, "a Resend for each: {s:?}");
    assert!(p.resends >= 1, "the primary sent again: {p:?}");
    assert_eq!(p.corrupt_frames, 0, "{p:?}");
    if stats.connections == 1 {
        // Every damaged frame reached the standby on the one connection:
        // each was seen, asked for again and re-sent, none made it close.
        assert_eq!(s.corrupt_frames, damaged, "{s:?}");
        assert_eq!(p.resends, damaged, "{p:?}");
        assert_eq!((s.connections, p.connections), (1, 1));
    }
}
