//! `drx restore`: a backup's files brought back, with the journal replayed
//! over them up to a target seq or time, by a [`Replica`] into a staging
//! directory, then installed at their paths.

use super::error::BackupError;
use super::manifest::{BackupManifest, confined};
use super::range::RangeReader;
use super::timestamp::format_micros;
use crate::replica::{Outcome, Replica, ReplicaConfig};
use drx_journal::{Effect, EntryRef, Reader};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The state a restore brings the files to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreTarget {
    /// The journal's last entry.
    Latest,
    /// This seq (at or after the backup's consistent seq).
    Seq(u64),
    /// The last entry stamped at or before this time (microseconds since
    /// the epoch).
    Time(i64),
}

/// What to restore, and where.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backup directory.
    pub backup: PathBuf,
    /// The live journal to replay past the backup's range.
    pub journal_dir: PathBuf,
    /// Install the files below this directory (each keeping its absolute
    /// path below it); `None`: at their own paths.
    pub into: Option<PathBuf>,
    /// The state to restore.
    pub target: RestoreTarget,
    /// Where the staging directory is made (default: the system's
    /// temporary directory).
    pub work_dir: Option<PathBuf>,
}

/// One file a restore wrote or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredFile {
    /// The path as the journal names it.
    pub path: String,
    /// Where it was installed.
    pub installed: PathBuf,
    /// Its size, or `None` when it does not exist at the target (it was
    /// deleted: any file there was removed).
    pub size: Option<u64>,
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The seq the files are restored to.
    pub seq: u64,
    /// The timestamp of that entry (RFC 3339).
    pub time: String,
    /// The backup's consistent seq.
    pub consistent_seq: u64,
    /// Entries replayed from the backup's range, and from the live journal.
    pub from_backup: u64,
    /// Entries replayed from the live journal.
    pub from_journal: u64,
    /// Transactions open at the target: not applied.
    pub open_transactions: usize,
    /// `Checksum` entries met on the way whose file matched, and those
    /// that did not (each logged).
    pub checksums: (u64, u64),
    /// Entries of files that neither the backup holds nor the replay
    /// created, passed over.
    pub skipped: u64,
    /// The files, by path.
    pub files: Vec<RestoredFile>,
}

/// Restores the backup in `options.backup`: checks every file against
/// the manifest (a damaged one is refused, named), copies them into a
/// staging directory, replays the backup's journal range and, past it,
/// the live journal up to the target through a [`Replica`] (transactions
/// open at the target are not applied), then installs each file
/// atomically (a temporary file renamed over it) at its path, or below
/// `options.into`.
pub fn restore(options: &RestoreOptions) -> Result<RestoreReport, BackupError> {
    let manifest = BackupManifest::read(&options.backup)?;
    manifest.check(&options.backup)?;
    let consistent = manifest.consistent_seq;
    match options.target {
        RestoreTarget::Seq(n) if n < consistent => {
            return Err(BackupError::TargetBeforeBackup {
                target: format!("seq {n}"),
                consistent,
            });
        }
        RestoreTarget::Time(t) if consistent > 0 && t < manifest.consistent_time_us => {
            return Err(BackupError::TargetBeforeBackup {
                target: format!(
                    "time {} (seq {consistent} was stamped {})",
                    format_micros(t),
                    manifest.consistent_time
                ),
                consistent,
            });
        }
        _ => {}
    }
    let work = WorkDir::create(options.work_dir.as_deref())?;
    let stage = work.path.join("files");
    let mut known: BTreeSet<String> = BTreeSet::new();
    for f in &manifest.files {
        let staged = stage.join(relative(&f.path)?);
        if let Some(parent) = staged.parent() {
            std::fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
        }
        let copy = confined(&options.backup, &f.copy)?;
        std::fs::copy(&copy, &staged).map_err(BackupError::io(&copy))?;
        known.insert(f.path.clone());
    }
    let mut replay = Replay {
        replica: Replica::open(&ReplicaConfig {
            roots: vec![stage.clone()],
            state_dir: work.path.join("state"),
            files: drx_config::FilesTable::default(),
            home: manifest.home.clone(),
            substitute_system_name: None,
            max_open_files: 64,
        })?,
        known,
        seq: 0,
        time_us: 0,
        checksums: (0, 0),
        skipped: 0,
        verify: false,
    };
    let range_path = confined(&options.backup, &manifest.journal.file)?;
    let mut range = RangeReader::open(&range_path)?;
    let mut from_backup = 0;
    // The copies are not a state of the files before the consistent seq:
    // checksums inside the range are not compared.
    replay.verify = false;
    while let Some(entry) = range.next_entry()? {
        replay.apply(&entry)?;
        from_backup += 1;
    }
    if from_backup != manifest.journal.entries || (from_backup > 0 && replay.seq != consistent) {
        return Err(BackupError::Damaged {
            file: range_path,
            original: "journal range".into(),
            reason: format!(
                "{from_backup} entries ending at seq {}, the manifest says {} ending at seq {consistent}",
                replay.seq, manifest.journal.entries
            ),
        });
    }
    replay.seq = consistent;
    replay.verify = true;
    replay.time_us = manifest.consistent_time_us;
    let from_journal = replay_journal(&mut replay, &manifest, options)?;
    let open_transactions = replay.replica.open_transactions();
    let (seq, time_us, checksums, skipped) =
        (replay.seq, replay.time_us, replay.checksums, replay.skipped);
    let known = std::mem::take(&mut replay.known);
    replay.replica.close()?;
    let base = options.into.clone().unwrap_or_else(|| PathBuf::from("/"));
    let mut files = Vec::new();
    for path in known {
        let rel = relative(&path)?;
        let staged = stage.join(&rel);
        let installed = base.join(&rel);
        let size = install(&staged, &installed)?;
        files.push(RestoredFile {
            path,
            installed,
            size,
        });
    }
    Ok(RestoreReport {
        seq,
        time: if seq > 0 {
            format_micros(time_us)
        } else {
            String::new()
        },
        consistent_seq: consistent,
        from_backup,
        from_journal,
        open_transactions,
        checksums,
        skipped,
        files,
    })
}

