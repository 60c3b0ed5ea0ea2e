//! `drx equalize` (docs/DR.md, "Equalizer"): on the primary host, keep
//! the standby's copies of non-transactional files (the Files Table's
//! `equalize` records: sources, configuration files) in step with the
//! primary's.
//!
//! For each equalize record, the files its star-name `source_path` matches
//! here (minus the exclude records, which apply everywhere) are compared
//! with the standby's copies over a transfer session (docs/PROTOCOL.md):
//! the standby lists the mapped directory (`ListRequest` → `Listing`:
//! names, lengths, modification times), and for a file it has, its block
//! digests (`SumsRequest` → `Sums`). A file is then
//!
//! * **new** — missing there: copied if `equalize_if_new`;
//! * **modified** — different there (length or digests) and older there:
//!   copied if `equalize_if_modified`;
//! * **same** — equal there: left alone;
//! * **locked** — a shared `flock` on it here would block: skipped unless
//!   `equalize_if_locked`.
//!
//! A copy sends only the differing blocks (`Blocks`, `BlocksEnd` with
//! `from_seq` [`NO_REPLAY`]: no journal entry names these files, nothing
//! is replayed) and then stamps the copy with the primary's modification
//! time (`TouchFile`), so that the next round finds it equal. Files of the
//! standby's directory that match the star-name but no longer exist here
//! are orphans: reported (`report_orphans`) or deleted (`delete_orphans`).
//!
//! A star-name in the directory part of `source_path` (`apps/*/conf/*.cfg`)
//! is expanded here ([`dirs`]: component by component, no symbolic link
//! followed, bounded); each matched directory is then equalized as a
//! directory without a star is, its copies on the standby under
//! `destination_dir` keeping their path below the pattern's star-free
//! base. [`EqualizeSchedule`] says which records `drx equalize --every`
//! runs when (each on its own `equalize_interval`).

mod dirs;
mod schedule;

pub use dirs::MAX_DIRS_VISITED;
pub use schedule::{EqualizeSchedule, record_interval};

use crate::delta_sync::{block_size_for_sync, file_sums};
use crate::error::LinkError;
use crate::link::{self, FrameReader, WriteHalf};
use crate::protocol::transfer::{ListRequest, Listed, Listing, Touch, TouchFile, Touched};
use crate::protocol::{
    Blocks, BlocksEnd, MAX_BLOCKS_DATA, Message, Reason, Sums, SumsRequest, Synced,
};
use crate::settings::PrimarySettings;
use drx_config::{Config, FileRecord, FileRecordType, FilesTable};
use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// The `from_seq` of an equalizer's `BlocksEnd`: past every seq, so the
/// standby replays no journal entry over the copy.
pub const NO_REPLAY: u64 = u64::MAX;

/// The interval of an equalize record that sets no `equalize_interval`
/// (or 0), in minutes.
pub const DEFAULT_EQUALIZE_MINUTES: u32 = 5;

/// What the equalizer did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Equalized {
    /// Missing on the standby: copied.
    New,
    /// Missing on the standby, left so (`equalize_if_new` is off).
    NewSkipped,
    /// Different and older on the standby: copied.
    Modified,
    /// Different on the standby but not copied (why).
    ModifiedSkipped(String),
    /// Equal on the standby.
    Same,
    /// Locked here: skipped (`equalize_if_locked` is off).
    Locked,
    /// On the standby only: reported.
    OrphanReported,
    /// On the standby only: deleted there.
    OrphanDeleted,
    /// Not done (why).
    Failed(String),
}

/// One line of an equalizer round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqualizedFile {
    /// The file, as the primary names it.
    pub file: String,
    /// What was done.
    pub outcome: Equalized,
    /// Bytes of file data sent.
    pub bytes_sent: u64,
}

impl fmt::Display for EqualizedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sent = crate::delta_sync::human_bytes(self.bytes_sent);
        match &self.outcome {
            Equalized::New => write!(f, "{}: new, copied ({sent} sent)", self.file),
            Equalized::NewSkipped => {
                write!(f, "{}: new, skipped (equalize_if_new is off)", self.file)
            }
            Equalized::Modified => write!(f, "{}: modified, copied ({sent} sent)", self.file),
            Equalized::ModifiedSkipped(why) => {
                write!(f, "{}: modified, skipped ({why})", self.file)
            }
            Equalized::Same => write!(f, "{}: same", self.file),
            Equalized::Locked => write!(f, "{}: locked, skipped", self.file),
            Equalized::OrphanReported => write!(f, "{}: orphan reported", self.file),
            Equalized::OrphanDeleted => write!(f, "{}: orphan deleted", self.file),
            Equalized::Failed(why) => write!(f, "{}: NOT equalized: {why}", self.file),
        }
    }
}

