//! `drx canary [--timeout SECS] [--every [SECS]]`: writes the canary record
//! through the capture library (docs/CANARY.md) and checks that it reaches
//! each target within the timeout:
//!
//! * the standby: the seq the primary server says the standby has
//!   acknowledged (asked on its commit socket, without waiting) reaches
//!   the canary's seq;
//! * each sink that takes the canary file's extractor file id: its own
//!   checkpoint (SQLite's `drx_checkpoint` row, a feed's `.ckpt` file)
//!   reaches the canary's seq; for the server databases and `stdout`, the
//!   extractor's journal consumer position, saved after the sink committed.
//!
//! One line per target with the delay; `ALERT:` lines for the targets it
//! did not reach. Exit status: 0 when every target has it, 1 when one has
//! not (or the record could not be written), 2 on a usage or configuration
//! error. With `--every`, rounds repeat until Ctrl-C or SIGTERM, each
//! logged, a target that comes back after a miss with a `RECOVERED:` line.

use anyhow::{Context, Result, anyhow, bail};
use drx_capture::{CanaryWritten, Capture, LayoutLoadError};
use drx_config::Config;
use drx_layouts::Layout;
use drx_sinks::{Binding, Sink, SinkConfig};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Exit status: every target has the canary.
pub const ARRIVED: u8 = 0;
/// Exit status: a target does not have it in time, or it was not written.
pub const MISSED: u8 = 1;
/// Exit status: a usage or configuration error.
pub const USAGE: u8 = 2;

/// How often the targets are looked at while waiting.
const POLL: Duration = Duration::from_millis(5);
/// The first line of a feed's checkpoint file.
const FEED_CHECKPOINT_MAGIC: &str = "drx-feed-checkpoint 1";

/// The command line of `drx canary`.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for each target, in seconds (default: `[canary]
    /// timeout_ms`).
    pub timeout: Option<f64>,
    /// Repeat: every this many seconds, or `[canary] interval` when given
    /// without a value.
    pub every: Option<Option<u64>>,
    /// Print the canary layout and do nothing else.
    pub print_layout: bool,
}

/// Runs `drx canary` in `home`; returns the exit status.
pub fn run(home: &Path, options: &Options) -> u8 {
    if options.print_layout {
        print!("{}", drx_capture::CANARY_LAYOUT);
        return ARRIVED;
    }
    let mut canary = match Canary::load(home, options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("drx: canary: {}", crate::report(&e));
            return USAGE;
        }
    };
    match options.every {
        None => canary.round(None).print(None),
        Some(every) => {
            let every = Duration::from_secs(every.unwrap_or(canary.config.canary.interval).max(1));
            canary.watch(every)
        }
    }
}

/// Where a target's progress is read.
enum Progress {
    /// The standby's acknowledged seq, from the primary server's commit
    /// socket (the connection is kept between polls).
    Standby(Option<UnixStream>),
    /// A sink opened as the extractor opens it, for its checkpoint (SQLite).
    Sink(Box<SinkReader>),
    /// A feed's sidecar checkpoint file (CSV, XML), read as it is: opening
    /// the feed would cut the tail a running extractor is writing.
    Feed(PathBuf),
    /// The extractor's journal consumer of the sink and file id (server
    /// databases, whose sessions hold a lock a following extractor owns).
    Consumer(String),
}

/// A sink to open as the extractor does, and the open sink.
struct SinkReader {
    config: SinkConfig,
    /// The home, against which the sink's paths are taken.
    home: PathBuf,
    binding: Binding,
    open: Option<Box<dyn Sink>>,
}

/// One place the canary must reach.
struct Target {
    /// `standby`, or `sink <name>`.
    name: String,
    progress: Progress,
    /// Rounds missed in a row (for `--every`'s recovery lines).
    missed: u64,
}

/// What became of the canary at one target in one round.
enum Outcome {
    /// It arrived after `delay`; the target was at `at` then.
    Arrived { delay: Duration, at: u64 },
    /// It did not arrive within the wait; `detail` says where the target was.
    Missed { waited: Duration, detail: String },
    /// The wait was cut short by Ctrl-C or SIGTERM.
    Stopped,
}

/// One round: the record written (or why not), and each target's outcome.
struct Round {
    written: std::result::Result<CanaryWritten, String>,
    outcomes: Vec<(String, Outcome)>,
}

/// The canary of a home, ready for rounds.
struct Canary {
    config: Config,
    node_id: String,
    timeout: Duration,
    targets: Vec<Target>,
}

