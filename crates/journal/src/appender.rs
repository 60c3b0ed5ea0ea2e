//! The open end of the journal: the newest segment, the write buffer that
//! entries are encoded into, the seq counter, and segment rolling.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::durability::Durability;
use crate::entry::{Effect, NewEntry};
use crate::error::JournalError;
use crate::frame::{self, FRAME_HEADER_LEN};
use crate::payload::{self, Stamp};
use crate::segment::{self, HEADER_LEN, Header};

/// Size of the write buffer; it is written to the OS when full.
const BUFFER_CAPACITY: usize = 256 * 1024;

/// The open end of the journal. Lives behind the writer's mutex.
pub(crate) struct Appender {
    dir: PathBuf,
    file: File,
    seg_path: PathBuf,
    /// Bytes in the segment, buffered ones included.
    seg_len: u64,
    segment_size: u64,
    buf: Vec<u8>,
    last_seq: u64,
    epoch: u64,
    durability: Durability,
    /// Entries appended since the last fsync.
    unsynced: u32,
    /// When the first entry not yet fsynced was appended.
    pub first_unsynced: Option<Instant>,
    /// A directory entry (a new segment) not yet fsynced.
    dir_dirty: bool,
    /// An I/O error left the segment in an unknown state: refuse to go on.
    broken: bool,
    /// An error met by the flusher thread, reported by the next call.
    deferred: Option<JournalError>,
    /// Tells the flusher thread to stop.
    pub shutdown: bool,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("segment", &self.seg_path)
            .field("segment_len", &self.seg_len)
            .field("buffered", &self.buf.len())
            .field("last_seq", &self.last_seq)
            .field("epoch", &self.epoch)
            .field("durability", &self.durability)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Where the journal's open end stands, as found by recovery.
#[derive(Debug)]
pub(crate) struct OpenEnd {
    pub file: File,
    pub path: PathBuf,
    pub len: u64,
    pub last_seq: u64,
    /// The segment was just created and its directory entry is not synced.
    pub dir_dirty: bool,
}

/// How an appended entry is stamped.
pub(crate) enum Stamping {
    /// The next seq, the current epoch, and this time (µs since the Unix
    /// epoch, read by the caller).
    Next { timestamp_us: i64 },
    /// Its stamp in another journal (a replica): seq, epoch, timestamp.
    Given(Stamp),
}

/// Microseconds since the Unix epoch (negative before it).
pub(crate) fn now_us() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

impl Appender {
    pub(crate) fn new(
        dir: PathBuf,
        end: OpenEnd,
        segment_size: u64,
        epoch: u64,
        durability: Durability,
    ) -> Appender {
        Appender {
            dir,
            file: end.file,
            seg_path: end.path,
            seg_len: end.len,
            segment_size,
            buf: Vec::with_capacity(BUFFER_CAPACITY),
            last_seq: end.last_seq,
            epoch,
            durability,
            unsynced: 0,
            first_unsynced: None,
            dir_dirty: end.dir_dirty,
            broken: false,
            deferred: None,
            shutdown: false,
        }
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    /// Fails if an earlier error left the writer unusable.
    fn check(&mut self) -> Result<(), JournalError> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        if self.broken {
            return Err(JournalError::Io {
                path: self.seg_path.clone(),
                source: io::Error::other(
                    "an earlier write or sync failed; reopen the journal to recover",
                ),
            });
        }
        Ok(())
    }

    /// Runs an I/O step on the segment; an error breaks the writer.
    fn io<T>(&mut self, step: impl FnOnce(&mut Self) -> io::Result<T>) -> Result<T, JournalError> {
        step(self).map_err(|source| {
            self.broken = true;
            JournalError::Io {
                path: self.seg_path.clone(),
                source,
            }
        })
    }

    /// Appends one entry, stamped with the next seq, the current epoch and
    /// `timestamp_us` (the caller's clock read: µs since the Unix epoch).
    /// Returns its seq and whether the writer just became dirty (the
    /// flusher thread should be woken).
    pub(crate) fn append(
        &mut self,
        entry: &NewEntry<'_>,
        timestamp_us: i64,
    ) -> Result<(u64, bool), JournalError> {
        self.append_stamped(entry, Stamping::Next { timestamp_us })
    }

