//! `drx bench failover`: promotion and failback times (issue 6), with real
//! `drx` processes on 127.0.0.1, p50 / p90 / max over N runs.
//!
//! Each run builds two homes in a directory of its own (the sample's
//! layout, a generated input table, a shared secret, `[mirror]` with
//! heartbeats every 200 ms and sync commits, `listen` / `peer`, and each
//! node's Files Table mapping the other's `data/error_codes.data` onto its
//! own, as `tests/failback.rs` does), starts `drx mirror standby` and `drx
//! mirror primary` on free ports, writes a workload (`drx demo`, then `drx
//! io` of mixed operations in transactions) and waits until the standby's
//! file equals the primary's. Then, with a `drx io` load running on the
//! primary, it kills the application and the primary server with SIGKILL,
//! and:
//!
//! 1. **manual failover**: `drx promote` against the running standby
//!    server (its answer gives `took` and how long the primary had been
//!    silent), then `drx io` of one record on the promoted node: the time
//!    from the decision (the start of `drx promote`) to that process's
//!    success is the time to the first write accepted;
//! 2. **failback**: the new primary takes a workload of its own, the old
//!    primary's server is started (and fenced off), `drx rejoin` runs on
//!    it, then its standby server and the new primary's primary server:
//!    the catch-up lasts until the old primary's file equals the new
//!    primary's and both journals end at the same seq;
//! 3. **automatic failover**, on a second pair with
//!    `auto_promote_after_missed = 5`: after the same kill, the standby
//!    server promotes itself; its log gives the detection time (how long
//!    the primary had been silent) and the promotion's own time, and the
//!    bench times the kill to the journal's `ROLE` saying primary and to
//!    the first write accepted.
//!
//! The anchor is the seeds' clustered shadow-server failover, a 45–90 s
//! outage (`004_*`); the ratios are the anchor's time over drx's.

use anyhow::{Context, Result, bail};
use drx_capture::{FileSpec, RecordFile};
use drx_journal::NodeRole;
use drx_layouts::Layout;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sample's layout and templates (file id 200, an indexed file).
const LAYOUT: &str = include_str!("../samples/error_codes/layouts/layout.200");
const TEMPLATES: [(&str, &str); 3] = [
    (
        "template.200.i",
        include_str!("../samples/error_codes/templates/template.200.i"),
    ),
    (
        "template.200.u",
        include_str!("../samples/error_codes/templates/template.200.u"),
    ),
    (
        "template.200.d",
        include_str!("../samples/error_codes/templates/template.200.d"),
    ),
];
/// The shared secret of the bench's links.
const SECRET: &str = "the drx bench failover shared secret";
/// Each node's application file.
const DATA: &str = "data/error_codes.data";
/// Records `drx demo` copies into it.
const TABLE_RECORDS: i64 = 1_200;
/// Heartbeat interval of the links.
const HEARTBEAT_MS: u64 = 200;
/// Missed heartbeats before the automatic variant promotes itself.
const AUTO_MISSED: u32 = 5;
/// Operations of the load running when the primary is killed.
const LOAD_OPS: usize = 2_000;
/// Journal entries the load writes before the kill.
const LOAD_BEFORE_KILL: u64 = 200;
/// The key of the first record written on the promoted node (the
/// workloads never use it).
const FIRST_WRITE_KEY: i64 = 32_000;
/// The first new key of the promoted node's own workload.
const NEW_PRIMARY_KEYS: i64 = 20_000;
/// The anchor: the seeds' shadow-server failover outage, in seconds.
const ANCHOR_SECS: (f64, f64) = (45.0, 90.0);

/// What `drx bench failover` measures.
#[derive(Debug, Clone)]
pub struct FailoverBench {
    /// Runs (each: a manual failover and failback, and an automatic failover).
    pub runs: usize,
    /// `drx io` operations of each workload.
    pub ops: usize,
    /// Where to work (default: a new directory under the system's temp dir).
    pub dir: Option<PathBuf>,
}

