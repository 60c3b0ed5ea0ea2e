//! Record files on disk, in the four organizations, without journaling.
//!
//! Each change returns its exact byte effect (offset and bytes) and its
//! record meaning, which [`crate::Capture`] appends to the journal once the
//! I/O has completed. Buffers are reused: a record operation allocates
//! nothing in steady state (except the in-memory index of an indexed file).

use crate::error::io;
use crate::{CaptureError, FileSpec, Org};
use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Which record an operation addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A 1-based record number (fixed, relative and sequential files).
    RecNo(u64),
    /// The raw bytes of the key fields (indexed files).
    Key(&'a [u8]),
}

/// What a record operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOpKind {
    /// A record was added.
    Insert,
    /// A record was rewritten.
    Update,
    /// A record was deleted.
    Delete,
}

/// The outcome of one record operation: the byte effect and the record meaning.
#[derive(Debug)]
pub struct Applied<'a> {
    /// The file.
    pub path: &'a Path,
    /// Where the bytes were written.
    pub offset: u64,
    /// The bytes written.
    pub data: &'a [u8],
    /// Insert, update or delete.
    pub kind: RecordOpKind,
    /// The record number (fixed, relative, sequential).
    pub recno: Option<u64>,
    /// The key (indexed).
    pub key: Option<&'a [u8]>,
    /// The record before (update, delete).
    pub before: Option<&'a [u8]>,
    /// The record after (insert, update).
    pub after: Option<&'a [u8]>,
    /// The bytes the write replaced, where it overlapped the old file
    /// (kept only while [`RecordFile::keep_replaced`] is on).
    pub replaced: &'a [u8],
    /// The file's length before the operation.
    pub old_len: u64,
}

#[derive(Debug)]
enum State {
    /// `count` records.
    Fixed { count: u64 },
    /// `slots` slots, `present` of them holding a record.
    Relative { slots: u64, present: u64 },
    /// The offset of each record, and the end of the file.
    Sequential { offsets: Vec<u64>, end: u64 },
    /// Key → slot, the free slots, and the slot count.
    Indexed {
        index: HashMap<Vec<u8>, u64>,
        free: BTreeSet<u64>,
        slots: u64,
    },
}

/// An open record file.
#[derive(Debug)]
pub struct RecordFile {
    path: PathBuf,
    file: File,
    spec: FileSpec,
    state: State,
    /// The bytes of the last write (status byte or length, then the record).
    out: Vec<u8>,
    /// The record before the last change.
    before: Vec<u8>,
    /// The key of the last indexed change.
    key: Vec<u8>,
    /// The file's length in bytes.
    file_len: u64,
    /// Whether to keep the bytes each write replaces (inside a transaction).
    keep_replaced: bool,
    /// The bytes the last write replaced (where it overlapped the file).
    replaced: Vec<u8>,
    /// The file's length before the last write.
    old_len: u64,
}

const PRESENT: u8 = 1;
const EMPTY: u8 = 0;

mod run;
mod scan;

pub use run::AppendRun;

impl RecordFile {
    /// Creates (or empties) the file at `path`.
    pub fn create(path: &Path, spec: FileSpec) -> Result<RecordFile, CaptureError> {
        check_spec(path, &spec)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(io(path))?;
        Self::with_file(path, file, spec)
    }

    /// Opens an existing file for reading and writing.
    pub fn open(path: &Path, spec: FileSpec) -> Result<RecordFile, CaptureError> {
        check_spec(path, &spec)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        Self::with_file(path, file, spec)
    }

    /// Opens an existing file for reading only (snapshots, `drx demo` input).
    pub fn open_read_only(path: &Path, spec: FileSpec) -> Result<RecordFile, CaptureError> {
        check_spec(path, &spec)?;
        let file = File::open(path).map_err(io(path))?;
        Self::with_file(path, file, spec)
    }

