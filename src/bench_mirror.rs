//! `drx bench mirror`: the mirroring link of issue 4, primary → standby on
//! 127.0.0.1, both servers in this process ([`drx_mirror::primary::run`] and
//! [`drx_mirror::standby::run`] on one tokio runtime), in one run:
//!
//! 1. **async, 200-byte records**: a primary journal of N entries as the
//!    capture journals a record write (a `Write` effect of 200 bytes at
//!    increasing offsets plus the record meaning, an insert with its
//!    after-image; `--effect-only` drops the meaning), streamed to a fresh
//!    standby;
//! 2. **async, 64 KiB writes**: a file of M MiB (random bytes) journaled as
//!    a `Create` and 64 KiB `Write`s, streamed to a fresh standby — this is
//!    also the time to bring a fresh standby to that file, compared with
//!    the **anchor**, `rsync` of the same file to an `rsync --daemon` on
//!    127.0.0.1 in the same run;
//! 3. **lag**: a writer appending at a steady rate (20,000 entries/s) for a
//!    few seconds while the link streams; an entry's lag is the time the
//!    primary learnt that the standby made it durable (the acknowledged seq,
//!    watched with [`drx_mirror::AckedSeq::subscribe`]) minus the time it
//!    was appended (written to the OS, where the primary's feed reads it);
//! 4. **sync commits**: one entry at a time, append + flush + wake the
//!    primary's feed (as its commit socket does for a sync-mode capture
//!    call) + wait until it is acknowledged
//!    ([`drx_mirror::AckedSeq::wait_blocking`]).
//!
//! The throughput figures run from the start of the primary (connect,
//! handshake, first byte) until the standby acknowledged the last entry as
//! durable (journal and replica fsynced): the primary's acknowledged seq is
//! the journal's last. Every replica is then checked equal (blake3) to what
//! was written, so a fast but wrong run fails.

use anyhow::{Context, Result, anyhow, bail};
use clap::ValueEnum;
use drx_config::Config;
use drx_journal::{
    Durability, Effect, FileOrganization, Locator, NewEntry, RecordChange, RecordOp, Writer,
    WriterConfig,
};
use drx_mirror::{
    LinkError, LinkState, PrimarySettings, Role, Secret, StandbySettings, StatusBoard, primary,
    standby,
};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The size of a record in the first figure.
const RECORD_LEN: usize = 200;
/// The size of a write in the big-file figure.
const BIG_WRITE: usize = 64 * 1024;
/// The shared secret of the bench's link.
const SECRET: &str = "the drx bench mirror shared secret";
/// How long the link may take to connect.
const CONNECT_PATIENCE: Duration = Duration::from_secs(30);
/// How long one sync commit may wait for its acknowledgement.
const COMMIT_PATIENCE: Duration = Duration::from_secs(30);
/// A megabyte, for rates (10^6 bytes).
const MB: f64 = 1e6;

/// One part of `drx bench mirror`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// Async, 200-byte records.
    Records,
    /// Async, 64 KiB writes of a big file, and the rsync anchor.
    Big,
    /// Replication lag at a steady rate.
    Lag,
    /// Sync-mode commit latency.
    Sync,
}

/// What `drx bench mirror` measures.
#[derive(Debug, Clone)]
pub struct MirrorBench {
    /// Entries of 200-byte records.
    pub entries: u64,
    /// MiB of the big file.
    pub big_mib: u64,
    /// Seconds of the steady-rate lag measurement.
    pub lag_secs: u64,
    /// Entries per second of the lag measurement.
    pub lag_rate: u64,
    /// Sync commits, one at a time.
    pub sync_commits: u64,
    /// The most entries in one `Entries` frame.
    pub batch_entries: usize,
    /// The most bytes of entries in one `Entries` frame.
    pub batch_bytes: usize,
    /// 200-byte entries without the record meaning.
    pub effect_only: bool,
    /// Do not run the rsync anchor.
    pub skip_rsync: bool,
    /// Only these parts (all when empty).
    pub only: Vec<Part>,
    /// Where to work (default: a new directory under the system's temp dir).
    pub dir: Option<PathBuf>,
}

