//! The journal's entries: what was done to a file (the byte effect) and,
//! optionally, what it meant for one record (the record meaning).

use crate::checksum::Checksum;

/// An entry to append. The writer adds the seq, epoch and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEntry<'a> {
    /// The transaction the operation belongs to; 0 when it is in none.
    pub txn: u64,
    /// Name of the process that did the operation.
    pub process: &'a str,
    /// Path of the file operated on.
    pub file: &'a str,
    /// What the operation did to the file's bytes.
    pub effect: Effect<'a>,
    /// What the operation meant for one record, when the capture knows it.
    pub record: Option<RecordChange<'a>>,
}

/// One entry read back from the journal. Its slices borrow the reader's
/// buffer and are valid until the reader's next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// Global sequence number: 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// The epoch in force when the entry was appended.
    pub epoch: u64,
    /// The transaction the operation belongs to; 0 when it is in none.
    pub txn: u64,
    /// When the entry was appended, in microseconds since the Unix epoch.
    pub timestamp_us: i64,
    /// Name of the process that did the operation.
    pub process: &'a str,
    /// Path of the file operated on.
    pub file: &'a str,
    /// What the operation did to the file's bytes.
    pub effect: Effect<'a>,
    /// What the operation meant for one record, when the capture knew it.
    pub record: Option<RecordChange<'a>>,
}

impl<'a> EntryRef<'a> {
    /// The entry without its seq, epoch and timestamp, e.g. to append it to
    /// another journal.
    pub fn as_new_entry(&self) -> NewEntry<'a> {
        NewEntry {
            txn: self.txn,
            process: self.process,
            file: self.file,
            effect: self.effect,
            record: self.record,
        }
    }
}

/// What an operation did to a file's bytes: enough to reproduce the file
/// byte for byte without knowing its record layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect<'a> {
    /// No byte change (e.g. a pure marker).
    None,
    /// The file was created, or replaced by an empty one.
    Create {
        /// How the file's records are organised.
        organization: FileOrganization,
        /// Record length in bytes (0 when variable or unknown).
        record_len: u32,
    },
    /// `data` was written at byte `offset`.
    Write {
        /// Byte offset in the file.
        offset: u64,
        /// The bytes written.
        data: &'a [u8],
    },
    /// The file was truncated (or extended with zeros) to `len` bytes.
    Truncate {
        /// The new length.
        len: u64,
    },
    /// The file was renamed to `to`.
    Rename {
        /// The new path.
        to: &'a str,
    },
    /// The file was deleted.
    DeleteFile,
    /// Transaction `txn` began.
    BeginTxn,
    /// Transaction `txn` committed.
    CommitTxn,
    /// Transaction `txn` was rolled back.
    AbortTxn,
    /// No byte change: the file's size, record count and (full form)
    /// digests as of this entry, for a standby to compare its replica with
    /// (never inside a transaction).
    Checksum(Checksum<'a>),
}

/// What an operation meant for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordChange<'a> {
    /// Insert, update or delete.
    pub op: RecordOp,
    /// Which record.
    pub locator: Locator<'a>,
    /// The record before the change, when known.
    pub before: Option<&'a [u8]>,
    /// The record after the change, when known.
    pub after: Option<&'a [u8]>,
}

/// The kind of record change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordOp {
    /// A new record.
    Insert,
    /// A changed record.
    Update,
    /// A removed record.
    Delete,
}

/// How a changed record is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locator<'a> {
    /// Not identified.
    None,
    /// By record number (relative files, fixed-length record slots).
    RecNo(u64),
    /// By primary key bytes (indexed files).
    Key(&'a [u8]),
}

/// How a file's records are organised. Stored as a one-byte code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileOrganization {
    /// Code 0: not known.
    Unknown,
    /// Code 1: fixed-length records, addressed by byte offset.
    Fixed,
    /// Code 2: relative file, records addressed by record number.
    Relative,
    /// Code 3: sequential file.
    Sequential,
    /// Code 4: indexed file, records addressed by key.
    Indexed,
}

impl FileOrganization {
    /// The one-byte code stored in the journal.
    pub fn code(self) -> u8 {
        match self {
            FileOrganization::Unknown => 0,
            FileOrganization::Fixed => 1,
            FileOrganization::Relative => 2,
            FileOrganization::Sequential => 3,
            FileOrganization::Indexed => 4,
        }
    }

    /// The organization with this code, if any.
    pub fn from_code(code: u8) -> Option<FileOrganization> {
        Some(match code {
            0 => FileOrganization::Unknown,
            1 => FileOrganization::Fixed,
            2 => FileOrganization::Relative,
            3 => FileOrganization::Sequential,
            4 => FileOrganization::Indexed,
            _ => return None,
        })
    }
}