/// What one equalizer round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqualizeReport {
    /// The standby's node id.
    pub peer: String,
    /// Each file, record by record.
    pub files: Vec<EqualizedFile>,
    /// How long the round took, in milliseconds.
    pub took_ms: u128,
}

impl EqualizeReport {
    /// Files not equalized for an error.
    pub fn failures(&self) -> usize {
        self.files
            .iter()
            .filter(|f| matches!(f.outcome, Equalized::Failed(_)))
            .count()
    }
}

impl fmt::Display for EqualizeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in &self.files {
            writeln!(f, "{file}")?;
        }
        let copied = self
            .files
            .iter()
            .filter(|f| matches!(f.outcome, Equalized::New | Equalized::Modified))
            .count();
        write!(
            f,
            "{} file(s) checked against {}, {copied} copied, {} failed; took {:.2} s",
            self.files.len(),
            self.peer,
            self.failures(),
            self.took_ms as f64 / 1000.0
        )
    }
}

/// The Files Table's equalize records, in order: the records that
/// [`equalize_records`] and [`EqualizeSchedule`] number from 0.
pub fn equalize_record_list(config: &Config) -> Vec<FileRecord> {
    config
        .files
        .records()
        .filter(|r| r.record_type == FileRecordType::Equalize)
        .cloned()
        .collect()
}

/// Whether `name` matches the star-name `pattern` (`*`: any run of
/// characters, `?`: one).
pub(crate) fn star_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

fn has_star(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Whether an equalize record's `source_path` matches `path` on this node:
/// the absolute star-name against the whole path, a relative one (relative
/// to each node's home) against its end too, `in_any_directory` against
/// the file name.
fn record_matches(record: &FileRecord, home: &Path, path: &Path) -> bool {
    let full = path.to_string_lossy();
    if record.in_any_directory {
        let pattern = Path::new(&record.source_path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = path.file_name().map(|n| n.to_string_lossy());
        return name.is_some_and(|n| star_match(&pattern, &n));
    }
    let pattern = drx_config::absolute(home, Path::new(&record.source_path));
    star_match(&pattern.to_string_lossy(), &full)
        || (Path::new(&record.source_path).is_relative()
            && star_match(&format!("*/{}", record.source_path), &full))
}

/// Whether an exclude record drops `path`: exclude records apply to the
/// whole system, a `source_path` without a directory to every directory.
fn excluded(config: &Config, path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    config
        .files
        .records()
        .filter(|r| r.record_type == FileRecordType::Exclude)
        .any(|r| {
            if r.in_any_directory || !r.source_path.contains('/') {
                let pattern = Path::new(&r.source_path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                star_match(&pattern, &name)
            } else {
                record_matches(r, &config.home, path)
            }
        })
}

/// On the standby: where the copy of `file` goes when an equalize record
/// (and no include record) selects it and gives a `destination_dir`:
/// that directory (under the home), the file keeping its name.
pub(crate) fn destination(
    files: &FilesTable,
    home: &Path,
    process: &str,
    file: &str,
) -> Result<Option<PathBuf>, String> {
    let path = drx_config::normalize(Path::new(file));
    if files.select(process, &path).is_some() {
        return Ok(None);
    }
    let record = files.records().find(|r| {
        r.record_type == FileRecordType::Equalize
            && (star_match(&r.process_name, process) || r.process_name == process)
            && record_matches(r, home, &path)
    });
    let Some(dir) = record
        .and_then(|r| r.destination_dir.as_ref())
        .filter(|d| !d.as_os_str().is_empty())
    else {
        return Ok(None);
    };
    if dir.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "{file}: destination_dir {} has a '..' component",
            dir.display()
        ));
    }
    let rel = below_base(record.map_or("", |r| r.source_path.as_str()), &path)
        .ok_or_else(|| format!("{file}: no file name"))?;
    Ok(Some(drx_config::normalize(&home.join(dir)).join(rel)))
}

