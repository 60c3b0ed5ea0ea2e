//! `Entries`: a batch of consecutive journal entries, each the opaque
//! bytes of one journal entry payload (docs/JOURNAL_FORMAT.md) with its own
//! length. Decoding borrows the entries from the received bytes;
//! [`EntriesWriter`] encodes them straight into the output buffer.

use std::fmt;

use super::error::{DecodeError, EncodeError};
use super::frame::{self, HEADER_LEN, MAX_PAYLOAD_LEN};
use super::message::{Fields, MAX_ENTRY_LEN, MessageKind};

/// The length prefix of each entry.
const ENTRY_PREFIX_LEN: usize = 4;

/// A decoded batch of consecutive journal entries: seqs `first_seq` to
/// `first_seq + count - 1`. The entries borrow from the received bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Entries<'a> {
    first_seq: u64,
    count: u32,
    /// `count` times (u32 length, bytes), checked by [`Entries::parse`].
    raw: &'a [u8],
}

impl fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entries")
            .field("first_seq", &self.first_seq)
            .field("count", &self.count)
            .field("bytes", &self.raw.len())
            .finish()
    }
}

impl<'a> Entries<'a> {
    /// Checks the entries part of a payload: `count` ≥ 1 entries, seqs from
    /// `first_seq` ≥ 1 without passing `u64::MAX`, each entry at most
    /// [`MAX_ENTRY_LEN`] bytes, and nothing after the last one.
    pub(crate) fn parse(first_seq: u64, count: u32, raw: &'a [u8]) -> Result<Self, DecodeError> {
        let mut f = Fields::new(MessageKind::Entries, raw);
        if count == 0 {
            return Err(f.error("count: 0, a batch holds at least one entry"));
        }
        if first_seq == 0 || first_seq.checked_add(u64::from(count) - 1).is_none() {
            return Err(f.error(format!(
                "seqs: a batch of {count} entries cannot start at seq {first_seq}"
            )));
        }
        for i in 0..count {
            let len = f.u32("entry length")?;
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > MAX_ENTRY_LEN {
                return Err(f.error(format!(
                    "entry {i} of {count}: length {len} exceeds the maximum of {MAX_ENTRY_LEN}"
                )));
            }
            f.bytes(len, "entry")?;
        }
        f.end()?;
        Ok(Entries {
            first_seq,
            count,
            raw,
        })
    }

    /// The seq of the first entry (at least 1).
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// The number of entries (at least 1).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The seq of the last entry.
    pub fn last_seq(&self) -> u64 {
        // `parse` checked that this does not overflow; saturate regardless.
        self.first_seq.saturating_add(u64::from(self.count) - 1)
    }

    /// The entries, in seq order.
    pub fn iter(&self) -> EntryIter<'a> {
        EntryIter {
            remaining: self.count,
            rest: self.raw,
        }
    }

    /// The entries with their seqs, in seq order.
    pub fn with_seqs(&self) -> impl Iterator<Item = (u64, &'a [u8])> + use<'a> {
        (self.first_seq..).zip(self.iter())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.first_seq.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(self.raw);
    }
}

impl<'a> IntoIterator for &Entries<'a> {
    type Item = &'a [u8];
    type IntoIter = EntryIter<'a>;

    fn into_iter(self) -> EntryIter<'a> {
        self.iter()
    }
}

/// The entries of an [`Entries`] batch, each the bytes of one journal
/// entry payload (decode them with `drx_journal::decode_entry`).
#[derive(Debug, Clone)]
pub struct EntryIter<'a> {
    remaining: u32,
    rest: &'a [u8],
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        let (prefix, rest) = self.rest.split_first_chunk::<ENTRY_PREFIX_LEN>()?;
        let len = usize::try_from(u32::from_le_bytes(*prefix)).ok()?;
        let (entry, rest) = rest.split_at_checked(len)?;
        self.rest = rest;
        self.remaining -= 1;
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for EntryIter<'_> {}