/// Runs `drx bench failover`.
pub fn run(b: &FailoverBench) -> Result<()> {
    if b.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let tmp;
    let dir = match &b.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            std::path::absolute(d)?
        }
        None => {
            tmp = crate::bench::tempdir()?;
            tmp.0.clone()
        }
    };
    let dir = std::fs::canonicalize(&dir).with_context(|| dir.display().to_string())?;
    println!(
        "drx bench failover: {} runs, real drx processes on 127.0.0.1, {} cores",
        b.runs,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  heartbeats every {HEARTBEAT_MS} ms, commit = \"sync\"; workload: drx demo of {TABLE_RECORDS} records + {} drx io operations, then the application (a drx io load) and the primary server killed with SIGKILL",
        b.ops
    );
    let mut runs = Vec::with_capacity(b.runs);
    for i in 1..=b.runs {
        let run_dir = dir.join(format!("run-{i}"));
        let figures = one_run(&run_dir, b.ops).with_context(|| format!("run {i}"))?;
        println!("run {i}/{}: {figures}", b.runs);
        runs.push(figures);
        std::fs::remove_dir_all(&run_dir).with_context(|| run_dir.display().to_string())?;
    }
    summary(&runs);
    Ok(())
}

/// One run: the manual failover and failback on one pair, the automatic
/// failover on another.
fn one_run(dir: &Path, ops: usize) -> Result<RunFigures> {
    let pair = Pair::new(&dir.join("manual"), false)?;
    let (manual, failback) = manual_and_failback(&pair, ops)
        .with_context(|| format!("manual failover and failback\n{}", pair.logs()))?;
    let pair = Pair::new(&dir.join("auto"), true)?;
    let auto =
        automatic(&pair, ops).with_context(|| format!("automatic failover\n{}", pair.logs()))?;
    Ok(RunFigures {
        manual,
        auto,
        failback,
    })
}

// ---------------------------------------------------------------------
// The figures.

/// A manual failover's figures (milliseconds).
#[derive(Debug, Clone, Copy)]
struct Manual {
    /// The promotion's own time (`took`).
    took: f64,
    /// `drx promote`, start to exit.
    promote: f64,
    /// The standby server: the request taken to the promotion done (its
    /// log's timestamps; ending the sessions, closing the journal, `took`).
    server: f64,
    /// How long the primary had been silent when the server took the request.
    silent: f64,
    /// The decision (start of `drx promote`) to the first write's success.
    first_write: f64,
    /// Entries the load had journaled on the primary when it was killed.
    load: u64,
    /// Entries the old primary had that the standby never received.
    lost: u64,
}

/// An automatic failover's figures (milliseconds).
#[derive(Debug, Clone, Copy)]
struct Auto {
    /// How long the primary had been silent when the server promoted itself.
    detection: f64,
    /// The promotion's own time (whole milliseconds, from the log).
    took: f64,
    /// The server's decision to the promotion done (its log's timestamps).
    server: f64,
    /// The kill to the journal's role being primary (seen by polling).
    to_primary: f64,
    /// The kill to the first write's success.
    first_write: f64,
}

/// A failback's figures (milliseconds).
#[derive(Debug, Clone, Copy)]
struct Failback {
    /// The old primary's server started to its journal fenced.
    fenced: f64,
    /// `drx rejoin`, start to exit.
    rejoin: f64,
    /// Entries of the old primary rolled back.
    rolled_back: u64,
    /// The servers started to the old primary's file and journal equal
    /// to the new primary's.
    catch_up: f64,
    /// Of which: the old primary's standby server started to listening.
    listening: f64,
    /// Entries streamed during the catch-up.
    streamed: u64,
}

/// One run's figures.
#[derive(Debug, Clone, Copy)]
struct RunFigures {
    manual: Manual,
    auto: Auto,
    failback: Failback,
}

impl std::fmt::Display for RunFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (m, a, b) = (self.manual, self.auto, self.failback);
        write!(
            f,
            "manual: silent {:.1} ms, promotion took {:.1} ms (server {:.1} ms, drx promote {:.1} ms), first write {:.1} ms after the decision; a load of {} entries killed, {} of them never received; \
             auto: detection {:.0} ms, promotion {:.0} ms (server {:.1} ms), kill → primary {:.1} ms, kill → first write {:.1} ms; \
             failback: fenced {:.1} ms, rejoin {:.1} ms ({} rolled back), catch-up {:.1} ms ({} entries; its standby server listening after {:.1} ms)",
            m.silent,
            m.took,
            m.server,
            m.promote,
            m.first_write,
            m.load,
            m.lost,
            a.detection,
            a.took,
            a.server,
            a.to_primary,
            a.first_write,
            b.fenced,
            b.rejoin,
            b.rolled_back,
            b.catch_up,
            b.streamed,
            b.listening
        )
    }
}

