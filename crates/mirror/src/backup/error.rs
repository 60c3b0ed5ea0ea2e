//! Why a backup or a restore failed.

use std::path::PathBuf;

/// An error of [`take_backup`](crate::take_backup) or
/// [`restore`](crate::restore). Each names the file, seq or setting at
/// fault.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// An I/O error on a file of the backup, of the home or of the restore.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The live journal (or the backup's journal range) could not be read.
    #[error("journal {path}: {source}")]
    Journal {
        /// The journal directory or range file.
        path: PathBuf,
        /// The error.
        source: drx_journal::JournalError,
    },
    /// No barrier seq could be had: no application answered in time, or
    /// the journal is held by an application that serves no requests.
    #[error("barrier: {0}")]
    Barrier(String),
    /// The destination is not a new, empty directory.
    #[error("{path}: {reason}")]
    Destination {
        /// The destination.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The backup could not be made consistent (a rename during the copy
    /// every time, aborted transactions overlapping every re-read, a
    /// segment removed by retention meanwhile).
    #[error("no consistent backup: {0}")]
    Inconsistent(String),
    /// The manifest is missing, unreadable or of an unknown version.
    #[error("{path}: bad manifest: {reason}")]
    BackupManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file of the backup does not match the manifest: its size or
    /// blake3 differs (damaged), or it is missing.
    #[error("{file}: damaged backup file ({original}): {reason}")]
    Damaged {
        /// The file of the backup.
        file: PathBuf,
        /// What it holds: the original path, or "journal range".
        original: String,
        /// What differs.
        reason: String,
    },
    /// The journal range of the backup is malformed at this entry.
    #[error("{path}: entry {index}: {reason}")]
    BadRange {
        /// The range file.
        path: PathBuf,
        /// The index of the entry in the file (0-based).
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// The restore target lies before the state the backup holds.
    #[error(
        "target {target} is before the backup's consistent seq {consistent}: its files already hold every change up to seq {consistent} and cannot be taken back to an earlier state"
    )]
    TargetBeforeBackup {
        /// The target as asked (a seq, or a time and the seq it means).
        target: String,
        /// The backup's consistent seq.
        consistent: u64,
    },
    /// The restore target lies beyond what the journal holds, or the
    /// entries after the backup are no longer in the journal.
    #[error("target {target}: {reason}")]
    TargetUnreachable {
        /// The target as asked.
        target: String,
        /// Why it cannot be reached.
        reason: String,
    },
    /// A time given on the command line is not RFC 3339.
    #[error("{text:?} is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z): {reason}")]
    BadTime {
        /// The text.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// Applying an entry to the restored files failed.
    #[error("restore: {0}")]
    Replica(#[from] crate::replica::ReplicaError),
}

impl BackupError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BackupError {
        let path = path.into();
        move |source| BackupError::Io { path, source }
    }

    pub(crate) fn journal(
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(drx_journal::JournalError) -> BackupError {
        let path = path.into();
        move |source| BackupError::Journal { path, source }
    }
}
