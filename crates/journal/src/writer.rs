//! The single writer of a journal.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::appender::{Appender, Stamping, now_us};
use crate::commit_waiter::{CommitWaiter, completes_unit};
use crate::durability::{Durability, Shared, spawn_flusher};
use crate::entry::{EntryRef, NewEntry};
use crate::error::JournalError;
use crate::payload::Stamp;
use crate::role::{NodeRole, node_role};
use crate::{epoch, lock, recovery};

/// How often a writer reads the role file again, in µs: a role set by
/// another process (a primary server told it is fenced off) takes effect
/// within this time. Measured on the wall clock each append reads anyway
/// for its entry's timestamp (a clock that steps back rereads at once).
const ROLE_RECHECK_US: i64 = 100_000;

/// The default segment size: 64 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;

/// How to open a [`Writer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterConfig {
    /// The journal directory (created if needed).
    pub dir: PathBuf,
    /// Start a new segment rather than grow the current one past this many
    /// bytes (a segment holding a single larger entry is the exception).
    pub segment_size: u64,
    /// When appended entries are fsynced.
    pub durability: Durability,
}

impl WriterConfig {
    /// A config for `dir` with [`DEFAULT_SEGMENT_SIZE`] and the default
    /// [`Durability`] (group commit every 1000 entries or 10 ms).
    pub fn new(dir: impl Into<PathBuf>) -> WriterConfig {
        WriterConfig {
            dir: dir.into(),
            segment_size: DEFAULT_SEGMENT_SIZE,
            durability: Durability::default(),
        }
    }
}

/// Appends entries to a journal. At most one writer per journal directory
/// at a time, across processes: it holds an exclusive lock on `<dir>/LOCK`.
///
/// After an I/O error the writer refuses further work; drop it and open a
/// new one, which recovers the journal.
#[derive(Debug)]
pub struct Writer {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    /// Holds the lock until close or drop.
    lock: Option<File>,
    /// Told of each committed unit of work (sync mirroring).
    waiter: Option<Box<dyn CommitWaiter>>,
    /// The journal directory.
    dir: PathBuf,
    /// The role as last read, and when (µs since the Unix epoch).
    role: Option<NodeRole>,
    role_read_us: i64,
}

impl Writer {
    /// Opens (creating if needed) the journal in `config.dir` for appending.
    ///
    /// Takes the writer lock (`JournalError::Locked` if another writer
    /// holds it), checks the segment headers, scans the newest segment,
    /// cuts a torn tail off it (an incomplete or CRC-bad final frame with
    /// no valid frame after it) and resumes after its last valid entry. A
    /// bad frame followed by valid ones is `JournalError::Corrupt`.
    pub fn open(config: WriterConfig) -> Result<Writer, JournalError> {
        let dir = config.dir;
        std::fs::create_dir_all(&dir).map_err(JournalError::io(&dir))?;
        let lock = lock::acquire(&dir)?;
        let epoch = epoch::read(&dir)?;
        let durable = config.durability != Durability::None;
        let end = recovery::open_end(&dir, epoch, durable)?;
        epoch::reconcile(&dir, end.last_seq + 1)?;
        let role = node_role(&dir)?;
        let appender = Appender::new(
            dir.clone(),
            end,
            config.segment_size,
            epoch,
            config.durability,
        );
        let shared = Arc::new(Shared {
            appender: Mutex::new(appender),
            wake: Condvar::new(),
        });
        if durable {
            // Make the first segment's creation durable at once.
            shared.lock().sync()?;
        }
        let flusher = match config.durability {
            Durability::Group { max_delay, .. } => Some(
                spawn_flusher(Arc::clone(&shared), max_delay).map_err(JournalError::io(&dir))?,
            ),
            _ => None,
        };
        Ok(Writer {
            shared,
            flusher,
            lock: Some(lock),
            waiter: None,
            dir,
            role,
            role_read_us: now_us(),
        })
    }

    /// Refuses an append the journal's role forbids ([`NodeRole`]),
    /// reading the role file again when it was last read more than
    /// `ROLE_RECHECK_US` before `now_us`.
    fn check_role(&mut self, replica: bool, now_us: i64) -> Result<(), JournalError> {
        let since = now_us.wrapping_sub(self.role_read_us);
        if !(0..ROLE_RECHECK_US).contains(&since) {
            self.role = node_role(&self.dir)?;
            self.role_read_us = now_us;
        }
        let allowed = match &self.role {
            None => true,
            Some(NodeRole::Primary) => !replica,
            Some(NodeRole::Standby) => replica,
            Some(NodeRole::HandingOver | NodeRole::Fenced { .. }) => false,
        };
        match &self.role {
            Some(role) if !allowed => Err(JournalError::RoleForbids {
                dir: self.dir.clone(),
                role: role.clone(),
                replica,
            }),
            _ => Ok(()),
        }
    }

    /// The journal's role as this writer last read it (`None`: never set).
    pub fn role(&self) -> Option<&NodeRole> {
        self.role.as_ref()
    }

    /// Sets the journal's role ([`set_node_role`](crate::set_node_role)),
    /// for this writer at once.
    pub fn set_role(&mut self, role: NodeRole) -> Result<(), JournalError> {
        crate::role::set_node_role(&self.dir, &role)?;
        self.role = Some(role);
        self.role_read_us = now_us();
        Ok(())
    }

