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

use crate::delta_sync::{block_size_for_sync, file_sums};
use crate::error::LinkError;
use crate::link::{self, FrameReader, WriteHalf};
use crate::protocol::transfer::{ListRequest, Listed, Listing, Touch, TouchFile, Touched};
use crate::protocol::{
    Blocks, BlocksEnd, MAX_BLOCKS_DATA, Message, Reason, Role, Sums, SumsRequest, Synced,
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

/// The interval of `drx equalize --every` when no equalize record sets
/// `equalize_interval`, in minutes.
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

/// The interval of `drx equalize --every`: the shortest
/// `equalize_interval` of the equalize records (minutes), else
/// [`DEFAULT_EQUALIZE_MINUTES`].
pub fn equalize_interval(config: &Config) -> Duration {
    let minutes = config
        .files
        .records()
        .filter(|r| r.record_type == FileRecordType::Equalize)
        .filter_map(|r| r.equalize_interval)
        .filter(|&m| m > 0)
        .min()
        .unwrap_or(DEFAULT_EQUALIZE_MINUTES);
    Duration::from_secs(u64::from(minutes) * 60)
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
    let name = path
        .file_name()
        .ok_or_else(|| format!("{file}: no file name"))?;
    Ok(Some(drx_config::normalize(&home.join(dir)).join(name)))
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

fn matched(config: &Config, record: &FileRecord) -> Result<Matched, String> {
    if record.in_any_directory {
        return Err("in_any_directory is not supported by the equalizer".into());
    }
    let full = drx_config::absolute(&config.home, Path::new(&record.source_path));
    let (Some(dir), Some(pattern)) = (full.parent(), full.file_name()) else {
        return Err("no directory and file name".into());
    };
    let pattern = pattern.to_string_lossy().into_owned();
    if has_star(&dir.to_string_lossy()) {
        return Err("star-names in the directory are not supported by the equalizer".into());
    }
    let mut files = Vec::new();
    match fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = dir.join(&name);
                let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                if is_file && star_match(&pattern, &name) && !excluded(config, &path) {
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
        pattern,
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
    let started = Instant::now();
    let settings = PrimarySettings::from_config(config)?;
    let dir = settings.journal_dir.clone();
    let (epoch, last, history) = tokio::task::spawn_blocking(move || {
        Ok::<_, LinkError>((
            drx_journal::current_epoch(&dir)?,
            drx_journal::last_seq(&dir)?,
            drx_journal::epoch_history(&dir)?,
        ))
    })
    .await
    .map_err(|e| LinkError::Stopped(format!("equalize: {e}")))??;
    let (mut reader, write, theirs) = crate::session::open(
        &settings,
        Role::Transfer,
        Role::Standby,
        epoch,
        last,
        crate::primary::newest(history),
    )
    .await?;
    reader.streaming();
    let mut session = Session { reader, write };
    let mut report = EqualizeReport {
        peer: theirs.node_id.clone(),
        files: Vec::new(),
        took_ms: 0,
    };
    let records: Vec<FileRecord> = config
        .files
        .records()
        .filter(|r| r.record_type == FileRecordType::Equalize)
        .cloned()
        .collect();
    for record in &records {
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
    let matched = match matched(config, record) {
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
    use super::star_match;

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