/// The rows of the summary: a label and the figure of one run.
type Row = (&'static str, fn(&RunFigures) -> f64);

const ROWS: [Row; 17] = [
    ("manual: promotion (drx promote's took)", |r| r.manual.took),
    ("manual: drx promote, request to answer", |r| {
        r.manual.promote
    }),
    ("manual: server, request taken to promoted", |r| {
        r.manual.server
    }),
    ("manual: primary silent at the decision", |r| {
        r.manual.silent
    }),
    ("manual: last heard to promotion done", |r| {
        r.manual.silent + r.manual.server
    }),
    ("manual: decision to first write accepted", |r| {
        r.manual.first_write
    }),
    ("manual: last heard to first write (recovery)", |r| {
        r.manual.silent + r.manual.first_write
    }),
    ("auto: detection (silent when promoted)", |r| {
        r.auto.detection
    }),
    ("auto: promotion (took)", |r| r.auto.took),
    ("auto: decision to promoted (server log)", |r| r.auto.server),
    ("auto: kill to ROLE primary", |r| r.auto.to_primary),
    ("auto: kill to first write accepted", |r| r.auto.first_write),
    ("failback: old primary started to fenced", |r| {
        r.failback.fenced
    }),
    ("failback: drx rejoin", |r| r.failback.rejoin),
    ("failback: catch-up as a standby", |r| r.failback.catch_up),
    ("failback: of which standby server starting", |r| {
        r.failback.listening
    }),
    ("failback: total (rejoin + catch-up)", |r| {
        r.failback.rejoin + r.failback.catch_up
    }),
];

/// p50, p90 and max of `values` (nearest rank).
fn percentiles(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let i = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
        values[i - 1]
    };
    (rank(0.5), rank(0.9), values[values.len() - 1])
}

fn summary(runs: &[RunFigures]) {
    println!("over {} runs (ms):", runs.len());
    let mut p50s = Vec::new();
    for (label, figure) in ROWS {
        let mut values: Vec<f64> = runs.iter().map(figure).collect();
        let (p50, p90, max) = percentiles(&mut values);
        println!("{label:<46} p50 {p50:>9.1} ms  p90 {p90:>9.1} ms  max {max:>9.1} ms");
        p50s.push((label, p50));
    }
    let p50 = |label: &str| {
        p50s.iter()
            .find(|(l, _)| *l == label)
            .map_or(f64::NAN, |r| r.1)
    };
    let decision = p50("manual: decision to first write accepted");
    let recovery = p50("manual: last heard to first write (recovery)");
    let auto = p50("auto: kill to first write accepted");
    let failback = p50("failback: total (rejoin + catch-up)");
    println!(
        "goal: under 1 s from the decision to promote to the first write accepted: p50 {decision:.1} ms: {}",
        if decision < 1_000.0 { "met" } else { "not met" }
    );
    let (low, high) = ANCHOR_SECS;
    println!(
        "anchor: the seeds' clustered shadow-server failover, a {low:.0}–{high:.0} s outage (004_*)"
    );
    for (what, ms) in [
        ("recovery, manual (last heard to first write)", recovery),
        ("recovery, automatic (kill to first write)", auto),
        ("failback (rejoin + catch-up)", failback),
    ] {
        println!(
            "ratio anchor/drx, {what}: {:.0} ({low:.0} s) to {:.0} ({high:.0} s), drx p50 {ms:.1} ms",
            low * 1_000.0 / ms,
            high * 1_000.0 / ms
        );
    }
}

// ---------------------------------------------------------------------
// The sequences.

