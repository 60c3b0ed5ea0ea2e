//! What `drx status` shows of the mirroring link: a [`MirrorStatus`] that
//! the primary and standby servers keep up to date on a shared
//! [`StatusBoard`], and the acknowledged seq ([`AckedSeq`]) a sync-mode
//! commit waits for.

use crate::protocol::Role;
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
    /// Standby: the last seq applied durably (journal and replicas).
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
}

impl StatusBoard {
    /// A board for a server of `role` named `node_id`.
    pub fn new(role: Role, node_id: impl Into<String>) -> StatusBoard {
        let (status, _) = watch::channel(MirrorStatus::new(role, node_id));
        StatusBoard {
            status: Arc::new(status),
            acked: AckedSeq::new(),
        }
    }

    /// The status now.
    pub fn snapshot(&self) -> MirrorStatus {
        self.status.borrow().clone()
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
