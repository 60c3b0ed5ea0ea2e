//! Sync commit mode (`[mirror] commit = "sync"`): a capture call returns
//! only once the standby has acknowledged its entry as durably applied, so
//! that no committed change is lost if the primary dies.
//!
//! The journal writer calls [`SyncCommit`] after each committed unit of
//! work; it asks the primary server, over its commit socket
//! ([`drx_config::commit_socket`], docs/PROTOCOL.md), to answer when the
//! standby has acknowledged that seq. If no answer comes within
//! `sync_timeout_ms` — the standby is away, the link is slow, no primary
//! server runs — the session degrades to async and raises an alert (an
//! error in the log) rather than stall the application; it looks again at
//! most once a second, without waiting, and goes back to sync once the
//! standby has caught up.

use drx_journal::CommitWaiter;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a degraded session looks whether the standby caught up.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Slack on top of the wait for the server's answer to arrive.
const ANSWER_SLACK: Duration = Duration::from_millis(500);

/// How sync commits went in a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Commits acknowledged by the standby before returning.
    pub acknowledged: u64,
    /// Times the session degraded to async (each one an alert).
    pub degraded: u64,
    /// Commits made while degraded (not waited for).
    pub unwaited: u64,
    /// Whether the session is in async mode now.
    pub is_degraded: bool,
}

/// The sync-mode [`CommitWaiter`] of a capture session.
#[derive(Debug)]
pub(crate) struct SyncCommit {
    socket: PathBuf,
    timeout: Duration,
    stream: Option<UnixStream>,
    /// When the session degraded, the last look at the standby.
    degraded: Option<Instant>,
    /// Shared with the [`Capture`](crate::Capture) for
    /// [`sync_stats`](crate::Capture::sync_stats).
    stats: Arc<Mutex<SyncStats>>,
}

impl SyncCommit {
    pub(crate) fn new(
        socket: PathBuf,
        timeout: Duration,
        stats: Arc<Mutex<SyncStats>>,
    ) -> SyncCommit {
        SyncCommit {
            socket,
            timeout: timeout.max(Duration::from_millis(1)),
            stream: None,
            degraded: None,
            stats,
        }
    }

    fn count(&self, change: impl FnOnce(&mut SyncStats)) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut stats);
        stats.is_degraded = self.degraded.is_some();
    }

    /// Asks the primary server for the acked seq, waiting at most `wait`
    /// for it to reach `seq`.
    fn ask(&mut self, seq: u64, wait: Duration) -> std::io::Result<u64> {
        if self.stream.is_none() {
            self.stream = Some(UnixStream::connect(&self.socket)?);
        }
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no connection"))?;
        let wait_ms = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
        let mut request = [0u8; 12];
        request[..8].copy_from_slice(&seq.to_le_bytes());
        request[8..].copy_from_slice(&wait_ms.to_le_bytes());
        stream.set_read_timeout(Some(wait + ANSWER_SLACK))?;
        let result = stream.write_all(&request).and_then(|()| {
            let mut answer = [0u8; 8];
            stream.read_exact(&mut answer)?;
            Ok(u64::from_le_bytes(answer))
        });
        if result.is_err() {
            // A half-read answer would shift every later one.
            self.stream = None;
        }
        result
    }

    fn degrade(&mut self, seq: u64, why: &str) {
        self.degraded = Some(Instant::now());
        self.count(|s| s.degraded += 1);
        tracing::error!(
            seq,
            timeout_ms = self.timeout.as_millis() as u64,
            socket = %self.socket.display(),
            "ALERT: sync commit degraded to async: {why}"
        );
    }
}

impl CommitWaiter for SyncCommit {
    fn committed(&mut self, seq: u64) {
        if let Some(since) = self.degraded {
            if since.elapsed() >= PROBE_EVERY {
                self.degraded = Some(Instant::now());
                if matches!(self.ask(seq, Duration::ZERO), Ok(acked) if acked >= seq) {
                    self.degraded = None;
                    tracing::warn!(seq, "the standby caught up: sync commit restored");
                }
            }
            self.count(|s| s.unwaited += 1);
            return;
        }
        match self.ask(seq, self.timeout) {
            Ok(acked) if acked >= seq => self.count(|s| s.acknowledged += 1),
            Ok(acked) => self.degrade(
                seq,
                &format!(
                    "the standby has acknowledged up to seq {acked} only after {} ms",
                    self.timeout.as_millis()
                ),
            ),
            Err(e) => self.degrade(seq, &format!("no answer from the primary server ({e})")),
        }
    }
}
