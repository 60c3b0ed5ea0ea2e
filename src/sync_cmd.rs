//! `drx sync FILES [--block-size N]` and `drx refresh` on the primary host:
//! delta resync of standby replicas (docs/DR.md, "Delta resync"). The work
//! is `drx_mirror::sync` and `drx_mirror::refresh`; this shows a progress
//! bar on a terminal and prints what was done, one line per file.

use anyhow::{Context, Result, bail};
use drx_config::Config;
use drx_mirror::{SyncOptions, SyncProgress, SyncReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// An indicatif bar per phase (comparing, sending), in bytes.
struct Bar(Mutex<Option<ProgressBar>>);

impl SyncProgress for Bar {
    fn phase(&self, file: &str, what: &str, total: u64) {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{what} {file}"));
        if let Ok(mut slot) = self.0.lock()
            && let Some(old) = slot.replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(slot) = self.0.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(bytes);
        }
    }

    fn done(&self) {
        if let Ok(mut slot) = self.0.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// What `drx sync` and `drx refresh` take besides the files.
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    /// `--block-size`.
    pub block_size: Option<u32>,
    /// `--settle`, seconds.
    pub settle: u64,
    /// `--pace-ms` (hidden, tests).
    pub pace_ms: u64,
}

fn options(knobs: Knobs) -> Result<SyncOptions> {
    let Knobs {
        block_size,
        settle: settle_secs,
        pace_ms,
    } = knobs;
    if block_size == Some(0) {
        bail!("--block-size must be at least 1");
    }
    Ok(SyncOptions {
        block_size,
        settle: std::time::Duration::from_secs(settle_secs),
        progress: std::io::stderr()
            .is_terminal()
            .then(|| Arc::new(Bar(Mutex::new(None))) as Arc<dyn SyncProgress>),
        pace: std::time::Duration::from_millis(pace_ms),
    })
}

fn finish(report: &SyncReport) -> Result<()> {
    println!("{report}");
    if report.failures() > 0 {
        bail!(
            "{} file(s) not synced (see above); run the sync again",
            report.failures()
        );
    }
    Ok(())
}

/// `drx sync FILES`: the standby's replicas of `files` brought to this
/// primary's content, only the differing blocks sent.
pub fn sync(home: &Path, files: &[PathBuf], knobs: Knobs) -> Result<()> {
    let config = Config::load(home)?;
    if files.is_empty() {
        bail!("drx sync: name the files to sync (drx refresh syncs every critical file)");
    }
    let options = options(knobs)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let report = runtime
        .block_on(drx_mirror::sync(&config, files, &options))
        .context("drx sync")?;
    finish(&report)
}

/// `drx refresh`: every critical file that exists, synced.
pub fn refresh(home: &Path, knobs: Knobs) -> Result<()> {
    let config = Config::load(home)?;
    let options = options(knobs)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let report = runtime
        .block_on(drx_mirror::refresh(&config, &options))
        .context("drx refresh")?;
    finish(&report)
}
