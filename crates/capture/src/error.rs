use std::path::PathBuf;

/// A record operation that failed. Nothing is journaled for a failed
/// operation, and the file is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A file system call failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The journal refused the entry.
    #[error(transparent)]
    Journal(#[from] drx_journal::JournalError),
    /// An indexed write whose key is already present.
    #[error("{path}: duplicate key {key}")]
    DuplicateKey {
        /// The file.
        path: PathBuf,
        /// The key, in hex.
        key: String,
    },
    /// The record named by record number or key does not exist.
    #[error("{path}: no record at {locator}")]
    NoSuchRecord {
        /// The file.
        path: PathBuf,
        /// `record 5` or `key 0001`.
        locator: String,
    },
    /// A relative write to a record number that holds a record.
    #[error("{path}: record {recno} already holds a record")]
    SlotTaken {
        /// The file.
        path: PathBuf,
        /// The record number.
        recno: u64,
    },
    /// The operation does not exist for the file's organization.
    #[error("{path}: {op} is not supported for {organization} files")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The operation.
        op: &'static str,
        /// The organization.
        organization: &'static str,
    },
    /// A record of the wrong size, or a file whose size does not fit its
    /// organization.
    #[error("{path}: {message}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A transaction call out of order (commit without begin, nested begin).
    #[error("transaction: {0}")]
    Transaction(&'static str),
    /// No journal barrier in time (`journal_barrier`).
    #[error("barrier: {0}")]
    Barrier(String),
    /// A path that is not UTF-8 (the journal stores paths as text).
    #[error("{0}: path is not valid UTF-8")]
    NonUtf8Path(PathBuf),
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CaptureError + '_ {
    move |source| CaptureError::Io {
        path: path.to_owned(),
        source,
    }
}
