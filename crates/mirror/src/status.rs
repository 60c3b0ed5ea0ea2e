//! What `drx status` shows of the mirroring link: a [`MirrorStatus`] that
//! the primary and standby servers keep up to date on a shared
//! [`StatusBoard`], and the acknowledged seq ([`AckedSeq`]) a sync-mode
//! commit waits for.

use crate::protocol::Role;
use drx_journal::{Effect, EntryRef, RecordOp};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// The server has not started, or waits for a primary (standby).
    Idle,
    /// The primary is connecting, or waits to reconnect.
    Connecting,
    /// A connection is in its handshake.
    Handshaking,
    /// Entries flow.
    Streaming,
    /// The server stopped.
    Stopped,
}

/// Counters since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkCounters {
    /// Connections whose handshake completed.
    pub connections: u64,
    /// Handshakes refused, by either side.
    pub refused: u64,
    /// `Entries` frames sent (primary) or taken (standby).
    pub batches: u64,
    /// Entries sent (primary; again after a resend) or applied (standby:
    /// each entry once, however often it was received).
    pub entries: u64,
    /// Bytes of `Entries` frames sent (primary) or taken (standby).
    pub bytes: u64,
    /// Standby: entries received again (after a resend or a reconnect) and
    /// skipped because they were already applied.
    pub skipped: u64,
    /// `Resend`s sent (standby) or honoured (primary).
    pub resends: u64,
    /// Frames received with a damaged payload.
    pub corrupt_frames: u64,
    /// Standby: entries the replica refused (a path escaping the replica
    /// roots, a rename of a file it does not have); each is logged.
    pub refused_entries: u64,
    /// Heartbeats received.
    pub heartbeats_received: u64,
    /// Connections closed because the peer was silent too long.
    pub timeouts: u64,
    /// Primary: sync-mode commits waited for through the commit socket.
    #[serde(default)]
    pub sync_waits: u64,
    /// Primary: sync-mode commits whose wait timed out (the application
    /// went on in async mode; each is an alert in the log).
    #[serde(default)]
    pub sync_timeouts: u64,
    /// Replicas compared with a `Checksum` entry (`drx verify`,
    /// `check_file_at_open`/`_at_close`/`_interval`): by the standby, or
    /// results received by the primary.
    #[serde(default)]
    pub verified: u64,
    /// Of those, the replicas that were not identical.
    #[serde(default)]
    pub verify_mismatches: u64,
}

/// The operations received for one file (those of transactions that
/// later aborted included), for `drx status` and the statistics logged at
/// shutdown (`log_statistics_on_close`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileCounters {
    /// The file created (or replaced by an empty one).
    pub creates: u64,
    /// Records inserted.
    pub inserts: u64,
    /// Records updated.
    pub updates: u64,
    /// Records deleted.
    pub deletes: u64,
    /// Byte writes with no record meaning (a copy's chunks, raw writes).
    pub writes: u64,
    /// Truncations.
    pub truncates: u64,
    /// Renames of the file.
    pub renames: u64,
    /// Deletions of the file.
    pub file_deletes: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl FileCounters {
    /// Counts `entry`'s operation; false if it is not a file operation (a
    /// transaction marker, a check).
    pub fn count(&mut self, entry: &EntryRef<'_>) -> bool {
        match entry.effect {
            Effect::Create { .. } => self.creates += 1,
            Effect::Write { data, .. } => {
                self.bytes += data.len() as u64;
                match entry.record.map(|r| r.op) {
                    Some(RecordOp::Insert) => self.inserts += 1,
                    Some(RecordOp::Update) => self.updates += 1,
                    Some(RecordOp::Delete) => self.deletes += 1,
                    None => self.writes += 1,
                }
            }
            Effect::Truncate { .. } => self.truncates += 1,
            Effect::Rename { .. } => self.renames += 1,
            Effect::DeleteFile => self.file_deletes += 1,
            _ => return false,
        }
        true
    }

    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &FileCounters) {
        self.creates += other.creates;
        self.inserts += other.inserts;
        self.updates += other.updates;
        self.deletes += other.deletes;
        self.writes += other.writes;
        self.truncates += other.truncates;
        self.renames += other.renames;
        self.file_deletes += other.file_deletes;
        self.bytes += other.bytes;
    }
}