/// Encodes an `Entries` frame straight into an output buffer, one entry at
/// a time: [`EntriesWriter::push`] copies each entry once, and
/// [`EntriesWriter::finish`] completes the frame. A writer dropped without
/// `finish` removes its partial frame from the buffer.
///
/// ```
/// use drx_mirror::{EntriesWriter, Message};
///
/// let mut buf = Vec::new();
/// let mut batch = EntriesWriter::new(&mut buf, 41)?;
/// batch.push(b"entry 41")?;
/// batch.push(b"entry 42")?;
/// let len = batch.finish()?;
///
/// let Some((Message::Entries(entries), used)) = Message::decode(&buf)? else {
///     panic!("one Entries frame");
/// };
/// assert_eq!(used, len);
/// assert_eq!(entries.last_seq(), 42);
/// assert_eq!(entries.iter().collect::<Vec<_>>(), [b"entry 41", b"entry 42"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EntriesWriter<'v> {
    out: &'v mut Vec<u8>,
    start: usize,
    first_seq: u64,
    count: u32,
    finished: bool,
}

impl<'v> EntriesWriter<'v> {
    /// Begins a batch whose first entry has seq `first_seq` (at least 1),
    /// appending to `out`.
    pub fn new(out: &'v mut Vec<u8>, first_seq: u64) -> Result<Self, EncodeError> {
        if first_seq == 0 {
            return Err(EncodeError::SeqOutOfRange {
                first_seq,
                count: 0,
            });
        }
        let start = frame::begin(out, MessageKind::Entries);
        out.extend_from_slice(&first_seq.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        Ok(EntriesWriter {
            out,
            start,
            first_seq,
            count: 0,
            finished: false,
        })
    }

    /// The payload length so far.
    pub fn payload_len(&self) -> usize {
        self.out.len() - self.start - HEADER_LEN
    }

    /// The number of entries so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether an entry of `len` bytes still fits in this frame.
    pub fn fits(&self, len: usize) -> bool {
        len <= MAX_ENTRY_LEN && self.payload_len() + ENTRY_PREFIX_LEN + len <= MAX_PAYLOAD_LEN
    }

    /// Appends the next entry (seq `first_seq + count`). When it does not
    /// fit ([`EncodeError::FrameTooLarge`]: finish this batch and begin
    /// another) or is too large, nothing is appended.
    pub fn push(&mut self, entry: &[u8]) -> Result<(), EncodeError> {
        if entry.len() > MAX_ENTRY_LEN {
            return Err(EncodeError::EntryTooLarge { len: entry.len() });
        }
        if !self.fits(entry.len()) {
            return Err(EncodeError::FrameTooLarge {
                len: self.payload_len() + ENTRY_PREFIX_LEN + entry.len(),
            });
        }
        let count = self.count.checked_add(1);
        let seq_ok = count.is_some_and(|n| self.first_seq.checked_add(u64::from(n) - 1).is_some());
        let (Some(count), true) = (count, seq_ok) else {
            return Err(EncodeError::SeqOutOfRange {
                first_seq: self.first_seq,
                count: u64::from(self.count) + 1,
            });
        };
        // `fits` checked len <= MAX_ENTRY_LEN < u32::MAX.
        self.out
            .extend_from_slice(&(entry.len() as u32).to_le_bytes());
        self.out.extend_from_slice(entry);
        self.count = count;
        Ok(())
    }

    /// Completes the frame and returns its length. A batch without entries
    /// is [`EncodeError::EmptyBatch`], and leaves nothing in the buffer.
    pub fn finish(mut self) -> Result<usize, EncodeError> {
        if self.count == 0 {
            return Err(EncodeError::EmptyBatch);
        }
        // The count follows the first seq (u64) at the start of the payload.
        let count_at = self.start + HEADER_LEN + 8;
        if let Some(field) = self.out.get_mut(count_at..count_at + 4) {
            field.copy_from_slice(&self.count.to_le_bytes());
        }
        self.finished = true;
        frame::finish(self.out, self.start)
    }
}

impl Drop for EntriesWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.out.truncate(self.start);
        }
    }
}