    /// Appends one entry stamped as `stamping` says.
    pub(crate) fn append_stamped(
        &mut self,
        entry: &NewEntry<'_>,
        stamping: Stamping,
    ) -> Result<(u64, bool), JournalError> {
        self.check()?;
        let plan = payload::plan(entry)?;
        let frame_len = FRAME_HEADER_LEN + plan.len;
        if self.seg_len > HEADER_LEN as u64 && self.seg_len + frame_len as u64 > self.segment_size {
            self.roll()?;
        }
        if !self.buf.is_empty() && self.buf.len() + frame_len > BUFFER_CAPACITY {
            self.flush()?;
        }
        let seq = self.last_seq + 1;
        let stamp = match stamping {
            Stamping::Given(stamp) if stamp.seq != seq => {
                return Err(JournalError::OutOfSequence {
                    expected: seq,
                    got: stamp.seq,
                });
            }
            Stamping::Given(stamp) => stamp,
            Stamping::Next { timestamp_us } => Stamp {
                seq,
                epoch: self.epoch,
                timestamp_us,
            },
        };
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        payload::encode(entry, &plan, stamp, &mut self.buf);
        let (header, body) = self.buf[start..].split_at_mut(FRAME_HEADER_LEN);
        debug_assert_eq!(body.len(), plan.len);
        frame::write_header(header, body);
        self.last_seq = seq;
        self.seg_len += frame_len as u64;

        if matches!(entry.effect, Effect::CommitTxn | Effect::AbortTxn) {
            self.flush()?;
        }
        let mut became_dirty = false;
        match self.durability {
            Durability::EveryEntry => self.sync()?,
            Durability::Group {
                max_entries,
                max_delay,
            } => {
                self.unsynced += 1;
                let now = Instant::now();
                let first = *self.first_unsynced.get_or_insert_with(|| {
                    became_dirty = true;
                    now
                });
                if self.unsynced >= max_entries || now.duration_since(first) >= max_delay {
                    self.sync()?;
                    became_dirty = false;
                }
            }
            Durability::None => {}
        }
        Ok((seq, became_dirty))
    }

    /// Writes the buffer to the OS.
    pub(crate) fn flush(&mut self) -> Result<(), JournalError> {
        self.check()?;
        if self.buf.is_empty() {
            return Ok(());
        }
        self.io(|a| a.file.write_all(&a.buf))?;
        self.buf.clear();
        Ok(())
    }

    /// Flushes, fdatasyncs the segment and, when a segment was created
    /// since the last sync, fsyncs the directory.
    pub(crate) fn sync(&mut self) -> Result<(), JournalError> {
        self.flush()?;
        self.io(|a| a.file.sync_data())?;
        if self.dir_dirty {
            if let Err(e) = segment::sync_dir(&self.dir) {
                self.broken = true;
                return Err(e);
            }
            self.dir_dirty = false;
        }
        self.unsynced = 0;
        self.first_unsynced = None;
        Ok(())
    }

    /// The flusher thread's sync: an error is kept for the next call.
    pub(crate) fn background_sync(&mut self) {
        if let Err(e) = self.sync() {
            self.deferred = Some(e);
            self.first_unsynced = None;
        }
    }

    /// What closing needs: a sync, or a flush when durability is `None`.
    pub(crate) fn finish(&mut self) -> Result<(), JournalError> {
        match self.durability {
            Durability::None => self.flush(),
            _ => self.sync(),
        }
    }

    /// Whether the current segment holds an entry.
    pub(crate) fn segment_has_entries(&self) -> bool {
        self.seg_len > HEADER_LEN as u64
    }

    /// Seals the current segment and starts the next one.
    pub(crate) fn roll(&mut self) -> Result<(), JournalError> {
        let durable = self.durability != Durability::None;
        if durable {
            self.sync()?;
        } else {
            self.flush()?;
        }
        let header = Header {
            epoch: self.epoch,
            first_seq: self.last_seq + 1,
            created_us: now_us(),
        };
        // A failure here leaves the current segment intact: the next
        // append tries to roll again.
        let (file, path) = segment::create(&self.dir, &header, durable)?;
        self.file = file;
        self.seg_path = path;
        self.seg_len = HEADER_LEN as u64;
        self.dir_dirty = true;
        Ok(())
    }
}
