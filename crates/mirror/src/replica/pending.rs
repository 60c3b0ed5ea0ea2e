//! Open transactions: their entries held until the commit (or dropped at
//! the abort), in memory and in a spool file each, so that a restarted
//! standby still has the entries it acknowledged.
//!
//! A spool, `txn/<id>.spool` in the state directory, is a sequence of frames
//! `u32 length | u32 CRC32C | payload`, the payload an entry as
//! [`drx_journal::encode_entry`] writes it. Spools are fsynced before the
//! state file that counts their entries is written; on open, a spool is
//! read up to that count and cut there (the rest was never acknowledged and
//! will be sent again), and a spool the state does not name is removed.

use super::error::ReplicaError;
use drx_journal::{Effect, EntryRef, decode_entry, encode_entry};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A held entry's byte effect, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeldEffect {
    None,
    Create,
    Write { offset: u64, data: Vec<u8> },
    Truncate { len: u64 },
    Rename { to: String },
    DeleteFile,
}

/// An entry held until its transaction ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeldEntry {
    pub seq: u64,
    pub process: String,
    pub file: String,
    pub effect: HeldEffect,
}

impl HeldEntry {
    fn from_entry(entry: &EntryRef<'_>) -> HeldEntry {
        let effect = match entry.effect {
            Effect::Create { .. } => HeldEffect::Create,
            Effect::Write { offset, data } => HeldEffect::Write {
                offset,
                data: data.to_vec(),
            },
            Effect::Truncate { len } => HeldEffect::Truncate { len },
            Effect::Rename { to } => HeldEffect::Rename { to: to.to_owned() },
            Effect::DeleteFile => HeldEffect::DeleteFile,
            Effect::None
            | Effect::BeginTxn
            | Effect::CommitTxn
            | Effect::AbortTxn
            | Effect::Checksum(_) => HeldEffect::None,
        };
        HeldEntry {
            seq: entry.seq,
            process: entry.process.to_owned(),
            file: entry.file.to_owned(),
            effect,
        }
    }

    /// The effect as the journal's type, borrowing this entry.
    pub fn effect(&self) -> Effect<'_> {
        match &self.effect {
            HeldEffect::None => Effect::None,
            HeldEffect::Create => Effect::Create {
                organization: drx_journal::FileOrganization::Unknown,
                record_len: 0,
            },
            HeldEffect::Write { offset, data } => Effect::Write {
                offset: *offset,
                data,
            },
            HeldEffect::Truncate { len } => Effect::Truncate { len: *len },
            HeldEffect::Rename { to } => Effect::Rename { to },
            HeldEffect::DeleteFile => Effect::DeleteFile,
        }
    }
}

/// An open transaction.
#[derive(Debug)]
pub(crate) struct OpenTxn {
    pub id: u64,
    pub entries: Vec<HeldEntry>,
    spool: Spool,
}

impl OpenTxn {
    /// Flushes and fsyncs the spool.
    pub fn sync(&mut self) -> Result<(), ReplicaError> {
        self.spool.sync()
    }
}

#[derive(Debug)]
struct Spool {
    path: PathBuf,
    out: BufWriter<File>,
    /// Written since the last fsync.
    unsynced: bool,
}

impl Spool {
    fn sync(&mut self) -> Result<(), ReplicaError> {
        if self.unsynced {
            self.out
                .flush()
                .and_then(|()| self.out.get_ref().sync_data())
                .map_err(ReplicaError::io(0, &self.path))?;
            self.unsynced = false;
        }
        Ok(())
    }
}

/// The open transactions of a replica.
#[derive(Debug)]
pub(crate) struct Pending {
    dir: PathBuf,
    txns: BTreeMap<u64, OpenTxn>,
    /// Spools of ended transactions, removed once a state file without
    /// them is durable.
    garbage: Vec<PathBuf>,
    /// A spool was created since the last sync (its directory entry is
    /// not durable yet).
    dir_dirty: bool,
    /// Encoding buffer.
    buf: Vec<u8>,
}

fn spool_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id}.spool"))
}

