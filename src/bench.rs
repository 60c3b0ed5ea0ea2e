//! `drx bench`: measure drx against its anchors.

use anyhow::Result;
use clap::Subcommand;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Journal append through capture, then extraction of N error_codes
    /// inserts to CSV, XML and SQLite, against sqlite3's `.import`.
    Extract {
        /// How many records.
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
    },
}

pub fn run(what: &BenchCommand) -> Result<()> {
    match what {
        BenchCommand::Extract { records } => {
            anyhow::bail!("bench extract ({records} records) is not written yet")
        }
    }
}