/// Replays the live journal after the backup's range up to the target;
/// returns the entries replayed.
fn replay_journal(
    replay: &mut Replay,
    manifest: &BackupManifest,
    options: &RestoreOptions,
) -> Result<u64, BackupError> {
    let consistent = manifest.consistent_seq;
    let dir = &options.journal_dir;
    let target_text = match options.target {
        RestoreTarget::Latest => "latest".to_owned(),
        RestoreTarget::Seq(n) => format!("seq {n}"),
        RestoreTarget::Time(t) => format!("time {}", format_micros(t)),
    };
    if options.target == RestoreTarget::Seq(consistent) {
        return Ok(0);
    }
    let unreachable = |reason: String| BackupError::TargetUnreachable {
        target: target_text.clone(),
        reason,
    };
    // The live journal must be the one the backup was taken from.
    if consistent > 0 && manifest.consistent_time_us != 0 {
        match Reader::open(dir, consistent) {
            Ok(mut r) => {
                if let Some(e) = r.next().map_err(BackupError::journal(dir))?
                    && e.seq == consistent
                    && e.timestamp_us != manifest.consistent_time_us
                {
                    return Err(unreachable(format!(
                        "the journal {} is not the one the backup was taken from: its seq {consistent} is stamped {}, the backup's {}",
                        dir.display(),
                        format_micros(e.timestamp_us),
                        manifest.consistent_time
                    )));
                }
            }
            Err(drx_journal::JournalError::Gone { .. }) => {}
            Err(e) => return Err(BackupError::journal(dir)(e)),
        }
    }
    let mut reader = match Reader::open(dir, consistent + 1) {
        Ok(r) => r,
        Err(drx_journal::JournalError::Gone { .. }) => {
            return Err(unreachable(format!(
                "the journal {} no longer holds seq {} (retention removed it); the backup can be restored to seq {consistent} only",
                dir.display(),
                consistent + 1
            )));
        }
        Err(e) => return Err(BackupError::journal(dir)(e)),
    };
    let mut count = 0;
    while let Some(entry) = reader.next().map_err(BackupError::journal(dir))? {
        let past = match options.target {
            RestoreTarget::Latest => false,
            RestoreTarget::Seq(n) => entry.seq > n,
            RestoreTarget::Time(t) => entry.timestamp_us > t,
        };
        if past {
            break;
        }
        replay.apply(&entry)?;
        count += 1;
    }
    if let RestoreTarget::Seq(n) = options.target
        && replay.seq < n
    {
        return Err(unreachable(format!(
            "the journal {} ends at seq {}",
            dir.display(),
            replay.seq
        )));
    }
    Ok(count)
}

