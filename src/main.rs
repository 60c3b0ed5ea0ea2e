//! `drx`: capture, mirror and extract the changes of critical record files.
//!
//! The binary is thin: arguments (clap), logging (tracing), and one `match`
//! onto the library crates.

mod backup_cmd;
mod bench;
mod bench_failover;
mod bench_layout;
mod bench_mirror;
mod bench_sql;
mod bench_support;
mod bench_sync;
mod canary_cmd;
mod equalize_cmd;
mod layout_cmd;
mod ship_cmd;
mod sync_cmd;
mod verify;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use drx_capture::{Capture, FileSpec, Org, Script};
use drx_config::Config;
use drx_extractor::{ExtractOptions, Progress};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Capture, mirror and extract the changes of critical record files.
#[derive(Debug, Parser)]
#[command(name = "drx", version, about)]
struct Cli {
    /// The home directory holding drx.toml (default: $DRX_HOME, else the
    /// current directory).
    #[arg(long, global = true, env = "DRX_HOME")]
    home: Option<PathBuf>,
    /// More logging (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate drx.toml, every layout, and every template against its layout.
    Check,
    /// Run record operations from a JSON-lines script (docs/IO_SCRIPT.md).
    Io {
        /// The script: one JSON operation per line.
        #[arg(long)]
        script: PathBuf,
        /// The process name the operations are journaled under.
        #[arg(long, default_value = "drx_io")]
        process_name: String,
    },
    /// The guide's drms_demo: copy every record of IN into the critical file OUT.
    Demo {
        /// The input file (fixed-length records back to back).
        #[arg(long)]
        input_path: PathBuf,
        /// The critical file to create.
        #[arg(long)]
        output_path: PathBuf,
        /// The file id whose layout describes the records (default: the
        /// output's extractor_file_id in the Files Table).
        #[arg(long)]
        file_id: Option<u16>,
        /// The process name.
        #[arg(long, default_value = "drms_demo")]
        process_name: String,
    },
    /// Deliver the changes of a file id to its sinks.
    Extract {
        /// The extractor file id.
        #[arg(long)]
        file_id: u16,
        /// Only this sink.
        #[arg(long)]
        sink: Option<String>,
        /// Keep tailing the journal.
        #[arg(long)]
        follow: bool,
        /// Start a new sink with every record of the current file.
        #[arg(long)]
        snapshot: bool,
    },
    /// Print the `create table` of a file id's layout (exact types, quoted
    /// identifiers); with --apply, create it through the sink.
    Schema {
        /// The extractor file id.
        #[arg(long)]
        file_id: u16,
        /// The SQL dialect.
        #[arg(long, value_enum)]
        dialect: SchemaDialect,
        /// The table (default: the sink's, else the file id's default name).
        #[arg(long)]
        table: Option<String>,
        /// The sink whose table it is.
        #[arg(long)]
        sink: Option<String>,
        /// Create the table through the sink.
        #[arg(long)]
        apply: bool,
    },
    /// Run this host's mirroring server until Ctrl-C or SIGTERM.
    Mirror {
        #[command(subcommand)]
        role: MirrorRole,
    },
    /// Start the mirroring servers the Control Table assigns to this host
    /// (the seed's start_servers), until Ctrl-C or SIGTERM.
    Start {
        /// This host's name in the server records' run_on_module (default:
        /// [mirror] node_id, else the host name).
        #[arg(long)]
        host: Option<String>,
    },
    /// Say where each of this host's servers resumes from its checkpoints
    /// (a half-applied standby transaction is finished first), then start
    /// them (the seed's recover_servers).
    Recover {
        /// This host's name in the server records' run_on_module.
        #[arg(long)]
        host: Option<String>,
    },
    /// Make this standby the primary (failover): the replicas are brought up
    /// to the journal, the epoch is raised (so the old primary is fenced off
    /// when it comes back), transactions the old primary left open are
    /// aborted, and the applications here may write from then on
    /// (docs/DR.md). Stop the standby server first; started again, it only
    /// fences.
    Promote,
    /// Make this former primary (fenced off by a failover) the standby of
    /// the node promoted in its place, at [mirror] peer: its entries the
    /// promoted node never received are written to a report and rolled
    /// back, the files they wrote are repaired from the promoted node, and
    /// the journal goes on from the shared history (docs/DR.md). Stop this
    /// node's servers and applications first.
    Rejoin,
    /// Bring the standby's replicas of FILES to this primary's content
    /// without copying them whole (run on the primary, while mirroring
    /// goes on): blake3 digests of the blocks on both sides, only the
    /// blocks that differ sent (docs/DR.md, "Delta resync"). A sync cut
    /// short is finished by running it again.
    Sync {
        /// The files (critical files of the Files Table).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The block size in bytes (default: a power of two near the
        /// file's size / 16384, from 4 KiB to 64 MiB).
        #[arg(long)]
        block_size: Option<u32>,
        /// Seconds a file's read may wait for a moment without an open
        /// transaction.
        #[arg(long, default_value_t = 10)]
        settle: u64,
        /// A pause after each message of blocks, in milliseconds (tests).
        #[arg(long, hide = true, default_value_t = 0)]
        pace_ms: u64,
    },
    /// Keep the standby's copies of the Files Table's equalize records
    /// (non-transactional files) in step: new and modified files copied
    /// (only differing blocks), locked ones skipped, orphans reported or
    /// deleted (docs/DR.md, "Equalizer").
    Equalize {
        /// Repeat until Ctrl-C or SIGTERM, each record every its own
        /// equalize_interval minutes (default 5).
        #[arg(long)]
        every: bool,
        /// Repeat every SECONDS instead (implies --every).
        #[arg(long, value_name = "SECONDS")]
        every_secs: Option<u64>,
    },
    /// Re-baseline the standby: every critical file that exists synced as
    /// by `drx sync`, while mirroring goes on (the periodic refresh).
    Refresh {
        /// The block size in bytes (default: chosen per file).
        #[arg(long)]
        block_size: Option<u32>,
        /// Seconds a file's read may wait for a moment without an open
        /// transaction.
        #[arg(long, default_value_t = 10)]
        settle: u64,
        /// A pause after each message of blocks, in milliseconds (tests).
        #[arg(long, hide = true, default_value_t = 0)]
        pace_ms: u64,
    },
    /// Hand the primary role to the standby with no change lost (run on the
    /// primary, whose primary server runs): writes stop, the standby gets
    /// every entry, then promotes itself; this node becomes its standby
    /// (docs/DR.md).
    Switchover {
        /// Seconds to wait for the standby to catch up before giving up
        /// (writes then resume here).
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Compare the primary's critical files with the standby's replicas at
    /// the same journal seq, while writes go on (size, record count, blake3
    /// per block and per file). Exit status 0: all identical; 1: a file
    /// differs (the first differing block is named); 2: no result in time.
    Verify {
        /// The files (default: every critical file of the Files Table that
        /// exists).
        files: Vec<PathBuf>,
        /// Seconds to wait for the standby's results.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// The process to journal the checksums under (default: one the
        /// Files Table selects each file for).
        #[arg(long)]
        process_name: Option<String>,
    },
    /// Write a canary record through the capture library and check that it
    /// reaches the standby and each sink of its file id (docs/CANARY.md).
    /// Exit status 0: every target has it; 1: one has not in time (an
    /// ALERT line names it); 2: usage or configuration error.
    Canary {
        /// Seconds to wait for each target (default: [canary] timeout_ms).
        #[arg(long)]
        timeout: Option<f64>,
        /// Repeat every SECONDS (alone: [canary] interval) until Ctrl-C or
        /// SIGTERM, logging each round.
        #[arg(long, value_name = "SECONDS")]
        every: Option<Option<u64>>,
        /// Print the canary file's layout and exit.
        #[arg(long)]
        print_layout: bool,
    },
    /// The mirroring servers' status (from their status files).
    Status {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Log shipping, on the primary: compress every finished journal
    /// segment not yet shipped into DIR, or send those the standby has not
    /// applied over the mirror connection (docs/LOG_SHIPPING.md).
    Ship {
        /// The shipping directory (created if needed).
        #[arg(
            long,
            required_unless_present = "to_standby",
            conflicts_with = "to_standby"
        )]
        to: Option<PathBuf>,
        /// Send them to the standby's listening address (`[mirror] peer`,
        /// else tcp_host:tcp_port), whose server applies them.
        #[arg(long)]
        to_standby: bool,
        /// Finish the current segment first, so that it ships too (only
        /// when no application holds the journal).
        #[arg(long)]
        seal: bool,
        /// The zstd compression level.
        #[arg(long, default_value_t = drx_mirror::DEFAULT_SHIP_LEVEL)]
        level: i32,
    },
    /// Log shipping, on the standby: apply every shipped segment in DIR
    /// past what the standby has, in order, exactly once.
    Apply {
        /// The shipping directory.
        #[arg(long)]
        from: PathBuf,
    },
    /// Copy every critical file that exists into DEST, consistent at one
    /// journal seq, while applications go on writing (docs/BACKUP.md).
    Backup {
        /// The backup directory (new, or empty).
        dest: PathBuf,
        /// Seconds to wait for each barrier (an application answers at its
        /// next operation outside a transaction).
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// A pause after each read of the copy, in milliseconds (tests).
        #[arg(long, hide = true, default_value_t = 0)]
        pace_ms: u64,
        /// Bytes per read of the copy (tests).
        #[arg(long, hide = true)]
        chunk: Option<usize>,
    },
    /// Bring a backup back: its files, with the journal replayed up to the
    /// latest entry, a seq or a time.
    Restore {
        /// The backup directory.
        src: PathBuf,
        /// Restore the state as of this seq (not before the backup's
        /// consistent seq).
        #[arg(long, conflicts_with = "to_time")]
        to_seq: Option<u64>,
        /// Restore the state as of this time (RFC 3339): the last entry
        /// stamped at or before it.
        #[arg(long)]
        to_time: Option<String>,
        /// Put the files below DIR, each keeping its absolute path below
        /// it, rather than at their own paths.
        #[arg(long)]
        into: Option<PathBuf>,
    },
    /// Measure drx against its anchors (docs/PERFORMANCE.md).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
    /// Show a layout's field map, or decode a data file through a COBOL
    /// copybook.
    Layout {
        #[command(subcommand)]
        what: layout_cmd::LayoutCommand,
    },
}

