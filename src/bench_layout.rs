//! `drx bench layout`: COBOL copybook decoding speed (issue 5), one thread.
//!
//! Builds a data file per workload in a temporary directory — the Cobrix
//! test6 record (1,493 bytes, every numeric type) repeated to about 100 MB,
//! and the DISPLAY-heavy and COMP-3-heavy synthetic records of
//! `crates/layouts/benches/workloads` — reads it back, cuts it with
//! `RecordFormat::Fixed` and decodes every field of every record with
//! `RecordDecoder` (then also with `write_json`), passes repeated for at
//! least `--seconds`. Then times `drx layout decode --format jsonl` of the
//! test6 file to /dev/null, a whole process. The published figures of
//! copybook-rs and Cobrix are printed beside ours (quoted, not run).

use anyhow::{Context, Result, bail};
use drx_layouts::{
    Copybook, CopybookLayoutOptions, Layout, RecordDecoder, RecordFormat, RecordOptions,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "../crates/layouts/benches/workloads/mod.rs"]
mod workloads;

const TEST6_COPYBOOK: &str = include_str!("../tests/conformance/cobrix/test6_copybook.cob");
const TEST6_DATA: &[u8] =
    include_bytes!("../tests/conformance/cobrix/test6_data/INTEGR.TYPES.NOV28.DATA.dat");
const TEST6_LEN: usize = 1493;

/// Bytes of each workload's data file when `--records` is not given.
const TARGET_BYTES: usize = 100_000_000;

/// What `drx bench layout` measures.
#[derive(Debug, Clone)]
pub struct LayoutBench {
    /// Records per workload (default: about 100 MB of each).
    pub records: Option<u64>,
    /// Least seconds of decoding per workload and mode.
    pub seconds: f64,
    /// Where to write the data files (default: a temporary directory).
    pub dir: Option<PathBuf>,
}

/// One workload's data file.
struct Workload {
    name: &'static str,
    what: String,
    copybook: String,
    record_len: usize,
    opts: RecordOptions,
    path: PathBuf,
}

/// Bytes of one timed slice of a run (a few tens of milliseconds).
const SLICE_BYTES: usize = 8_000_000;

/// A run's rate: over the whole run, and over its slices of about
/// [`SLICE_BYTES`]. On a shared VM other tenants slow the core for parts
/// of a run (a busy hyper-thread sibling, the host's clock, the shared
/// cache; hypervisor steal is reported apart): the median slice is the
/// typical speed, the best slice the speed with the core to ourselves.
struct Rate {
    bytes: f64,
    records: f64,
    secs: f64,
    /// Slice rates in MB/s, sorted.
    slices: Vec<f64>,
}

impl Rate {
    fn mb(&self) -> f64 {
        self.bytes / self.secs / 1e6
    }

    fn mib(&self) -> f64 {
        self.bytes / self.secs / (1024.0 * 1024.0)
    }

    fn median_mb(&self) -> f64 {
        self.slices
            .get(self.slices.len() / 2)
            .copied()
            .unwrap_or(self.mb())
    }

    fn best_mb(&self) -> f64 {
        self.slices.last().copied().unwrap_or(self.mb())
    }
}

/// Times a run record by record, in slices.
struct Clock {
    started: Instant,
    slice_started: Instant,
    slice_bytes: usize,
    bytes: usize,
    records: u64,
    slices: Vec<f64>,
}

impl Clock {
    fn start() -> Clock {
        let now = Instant::now();
        Clock {
            started: now,
            slice_started: now,
            slice_bytes: 0,
            bytes: 0,
            records: 0,
            slices: Vec::new(),
        }
    }

    /// Counts one record of `len` bytes.
    #[inline]
    fn record(&mut self, len: usize) {
        self.records += 1;
        self.bytes += len;
        self.slice_bytes += len;
        if self.slice_bytes >= SLICE_BYTES {
            let now = Instant::now();
            let secs = (now - self.slice_started).as_secs_f64();
            self.slices.push(self.slice_bytes as f64 / secs / 1e6);
            self.slice_started = now;
            self.slice_bytes = 0;
        }
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn rate(mut self) -> Rate {
        self.slices.sort_by(f64::total_cmp);
        Rate {
            bytes: self.bytes as f64,
            records: self.records as f64,
            secs: self.elapsed(),
            slices: self.slices,
        }
    }
}

/// The machine's CPU time stolen by the hypervisor and its total CPU time,
/// in clock ticks (`/proc/stat`), if readable.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    Some((*ticks.get(7)?, ticks.iter().sum()))
}

