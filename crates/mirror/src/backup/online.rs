//! `drx backup`: a consistent point-in-time copy of the critical files
//! taken while applications write them (the argument is in `backup`'s
//! module documentation and docs/BACKUP.md).

use super::copy::{CopiedFile, Pace, copy_file, reread};
use super::error::BackupError;
use super::footprint::Footprint;
use super::manifest::{BackupCopy, BackupFile, BackupManifest, BackupRange, digest, sync_dir};
use super::range::{RANGE_FILE, RangeWriter};
use super::scanner::{Scanner, Window};
use super::timestamp::format_micros;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Copies started again at most, when critical files are renamed during
/// the copy.
const MAX_ATTEMPTS: u32 = 3;
/// Barrier rounds at most (re-reads after aborts, then a barrier each).
const MAX_ROUNDS: u32 = 10;
/// The copies' directory in a backup.
const FILES_DIR: &str = "files";

/// A point of the live journal that covers everything done so far.
pub trait Barrier {
    /// Returns a seq such that every operation whose file I/O completed
    /// before this call is journaled at or below it, in entries a journal
    /// [`Reader`](drx_journal::Reader) can read now. (The capture does an
    /// operation's I/O first and appends its entry after, so the journal's
    /// last seq read by a reader is not enough: the application's session
    /// must answer between two operations, or hold no journal at all.)
    fn barrier(&mut self) -> Result<u64, BackupError>;
}

/// What to back up, and where.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// The home (recorded in the manifest).
    pub home: PathBuf,
    /// The home's journal directory.
    pub journal_dir: PathBuf,
    /// The files to copy, absolute (those that exist are copied; the
    /// targets of renames during the copy are added).
    pub files: Vec<PathBuf>,
    /// The backup directory: new, or empty.
    pub dest: PathBuf,
    /// How the files are read.
    pub pace: Pace,
}

/// What [`take_backup`] did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The manifest written.
    pub manifest: BackupManifest,
    /// How long it took.
    pub elapsed: Duration,
}

/// Takes a backup: copies the files that exist into `options.dest`, then
/// makes the copy consistent at a barrier seq `M` (re-reading what
/// transactions aborted during the copy had touched), stores the journal
/// entries to replay over the copies up to `M`, and writes the manifest,
/// last and atomically. On failure what it wrote is removed.
pub fn take_backup(
    options: &BackupOptions,
    barrier: &mut dyn Barrier,
) -> Result<BackupReport, BackupError> {
    let began = Instant::now();
    let created = prepare_destination(&options.dest)?;
    let mut files = options.files.clone();
    let mut renamed = String::new();
    for attempt in 1..=MAX_ATTEMPTS {
        match attempt_backup(options, &files, barrier, attempt) {
            Ok(Attempt::Done(manifest)) => {
                return Ok(BackupReport {
                    manifest: *manifest,
                    elapsed: began.elapsed(),
                });
            }
            Ok(Attempt::Renamed { seq, from, to }) => {
                renamed = format!("seq {seq}: {from} to {to}");
                tracing::warn!(
                    attempt,
                    "a critical file was renamed during the copy ({renamed}): copying again"
                );
                // The new names are critical files too.
                let to = PathBuf::from(to);
                if !files.contains(&to) {
                    files.push(to);
                }
            }
            Err(e) => {
                remove_partial(&options.dest, created);
                return Err(e);
            }
        }
    }
    remove_partial(&options.dest, created);
    Err(BackupError::Inconsistent(format!(
        "a critical file was renamed during each of {MAX_ATTEMPTS} copies (the last: {renamed})"
    )))
}

/// How one copy went.
#[derive(Debug)]
enum Attempt {
    /// Consistent: the manifest is written.
    Done(Box<BackupManifest>),
    /// A critical file was renamed meanwhile: copy again.
    Renamed { seq: u64, from: String, to: String },
}