    /// Appends one entry, stamping it with the next seq, the epoch and the
    /// current time; returns its seq. The entry is buffered: it reaches the
    /// OS when the buffer fills, at a `CommitTxn`/`AbortTxn` marker, on
    /// [`flush`](Writer::flush) or [`sync`](Writer::sync), and it reaches
    /// the disk as the [`Durability`] says.
    ///
    /// With a [`CommitWaiter`] set, an entry that completes a unit of work
    /// (outside a transaction, or a `CommitTxn`) is written to the OS at
    /// once and the waiter is called before `append` returns.
    ///
    /// A journal whose role is standby or fenced refuses it
    /// ([`JournalError::RoleForbids`]).
    pub fn append(&mut self, entry: &NewEntry<'_>) -> Result<u64, JournalError> {
        // One clock read: the role's recheck and the entry's timestamp.
        let now = now_us();
        self.check_role(false, now)?;
        let (seq, became_dirty) = {
            let mut appender = self.shared.lock();
            let (seq, became_dirty) = appender.append(entry, now)?;
            if self.waiter.is_some() && completes_unit(entry) {
                appender.flush()?;
            }
            (seq, became_dirty)
        };
        if became_dirty {
            self.shared.wake.notify_one();
        }
        if let Some(waiter) = self.waiter.as_mut()
            && completes_unit(entry)
        {
            waiter.committed(seq);
        }
        Ok(seq)
    }

    /// Sets the [`CommitWaiter`] told of each committed unit of work from
    /// now on (`None`: none).
    pub fn set_commit_waiter(&mut self, waiter: Option<Box<dyn CommitWaiter>>) {
        self.waiter = waiter;
    }

    /// Appends an entry read from another journal (a primary's), keeping
    /// its seq, epoch and timestamp, so that this journal holds the same
    /// entries as that one. Its seq must follow this journal's last
    /// ([`JournalError::OutOfSequence`] otherwise); an epoch above the
    /// current one becomes the current one, persisted (and recorded in the
    /// epoch history as beginning at this entry). A journal whose role is
    /// primary or fenced refuses it ([`JournalError::RoleForbids`]).
    pub fn append_replica(&mut self, entry: &EntryRef<'_>) -> Result<u64, JournalError> {
        self.check_role(true, now_us())?;
        if entry.epoch > self.epoch() {
            self.set_epoch(entry.epoch)?;
        }
        let stamp = Stamp {
            seq: entry.seq,
            epoch: entry.epoch,
            timestamp_us: entry.timestamp_us,
        };
        let (seq, became_dirty) = self
            .shared
            .lock()
            .append_stamped(&entry.as_new_entry(), Stamping::Given(stamp))?;
        if became_dirty {
            self.shared.wake.notify_one();
        }
        Ok(seq)
    }

    /// Seals the current segment now, if it holds an entry, and starts the
    /// next one (as when it grows past `segment_size`): everything appended
    /// so far is then in sealed segments, e.g. for log shipping. Returns
    /// whether it sealed one.
    pub fn roll(&mut self) -> Result<bool, JournalError> {
        let mut appender = self.shared.lock();
        if !appender.segment_has_entries() {
            return Ok(false);
        }
        appender.roll()?;
        Ok(true)
    }

    /// Writes buffered entries to the OS (readers see them), without fsync.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.shared.lock().flush()
    }

    /// Flushes and fsyncs: every entry appended so far is durable.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.shared.lock().sync()
    }

    /// The seq of the last entry appended; 0 if the journal is empty.
    pub fn last_seq(&self) -> u64 {
        self.shared.lock().last_seq()
    }

    /// The epoch stamped on new entries (1 until set).
    pub fn epoch(&self) -> u64 {
        self.shared.lock().epoch()
    }

    /// Sets and persists (`<dir>/EPOCH`, replaced atomically) the epoch of
    /// the entries appended from now on, and records in the history
    /// (`<dir>/EPOCHS`) that it begins at the next seq. Setting the current
    /// epoch again does nothing; a smaller one is
    /// `JournalError::EpochBackwards`.
    pub fn set_epoch(&mut self, epoch: u64) -> Result<(), JournalError> {
        let mut a = self.shared.lock();
        let current = a.epoch();
        if epoch < current {
            return Err(JournalError::EpochBackwards {
                current,
                requested: epoch,
            });
        }
        if epoch > current {
            let next = a.last_seq() + 1;
            epoch::write(a.dir(), epoch, next)?;
            a.set_epoch(epoch);
        }
        Ok(())
    }

    /// Syncs (only flushes with `Durability::None`), stops the flusher
    /// thread and releases the lock.
    pub fn close(mut self) -> Result<(), JournalError> {
        self.stop_flusher();
        let result = self.shared.lock().finish();
        if let Some(lock) = self.lock.take() {
            // Closing the file releases the lock anyway.
            let _ = lock.unlock();
        }
        result
    }

    fn stop_flusher(&mut self) {
        if let Some(handle) = self.flusher.take() {
            self.shared.lock().shutdown = true;
            self.shared.wake.notify_all();
            let _ = handle.join();
        }
    }
}

impl Drop for Writer {
    /// Best effort: stops the flusher, then syncs (flushes with
    /// `Durability::None`); errors are ignored.
    fn drop(&mut self) {
        if self.lock.is_some() {
            self.stop_flusher();
            let _ = self.shared.lock().finish();
        }
    }
}
