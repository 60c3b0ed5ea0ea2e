//! Removing the segments that every consumer has passed.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::consumer::consumers;
use crate::error::JournalError;
use crate::segment;

/// Removes the sealed segments (never the newest) whose every entry has a
/// seq at or below the smallest position of the registered consumers, and
/// returns their paths, oldest first. With no registered consumer it
/// removes nothing. Safe while a writer appends and readers read: sealed
/// segments never change, and an open reader keeps reading a removed one.
pub fn remove_passed_segments(dir: &Path) -> Result<Vec<PathBuf>, JournalError> {
    let Some(min) = consumers(dir)?.into_iter().map(|(_, p)| p).min() else {
        return Ok(Vec::new());
    };
    let segments = segment::list(dir)?;
    let mut removed = Vec::new();
    for pair in segments.windows(2) {
        let (_, path) = &pair[0];
        // The segment holds seqs up to the next segment's first, exclusive.
        let last_in_segment = pair[1].0.saturating_sub(1);
        if last_in_segment > min {
            break;
        }
        match fs::remove_file(path) {
            Ok(()) => removed.push(path.clone()),
            Err(e) if e.kind() == ErrorKind::NotFound => {} // removed concurrently
            Err(e) => return Err(JournalError::io(path)(e)),
        }
    }
    if !removed.is_empty() {
        segment::sync_dir(dir)?;
    }
    Ok(removed)
}