impl std::fmt::Display for FileCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} inserts, {} updates, {} deletes, {} writes, {} creates, {} truncates, {} renames, {} file deletes, {} bytes",
            self.inserts,
            self.updates,
            self.deletes,
            self.writes,
            self.creates,
            self.truncates,
            self.renames,
            self.file_deletes,
            self.bytes
        )
    }
}

/// The state of one side of the mirroring link, for `drx status`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MirrorStatus {
    /// This node's role.
    pub role: Role,
    /// This node's id.
    pub node_id: String,
    /// Where the link stands.
    pub state: LinkState,
    /// The peer's node id (from its `Hello`), while connected.
    pub peer_node_id: Option<String>,
    /// The peer's address, while connected.
    pub peer_addr: Option<SocketAddr>,
    /// When the current connection's handshake completed.
    pub connected_since: Option<SystemTime>,
    /// This node's epoch.
    pub epoch: u64,
    /// The primary's last journal seq: as far as the primary has read its
    /// journal (primary), or as last reported by the primary (standby).
    pub journal_seq: u64,
    /// Primary: the last seq sent.
    pub last_sent_seq: u64,
    /// The last seq acknowledged: received from the standby (primary) or
    /// sent to the primary (standby).
    pub last_acked_seq: u64,
    /// Standby: the last seq applied (perhaps not durable yet).
    pub last_applied_seq: u64,
    /// Standby: the last seq durable in the standby journal and applied to
    /// the replicas (which are fsynced at least every second, and brought
    /// up to it from the journal after a crash).
    pub durable_seq: u64,
    /// Entries not yet acknowledged: `journal_seq - last_acked_seq`.
    pub lag_entries: u64,
    /// Primary: bytes sent and not yet acknowledged.
    pub lag_bytes: u64,
    /// Primary: how long the oldest unacknowledged batch has waited for
    /// its `Ack`. Standby: the age of the last applied entry by the
    /// primary's clock (the clocks are not assumed synchronised).
    pub lag_ms: Option<u64>,
    /// Batches waiting: read from the journal and not yet sent (primary),
    /// received and not yet applied (standby).
    pub queue_depth: usize,
    /// Counters since the server started.
    pub counters: LinkCounters,
    /// Entries per second over the last status period (about a second):
    /// sent (primary) or applied (standby).
    #[serde(default)]
    pub entries_per_sec: u64,
    /// Bytes of `Entries` frames per second over the last status period.
    #[serde(default)]
    pub bytes_per_sec: u64,
    /// Standby: per replicated file (the primary's path), the operations
    /// received since the server started.
    #[serde(default)]
    pub files: BTreeMap<String, FileCounters>,
    /// The last error, if the link is not streaming because of it.
    pub last_error: Option<String>,
}

impl MirrorStatus {
    /// The status of a server that has not started.
    pub fn new(role: Role, node_id: impl Into<String>) -> MirrorStatus {
        MirrorStatus {
            role,
            node_id: node_id.into(),
            state: LinkState::Idle,
            peer_node_id: None,
            peer_addr: None,
            connected_since: None,
            epoch: 0,
            journal_seq: 0,
            last_sent_seq: 0,
            last_acked_seq: 0,
            last_applied_seq: 0,
            durable_seq: 0,
            lag_entries: 0,
            lag_bytes: 0,
            lag_ms: None,
            queue_depth: 0,
            counters: LinkCounters::default(),
            entries_per_sec: 0,
            bytes_per_sec: 0,
            files: BTreeMap::new(),
            last_error: None,
        }
    }

