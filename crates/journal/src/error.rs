//! The one error type of the crate.

use std::path::{Path, PathBuf};

use crate::frame::MAX_PAYLOAD;

/// Everything that can go wrong while writing, reading or maintaining a
/// journal. Every variant names the file involved, and corruption names the
/// byte offset too.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An operating-system call failed on `path`.
    #[error("journal I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Another writer holds the journal's lock file.
    #[error("journal is locked by another writer: {path} is held")]
    Locked {
        /// The lock file (`<dir>/LOCK`).
        path: PathBuf,
    },

    /// A frame is damaged in a place where it cannot be a torn tail: it is
    /// followed by valid frames, or it lies in a sealed segment.
    #[error("journal segment {segment} at byte {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        segment: PathBuf,
        /// Byte offset of the damaged frame inside the segment file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// A segment's header is damaged or does not match its file name.
    #[error("journal segment {segment}: bad header: {reason}")]
    BadHeader {
        /// The segment file.
        segment: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A segment was written by a format version this build cannot read.
    #[error(
        "journal segment {segment}: unsupported format version {version} (this build reads version {supported})",
        supported = crate::segment::FORMAT_VERSION
    )]
    UnsupportedVersion {
        /// The segment file.
        segment: PathBuf,
        /// The version found in its header.
        version: u16,
    },

    /// An entry from elsewhere (another journal, the wire) does not follow
    /// this journal's last one.
    #[error("entry seq {got} does not follow this journal's last entry (expected seq {expected})")]
    OutOfSequence {
        /// The seq that would follow.
        expected: u64,
        /// The seq offered.
        got: u64,
    },

    /// An encoded entry (from the wire) is malformed.
    #[error("malformed journal entry: {reason}")]
    BadEntry {
        /// What is wrong.
        reason: &'static str,
    },

    /// The requested entries were removed by retention.
    #[error(
        "journal entries from seq {requested} are gone: the oldest retained entry is seq {oldest}"
    )]
    Gone {
        /// The seq asked for.
        requested: u64,
        /// The first seq still in the journal.
        oldest: u64,
    },

    /// An entry's payload (or one of its names) is too large to be framed.
    #[error(
        "journal entry too large: {len} bytes (a payload may hold at most {MAX_PAYLOAD} bytes, a process, file or rename name at most 65535)"
    )]
    EntryTooLarge {
        /// The size that was refused.
        len: usize,
    },

    /// `set_epoch` was asked to lower the epoch.
    #[error("journal epoch cannot go backwards: current epoch is {current}, requested {requested}")]
    EpochBackwards {
        /// The epoch in force.
        current: u64,
        /// The smaller epoch that was refused.
        requested: u64,
    },

    /// The journal's role (`ROLE`) forbids this kind of append: a
    /// standby's journal takes no entries of its own, a primary's none of
    /// another journal's, a fenced one none at all.
    #[error("{}", role_forbids(dir, role, *replica))]
    RoleForbids {
        /// The journal directory.
        dir: PathBuf,
        /// Its role.
        role: crate::NodeRole,
        /// Whether the refused append was of another journal's entry.
        replica: bool,
    },

    /// A consumer name that cannot be used as a file name.
    #[error(
        "invalid journal consumer name {name:?}: use 1 to 64 characters from A-Z a-z 0-9 . _ -, not starting with '.'"
    )]
    BadConsumerName {
        /// The refused name.
        name: String,
    },
}

fn role_forbids(dir: &Path, role: &crate::NodeRole, replica: bool) -> String {
    let dir = dir.display();
    match role {
        crate::NodeRole::Fenced { epoch, by } => format!(
            "this node was fenced off: {by} was promoted to primary at epoch {epoch}, so the journal in {dir} takes no entries (they would never reach the new primary); `drx rejoin` makes this node {by}'s standby"
        ),
        crate::NodeRole::HandingOver => format!(
            "this node is handing the primary role over to its standby (drx switchover): the journal in {dir} takes no entries"
        ),
        crate::NodeRole::Standby => format!(
            "this node is a standby: the journal in {dir} takes only its primary's entries, and the applications here may read, not write, until `drx promote` makes it the primary"
        ),
        crate::NodeRole::Primary if replica => format!(
            "this node is a primary: the journal in {dir} does not take another journal's entries (`drx rejoin` makes a former primary a standby)"
        ),
        crate::NodeRole::Primary => format!("the journal in {dir} is a primary's"),
    }
}

impl JournalError {
    /// A `map_err` helper: wraps an `io::Error` with the path it concerns.
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
        move |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(segment: &Path, offset: u64, reason: impl Into<String>) -> JournalError {
        JournalError::Corrupt {
            segment: segment.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}
