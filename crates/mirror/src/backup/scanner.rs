//! Reading the live journal over the backup's range: every entry goes to
//! the range file, and the transactions are followed so that those
//! aborted while the files were read are known with what they touched.

use super::error::BackupError;
use super::footprint::Footprint;
use super::range::RangeWriter;
use drx_journal::{Effect, Reader};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A transaction aborted within a window, and what it touched.
#[derive(Debug)]
pub(crate) struct Aborted {
    /// Its id (the seq of its begin).
    pub txn: u64,
    /// Journal path → the bytes it changed there.
    pub files: HashMap<String, Footprint>,
}

/// What one window of the journal (up to a barrier seq) held.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// Transactions aborted in it.
    pub aborted: Vec<Aborted>,
    /// Renames in it: (seq, from, to).
    pub renames: Vec<(u64, String, String)>,
}

/// Follows the live journal from the first entry to replay.
#[derive(Debug)]
pub(crate) struct Scanner {
    dir: PathBuf,
    /// Opened at the first advance.
    reader: Option<Reader>,
    /// The first seq of the range.
    first: u64,
    /// The last seq read (first - 1 before any).
    last: u64,
    /// The timestamp of the entry `last`.
    last_time_us: i64,
    /// Open transactions and what they touched so far.
    open: HashMap<u64, HashMap<String, Footprint>>,
}

impl Scanner {
    /// A scanner of the journal in `dir` for a copy begun after the
    /// journal's last seq was `start_seq`. The range starts after it, or
    /// at the begin of the transaction open at `start_seq` (whose
    /// entries up to it may be in the copy and may still be aborted):
    /// known at the first [`advance`](Scanner::advance), once a barrier
    /// made the entries after `start_seq` readable.
    pub fn open(dir: &Path, start_seq: u64) -> Scanner {
        Scanner {
            dir: dir.to_owned(),
            reader: None,
            first: start_seq + 1,
            last: start_seq,
            last_time_us: 0,
            open: HashMap::new(),
        }
    }

    /// Opens the reader at the first seq of the range.
    fn start(&mut self) -> Result<Reader, BackupError> {
        let dir = &self.dir;
        let start_seq = self.first - 1;
        let mut peek = Reader::open(dir, self.first).map_err(BackupError::journal(dir))?;
        if let Some(e) = peek.next().map_err(BackupError::journal(dir))?
            && e.txn != 0
            && e.txn <= start_seq
        {
            self.first = e.txn;
            self.last = e.txn - 1;
        }
        Reader::open(dir, self.first).map_err(|e| match e {
            drx_journal::JournalError::Gone { .. } => BackupError::Inconsistent(format!(
                "the journal {} no longer holds seq {} (retention removed it during the backup)",
                dir.display(),
                self.first
            )),
            e => BackupError::journal(dir)(e),
        })
    }

    /// The first seq of the range.
    pub fn first_seq(&self) -> u64 {
        self.first
    }

    /// The timestamp of the last entry read (0 before any).
    pub fn last_time_us(&self) -> i64 {
        self.last_time_us
    }

    /// Transactions open after the last entry read (their ids).
    pub fn open_transactions(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.open.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Reads up to seq `to` (a barrier: everything up to it is written),
    /// putting each entry in `range`; returns what the window held.
    pub fn advance(&mut self, to: u64, range: &mut RangeWriter) -> Result<Window, BackupError> {
        let mut window = Window::default();
        let mut reader = match self.reader.take() {
            Some(r) => r,
            None => self.start()?,
        };
        let read = self.read(&mut reader, to, range, &mut window);
        self.reader = Some(reader);
        read.map(|()| window)
    }

    /// Reads into `window` up to seq `to`.
    fn read(
        &mut self,
        reader: &mut Reader,
        to: u64,
        range: &mut RangeWriter,
        window: &mut Window,
    ) -> Result<(), BackupError> {
        while self.last < to {
            let Some(entry) = reader.next().map_err(BackupError::journal(&self.dir))? else {
                return Err(BackupError::Inconsistent(format!(
                    "the journal {} ends at seq {} before the barrier seq {to}",
                    self.dir.display(),
                    self.last
                )));
            };
            range.push(&entry)?;
            self.last = entry.seq;
            self.last_time_us = entry.timestamp_us;
            let txn = entry.txn;
            match entry.effect {
                Effect::BeginTxn => {
                    self.open.insert(txn, HashMap::new());
                }
                Effect::CommitTxn => {
                    self.open.remove(&txn);
                }
                Effect::AbortTxn => {
                    if let Some(files) = self.open.remove(&txn) {
                        window.aborted.push(Aborted { txn, files });
                    }
                }
                Effect::Rename { to } => {
                    window
                        .renames
                        .push((entry.seq, entry.file.to_owned(), to.to_owned()));
                }
                effect if txn != 0 => {
                    let Some(files) = self.open.get_mut(&txn) else {
                        return Err(BackupError::Inconsistent(format!(
                            "seq {}: an entry of transaction {txn}, which did not begin in the range (from seq {})",
                            entry.seq, self.first
                        )));
                    };
                    let fp = files.entry(entry.file.to_owned()).or_default();
                    match effect {
                        Effect::Write { offset, data } => {
                            fp.add(offset, offset.saturating_add(data.len() as u64));
                        }
                        Effect::Create { .. } | Effect::Truncate { .. } | Effect::DeleteFile => {
                            fp.merge(&Footprint::whole());
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
