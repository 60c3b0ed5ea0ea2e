//! The epoch file, `<dir>/EPOCH`: the epoch stamped on new entries.

use std::path::Path;

use crate::atomic_file;
use crate::error::JournalError;

const FILE: &str = "EPOCH";
/// The epoch of a journal that never had one set.
pub(crate) const DEFAULT_EPOCH: u64 = 1;

/// The persisted epoch, or [`DEFAULT_EPOCH`].
pub(crate) fn read(dir: &Path) -> Result<u64, JournalError> {
    Ok(atomic_file::read_number(&dir.join(FILE))?.unwrap_or(DEFAULT_EPOCH))
}

/// Persists `epoch` atomically.
pub(crate) fn write(dir: &Path, epoch: u64) -> Result<(), JournalError> {
    atomic_file::write_number(&dir.join(FILE), epoch)
}

/// The epoch of the journal in `dir`: the one its new entries get (1 for a
/// journal that never had one set, or none yet).
pub fn current_epoch(dir: &Path) -> Result<u64, JournalError> {
    read(dir)
}