impl Canary {
    /// Reads `[canary]` and the Files Table, installs the canary layout for
    /// its file id if missing, and finds the targets.
    fn load(home: &Path, options: &Options) -> Result<Canary> {
        let config = Config::load(home)?;
        let settings = &config.canary;
        let timeout = match options.timeout {
            None => Duration::from_millis(settings.timeout_ms),
            Some(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
                Duration::from_secs_f64(secs)
            }
            Some(secs) => bail!("--timeout {secs}: give a number of seconds above 0"),
        };
        let file = &settings.file;
        let Some(record) = config.files.select(&settings.process_name, file) else {
            bail!(
                "{}: the Files Table does not make the canary file critical for process `{}`: add\n\
                 [[files]]\nrecord_type = \"include\"\nprocess_name = \"*\"\nsource_path = \"{}\"\n\
                 extractor_file_id = 900   # a file id of its own, for its sinks",
                file.display(),
                settings.process_name,
                file.strip_prefix(&config.home).unwrap_or(file).display()
            );
        };
        let file_id = record.extractor_file_id.filter(|id| *id != 0);
        let node_id = drx_mirror::node_id(&config)?;
        drx_capture::CanaryRecord::key(&node_id)?;
        let mut targets = Vec::new();
        if settings
            .standby
            .unwrap_or_else(|| drx_capture::is_mirrored(&config))
        {
            targets.push(Target {
                name: "standby".to_owned(),
                progress: Progress::Standby(None),
                missed: 0,
            });
        }
        let sinks = chosen_sinks(&config, file_id)?;
        if targets.is_empty() && sinks.is_empty() {
            bail!(
                "nothing to check: the home is not mirrored (or [canary] standby = false) and no sink \
                 takes the canary file's extractor_file_id{}",
                file_id.map(|id| format!(" ({id})")).unwrap_or_default()
            );
        }
        if let Some(id) = file_id {
            let layout = install_layout(&config, id)?;
            for sink in sinks {
                targets.push(Target {
                    name: format!("sink {}", sink.name()),
                    progress: sink_progress(&config, sink, id, layout.clone()),
                    missed: 0,
                });
            }
        }
        Ok(Canary {
            config,
            node_id,
            timeout,
            targets,
        })
    }

    /// Writes the record through a capture session of its own; returns it
    /// and the moment it was written.
    fn write(&self) -> Result<(CanaryWritten, Instant)> {
        let settings = &self.config.canary;
        let mut capture = Capture::open(&self.config, &settings.process_name)?;
        let written = drx_capture::write_canary(&mut capture, &settings.file, &self.node_id);
        let at = Instant::now();
        let closed = capture.close();
        let written = written?;
        closed?;
        Ok((written, at))
    }

    /// Writes one canary record and waits for it at every target.
    fn round(&mut self, stop: Option<&AtomicBool>) -> Round {
        let (written, at) = match self.write() {
            Ok(w) => w,
            Err(e) => {
                return Round {
                    written: Err(crate::report(&e)),
                    outcomes: Vec::new(),
                };
            }
        };
        let journal = self.config.journal.dir.clone();
        let mut outcomes: Vec<Option<Outcome>> = self.targets.iter().map(|_| None).collect();
        let mut details: Vec<String> = self.targets.iter().map(|_| String::new()).collect();
        loop {
            for ((target, outcome), detail) in
                self.targets.iter_mut().zip(&mut outcomes).zip(&mut details)
            {
                if outcome.is_some() {
                    continue;
                }
                match target.progress.reached(&journal, written.seq) {
                    Ok(Some(seq)) if seq >= written.seq => {
                        *outcome = Some(Outcome::Arrived {
                            delay: at.elapsed(),
                            at: seq,
                        });
                    }
                    Ok(seq) => *detail = target.progress.describe(seq),
                    Err(e) => *detail = e,
                }
            }
            if outcomes.iter().all(Option::is_some) {
                break;
            }
            let stopped = stop.is_some_and(|s| s.load(Ordering::Relaxed));
            if stopped || at.elapsed() >= self.timeout {
                let waited = at.elapsed();
                for (outcome, detail) in outcomes.iter_mut().zip(&mut details) {
                    if outcome.is_none() {
                        *outcome = Some(if stopped {
                            Outcome::Stopped
                        } else {
                            Outcome::Missed {
                                waited,
                                detail: std::mem::take(detail),
                            }
                        });
                    }
                }
                break;
            }
            std::thread::sleep(POLL);
        }
        // A sink is opened again next round: a restored or moved database
        // is then read afresh.
        for target in &mut self.targets {
            if let Progress::Sink(reader) = &mut target.progress {
                reader.open = None;
            }
        }
        Round {
            written: Ok(written),
            outcomes: self
                .targets
                .iter()
                .zip(outcomes)
                .filter_map(|(t, o)| o.map(|o| (t.name.clone(), o)))
                .collect(),
        }
    }

