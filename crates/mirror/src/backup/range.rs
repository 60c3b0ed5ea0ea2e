//! The backup's journal range (`journal.range`): the entries from the
//! first one to replay to the consistent seq, each as the journal encodes
//! it (`drx_journal::encode_entry`, stamp included) behind a u32
//! little-endian length, after an 8-byte magic `DRXRNG1\0`. Its integrity
//! is the manifest's blake3 of the whole file; each entry is decoded
//! strictly and the seqs must follow one another.

use super::error::BackupError;
use drx_journal::{EntryRef, decode_entry, encode_entry};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The range file's name in a backup directory.
pub const RANGE_FILE: &str = "journal.range";
/// The magic at the start of a range file.
const MAGIC: &[u8; 8] = b"DRXRNG1\0";
/// The largest entry a range file may hold (the journal's frame limit).
const MAX_ENTRY: usize = drx_journal::MAX_PAYLOAD;

/// Appends entries to a new range file.
#[derive(Debug)]
pub(crate) struct RangeWriter {
    path: PathBuf,
    out: BufWriter<File>,
    buf: Vec<u8>,
    last: Option<u64>,
    entries: u64,
}

impl RangeWriter {
    /// Creates (or empties) the range file at `path`.
    pub fn create(path: &Path) -> Result<RangeWriter, BackupError> {
        let file = File::create(path).map_err(BackupError::io(path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC).map_err(BackupError::io(path))?;
        Ok(RangeWriter {
            path: path.to_owned(),
            out,
            buf: Vec::new(),
            last: None,
            entries: 0,
        })
    }

    /// Entries written.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Appends `entry`, which must follow the last one written.
    pub fn push(&mut self, entry: &EntryRef<'_>) -> Result<(), BackupError> {
        if let Some(last) = self.last
            && entry.seq != last + 1
        {
            return Err(BackupError::Inconsistent(format!(
                "journal seq {} does not follow seq {last}",
                entry.seq
            )));
        }
        self.buf.clear();
        encode_entry(entry, &mut self.buf).map_err(BackupError::journal(&self.path))?;
        let len = u32::try_from(self.buf.len()).map_err(|_| BackupError::BadRange {
            path: self.path.clone(),
            index: self.entries,
            reason: "entry too large".into(),
        })?;
        self.out
            .write_all(&len.to_le_bytes())
            .and_then(|()| self.out.write_all(&self.buf))
            .map_err(BackupError::io(&self.path))?;
        self.last = Some(entry.seq);
        self.entries += 1;
        Ok(())
    }

    /// Flushes and fsyncs the file.
    pub fn finish(self) -> Result<(), BackupError> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| BackupError::io(&path)(e.into_error()))?;
        file.sync_all().map_err(BackupError::io(&path))
    }
}

/// Reads a range file's entries in order.
#[derive(Debug)]
pub(crate) struct RangeReader {
    path: PathBuf,
    input: BufReader<File>,
    buf: Vec<u8>,
    index: u64,
    last: Option<u64>,
}

impl RangeReader {
    /// Opens the range file at `path`; checks its magic.
    pub fn open(path: &Path) -> Result<RangeReader, BackupError> {
        let file = File::open(path).map_err(BackupError::io(path))?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut magic = [0u8; 8];
        input
            .read_exact(&mut magic)
            .map_err(BackupError::io(path))?;
        if &magic != MAGIC {
            return Err(BackupError::BadRange {
                path: path.to_owned(),
                index: 0,
                reason: "not a drx journal range (bad magic)".into(),
            });
        }
        Ok(RangeReader {
            path: path.to_owned(),
            input,
            buf: Vec::new(),
            index: 0,
            last: None,
        })
    }

    /// The next entry, `None` at the end of the file.
    pub fn next_entry(&mut self) -> Result<Option<EntryRef<'_>>, BackupError> {
        let bad = |index: u64, reason: String| BackupError::BadRange {
            path: self.path.clone(),
            index,
            reason,
        };
        let mut len = [0u8; 4];
        match self.input.read(&mut len[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(BackupError::io(&self.path)(e)),
        }
        self.input
            .read_exact(&mut len[1..])
            .map_err(|e| bad(self.index, format!("length: {e}")))?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_ENTRY {
            return Err(bad(self.index, format!("length {len} is too large")));
        }
        self.buf.resize(len, 0);
        self.input
            .read_exact(&mut self.buf)
            .map_err(|e| bad(self.index, format!("payload: {e}")))?;
        let index = self.index;
        self.index += 1;
        let entry = decode_entry(&self.buf).map_err(|e| BackupError::BadRange {
            path: self.path.clone(),
            index,
            reason: e.to_string(),
        })?;
        if let Some(last) = self.last
            && entry.seq != last + 1
        {
            return Err(BackupError::BadRange {
                path: self.path.clone(),
                index,
                reason: format!("seq {} does not follow seq {last}", entry.seq),
            });
        }
        self.last = Some(entry.seq);
        Ok(Some(entry))
    }
}
