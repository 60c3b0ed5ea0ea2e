//! The errors of `drx ship` and `drx apply`: each names the file, the
//! directory or the seqs it is about.

use crate::error::LinkError;
use crate::replica::ReplicaError;
use drx_journal::JournalError;
use std::path::PathBuf;

/// Why shipping or applying shipped segments stopped.
#[derive(Debug, thiserror::Error)]
pub enum ShippingError {
    /// A file or directory operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The journal (the primary's, or the standby's) failed.
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
    /// There is no journal where the configuration says.
    #[error("no journal at {}", dir.display())]
    NoJournal {
        /// The journal directory.
        dir: PathBuf,
    },
    /// A segment of the primary's journal is not a whole, valid sealed
    /// segment: nothing of it was shipped.
    #[error("journal segment {}: {reason}", path.display())]
    BadSegment {
        /// The segment file.
        path: PathBuf,
        /// What is wrong, with the byte offset when known.
        reason: String,
    },
    /// A shipped file does not verify (checksum, manifest, frames): nothing
    /// of it was applied.
    #[error("shipped segment {} is damaged: {reason}; nothing of it was applied", path.display())]
    Damaged {
        /// The shipped file.
        path: PathBuf,
        /// What does not verify.
        reason: String,
    },
    /// A shipped file of a format version this build does not know.
    #[error("shipped segment {}: unsupported shipped-segment format version {version} (this drx reads version {})", path.display(), crate::shipping::SHIP_FORMAT_VERSION)]
    UnsupportedVersion {
        /// The shipped file.
        path: PathBuf,
        /// The version it says.
        version: u16,
    },
    /// The next seq the standby needs is in no shipped file.
    #[error("seqs {from} to {to} are in no shipped segment in {}: ship them from the primary (drx ship), nothing past seq {} was applied", dir.display(), from.saturating_sub(1))]
    Gap {
        /// The first missing seq.
        from: u64,
        /// The last missing seq (the seq before the next shipped file).
        to: u64,
        /// The directory of shipped segments.
        dir: PathBuf,
    },
    /// The standby journal or replica is held by a running standby server
    /// or another `drx apply`.
    #[error("the standby {what} {} is locked: a standby server (drx mirror standby, drx start) or another drx apply is running on this home; stop it before drx apply", path.display())]
    StandbyBusy {
        /// "journal" or "replica state".
        what: &'static str,
        /// Its lock file.
        path: PathBuf,
    },
    /// The replica could not be opened.
    #[error("replica: {0}")]
    Replica(#[from] ReplicaError),
    /// Appending to the standby journal or applying to the replica failed.
    #[error("applying {}: {source}", path.display())]
    Apply {
        /// The shipped file being applied.
        path: PathBuf,
        /// The error.
        source: LinkError,
    },
    /// The connection to the standby (`drx ship --to-standby`) failed.
    #[error("{0}")]
    Link(#[from] LinkError),
    /// The standby did not apply a shipped file sent to it; nothing of it
    /// was applied.
    #[error("the standby {peer} did not apply {name}: {text}")]
    NotApplied {
        /// The shipped file's name.
        name: String,
        /// The standby's node id.
        peer: String,
        /// Why, as the standby says.
        text: String,
    },
    /// The standby needs seqs that the primary's journal no longer holds.
    #[error("the standby needs seqs {from} to {to}, which the journal in {} no longer holds: bring its replicas up with drx refresh (docs/DR.md), then ship again", dir.display())]
    StandbyGap {
        /// The first seq the standby needs.
        from: u64,
        /// The last one missing (the seq before the oldest segment here).
        to: u64,
        /// The primary's journal.
        dir: PathBuf,
    },
    /// An entry of a shipped file was refused by the standby's apply (it
    /// does not follow the standby journal): nothing after it was applied.
    #[error("applying {}: {text}", path.display())]
    Refused {
        /// The shipped file.
        path: PathBuf,
        /// Why.
        text: String,
    },
}

impl ShippingError {
    /// An `Io` error about `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ShippingError {
        let path = path.into();
        move |source| ShippingError::Io { path, source }
    }
}
