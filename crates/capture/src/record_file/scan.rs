//! Reading a record file: its state rebuilt from disk, and every record in
//! file order, with large reads.

use super::{PRESENT, RecordFile, State, hex};
use crate::error::io;
use crate::{CaptureError, Org};
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

impl RecordFile {
    /// Builds the in-memory state from the file's bytes.
    pub(super) fn scan(&mut self, len: u64) -> Result<State, CaptureError> {
        let rec = self.spec.record_len as u64;
        match self.spec.organization {
            Org::Fixed => {
                if !len.is_multiple_of(rec) {
                    return Err(self.bad(format!(
                        "size {len} is not a multiple of the record length {rec}"
                    )));
                }
                Ok(State::Fixed { count: len / rec })
            }
            Org::Relative | Org::Indexed => {
                let slot = self.slot_len();
                if !len.is_multiple_of(slot) {
                    return Err(self.bad(format!(
                        "size {len} is not a multiple of the slot length {slot} (status byte + record)"
                    )));
                }
                let slots = len / slot;
                if self.spec.organization == Org::Relative {
                    let mut present = 0;
                    for_each_slot(&self.file, &self.path, slot, slots, |status, _| {
                        present += u64::from(status == PRESENT);
                        Ok(())
                    })?;
                    return Ok(State::Relative { slots, present });
                }
                let mut index = HashMap::new();
                let mut free = BTreeSet::new();
                let mut n = 0;
                let mut key = Vec::new();
                for_each_slot(&self.file, &self.path, slot, slots, |status, record| {
                    if status == PRESENT {
                        key.clear();
                        self.key_of(record, &mut key)?;
                        if index.insert(key.clone(), n).is_some() {
                            return Err(self.bad(format!(
                                "duplicate key {} at record {}",
                                hex(&key),
                                n + 1
                            )));
                        }
                    } else {
                        free.insert(n);
                    }
                    n += 1;
                    Ok(())
                })?;
                Ok(State::Indexed { index, free, slots })
            }
            Org::Sequential => {
                let mut offsets = Vec::new();
                let mut at = 0u64;
                let mut len_buf = [0u8; 4];
                while at < len {
                    if at + 4 > len {
                        return Err(self.bad(format!("torn length prefix at byte {at}")));
                    }
                    self.file
                        .read_exact_at(&mut len_buf, at)
                        .map_err(io(&self.path))?;
                    let n = u64::from(u32::from_be_bytes(len_buf));
                    if at + 4 + n > len {
                        return Err(self.bad(format!(
                            "record at byte {at} claims {n} bytes past the end of the file"
                        )));
                    }
                    offsets.push(at);
                    at += 4 + n;
                }
                Ok(State::Sequential { offsets, end: len })
            }
        }
    }

    /// Calls `f` with the record number (or 0 for indexed files) and bytes of
    /// every record, in file order.
    pub fn for_each_record(
        &self,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), CaptureError>,
    ) -> Result<(), CaptureError> {
        let rec = self.spec.record_len as u64;
        match &self.state {
            State::Fixed { count } => {
                let mut n = 0;
                for_each_chunk(&self.file, &self.path, rec, *count, |chunk| {
                    n += 1;
                    f(n, chunk)
                })
            }
            State::Relative { slots, .. } | State::Indexed { slots, .. } => {
                let indexed = self.spec.organization == Org::Indexed;
                let mut n = 0;
                for_each_slot(&self.file, &self.path, rec + 1, *slots, |status, record| {
                    n += 1;
                    if status == PRESENT {
                        f(if indexed { 0 } else { n }, record)?;
                    }
                    Ok(())
                })
            }
            State::Sequential { offsets, .. } => {
                // Positioned reads: the file's cursor is shared with every
                // other handle use, and a second pass must start at 0 too.
                let mut reader = std::io::BufReader::with_capacity(
                    1 << 20,
                    PositionedReader {
                        file: &self.file,
                        at: 0,
                    },
                );
                let mut buf = Vec::new();
                let mut len = [0u8; 4];
                use std::io::Read;
                for n in 1..=offsets.len() as u64 {
                    reader.read_exact(&mut len).map_err(io(&self.path))?;
                    buf.resize(u32::from_be_bytes(len) as usize, 0);
                    reader.read_exact(&mut buf).map_err(io(&self.path))?;
                    f(n, &buf)?;
                }
                Ok(())
            }
        }
    }
}

/// Reads a file from a position of its own, leaving the file's cursor alone.
struct PositionedReader<'a> {
    file: &'a File,
    at: u64,
}

impl std::io::Read for PositionedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Reads `count` chunks of `len` bytes with large reads.
fn for_each_chunk(
    file: &File,
    path: &Path,
    len: u64,
    count: u64,
    mut f: impl FnMut(&[u8]) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    let per_read = ((1 << 20) / len).max(1);
    let mut buf = vec![0u8; (per_read * len) as usize];
    let mut done = 0;
    while done < count {
        let n = per_read.min(count - done);
        let bytes = &mut buf[..(n * len) as usize];
        file.read_exact_at(bytes, done * len).map_err(io(path))?;
        for chunk in bytes.chunks_exact(len as usize) {
            f(chunk)?;
        }
        done += n;
    }
    Ok(())
}

fn for_each_slot(
    file: &File,
    path: &Path,
    slot: u64,
    slots: u64,
    mut f: impl FnMut(u8, &[u8]) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    for_each_chunk(file, path, slot, slots, |chunk| f(chunk[0], &chunk[1..]))
}