impl Pending {
    /// Loads the spools the state names (`(txn id, entries)`), each cut
    /// after its count, and removes any other.
    pub fn open(dir: &Path, expected: &[(u64, u64)]) -> Result<Pending, ReplicaError> {
        fs::create_dir_all(dir).map_err(ReplicaError::io(0, dir))?;
        let mut txns = BTreeMap::new();
        for &(id, count) in expected {
            let path = spool_path(dir, id);
            let (entries, end) = read_spool(&path, count)?;
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(ReplicaError::io(0, &path))?;
            let len = file.metadata().map_err(ReplicaError::io(0, &path))?.len();
            if len > end {
                file.set_len(end)
                    .and_then(|()| file.sync_data())
                    .map_err(ReplicaError::io(0, &path))?;
            }
            let file = OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(ReplicaError::io(0, &path))?;
            let spool = Spool {
                path,
                out: BufWriter::new(file),
                unsynced: false,
            };
            txns.insert(id, OpenTxn { id, entries, spool });
        }
        for item in fs::read_dir(dir).map_err(ReplicaError::io(0, dir))? {
            let item = item.map_err(ReplicaError::io(0, dir))?;
            let name = item.file_name();
            let known = name
                .to_str()
                .and_then(|n| n.strip_suffix(".spool"))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|id| txns.contains_key(&id));
            if !known {
                let path = item.path();
                fs::remove_file(&path).map_err(ReplicaError::io(0, &path))?;
            }
        }
        Ok(Pending {
            dir: dir.to_owned(),
            txns,
            garbage: Vec::new(),
            dir_dirty: false,
            buf: Vec::new(),
        })
    }

    pub fn contains(&self, id: u64) -> bool {
        self.txns.contains_key(&id)
    }

    /// Opens transaction `id` with an empty spool; false if it is open
    /// already.
    pub fn begin(&mut self, id: u64) -> Result<bool, ReplicaError> {
        if self.txns.contains_key(&id) {
            return Ok(false);
        }
        let path = spool_path(&self.dir, id);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(ReplicaError::io(id, &path))?;
        let spool = Spool {
            path,
            out: BufWriter::new(file),
            unsynced: true,
        };
        self.dir_dirty = true;
        self.txns.insert(
            id,
            OpenTxn {
                id,
                entries: Vec::new(),
                spool,
            },
        );
        Ok(true)
    }

    /// Holds `entry` in its (open) transaction.
    pub fn hold(&mut self, entry: &EntryRef<'_>) -> Result<(), ReplicaError> {
        let Some(txn) = self.txns.get_mut(&entry.txn) else {
            return Ok(());
        };
        self.buf.clear();
        self.buf.extend_from_slice(&[0; 8]);
        encode_entry(entry, &mut self.buf).map_err(|e| ReplicaError::BadState {
            path: txn.spool.path.clone(),
            reason: format!("seq {}: {e}", entry.seq),
        })?;
        let len = (self.buf.len() - 8) as u32;
        let crc = crc32c::crc32c(&self.buf[8..]);
        self.buf[..4].copy_from_slice(&len.to_le_bytes());
        self.buf[4..8].copy_from_slice(&crc.to_le_bytes());
        txn.spool
            .out
            .write_all(&self.buf)
            .map_err(ReplicaError::io(entry.seq, &txn.spool.path))?;
        txn.spool.unsynced = true;
        txn.entries.push(HeldEntry::from_entry(entry));
        Ok(())
    }

    /// Takes transaction `id` out (to commit it); its spool stays until
    /// [`Pending::discard`].
    pub fn take(&mut self, id: u64) -> Option<OpenTxn> {
        self.txns.remove(&id)
    }

    /// Drops an ended transaction: its spool is removed after the next
    /// state file.
    pub fn discard(&mut self, txn: OpenTxn) {
        self.garbage.push(txn.spool.path);
    }

    /// Drops transaction `id` (an abort); returns its entry count, or
    /// `None` when it is not open.
    pub fn abort(&mut self, id: u64) -> Option<usize> {
        let txn = self.txns.remove(&id)?;
        let n = txn.entries.len();
        self.discard(txn);
        Some(n)
    }

    /// Whether a spool awaits an fsync.
    pub fn is_dirty(&self) -> bool {
        self.dir_dirty || self.txns.values().any(|t| t.spool.unsynced) || !self.garbage.is_empty()
    }

    /// Fsyncs every spool written since the last sync, and their directory
    /// when one was created.
    pub fn sync(&mut self) -> Result<(), ReplicaError> {
        self.txns.values_mut().try_for_each(OpenTxn::sync)?;
        if self.dir_dirty {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(ReplicaError::io(0, &self.dir))?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// `(txn id, entries)` of every open transaction.
    pub fn counts(&self) -> Vec<(u64, u64)> {
        self.txns
            .values()
            .map(|t| (t.id, t.entries.len() as u64))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.txns.len()
    }

    /// Removes the spools of ended transactions (once the state file no
    /// longer names them).
    pub fn collect_garbage(&mut self) {
        for path in self.garbage.drain(..) {
            if let Err(e) = fs::remove_file(&path)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a spent transaction spool");
            }
        }
    }
}