    /// Marks the connection ended: no peer, not streaming.
    pub(crate) fn disconnected(&mut self, state: LinkState, error: Option<String>) {
        self.state = state;
        self.peer_node_id = None;
        self.peer_addr = None;
        self.connected_since = None;
        self.queue_depth = 0;
        self.lag_ms = None;
        if error.is_some() {
            self.last_error = error;
        }
    }
}

/// The shared, always current [`MirrorStatus`] of a server: cheap to
/// clone; the server updates it, anyone reads it ([`StatusBoard::snapshot`])
/// or waits for changes ([`StatusBoard::subscribe`]).
#[derive(Debug, Clone)]
pub struct StatusBoard {
    /// The server updates it (`send_modify`), readers `borrow` or
    /// subscribe.
    status: Arc<watch::Sender<MirrorStatus>>,
    acked: AckedSeq,
    wake: JournalWake,
}

impl StatusBoard {
    /// A board for a server of `role` named `node_id`.
    pub fn new(role: Role, node_id: impl Into<String>) -> StatusBoard {
        let (status, _) = watch::channel(MirrorStatus::new(role, node_id));
        StatusBoard {
            status: Arc::new(status),
            acked: AckedSeq::new(),
            wake: JournalWake::default(),
        }
    }

    /// The status now.
    pub fn snapshot(&self) -> MirrorStatus {
        self.status.borrow().clone()
    }

    /// A file's operation counters as last published (standby).
    pub fn file_counters(&self, file: &str) -> Option<FileCounters> {
        self.status.borrow().files.get(file).copied()
    }

    /// The counters now (without copying the whole status).
    pub fn snapshot_counters(&self) -> LinkCounters {
        self.status.borrow().counters
    }

    /// A receiver notified at every change.
    pub fn subscribe(&self) -> watch::Receiver<MirrorStatus> {
        self.status.subscribe()
    }

    /// Primary: the highest seq the standby has acknowledged as durably
    /// applied, for sync-mode commits.
    pub fn acked(&self) -> &AckedSeq {
        &self.acked
    }

    /// Primary: wakes the journal feed when the journal has grown (a
    /// sync-mode commit waits), so that it does not wait for its next poll.
    pub fn journal_wake(&self) -> &JournalWake {
        &self.wake
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut MirrorStatus)) {
        self.status.send_modify(change);
    }
}

/// The highest seq the standby acknowledged, never decreasing: what a
/// sync-mode commit waits for ("acked ≥ my seq"), from async code
/// ([`AckedSeq::wait`]) or from a blocking capture call
/// ([`AckedSeq::wait_blocking`]).
#[derive(Debug, Clone)]
pub struct AckedSeq {
    inner: Arc<AckedInner>,
}

#[derive(Debug)]
struct AckedInner {
    /// The seq, for blocking waiters (with `changed`).
    seq: Mutex<u64>,
    changed: Condvar,
    /// The same seq, for async waiters. Sent on by the primary's session
    /// only ([`AckedSeq::advance`]).
    watch: watch::Sender<u64>,
}

