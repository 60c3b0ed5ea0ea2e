//! Why an entry was not applied, or why the replica stopped.

use std::path::PathBuf;

/// Why a journal path may not be written on the standby. A refused entry
/// is never applied; the entries after it are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The journal path is empty or names no file.
    #[error("the path names no file")]
    NoFileName,
    /// The journal path is not absolute (the capture journals absolute
    /// paths only).
    #[error("the path is not absolute")]
    NotAbsolute,
    /// The journal path, or the `destination_dir` that maps it, has a `..`
    /// component.
    #[error("the path has a `..` component")]
    ParentDir,
    /// The mapped path is outside every replica root.
    #[error("the mapped path {0} is outside every replica root")]
    OutsideRoots(PathBuf),
    /// A directory on the way is a symbolic link leading out of the replica
    /// root (or nowhere).
    #[error("{0} is a symbolic link out of the replica root")]
    SymlinkOutOfRoot(PathBuf),
    /// The replica file itself is a symbolic link: a replica file is never
    /// written through a link.
    #[error("{0} is a symbolic link")]
    Symlink(PathBuf),
    /// A directory on the way is not a directory.
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    /// The replica path is a directory or a special file.
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
}

/// An error of [`Replica`](crate::Replica).
///
/// A *refusal* ([`ReplicaError::Refused`]), a rename of a file the replica
/// does not have ([`ReplicaError::NotOnReplica`]) and an entry out of
/// sequence ([`ReplicaError::OutOfSequence`]) concern one entry: the replica
/// goes on with the next ([`ReplicaError::is_fatal`] is false). Any other
/// error stops it: later calls fail with [`ReplicaError::Stopped`] until it
/// is opened again, which recovers from the last durable state.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The entry's path may not be written on the standby (see
    /// [`Refusal`]); the entry was not applied, and counts as processed.
    #[error("seq {seq}: {path}: refused: {reason}")]
    Refused {
        /// The entry's seq.
        seq: u64,
        /// The journal path (or rename target) refused.
        path: String,
        /// Why.
        reason: Refusal,
    },
    /// A rename's source is not on the replica (and its target is not
    /// either): the replica never had the file. Nothing was changed.
    #[error("seq {seq}: {path}: rename of a file the replica does not have")]
    NotOnReplica {
        /// The entry's seq.
        seq: u64,
        /// The replica path of the missing source.
        path: PathBuf,
    },
    /// The entry does not follow the last applied one (a gap): it was not
    /// applied.
    #[error("seq {seq} does not follow the applied seq {applied}")]
    OutOfSequence {
        /// The last applied seq.
        applied: u64,
        /// The entry's seq.
        seq: u64,
    },
    /// An I/O error on a replica file or on the replica's state.
    #[error("seq {seq}: {path}: {source}")]
    Io {
        /// The seq being applied (or, for the state, the applied seq).
        seq: u64,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The replica's state (state file or transaction spool) is damaged.
    #[error("{path}: damaged replica state: {reason}")]
    BadState {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The replica's configuration cannot work.
    #[error("replica configuration: {0}")]
    Config(String),
    /// Another replica holds the state directory.
    #[error("{path}: the replica state is locked by another process")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// An earlier fatal error stopped the replica at this seq; open it
    /// again to recover.
    #[error("the replica stopped at seq {seq} after an earlier error; reopen it to recover")]
    Stopped {
        /// The seq whose apply failed.
        seq: u64,
    },
    /// A crash injected by a test ([`Replica::crash_after_effects`](crate::Replica::crash_after_effects)).
    #[error("seq {seq}: injected crash")]
    InjectedCrash {
        /// The seq being applied.
        seq: u64,
    },
}

impl ReplicaError {
    /// Whether the replica stopped: false for errors that concern one entry
    /// only (the replica goes on with the next).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            ReplicaError::Refused { .. }
                | ReplicaError::NotOnReplica { .. }
                | ReplicaError::OutOfSequence { .. }
        )
    }

    pub(crate) fn io(seq: u64, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ReplicaError::Io { seq, path, source }
    }
}
