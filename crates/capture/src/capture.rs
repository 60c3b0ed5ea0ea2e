//! A capture session: record I/O on critical files, each completed
//! operation appended to the journal.

use crate::checks::Checks;
use crate::error::io;
use crate::record_file::{Applied, RecordOpKind};
use crate::sync_commit::{SyncCommit, SyncStats};
use crate::{CaptureError, FileSpec, RecordFile, Target};
use drx_config::{CommitMode, Config, DurabilityMode, FilesTable};
use drx_journal::ChecksumReason;
use drx_journal::{
    Effect, FileOrganization, Locator, NewEntry, RecordChange, RecordOp, Writer, WriterConfig,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest byte run one journal entry carries when a whole file is
/// journaled (copy, or rename into a critical path).
const COPY_CHUNK: usize = 1 << 20;

/// How long [`Capture::open`] waits for a journal another writer holds, on
/// a mirrored primary (where `drx verify` may hold it for a moment).
pub const LOCK_WAIT: Duration = Duration::from_secs(3);
/// How often the lock is tried meanwhile.
const LOCK_POLL: Duration = Duration::from_millis(25);

/// A critical file opened through a [`Capture`]: the record file, and
/// whether (and as which path) its changes are journaled.
#[derive(Debug)]
pub struct CapturedFile {
    pub(crate) file: RecordFile,
    /// The path as journaled; `None` when no include record selects it.
    pub(crate) journal_path: Option<String>,
    /// The session's abort count when this handle's state was last read.
    aborts: u64,
    /// When its last checksum was taken (or it was opened).
    pub(crate) checked_at: Instant,
}

impl CapturedFile {
    /// The record file. After an abort its in-memory state (record count,
    /// index) is brought up to date by the handle's next operation through
    /// the [`Capture`]; the bytes on disk are already restored.
    pub fn file(&self) -> &RecordFile {
        &self.file
    }

    /// Whether the file's changes are journaled.
    pub fn is_critical(&self) -> bool {
        self.journal_path.is_some()
    }
}

/// One undo step of the open transaction.
#[derive(Debug)]
enum Undo {
    /// Write `bytes` back at `offset` of `path`.
    Bytes {
        path: PathBuf,
        offset: u64,
        bytes: Vec<u8>,
    },
    /// Set the length of `path` back.
    Len { path: PathBuf, len: u64 },
}

/// A capture session of one process: its name, the Files Table that says
/// which files are critical, the journal, and the open transaction.
#[derive(Debug)]
pub struct Capture {
    pub(crate) process: String,
    pub(crate) files: FilesTable,
    pub(crate) disabled: bool,
    pub(crate) journal: Writer,
    /// The open transaction's id (the seq of its begin entry) and undo log.
    txn: Option<(u64, Vec<Undo>)>,
    /// Checksums for the standby (a mirrored primary only).
    pub(crate) checks: Option<Checks>,
    /// Aborts so far: a file handle that saw fewer reloads its state.
    aborts: u64,
    /// Sync commit mode: how its waits went (`None`: async).
    sync: Option<Arc<Mutex<SyncStats>>>,
}

impl Capture {
    /// Opens the journal configured in `config` for process `process`.
    ///
    /// On a mirrored primary, a journal held by another writer is waited
    /// for a moment ([`LOCK_WAIT`]) before this fails with
    /// [`JournalError::Locked`](drx_journal::JournalError::Locked): `drx
    /// verify` holds it briefly when no application runs.
    pub fn open(config: &Config, process: &str) -> Result<Capture, CaptureError> {
        let wait = if crate::checks::is_mirrored(config) {
            LOCK_WAIT
        } else {
            Duration::ZERO
        };
        Capture::open_waiting(config, process, wait)
    }

    /// [`Capture::open`], waiting at most `wait` for a journal held by
    /// another writer.
    pub fn open_waiting(
        config: &Config,
        process: &str,
        wait: Duration,
    ) -> Result<Capture, CaptureError> {
        let durability = match config.journal.durability {
            DurabilityMode::Entry => drx_journal::Durability::EveryEntry,
            DurabilityMode::Group => drx_journal::Durability::Group {
                max_entries: config.journal.group_commit_entries.max(1),
                max_delay: Duration::from_millis(config.journal.group_commit_ms),
            },
            DurabilityMode::None => drx_journal::Durability::None,
        };
        let deadline = Instant::now() + wait;
        let mut journal = loop {
            match Writer::open(WriterConfig {
                dir: config.journal.dir.clone(),
                segment_size: config.journal.segment_size,
                durability,
            }) {
                Err(drx_journal::JournalError::Locked { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(LOCK_POLL);
                }
                opened => break opened?,
            }
        };
        let sync = (config.mirror.commit == CommitMode::Sync).then(|| {
            let stats = Arc::new(Mutex::new(SyncStats::default()));
            journal.set_commit_waiter(Some(Box::new(SyncCommit::new(
                drx_config::commit_socket(&config.journal.dir),
                Duration::from_millis(config.mirror.sync_timeout_ms),
                Arc::clone(&stats),
            ))));
            stats
        });
        Ok(Capture {
            process: process.to_owned(),
            files: config.files.clone(),
            disabled: config.global_settings.disable_drms,
            journal,
            txn: None,
            aborts: 0,
            checks: Checks::from_config(config),
            sync,
        })
    }

    /// In sync commit mode (`[mirror] commit = "sync"`), how the waits for
    /// the standby went so far; `None` in async mode.
    pub fn sync_stats(&self) -> Option<SyncStats> {
        self.sync
            .as_ref()
            .map(|s| *s.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The process name entries are journaled under.
    pub fn process(&self) -> &str {
        &self.process
    }

    /// The journal writer.
    pub fn journal(&mut self) -> &mut Writer {
        &mut self.journal
    }

    /// The journal path of `path` if it is critical for this process.
    fn critical(&self, path: &Path) -> Result<Option<String>, CaptureError> {
        let absolute = absolute(path)?;
        if self.disabled || self.files.select(&self.process, &absolute).is_none() {
            return Ok(None);
        }
        absolute
            .to_str()
            .map(|s| Some(s.to_owned()))
            .ok_or(CaptureError::NonUtf8Path(absolute))
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    fn txn_id(&self) -> u64 {
        self.txn.as_ref().map_or(0, |(id, _)| *id)
    }

    fn append(
        &mut self,
        file: &str,
        effect: Effect<'_>,
        record: Option<RecordChange<'_>>,
    ) -> Result<u64, CaptureError> {
        let entry = NewEntry {
            txn: self.txn_id(),
            process: &self.process,
            file,
            effect,
            record,
        };
        Ok(self.journal.append(&entry)?)
    }

    /// Creates (or empties) a record file.
    pub fn create(&mut self, path: &Path, spec: FileSpec) -> Result<CapturedFile, CaptureError> {
        let journal_path = self.critical(path)?;
        let old_len = std::fs::metadata(path).map(|m| m.len()).ok();
        if old_len.is_none() && self.txn.is_some() {
            return Err(CaptureError::Transaction(
                "files cannot be created inside a transaction",
            ));
        }
        let organization = spec.organization.journal();
        let record_len = spec.record_len as u32;
        if let (Some((_, undo)), Some(len)) = (&mut self.txn, old_len) {
            // Emptying a file inside a transaction: keep its bytes to undo.
            let bytes = std::fs::read(path).map_err(io(path))?;
            undo.push(Undo::Bytes {
                path: path.to_owned(),
                offset: 0,
                bytes,
            });
            undo.push(Undo::Len {
                path: path.to_owned(),
                len,
            });
        }
        let file = RecordFile::create(path, spec)?;
        if let Some(jp) = &journal_path {
            self.append(
                jp,
                Effect::Create {
                    organization,
                    record_len,
                },
                None,
            )?;
        }
        Ok(CapturedFile {
            file,
            journal_path,
            aborts: self.aborts,
            checked_at: Instant::now(),
        })
    }

    /// Opens an existing record file. On a mirrored primary with
    /// `check_file_at_open`, a critical file's size and record count are
    /// journaled for the standby to compare (after the transaction, if one
    /// is open).
    pub fn open_file(&mut self, path: &Path, spec: FileSpec) -> Result<CapturedFile, CaptureError> {
        let journal_path = self.critical(path)?;
        let file = RecordFile::open(path, spec)?;
        let mut f = CapturedFile {
            file,
            journal_path,
            aborts: self.aborts,
            checked_at: Instant::now(),
        };
        self.check_open_or_close(&mut f, ChecksumReason::Open)?;
        self.poll_mailbox(f.checked_at)?;
        Ok(f)
    }

    /// Closes a record file. On a mirrored primary with
    /// `check_file_at_close`, a critical file's size and record count are
    /// journaled for the standby to compare (after the transaction, if one
    /// is open). Dropping a handle closes it without that check.
    pub fn close_file(&mut self, mut f: CapturedFile) -> Result<(), CaptureError> {
        self.check_open_or_close(&mut f, ChecksumReason::Close)
    }

    /// Adds a record (see [`RecordFile::write`]); returns its journal seq, or
    /// 0 when the file is not critical.
    pub fn write(
        &mut self,
        f: &mut CapturedFile,
        record: &[u8],
        recno: Option<u64>,
    ) -> Result<u64, CaptureError> {
        self.record_op(f, |file| file.write(record, recno))
    }

    /// Runs one record operation on `f`, keeps its undo bytes inside a
    /// transaction, and journals it.
    fn record_op(
        &mut self,
        f: &mut CapturedFile,
        op: impl FnOnce(&mut RecordFile) -> Result<Applied<'_>, CaptureError>,
    ) -> Result<u64, CaptureError> {
        self.before_op(f)?;
        self.prepare(f)?;
        let applied = op(&mut f.file)?;
        push_undo(&mut self.txn, &applied);
        journal_applied(
            &mut self.journal,
            &self.process,
            self.txn.as_ref().map_or(0, |t| t.0),
            f.journal_path.as_deref(),
            &applied,
        )
    }

    /// Adds many records (each the file's record length, back to back in
    /// `records`) with one write to the file, then journals each as its own
    /// insert entry, exactly as single writes would be journaled. Returns the
    /// seq of the last entry (0 when the file is not critical). Falls back to
    /// one write per record when the file cannot take them as one run.
    pub fn write_many(
        &mut self,
        f: &mut CapturedFile,
        records: &[u8],
    ) -> Result<u64, CaptureError> {
        self.before_op(f)?;
        self.prepare(f)?;
        let txn = self.txn.as_ref().map_or(0, |t| t.0);
        let Some(run) = f.file.append_many(records)? else {
            let rec = f.file.spec().record_len;
            let mut last = 0;
            for record in records.chunks(rec) {
                last = self.write(f, record, None)?;
            }
            return Ok(last);
        };
        if let Some((_, undo)) = &mut self.txn {
            undo.push(Undo::Len {
                path: run.path.to_owned(),
                len: run.old_len,
            });
        }
        let Some(file) = f.journal_path.as_deref() else {
            return Ok(0);
        };
        let mut last = 0;
        for (i, data) in run.data.chunks_exact(run.unit).enumerate() {
            let locator = match (run.keys, run.first_recno) {
                (Some((keys, len)), _) => Locator::Key(&keys[i * len..(i + 1) * len]),
                (None, Some(first)) => Locator::RecNo(first + i as u64),
                (None, None) => Locator::None,
            };
            last = self.journal.append(&NewEntry {
                txn,
                process: &self.process,
                file,
                effect: Effect::Write {
                    offset: run.offset + (i * run.unit) as u64,
                    data,
                },
                record: Some(RecordChange {
                    op: RecordOp::Insert,
                    locator,
                    before: None,
                    after: Some(&data[run.prefix..]),
                }),
            })?;
        }
        Ok(last)
    }

    /// Rewrites a record.
    pub fn rewrite(
        &mut self,
        f: &mut CapturedFile,
        target: Target<'_>,
        record: &[u8],
    ) -> Result<u64, CaptureError> {
        self.record_op(f, |file| file.rewrite(target, record))
    }

    /// Deletes a record.
    pub fn delete(
        &mut self,
        f: &mut CapturedFile,
        target: Target<'_>,
    ) -> Result<u64, CaptureError> {
        self.record_op(f, |file| file.delete(target))
    }

    /// Keeps the first `records` records.
    pub fn truncate(&mut self, f: &mut CapturedFile, records: u64) -> Result<u64, CaptureError> {
        self.before_op(f)?;
        if let Some((_, undo)) = &mut self.txn {
            let bytes = std::fs::read(f.file.path()).map_err(io(f.file.path()))?;
            undo.push(Undo::Bytes {
                path: f.file.path().to_owned(),
                offset: 0,
                bytes,
            });
        }
        self.prepare(f)?;
        let len = f.file.truncate(records)?;
        match f.journal_path.clone() {
            Some(jp) => self.append(&jp, Effect::Truncate { len }, None),
            None => Ok(0),
        }
    }

    /// Brings a handle up to date after an abort, and tells it whether to
    /// keep undo bytes.
    pub(crate) fn prepare(&self, f: &mut CapturedFile) -> Result<(), CaptureError> {
        if f.aborts != self.aborts {
            f.file.reload()?;
            f.aborts = self.aborts;
        }
        f.file.keep_replaced(self.txn.is_some());
        Ok(())
    }

    /// Renames a file. Journaled as a rename when the old path is critical,
    /// and as a create plus the file's bytes when only the new one is.
    pub fn rename(&mut self, from: &Path, to: &Path) -> Result<(), CaptureError> {
        self.no_txn("rename")?;
        let (jfrom, jto) = (self.critical(from)?, self.critical(to)?);
        std::fs::rename(from, to).map_err(io(from))?;
        match (jfrom, jto) {
            (Some(f), Some(t)) => {
                self.append(&f, Effect::Rename { to: &t }, None)?;
            }
            (Some(f), None) => {
                self.append(&f, Effect::DeleteFile, None)?;
            }
            (None, Some(t)) => self.journal_whole_file(to, &t)?,
            (None, None) => {}
        }
        Ok(())
    }

    /// Copies a file; journaled as a create plus the bytes when the
    /// destination is critical.
    pub fn copy(&mut self, from: &Path, to: &Path) -> Result<(), CaptureError> {
        self.no_txn("copy")?;
        if absolute(from)? == absolute(to)? {
            // `std::fs::copy` would empty the file before reading it.
            return Err(CaptureError::Io {
                path: to.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "cannot copy a file onto itself",
                ),
            });
        }
        let jto = self.critical(to)?;
        std::fs::copy(from, to).map_err(io(from))?;
        if let Some(t) = jto {
            self.journal_whole_file(to, &t)?;
        }
        Ok(())
    }

    fn journal_whole_file(&mut self, path: &Path, journal_path: &str) -> Result<(), CaptureError> {
        let bytes = RecordFile::raw_bytes(path)?;
        self.append(
            journal_path,
            Effect::Create {
                organization: FileOrganization::Unknown,
                record_len: 0,
            },
            None,
        )?;
        for (i, chunk) in bytes.chunks(COPY_CHUNK).enumerate() {
            let offset = (i * COPY_CHUNK) as u64;
            self.append(
                journal_path,
                Effect::Write {
                    offset,
                    data: chunk,
                },
                None,
            )?;
        }
        Ok(())
    }

    /// Deletes a file.
    pub fn delete_file(&mut self, path: &Path) -> Result<(), CaptureError> {
        self.no_txn("delete_file")?;
        let jp = self.critical(path)?;
        std::fs::remove_file(path).map_err(io(path))?;
        if let Some(jp) = jp {
            self.append(&jp, Effect::DeleteFile, None)?;
        }
        Ok(())
    }

    fn no_txn(&self, op: &'static str) -> Result<(), CaptureError> {
        let _ = op;
        if self.txn.is_some() {
            return Err(CaptureError::Transaction(
                "file-level operations (rename, copy, delete_file) cannot run inside a transaction",
            ));
        }
        Ok(())
    }

    /// Starts a transaction: the record changes up to the commit are
    /// delivered together, or (after an abort) never.
    pub fn begin(&mut self) -> Result<u64, CaptureError> {
        if self.txn.is_some() {
            return Err(CaptureError::Transaction(
                "begin inside an open transaction",
            ));
        }
        let id = self.journal.last_seq() + 1;
        self.txn = Some((id, Vec::new()));
        self.marker(Effect::BeginTxn)?;
        Ok(id)
    }

    /// Commits the open transaction and makes the journal durable up to it
    /// (per the configured durability).
    pub fn commit(&mut self) -> Result<u64, CaptureError> {
        if self.txn.is_none() {
            return Err(CaptureError::Transaction("commit without begin"));
        }
        let seq = self.marker(Effect::CommitTxn)?;
        self.txn = None;
        self.after_txn()?;
        Ok(seq)
    }

    /// Aborts the open transaction: its changes are undone in the files
    /// (byte for byte), and consumers never deliver them.
    pub fn abort(&mut self) -> Result<u64, CaptureError> {
        let Some((_, undo)) = self
            .txn
            .as_mut()
            .map(|(id, undo)| (*id, std::mem::take(undo)))
        else {
            return Err(CaptureError::Transaction("abort without begin"));
        };
        // Undo first: a crash before the abort marker leaves an unended
        // transaction, which consumers never deliver either.
        for step in undo.into_iter().rev() {
            let (path, offset, bytes, len) = match &step {
                Undo::Bytes {
                    path,
                    offset,
                    bytes,
                } => (path, *offset, Some(bytes), None),
                Undo::Len { path, len } => (path, 0, None, Some(*len)),
            };
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io(path))?;
            if let Some(len) = len {
                file.set_len(len).map_err(io(path))?;
            }
            if let Some(bytes) = bytes {
                use std::os::unix::fs::FileExt;
                file.write_all_at(bytes, offset).map_err(io(path))?;
            }
        }
        self.aborts += 1;
        let seq = self.marker(Effect::AbortTxn)?;
        self.txn = None;
        self.after_txn()?;
        Ok(seq)
    }

    /// Appends a transaction marker (nothing when capture is disabled);
    /// returns its seq, or 0.
    fn marker(&mut self, effect: Effect<'_>) -> Result<u64, CaptureError> {
        if self.disabled {
            return Ok(0);
        }
        self.append("", effect, None)
    }

    /// Makes every appended entry durable.
    pub fn sync(&mut self) -> Result<(), CaptureError> {
        Ok(self.journal.sync()?)
    }

    /// Ends the session: an open transaction is aborted (its changes undone
    /// in the files), then the journal is synced and unlocked.
    pub fn close(mut self) -> Result<(), CaptureError> {
        if self.txn.is_some() {
            self.abort()?;
        }
        Ok(self.journal.close()?)
    }
}

fn push_undo(txn: &mut Option<(u64, Vec<Undo>)>, applied: &Applied<'_>) {
    let path = applied.path;
    if let Some((_, undo)) = txn {
        undo.push(Undo::Len {
            path: path.to_owned(),
            len: applied.old_len,
        });
        if !applied.replaced.is_empty() {
            undo.push(Undo::Bytes {
                path: path.to_owned(),
                offset: applied.offset,
                bytes: applied.replaced.to_vec(),
            });
        }
    }
}

fn journal_applied(
    journal: &mut Writer,
    process: &str,
    txn: u64,
    journal_path: Option<&str>,
    applied: &Applied<'_>,
) -> Result<u64, CaptureError> {
    let Some(file) = journal_path else {
        return Ok(0);
    };
    let op = match applied.kind {
        RecordOpKind::Insert => RecordOp::Insert,
        RecordOpKind::Update => RecordOp::Update,
        RecordOpKind::Delete => RecordOp::Delete,
    };
    let locator = match (applied.key, applied.recno) {
        (Some(k), _) => Locator::Key(k),
        (None, Some(n)) => Locator::RecNo(n),
        (None, None) => Locator::None,
    };
    let entry = NewEntry {
        txn,
        process,
        file,
        effect: Effect::Write {
            offset: applied.offset,
            data: applied.data,
        },
        record: Some(RecordChange {
            op,
            locator,
            before: applied.before,
            after: applied.after,
        }),
    };
    Ok(journal.append(&entry)?)
}

/// `path` made absolute against the current directory, normalized.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, CaptureError> {
    let cwd = std::env::current_dir().map_err(io(Path::new(".")))?;
    Ok(drx_config::absolute(&cwd, path))
}
