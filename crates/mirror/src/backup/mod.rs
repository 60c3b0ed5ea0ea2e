//! Online backup and point-in-time restore of the critical files
//! (docs/BACKUP.md).
//!
//! [`take_backup`] copies the files while applications write them, and
//! makes the copy consistent at a seq `M` of the journal; [`restore`]
//! brings a backup back, replaying the journal over it up to the latest
//! entry, a chosen seq (not before `M`) or a time, through a
//! [`Replica`](crate::Replica).
//!
//! # Why the copy is consistent at `M`
//!
//! The capture does an operation's file I/O first and appends its entry
//! after; every effect *sets* bytes (a `Write` its range, a `Create` or
//! `Truncate` the length and what lies past it). Let `S0` be the journal's
//! last seq read (by a reader) before the copy begins: every entry up to
//! `S0` had its I/O done before. Each byte the copy holds was read at
//! some instant after that; it holds the value set by the last effect
//! done before that instant. `M` comes from a [`Barrier`]: a seq at or
//! above the entry of every operation whose I/O completed before the
//! barrier was asked, so at or above every effect the copy can hold.
//! Replaying the entries of `(S0, M]` over the copy then gives the files
//! as of `M`: a byte some entry of the range sets ends with the last such
//! value, as on the primary; a byte no entry of the range sets did not
//! change during the copy, so the copy has its value at `M`. The length
//! likewise (the last `Create`/`Truncate` of the range and the writes after
//! it, else the copy's length and the writes of the range). This is the
//! replay argument of the `replica` module ("Durability and resume").
//!
//! A transaction open at `S0` began before it; the replay must see its
//! begin (a [`Replica`](crate::Replica) ignores a transaction it did not
//! see begin), so the range starts at that begin (its id is the seq of
//! its begin entry, and a single journal writer never interleaves
//! transactions, so it is the transaction of the entry right after `S0`).
//!
//! An aborted transaction is undone on the primary *without* journaling
//! the undo: a byte the copy read between a transaction's write and its
//! undo holds a value no replay corrects. The barrier is served between
//! two operations of the session holding the journal, outside any
//! transaction (or by holding the journal writer, when no application
//! does), so a transaction active while the files were read has its
//! abort at or below `M`. The backup follows every transaction of the
//! range with the bytes it touched (its write ranges; the whole file for
//! a `Create` or `Truncate`); for each one aborted in the range that
//! touched a copied file, it reads those bytes again as the file is now,
//! cutting the copy to the file's length if the file is shorter now (a
//! whole-file footprint takes the file's length and every byte), then
//! asks a new barrier. Bytes the file gained past the copy's end are not
//! read: the range's writes put them there. A re-read can itself meet a transaction later aborted: the
//! next window's aborted transactions are checked against the bytes just
//! re-read (a length read is the byte before it: a transaction that
//! extended the file wrote it), until none overlaps, in at most ten
//! rounds. The last barrier is `M`.
//!
//! A rename of a critical file during the copy (the copy may have read
//! the file under either name, or neither) starts the copy again, with
//! the new name among the files (three times at most).
//!
//! # What a backup directory holds
//!
//! `files/NNNN-<name>` (the copies), `journal.range` (the entries from the
//! first to replay to `M`, see `range`), and `manifest.json`
//! ([`BackupManifest`]: format version, seqs, each file's path, size and
//! blake3, the range), written last and atomically.

mod copy;
mod error;
mod footprint;
mod manifest;
mod online;
mod range;
mod restore;
mod scanner;
#[cfg(test)]
mod tests;
mod timestamp;

pub use self::{
    copy::Pace,
    error::BackupError,
    manifest::{
        BackupCopy, BackupFile, BackupManifest, BackupRange, MANIFEST_FILE, MANIFEST_VERSION,
    },
    online::{BackupOptions, BackupReport, Barrier, take_backup},
    range::RANGE_FILE,
    restore::{RestoreOptions, RestoreReport, RestoreTarget, RestoredFile, restore},
    timestamp::{format_micros, parse_rfc3339},
};