impl AckedSeq {
    fn new() -> AckedSeq {
        let (watch, _) = watch::channel(0);
        AckedSeq {
            inner: Arc::new(AckedInner {
                seq: Mutex::new(0),
                changed: Condvar::new(),
                watch,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, u64> {
        self.inner.seq.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The highest seq acknowledged so far (0: none).
    pub fn get(&self) -> u64 {
        *self.lock()
    }

    /// A receiver of every advance.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.watch.subscribe()
    }

    /// Waits until `seq` is acknowledged, at most `timeout`: whether it is.
    pub async fn wait(&self, seq: u64, timeout: Duration) -> bool {
        let mut rx = self.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|acked| *acked >= seq))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Blocks the calling thread until `seq` is acknowledged, at most
    /// `timeout`: whether it is. Not for async code.
    pub fn wait_blocking(&self, seq: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut acked = self.lock();
        while *acked < seq {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            acked = self
                .inner
                .changed
                .wait_timeout(acked, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        true
    }

    /// Raises the acknowledged seq to `seq` (never lowers it).
    pub(crate) fn advance(&self, seq: u64) {
        let mut acked = self.lock();
        if seq > *acked {
            *acked = seq;
            drop(acked);
            self.inner.changed.notify_all();
            self.inner.watch.send_if_modified(|s| {
                let raise = seq > *s;
                if raise {
                    *s = seq;
                }
                raise
            });
        }
    }
}

/// Wakes the primary's journal feed early: a sync-mode commit has just
/// appended an entry the standby must acknowledge. The feed otherwise
/// looks at an idle journal every few milliseconds.
#[derive(Debug, Clone, Default)]
pub struct JournalWake {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl JournalWake {
    /// Tells the feed to look at the journal now.
    pub fn notify(&self) {
        let (woken, changed) = &*self.inner;
        *woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        changed.notify_all();
    }

    /// Waits until [`notify`](JournalWake::notify) or `timeout`, whichever
    /// comes first (the feed's poll).
    pub(crate) fn wait(&self, timeout: Duration) {
        let (woken, changed) = &*self.inner;
        let mut guard = woken.lock().unwrap_or_else(|e| e.into_inner());
        if !*guard {
            guard = changed
                .wait_timeout(guard, timeout)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *guard = false;
    }
}

impl std::fmt::Display for MirrorStatus {
    /// The status as `drx status` prints it: a headline, then indented
    /// lines of positions, lag, throughput, counters and files.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = match self.role {
            Role::Primary => "primary",
            Role::Standby => "standby",
            Role::Transfer => "transfer",
        };
        let state = match self.state {
            LinkState::Idle => "idle",
            LinkState::Connecting => "connecting",
            LinkState::Handshaking => "handshaking",
            LinkState::Streaming => "streaming",
            LinkState::Stopped => "stopped",
        };
        write!(f, "{role} {}: {state}", self.node_id)?;
        if let Some(peer) = &self.peer_node_id {
            write!(f, ", peer {peer}")?;
            if let Some(addr) = self.peer_addr {
                write!(f, " ({addr})")?;
            }
        }
        if let Some(since) = self.connected_since {
            let secs = SystemTime::now()
                .duration_since(since)
                .unwrap_or_default()
                .as_secs();
            write!(f, ", connected for {secs} s")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  epoch {}, journal seq {}, sent {}, acknowledged {}, applied {}, durable {}",
            self.epoch,
            self.journal_seq,
            self.last_sent_seq,
            self.last_acked_seq,
            self.last_applied_seq,
            self.durable_seq
        )?;
        write!(
            f,
            "  lag {} entries / {} bytes",
            self.lag_entries, self.lag_bytes
        )?;
        if let Some(ms) = self.lag_ms {
            write!(f, " / {ms} ms")?;
        }
        writeln!(
            f,
            ", queue {} batches, {} entries/s, {} bytes/s",
            self.queue_depth, self.entries_per_sec, self.bytes_per_sec
        )?;
        let c = &self.counters;
        writeln!(
            f,
            "  connections {}, refused {}, batches {}, entries {}, bytes {}, skipped {}, resends {}, corrupt frames {}, refused entries {}, timeouts {}, sync waits {} ({} timed out)",
            c.connections,
            c.refused,
            c.batches,
            c.entries,
            c.bytes,
            c.skipped,
            c.resends,
            c.corrupt_frames,
            c.refused_entries,
            c.timeouts,
            c.sync_waits,
            c.sync_timeouts
        )?;
        if c.verified > 0 {
            writeln!(
                f,
                "  files verified {}, of which differing {}",
                c.verified, c.verify_mismatches
            )?;
        }
        for (file, counters) in &self.files {
            writeln!(f, "  {file}: {counters}")?;
        }
        if let Some(e) = &self.last_error {
            writeln!(f, "  last error: {e}")?;
        }
        Ok(())
    }
}
