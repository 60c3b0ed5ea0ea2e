//! The messages of a transfer session (docs/PROTOCOL.md, "Transfer
//! sessions", version 2): `drx sync` and `drx refresh` on the primary host
//! bring a standby's replica of a file to the primary's content by sending
//! only the blocks whose digests differ (docs/DR.md, "Delta resync").
//!
//! * [`SumsRequest`] — the sender asks for the replica's block digests;
//! * [`Sums`] — the standby's answer: the replica's length (or that it has
//!   none) and a 16-byte truncated blake3 digest per block;
//! * [`Blocks`] — bytes of the primary's file at an offset (at most
//!   [`MAX_BLOCKS_DATA`]);
//! * [`BlocksEnd`] — the file's length as read and the primary's journal
//!   seq read before it: the standby cuts the replica to that length and
//!   replays its own journal's entries of the file after that seq;
//! * [`Synced`] — the standby's answer once the replica is durable, or why
//!   it gave up on the file.

use super::error::{DecodeError, EncodeError};
use super::message::Fields;

/// The most bytes of file data in one `Blocks` message.
pub const MAX_BLOCKS_DATA: usize = 1024 * 1024;

/// The length of one block digest: blake3 truncated to 16 bytes.
pub const SUM_LEN: usize = 16;

/// The most digests in one `Sums` message: 2²¹, 32 MiB of digests, well
/// within a frame.
pub const MAX_SUMS: usize = 1 << 21;

/// A block digest: the first 16 bytes of the block's blake3 hash.
pub type BlockSum = [u8; SUM_LEN];

const FLAG_ABSENT: u8 = 0b0000_0001;
const FLAG_FAILED: u8 = 0b0000_0001;

/// The sender asks for the standby's block digests of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumsRequest {
    /// A process the Files Table selects the file for (the standby maps
    /// the name as its replica does).
    pub process: String,
    /// The file, as the primary's journal names it.
    pub file: String,
    /// The block size, at least 1.
    pub block_size: u32,
}

/// The standby's block digests of its replica of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sums {
    /// As in the request.
    pub process: String,
    /// As in the request.
    pub file: String,
    /// The replica's length; `None`: it has no replica of the file.
    pub len: Option<u64>,
    /// As in the request.
    pub block_size: u32,
    /// One digest per block, `ceil(len / block_size)` of them (none when
    /// absent); the last block may be short.
    pub sums: Vec<BlockSum>,
}

/// Bytes of the primary's file, for the replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocks {
    /// As in the request.
    pub process: String,
    /// As in the request.
    pub file: String,
    /// Where `data` goes.
    pub offset: u64,
    /// The file's bytes at `offset` (at most [`MAX_BLOCKS_DATA`]).
    pub data: Vec<u8>,
}

/// The last message of one file's transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocksEnd {
    /// As in the request.
    pub process: String,
    /// As in the request.
    pub file: String,
    /// The primary file's length as read.
    pub len: u64,
    /// The primary journal's last seq, read before the file was: the
    /// standby replays its journal's entries of the file after it.
    pub from_seq: u64,
}

/// The standby's answer to a `BlocksEnd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// As in the request.
    pub process: String,
    /// As in the request.
    pub file: String,
    /// `Blocks` messages written.
    pub blocks: u64,
    /// Bytes written from them.
    pub bytes: u64,
    /// Entries of the standby journal replayed over them.
    pub replayed: u64,
    /// `Some`: the replica is not the primary's file (why, for a person;
    /// run the sync again).
    pub failed: Option<String>,
}

pub(crate) fn name(out: &mut Vec<u8>, s: &str) {
    // Checked: at most u16::MAX bytes.
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

pub(crate) fn check_name(s: &str) -> Result<(), EncodeError> {
    if s.len() > usize::from(u16::MAX) {
        return Err(EncodeError::Invalid(format!(
            "a name of {} bytes (at most 65,535)",
            s.len()
        )));
    }
    Ok(())
}

pub(crate) fn read_name(f: &mut Fields<'_>, field: &str) -> Result<String, DecodeError> {
    let len = f.u16(&format!("{field} length"))?;
    f.text(usize::from(len), field)
}

/// The number of blocks of `len` bytes in blocks of `block_size`, if it is
/// small enough for one `Sums`.
pub fn block_count(len: u64, block_size: u32) -> Option<usize> {
    if block_size == 0 {
        return None;
    }
    usize::try_from(len.div_ceil(u64::from(block_size)))
        .ok()
        .filter(|&n| n <= MAX_SUMS)
}

impl SumsRequest {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.file)?;
        if self.block_size == 0 {
            return Err(EncodeError::Invalid("a block size of 0".into()));
        }
        Ok(())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.process);
        name(out, &self.file);
        out.extend_from_slice(&self.block_size.to_le_bytes());
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<SumsRequest, DecodeError> {
        let process = read_name(f, "process")?;
        let file = read_name(f, "file")?;
        let block_size = f.u32("block size")?;
        if block_size == 0 {
            return Err(f.error("block size: 0, at least 1"));
        }
        Ok(SumsRequest {
            process,
            file,
            block_size,
        })
    }
}

