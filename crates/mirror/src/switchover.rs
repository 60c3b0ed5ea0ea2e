//! `drx switchover` (docs/DR.md): a primary hands its role to its standby
//! with no change lost — the seeds' "reverse the stream, then switch
//! back".
//!
//! `drx switchover` leaves a request in the journal directory
//! (`switchover/request`) for the running primary server, which:
//!
//! 1. makes its journal's role `handing-over`: the applications' writes
//!    are refused from then on (a running writer notices within 100 ms);
//! 2. waits for the journal to stop growing, and starts its replica state
//!    over at the last seq (this node is about to be a standby whose files
//!    are its own up to there);
//! 3. once the standby has acknowledged that seq, sends it `Handover`: the
//!    standby promotes itself (a new epoch, from the next seq);
//! 4. when the standby has closed the connection, makes its role
//!    `standby` — its standby server, which fenced while it was the
//!    primary, then serves as a standby — answers the request
//!    (`switchover/result`), and stops.
//!
//! If the standby does not catch up within the request's time, the role
//! goes back to `primary` and the answer says so: nothing changed.

use crate::error::LinkError;
use crate::replica::{Replica, ReplicaConfig};
use drx_config::Config;
use drx_journal::NodeRole;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a switchover did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Switched {
    /// The standby that is now the primary.
    pub new_primary: String,
    /// The last seq of this node as a primary; the new primary's entries
    /// start after it.
    pub last_seq: u64,
    /// How long it took, in milliseconds (writes refused meanwhile).
    pub took_ms: u128,
}

impl std::fmt::Display for Switched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "switched over: {} is the primary from seq {} on, with every entry up to seq {}; this node is its standby (writes were refused for {} ms). Start {}'s primary server.",
            self.new_primary,
            self.last_seq + 1,
            self.last_seq,
            self.took_ms,
            self.new_primary
        )
    }
}

/// The primary server's part of a switchover, shared between its request
/// watcher and its sessions.
#[derive(Debug, Default)]
pub struct Handover {
    /// The seq to hand over at, once the standby has acknowledged it (0:
    /// no switchover).
    wanted: AtomicU64,
    /// `Handover` was sent: the server stops once the connection ends.
    sent: AtomicBool,
    /// The standby that took it.
    to: Mutex<Option<String>>,
    /// When the request was taken.
    started: Mutex<Option<Instant>>,
    /// This node's replica, started over at the handed-over seq.
    replica: Option<ReplicaConfig>,
}

impl Handover {
    /// For a primary whose node has this replica configuration (its
    /// standby side).
    pub fn new(replica: Option<ReplicaConfig>) -> Handover {
        Handover {
            replica,
            ..Handover::default()
        }
    }

    /// The seq to hand over at, if a switchover is under way and
    /// `Handover` not yet sent.
    pub(crate) fn due(&self, acked: u64) -> Option<u64> {
        let wanted = self.wanted.load(Ordering::Acquire);
        (wanted != 0 && acked >= wanted && !self.sent.load(Ordering::Acquire)).then_some(wanted)
    }

    pub(crate) fn mark_sent(&self, to: &str) {
        if let Ok(mut slot) = self.to.lock() {
            *slot = Some(to.to_owned());
        }
        self.sent.store(true, Ordering::Release);
    }

    pub(crate) fn was_sent(&self) -> bool {
        self.sent.load(Ordering::Acquire)
    }
}

fn request_path(journal: &Path) -> PathBuf {
    journal.join("switchover").join("request")
}

fn result_path(journal: &Path) -> PathBuf {
    journal.join("switchover").join("result")
}