pub fn run(bench: &LayoutBench) -> Result<()> {
    let tmp;
    let home = match &bench.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = crate::bench::tempdir()?;
            tmp.0.clone()
        }
    };
    println!(
        "drx bench layout: COBOL copybook decoding on one thread, {} cores, passes of at least {:.1} s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        bench.seconds
    );
    let count = |len: usize| {
        bench
            .records
            .map_or(TARGET_BYTES.div_ceil(len), |n| n as usize)
    };
    let mut loads = Vec::new();
    // The test6 records, repeated.
    let n = count(TEST6_LEN);
    let mut data = Vec::with_capacity(n * TEST6_LEN);
    for chunk in TEST6_DATA.chunks_exact(TEST6_LEN).cycle().take(n) {
        data.extend_from_slice(chunk);
    }
    loads.push(write_workload(
        &home,
        "test6",
        "Cobrix test6, every numeric type".into(),
        TEST6_COPYBOOK.to_owned(),
        TEST6_LEN,
        workloads::test6_options(),
        &data,
    )?);
    drop(data);
    for (w, what) in [
        (
            workloads::display(count(570)),
            "DISPLAY-heavy customer record",
        ),
        (workloads::comp3(count(537)), "COMP-3-heavy account record"),
    ] {
        loads.push(write_workload(
            &home,
            w.name,
            what.into(),
            w.copybook,
            w.record_len,
            workloads::synthetic_options(),
            &w.data,
        )?);
    }

    let mut decoded = Vec::new();
    let ticks = cpu_ticks();
    for w in &loads {
        let bytes = std::fs::read(&w.path).with_context(|| w.path.display().to_string())?;
        for mode in [Mode::Values, Mode::Text, Mode::Json] {
            let rate = match mode {
                Mode::Values => value_passes(w, &bytes, bench.seconds)?,
                Mode::Text => decode_passes(w, &bytes, false, bench.seconds)?,
                Mode::Json => decode_passes(w, &bytes, true, bench.seconds)?,
            };
            println!(
                "{:<7} {:<14} {:>8.1} MB/s {:>8.1} MiB/s; {} slices of 8 MB: median {:>6.1} MB/s, best {:>6.1} MB/s  ({:.0} records/s; {} x {}-byte records, {}; {:.2} s)",
                w.name,
                mode.label(),
                rate.mb(),
                rate.mib(),
                rate.slices.len(),
                rate.median_mb(),
                rate.best_mb(),
                rate.records / rate.secs,
                bytes.len() / w.record_len,
                w.record_len,
                w.what,
                rate.secs
            );
            if mode == Mode::Values {
                decoded.push((w.name, rate));
            }
        }
    }
    if let (Some((steal0, total0)), Some((steal1, total1))) = (ticks, cpu_ticks()) {
        let total = total1.saturating_sub(total0).max(1);
        println!(
            "hypervisor steal during the runs: {:.0}% of the machine's CPU time",
            100.0 * steal1.saturating_sub(steal0) as f64 / total as f64
        );
    }

    // A whole `drx layout decode` process, JSON lines to /dev/null.
    if let Some(test6) = loads.first() {
        let exe = std::env::current_exe()?;
        let started = Instant::now();
        let out = Command::new(&exe)
            .args(["layout", "decode", "--format", "jsonl", "--layout"])
            .arg(home.join("test6.cob"))
            .arg("--data")
            .arg(&test6.path)
            .args(["--float", "ieee", "--comp5-big-endian", "--invalid", "null"])
            .stdout(Stdio::null())
            .output()?;
        let secs = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "drx layout decode: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let bytes = std::fs::metadata(&test6.path)?.len() as f64;
        println!(
            "test6   drx layout decode --format jsonl > /dev/null: {:>8.1} MB/s {:>8.1} MiB/s  ({secs:.2} s, whole process)",
            bytes / secs / 1e6,
            bytes / secs / (1024.0 * 1024.0)
        );
    }

    // Published figures, quoted (not run here).
    println!(
        "published (not run): copybook-rs DISPLAY 66-95 MiB/s, COMP-3 18-25 MiB/s; Cobrix about 6-9 MB/s per core"
    );
    for (name, rate) in &decoded {
        let (anchor, label) = match *name {
            "comp3" => (25.0, "copybook-rs COMP-3 (25 MiB/s)"),
            _ => (95.0, "copybook-rs DISPLAY (95 MiB/s)"),
        };
        println!(
            "ratio {name:<7} typed values, whole run: drx/{label}: {:.1}; drx/Cobrix (9 MB/s): {:.0}",
            rate.mib() / anchor,
            rate.mb() / 9.0
        );
    }
    Ok(())
}