/// The manual failover, then the failback, on `pair`.
fn manual_and_failback(pair: &Pair, ops: usize) -> Result<(Manual, Failback)> {
    let (prim, stby) = (&pair.prim, &pair.stby);
    let fence = stby.start("standby")?;
    let mut server = prim.start("primary")?;
    let mut keys = workload(prim, stby, ops)?;
    let (_, load) = kill_under_load(prim, &mut server, &mut keys)?;
    let prim_last = drx_journal::last_seq(&prim.journal())?;

    // Failover: the decision is the start of `drx promote`.
    stby.write("first.jsonl", &first_write())?;
    let decision = Instant::now();
    let out = stby.ok(&["promote"])?;
    let promote = ms(decision.elapsed());
    stby.ok(&["io", "--script", "first.jsonl"])?;
    let first_write = ms(decision.elapsed());
    if !out.contains("promoted to primary: epoch 1 -> 2") {
        bail!("drx promote said: {out}");
    }
    let took = number_after(&out, "took ").context(out.clone())?;
    let silent = number_after(&out, "the primary had been silent for ").with_context(|| {
        format!("drx promote did not say how long the primary had been silent: {out}")
    })?;
    let received = number_after(&out, "the last entry received was seq ").context(out.clone())?;
    let server = promotion_span(&stby.log("standby"))?;
    let manual = Manual {
        took,
        promote,
        server,
        silent,
        first_write,
        load,
        lost: prim_last.saturating_sub(received as u64),
    };

    // The new primary works alone for a while.
    let mut stby_keys = Keys::new(file_keys(&stby.data())?, NEW_PRIMARY_KEYS, 7);
    stby.write("alone.jsonl", &stby_keys.script(ops))?;
    stby.ok(&["io", "--script", "alone.jsonl"])?;

    // The old primary comes back: fenced off, its server stops.
    let started = Instant::now();
    let mut old = prim.start("primary")?;
    let journal = prim.journal();
    let fenced = wait_until(Duration::from_secs(30), Duration::from_millis(1), || {
        matches!(
            drx_journal::node_role(&journal),
            Ok(Some(NodeRole::Fenced { epoch: 2, .. }))
        )
    });
    let fenced_ms = ms(started.elapsed());
    if !fenced {
        bail!("the old primary was not fenced off within 30 s");
    }
    if !wait_until(Duration::from_secs(30), Duration::from_millis(10), || {
        old.exited()
    }) {
        bail!("a fenced primary server keeps running");
    }

    // Failback: rejoin, then the catch-up as the new primary's standby.
    let started = Instant::now();
    let out = prim.ok(&["rejoin"])?;
    let rejoin = ms(started.elapsed());
    if !out.contains("rejoined stby (epoch 2) as its standby") {
        bail!("drx rejoin said: {out}");
    }
    let shared = number_after(&out, "the journals share seqs 1 to ").context(out.clone())?;
    // "…share seqs 1 to N; M entries of this node…" or "…; nothing to roll back".
    let rolled_back = number_after(&out, &format!("1 to {shared}; ")).unwrap_or(0.0) as u64;
    let started = Instant::now();
    let _standby = prim.start("standby")?;
    if !wait_until(Duration::from_secs(30), Duration::from_millis(1), || {
        prim.log("standby").contains("standby listening")
    }) {
        bail!("the old primary's standby server did not listen within 30 s");
    }
    let listening = ms(started.elapsed());
    let _primary = stby.start("primary")?;
    let new_last = drx_journal::last_seq(&stby.journal())?;
    let caught_up = wait_until(Duration::from_secs(120), Duration::from_millis(2), || {
        drx_journal::last_seq(&prim.journal()).ok() == Some(new_last) && same(prim, stby)
    });
    let catch_up = ms(started.elapsed());
    if !caught_up {
        bail!("the old primary did not catch up with the new one within 120 s");
    }
    drop(fence);
    Ok((
        manual,
        Failback {
            fenced: fenced_ms,
            rejoin,
            rolled_back,
            catch_up,
            listening,
            streamed: new_last.saturating_sub(shared as u64),
        },
    ))
}

/// The automatic failover on `pair` (its standby promotes itself).
fn automatic(pair: &Pair, ops: usize) -> Result<Auto> {
    let (prim, stby) = (&pair.prim, &pair.stby);
    let _standby = stby.start("standby")?;
    let mut server = prim.start("primary")?;
    let mut keys = workload(prim, stby, ops)?;
    stby.write("first.jsonl", &first_write())?;
    let (killed, _) = kill_under_load(prim, &mut server, &mut keys)?;
    let journal = stby.journal();
    if !wait_until(Duration::from_secs(30), Duration::from_millis(1), || {
        matches!(
            drx_journal::node_role(&journal),
            Ok(Some(NodeRole::Primary))
        )
    }) {
        bail!("the standby did not promote itself within 30 s of the kill");
    }
    let to_primary = ms(killed.elapsed());
    stby.ok(&["io", "--script", "first.jsonl"])?;
    let first_write = ms(killed.elapsed());
    // The server logs the promotion just after it set the role.
    let mut line = None;
    wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
        line = stby
            .log("standby")
            .lines()
            .find(|l| l.contains("PROMOTED to primary"))
            .map(str::to_owned);
        line.is_some()
    });
    let line = line.context("the standby server did not log PROMOTED to primary")?;
    if !line.contains("automatic: nothing from the primary") {
        bail!("not an automatic promotion: {line}");
    }
    Ok(Auto {
        detection: number_after(&line, "silent_for_ms=").context(line.clone())?,
        took: number_after(&line, "took_ms=").context(line.clone())?,
        server: promotion_span(&stby.log("standby"))?,
        to_primary,
        first_write,
    })
}