/// The side of the mirroring link to run.
#[derive(Debug, Subcommand)]
enum MirrorRole {
    /// Listen on tcp_host:tcp_port and apply what the primary sends.
    Standby,
    /// Stream this host's journal to the standby.
    Primary,
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs this host's servers until Ctrl-C or SIGTERM.
fn serve_roles(config: &Config, roles: &[drx_mirror::Role]) -> Result<()> {
    let names: Vec<&str> = roles
        .iter()
        .map(|r| match r {
            drx_mirror::Role::Primary => "primary",
            drx_mirror::Role::Standby => "standby",
            drx_mirror::Role::Transfer => "transfer",
        })
        .collect();
    tracing::info!("starting the {} server(s)", names.join(" and "));
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(drx_mirror::serve_roles(config, roles, shutdown_signal()))?;
    Ok(())
}

/// The dialects `drx schema` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SchemaDialect {
    Postgres,
    Mysql,
    Sqlite,
    Odbc,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // A server also logs to its daily file under <home>/logs.
    let daily = match &cli.command {
        Command::Mirror { role } => {
            let home = cli.home.clone().unwrap_or_else(|| PathBuf::from("."));
            let prefix = match role {
                MirrorRole::Standby => "Backup",
                MirrorRole::Primary => "Primary",
            };
            Some((home.join("logs"), prefix))
        }
        Command::Start { host } | Command::Recover { host } => {
            let home = cli.home.clone().unwrap_or_else(|| PathBuf::from("."));
            Config::load(&home)
                .ok()
                .and_then(|config| drx_mirror::local_roles(&config, host.as_deref()).ok())
                .map(|roles| {
                    // One process, one daily log: the primary's if it runs here.
                    let prefix = if roles.contains(&drx_mirror::Role::Primary) {
                        "Primary"
                    } else {
                        "Backup"
                    };
                    (home.join("logs"), prefix)
                })
        }
        _ => None,
    };
    let _log_guard = init_tracing(cli.verbose, daily);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drx: {}", report(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause said once: library errors already
/// put their cause in their own message.
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// Logs to stderr (-v info, -vv debug; RUST_LOG overrides) and, for a
/// server, at info level to a daily file in `<home>/logs` named as the
/// seed's servers name theirs (`Primary.2026-11-23`, `Backup.2026-11-23`).
/// The guard must live as long as the program.
fn init_tracing(
    verbose: u8,
    daily: Option<(PathBuf, &str)>,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer, fmt};
    let default = match verbose {
        // odbc-api logs every driver diagnostic as a warning, expected
        // ones too; drx reports the errors that matter itself.
        0 => "warn,odbc_api=error",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter);
    let (file, guard) = match daily {
        Some((dir, prefix)) => {
            let (writer, guard) =
                tracing_appender::non_blocking(tracing_appender::rolling::daily(dir, prefix));
            let layer = fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(EnvFilter::new("info,odbc_api=error"));
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .init();
    guard
}

fn home(cli_home: Option<PathBuf>) -> Result<PathBuf> {
    match cli_home {
        Some(h) => Ok(h),
        None => std::env::current_dir().context("the current directory"),
    }
}

fn run(cli: Cli) -> Result<()> {
    let home = home(cli.home)?;
    match cli.command {
        Command::Check => {
            let config = Config::load(&home)?;
            println!("{}", drx_extractor::check(&config)?);
        }
        Command::Io {
            script,
            process_name,
        } => {
            let config = Config::load(&home)?;
            let mut capture = Capture::open(&config, &process_name)?;
            let file =
                std::fs::File::open(&script).with_context(|| script.display().to_string())?;
            let summary = Script::new(&config).run(
                &mut capture,
                &script.display().to_string(),
                std::io::BufReader::new(file),
            );
            let sync = capture.sync_stats();
            capture.close()?;
            let summary = summary?;
            println!(
                "{} operations, {} journaled",
                summary.operations, summary.journaled
            );
            if let Some(s) = sync {
                println!(
                    "sync commit: {} acknowledged by the standby, {} not waited for, degraded to async {} times",
                    s.acknowledged, s.unwaited, s.degraded
                );
            }
        }
        Command::Demo {
            input_path,
            output_path,
            file_id,
            process_name,
        } => {
            let config = Config::load(&home)?;
            let cwd = std::env::current_dir()?;
            let id = match file_id {
                Some(id) => id,
                None => config
                    .files
                    .file_id_of(&drx_config::absolute(&cwd, &output_path))
                    .with_context(|| {
                        format!(
                            "{}: no include record maps it to an extractor_file_id; give --file-id",
                            output_path.display()
                        )
                    })?,
            };
            let layout = drx_capture::load_layout(&config.extractor.layouts_dir, id)?;
            let input_spec = FileSpec {
                organization: Org::Fixed,
                record_len: layout.record_len(),
                layout: Some(layout.clone()),
            };
            let mut capture = Capture::open(&config, &process_name)?;
            let count = drx_capture::demo(
                &mut capture,
                &input_path,
                input_spec,
                &output_path,
                FileSpec::from_layout(layout),
            )?;
            capture.close()?;
            println!(
                "copied {count} records from {} to {}",
                input_path.display(),
                output_path.display()
            );
        }
        Command::Extract {
            file_id,
            sink,
            follow,
            snapshot,
        } => {
            let config = Config::load(&home)?;
            // Ctrl-C or SIGTERM stops a following extraction at its next
            // poll, so that file sinks end cleanly (a kill is safe too).
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            if follow {
                let flag = stop.clone();
                ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))
                    .context("installing the Ctrl-C handler")?;
            }
            let options = ExtractOptions {
                sink,
                follow,
                snapshot,
                stop: Some(stop),
                ..ExtractOptions::new(file_id)
            };
            let bar = progress_bar(&config.journal.dir);
            let summaries = drx_extractor::extract(&config, &options, &mut |p: &Progress<'_>| {
                if let Some(bar) = &bar {
                    bar.set_position(p.position);
                    bar.set_message(format!("{}: {} records", p.sink, p.records));
                }
            })?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            for summary in summaries {
                println!("{summary}");
            }
            report_peak_memory();
        }
        Command::Schema {
            file_id,
            dialect,
            table,
            sink,
            apply,
        } => {
            let config = Config::load(&home)?;
            let dialect = match dialect {
                SchemaDialect::Postgres => drx_templates::Dialect::Postgres,
                SchemaDialect::Mysql => drx_templates::Dialect::MySql,
                SchemaDialect::Sqlite => drx_templates::Dialect::Sqlite,
                SchemaDialect::Odbc => drx_templates::Dialect::Odbc,
            };
            let options = drx_extractor::SchemaOptions {
                file_id,
                dialect,
                table,
                sink,
                apply,
            };
            println!("{};", drx_extractor::schema(&config, &options)?);
        }
        Command::Mirror { role } => {
            let config = Config::load(&home)?;
            let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
            match role {
                MirrorRole::Standby => {
                    runtime.block_on(drx_mirror::serve_standby(&config, shutdown_signal()))?
                }
                MirrorRole::Primary => {
                    runtime.block_on(drx_mirror::serve_primary(&config, shutdown_signal()))?
                }
            }
        }
        Command::Start { host } => {
            let config = Config::load(&home)?;
            let roles = drx_mirror::local_roles(&config, host.as_deref())?;
            serve_roles(&config, &roles)?;
        }
        Command::Recover { host } => {
            let config = Config::load(&home)?;
            let roles = drx_mirror::local_roles(&config, host.as_deref())?;
            for line in drx_mirror::recovery(&config, &roles)? {
                println!("{line}");
                tracing::info!("{line}");
            }
            serve_roles(&config, &roles)?;
        }
        Command::Verify {
            files,
            timeout,
            process_name,
        } => {
            let code = verify::run(
                &home,
                &files,
                std::time::Duration::from_secs(timeout),
                process_name.as_deref(),
            )?;
            if code != verify::IDENTICAL {
                use std::io::Write;
                let _ = std::io::stdout().flush();
                std::process::exit(i32::from(code));
            }
        }
        Command::Backup {
            dest,
            timeout,
            pace_ms,
            chunk,
        } => backup_cmd::backup(
            &home,
            &dest,
            std::time::Duration::from_secs(timeout),
            backup_cmd::CopyPace {
                pause_ms: pace_ms,
                chunk,
            },
        )?,
        Command::Restore {
            src,
            to_seq,
            to_time,
            into,
        } => backup_cmd::restore(&home, &src, to_seq, to_time.as_deref(), into.as_deref())?,
        Command::Promote => {
            let config = Config::load(&home)?;
            let wait = std::time::Duration::from_secs(30);
            println!("{}", drx_mirror::promote(&config, wait)?);
        }
        Command::Rejoin => {
            let config = Config::load(&home)?;
            let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
            println!("{}", runtime.block_on(drx_mirror::rejoin(&config))?);
        }
        Command::Sync {
            files,
            block_size,
            settle,
            pace_ms,
        } => sync_cmd::sync(
            &home,
            &files,
            sync_cmd::Knobs {
                block_size,
                settle,
                pace_ms,
            },
        )?,
        Command::Equalize { every, every_secs } => {
            equalize_cmd::run(&home, equalize_cmd::Options { every, every_secs })?
        }
        Command::Refresh {
            block_size,
            settle,
            pace_ms,
        } => sync_cmd::refresh(
            &home,
            sync_cmd::Knobs {
                block_size,
                settle,
                pace_ms,
            },
        )?,
        Command::Switchover { timeout } => {
            let config = Config::load(&home)?;
            let wait = std::time::Duration::from_secs(timeout);
            println!("{}", drx_mirror::switchover(&config, wait)?);
        }
        Command::Canary {
            timeout,
            every,
            print_layout,
        } => {
            let options = canary_cmd::Options {
                timeout,
                every,
                print_layout,
            };
            let code = canary_cmd::run(&home, &options);
            if code != canary_cmd::ARRIVED {
                use std::io::Write;
                let _ = std::io::stdout().flush();
                std::process::exit(i32::from(code));
            }
        }
        Command::Status { json } => {
            for status in drx_mirror::read_status(&home)? {
                if json {
                    println!("{}", serde_json::to_string(&status)?);
                } else {
                    print!("{status}");
                }
            }
        }
        Command::Ship {
            to,
            to_standby,
            seal,
            level,
        } => match (to, to_standby) {
            (Some(to), false) => ship_cmd::ship(&home, &to, seal, level)?,
            _ => ship_cmd::ship_to_standby(&home, seal, level)?,
        },
        Command::Apply { from } => ship_cmd::apply(&home, &from)?,
        Command::Bench { what } => bench::run(&what)?,
        Command::Layout { what } => layout_cmd::run(what)?,
    }
    Ok(())
}

/// A progress bar over the journal's seqs, on a terminal only.
fn progress_bar(journal: &Path) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let last = drx_journal::last_seq(journal).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(last);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{bar:40}] seq {pos}/{len} {msg} ({per_sec})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// With DRX_REPORT_PEAK_MEMORY set, prints the process's peak resident
/// memory and CPU time to stderr (for `drx bench`).
fn report_peak_memory() {
    if std::env::var_os("DRX_REPORT_PEAK_MEMORY").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        eprintln!("peak memory: {:.1} MiB", kib as f64 / 1024.0);
    }
    // utime and stime of the whole process (all threads, ended ones too),
    // fields 14 and 15 of /proc/self/stat, in clock ticks of 1/100 s.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the name, the state is field 3: utime (14) and stime (15) are 11 and 12 here.
    eprintln!("cpu seconds: {:.2}", (ticks(11) + ticks(12)) as f64 / 100.0);
}
