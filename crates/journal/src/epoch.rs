//! The epoch files: `<dir>/EPOCH`, the epoch stamped on new entries, and
//! `<dir>/EPOCHS`, the history of where each epoch began.

use std::path::Path;

use crate::atomic_file;
use crate::error::JournalError;

const FILE: &str = "EPOCH";
const HISTORY: &str = "EPOCHS";
/// The epoch of a journal that never had one set.
pub(crate) const DEFAULT_EPOCH: u64 = 1;

/// Where an epoch begins in a journal: its entries from `first_seq` on
/// carry `epoch`, up to the next epoch's `first_seq` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochStart {
    /// The epoch.
    pub epoch: u64,
    /// The seq of its first entry (or of the next entry to be appended,
    /// when none is yet).
    pub first_seq: u64,
}

/// The persisted epoch, or [`DEFAULT_EPOCH`].
pub(crate) fn read(dir: &Path) -> Result<u64, JournalError> {
    Ok(atomic_file::read_number(&dir.join(FILE))?.unwrap_or(DEFAULT_EPOCH))
}

/// Persists `epoch` atomically, then records in the history that it
/// begins at `first_seq`. (A crash between the two is mended by
/// [`reconcile`] when the journal is next opened.)
pub(crate) fn write(dir: &Path, epoch: u64, first_seq: u64) -> Result<(), JournalError> {
    atomic_file::write_number(&dir.join(FILE), epoch)?;
    let mut history = history(dir)?;
    history.push(EpochStart { epoch, first_seq });
    write_history(dir, &history)
}

/// Adds the current epoch to the history if a crash left it out: it then
/// begins at `next_seq`, since nothing was appended in between.
pub(crate) fn reconcile(dir: &Path, next_seq: u64) -> Result<(), JournalError> {
    let epoch = read(dir)?;
    let mut history = history(dir)?;
    if history.last().is_some_and(|last| last.epoch < epoch) {
        history.push(EpochStart {
            epoch,
            first_seq: next_seq,
        });
        write_history(dir, &history)?;
    }
    Ok(())
}

/// Drops from the history the epochs that began after `seq` (their
/// entries are gone), and makes the last one left current: the one case
/// where the epoch goes down (a journal cut back to a shared history).
pub(crate) fn forget_after(dir: &Path, seq: u64) -> Result<(), JournalError> {
    let history = history(dir)?;
    let kept: Vec<EpochStart> = history
        .iter()
        .copied()
        .filter(|s| s.first_seq <= seq || s.first_seq == 1)
        .collect();
    if kept.len() < history.len() {
        let current = kept.last().map_or(DEFAULT_EPOCH, |s| s.epoch);
        atomic_file::write_number(&dir.join(FILE), current)?;
        write_history(dir, &kept)?;
    }
    Ok(())
}

fn write_history(dir: &Path, history: &[EpochStart]) -> Result<(), JournalError> {
    let text: String = history
        .iter()
        .map(|s| format!("{} {}\n", s.epoch, s.first_seq))
        .collect();
    atomic_file::write_text(&dir.join(HISTORY), &text)
}

/// The epoch of the journal in `dir`: the one its new entries get (1 for a
/// journal that never had one set, or none yet).
pub fn current_epoch(dir: &Path) -> Result<u64, JournalError> {
    read(dir)
}

/// Where each epoch of the journal in `dir` began, oldest first: epoch 1
/// at seq 1, then one line per raise (`EPOCHS`). Two journals share their
/// history up to the end of the last epoch both hold (see
/// docs/JOURNAL_FORMAT.md, "Epoch file").
pub fn epoch_history(dir: &Path) -> Result<Vec<EpochStart>, JournalError> {
    history(dir)
}

/// The epoch of the entry `seq` of a journal with this `history` whose
/// last seq is `last`; `None` past the end (or for seq 0). Before the
/// first start a history names (one cut to its newest epochs) the
/// first's epoch is assumed.
fn epoch_at(history: &[EpochStart], last: u64, seq: u64) -> Option<u64> {
    if seq == 0 || seq > last {
        return None;
    }
    let first = history.first()?;
    Some(
        history
            .iter()
            .rev()
            .find(|s| s.first_seq <= seq)
            .unwrap_or(first)
            .epoch,
    )
}

