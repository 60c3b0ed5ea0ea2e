//! The journal: the durable, append-only, sequence-numbered, checksummed
//! log of every captured operation on the record files of the applications
//! drx watches. It is the single source of truth for the standby and the
//! extractor.
//!
//! * A journal is a directory of segment files, `{first_seq:020}.seg`, each
//!   a header followed by frames (`length | CRC32C | payload`), one entry
//!   per frame. The format is specified in `docs/JOURNAL_FORMAT.md`.
//! * Every entry has a global seq (1, 2, 3, ... without gaps), the epoch in
//!   force, a transaction id, a timestamp, the process and file names, the
//!   **byte effect** of the operation ([`Effect`]: enough to reproduce the
//!   file byte for byte without knowing its layout) and optionally its
//!   **record meaning** ([`RecordChange`]). A [`Checksum`] effect states a
//!   file's size, record count and blake3 digests as of its seq, for a
//!   standby to compare its replica with ([`FileChecksum`],
//!   [`digest_file`]).
//! * One [`Writer`] per journal (an exclusive lock on `<dir>/LOCK`) appends
//!   through a buffer and fsyncs as its [`Durability`] says. Opening it
//!   cuts a torn tail left by a crash; damage anywhere else is reported as
//!   [`JournalError::Corrupt`], never read as data.
//! * Any number of [`Reader`]s, in any process, read in seq order from a
//!   given seq and tail the journal while the writer appends.
//! * Consumers ([`register_consumer`], [`set_consumer_position`]) record
//!   durably how far they got; [`remove_passed_segments`] removes what all
//!   of them have passed.
//!
//! The crate is synchronous std code and knows nothing of sinks, record
//! layouts or async runtimes.
//!
//! ```
//! use drx_journal::{Durability, Effect, NewEntry, Reader, Writer, WriterConfig};
//!
//! # fn main() -> Result<(), drx_journal::JournalError> {
//! let dir = tempfile::tempdir().expect("temporary directory");
//! let mut writer = Writer::open(WriterConfig {
//!     durability: Durability::EveryEntry,
//!     ..WriterConfig::new(dir.path())
//! })?;
//! let seq = writer.append(&NewEntry {
//!     txn: 0,
//!     process: "payroll",
//!     file: "/data/employees.dat",
//!     effect: Effect::Write { offset: 128, data: b"0042SMITH" },
//!     record: None,
//! })?;
//! assert_eq!(seq, 1);
//! writer.close()?;
//!
//! let mut reader = Reader::open(dir.path(), 1)?;
//! let entry = reader.next()?.expect("the entry just written");
//! assert_eq!(entry.seq, 1);
//! assert_eq!(entry.effect, Effect::Write { offset: 128, data: b"0042SMITH" });
//! assert!(reader.next()?.is_none()); // nothing more yet
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod appender;
mod atomic_file;
mod checksum;
mod commit_waiter;
mod consumer;
mod durability;
mod entry;
mod epoch;
mod error;
mod frame;
mod lock;
mod payload;
mod reader;
mod recovery;
mod retention;
mod role;
mod segment;
mod segment_scan;
mod truncate;
mod writer;

pub use crate::{
    checksum::{
        CHECKSUM_BLOCK_SIZE, Checksum, ChecksumBody, ChecksumReason, DIGEST_LEN, FileChecksum,
        FileDigests, MAX_CHECKSUM_BLOCKS, block_size_for, digest_file, digest_file_in_blocks,
        to_hex,
    },
    commit_waiter::CommitWaiter,
    consumer::{consumer_position, consumers, register_consumer, set_consumer_position},
    durability::Durability,
    entry::{Effect, EntryRef, FileOrganization, Locator, NewEntry, RecordChange, RecordOp},
    epoch::{EpochStart, current_epoch, epoch_history, shared_history},
    error::JournalError,
    frame::MAX_PAYLOAD,
    payload::{decode_entry, encode_entry},
    reader::{Reader, last_seq},
    retention::remove_passed_segments,
    role::{NodeRole, node_role, set_node_role},
    segment::FORMAT_VERSION,
    segment_scan::{SegmentFile, SegmentScan, scan_segment, segment_files},
    truncate::truncate_after,
    writer::{DEFAULT_SEGMENT_SIZE, Writer, WriterConfig},
};