    fn with_file(path: &Path, file: File, spec: FileSpec) -> Result<RecordFile, CaptureError> {
        let len = file.metadata().map_err(io(path))?.len();
        let mut rf = RecordFile {
            path: path.to_owned(),
            file,
            state: State::Fixed { count: 0 },
            out: Vec::with_capacity(spec.record_len + 4),
            before: Vec::with_capacity(spec.record_len + 4),
            key: Vec::new(),
            file_len: len,
            keep_replaced: false,
            replaced: Vec::new(),
            old_len: len,
            spec,
        };
        rf.state = rf.scan(len)?;
        Ok(rf)
    }

    fn slot_len(&self) -> u64 {
        self.spec.record_len as u64 + 1
    }

    fn bad(&self, message: String) -> CaptureError {
        CaptureError::BadRecord {
            path: self.path.clone(),
            message,
        }
    }

    fn key_of(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), CaptureError> {
        let layout = self
            .spec
            .layout
            .as_ref()
            .ok_or_else(|| self.bad("indexed files need a layout".into()))?;
        layout
            .key_bytes(record, out)
            .map_err(|e| self.bad(format!("key: {e}")))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's spec.
    pub fn spec(&self) -> &FileSpec {
        &self.spec
    }

    /// The number of records in the file.
    pub fn len(&self) -> u64 {
        match &self.state {
            State::Fixed { count } => *count,
            State::Relative { present, .. } => *present,
            State::Sequential { offsets, .. } => offsets.len() as u64,
            State::Indexed { index, .. } => index.len() as u64,
        }
    }

    /// Whether the file holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_len(&self, record: &[u8]) -> Result<(), CaptureError> {
        let ok = if self.spec.organization == Org::Sequential {
            record.len() <= self.spec.record_len
        } else {
            record.len() == self.spec.record_len
        };
        if ok {
            Ok(())
        } else {
            Err(self.bad(format!(
                "record of {} bytes; the file's records are {}{} bytes",
                record.len(),
                if self.spec.organization == Org::Sequential {
                    "at most "
                } else {
                    ""
                },
                self.spec.record_len
            )))
        }
    }

    /// Writes `self.out` at `offset`, first keeping the bytes it replaces
    /// when asked to.
    fn put(&mut self, offset: u64) -> Result<(), CaptureError> {
        self.old_len = self.file_len;
        self.replaced.clear();
        if self.keep_replaced && offset < self.file_len {
            let n = (self.file_len - offset).min(self.out.len() as u64) as usize;
            self.replaced.resize(n, 0);
            self.file
                .read_exact_at(&mut self.replaced, offset)
                .map_err(io(&self.path))?;
        }
        self.file
            .write_all_at(&self.out, offset)
            .map_err(io(&self.path))?;
        self.file_len = self.file_len.max(offset + self.out.len() as u64);
        Ok(())
    }

    /// Keeps (or stops keeping) the bytes each write replaces, so that a
    /// transaction can be undone.
    pub fn keep_replaced(&mut self, on: bool) {
        self.keep_replaced = on;
    }

    /// Re-reads the file's state from disk (after an abort undid changes
    /// behind this handle's back).
    pub fn reload(&mut self) -> Result<(), CaptureError> {
        let len = self.file.metadata().map_err(io(&self.path))?.len();
        self.file_len = len;
        self.state = self.scan(len)?;
        Ok(())
    }

    /// Reads the slot `n` (0-based) into `self.before`, returning its status.
    fn read_slot(&mut self, n: u64) -> Result<u8, CaptureError> {
        let slot = self.slot_len();
        self.before.resize(slot as usize, 0);
        self.file
            .read_exact_at(&mut self.before, n * slot)
            .map_err(io(&self.path))?;
        let status = self.before[0];
        self.before.remove(0);
        Ok(status)
    }

