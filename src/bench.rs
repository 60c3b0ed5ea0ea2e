//! `drx bench`: measure drx against its anchors, in the same run.
//!
//! `drx bench extract` builds a journal of N error_codes inserts through the
//! capture library (timing the appends, without fsync and with group
//! commit), extracts it to CSV, XML and SQLite with the `drx` binary, and
//! runs the anchor — sqlite3's `.import` of the same rows as CSV into the
//! same schema — printing rates and ratios.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use drx_capture::{Capture, FileSpec};
use drx_config::Config;
use drx_layouts::Layout;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Journal append through capture, then extraction of N error_codes
    /// inserts to CSV, XML and SQLite, against sqlite3's `.import`.
    Extract {
        /// How many records.
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Where to work (default: a new directory under the system's temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Only the capture + journal append part.
        #[arg(long)]
        append_only: bool,
    },
    /// The PostgreSQL and MySQL/MariaDB sinks: N inserts against `psql
    /// \copy` and `LOAD DATA LOCAL INFILE`, then a 60/30/10 mixed stream.
    Sql {
        /// How many inserts.
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Rows in the table before the mixed stream.
        #[arg(long, default_value_t = 100_000)]
        base: u64,
        /// Operations in the mixed stream.
        #[arg(long, default_value_t = 300_000)]
        mixed: u64,
        /// The PostgreSQL connection string.
        #[arg(
            long,
            default_value = "host=127.0.0.1 port=5432 user=postgres dbname=test"
        )]
        pg_url: String,
        /// The MySQL / MariaDB URL.
        #[arg(long, default_value = "mysql://root@127.0.0.1:3306/test")]
        mysql_url: String,
        /// PostgreSQL only.
        #[arg(long)]
        skip_mysql: bool,
        /// Where to work (default: a new directory under the system's temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The mirroring link (issue 4), primary → standby on 127.0.0.1: async
    /// throughput of 200-byte records and of 64 KiB writes (a fresh standby
    /// brought to a big file, against rsync), lag at a steady rate, and
    /// sync-mode commit latency.
    Mirror {
        /// How many 200-byte record entries.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
        /// MiB of the big file, journaled in 64 KiB writes.
        #[arg(long, default_value_t = 1024)]
        big_mib: u64,
        /// Seconds of writing at a steady rate, for the lag.
        #[arg(long, default_value_t = 5)]
        lag_secs: u64,
        /// Entries per second while measuring the lag.
        #[arg(long, default_value_t = 20_000)]
        lag_rate: u64,
        /// Sync-mode commits, one at a time.
        #[arg(long, default_value_t = 2_000)]
        sync_commits: u64,
        /// The most entries in one `Entries` frame.
        #[arg(long, default_value_t = drx_mirror::DEFAULT_BATCH_ENTRIES)]
        batch_entries: usize,
        /// The most bytes of entries in one `Entries` frame.
        #[arg(long, default_value_t = drx_mirror::DEFAULT_BATCH_BYTES)]
        batch_bytes: usize,
        /// 200-byte entries with the Write effect only (no record meaning).
        #[arg(long)]
        effect_only: bool,
        /// Do not run the rsync anchor.
        #[arg(long)]
        skip_rsync: bool,
        /// Only these parts (repeatable; default: all).
        #[arg(long, value_enum)]
        only: Vec<crate::bench_mirror::Part>,
        /// Where to work (default: a new directory under the system's temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// COBOL copybook decoding (issue 5) on one thread: the Cobrix test6
    /// record and DISPLAY- and COMP-3-heavy records, about 100 MB each,
    /// in MB/s beside the published copybook-rs and Cobrix figures.
    Layout {
        /// Records per workload (default: about 100 MB of each).
        #[arg(long)]
        records: Option<u64>,
        /// Least seconds of decoding per workload and mode.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Where to work (default: a new directory under the system's temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Failover and failback (issue 6) with real `drx` processes on
    /// 127.0.0.1: the primary killed with SIGKILL under load, `drx promote`
    /// and the first write on the promoted node, automatic promotion after
    /// missed heartbeats, then `drx rejoin` and the old primary's catch-up
    /// as a standby; p50, p90 and max over the runs, against the seeds'
    /// 45–90 s shadow-server failover.
    Failover {
        /// How many runs.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// `drx io` operations of each workload.
        #[arg(long, default_value_t = 300)]
        ops: usize,
        /// Where to work (default: a new directory under the system's temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Delta resync (issue 6): `drx sync` of a big file with 1 % of its
    /// blocks changed to a standby on 127.0.0.1, against `rsync
    /// --no-whole-file --inplace` to an rsync daemon, same data and
    /// changes, same run.
    Sync {
        /// MiB of the file.
        #[arg(long, default_value_t = 1024)]
        size_mib: u64,
        /// Percent of its 64 KiB blocks changed (spread over the file).
        #[arg(long, default_value_t = 1.0)]
        changed_pct: f64,
        /// Do not run the rsync anchor.
        #[arg(long)]
        skip_rsync: bool,
        /// Where to work (default: a new directory under the system's temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// The guide's layout.200 as a fixed file: 1,000,000 records cannot have
/// unique bin(15) keys, so the bench appends without a key.
const LAYOUT: &str = "organization: fixed;
fields: err_number fixed bin (15), err_name char (32), err_text char (128) varying,
        err_category char(18), err_category2 char(18);
end;";
const TEMPLATES: [(&str, &str); 1] = [(
    "template.200.i",
    include_str!("../samples/error_codes/templates/template.200.i"),
)];

fn config_text(durability: &str, journal: &str) -> String {
    format!(
        r#"[journal]
dir = "{journal}"
durability = "{durability}"

[[files]]
source_path = "error_codes.data"
extractor_file_id = 200

[[sinks]]
name = "sqlite"
type = "sqlite"
path = "error_codes.db"
tables = {{ 200 = "error_codes" }}

[[sinks]]
name = "csv"
type = "csv"
dir = "out"

[[sinks]]
name = "xml"
type = "xml"
dir = "out"
"#
    )
}

pub fn run(what: &BenchCommand) -> Result<()> {
    match what {
        BenchCommand::Extract {
            records,
            dir,
            append_only,
        } => bench_extract(*records, dir.as_deref(), *append_only),
        BenchCommand::Sql {
            records,
            base,
            mixed,
            pg_url,
            mysql_url,
            skip_mysql,
            dir,
        } => crate::bench_sql::run(&crate::bench_sql::SqlBench {
            records: *records,
            base: *base,
            mixed: *mixed,
            pg_url: pg_url.clone(),
            mysql_url: mysql_url.clone(),
            skip_mysql: *skip_mysql,
            dir: dir.clone(),
        }),
        BenchCommand::Mirror {
            entries,
            big_mib,
            lag_secs,
            lag_rate,
            sync_commits,
            batch_entries,
            batch_bytes,
            effect_only,
            skip_rsync,
            only,
            dir,
        } => crate::bench_mirror::run(&crate::bench_mirror::MirrorBench {
            entries: *entries,
            big_mib: *big_mib,
            lag_secs: *lag_secs,
            lag_rate: *lag_rate,
            sync_commits: *sync_commits,
            batch_entries: *batch_entries,
            batch_bytes: *batch_bytes,
            effect_only: *effect_only,
            skip_rsync: *skip_rsync,
            only: only.clone(),
            dir: dir.clone(),
        }),
        BenchCommand::Layout {
            records,
            seconds,
            dir,
        } => crate::bench_layout::run(&crate::bench_layout::LayoutBench {
            records: *records,
            seconds: *seconds,
            dir: dir.clone(),
        }),
        BenchCommand::Failover { runs, ops, dir } => {
            crate::bench_failover::run(&crate::bench_failover::FailoverBench {
                runs: *runs,
                ops: *ops,
                dir: dir.clone(),
            })
        }
        BenchCommand::Sync {
            size_mib,
            changed_pct,
            skip_rsync,
            dir,
        } => crate::bench_sync::run(&crate::bench_sync::SyncBench {
            size_mib: *size_mib,
            changed_pct: *changed_pct,
            skip_rsync: *skip_rsync,
            dir: dir.clone(),
        }),
    }
}

fn bench_extract(records: u64, dir: Option<&Path>, append_only: bool) -> Result<()> {
    let tmp;
    let home = match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.to_owned()
        }
        None => {
            tmp = tempdir()?;
            tmp.0.clone()
        }
    };
    let home = std::path::absolute(&home)?;
    for sub in ["layouts", "templates", "out"] {
        std::fs::create_dir_all(home.join(sub))?;
    }
    std::fs::write(home.join("layouts/layout.200"), LAYOUT)?;
    for (name, text) in TEMPLATES {
        std::fs::write(home.join("templates").join(name), text)?;
    }
    let layout = Arc::new(Layout::parse("layout.200", LAYOUT)?);
    println!(
        "drx bench extract: {records} error_codes inserts, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let input = make_records(&layout, records)?;

    // 1. Journal append through the capture library: records written one
    //    per call, and in runs of 1,024 per call (one file write per run).
    let single = append(&home, &layout, &input, "none", "journal-single", 1)?;
    let group = append(&home, &layout, &input, "group", "journal-group", RUN)?;
    let none = append(&home, &layout, &input, "none", "journal", RUN)?;
    println!(
        "capture write, no fsync:                {:>12.0} entries/s",
        rate(records, single)
    );
    println!(
        "capture write_many, no fsync:           {:>12.0} entries/s",
        rate(records, none)
    );
    println!(
        "capture write_many, group commit:       {:>12.0} entries/s",
        rate(records, group)
    );
    std::fs::remove_dir_all(home.join("journal-group"))?;
    std::fs::remove_dir_all(home.join("journal-single"))?;
    if append_only {
        return Ok(());
    }

    // 2. Extraction with the drx binary, one sink at a time.
    let exe = std::env::current_exe()?;
    let mut results = Vec::new();
    for sink in ["csv", "xml", "sqlite"] {
        let started = Instant::now();
        let out = Command::new(&exe)
            .args(["--home"])
            .arg(&home)
            .args(["extract", "--file-id", "200", "--sink", sink])
            .env("DRX_REPORT_PEAK_MEMORY", "1")
            .output()?;
        let secs = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "drx extract --sink {sink}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let peak = stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak memory: ").map(str::to_owned))
            .unwrap_or_else(|| "?".into());
        let cpu = stderr
            .lines()
            .find_map(|l| l.strip_prefix("cpu seconds: "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN);
        println!(
            "extract to {sink:<6}                   {:>12.0} records/s  ({secs:.2} s wall; {:.0} records per CPU-second, all threads; peak memory {peak})",
            records as f64 / secs,
            records as f64 / cpu
        );
        results.push((sink, records as f64 / secs));
    }

    // 3. The anchor: sqlite3 .import of the same rows into the same schema.
    let anchor = sqlite_import(&home, &layout, &input, records)?;
    match anchor {
        Some(anchor_rate) => {
            let drx_rate = results
                .iter()
                .find(|(s, _)| *s == "sqlite")
                .map_or(0.0, |r| r.1);
            println!("anchor: sqlite3 .import               {anchor_rate:>12.0} records/s");
            println!("ratio drx/sqlite3 .import: {:.2}", drx_rate / anchor_rate);
        }
        None => println!(
            "anchor: sqlite3 not found on PATH; install it (apt-get install sqlite3) to compare"
        ),
    }
    Ok(())
}

fn rate(records: u64, secs: f64) -> f64 {
    records as f64 / secs
}

/// N records; the numbers wrap within bin(15).
fn make_records(layout: &Layout, records: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(records as usize * layout.record_len());
    for i in 0..records {
        let number = ((i % 65_536) as i64 - 32_768).to_string();
        let name = format!("E{i:08}");
        let text = format!("error {i}: something went wrong, 'quoted' <&> caf\u{e9}");
        out.extend(layout.encode([
            ("err_number", number.as_str()),
            ("err_name", name.as_str()),
            ("err_text", text.as_str()),
            ("err_category", "bench"),
            ("err_category2", if i % 2 == 0 { "even" } else { "odd" }),
        ])?);
    }
    Ok(out)
}

/// Records per `write_many` call.
const RUN: usize = 1024;

/// Writes every record through a capture session, `per_call` records per
/// call; returns the seconds taken.
fn append(
    home: &Path,
    layout: &Arc<Layout>,
    input: &[u8],
    durability: &str,
    journal: &str,
    per_call: usize,
) -> Result<f64> {
    let _ = std::fs::remove_dir_all(home.join(journal));
    std::fs::write(home.join("drx.toml"), config_text(durability, journal))?;
    let config = Config::load(home)?;
    let mut capture = Capture::open(&config, "bench")?;
    let started = Instant::now();
    let mut file = capture.create(
        &home.join("error_codes.data"),
        FileSpec::from_layout(layout.clone()),
    )?;
    if per_call == 1 {
        for record in input.chunks(layout.record_len()) {
            capture.write(&mut file, record, None)?;
        }
    } else {
        for run in input.chunks(layout.record_len() * per_call) {
            capture.write_many(&mut file, run)?;
        }
    }
    capture.close()?;
    let secs = started.elapsed().as_secs_f64();
    std::fs::write(home.join("drx.toml"), config_text("none", "journal"))?;
    Ok(secs)
}

/// Times `sqlite3 DB .import` of the records as CSV into a table of the same
/// schema; `None` when sqlite3 is not installed.
fn sqlite_import(home: &Path, layout: &Layout, input: &[u8], records: u64) -> Result<Option<f64>> {
    if Command::new("sqlite3").arg("--version").output().is_err() {
        return Ok(None);
    }
    let csv_path = home.join("anchor.csv");
    {
        let mut w = csv::WriterBuilder::new().from_path(&csv_path)?;
        let mut text = String::new();
        for record in input.chunks(layout.record_len()) {
            let view = layout.view(record)?;
            for i in 0..layout.fields().len() {
                text.clear();
                view.get(i)?.write_text(&mut text)?;
                w.write_field(&text)?;
            }
            w.write_record(None::<&[u8]>)?;
        }
        w.flush()?;
    }
    let db = home.join("anchor.db");
    let _ = std::fs::remove_file(&db);
    // The schema drx creates: typed columns, no primary key (the keys wrap).
    let schema = "create table error_codes (err_number integer, err_name text, err_text text, err_category text, err_category2 text);";
    let status = Command::new("sqlite3").arg(&db).arg(schema).status()?;
    if !status.success() {
        bail!("sqlite3: creating the anchor table failed");
    }
    let started = Instant::now();
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg(format!(".import --csv {} error_codes", csv_path.display()))
        .output()
        .context("sqlite3 .import")?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("sqlite3 .import: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(Some(records as f64 / secs))
}

/// A temporary directory removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn tempdir() -> Result<TempDir> {
    let dir = std::env::temp_dir().join(format!("drx-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(TempDir(dir))
}
