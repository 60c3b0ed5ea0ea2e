//! `drx ship --seal`: makes the segment the journal is appending to a
//! finished one, so that it can be shipped. With the journal's writer lock
//! free, it takes the lock (opening a [`Writer`], which also cuts a torn
//! tail) and rolls to a new, empty segment ([`Writer::roll`]). With a
//! writer holding the lock, nothing is sealed.

use crate::shipping::error::ShippingError;
use drx_journal::{Durability, JournalError, Writer, WriterConfig};
use std::path::Path;

/// What `--seal` did to the journal's current segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealOutcome {
    /// `--seal` was not asked for.
    NotAsked,
    /// The current segment, whose last entry is `last_seq`, was sealed; a
    /// new empty one starts at `last_seq + 1`.
    Sealed {
        /// The seq of the sealed segment's last entry.
        last_seq: u64,
    },
    /// The current segment holds no entry: there is nothing to seal.
    Empty,
    /// A writer (an application's capture session) holds the journal lock:
    /// only the finished segments are shipped.
    WriterActive,
}

/// Seals the current segment of the journal in `dir` if no writer holds
/// its lock.
pub(crate) fn seal(dir: &Path) -> Result<SealOutcome, ShippingError> {
    let mut writer = match Writer::open(WriterConfig {
        durability: Durability::EveryEntry,
        ..WriterConfig::new(dir)
    }) {
        Ok(writer) => writer,
        Err(JournalError::Locked { .. }) => return Ok(SealOutcome::WriterActive),
        Err(e) => return Err(e.into()),
    };
    let last_seq = writer.last_seq();
    let outcome = if writer.roll()? {
        SealOutcome::Sealed { last_seq }
    } else {
        SealOutcome::Empty
    };
    writer.close()?;
    Ok(outcome)
}