    /// `--every`: rounds every `every` until Ctrl-C or SIGTERM; returns the
    /// last round's exit status.
    fn watch(&mut self, every: Duration) -> u8 {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
            eprintln!("drx: canary: installing the Ctrl-C handler: {e}");
            return USAGE;
        }
        tracing::info!(every_s = every.as_secs(), "canary rounds start");
        let mut code = ARRIVED;
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let round = self.round(Some(&stop));
            code = round.print(Some(&mut self.targets));
            while started.elapsed() < every && !stop.load(Ordering::Relaxed) {
                std::thread::sleep((every - started.elapsed()).min(Duration::from_millis(100)));
            }
        }
        tracing::info!("canary rounds stopped");
        code
    }
}

impl Round {
    /// Prints the round: a line per target, `ALERT:` for a miss and, when
    /// `targets` keep the misses between rounds, `RECOVERED:` for a target
    /// that has the canary again. Returns the round's exit status.
    fn print(self, mut targets: Option<&mut Vec<Target>>) -> u8 {
        use std::io::Write;
        // Rounds that repeat also go to the log; a single one only prints.
        let log = targets.is_some();
        let written = match self.written {
            Ok(w) => w,
            Err(e) => {
                let line = format!("ALERT: canary: the canary record could not be written: {e}");
                if log {
                    tracing::error!("{line}");
                }
                println!("{line}");
                let _ = std::io::stdout().flush();
                return MISSED;
            }
        };
        let r = &written.record;
        println!(
            "canary: seq {} written by {} (round {}) at {}",
            written.seq,
            r.node_id,
            r.counter,
            drx_capture::format_micros(r.written_us)
        );
        let mut code = ARRIVED;
        for (name, outcome) in self.outcomes {
            let missed = targets
                .as_deref_mut()
                .and_then(|ts| ts.iter_mut().find(|t| t.name == name))
                .map(|t| &mut t.missed);
            match outcome {
                Outcome::Arrived { delay, at } => {
                    let line = format!(
                        "{name}: arrived in {:.1} ms (at seq {at})",
                        delay.as_secs_f64() * 1e3
                    );
                    println!("{line}");
                    if log {
                        tracing::info!("{line}");
                    }
                    if let Some(missed) = missed {
                        if *missed > 0 {
                            let line = format!(
                                "RECOVERED: {name}: the canary arrives again (seq {}), after {} missed round(s)",
                                written.seq, missed
                            );
                            println!("{line}");
                            tracing::warn!("{line}");
                        }
                        *missed = 0;
                    }
                }
                Outcome::Missed { waited, detail } => {
                    let line = format!(
                        "ALERT: {name}: the canary (seq {}) did not arrive: waited {} ms; {detail}",
                        written.seq,
                        waited.as_millis()
                    );
                    println!("{line}");
                    if log {
                        tracing::error!("{line}");
                    }
                    if let Some(missed) = missed {
                        *missed += 1;
                    }
                    code = MISSED;
                }
                Outcome::Stopped => println!("{name}: not waited for (stopped)"),
            }
        }
        let _ = std::io::stdout().flush();
        code
    }
}

impl Progress {
    /// How far the target is: the seq it has reached, if it says.
    fn reached(&mut self, journal: &Path, seq: u64) -> std::result::Result<Option<u64>, String> {
        match self {
            Progress::Standby(stream) => drx_capture::acked_seq(stream, journal, seq)
                .map(Some)
                .map_err(|e| e.to_string()),
            Progress::Sink(reader) => {
                if reader.open.is_none() {
                    let sink = reader
                        .config
                        .build(&reader.home, reader.binding.clone())
                        .map_err(|e| format!("opening the sink: {e}"))?;
                    reader.open = Some(sink);
                }
                let Some(sink) = reader.open.as_mut() else {
                    return Ok(None);
                };
                match sink.checkpoint() {
                    Ok(c) => Ok(c.map(|c| c.applied)),
                    Err(e) => {
                        reader.open = None;
                        Err(format!("reading its checkpoint: {e}"))
                    }
                }
            }
            Progress::Feed(path) => feed_checkpoint(path),
            Progress::Consumer(name) => drx_journal::consumer_position(journal, name)
                .map_err(|e| format!("journal consumer {name}: {e}")),
        }
    }

    /// Where the target stands, for an alert.
    fn describe(&self, seq: Option<u64>) -> String {
        match (self, seq) {
            (Progress::Standby(_), Some(s)) => {
                format!("the standby has acknowledged up to seq {s}")
            }
            (Progress::Sink(_) | Progress::Feed(_), Some(s)) => {
                format!("its checkpoint is at seq {s}")
            }
            (Progress::Sink(_) | Progress::Feed(_), None) => {
                "it has no checkpoint yet (never extracted into)".to_owned()
            }
            (Progress::Consumer(name), Some(s)) => format!("journal consumer {name} is at seq {s}"),
            (Progress::Consumer(name), None) => {
                format!("journal consumer {name} has no position yet (never extracted into)")
            }
            (Progress::Standby(_), None) => "no answer".to_owned(),
        }
    }
}

