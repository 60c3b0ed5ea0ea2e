//! The errors of the mirroring link: a connection that failed or was
//! refused, or a server that had to stop.

use crate::protocol::{AuthError, DecodeError, EncodeError, Reason};
use crate::replica::ReplicaError;
use drx_journal::JournalError;

/// Why a connection of the mirroring link ended, or why a server stopped.
///
/// [`LinkError::is_terminal`] tells which ones the primary does not retry.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A socket operation failed (connect, accept, read, write).
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the peer's address when known.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The peer closed the connection without a `Goodbye`.
    #[error("the peer closed the connection")]
    Closed,
    /// Bytes from the peer are not a valid frame or message.
    #[error("from the peer: {0}")]
    Decode(#[from] DecodeError),
    /// A message could not be encoded (a bug, or a node id out of range).
    #[error("cannot encode a message: {0}")]
    Encode(#[from] EncodeError),
    /// Authentication failed on this side (the peer's proof does not
    /// verify, or no nonce could be drawn).
    #[error("authentication: {0}")]
    Auth(#[from] AuthError),
    /// A standby proved that it was promoted at a newer epoch: this node,
    /// a primary, fenced itself off (its journal's role is now fenced).
    #[error(
        "this node was fenced off: {by} was promoted to primary at epoch {epoch} (this node's epoch is {ours}); it takes no more writes, and `drx rejoin` makes it {by}'s standby"
    )]
    Fenced {
        /// The newer epoch.
        epoch: u64,
        /// This node's epoch.
        ours: u64,
        /// The promoted node.
        by: String,
    },
    /// The peer refused the handshake.
    #[error("the peer refused the connection: {reason}{}", text_suffix(text))]
    Refused {
        /// Why.
        reason: Reason,
        /// The peer's explanation.
        text: String,
    },
    /// The peer ended the connection with a `Goodbye` other than an
    /// orderly shutdown.
    #[error("the peer ended the connection: {reason}{}", text_suffix(text))]
    Goodbye {
        /// Why.
        reason: Reason,
        /// The peer's explanation.
        text: String,
    },
    /// This side ended the connection because the peer broke the protocol,
    /// or for another reason given to the peer (the `Goodbye` or `Refused`
    /// sent).
    #[error("closed the connection ({reason}): {text}")]
    Ended {
        /// The reason sent to the peer.
        reason: Reason,
        /// What happened.
        text: String,
    },
    /// TLS could not be set up, or the TLS session with the peer failed
    /// (docs/PROTOCOL.md, "TLS").
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Nothing arrived from the peer for too long.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The journals cannot continue each other; an operator must give the
    /// standby a new copy of the replicas.
    #[error("cannot resume: {0}")]
    CannotResume(String),
    /// The journal being read (primary) or written (standby) failed.
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
    /// The replica failed on the standby.
    #[error("replica: {0}")]
    Replica(#[from] ReplicaError),
    /// The settings cannot work.
    #[error("mirror settings: {0}")]
    Config(String),
    /// A part of the server stopped: the standby's apply thread (its error
    /// is what `standby::run` returns), the primary's journal feed, a
    /// session task.
    #[error("stopped: {0}")]
    Stopped(String),
}

fn text_suffix(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

impl LinkError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LinkError {
        let context = context.into();
        move |source| LinkError::Io { context, source }
    }

    /// Whether retrying cannot help: this primary was fenced off by a
    /// failover, the journals cannot continue each other, the local journal
    /// or replica failed, or the settings are wrong. Anything else (a lost
    /// connection, a busy standby, even a wrong secret, which an operator
    /// may fix on the other side) is retried every reconnect interval.
    pub fn is_terminal(&self) -> bool {
        match self {
            LinkError::Refused { reason, .. } | LinkError::Goodbye { reason, .. } => {
                matches!(reason, Reason::EpochFenced | Reason::CannotResume)
            }
            LinkError::CannotResume(_)
            | LinkError::Fenced { .. }
            | LinkError::Journal(_)
            | LinkError::Replica(_)
            | LinkError::Config(_) => true,
            _ => false,
        }
    }
}