/// One copy of the files, made consistent.
fn attempt_backup(
    options: &BackupOptions,
    files: &[PathBuf],
    barrier: &mut dyn Barrier,
    attempt: u32,
) -> Result<Attempt, BackupError> {
    let dest = &options.dest;
    let files_dir = dest.join(FILES_DIR);
    if files_dir.exists() {
        std::fs::remove_dir_all(&files_dir).map_err(BackupError::io(&files_dir))?;
    }
    std::fs::create_dir_all(&files_dir).map_err(BackupError::io(&files_dir))?;
    let journal_dir = &options.journal_dir;
    // Every entry up to here had its I/O done before the copy begins.
    let start = drx_journal::last_seq(journal_dir).map_err(BackupError::journal(journal_dir))?;
    let mut copies: Vec<CopiedFile> = Vec::new();
    for (i, source) in files.iter().enumerate() {
        let journal_path = source
            .to_str()
            .ok_or_else(|| BackupError::Io {
                path: source.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the path is not UTF-8",
                ),
            })?
            .to_owned();
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let copy = files_dir.join(format!("{:04}-{name}", i + 1));
        if let Some(len) =
            copy_file(source, &copy, options.pace).map_err(BackupError::io(source))?
        {
            copies.push(CopiedFile {
                journal_path,
                source: source.clone(),
                copy,
                len,
            });
        }
    }
    let range_path = dest.join(RANGE_FILE);
    let mut range = RangeWriter::create(&range_path)?;
    let mut scanner = Scanner::open(journal_dir, start);
    let mut stats = BackupCopy {
        attempts: attempt,
        rounds: 1,
        ..BackupCopy::default()
    };
    let mut seq = barrier.barrier()?;
    let mut window = scanner.advance(seq, &mut range)?;
    let by_path: HashMap<String, usize> = copies
        .iter()
        .enumerate()
        .map(|(i, c)| (c.journal_path.clone(), i))
        .collect();
    // The first window: the copy read every byte of every file.
    let mut read: HashMap<usize, Footprint> =
        (0..copies.len()).map(|i| (i, Footprint::whole())).collect();
    loop {
        if let Some((seq, from, to)) = window.renames.first() {
            return Ok(Attempt::Renamed {
                seq: *seq,
                from: from.clone(),
                to: to.clone(),
            });
        }
        stats.aborted_transactions += window.aborted.len() as u64;
        let due = overlapping(&window, &by_path, &read);
        if due.is_empty() {
            break;
        }
        if stats.rounds >= MAX_ROUNDS {
            return Err(BackupError::Inconsistent(format!(
                "transactions aborted during each of {MAX_ROUNDS} re-reads touched the bytes re-read (up to seq {seq})"
            )));
        }
        read.clear();
        for (i, footprint) in due {
            let file = &mut copies[i];
            let r = reread(file, &footprint).map_err(BackupError::io(&file.source))?;
            tracing::debug!(file = %file.journal_path, ranges = r.ranges, bytes = r.bytes, "read again after an abort");
            stats.reread_ranges += r.ranges;
            stats.reread_bytes += r.bytes;
            read.insert(i, r.read);
        }
        seq = barrier.barrier()?;
        window = scanner.advance(seq, &mut range)?;
        stats.rounds += 1;
    }
    let (first_seq, entries) = (scanner.first_seq(), range.entries());
    range.finish()?;
    let mut manifest = BackupManifest::new(options.home.clone(), journal_dir.clone());
    manifest.start_seq = start;
    manifest.consistent_seq = seq;
    manifest.consistent_time_us = if entries > 0 {
        scanner.last_time_us()
    } else {
        time_of(journal_dir, seq)?
    };
    manifest.consistent_time = if seq > 0 {
        format_micros(manifest.consistent_time_us)
    } else {
        String::new()
    };
    manifest.open_transactions = scanner.open_transactions();
    for c in &copies {
        std::fs::File::open(&c.copy)
            .and_then(|f| f.sync_all())
            .map_err(BackupError::io(&c.copy))?;
        let (size, blake3) = digest(&c.copy).map_err(BackupError::io(&c.copy))?;
        let name = c
            .copy
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        manifest.files.push(BackupFile {
            path: c.journal_path.clone(),
            copy: format!("{FILES_DIR}/{name}"),
            size,
            blake3,
        });
    }
    let (size, blake3) = digest(&range_path).map_err(BackupError::io(&range_path))?;
    manifest.journal = BackupRange {
        file: RANGE_FILE.to_owned(),
        first_seq,
        last_seq: seq,
        entries,
        size,
        blake3,
    };
    manifest.copy = stats;
    manifest.created = format_micros(now_micros());
    sync_dir(&files_dir)?;
    sync_dir(dest)?;
    manifest.write(dest)?;
    Ok(Attempt::Done(Box::new(manifest)))
}

/// The footprints to read again: those of the transactions aborted in
/// `window` that touched bytes `read` of a copied file.
fn overlapping(
    window: &Window,
    by_path: &HashMap<String, usize>,
    read: &HashMap<usize, Footprint>,
) -> Vec<(usize, Footprint)> {
    let mut due: HashMap<usize, Footprint> = HashMap::new();
    for aborted in &window.aborted {
        for (path, footprint) in &aborted.files {
            let Some(&i) = by_path.get(path) else {
                continue;
            };
            if read.get(&i).is_some_and(|r| r.overlaps(footprint)) {
                tracing::debug!(txn = aborted.txn, file = %path, "aborted during the read");
                due.entry(i).or_default().merge(footprint);
            }
        }
    }
    let mut due: Vec<(usize, Footprint)> = due.into_iter().collect();
    due.sort_by_key(|(i, _)| *i);
    due
}

/// The timestamp of entry `seq` of the journal (0 for seq 0 or an entry
/// no longer there).
fn time_of(dir: &Path, seq: u64) -> Result<i64, BackupError> {
    if seq == 0 {
        return Ok(0);
    }
    let mut reader = match drx_journal::Reader::open(dir, seq) {
        Ok(r) => r,
        Err(drx_journal::JournalError::Gone { .. }) => return Ok(0),
        Err(e) => return Err(BackupError::journal(dir)(e)),
    };
    Ok(reader
        .next()
        .map_err(BackupError::journal(dir))?
        .filter(|e| e.seq == seq)
        .map_or(0, |e| e.timestamp_us))
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Makes sure `dest` is a new or empty directory; returns whether it was
/// created.
fn prepare_destination(dest: &Path) -> Result<bool, BackupError> {
    let refuse = |reason: &str| BackupError::Destination {
        path: dest.to_owned(),
        reason: reason.to_owned(),
    };
    match std::fs::read_dir(dest) {
        Ok(mut listing) => {
            if listing.next().is_some() {
                return Err(refuse(
                    "the backup directory is not empty (a backup goes into a new or empty directory)",
                ));
            }
            Ok(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dest).map_err(BackupError::io(dest))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(refuse("not a directory")),
        Err(e) => Err(BackupError::io(dest)(e)),
    }
}

/// Removes what a failed backup wrote.
fn remove_partial(dest: &Path, created: bool) {
    if created {
        let _ = std::fs::remove_dir_all(dest);
        return;
    }
    let _ = std::fs::remove_dir_all(dest.join(FILES_DIR));
    let _ = std::fs::remove_file(dest.join(RANGE_FILE));
}