/// The sinks to check: `[canary] sinks`, else every sink that takes the
/// canary's file id (stdout ones aside).
fn chosen_sinks(config: &Config, file_id: Option<u16>) -> Result<Vec<SinkConfig>> {
    let all = config
        .sinks
        .iter()
        .map(SinkConfig::from_section)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let Some(names) = &config.canary.sinks else {
        return Ok(match file_id {
            Some(id) => all
                .into_iter()
                .filter(|s| s.serves(id) && !matches!(s, SinkConfig::Stdout(_)))
                .collect(),
            None => Vec::new(),
        });
    };
    names
        .iter()
        .map(|name| {
            let sink = all
                .iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| anyhow!("[canary] sinks: no [[sinks]] section is named `{name}`"))?;
            let id = file_id.ok_or_else(|| {
                anyhow!(
                    "[canary] sinks names `{name}`, but the canary file's Files Table record has no \
                     extractor_file_id"
                )
            })?;
            if !sink.serves(id) {
                bail!(
                    "[canary] sinks: sink `{name}` does not take file id {id}, the canary file's: \
                     add it to its file_ids"
                );
            }
            Ok(sink.clone())
        })
        .collect()
}

/// Where the progress of `sink` for file `id` is read.
fn sink_progress(config: &Config, sink: SinkConfig, id: u16, layout: Arc<Layout>) -> Progress {
    let target = sink
        .target_of(id)
        .map(str::to_owned)
        .unwrap_or_else(|| drx_extractor::default_target(config, id));
    let feed = |dir: &Path, ext: &str| {
        Progress::Feed(drx_config::absolute(&config.home, dir).join(format!("{target}.{ext}.ckpt")))
    };
    match &sink {
        SinkConfig::Csv(c) => feed(&c.dir, "csv"),
        SinkConfig::Xml(c) => feed(&c.dir, "xml"),
        SinkConfig::Sqlite(_) => Progress::Sink(Box::new(SinkReader {
            binding: Binding {
                file_id: id,
                layout,
                target,
                templates_dir: config.extractor.templates_dir.clone(),
                epoch: drx_journal::current_epoch(&config.journal.dir).unwrap_or(1),
                repair: false,
            },
            config: sink,
            home: config.home.clone(),
            open: None,
        })),
        // The extractor's consumer name: `<sink>.<file id>`.
        _ => Progress::Consumer(format!("{}.{id}", sink.name())),
    }
}

/// The `applied` seq of a feed's checkpoint file (`None`: no file yet).
fn feed_checkpoint(path: &Path) -> std::result::Result<Option<u64>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut lines = text.lines();
    let applied = (lines.next() == Some(FEED_CHECKPOINT_MAGIC))
        .then(|| lines.next())
        .flatten()
        .and_then(|l| l.strip_prefix("applied "))
        .and_then(|v| v.trim().parse().ok());
    match applied {
        Some(seq) => Ok(Some(seq)),
        None => Err(format!(
            "{}: not a feed checkpoint (`{FEED_CHECKPOINT_MAGIC}`, then `applied <seq>`)",
            path.display()
        )),
    }
}

/// Installs the canary layout as `layout.<id>` when no layout describes
/// the file id; an existing one must be the canary layout. Returns it.
fn install_layout(config: &Config, id: u16) -> Result<Arc<Layout>> {
    let shipped = drx_capture::canary_layout()?;
    let dir = &config.extractor.layouts_dir;
    match drx_capture::load_layout(dir, id) {
        Ok(layout) => {
            let names =
                |l: &Layout| -> Vec<String> { l.fields().iter().map(|f| f.name.clone()).collect() };
            let same = layout.record_len() == shipped.record_len()
                && names(&layout) == names(&shipped)
                && layout.key_fields() == shipped.key_fields()
                && layout.organization() == shipped.organization();
            if !same {
                bail!(
                    "{}: file id {id} is the canary file's, but its layout is not drx's canary \
                     layout (`drx canary --print-layout` prints it)",
                    drx_capture::layout_path(dir, id).display()
                );
            }
            Ok(layout)
        }
        Err(LayoutLoadError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            let path = drx_capture::layout_path(dir, id);
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
            std::fs::write(&path, drx_capture::CANARY_LAYOUT)
                .with_context(|| path.display().to_string())?;
            eprintln!(
                "drx: canary: installed the canary layout as {}",
                path.display()
            );
            Ok(shipped)
        }
        Err(e) => Err(e.into()),
    }
}
