//! Runs of records appended with one write.

use super::{PRESENT, RecordFile, State, hex};
use crate::CaptureError;
use std::path::Path;

/// The outcome of [`RecordFile::append_many`]: one write holding a run of
/// records, each `unit` bytes (status byte or length prefix, then the record).
#[derive(Debug)]
pub struct AppendRun<'a> {
    /// The file.
    pub path: &'a Path,
    /// Where the run starts.
    pub offset: u64,
    /// The bytes written.
    pub data: &'a [u8],
    /// Bytes per record in `data`.
    pub unit: usize,
    /// Bytes before each record (0, 1 or 4).
    pub prefix: usize,
    /// The record number of the first record (all but indexed files).
    pub first_recno: Option<u64>,
    /// The keys, back to back, and the length of one (indexed files).
    pub keys: Option<(&'a [u8], usize)>,
    /// The file's length before the run.
    pub old_len: u64,
}

impl RecordFile {
    /// Appends `count` records of `record_len` bytes each, back to back in
    /// `records`, at the end of the file with one write. Returns `None`
    /// (and changes nothing) when the file cannot take them as one run at its
    /// end: an indexed file with free slots to reuse. A duplicate key (in
    /// the file or within the run) is an error and nothing is written.
    pub fn append_many(&mut self, records: &[u8]) -> Result<Option<AppendRun<'_>>, CaptureError> {
        let rec = self.spec.record_len;
        if records.is_empty() || !records.len().is_multiple_of(rec) {
            return Err(self.bad(format!(
                "{} bytes is not a whole number of {rec}-byte records",
                records.len()
            )));
        }
        let count = records.len() / rec;
        let (prefix, first_recno) = match &self.state {
            State::Fixed { count } => (0, Some(count + 1)),
            State::Relative { slots, .. } => (1, Some(slots + 1)),
            State::Sequential { offsets, .. } => (4, Some(offsets.len() as u64 + 1)),
            State::Indexed { free, .. } if free.is_empty() => (1, None),
            State::Indexed { .. } => return Ok(None),
        };
        let mut keys = std::mem::take(&mut self.key);
        keys.clear();
        if let State::Indexed { index, .. } = &self.state {
            let mut seen = std::collections::HashSet::with_capacity(count);
            let mut one = Vec::new();
            for record in records.chunks_exact(rec) {
                one.clear();
                self.key_of(record, &mut one)?;
                if index.contains_key(&one) || !seen.insert(one.clone()) {
                    self.key = keys;
                    return Err(CaptureError::DuplicateKey {
                        path: self.path.clone(),
                        key: hex(&one),
                    });
                }
                keys.extend_from_slice(&one);
            }
        }
        self.key = keys;
        self.out.clear();
        self.out.reserve(count * (rec + prefix));
        for record in records.chunks_exact(rec) {
            match prefix {
                1 => self.out.push(PRESENT),
                4 => self.out.extend_from_slice(&(rec as u32).to_be_bytes()),
                _ => {}
            }
            self.out.extend_from_slice(record);
        }
        let offset = self.file_len;
        self.put(offset)?;
        let unit = (rec + prefix) as u64;
        let key_len = self.key.len() / count;
        match &mut self.state {
            State::Fixed { count: c } => *c += count as u64,
            State::Relative { slots, present } => {
                *slots += count as u64;
                *present += count as u64;
            }
            State::Sequential { offsets, end } => {
                offsets.extend((0..count as u64).map(|i| offset + i * unit));
                *end = offset + count as u64 * unit;
            }
            State::Indexed { index, slots, .. } => {
                let first = *slots;
                for (i, key) in self.key.chunks_exact(key_len.max(1)).enumerate() {
                    index.insert(key.to_vec(), first + i as u64);
                }
                *slots += count as u64;
            }
        }
        Ok(Some(AppendRun {
            path: &self.path,
            offset,
            data: &self.out,
            unit: unit as usize,
            prefix,
            first_recno,
            keys: (key_len > 0).then_some((self.key.as_slice(), key_len)),
            old_len: self.old_len,
        }))
    }
}
