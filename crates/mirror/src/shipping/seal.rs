//! `drx ship --seal`: makes the segment the journal is appending to a
//! finished one, so that it can be shipped. With the journal's writer lock
//! free, it takes the lock (opening a [`Writer`], which also cuts a torn
//! tail) and starts a new, empty segment after the last entry, exactly as
//! the writer does when it rolls: the header written to
//! `{first_seq:020}.seg.tmp`, fsynced, renamed into place, the directory
//! fsynced. With a writer holding the lock, nothing is sealed.
//!
//! The journal has no public "roll now" call; this writes the one header a
//! roll writes, as docs/JOURNAL_FORMAT.md specifies it, while holding the
//! lock. A `Writer::roll` in `drx-journal` would replace it.

use crate::shipping::error::ShippingError;
use crate::shipping::journal_segment::{self, HEADER_LEN, MAGIC};
use drx_journal::{Durability, FORMAT_VERSION, JournalError, Writer, WriterConfig};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

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
    let writer = match Writer::open(WriterConfig {
        durability: Durability::EveryEntry,
        ..WriterConfig::new(dir)
    }) {
        Ok(writer) => writer,
        Err(JournalError::Locked { .. }) => return Ok(SealOutcome::WriterActive),
        Err(e) => return Err(e.into()),
    };
    let last_seq = writer.last_seq();
    let newest = journal_segment::list(dir)?.last().map(|s| s.first_seq);
    let outcome = match newest {
        Some(first) if first <= last_seq => {
            create_empty_segment(dir, writer.epoch(), last_seq + 1)?;
            SealOutcome::Sealed { last_seq }
        }
        _ => SealOutcome::Empty,
    };
    writer.close()?;
    Ok(outcome)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Creates the segment `{first_seq:020}.seg` holding only its header.
fn create_empty_segment(dir: &Path, epoch: u64, first_seq: u64) -> Result<(), ShippingError> {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    h[16..24].copy_from_slice(&epoch.to_le_bytes());
    h[24..32].copy_from_slice(&first_seq.to_le_bytes());
    h[32..40].copy_from_slice(&now_us().to_le_bytes());
    let crc = crc32c::crc32c(&h[..44]);
    h[44..48].copy_from_slice(&crc.to_le_bytes());
    let name = journal_segment::file_name(first_seq);
    let path = dir.join(&name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = File::create(&tmp).map_err(ShippingError::io(&tmp))?;
    file.write_all(&h)
        .and_then(|()| file.sync_all())
        .map_err(ShippingError::io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(ShippingError::io(&path))?;
    crate::shipping::shipped_segment::sync_dir(dir)
}
