//! A hook for synchronous mirroring: the writer calls a [`CommitWaiter`]
//! after each append that completes a unit of work, once the entry has
//! reached the operating system (so that a reader — the primary server —
//! can see it). A sync-mode waiter blocks there until the standby has
//! acknowledged the entry, so that the capture call that made it returns
//! only then.

use crate::entry::{Effect, NewEntry};

/// Called by [`Writer::append`](crate::Writer::append) after each entry
/// that completes a unit of work: an entry outside any transaction, or a
/// transaction's `CommitTxn`.
pub trait CommitWaiter: Send + Sync + std::fmt::Debug {
    /// The entry `seq` is committed and visible to the journal's readers.
    /// Returns when the caller may go on (a sync-mode waiter: when the
    /// standby has it, or its timeout passed).
    fn committed(&mut self, seq: u64);
}

/// Whether `entry` completes a unit of work. A checksum entry (a check of
/// the standby, not a change) does not.
pub(crate) fn completes_unit(entry: &NewEntry<'_>) -> bool {
    match entry.effect {
        Effect::CommitTxn => true,
        Effect::Checksum(_) => false,
        _ => entry.txn == 0,
    }
}
