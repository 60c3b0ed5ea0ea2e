//! The standby's apply: journal entries, in seq order, applied to replica
//! files so that each equals its primary file byte for byte as of the last
//! applied seq. Synchronous std code; no async runtime.
//!
//! # Where a replica is written
//!
//! A journal path maps to a replica path through the Files Table record
//! that selects it (its `destination_dir`), else under the first replica
//! root, with the primary's system name replaced by the
//! `substitute_system_name` when one is set (`path_map`). The standby never
//! writes outside its replica roots: a path with a `..` component, or
//! mapped outside every root, is refused; directories are walked down from
//! the canonical root so that no symbolic link leading out of it is
//! followed, and a replica file is never written through a link. A refused
//! entry is logged (`tracing::error`), counted
//! ([`Replica::refused_count`]) and returned as
//! [`ReplicaError::Refused`]; the entries after it are applied.
//!
//! # Effects
//!
//! `Create` creates or empties the file (its directories created on the
//! fly), `Write` writes at an offset, `Truncate` cuts or zero-extends,
//! `Rename` renames (replacing the target), `DeleteFile` deletes. A copy is
//! journaled by the capture as a `Create` and `Write`s of the whole file,
//! and a rename into a critical path likewise; a rename out of one as a
//! `DeleteFile`. A `Write` or `Truncate` of a missing file creates it.
//! Replica files are opened without any lock, so they can be read while
//! apply goes on.
//!
//! A `Checksum` entry changes no byte: the replica is compared with it as
//! applied so far (size, records, and in the full form blake3 per block
//! and of the whole file), the result logged and kept for the caller
//! ([`Replica::take_verification`]).
//!
//! # Transactions
//!
//! An aborted transaction is undone on the primary without journaling the
//! undo, so the entries of a transaction (`txn != 0`) are held — in memory
//! and in a spool file per transaction (`pending`) — until its `CommitTxn`,
//! which applies them in order, or its `AbortTxn`, which drops them. An
//! entry of a transaction whose `BeginTxn` this replica did not see, and
//! that transaction's commit or abort, are ignored with a warning.
//!
//! # Durability and resume
//!
//! [`Replica::sync`] fsyncs every replica file written and every directory
//! whose entries changed since the last sync, then the spools of open
//! transactions, then replaces the state file (`state`: the applied seq,
//! the open transactions and their spooled entry counts) atomically. Its
//! seq ([`Replica::durable_seq`]) may then be acknowledged: a restarted
//! replica resumes after it, and skips any entry at or below its applied
//! seq, so no entry is applied twice.
//!
//! Entries applied after the last sync may be applied again after a crash
//! (the primary sends again from the durable seq). That is harmless for
//! `Create`, `Write`, `Truncate` and `DeleteFile` on one path: replaying
//! any suffix of such a sequence over a state reached by a prefix of it
//! gives the same bytes (each byte is set by the last effect that covers
//! it, a length by the last `Create`/`Truncate`/`DeleteFile` and the writes
//! after it). A `Rename` changes which file a path names, so it is applied
//! between two *barriers*: everything before it is made durable (a sync),
//! then the rename, then the state is made durable again with the rename
//! counted. A replay thus never spans a rename; one interrupted between the
//! rename and the second barrier finds its source gone and its target
//! present, and counts as done.
//!
//! # Crash atomicity of a committed transaction
//!
//! A transaction is applied as a redo log: at its `CommitTxn` the replica
//! fsyncs the transaction's spool, syncs everything before the commit, and
//! writes the state file with a `commit` line (the transaction, the commit
//! seq, its entry count, and the effects done: 0). That state file is the
//! commit point. Then the effects are applied; the next sync writes a
//! state without the `commit` line (applied = the commit seq) and removes
//! the spool.
//!
//! On open, a state with a `commit` line means the standby stopped while
//! (or after) applying that transaction: its effects are applied again
//! from the spool, from the recorded effect on, then synced, before any
//! new entry. By the replay argument above this ends with the whole
//! transaction applied, whatever part of it (and of the entries after it)
//! had reached the disk; a rename inside a transaction advances the
//! recorded effect at its barriers. A crash before the commit point leaves
//! the transaction open (its spooled entries are reloaded) or unseen,
//! with none of its effects applied. So after recovery a transaction is
//! either wholly applied or not at all.

mod apply;
mod config;
mod error;
mod files;
mod path_map;
mod pending;
mod results;
mod state;
mod verify;

pub(crate) use self::results::record_verified;
pub use self::{
    apply::{Outcome, Replica},
    config::ReplicaConfig,
    error::{Refusal, ReplicaError},
    results::{append_verify_result, read_verify_results, verify_results_path},
};