impl MirrorBench {
    fn runs(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

/// Runs `drx bench mirror`.
pub fn run(b: &MirrorBench) -> Result<()> {
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("drx-bench-mirror")
        .build()
        .context("starting the tokio runtime")?;
    println!(
        "drx bench mirror: primary → standby on 127.0.0.1 (both in this process), {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  batches of at most {} entries / {} bytes; the standby fsyncs its journal and replicas before each Ack; MB = 10^6 bytes",
        b.batch_entries, b.batch_bytes
    );
    if b.runs(Part::Records) {
        records(&rt, &dir, b)?;
    }
    if b.runs(Part::Big) {
        big(&rt, &dir, b)?;
    }
    if b.runs(Part::Lag) {
        lag(&rt, &dir, b)?;
    }
    if b.runs(Part::Sync) {
        sync_commits(&rt, &dir, b)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------
// The nodes and the link.

/// One measurement's home: the primary's journal (`journal/`) and files
/// (`primary/`), the standby's journal (`standby_journal/`), replica root
/// (`standby/`) and state (`replica_state/`), all fresh.
struct Node {
    config: Config,
}

impl Node {
    fn new(dir: &Path, name: &str) -> Result<Node> {
        let home = dir.join(name);
        if home.exists() {
            std::fs::remove_dir_all(&home).with_context(|| format!("{}", home.display()))?;
        }
        std::fs::create_dir_all(home.join("primary"))
            .with_context(|| format!("{}", home.display()))?;
        std::fs::write(home.join("secret"), SECRET)?;
        // The address is the listener's, set when the link starts.
        let text = "[global_settings]\ntcp_host = \"127.0.0.1\"\ntcp_port = 1\n\
             [mirror]\nnode_id = \"bench\"\nsecret_file = \"secret\"\n\
             replica_roots = [\"standby\"]\nstandby_journal_dir = \"standby_journal\"\n";
        let config = Config::parse("drx.toml", text, &home)?;
        Ok(Node { config })
    }

    fn home(&self) -> &Path {
        &self.config.home
    }

    fn journal_dir(&self) -> PathBuf {
        self.config.journal.dir.clone()
    }

    /// A primary file of this home (its journal path).
    fn primary_file(&self, name: &str) -> PathBuf {
        self.home().join("primary").join(name)
    }

    /// Where the standby keeps the replica of `file`.
    fn replica_of(&self, file: &Path) -> PathBuf {
        let below = file.strip_prefix("/").unwrap_or(file);
        self.home().join("standby").join(below)
    }
}

/// A primary and a standby, linked on 127.0.0.1.
struct Link {
    primary_status: StatusBoard,
    stop_primary: Option<oneshot::Sender<()>>,
    stop_standby: Option<oneshot::Sender<()>>,
    primary: JoinHandle<Result<(), LinkError>>,
    standby: JoinHandle<Result<(), LinkError>>,
}

impl Link {
    /// Starts the standby on a free port, then the primary.
    fn start(rt: &Runtime, node: &Node, b: &MirrorBench) -> Result<Link> {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .context("binding the standby's listener on 127.0.0.1")?;
        let address: SocketAddr = listener.local_addr()?;
        let secret = Secret::new(SECRET.as_bytes()).map_err(|e| anyhow!("the secret: {e}"))?;

        let mut s = StandbySettings::from_config(&node.config)?;
        s.node_id = "standby".into();
        s.primary_node_id = Some("primary".into());
        s.secret = secret.clone();
        s.status = StatusBoard::new(Role::Standby, "standby");

        let mut p = PrimarySettings::from_config(&node.config)?;
        p.node_id = "primary".into();
        p.standby_node_id = Some("standby".into());
        p.secret = secret;
        p.address = address.to_string();
        p.keep_trying = false;
        p.max_batch_entries = b.batch_entries;
        p.max_batch_bytes = b.batch_bytes;
        p.status = StatusBoard::new(Role::Primary, "primary");
        let primary_status = p.status.clone();

        let (stop_standby, stopped) = oneshot::channel::<()>();
        let standby = rt.spawn(standby::run(listener, s, stopped));
        let (stop_primary, stopped) = oneshot::channel::<()>();
        let primary = rt.spawn(primary::run(p, stopped));
        Ok(Link {
            primary_status,
            stop_primary: Some(stop_primary),
            stop_standby: Some(stop_standby),
            primary,
            standby,
        })
    }

    /// Fails when either server has ended (it should run until stopped).
    fn check_running(&self) -> Result<()> {
        if self.primary.is_finished() || self.standby.is_finished() {
            let status = self.primary_status.snapshot();
            bail!(
                "a mirroring server stopped during the bench (primary state {:?}, last error: {})",
                status.state,
                status.last_error.as_deref().unwrap_or("none")
            );
        }
        Ok(())
    }

    /// Waits until the link streams.
    fn streaming(&self, rt: &Runtime) -> Result<()> {
        let mut rx = self.primary_status.subscribe();
        let waited = rt.block_on(async {
            tokio::time::timeout(
                CONNECT_PATIENCE,
                rx.wait_for(|s| s.state == LinkState::Streaming),
            )
            .await
            .map(|r| r.is_ok())
        });
        if waited != Ok(true) {
            self.check_running()?;
            bail!(
                "the link did not connect within {CONNECT_PATIENCE:?}: {:?}",
                self.primary_status.snapshot()
            );
        }
        Ok(())
    }

    /// Waits until the standby acknowledged `seq`, failing if a server
    /// stops or nothing is acknowledged for `patience`.
    fn acked(&self, seq: u64, patience: Duration) -> Result<()> {
        let acked = self.primary_status.acked();
        let mut last = (acked.get(), Instant::now());
        while !acked.wait_blocking(seq, Duration::from_millis(200)) {
            self.check_running()?;
            let now = acked.get();
            if now > last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() > patience {
                bail!(
                    "the standby acknowledged nothing for {patience:?} (at seq {now} of {seq}): {:?}",
                    self.primary_status.snapshot()
                );
            }
        }
        Ok(())
    }

    /// Stops the primary, then the standby; their results.
    fn stop(mut self, rt: &Runtime) -> Result<()> {
        if let Some(stop) = self.stop_primary.take() {
            let _ = stop.send(());
        }
        let primary = rt.block_on(self.primary);
        if let Some(stop) = self.stop_standby.take() {
            let _ = stop.send(());
        }
        let standby = rt.block_on(self.standby);
        primary.context("the primary's task")??;
        standby.context("the standby's task")??;
        Ok(())
    }
}

/// A journal writer for preparing the primary's journal (no fsync: only
/// the link is measured).
fn prepare_writer(node: &Node) -> Result<Writer> {
    Ok(Writer::open(WriterConfig {
        durability: Durability::None,
        ..WriterConfig::new(node.journal_dir())
    })?)
}

/// Asks the OS to write back dirty pages, so that the preparation's
/// writeback does not run during a measurement (best effort).
fn settle() {
    let _ = Command::new("sync").status();
}

/// blake3 of a file.
fn hash_file(path: &Path) -> Result<blake3::Hash> {
    let mut file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize())
}

/// Checks the replica of `file` against the hash of what was written.
fn check_replica(node: &Node, file: &Path, expected: &blake3::Hash, len: u64) -> Result<()> {
    let replica = node.replica_of(file);
    let actual_len = std::fs::metadata(&replica)
        .with_context(|| format!("the replica {}", replica.display()))?
        .len();
    if actual_len != len {
        bail!(
            "the replica {} has {actual_len} bytes, the primary file {len}",
            replica.display()
        );
    }
    if hash_file(&replica)? != *expected {
        bail!(
            "the replica {} differs from the primary file (blake3)",
            replica.display()
        );
    }
    Ok(())
}

/// What streaming a prepared journal took.
struct Streamed {
    secs: f64,
    wire_bytes: u64,
}

/// Streams the prepared journal of `node` (last seq `last`) to a fresh
/// standby: from the start of the primary until `last` is acknowledged.
fn stream(rt: &Runtime, node: &Node, b: &MirrorBench, last: u64) -> Result<Streamed> {
    settle();
    let link = Link::start(rt, node, b)?;
    let started = Instant::now();
    link.acked(last, Duration::from_secs(60))?;
    let secs = started.elapsed().as_secs_f64();
    let wire_bytes = link.primary_status.snapshot().counters.bytes;
    link.stop(rt)?;
    Ok(Streamed { secs, wire_bytes })
}

// ---------------------------------------------------------------------
// 1. 200-byte records.

/// The bytes of record `i`: its number, then a letter.
fn record(i: u64, out: &mut [u8; RECORD_LEN]) {
    out.fill(b'a' + (i % 26) as u8);
    out[..8].copy_from_slice(&i.to_le_bytes());
}

fn records(rt: &Runtime, dir: &Path, b: &MirrorBench) -> Result<()> {
    let node = Node::new(dir, "records")?;
    let file = node.primary_file("records.dat");
    let name = file.to_string_lossy().into_owned();
    let mut writer = prepare_writer(&node)?;
    let mut hasher = blake3::Hasher::new();
    let mut data = [0u8; RECORD_LEN];
    let mut last = 0;
    for i in 0..b.entries {
        record(i, &mut data);
        hasher.update(&data);
        last = writer.append(&NewEntry {
            txn: 0,
            process: "bench",
            file: &name,
            effect: Effect::Write {
                offset: i * RECORD_LEN as u64,
                data: &data,
            },
            record: (!b.effect_only).then_some(RecordChange {
                op: RecordOp::Insert,
                locator: Locator::RecNo(i),
                before: None,
                after: Some(&data),
            }),
        })?;
    }
    writer.close()?;
    if last == 0 {
        bail!("--entries must be at least 1");
    }
    let s = stream(rt, &node, b, last)?;
    check_replica(
        &node,
        &file,
        &hasher.finalize(),
        b.entries * RECORD_LEN as u64,
    )?;
    let what = if b.effect_only {
        "Write effect only"
    } else {
        "Write effect + record meaning, as capture journals them"
    };
    println!(
        "async, 200-byte records:       {:>9} entries in {:>6.2} s {:>12.0} entries/s {:>8.1} MB/s of records ({:.1} MB/s on the wire; {what}); replica checked (blake3)",
        b.entries,
        s.secs,
        b.entries as f64 / s.secs,
        (b.entries * RECORD_LEN as u64) as f64 / MB / s.secs,
        s.wire_bytes as f64 / MB / s.secs,
    );
    std::fs::remove_dir_all(node.home())?;
    Ok(())
}

// ---------------------------------------------------------------------
// 2. The big file, 64 KiB writes, against rsync.

/// A fast deterministic generator of incompressible bytes (xorshift64*).
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

fn big(rt: &Runtime, dir: &Path, b: &MirrorBench) -> Result<()> {
    if b.big_mib == 0 {
        bail!("--big-mib must be at least 1");
    }
    let node = Node::new(dir, "big")?;
    let file = node.primary_file("big.dat");
    let name = file.to_string_lossy().into_owned();
    let len = b.big_mib * 1024 * 1024;
    // The primary file (the rsync source) and its journal, written together.
    let mut source = std::fs::File::create(&file)?;
    let mut writer = prepare_writer(&node)?;
    writer.append(&NewEntry {
        txn: 0,
        process: "bench",
        file: &name,
        effect: Effect::Create {
            organization: FileOrganization::Sequential,
            record_len: 0,
        },
        record: None,
    })?;
    let mut hasher = blake3::Hasher::new();
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut buf = vec![0u8; BIG_WRITE];
    let mut offset = 0;
    let mut last = 0;
    while offset < len {
        noise.fill(&mut buf);
        source.write_all(&buf)?;
        hasher.update(&buf);
        last = writer.append(&NewEntry {
            txn: 0,
            process: "bench",
            file: &name,
            effect: Effect::Write { offset, data: &buf },
            record: None,
        })?;
        offset += BIG_WRITE as u64;
    }
    writer.close()?;
    source.sync_all()?;
    drop(source);
    let writes = last - 1;

    let s = stream(rt, &node, b, last)?;
    check_replica(&node, &file, &hasher.finalize(), len)?;
    let drx_rate = len as f64 / MB / s.secs;
    println!(
        "async, 64 KiB writes:          {:>9} entries in {:>6.2} s {:>12.0} entries/s {:>8.1} MB/s ({:.1} MB/s on the wire); replica checked (blake3)",
        writes,
        s.secs,
        writes as f64 / s.secs,
        drx_rate,
        s.wire_bytes as f64 / MB / s.secs,
    );
    println!(
        "fresh standby to a {} MiB file: drx {:.2} s",
        b.big_mib, s.secs
    );
    if b.skip_rsync {
        println!("anchor: rsync skipped (--skip-rsync)");
    } else {
        match rsync_anchor(dir, &file, len)? {
            Some(anchor) => {
                println!(
                    "anchor: rsync to rsync://127.0.0.1 {:>8.2} s {:>8.1} MB/s (with --fsync: {:.2} s, {:.1} MB/s)",
                    anchor.plain,
                    len as f64 / MB / anchor.plain,
                    anchor.fsync,
                    len as f64 / MB / anchor.fsync
                );
                println!(
                    "ratio drx/rsync ({} MiB, rate): {:.2} (against rsync --fsync: {:.2})",
                    b.big_mib,
                    anchor.plain / s.secs,
                    anchor.fsync / s.secs
                );
            }
            None => println!(
                "anchor: rsync not found on PATH; install it (apt-get install rsync) to compare"
            ),
        }
    }
    std::fs::remove_dir_all(node.home())?;
    Ok(())
}

/// The anchor's times, in seconds.
struct Anchor {
    /// `rsync FILE rsync://…/` as it comes.
    plain: f64,
    /// The same with `--fsync` (the receiver fsyncs the file, as the
    /// standby does).
    fsync: f64,
}

/// An `rsync --daemon` killed (and reaped) on drop, whatever happens.
/// Pushes `file` to an `rsync --daemon` on 127.0.0.1 of a fresh module,
/// twice (as it comes, then with `--fsync`); `None` when rsync is missing.
fn rsync_anchor(dir: &Path, file: &Path, len: u64) -> Result<Option<Anchor>> {
    let dest = dir.join("rsync_dest");
    let fresh_dest = || -> Result<()> {
        if dest.exists() {
            std::fs::remove_dir_all(&dest)?;
        }
        std::fs::create_dir_all(&dest)?;
        Ok(())
    };
    fresh_dest()?;
    let Some(daemon) = crate::bench_support::RsyncDaemon::start(dir, &dest)? else {
        return Ok(None);
    };
    let name = file.file_name().unwrap_or_default();
    let push = |extra: &[&str]| -> Result<f64> {
        fresh_dest()?;
        settle();
        let secs = daemon.push(file, extra)?;
        let copied = std::fs::metadata(dest.join(name))?.len();
        if copied != len {
            bail!("rsync copied {copied} bytes of {len}");
        }
        Ok(secs)
    };
    let plain = push(&[])?;
    let fsync = push(&["--fsync"])?;
    drop(daemon);
    std::fs::remove_dir_all(&dest)?;
    Ok(Some(Anchor { plain, fsync }))
}

// ---------------------------------------------------------------------
// 3. Lag at a steady rate; 4. sync commits.

/// A writer on the primary's journal as an application has it (group
/// commit every 1,000 entries or 10 ms).
fn app_writer(node: &Node) -> Result<Writer> {
    Ok(Writer::open(WriterConfig::new(node.journal_dir()))?)
}

/// The 200-byte record entry `i` of `file`.
fn insert<'a>(file: &'a str, i: u64, data: &'a [u8; RECORD_LEN]) -> NewEntry<'a> {
    NewEntry {
        txn: 0,
        process: "bench",
        file,
        effect: Effect::Write {
            offset: i * RECORD_LEN as u64,
            data,
        },
        record: Some(RecordChange {
            op: RecordOp::Insert,
            locator: Locator::RecNo(i),
            before: None,
            after: Some(data),
        }),
    }
}

/// p50, p99 and max of `samples`, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort_unstable();
    let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
    let at = |p: usize| samples.len().saturating_sub(1).min(samples.len() * p / 100);
    (
        ms(samples.get(at(50))),
        ms(samples.get(at(99))),
        ms(samples.last()),
    )
}

fn lag(rt: &Runtime, dir: &Path, b: &MirrorBench) -> Result<()> {
    let total = b.lag_rate * b.lag_secs;
    if total == 0 {
        bail!("--lag-rate and --lag-secs must be at least 1");
    }
    let node = Node::new(dir, "lag")?;
    let file = node.primary_file("lag.dat");
    let name = file.to_string_lossy().into_owned();
    let mut writer = app_writer(&node)?;
    let link = Link::start(rt, &node, b)?;
    link.streaming(rt)?;

    // Every advance of the acknowledged seq, with the time it was seen,
    // until the last seq (sent once the writer is done) has been seen.
    let mut acks_rx = link.primary_status.acked().subscribe();
    let (last_tx, mut last_rx) = oneshot::channel::<u64>();
    let watcher = rt.spawn(async move {
        let mut seen: Vec<(u64, Instant)> = Vec::new();
        let mut last = None;
        loop {
            tokio::select! {
                biased;
                changed = acks_rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let seq = *acks_rx.borrow_and_update();
                    seen.push((seq, Instant::now()));
                }
                target = &mut last_rx, if last.is_none() => match target {
                    Ok(target) => last = Some(target),
                    Err(_) => break,
                },
            }
            if let (Some(target), Some((seq, _))) = (last, seen.last())
                && *seq >= target
            {
                break;
            }
        }
        seen
    });

    // The application: `lag_rate` entries per second, each written to the
    // OS when due (the loop wakes about every 100 µs).
    let mut appended: Vec<Instant> = Vec::with_capacity(total as usize);
    let mut data = [0u8; RECORD_LEN];
    let started = Instant::now();
    let mut first_seq = 0;
    while (appended.len() as u64) < total {
        let due = ((started.elapsed().as_secs_f64() * b.lag_rate as f64) as u64 + 1).min(total);
        let done = appended.len() as u64;
        if due > done {
            for i in done..due {
                record(i, &mut data);
                let seq = writer.append(&insert(&name, i, &data))?;
                if i == 0 {
                    first_seq = seq;
                }
            }
            writer.flush()?;
            let now = Instant::now();
            appended.resize(due as usize, now);
        } else {
            std::thread::sleep(Duration::from_micros(100));
        }
        if started.elapsed() > Duration::from_secs(b.lag_secs * 3 + 10) {
            bail!("the writer fell behind its rate: {done} of {total} entries");
        }
    }
    let wrote_secs = started.elapsed().as_secs_f64();
    let last_seq = first_seq + total - 1;
    link.acked(last_seq, Duration::from_secs(60))?;
    let _ = last_tx.send(last_seq);
    let seen = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), watcher).await })
        .context("the ack watcher did not see the last acknowledgement")?
        .context("the ack watcher")?;
    writer.close()?;
    link.stop(rt)?;

    // Each entry's lag: the first ack covering its seq minus its append.
    let mut lags = Vec::with_capacity(appended.len());
    let mut acks = seen.iter().peekable();
    for (i, at) in appended.iter().enumerate() {
        let seq = first_seq + i as u64;
        while acks.peek().is_some_and(|(acked, _)| *acked < seq) {
            acks.next();
        }
        let Some((_, acked_at)) = acks.peek() else {
            bail!("no acknowledgement seen for seq {seq}");
        };
        lags.push(acked_at.saturating_duration_since(*at));
    }
    let (p50, p99, max) = percentiles(&mut lags);
    println!(
        "lag at {} entries/s for {} s ({total} entries, {:.0}/s achieved): p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.2} ms",
        b.lag_rate,
        b.lag_secs,
        total as f64 / wrote_secs
    );
    std::fs::remove_dir_all(node.home())?;
    Ok(())
}