    /// Adds a record: appended (fixed, sequential), into slot `recno` or the
    /// next slot (relative), by its key (indexed).
    pub fn write(
        &mut self,
        record: &[u8],
        recno: Option<u64>,
    ) -> Result<Applied<'_>, CaptureError> {
        self.check_len(record)?;
        let rec = self.spec.record_len as u64;
        let slot = self.slot_len();
        match &mut self.state {
            State::Fixed { count } => {
                let count = *count;
                self.check_append(recno, count)?;
                let offset = count * rec;
                let n = count + 1;
                self.out.clear();
                self.out.extend_from_slice(record);
                self.put(offset)?;
                if let State::Fixed { count } = &mut self.state {
                    *count = n;
                }
                Ok(self.applied(offset, RecordOpKind::Insert, Some(n), false, false, true, 0))
            }
            State::Relative { slots, .. } => {
                let slots_now = *slots;
                let n = recno.unwrap_or(slots_now + 1);
                if n == 0 {
                    return Err(self.bad("record numbers start at 1".into()));
                }
                let offset = (n - 1)
                    .checked_mul(slot)
                    .filter(|o| o.checked_add(slot).is_some())
                    .ok_or_else(|| self.bad(format!("record number {n} is too large")))?;
                if n <= slots_now && self.read_slot(n - 1)? == PRESENT {
                    return Err(CaptureError::SlotTaken {
                        path: self.path.clone(),
                        recno: n,
                    });
                }
                self.out.clear();
                self.out.push(PRESENT);
                self.out.extend_from_slice(record);
                // Slots skipped over read back as empty (zero status bytes).
                self.put(offset)?;
                if let State::Relative { slots, present } = &mut self.state {
                    *slots = (*slots).max(n);
                    *present += 1;
                }
                Ok(self.applied(offset, RecordOpKind::Insert, Some(n), false, false, true, 1))
            }
            State::Sequential { offsets, end } => {
                let (count, offset) = (offsets.len() as u64, *end);
                self.check_append(recno, count)?;
                let n = count + 1;
                self.out.clear();
                self.out
                    .extend_from_slice(&(record.len() as u32).to_be_bytes());
                self.out.extend_from_slice(record);
                self.put(offset)?;
                if let State::Sequential { offsets, end } = &mut self.state {
                    offsets.push(offset);
                    *end = offset + 4 + record.len() as u64;
                }
                Ok(self.applied(offset, RecordOpKind::Insert, Some(n), false, false, true, 4))
            }
            State::Indexed { .. } => {
                if let Some(n) = recno {
                    return Err(self.bad(format!(
                        "record {n}: an indexed file places records by key, not by record number"
                    )));
                }
                let mut key = std::mem::take(&mut self.key);
                key.clear();
                let result = self.key_of(record, &mut key);
                self.key = key;
                result?;
                let State::Indexed { index, free, slots } = &mut self.state else {
                    unreachable!("state checked above")
                };
                if index.contains_key(&self.key) {
                    return Err(CaptureError::DuplicateKey {
                        path: self.path.clone(),
                        key: hex(&self.key),
                    });
                }
                let n = free.first().copied().unwrap_or(*slots);
                self.out.clear();
                self.out.push(PRESENT);
                self.out.extend_from_slice(record);
                let offset = n * slot;
                self.put(offset)?;
                let State::Indexed { index, free, slots } = &mut self.state else {
                    unreachable!("state checked above")
                };
                free.remove(&n);
                *slots = (*slots).max(n + 1);
                index.insert(self.key.clone(), n);
                Ok(self.applied(offset, RecordOpKind::Insert, None, true, false, true, 1))
            }
        }
    }

    /// Checks the record number a fixed or sequential write asks for: these
    /// files only append, so it must be the next one.
    fn check_append(&self, recno: Option<u64>, count: u64) -> Result<(), CaptureError> {
        match recno {
            Some(n) if n >= 1 && n <= count => Err(CaptureError::SlotTaken {
                path: self.path.clone(),
                recno: n,
            }),
            Some(n) if n != count + 1 => Err(self.bad(format!(
                "record {n}: {} files only append; the next record is {}",
                self.spec.organization.name(),
                count + 1
            ))),
            _ => Ok(()),
        }
    }

    /// Finds the slot or offset of `target` and loads the record into `before`.
    fn locate(
        &mut self,
        target: Target<'_>,
        op: &'static str,
    ) -> Result<(u64, Option<u64>), CaptureError> {
        let rec = self.spec.record_len as u64;
        let missing = |path: &Path| CaptureError::NoSuchRecord {
            path: path.to_owned(),
            locator: match target {
                Target::RecNo(n) => format!("record {n}"),
                Target::Key(k) => format!("key {}", hex(k)),
            },
        };
        match (&self.state, target) {
            (State::Fixed { count }, Target::RecNo(n)) if n >= 1 && n <= *count => {
                self.before.resize(rec as usize, 0);
                self.file
                    .read_exact_at(&mut self.before, (n - 1) * rec)
                    .map_err(io(&self.path))?;
                Ok(((n - 1) * rec, Some(n)))
            }
            (State::Relative { slots, .. }, Target::RecNo(n)) if n >= 1 && n <= *slots => {
                if self.read_slot(n - 1)? != PRESENT {
                    return Err(missing(&self.path));
                }
                Ok(((n - 1) * self.slot_len(), Some(n)))
            }
            (State::Sequential { offsets, .. }, Target::RecNo(n))
                if n >= 1 && n as usize <= offsets.len() =>
            {
                let offset = offsets[n as usize - 1];
                let mut len = [0u8; 4];
                self.file
                    .read_exact_at(&mut len, offset)
                    .map_err(io(&self.path))?;
                self.before.resize(u32::from_be_bytes(len) as usize, 0);
                self.file
                    .read_exact_at(&mut self.before, offset + 4)
                    .map_err(io(&self.path))?;
                Ok((offset, Some(n)))
            }
            (State::Indexed { index, .. }, Target::Key(k)) => {
                let Some(&n) = index.get(k) else {
                    return Err(missing(&self.path));
                };
                self.read_slot(n)?;
                self.key.clear();
                self.key.extend_from_slice(k);
                Ok((n * self.slot_len(), None))
            }
            (State::Indexed { .. }, Target::RecNo(_)) | (_, Target::Key(_)) => {
                Err(self.bad(format!(
                    "{op} by {} is not possible in {} {} file",
                    if matches!(target, Target::Key(_)) {
                        "key"
                    } else {
                        "record number"
                    },
                    if self.spec.organization == Org::Indexed {
                        "an"
                    } else {
                        "a"
                    },
                    self.spec.organization.name()
                )))
            }
            _ => Err(missing(&self.path)),
        }
    }

    /// Rewrites the record at `target` (same length, for sequential files;
    /// same key, for indexed files).
    pub fn rewrite(
        &mut self,
        target: Target<'_>,
        record: &[u8],
    ) -> Result<Applied<'_>, CaptureError> {
        self.check_len(record)?;
        let (offset, recno) = self.locate(target, "rewrite")?;
        let prefix = match self.spec.organization {
            Org::Fixed => 0,
            Org::Relative | Org::Indexed => 1,
            Org::Sequential => {
                if record.len() != self.before.len() {
                    return Err(self.bad(format!(
                        "a sequential rewrite keeps the length: record {} has {} bytes, not {}",
                        recno.unwrap_or(0),
                        self.before.len(),
                        record.len()
                    )));
                }
                4
            }
        };
        if self.spec.organization == Org::Indexed {
            let mut key = Vec::new();
            self.key_of(record, &mut key)?;
            if key != self.key {
                return Err(self.bad(format!(
                    "a rewrite cannot change the key ({} to {}): delete and write instead",
                    hex(&self.key),
                    hex(&key)
                )));
            }
        }
        self.out.clear();
        match prefix {
            1 => self.out.push(PRESENT),
            4 => self
                .out
                .extend_from_slice(&(record.len() as u32).to_be_bytes()),
            _ => {}
        }
        self.out.extend_from_slice(record);
        self.put(offset)?;
        let indexed = self.spec.organization == Org::Indexed;
        Ok(self.applied(
            offset,
            RecordOpKind::Update,
            recno,
            indexed,
            true,
            true,
            prefix,
        ))
    }

    /// Deletes the record at `target` (relative and indexed files).
    pub fn delete(&mut self, target: Target<'_>) -> Result<Applied<'_>, CaptureError> {
        if matches!(self.spec.organization, Org::Fixed | Org::Sequential) {
            return Err(CaptureError::Unsupported {
                path: self.path.clone(),
                op: "delete",
                organization: self.spec.organization.name(),
            });
        }
        let (offset, recno) = self.locate(target, "delete")?;
        self.out.clear();
        self.out.push(EMPTY);
        self.put(offset)?;
        match &mut self.state {
            State::Indexed { index, free, .. } => {
                index.remove(&self.key);
                free.insert(offset / (self.spec.record_len as u64 + 1));
            }
            State::Relative { present, .. } => *present -= 1,
            State::Fixed { .. } | State::Sequential { .. } => {}
        }
        let indexed = self.spec.organization == Org::Indexed;
        Ok(self.applied(offset, RecordOpKind::Delete, recno, indexed, true, false, 0))
    }

    #[allow(clippy::too_many_arguments)]
    fn applied(
        &self,
        offset: u64,
        kind: RecordOpKind,
        recno: Option<u64>,
        keyed: bool,
        before: bool,
        after: bool,
        prefix: usize,
    ) -> Applied<'_> {
        Applied {
            path: &self.path,
            offset,
            data: &self.out,
            kind,
            recno,
            key: keyed.then_some(self.key.as_slice()),
            before: before.then_some(self.before.as_slice()),
            after: after.then(|| &self.out[prefix..]),
            replaced: &self.replaced,
            old_len: self.old_len,
        }
    }

    /// Keeps the first `records` records (slots, for relative and indexed
    /// files); returns the new byte length.
    pub fn truncate(&mut self, records: u64) -> Result<u64, CaptureError> {
        let rec = self.spec.record_len as u64;
        let slot = self.slot_len();
        let len = match &self.state {
            State::Fixed { count } => records.min(*count) * rec,
            State::Relative { slots, .. } | State::Indexed { slots, .. } => {
                records.min(*slots) * slot
            }
            State::Sequential { offsets, end } => {
                offsets.get(records as usize).copied().unwrap_or(*end)
            }
        };
        self.file.set_len(len).map_err(io(&self.path))?;
        self.file_len = len;
        match &mut self.state {
            State::Fixed { count } => *count = len / rec,
            State::Relative { .. } => {
                // Count the records left in the kept slots.
                self.state = self.scan(len)?;
            }
            State::Sequential { offsets, end } => {
                offsets.truncate(records as usize);
                *end = len;
            }
            State::Indexed { index, free, slots } => {
                *slots = len / slot;
                let keep = *slots;
                index.retain(|_, n| *n < keep);
                free.retain(|n| *n < keep);
            }
        }
        Ok(len)
    }

    /// Flushes the file's data to disk.
    pub fn sync(&self) -> Result<(), CaptureError> {
        self.file.sync_data().map_err(io(&self.path))
    }

    /// Reads the whole file (for journaling copies).
    pub(crate) fn raw_bytes(path: &Path) -> Result<Vec<u8>, CaptureError> {
        std::fs::read(path).map_err(io(path))
    }
}

fn check_spec(path: &Path, spec: &FileSpec) -> Result<(), CaptureError> {
    let bad = |message: String| CaptureError::BadRecord {
        path: path.to_owned(),
        message,
    };
    if spec.record_len == 0 {
        return Err(bad("record length 0".into()));
    }
    if u32::try_from(spec.record_len).is_err() {
        return Err(bad(format!(
            "record length {} is more than {}",
            spec.record_len,
            u32::MAX
        )));
    }
    if let Some(layout) = &spec.layout
        && layout.record_len() > spec.record_len
    {
        return Err(bad(format!(
            "the layout's records are {} bytes, longer than the record length {}",
            layout.record_len(),
            spec.record_len
        )));
    }
    if spec.organization == Org::Indexed
        && spec
            .layout
            .as_ref()
            .is_none_or(|l| l.key_fields().is_empty())
    {
        return Err(CaptureError::BadRecord {
            path: path.to_owned(),
            message: "an indexed file needs a layout that declares a key".into(),
        });
    }
    Ok(())
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