/// The part of `path` (a file an equalize record's `source_path`
/// matches) that its copy keeps under `destination_dir`: the file name,
/// and with a star-name in the directory, the directories below the
/// pattern's star-free base too (`apps/*/conf/*.cfg`: `x/conf/a.cfg`).
/// The primary matches the pattern component by component, so the path
/// has as many components after the base as the pattern.
fn below_base(source_path: &str, path: &Path) -> Option<PathBuf> {
    let pattern = drx_config::normalize(Path::new(source_path));
    let (_, rest) = dirs::split_base(&pattern);
    let keep = rest.len().max(1);
    let names: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return None;
    }
    let from = names.len().saturating_sub(keep);
    Some(names[from..].iter().collect())
}

fn mtime_ns(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// On the standby: the regular files of `dir` whose names match `pattern`
/// (none when `dir` does not exist), sorted by name.
pub(crate) fn list_dir(dir: &Path, pattern: &str) -> Result<Vec<Listed>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry
            .metadata()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if meta.is_file() && star_match(pattern, &name) {
            files.push(Listed {
                name,
                len: meta.len(),
                mtime_ns: mtime_ns(&meta),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// On the standby: stamps `path`'s modification time, or removes it (a
/// file already gone is removed).
pub(crate) fn touch(path: &Path, what: Touch) -> Result<(), String> {
    let io_error = |e: io::Error| format!("{}: {e}", path.display());
    match what {
        Touch::Stamp(ns) => {
            let file = File::options().write(true).open(path).map_err(io_error)?;
            file.set_modified(UNIX_EPOCH + Duration::from_nanos(ns))
                .map_err(io_error)
        }
        Touch::Remove => match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(e)),
            _ => {
                tracing::info!(file = %path.display(), "equalizer: orphan deleted");
                Ok(())
            }
        },
    }
}

/// The files of one equalize record here: its directory and star-name.
struct Matched {
    dir: PathBuf,
    pattern: String,
    files: Vec<PathBuf>,
}

/// The directories of one equalize record here (one, or with a star-name
/// in the directory, each that it matches) and their files.
fn matched(config: &Config, record: &FileRecord) -> Result<Vec<Matched>, String> {
    if record.in_any_directory {
        return Err("in_any_directory is not supported by the equalizer".into());
    }
    let full = drx_config::absolute(&config.home, Path::new(&record.source_path));
    let (Some(dir), Some(pattern)) = (full.parent(), full.file_name()) else {
        return Err("no directory and file name".into());
    };
    let pattern = pattern.to_string_lossy().into_owned();
    if !has_star(&dir.to_string_lossy()) {
        return Ok(vec![matched_in(config, dir, &pattern)?]);
    }
    dirs::expand_dirs(dir, MAX_DIRS_VISITED)?
        .iter()
        .map(|dir| matched_in(config, dir, &pattern))
        .collect()
}

/// The regular files of `dir` whose names match `pattern`, minus the
/// excluded ones, sorted (none when `dir` does not exist).
fn matched_in(config: &Config, dir: &Path, pattern: &str) -> Result<Matched, String> {
    let mut files = Vec::new();
    match fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = dir.join(&name);
                let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                if is_file && star_match(pattern, &name) && !excluded(config, &path) {
                    files.push(path);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    files.sort();
    Ok(Matched {
        dir: dir.to_path_buf(),
        pattern: pattern.to_owned(),
        files,
    })
}

/// Whether a shared `flock` on `file` would block (someone holds it
/// exclusively).
fn locked(file: &File) -> io::Result<bool> {
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(fs::TryLockError::WouldBlock) => Ok(true),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The transfer session of a round.
struct Session {
    reader: FrameReader,
    write: WriteHalf,
}

impl Session {
    async fn send(&mut self, message: &Message<'_>) -> Result<(), LinkError> {
        let peer = self.reader.peer();
        link::write_message(&mut self.write, peer, message).await
    }

    async fn answer(&mut self) -> Result<Message<'static>, LinkError> {
        loop {
            let Some(frame) = self.reader.next_frame().await? else {
                return Err(LinkError::Closed);
            };
            let owned = match Message::decode(&frame)? {
                Some((Message::Heartbeat { .. }, _)) => continue,
                Some((Message::Sums(s), _)) => Message::Sums(s),
                Some((Message::Synced(s), _)) => Message::Synced(s),
                Some((Message::Listing(l), _)) => Message::Listing(l),
                Some((Message::Touched(t), _)) => Message::Touched(t),
                Some((Message::Goodbye { reason, text }, _)) => {
                    return Err(LinkError::Goodbye { reason, text });
                }
                Some((Message::Refused { reason, text }, _)) => {
                    return Err(LinkError::Refused { reason, text });
                }
                Some((other, _)) => return Err(violation(other.kind().name())),
                None => return Err(LinkError::Closed),
            };
            return Ok(owned);
        }
    }
}

fn violation(what: &str) -> LinkError {
    LinkError::Ended {
        reason: Reason::ProtocolViolation,
        text: format!("unexpected {what} in an equalizer session"),
    }
}

/// One equalizer round: every equalize record's files compared with the
/// standby's copies, copied, reported or removed as the record says.
pub async fn equalize(config: &Config) -> Result<EqualizeReport, LinkError> {
    let all: Vec<usize> = (0..equalize_record_list(config).len()).collect();
    equalize_records(config, &all).await
}

/// One equalizer round of some equalize records (numbers into
/// [`equalize_record_list`]; unknown numbers are ignored), over one
/// transfer session.
pub async fn equalize_records(
    config: &Config,
    indices: &[usize],
) -> Result<EqualizeReport, LinkError> {
    let started = Instant::now();
    let settings = PrimarySettings::from_config(config)?;
    let (reader, write, theirs) = crate::session::open_transfer(&settings).await?;
    let mut session = Session { reader, write };
    let mut report = EqualizeReport {
        peer: theirs.node_id.clone(),
        files: Vec::new(),
        took_ms: 0,
    };
    let records = equalize_record_list(config);
    for record in indices.iter().filter_map(|&i| records.get(i)) {
        equalize_record(config, record, &mut session, &mut report.files).await?;
    }
    let bye = Message::Goodbye {
        reason: Reason::Shutdown,
        text: "equalized".into(),
    };
    let _ = session.send(&bye).await;
    report.took_ms = started.elapsed().as_millis();
    Ok(report)
}

async fn equalize_record(
    config: &Config,
    record: &FileRecord,
    session: &mut Session,
    out: &mut Vec<EqualizedFile>,
) -> Result<(), LinkError> {
    let dirs = match matched(config, record) {
        Ok(m) => m,
        Err(why) => {
            out.push(EqualizedFile {
                file: record.source_path.clone(),
                outcome: Equalized::Failed(why),
                bytes_sent: 0,
            });
            return Ok(());
        }
    };
    for matched in &dirs {
        equalize_dir(config, record, matched, session, out).await?;
    }
    Ok(())
}

/// One directory of an equalize record: its files, then the standby's
/// orphans in it.
async fn equalize_dir(
    config: &Config,
    record: &FileRecord,
    matched: &Matched,
    session: &mut Session,
    out: &mut Vec<EqualizedFile>,
) -> Result<(), LinkError> {
    let dir = matched.dir.display().to_string();
    let request = Message::ListRequest(ListRequest {
        process: record.process_name.clone(),
        dir: dir.clone(),
        pattern: matched.pattern.clone(),
    });
    session.send(&request).await?;
    let listing: Listing = match session.answer().await? {
        Message::Listing(l) if l.dir == dir => l,
        other => return Err(violation(other.kind().name())),
    };
    let mut here = BTreeSet::new();
    for path in &matched.files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let theirs = listing.files.iter().find(|f| f.name == name);
        here.insert(name);
        let line = equalize_file(record, path, theirs, session).await?;
        tracing::info!("{line}");
        out.push(line);
    }
    if !(record.report_orphans || record.delete_orphans) {
        return Ok(());
    }
    for orphan in listing.files.iter().filter(|f| !here.contains(&f.name)) {
        let path = matched.dir.join(&orphan.name);
        if excluded(config, &path) {
            continue;
        }
        let file = path.display().to_string();
        let outcome = if record.delete_orphans {
            match touch_remote(session, record, &file, Touch::Remove).await? {
                None => Equalized::OrphanDeleted,
                Some(why) => Equalized::Failed(why),
            }
        } else {
            Equalized::OrphanReported
        };
        let line = EqualizedFile {
            file,
            outcome,
            bytes_sent: 0,
        };
        tracing::warn!("{line}");
        out.push(line);
    }
    Ok(())
}

async fn touch_remote(
    session: &mut Session,
    record: &FileRecord,
    file: &str,
    touch: Touch,
) -> Result<Option<String>, LinkError> {
    let request = Message::TouchFile(TouchFile {
        process: record.process_name.clone(),
        file: file.to_owned(),
        touch,
    });
    session.send(&request).await?;
    match session.answer().await? {
        Message::Touched(Touched {
            file: f, failed, ..
        }) if f == file => Ok(failed),
        other => Err(violation(other.kind().name())),
    }
}

async fn equalize_file(
    record: &FileRecord,
    path: &Path,
    theirs: Option<&Listed>,
    session: &mut Session,
) -> Result<EqualizedFile, LinkError> {
    let name = path.display().to_string();
    let line = |outcome, bytes_sent| EqualizedFile {
        file: name.clone(),
        outcome,
        bytes_sent,
    };
    let opened = File::open(path).and_then(|f| {
        let meta = f.metadata()?;
        Ok((f, meta))
    });
    let (file, meta) = match opened {
        Ok(o) => o,
        Err(e) => return Ok(line(Equalized::Failed(e.to_string()), 0)),
    };
    match locked(&file) {
        Ok(true) if !record.equalize_if_locked => return Ok(line(Equalized::Locked, 0)),
        Ok(_) => {}
        Err(e) => return Ok(line(Equalized::Failed(format!("locking: {e}")), 0)),
    }
    let ours_mtime = mtime_ns(&meta);
    if theirs.is_none() && !record.equalize_if_new {
        return Ok(line(Equalized::NewSkipped, 0));
    }
    let block_size = block_size_for_sync(meta.len());
    let hashed_path = path.to_path_buf();
    let hashing = tokio::task::spawn_blocking(move || file_sums(&hashed_path, block_size, &|_| {}));
    let their_sums = match theirs {
        None => None,
        Some(_) => {
            let request = Message::SumsRequest(SumsRequest {
                process: record.process_name.clone(),
                file: name.clone(),
                block_size,
            });
            session.send(&request).await?;
            match session.answer().await? {
                Message::Sums(s) if s.file == name && s.block_size == block_size => Some(s),
                other => return Err(violation(other.kind().name())),
            }
        }
    };
    let ours = hashing
        .await
        .map_err(|e| LinkError::Stopped(format!("hashing: {e}")))?;
    let (len, sums) = match ours {
        Ok(Some(o)) => o,
        Ok(None) => return Ok(line(Equalized::Failed("gone while read".into()), 0)),
        Err(e) => return Ok(line(Equalized::Failed(e.to_string()), 0)),
    };
    let outcome = match (&their_sums, theirs) {
        (Some(s), Some(listed)) => {
            if s.len == Some(len) && s.sums == sums {
                return Ok(line(Equalized::Same, 0));
            }
            if !record.equalize_if_modified {
                return Ok(line(
                    Equalized::ModifiedSkipped("equalize_if_modified is off".into()),
                    0,
                ));
            }
            if listed.mtime_ns >= ours_mtime {
                return Ok(line(
                    Equalized::ModifiedSkipped("the standby's copy is not older".into()),
                    0,
                ));
            }
            Equalized::Modified
        }
        _ => Equalized::New,
    };
    let sent = match copy(
        session,
        record,
        &name,
        &file,
        &sums,
        their_sums.as_ref(),
        len,
    )
    .await?
    {
        Ok(sent) => sent,
        Err(why) => return Ok(line(Equalized::Failed(why), 0)),
    };
    let stamped = touch_remote(session, record, &name, Touch::Stamp(ours_mtime)).await?;
    Ok(match stamped {
        None => line(outcome, sent),
        Some(why) => line(
            Equalized::Failed(format!("copied, not stamped: {why}")),
            sent,
        ),
    })
}

/// Sends the blocks of `file` whose digests differ from `theirs` (all when
/// absent), then `BlocksEnd`; the bytes sent, or why the standby gave up.
async fn copy(
    session: &mut Session,
    record: &FileRecord,
    name: &str,
    file: &File,
    sums: &[[u8; crate::protocol::SUM_LEN]],
    theirs: Option<&Sums>,
    len: u64,
) -> Result<Result<u64, String>, LinkError> {
    let block = u64::from(block_size_for_sync(len));
    let mut sent = 0u64;
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for (i, sum) in sums.iter().enumerate() {
        if theirs.is_some_and(|t| t.sums.get(i) == Some(sum)) {
            continue;
        }
        let start = i as u64 * block;
        let end = (start + block).min(len);
        match runs.last_mut() {
            Some((s, l)) if *s + *l == start => *l += end - start,
            _ => runs.push((start, end - start)),
        }
    }
    for (start, length) in runs {
        let mut at = start;
        while at < start + length {
            let n = usize::try_from(start + length - at)
                .map_or(MAX_BLOCKS_DATA, |n| n.min(MAX_BLOCKS_DATA));
            let mut data = vec![0; n];
            let got = match file.read_at(&mut data, at) {
                Ok(0) => break,
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Ok(Err(format!("reading at {at}: {e}"))),
            };
            data.truncate(got);
            let blocks = Message::Blocks(Blocks {
                process: record.process_name.clone(),
                file: name.to_owned(),
                offset: at,
                data,
            });
            session.send(&blocks).await?;
            sent += got as u64;
            at += got as u64;
        }
    }
    let end = Message::BlocksEnd(BlocksEnd {
        process: record.process_name.clone(),
        file: name.to_owned(),
        len,
        from_seq: NO_REPLAY,
    });
    session.send(&end).await?;
    match session.answer().await? {
        Message::Synced(Synced { file, failed, .. }) if file == name => {
            Ok(failed.map_or(Ok(sent), Err))
        }
        other => Err(violation(other.kind().name())),
    }
}

#[cfg(test)]
mod tests {
    use super::{destination, matched, star_match};
    use drx_config::{Config, FileRecordType};
    use std::path::{Path, PathBuf};

    const STAR_DIRS: &str = "[[files]]\nrecord_type = \"equalize\"\n\
        source_path = \"apps/*/conf/*.cfg\"\ndestination_dir = \"replicas/eq\"\n\n\
        [[files]]\nrecord_type = \"equalize\"\nsource_path = \"etc/*.ini\"\n\
        destination_dir = \"replicas/ini\"\n\n\
        [[files]]\nrecord_type = \"exclude\"\nsource_path = \"*.kp\"\n";

    #[test]
    fn copies_keep_their_path_below_the_star_free_base() {
        let config = Config::parse("drx.toml", STAR_DIRS, Path::new("/stby")).unwrap();
        let home = Path::new("/stby");
        // The primary's names (another home): the part below `apps`.
        let to = |file: &str| destination(&config.files, home, "p", file).unwrap();
        assert_eq!(
            to("/prim/apps/one/conf/a.cfg"),
            Some(PathBuf::from("/stby/replicas/eq/one/conf/a.cfg"))
        );
        assert_eq!(
            to("/prim/apps/two/conf/a.cfg"),
            Some(PathBuf::from("/stby/replicas/eq/two/conf/a.cfg"))
        );
        // The directory probe of a listing maps the same way.
        assert_eq!(
            to("/prim/apps/two/conf/*.cfg"),
            Some(PathBuf::from("/stby/replicas/eq/two/conf/*.cfg"))
        );
        // Without a star in the directory: the file name only, as before.
        assert_eq!(
            to("/prim/etc/x.ini"),
            Some(PathBuf::from("/stby/replicas/ini/x.ini"))
        );
        assert_eq!(to("/prim/elsewhere/x.txt"), None);
    }

    #[test]
    fn a_record_with_a_star_in_the_directory_matches_each_directory() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        for d in [
            "apps/one/conf",
            "apps/two/conf",
            "apps/three/etc",
            "real/conf",
        ] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        for f in [
            "apps/one/conf/a.cfg",
            "apps/one/conf/skip.kp",
            "apps/one/conf/b.txt",
            "apps/two/conf/c.cfg",
            "apps/three/etc/d.cfg",
            "real/conf/e.cfg",
        ] {
            std::fs::write(home.join(f), f).unwrap();
        }
        std::os::unix::fs::symlink(home.join("real"), home.join("apps/link")).unwrap();
        let config = Config::parse("drx.toml", STAR_DIRS, home).unwrap();
        let record = config
            .files
            .records()
            .find(|r| r.record_type == FileRecordType::Equalize)
            .unwrap();
        let got = matched(&config, record).unwrap();
        let dirs: Vec<PathBuf> = got.iter().map(|m| m.dir.clone()).collect();
        assert_eq!(
            dirs,
            vec![home.join("apps/one/conf"), home.join("apps/two/conf")]
        );
        assert_eq!(got[0].files, vec![home.join("apps/one/conf/a.cfg")]);
        assert_eq!(got[1].files, vec![home.join("apps/two/conf/c.cfg")]);
        assert!(got.iter().all(|m| m.pattern == "*.cfg"));
    }

    #[test]
    fn star_names_match() {
        assert!(star_match("*.cfg", "a.cfg"));
        assert!(star_match("*", ""));
        assert!(star_match("a?c*", "abcdef"));
        assert!(!star_match("*.cfg", "a.cfg.bak"));
        assert!(star_match("*.cfg*", "a.cfg.bak"));
        assert!(!star_match("a", "b"));
    }
}