fn sync_commits(rt: &Runtime, dir: &Path, b: &MirrorBench) -> Result<()> {
    if b.sync_commits == 0 {
        bail!("--sync-commits must be at least 1");
    }
    let node = Node::new(dir, "sync")?;
    let file = node.primary_file("sync.dat");
    let name = file.to_string_lossy().into_owned();
    let mut writer = app_writer(&node)?;
    let link = Link::start(rt, &node, b)?;
    link.streaming(rt)?;
    let acked = link.primary_status.acked().clone();
    let wake = link.primary_status.journal_wake().clone();
    let mut latencies = Vec::with_capacity(b.sync_commits as usize);
    let mut data = [0u8; RECORD_LEN];
    let started = Instant::now();
    for i in 0..b.sync_commits {
        record(i, &mut data);
        let t = Instant::now();
        let seq = writer.append(&insert(&name, i, &data))?;
        writer.flush()?;
        // What the primary server does on a sync commit's request (its
        // commit socket): the feed looks at the journal now.
        wake.notify();
        if !acked.wait_blocking(seq, COMMIT_PATIENCE) {
            link.check_running()?;
            bail!("sync commit of seq {seq} not acknowledged within {COMMIT_PATIENCE:?}");
        }
        latencies.push(t.elapsed());
    }
    let secs = started.elapsed().as_secs_f64();
    writer.close()?;
    link.stop(rt)?;
    let (p50, p99, max) = percentiles(&mut latencies);
    println!(
        "sync commits, one at a time ({} commits, {:.0} commits/s): p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.2} ms",
        b.sync_commits,
        b.sync_commits as f64 / secs
    );
    std::fs::remove_dir_all(node.home())?;
    Ok(())
}
