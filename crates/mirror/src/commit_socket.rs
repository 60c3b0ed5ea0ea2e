//! The commit socket: where a sync-mode application (its capture library)
//! waits until the standby has acknowledged its entries. The primary
//! server listens on a Unix socket in the journal directory
//! ([`drx_config::commit_socket`]); the wire format is in
//! docs/PROTOCOL.md, "The commit socket":
//!
//! ```text
//! application ── seq u64 LE, wait_ms u32 LE ──▶ primary server
//! application ◀── acked seq u64 LE ─────────── (when acked ≥ seq, or wait_ms passed)
//! ```
//!
//! Each request also wakes the journal feed, so that the entry is sent at
//! once rather than at the feed's next poll.

use crate::error::LinkError;
use crate::status::StatusBoard;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// A request: the seq to wait for and the longest wait.
const REQUEST_LEN: usize = 12;

/// The commit socket of a running primary server; the socket file is
/// removed on drop.
#[derive(Debug)]
pub(crate) struct CommitSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl CommitSocket {
    /// Listens at `path`. A socket file left by a server that died is
    /// replaced; one a live server answers on is an error (one primary per
    /// journal).
    pub(crate) async fn bind(path: &Path) -> Result<CommitSocket, LinkError> {
        let io = |source| LinkError::Io {
            context: format!("the commit socket {}", path.display()),
            source,
        };
        if std::fs::symlink_metadata(path).is_ok() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(LinkError::Config(format!(
                    "another primary server serves this journal ({} answers)",
                    path.display()
                )));
            }
            std::fs::remove_file(path).map_err(io)?;
        }
        let listener = UnixListener::bind(path).map_err(io)?;
        Ok(CommitSocket {
            listener,
            path: path.to_owned(),
        })
    }

    /// Serves applications until the future is dropped: each connection
    /// on its own task.
    pub(crate) async fn serve(&self, board: StatusBoard) {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_application(stream, board.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "commit socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

impl Drop for CommitSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Answers one application's requests until it hangs up.
async fn serve_application(mut stream: UnixStream, board: StatusBoard) {
    let mut request = [0u8; REQUEST_LEN];
    loop {
        if stream.read_exact(&mut request).await.is_err() {
            return;
        }
        let (seq, wait_ms) = request.split_at(8);
        let seq = u64::from_le_bytes(seq.try_into().unwrap_or_default());
        let wait_ms = u32::from_le_bytes(wait_ms.try_into().unwrap_or_default());
        let acked = board.acked();
        if acked.get() < seq {
            board.journal_wake().notify();
        }
        if wait_ms > 0 {
            let ok = acked
                .wait(seq, Duration::from_millis(u64::from(wait_ms)))
                .await;
            board.update(|s| {
                s.counters.sync_waits += 1;
                s.counters.sync_timeouts += u64::from(!ok);
            });
            if !ok {
                tracing::error!(
                    seq,
                    wait_ms,
                    acked = acked.get(),
                    "ALERT: a sync-mode commit was not acknowledged by the standby in time; \
                     the application goes on in async mode until the standby catches up"
                );
            }
        }
        if stream.write_all(&acked.get().to_le_bytes()).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_live_socket_refuses_a_second_server_and_a_stale_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror.sock");
        let board = StatusBoard::new(crate::protocol::Role::Primary, "p");
        let first = CommitSocket::bind(&path).await.unwrap();
        let e = CommitSocket::bind(&path).await.unwrap_err().to_string();
        assert!(e.contains("another primary server"), "{e}");

        // An application asks; the answer comes once the seq is acked.
        let serving = tokio::spawn({
            let board = board.clone();
            async move { first.serve(board).await }
        });
        let mut app = UnixStream::connect(&path).await.unwrap();
        let mut request = [0u8; REQUEST_LEN];
        request[..8].copy_from_slice(&7u64.to_le_bytes());
        request[8..].copy_from_slice(&10_000u32.to_le_bytes());
        app.write_all(&request).await.unwrap();
        board.acked().advance(7);
        let mut answer = [0u8; 8];
        app.read_exact(&mut answer).await.unwrap();
        assert_eq!(u64::from_le_bytes(answer), 7);
        // A wait that times out answers the lower acked seq, and counts.
        request[..8].copy_from_slice(&9u64.to_le_bytes());
        request[8..].copy_from_slice(&20u32.to_le_bytes());
        app.write_all(&request).await.unwrap();
        app.read_exact(&mut answer).await.unwrap();
        assert_eq!(u64::from_le_bytes(answer), 7);
        assert_eq!(board.snapshot_counters().sync_timeouts, 1);
        assert_eq!(board.snapshot_counters().sync_waits, 2);

        // A server that stops removes its socket file.
        serving.abort();
        let _ = serving.await;
        drop(app);
        assert!(!path.exists());
        // One that died left it behind, nobody answering: replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        CommitSocket::bind(&path).await.unwrap();
    }
}