/// The primary server's watcher: takes a request, stops the writes, and
/// sets the seq to hand over at. Runs until the server ends.
pub(crate) async fn watch(journal: PathBuf, handover: std::sync::Arc<Handover>) {
    let request = request_path(&journal);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        if handover.wanted.load(Ordering::Acquire) != 0 || !request.exists() {
            continue;
        }
        let timeout = fs::read_to_string(&request)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .map_or(Duration::from_secs(60), Duration::from_millis);
        let _ = fs::remove_file(&request);
        let dir = journal.clone();
        let replica = handover.replica.clone();
        let drained = tokio::task::spawn_blocking(move || drain(&dir, replica.as_ref())).await;
        let last = match drained {
            Ok(Ok(last)) => last,
            Ok(Err(e)) => {
                answer(&journal, &Err(e.to_string()));
                continue;
            }
            Err(e) => {
                answer(&journal, &Err(e.to_string()));
                continue;
            }
        };
        tracing::warn!(
            last,
            "switchover: writes stopped; handing over once the standby has seq {last}"
        );
        if let Ok(mut started) = handover.started.lock() {
            *started = Some(Instant::now());
        }
        handover.wanted.store(last, Ordering::Release);
        // Give up, and take the writes back, if it does not happen in time.
        let deadline = Instant::now() + timeout;
        while !handover.was_sent() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !handover.was_sent() {
            handover.wanted.store(0, Ordering::Release);
            let dir = journal.clone();
            let _ = tokio::task::spawn_blocking(move || {
                drx_journal::set_node_role(&dir, &NodeRole::Primary)
            })
            .await;
            answer(
                &journal,
                &Err(format!(
                    "the standby did not acknowledge seq {last} within {timeout:?}: switchover cancelled, this node is the primary again and takes writes"
                )),
            );
        }
    }
}

/// Steps 1 and 2: writes stopped, the last seq, the replica state there.
fn drain(journal: &Path, replica: Option<&ReplicaConfig>) -> Result<u64, LinkError> {
    drx_journal::set_node_role(journal, &NodeRole::HandingOver)?;
    // A running writer reads the role again within 100 ms and flushes
    // within its group delay: wait until the journal stops growing.
    let mut last = drx_journal::last_seq(journal)?;
    let mut stable_since = Instant::now();
    let give_up = Instant::now() + Duration::from_secs(10);
    while stable_since.elapsed() < Duration::from_millis(300) && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(50));
        let now = drx_journal::last_seq(journal)?;
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    if let Some(replica) = replica {
        Replica::start_over_at(replica, last)?;
    }
    Ok(last)
}

/// Step 4, once the connection that carried `Handover` has ended.
pub(crate) fn finish(journal: &Path, handover: &Handover) {
    let last = handover.wanted.load(Ordering::Acquire);
    let outcome = drx_journal::set_node_role(journal, &NodeRole::Standby)
        .map_err(|e| e.to_string())
        .map(|()| Switched {
            new_primary: handover
                .to
                .lock()
                .ok()
                .and_then(|t| t.clone())
                .unwrap_or_default(),
            last_seq: last,
            took_ms: handover
                .started
                .lock()
                .ok()
                .and_then(|s| *s)
                .map_or(0, |s| s.elapsed().as_millis()),
        });
    if let Ok(s) = &outcome {
        tracing::warn!("{s}");
    }
    answer(journal, &outcome);
}

fn answer(journal: &Path, outcome: &Result<Switched, String>) {
    let path = result_path(journal);
    let tmp = path.with_extension("tmp");
    let written = serde_json::to_string(outcome)
        .map_err(io::Error::other)
        .and_then(|text| fs::write(&tmp, text))
        .and_then(|()| fs::rename(&tmp, &path));
    if let Err(e) = written {
        tracing::error!(error = %e, path = %path.display(), "cannot answer the switchover request");
    }
}

/// `drx switchover`: asks this node's running primary server to hand the
/// primary role to its standby, and waits at most `wait` for the answer.
pub fn switchover(config: &Config, wait: Duration) -> Result<Switched, LinkError> {
    let journal = &config.journal.dir;
    match drx_journal::node_role(journal)? {
        Some(NodeRole::Primary) | None => {}
        Some(role) => {
            return Err(LinkError::Config(format!(
                "only a primary can switch over; this node is {role}"
            )));
        }
    }
    let request = request_path(journal);
    let result = result_path(journal);
    let io_err = |what: &str, p: &Path| LinkError::io(format!("{what} {}", p.display()));
    if let Some(parent) = request.parent() {
        fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
    }
    match fs::remove_file(&result) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("removing", &result)(e)),
    }
    fs::write(&request, format!("{}\n", wait.as_millis())).map_err(io_err("writing", &request))?;
    let deadline = Instant::now() + wait + Duration::from_secs(15);
    loop {
        match fs::read_to_string(&result) {
            Ok(text) => {
                let _ = fs::remove_file(&result);
                let answer: Result<Switched, String> = serde_json::from_str(&text)
                    .map_err(|e| LinkError::Stopped(format!("the answer does not parse: {e}")))?;
                return answer.map_err(LinkError::Stopped);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("reading", &result)(e)),
        }
        if Instant::now() >= deadline {
            let _ = fs::remove_file(&request);
            return Err(LinkError::Timeout(
                "no answer from the primary server: is it running (drx mirror primary)?".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
