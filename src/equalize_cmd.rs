//! `drx equalize [--every] [--every-secs N]` on the primary host: the
//! equalizer (docs/DR.md, "Equalizer"). One round is
//! `drx_mirror::equalize`, one line per file (new / modified / same /
//! locked, skipped / orphan reported / orphan deleted); with `--every`,
//! rounds repeat every `equalize_interval` minutes (or `--every-secs`)
//! until Ctrl-C or SIGTERM, a failed round logged and the next one tried.

use anyhow::{Context, Result, bail};
use drx_config::Config;
use std::path::Path;
use std::time::Duration;

/// What `drx equalize` takes.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--every`: repeat until Ctrl-C or SIGTERM.
    pub every: bool,
    /// `--every-secs`: the interval instead of `equalize_interval`.
    pub every_secs: Option<u64>,
}

/// Runs `drx equalize`.
pub fn run(home: &Path, options: Options) -> Result<()> {
    let config = Config::load(home)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(rounds(&config, options))
}

async fn round(config: &Config) -> Result<usize> {
    let report = drx_mirror::equalize(config).await.context("drx equalize")?;
    println!("{report}");
    Ok(report.failures())
}

async fn rounds(config: &Config, options: Options) -> Result<()> {
    if !options.every && options.every_secs.is_none() {
        let failures = round(config).await?;
        if failures > 0 {
            bail!("{failures} file(s) not equalized (see above)");
        }
        return Ok(());
    }
    let every = options
        .every_secs
        .map_or_else(
            || drx_mirror::equalize_interval(config),
            Duration::from_secs,
        )
        .max(Duration::from_secs(1));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tracing::info!(every_s = every.as_secs(), "equalizer rounds start");
    loop {
        if let Err(e) = round(config).await {
            println!("equalizer round failed: {e:#}");
            tracing::error!("equalizer round failed: {e:#}");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    tracing::info!("equalizer stopped");
    Ok(())
}