/// `drx demo`, then `ops` operations, on the primary; waits until the
/// standby's file equals the primary's. Returns the keys of the file.
fn workload(prim: &Node, stby: &Node, ops: usize) -> Result<Keys> {
    prim.ok(&["demo", "--input-path", "input.table", "--output-path", DATA])?;
    let mut keys = Keys::new((1..=TABLE_RECORDS).collect(), TABLE_RECORDS + 1, 1);
    prim.write("ops.jsonl", &keys.script(ops))?;
    prim.ok(&["io", "--script", "ops.jsonl"])?;
    if !wait_until(Duration::from_secs(60), Duration::from_millis(5), || {
        same(prim, stby)
    }) {
        bail!("the standby did not catch up within 60 s");
    }
    Ok(keys)
}

/// Starts a `drx io` load on the primary and, once it has written
/// [`LOAD_BEFORE_KILL`] entries, kills it and the primary server with
/// SIGKILL. Returns when the server was killed, and how many entries the
/// load had journaled.
fn kill_under_load(prim: &Node, server: &mut Server, keys: &mut Keys) -> Result<(Instant, u64)> {
    prim.write("load.jsonl", &keys.script(LOAD_OPS))?;
    let journal = prim.journal();
    let base = drx_journal::last_seq(&journal)?;
    let mut load = Server {
        child: prim
            .command(&["io", "--script", "load.jsonl"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the drx io load")?,
    };
    wait_until(Duration::from_secs(60), Duration::from_millis(1), || {
        load.exited() || drx_journal::last_seq(&journal).unwrap_or(0) >= base + LOAD_BEFORE_KILL
    });
    load.kill();
    server.kill();
    let killed = Instant::now();
    let written = drx_journal::last_seq(&journal)?.saturating_sub(base);
    Ok((killed, written))
}

/// One record written on the promoted node.
fn first_write() -> String {
    format!(
        "{{\"op\":\"write\",\"file\":\"{DATA}\",\"record\":{{\"err_number\":{FIRST_WRITE_KEY},\"err_name\":\"FIRST\",\"err_text\":\"the first write on the new primary\"}}}}\n"
    )
}

// ---------------------------------------------------------------------
// The nodes.

/// A primary home ("prim") and a standby home ("stby"), each mapping the
/// other's `data/error_codes.data` onto its own; "stby" listens on the
/// link's port, "prim" on its own once it becomes a standby.
struct Pair {
    prim: Node,
    stby: Node,
}

impl Pair {
    fn new(dir: &Path, auto: bool) -> Result<Pair> {
        let link = free_port()?;
        let prim_listen = free_port()?;
        let mirror =
            format!("heartbeat_ms = {HEARTBEAT_MS}\ncommit = \"sync\"\nsync_timeout_ms = 3000");
        let prim = Node::new(dir, "prim")?;
        let stby = Node::new(dir, "stby")?;
        let auto = if auto {
            format!("\nauto_promote_after_missed = {AUTO_MISSED}")
        } else {
            String::new()
        };
        prim.configure(
            link,
            &stby,
            &format!("{mirror}\nlisten = \"127.0.0.1:{prim_listen}\""),
        )?;
        stby.configure(
            link,
            &prim,
            &format!("{mirror}\npeer = \"127.0.0.1:{prim_listen}\"{auto}"),
        )?;
        Ok(Pair { prim, stby })
    }

    /// Both nodes' server logs, for errors.
    fn logs(&self) -> String {
        let mut out = String::new();
        for node in [&self.prim, &self.stby] {
            for role in ["primary", "standby"] {
                let log = node.log(role);
                if !log.is_empty() {
                    out += &format!("--- {} {role}.log:\n{log}\n", node.name);
                }
            }
        }
        out
    }
}

/// One node's home.
struct Node {
    home: PathBuf,
    name: &'static str,
    exe: PathBuf,
}

impl Node {
    /// A home with the sample's layout and templates and an input table.
    fn new(dir: &Path, name: &'static str) -> Result<Node> {
        let home = dir.join(name);
        for sub in ["layouts", "templates", "data"] {
            std::fs::create_dir_all(home.join(sub))
                .with_context(|| home.join(sub).display().to_string())?;
        }
        std::fs::write(home.join("layouts/layout.200"), LAYOUT)?;
        for (file, text) in TEMPLATES {
            std::fs::write(home.join("templates").join(file), text)?;
        }
        std::fs::write(home.join("secret"), SECRET)?;
        std::fs::write(home.join("input.table"), input_table()?)?;
        Ok(Node {
            home,
            name,
            exe: std::env::current_exe()?,
        })
    }

    /// Writes drx.toml: linked on `link`, the other node's file mapped
    /// onto this one's, `mirror` added to `[mirror]`.
    fn configure(&self, link: u16, other: &Node, mirror: &str) -> Result<()> {
        let text = format!(
            r#"[global_settings]
replace_special_chars = true
tcp_host = "127.0.0.1"
tcp_port = {link}
primary_call_timeout = 1

[journal]
dir = "journal"
durability = "group"

[extractor]
layouts_dir = "layouts"
templates_dir = "templates"
on_bad_record = "stop"

[[files]]
record_type = "include"
process_name = "*"
source_path = "{DATA}"
extractor_file_id = 200

[[files]]
record_type = "include"
process_name = "*"
source_path = "{other}"
destination_dir = "data"
extractor_file_id = 200

[mirror]
node_id = "{name}"
secret_file = "secret"
replica_roots = ["data"]
{mirror}
"#,
            other = other.data().display(),
            name = self.name,
        );
        std::fs::write(self.home.join("drx.toml"), text)?;
        Ok(())
    }

    fn data(&self) -> PathBuf {
        self.home.join(DATA)
    }

    fn journal(&self) -> PathBuf {
        self.home.join("journal")
    }

    fn write(&self, name: &str, text: &str) -> Result<()> {
        let path = self.home.join(name);
        std::fs::write(&path, text).with_context(|| path.display().to_string())
    }

    /// `drx ARGS` in this home.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--home")
            .arg(&self.home)
            .args(args)
            .current_dir(&self.home)
            .env_remove("DRX_HOME")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs `drx ARGS` to success; returns its stdout.
    fn ok(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command(args)
            .output()
            .with_context(|| format!("{}: drx {}", self.name, args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "{}: drx {} failed ({}):\nstdout: {}\nstderr: {}",
                self.name,
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `drx -v mirror ROLE`, its stderr to `ROLE.log`.
    fn start(&self, role: &str) -> Result<Server> {
        let path = self.home.join(format!("{role}.log"));
        let log = std::fs::File::create(&path).with_context(|| path.display().to_string())?;
        let child = self
            .command(&["-v", "mirror", role])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("{}: starting drx mirror {role}", self.name))?;
        Ok(Server { child })
    }

    /// The log of the last `drx mirror ROLE` started here.
    fn log(&self, role: &str) -> String {
        std::fs::read_to_string(self.home.join(format!("{role}.log"))).unwrap_or_default()
    }
}

/// A `drx` process of the bench, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
}

impl Server {
    /// SIGKILL, and the exit reaped.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether both nodes' files are equal now.
fn same(a: &Node, b: &Node) -> bool {
    matches!(
        (std::fs::read(a.data()), std::fs::read(b.data())),
        (Ok(x), Ok(y)) if x == y
    )
}

/// A free port on 127.0.0.1.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Calls `done` every `every` until it returns true, for at most about
/// `limit`; returns whether it did.
fn wait_until(limit: Duration, every: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// The standby server's log: from the promotion decided ("promoting this
/// standby") to done ("PROMOTED to primary"), in milliseconds.
fn promotion_span(log: &str) -> Result<f64> {
    let at = |marker: &str| {
        log.lines()
            .find(|l| l.contains(marker))
            .and_then(seconds_of_day)
            .with_context(|| format!("no timestamped `{marker}` in the standby's log"))
    };
    let span = at("PROMOTED to primary")? - at("promoting this standby")?;
    // Across midnight.
    Ok(if span < 0.0 { span + 86_400.0 } else { span } * 1_000.0)
}

/// The time of day of a log line ("2026-11-24T05:54:35.072281Z  WARN …"),
/// in seconds.
fn seconds_of_day(line: &str) -> Option<f64> {
    let time = line.split_whitespace().next()?.split_once('T')?.1;
    let mut parts = time.trim_end_matches('Z').split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3_600.0 + m * 60.0 + s)
}

/// The number right after `label` in `text`.
fn number_after(text: &str, label: &str) -> Option<f64> {
    let rest = text.split_once(label)?.1;
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].trim_end_matches('.').parse().ok()
}

// ---------------------------------------------------------------------
// The workload.

fn layout() -> Result<Layout> {
    Ok(Layout::parse("layout.200", LAYOUT)?)
}

/// [`TABLE_RECORDS`] error_codes records, keys 1 to N, for `drx demo`.
fn input_table() -> Result<Vec<u8>> {
    let layout = layout()?;
    let mut out = Vec::new();
    for key in 1..=TABLE_RECORDS {
        let number = key.to_string();
        let name = format!("E{key:05}");
        let text = format!("error {key}: something went wrong");
        out.extend(layout.encode([
            ("err_number", number.as_str()),
            ("err_name", name.as_str()),
            ("err_text", text.as_str()),
            ("err_category", "bench"),
        ])?);
    }
    Ok(out)
}

/// The keys of the records of an error_codes file.
fn file_keys(path: &Path) -> Result<Vec<i64>> {
    let layout = Arc::new(layout()?);
    let file = RecordFile::open_read_only(path, FileSpec::from_layout(layout.clone()))?;
    let mut keys = Vec::new();
    let mut text = String::new();
    let mut bad = None;
    file.for_each_record(|_, record| {
        text.clear();
        let parsed = layout
            .view(record)
            .ok()
            .and_then(|view| view.get(0).ok()?.write_text(&mut text).ok())
            .and_then(|()| text.parse::<i64>().ok());
        match parsed {
            Some(key) => keys.push(key),
            None => bad = Some(text.clone()),
        }
        Ok(())
    })?;
    if let Some(bad) = bad {
        bail!(
            "{}: a record whose key does not decode: {bad:?}",
            path.display()
        );
    }
    Ok(keys)
}

/// The live keys of the file, to write valid mixed operations: 60 %
/// inserts of new keys, 30 % rewrites, 10 % deletes, in transactions of
/// one to four operations, one in five aborted.
#[derive(Debug, Clone)]
struct Keys {
    live: Vec<i64>,
    next_new: i64,
    state: u64,
}

impl Keys {
    fn new(live: Vec<i64>, next_new: i64, seed: u64) -> Keys {
        Keys {
            live,
            next_new,
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    fn next(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % n.max(1)
    }

    /// The next `ops` operations as a `drx io` script.
    fn script(&mut self, ops: usize) -> String {
        let mut out = String::new();
        let mut done = 0;
        while done < ops {
            let size = 1 + self.next(4) as usize;
            let abort = self.next(5) == 0;
            let before = self.live.clone();
            out += "{\"op\":\"begin\"}\n";
            for _ in 0..size {
                let roll = self.next(10);
                let text = format!("op {done}: it's <b>&</b> caf\u{e9}");
                if roll < 6 || self.live.is_empty() {
                    let key = self.next_new;
                    self.next_new += 1;
                    self.live.push(key);
                    out += &format!(
                        "{{\"op\":\"write\",\"file\":\"{DATA}\",\"record\":{{\"err_number\":{key},\"err_name\":\"N{done}\",\"err_text\":\"{text}\"}}}}\n"
                    );
                } else {
                    let i = self.next(self.live.len() as u64) as usize;
                    let key = self.live[i];
                    if roll < 9 {
                        out += &format!(
                            "{{\"op\":\"rewrite\",\"file\":\"{DATA}\",\"key\":{{\"err_number\":{key}}},\"record\":{{\"err_number\":{key},\"err_name\":\"U{done}\",\"err_text\":\"{text}\"}}}}\n"
                        );
                    } else {
                        self.live.swap_remove(i);
                        out += &format!(
                            "{{\"op\":\"delete\",\"file\":\"{DATA}\",\"key\":{{\"err_number\":{key}}}}}\n"
                        );
                    }
                }
                done += 1;
            }
            if abort {
                // Keys stay used, so a new key is never one aborted.
                self.live = before;
                out += "{\"op\":\"abort\"}\n";
            } else {
                out += "{\"op\":\"commit\"}\n";
            }
        }
        out
    }
}