/// Reads the first `count` entries of a spool; returns them and the byte
/// offset after the last.
fn read_spool(path: &Path, count: u64) -> Result<(Vec<HeldEntry>, u64), ReplicaError> {
    let bytes = fs::read(path).map_err(ReplicaError::io(0, path))?;
    let bad = |reason: String| ReplicaError::BadState {
        path: path.to_owned(),
        reason,
    };
    let mut entries = Vec::with_capacity(count.min(1 << 16) as usize);
    let mut at = 0usize;
    for n in 0..count {
        let header = bytes
            .get(at..at + 8)
            .ok_or_else(|| bad(format!("{count} entries expected, {n} found")))?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let payload = bytes
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| bad(format!("entry {n} is cut short at byte {at}")))?;
        if crc32c::crc32c(payload) != crc {
            return Err(bad(format!("entry {n} at byte {at}: checksum mismatch")));
        }
        let entry =
            decode_entry(payload).map_err(|e| bad(format!("entry {n} at byte {at}: {e}")))?;
        entries.push(HeldEntry::from_entry(&entry));
        at += 8 + len;
    }
    Ok((entries, at as u64))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(seq: u64, txn: u64, data: &[u8]) -> EntryRef<'_> {
        EntryRef {
            seq,
            epoch: 1,
            txn,
            timestamp_us: 0,
            process: "p",
            file: "/f",
            effect: Effect::Write { offset: seq, data },
            record: None,
        }
    }

    #[test]
    fn spools_are_cut_at_the_count_and_strays_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Pending::open(dir.path(), &[]).unwrap();
        assert!(p.begin(7).unwrap());
        assert!(!p.begin(7).unwrap());
        p.begin(9).unwrap();
        for seq in 8..12 {
            p.hold(&entry(seq, 7, b"abc")).unwrap();
        }
        p.hold(&entry(12, 9, b"x")).unwrap();
        p.sync().unwrap();
        assert_eq!(p.counts(), vec![(7, 4), (9, 1)]);
        drop(p);
        fs::write(dir.path().join("3.spool"), b"stray").unwrap();
        // The state counted 2 entries of txn 7 only.
        let p = Pending::open(dir.path(), &[(7, 2)]).unwrap();
        assert_eq!(p.counts(), vec![(7, 2)]);
        let held = &p.txns[&7].entries;
        assert_eq!(held[1].seq, 9);
        assert_eq!(
            held[1].effect(),
            Effect::Write {
                offset: 9,
                data: b"abc"
            }
        );
        assert!(!dir.path().join("3.spool").exists());
        assert!(!dir.path().join("9.spool").exists());
        drop(p);
        // Cut for good: asking for 3 now is damage.
        assert!(matches!(
            Pending::open(dir.path(), &[(7, 3)]),
            Err(ReplicaError::BadState { .. })
        ));
    }

    #[test]
    fn a_damaged_spool_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Pending::open(dir.path(), &[]).unwrap();
        p.begin(1).unwrap();
        p.hold(&entry(2, 1, b"abc")).unwrap();
        p.sync().unwrap();
        drop(p);
        let path = dir.path().join("1.spool");
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, bytes).unwrap();
        assert!(matches!(
            Pending::open(dir.path(), &[(1, 1)]),
            Err(ReplicaError::BadState { .. })
        ));
    }

    #[test]
    fn an_abort_drops_the_entries_and_the_spool_later() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Pending::open(dir.path(), &[]).unwrap();
        p.begin(1).unwrap();
        p.hold(&entry(2, 1, b"abc")).unwrap();
        assert_eq!(p.abort(1), Some(1));
        assert_eq!(p.abort(1), None);
        assert!(dir.path().join("1.spool").exists());
        p.collect_garbage();
        assert!(!dir.path().join("1.spool").exists());
        assert_eq!(p.len(), 0);
    }
}