/// The last seq up to which two journals hold the same history: each
/// entry up to it carries the same epoch in both, so it is the same entry
/// (an epoch has one writer). `ours` ends at `our_last`, `theirs` at
/// `their_last`. Entries past it in either journal are that journal's
/// alone: a primary's written after a standby was promoted, say.
pub fn shared_history(
    ours: &[EpochStart],
    our_last: u64,
    theirs: &[EpochStart],
    their_last: u64,
) -> u64 {
    let end = our_last.min(their_last);
    let mut boundaries: Vec<u64> = ours
        .iter()
        .chain(theirs)
        .map(|s| s.first_seq)
        .filter(|&b| b >= 1 && b <= end)
        .collect();
    boundaries.push(1);
    boundaries.sort_unstable();
    boundaries.dedup();
    for b in boundaries {
        if epoch_at(ours, our_last, b) != epoch_at(theirs, their_last, b) {
            return b - 1;
        }
    }
    end
}

fn history(dir: &Path) -> Result<Vec<EpochStart>, JournalError> {
    let path = dir.join(HISTORY);
    let mut out = vec![EpochStart {
        epoch: DEFAULT_EPOCH,
        first_seq: 1,
    }];
    let Some(text) = atomic_file::read_text(&path)? else {
        return Ok(out);
    };
    for (i, line) in text.lines().enumerate() {
        let mut fields = line.split(' ');
        let (Some(epoch), Some(first), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(bad_line(&path, i, line));
        };
        let (Ok(epoch), Ok(first_seq)) = (epoch.parse(), first.parse()) else {
            return Err(bad_line(&path, i, line));
        };
        let start = EpochStart { epoch, first_seq };
        match out.last() {
            Some(last) if last.epoch == epoch && last.first_seq == first_seq => {}
            Some(last) if last.epoch >= epoch || last.first_seq > first_seq => {
                return Err(atomic_file::invalid(
                    &path,
                    format!(
                        "line {}: epoch {epoch} at seq {first_seq} does not follow epoch {} at seq {}",
                        i + 1,
                        last.epoch,
                        last.first_seq
                    ),
                ));
            }
            _ => out.push(start),
        }
    }
    Ok(out)
}

fn bad_line(path: &Path, i: usize, line: &str) -> JournalError {
    atomic_file::invalid(
        path,
        format!(
            "line {}: expected \"<epoch> <first seq>\", found {line:?}",
            i + 1
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(starts: &[(u64, u64)]) -> Vec<EpochStart> {
        starts
            .iter()
            .map(|&(epoch, first_seq)| EpochStart { epoch, first_seq })
            .collect()
    }

    #[test]
    fn the_shared_history_ends_where_the_epochs_part() {
        let old_primary = h(&[(1, 1)]);
        let promoted = h(&[(1, 1), (2, 101)]);
        // The old primary wrote 120 entries, the standby had received 100.
        assert_eq!(shared_history(&old_primary, 120, &promoted, 150), 100);
        assert_eq!(shared_history(&promoted, 150, &old_primary, 120), 100);
        // It had received them all: nothing to roll back.
        assert_eq!(shared_history(&old_primary, 100, &promoted, 150), 100);
        // A standby behind the primary shares what it has.
        assert_eq!(shared_history(&old_primary, 40, &promoted, 150), 40);
        // Same epochs: the shorter journal.
        assert_eq!(shared_history(&promoted, 150, &promoted, 130), 130);
        // Two promotions, a standby that saw the first only.
        let twice = h(&[(1, 1), (2, 101), (3, 201)]);
        let saw_first = h(&[(1, 1), (2, 101)]);
        assert_eq!(shared_history(&saw_first, 230, &twice, 300), 200);
        // Empty journals share nothing, and nothing is lost.
        assert_eq!(shared_history(&old_primary, 0, &promoted, 150), 0);
        // Different epochs from the start.
        assert_eq!(
            shared_history(&h(&[(1, 1), (4, 1)]), 10, &old_primary, 10),
            0
        );
    }
}