impl Sums {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.file)?;
        let expected = match self.len {
            None => Some(0),
            Some(len) => block_count(len, self.block_size),
        };
        if self.block_size == 0 || expected != Some(self.sums.len()) {
            return Err(EncodeError::Invalid(format!(
                "Sums of {} blocks for a length of {:?} in blocks of {}",
                self.sums.len(),
                self.len,
                self.block_size
            )));
        }
        Ok(())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        out.push(if self.len.is_none() { FLAG_ABSENT } else { 0 });
        name(out, &self.process);
        name(out, &self.file);
        out.extend_from_slice(&self.len.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.block_size.to_le_bytes());
        // Checked: at most MAX_SUMS.
        out.extend_from_slice(&(self.sums.len() as u32).to_le_bytes());
        out.reserve(self.sums.len() * SUM_LEN);
        for sum in &self.sums {
            out.extend_from_slice(sum);
        }
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<Sums, DecodeError> {
        let flags = f.u8("flags")?;
        if flags & !FLAG_ABSENT != 0 {
            return Err(f.error(format!("flags: unknown bits 0x{flags:02X}")));
        }
        let process = read_name(f, "process")?;
        let file = read_name(f, "file")?;
        let len = f.u64("file length")?;
        let block_size = f.u32("block size")?;
        let count = f.u32("block count")? as usize;
        let absent = flags & FLAG_ABSENT != 0;
        if absent && len != 0 {
            return Err(f.error("an absent file with a length"));
        }
        if block_size == 0 {
            return Err(f.error("block size: 0, at least 1"));
        }
        let expected = if absent {
            Some(0)
        } else {
            block_count(len, block_size)
        };
        if expected != Some(count) {
            return Err(f.error(format!(
                "block count {count} for a length of {len} in blocks of {block_size}"
            )));
        }
        let raw = f.bytes(count * SUM_LEN, "sums")?;
        let sums = raw
            .chunks_exact(SUM_LEN)
            .map(|c| {
                let mut sum = [0; SUM_LEN];
                sum.copy_from_slice(c);
                sum
            })
            .collect();
        Ok(Sums {
            process,
            file,
            len: (!absent).then_some(len),
            block_size,
            sums,
        })
    }
}

impl Blocks {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.file)?;
        if self.data.len() > MAX_BLOCKS_DATA {
            return Err(EncodeError::Invalid(format!(
                "a Blocks of {} bytes of data (at most {MAX_BLOCKS_DATA})",
                self.data.len()
            )));
        }
        Ok(())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.process);
        name(out, &self.file);
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.data);
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<Blocks, DecodeError> {
        let process = read_name(f, "process")?;
        let file = read_name(f, "file")?;
        let offset = f.u64("offset")?;
        let len = f.u32("data length")? as usize;
        if len > MAX_BLOCKS_DATA {
            return Err(f.error(format!("data length {len} > {MAX_BLOCKS_DATA}")));
        }
        if offset.checked_add(len as u64).is_none() {
            return Err(f.error(format!("{len} bytes at offset {offset} pass 2^64")));
        }
        let data = f.bytes(len, "data")?.to_vec();
        Ok(Blocks {
            process,
            file,
            offset,
            data,
        })
    }
}

impl BlocksEnd {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.file)
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.process);
        name(out, &self.file);
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.from_seq.to_le_bytes());
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<BlocksEnd, DecodeError> {
        Ok(BlocksEnd {
            process: read_name(f, "process")?,
            file: read_name(f, "file")?,
            len: f.u64("file length")?,
            from_seq: f.u64("from seq")?,
        })
    }
}

impl Synced {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.file)?;
        check_name(self.failed.as_deref().unwrap_or_default())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        out.push(if self.failed.is_some() {
            FLAG_FAILED
        } else {
            0
        });
        name(out, &self.process);
        name(out, &self.file);
        out.extend_from_slice(&self.blocks.to_le_bytes());
        out.extend_from_slice(&self.bytes.to_le_bytes());
        out.extend_from_slice(&self.replayed.to_le_bytes());
        name(out, self.failed.as_deref().unwrap_or_default());
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<Synced, DecodeError> {
        let flags = f.u8("flags")?;
        if flags & !FLAG_FAILED != 0 {
            return Err(f.error(format!("flags: unknown bits 0x{flags:02X}")));
        }
        let process = read_name(f, "process")?;
        let file = read_name(f, "file")?;
        let blocks = f.u64("blocks")?;
        let bytes = f.u64("bytes")?;
        let replayed = f.u64("replayed")?;
        let text = read_name(f, "text")?;
        let failed = flags & FLAG_FAILED != 0;
        if !failed && !text.is_empty() {
            return Err(f.error("a text without the failed flag"));
        }
        Ok(Synced {
            process,
            file,
            blocks,
            bytes,
            replayed,
            failed: failed.then_some(text),
        })
    }
}

/// The most files in one [`Listing`].
pub const MAX_LISTED: usize = 1 << 16;