/// The replica being brought forward, and the paths it may write.
#[derive(Debug)]
struct Replay {
    replica: Replica,
    /// Journal paths of the files the backup holds or the replay created.
    known: BTreeSet<String>,
    seq: u64,
    time_us: i64,
    checksums: (u64, u64),
    skipped: u64,
    /// Whether `Checksum` entries are compared.
    verify: bool,
}

impl Replay {
    /// Applies one entry; a byte effect on a file neither the backup holds
    /// nor the replay created is passed over (as an entry without effect,
    /// so the seqs stay contiguous).
    fn apply(&mut self, entry: &EntryRef<'_>) -> Result<(), BackupError> {
        let known = self.known.contains(entry.file);
        let keep = match entry.effect {
            Effect::Create { .. } => {
                self.known.insert(entry.file.to_owned());
                true
            }
            Effect::Rename { to } => {
                if known {
                    self.known.insert(to.to_owned());
                }
                known
            }
            Effect::Write { .. } | Effect::Truncate { .. } | Effect::DeleteFile => known,
            Effect::Checksum(_) => known && self.verify,
            Effect::None | Effect::BeginTxn | Effect::CommitTxn | Effect::AbortTxn => true,
        };
        let passed;
        let entry = if keep {
            entry
        } else {
            if !matches!(entry.effect, Effect::Checksum(_)) {
                self.skipped += 1;
            }
            passed = EntryRef {
                effect: Effect::None,
                record: None,
                ..*entry
            };
            &passed
        };
        match self.replica.apply(entry) {
            Ok(Outcome::Verified { identical }) => {
                if identical {
                    self.checksums.0 += 1;
                } else {
                    self.checksums.1 += 1;
                }
            }
            Ok(_) => {}
            Err(e) if !e.is_fatal() => {
                tracing::warn!(seq = entry.seq, error = %e, "entry not applied in the restore");
            }
            Err(e) => return Err(e.into()),
        }
        self.seq = entry.seq;
        self.time_us = entry.timestamp_us;
        Ok(())
    }
}

/// The journal path (absolute, without `..`) below `/`.
fn relative(path: &str) -> Result<PathBuf, BackupError> {
    let p = Path::new(path);
    let mut rel = PathBuf::new();
    for c in p.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => rel.push(n),
            Component::CurDir => {}
            _ => {
                return Err(BackupError::Inconsistent(format!(
                    "{path}: not an absolute path without `..`"
                )));
            }
        }
    }
    if !p.is_absolute() || rel.as_os_str().is_empty() {
        return Err(BackupError::Inconsistent(format!(
            "{path}: not an absolute path of a file"
        )));
    }
    Ok(rel)
}

/// Puts `staged` at `target` through a temporary file in the target's
/// directory, renamed over it and fsynced; with nothing staged (the file
/// does not exist at the target seq) removes `target`. Returns the size
/// installed.
fn install(staged: &Path, target: &Path) -> Result<Option<u64>, BackupError> {
    let Some(dir) = target.parent() else {
        return Err(BackupError::io(target)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no parent directory",
        )));
    };
    if !staged.is_file() {
        match std::fs::remove_file(target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io(target)(e)),
        }
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(BackupError::io(dir))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.drx-restore.tmp"));
    let size = std::fs::copy(staged, &tmp).map_err(BackupError::io(&tmp))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io(&tmp))?;
    std::fs::rename(&tmp, target).map_err(BackupError::io(target))?;
    super::manifest::sync_dir(dir)?;
    Ok(Some(size))
}

/// The restore's staging directory, removed when dropped.
#[derive(Debug)]
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    fn create(base: Option<&Path>) -> Result<WorkDir, BackupError> {
        let base = base.map_or_else(std::env::temp_dir, Path::to_owned);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = base.join(format!("drx-restore-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(BackupError::io(&path))?;
        let path = std::fs::canonicalize(&path).map_err(BackupError::io(&path))?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
