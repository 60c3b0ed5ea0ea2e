//! Cutting a journal back to a seq: what a former primary does when it
//! rejoins as the standby of the node promoted in its place, whose history
//! parts from its own after that seq (docs/DR.md, "Failback").

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use crate::error::JournalError;
use crate::frame::{Frame, FrameBuf};
use crate::segment::{self, HEADER_LEN};
use crate::{atomic_file, consumer, epoch, lock, payload};

/// Removes every entry after `seq` from the journal in `dir`; returns how
/// many were removed. Takes the writer lock for the time (`Locked` if a
/// writer holds it).
///
/// The newest segments go first and the cut segment last, so that a crash
/// leaves a journal ending somewhere between `seq` and where it ended, and
/// running it again finishes. Epochs that began after `seq` leave the
/// history (`EPOCHS`, and `EPOCH` becomes the last one left), and consumer
/// positions past `seq` come back to it.
pub fn truncate_after(dir: &Path, seq: u64) -> Result<u64, JournalError> {
    let _lock = lock::acquire(dir)?;
    let last = crate::reader::last_seq(dir)?;
    if last > seq {
        let segments = segment::list(dir)?;
        for (first, path) in segments.iter().rev() {
            if *first > seq {
                fs::remove_file(path).map_err(JournalError::io(path))?;
                segment::sync_dir(dir)?;
            } else {
                cut(path, *first, seq)?;
                break;
            }
        }
    }
    // Also when the entries are gone already: a run cut short after the
    // segments and before these finishes them.
    epoch::forget_after(dir, seq)?;
    for (name, position) in consumer::consumers(dir)? {
        if position > seq {
            let path = dir.join("consumers").join(&name);
            atomic_file::write_number(&path, seq)?;
        }
    }
    Ok(last.saturating_sub(seq))
}

/// Cuts the segment at `path` (first seq `first`) just before the entry
/// `seq + 1`.
fn cut(path: &Path, first: u64, seq: u64) -> Result<(), JournalError> {
    let mut file = File::open(path).map_err(JournalError::io(path))?;
    if segment::read_header(&mut file, path, first)?.is_none() {
        return Ok(());
    }
    let mut frames = FrameBuf::new();
    frames
        .reset(&mut file, HEADER_LEN as u64)
        .map_err(JournalError::io(path))?;
    let mut next = first;
    let at = loop {
        match frames
            .next_frame(&mut file)
            .map_err(JournalError::io(path))?
        {
            Frame::Valid { offset, payload } => {
                if next == seq + 1 {
                    break offset;
                }
                let entry = payload::decode(&frames.bytes()[payload]).map_err(|reason| {
                    JournalError::corrupt(path, offset, format!("undecodable entry: {reason}"))
                })?;
                next = entry.seq + 1;
            }
            Frame::End { offset } | Frame::Partial { offset } | Frame::Bad { offset, .. } => {
                break offset;
            }
        }
    };
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(JournalError::io(path))?;
    file.set_len(at).map_err(JournalError::io(path))?;
    file.sync_all().map_err(JournalError::io(path))
}