/// Writes a workload's copybook and data file into `home`.
fn write_workload(
    home: &Path,
    name: &'static str,
    what: String,
    copybook: String,
    record_len: usize,
    opts: RecordOptions,
    data: &[u8],
) -> Result<Workload> {
    std::fs::write(home.join(format!("{name}.cob")), &copybook)?;
    let path = home.join(format!("{name}.dat"));
    std::fs::write(&path, data)?;
    Ok(Workload {
        name,
        what,
        copybook,
        record_len,
        opts,
        path,
    })
}

/// What a pass produces from each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every field as a typed value through the copybook's `Layout` (what
    /// the extractor hands the sinks): exact decimals, floats, text decoded
    /// from its code page into UTF-8.
    Values,
    /// `RecordDecoder`: every field as its output text (`drx layout decode`).
    Text,
    /// `RecordDecoder` then one JSON object per record.
    Json,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Values => "typed values",
            Mode::Text => "text (decoder)",
            Mode::Json => "text + JSON",
        }
    }
}

/// Decodes every field of every record of `bytes` into typed values
/// through `Layout::from_copybook` and uses each as a sink does
/// (`workloads::consume`: text decoded into a reused UTF-8 buffer, numbers
/// folded into a checksum), pass after pass, for at least `seconds`.
fn value_passes(w: &Workload, bytes: &[u8], seconds: f64) -> Result<Rate> {
    let cb = Copybook::parse(w.name, &w.copybook)?;
    let options = CopybookLayoutOptions {
        code_page: w.opts.cobol.code_page,
        float_format: w.opts.cobol.float_format,
        native_order: w.opts.cobol.native_order,
        strict_sign: w.opts.cobol.strict_sign,
        trim: w.opts.trim,
        invalid: w.opts.invalid,
        ..CopybookLayoutOptions::default()
    };
    let layout = Layout::from_copybook(w.name, &cb, &options)?;
    let mut text = Vec::with_capacity(64 * 1024);
    let mut sum = 0u64;
    let mut clock = Clock::start();
    loop {
        for record in bytes.chunks_exact(w.record_len) {
            let view = layout.view(record)?;
            sum ^= workloads::consume(&view, &mut text)?;
            clock.record(record.len());
        }
        if clock.elapsed() >= seconds {
            break;
        }
    }
    std::hint::black_box(sum);
    Ok(clock.rate())
}

/// Decodes every record of `bytes`, pass after pass, for at least
/// `seconds`; with `json`, also writes each record as a JSON object.
fn decode_passes(w: &Workload, bytes: &[u8], json: bool, seconds: f64) -> Result<Rate> {
    let cb = Copybook::parse(w.name, &w.copybook)?;
    if cb.record_len() != w.record_len {
        bail!(
            "{}: copybook record is {} bytes, data records {}",
            w.name,
            cb.record_len(),
            w.record_len
        );
    }
    let mut decoder = RecordDecoder::new(&cb, w.opts)?;
    let format = RecordFormat::Fixed {
        len: w.record_len,
        header: 0,
        footer: 0,
    };
    let mut line = String::with_capacity(64 * 1024);
    let mut json_bytes = 0usize;
    let mut clock = Clock::start();
    loop {
        for rec in format.records(bytes) {
            let rec = rec.with_context(|| w.path.display().to_string())?;
            decoder
                .decode(rec.number, rec.bytes)
                .with_context(|| format!("{}: record at byte {}", w.name, rec.offset))?;
            if json {
                line.clear();
                decoder.write_json(&mut line);
                json_bytes += line.len();
            }
            clock.record(rec.bytes.len());
        }
        if clock.elapsed() >= seconds {
            break;
        }
    }
    std::hint::black_box(json_bytes);
    Ok(clock.rate())
}
