//! `drx equalize [--every] [--every-secs N]` on the primary host: the
//! equalizer (docs/DR.md, "Equalizer"). One round is
//! `drx_mirror::equalize`, one line per file (new / modified / same /
//! locked, skipped / orphan reported / orphan deleted). A one-shot run
//! equalizes every record; with `--every`, each record runs every its own
//! `equalize_interval` minutes (default 5; `--every-secs N`: every record
//! every N seconds), the records due together in one round (one transfer
//! session), until Ctrl-C or SIGTERM, a failed round logged and its
//! records tried again when next due.

use anyhow::{Context, Result, bail};
use drx_config::Config;
use drx_mirror::EqualizeSchedule;
use std::path::Path;
use std::time::{Duration, Instant};

/// What `drx equalize` takes.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--every`: repeat until Ctrl-C or SIGTERM.
    pub every: bool,
    /// `--every-secs`: every record every so many seconds instead of its
    /// own `equalize_interval`.
    pub every_secs: Option<u64>,
}

/// Runs `drx equalize`.
pub fn run(home: &Path, options: Options) -> Result<()> {
    let config = Config::load(home)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(rounds(&config, options))
}

/// One round of the equalize records `indices` (all: a one-shot run).
async fn round(config: &Config, indices: &[usize]) -> Result<usize> {
    let report = drx_mirror::equalize_records(config, indices)
        .await
        .context("drx equalize")?;
    println!("{report}");
    Ok(report.failures())
}

async fn rounds(config: &Config, options: Options) -> Result<()> {
    let records = drx_mirror::equalize_record_list(config).len();
    if !options.every && options.every_secs.is_none() {
        let all: Vec<usize> = (0..records).collect();
        let failures = round(config, &all).await?;
        if failures > 0 {
            bail!("{failures} file(s) not equalized (see above)");
        }
        return Ok(());
    }
    let start = Instant::now();
    let mut schedule = match options.every_secs {
        Some(secs) => EqualizeSchedule::uniform(records, Duration::from_secs(secs), start),
        None => EqualizeSchedule::from_config(config, start),
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let intervals: Vec<u64> = (0..schedule.len())
        .filter_map(|i| schedule.interval(i).map(|d| d.as_secs()))
        .collect();
    tracing::info!(?intervals, "equalizer rounds start (seconds per record)");
    if schedule.is_empty() {
        println!("no equalize record in the Files Table; waiting for Ctrl-C or SIGTERM");
    }
    loop {
        let now = Instant::now();
        let due = schedule.due(now);
        if !due.is_empty() {
            tracing::info!(records = ?due, "equalizer round");
            if let Err(e) = round(config, &due).await {
                println!("equalizer round failed: {e:#}");
                tracing::error!("equalizer round failed: {e:#}");
            }
            // The records that ran are next due on their own grid, from
            // the time they were due (a failed round is retried then).
            schedule.ran(&due, now);
        }
        let wake = schedule.next_due();
        let sleep = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => {}
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    tracing::info!("equalizer stopped");
    Ok(())
}
