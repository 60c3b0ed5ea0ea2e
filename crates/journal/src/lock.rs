//! The single-writer lock: an exclusive `flock`-style lock on `<dir>/LOCK`,
//! held for the writer's life and released when its file is closed (also
//! when the process dies).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::JournalError;

const FILE: &str = "LOCK";

/// Takes the journal's writer lock, or fails with `Locked`.
pub(crate) fn acquire(dir: &Path) -> Result<File, JournalError> {
    let path = dir.join(FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(JournalError::io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(JournalError::Locked { path }),
        Err(TryLockError::Error(e)) => Err(JournalError::Io { path, source: e }),
    }
}
