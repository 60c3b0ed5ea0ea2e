//! `drx backup DEST` and `drx restore SRC`: an online, consistent copy of
//! the critical files, and its return to the latest state, a seq or a
//! time (docs/BACKUP.md). The procedure is `drx_mirror::take_backup` and
//! `drx_mirror::restore`; this module gives the backup its barrier
//! (`drx_capture::journal_barrier`) and prints what was done.

use anyhow::{Context, Result, bail};
use drx_config::Config;
use drx_journal::{Durability, JournalError, Writer, WriterConfig};
use drx_mirror::{BackupError, BackupOptions, Barrier, Pace, RestoreOptions, RestoreTarget};
use std::path::Path;
use std::time::Duration;

/// How `drx backup` reads the files (hidden options, for tests).
#[derive(Debug, Clone, Copy)]
pub struct CopyPace {
    /// A pause after each read, in milliseconds.
    pub pause_ms: u64,
    /// Bytes per read.
    pub chunk: Option<usize>,
}

/// `drx backup DEST`: copies every critical file that exists into `dest`,
/// consistent at one journal seq; prints what it copied.
pub fn backup(home: &Path, dest: &Path, timeout: Duration, pace: CopyPace) -> Result<()> {
    let config = Config::load(home)?;
    let files = config.existing_critical_files();
    if files.is_empty() {
        bail!("no critical file of the Files Table exists: nothing to back up");
    }
    let journal = &config.journal.dir;
    // A home no application has written yet has no journal: an empty one.
    std::fs::create_dir_all(journal).with_context(|| journal.display().to_string())?;
    let cwd = std::env::current_dir().context("the current directory")?;
    let dest = drx_config::absolute(&cwd, dest);
    let mut default = Pace::default();
    if let Some(chunk) = pace.chunk {
        default.chunk = chunk.max(1);
    }
    default.pause = Duration::from_millis(pace.pause_ms);
    let options = BackupOptions {
        home: config.home.clone(),
        journal_dir: config.journal.dir.clone(),
        files,
        dest: dest.clone(),
        pace: default,
    };
    let mut barrier = HomeBarrier {
        config: &config,
        timeout,
    };
    let report = drx_mirror::take_backup(&options, &mut barrier)
        .with_context(|| format!("backup into {}", dest.display()))?;
    let m = &report.manifest;
    println!(
        "backup of {} in {}: consistent at seq {}{}",
        m.home.display(),
        dest.display(),
        m.consistent_seq,
        if m.consistent_time.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.consistent_time)
        }
    );
    let mut bytes = 0;
    for f in &m.files {
        println!(
            "  {}: {} bytes, blake3 {}",
            f.path,
            f.size,
            f.blake3.get(..16).unwrap_or(&f.blake3)
        );
        bytes += f.size;
    }
    let j = &m.journal;
    println!(
        "journal range: seqs {} to {} ({} entries, {} bytes); copy begun after seq {}",
        j.first_seq, j.last_seq, j.entries, j.size, m.start_seq
    );
    let c = &m.copy;
    println!(
        "consistency: {} attempt(s), {} barrier round(s), {} transaction(s) aborted during the read, {} range(s) ({} bytes) read again",
        c.attempts, c.rounds, c.aborted_transactions, c.reread_ranges, c.reread_bytes
    );
    if !m.open_transactions.is_empty() {
        println!(
            "transactions open at seq {} (not part of its state): {:?}",
            m.consistent_seq, m.open_transactions
        );
    }
    let secs = report.elapsed.as_secs_f64();
    println!(
        "{} file(s), {bytes} bytes in {secs:.3} s ({:.1} MB/s)",
        m.files.len(),
        bytes as f64 / secs.max(1e-9) / 1e6
    );
    Ok(())
}

/// `drx restore SRC`: the backup's files back, at their paths or below
/// `into`, brought to the latest entry, a seq or a time.
pub fn restore(
    home: &Path,
    src: &Path,
    to_seq: Option<u64>,
    to_time: Option<&str>,
    into: Option<&Path>,
) -> Result<()> {
    let config = Config::load(home)?;
    let target = match (to_seq, to_time) {
        (Some(n), _) => RestoreTarget::Seq(n),
        (None, Some(t)) => RestoreTarget::Time(drx_mirror::parse_rfc3339(t)?),
        (None, None) => RestoreTarget::Latest,
    };
    let cwd = std::env::current_dir().context("the current directory")?;
    let into = into.map(|d| drx_config::absolute(&cwd, d));
    // In place, no application may write meanwhile: the journal is held.
    let held = match &into {
        Some(_) => None,
        None => match Writer::open(WriterConfig {
            segment_size: config.journal.segment_size,
            durability: Durability::None,
            ..WriterConfig::new(&config.journal.dir)
        }) {
            Ok(w) => Some(w),
            Err(JournalError::Locked { .. }) => bail!(
                "an application holds the journal {}: stop it before restoring in place (or restore --into DIR)",
                config.journal.dir.display()
            ),
            Err(e) => return Err(e.into()),
        },
    };
    let report = drx_mirror::restore(&RestoreOptions {
        backup: drx_config::absolute(&cwd, src),
        journal_dir: config.journal.dir.clone(),
        into: into.clone(),
        target,
        work_dir: None,
    })
    .with_context(|| format!("restore of {}", src.display()))?;
    if let Some(w) = held {
        w.close()?;
    }
    println!(
        "restored to seq {}{} from the backup consistent at seq {}: {} entries from the backup, {} from the journal",
        report.seq,
        if report.time.is_empty() {
            String::new()
        } else {
            format!(" ({})", report.time)
        },
        report.consistent_seq,
        report.from_backup,
        report.from_journal
    );
    for f in &report.files {
        match f.size {
            Some(size) => println!("  {} -> {} ({size} bytes)", f.path, f.installed.display()),
            None => println!(
                "  {}: does not exist at seq {} (removed from {})",
                f.path,
                report.seq,
                f.installed.display()
            ),
        }
    }
    if report.open_transactions > 0 {
        println!(
            "{} transaction(s) open at seq {}: not applied",
            report.open_transactions, report.seq
        );
    }
    let (same, differ) = report.checksums;
    if same + differ > 0 {
        println!("checksums met on the way: {same} identical, {differ} different");
    }
    if report.skipped > 0 {
        println!(
            "{} entries of files not in the backup passed over",
            report.skipped
        );
    }
    Ok(())
}

/// The barrier of a home ([`drx_capture::journal_barrier`]).
struct HomeBarrier<'a> {
    config: &'a Config,
    timeout: Duration,
}

impl Barrier for HomeBarrier<'_> {
    fn barrier(&mut self) -> Result<u64, BackupError> {
        drx_capture::journal_barrier(self.config, self.timeout)
            .map_err(|e| BackupError::Barrier(e.to_string()))
    }
}