/// The equalizer asks the standby which files of one directory match a
/// star-name (`drx equalize`, docs/DR.md, "Equalizer").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// A process the equalize record is for.
    pub process: String,
    /// The directory, as the primary names it (the standby maps it as it
    /// maps a file of it).
    pub dir: String,
    /// The file-name star-name (`*` any run, `?` one character).
    pub pattern: String,
}

/// One file of a [`Listing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The file's name (no directory).
    pub name: String,
    /// Its length.
    pub len: u64,
    /// Its modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
}

/// The standby's answer to a [`ListRequest`]: the regular files of the
/// mapped directory whose names match (none when it does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// As in the request.
    pub process: String,
    /// As in the request.
    pub dir: String,
    /// The matching files, at most [`MAX_LISTED`].
    pub files: Vec<Listed>,
}

/// What the equalizer asks of one replica file besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Set its modification time (nanoseconds since the Unix epoch).
    Stamp(u64),
    /// Delete it (an orphan).
    Remove,
}

/// Equalizer → standby: stamp or remove one file; answered by [`Touched`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchFile {
    /// As in a `SumsRequest`.
    pub process: String,
    /// The file, as the primary names it.
    pub file: String,
    /// What to do.
    pub touch: Touch,
}

/// The standby's answer to a [`TouchFile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    /// As in the request.
    pub process: String,
    /// As in the request.
    pub file: String,
    /// `Some`: it was not done (why, for a person).
    pub failed: Option<String>,
}

const TOUCH_STAMP: u8 = 1;
const TOUCH_REMOVE: u8 = 2;

impl ListRequest {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.dir)?;
        check_name(&self.pattern)
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.process);
        name(out, &self.dir);
        name(out, &self.pattern);
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<ListRequest, DecodeError> {
        Ok(ListRequest {
            process: read_name(f, "process")?,
            dir: read_name(f, "directory")?,
            pattern: read_name(f, "pattern")?,
        })
    }
}

impl Listing {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.dir)?;
        if self.files.len() > MAX_LISTED {
            return Err(EncodeError::Invalid(format!(
                "a Listing of {} files (at most {MAX_LISTED})",
                self.files.len()
            )));
        }
        self.files.iter().try_for_each(|f| check_name(&f.name))
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.process);
        name(out, &self.dir);
        // Checked: at most MAX_LISTED.
        out.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        for file in &self.files {
            name(out, &file.name);
            out.extend_from_slice(&file.len.to_le_bytes());
            out.extend_from_slice(&file.mtime_ns.to_le_bytes());
        }
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<Listing, DecodeError> {
        let process = read_name(f, "process")?;
        let dir = read_name(f, "directory")?;
        let count = f.u32("file count")? as usize;
        if count > MAX_LISTED {
            return Err(f.error(format!("file count {count} > {MAX_LISTED}")));
        }
        let mut files = Vec::with_capacity(count);
        for _ in 0..count {
            files.push(Listed {
                name: read_name(f, "file name")?,
                len: f.u64("file length")?,
                mtime_ns: f.u64("modification time")?,
            });
        }
        Ok(Listing {
            process,
            dir,
            files,
        })
    }
}

impl TouchFile {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.file)
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        let (what, mtime) = match self.touch {
            Touch::Stamp(ns) => (TOUCH_STAMP, ns),
            Touch::Remove => (TOUCH_REMOVE, 0),
        };
        out.push(what);
        name(out, &self.process);
        name(out, &self.file);
        out.extend_from_slice(&mtime.to_le_bytes());
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<TouchFile, DecodeError> {
        let what = f.u8("what")?;
        let process = read_name(f, "process")?;
        let file = read_name(f, "file")?;
        let mtime = f.u64("modification time")?;
        let touch = match (what, mtime) {
            (TOUCH_STAMP, ns) => Touch::Stamp(ns),
            (TOUCH_REMOVE, 0) => Touch::Remove,
            (TOUCH_REMOVE, _) => return Err(f.error("a removal with a modification time")),
            (other, _) => return Err(f.error(format!("what: unknown 0x{other:02X}"))),
        };
        Ok(TouchFile {
            process,
            file,
            touch,
        })
    }
}

impl Touched {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.file)?;
        check_name(self.failed.as_deref().unwrap_or_default())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        out.push(if self.failed.is_some() {
            FLAG_FAILED
        } else {
            0
        });
        name(out, &self.process);
        name(out, &self.file);
        name(out, self.failed.as_deref().unwrap_or_default());
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<Touched, DecodeError> {
        let flags = f.u8("flags")?;
        if flags & !FLAG_FAILED != 0 {
            return Err(f.error(format!("flags: unknown bits 0x{flags:02X}")));
        }
        let process = read_name(f, "process")?;
        let file = read_name(f, "file")?;
        let text = read_name(f, "text")?;
        let failed = flags & FLAG_FAILED != 0;
        if !failed && !text.is_empty() {
            return Err(f.error("a text without the failed flag"));
        }
        Ok(Touched {
            process,
            file,
            failed: failed.then_some(text),
        })
    }
}
