//! `drx bench sync`: delta resync (issue 6) against rsync, same data, same
//! changes, same run, on 127.0.0.1.
//!
//! A file of `--size-mib` MiB of pseudo-random bytes is written on a
//! primary home and copied, as it is, to the standby's replica and to an
//! `rsync --daemon` module's directory. Then `--changed-pct` % of its
//! 64 KiB blocks, spread over the file, get 100 new bytes each, on the
//! primary only. Both tools then bring their copy to the changed file:
//!
//! * `drx sync FILE` (a real process) to a `drx mirror standby` (a real
//!   process) on 127.0.0.1;
//! * `rsync --no-whole-file --inplace FILE rsync://127.0.0.1:PORT/…/`
//!   (delta mode, updating the file in place).
//!
//! Both copies are checked byte for byte against the primary's file, and
//! the times and their ratio are printed (the target: drx ≤ 0.5 × rsync).

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `drx bench sync` measures.
#[derive(Debug, Clone)]
pub struct SyncBench {
    /// MiB of the file.
    pub size_mib: u64,
    /// Percent of its 64 KiB blocks changed.
    pub changed_pct: f64,
    /// Do not run the rsync anchor.
    pub skip_rsync: bool,
    /// Where to work (default: a new directory under the temp dir).
    pub dir: Option<PathBuf>,
}

const SECRET: &str = "a shared secret of the sync bench";
const FILE: &str = "big.dat";
/// The granularity of the changes.
const CHANGE_BLOCK: u64 = 64 * 1024;

/// Runs the bench; prints the figures.
pub fn run(b: &SyncBench) -> Result<()> {
    let dir = match &b.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("drx-bench-sync-{}", std::process::id())),
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| dir.display().to_string())?;
    }
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let dir = std::fs::canonicalize(&dir)?;
    let result = measure(&dir, b);
    if result.is_ok() && b.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn measure(dir: &Path, b: &SyncBench) -> Result<()> {
    let len = b.size_mib * 1024 * 1024;
    let port = crate::bench_support::free_port()?;
    let prim = dir.join("prim");
    let stby = dir.join("stby");
    home(&prim, "prim", port)?;
    home(&stby, "stby", port)?;
    // The primary's journal exists (a primary host has one).
    drx_journal::Writer::open(drx_journal::WriterConfig::new(prim.join("journal")))?.close()?;

    let source = prim.join(FILE);
    println!(
        "sync bench: {} MiB file, {} % of its 64 KiB blocks changed, in {}",
        b.size_mib,
        b.changed_pct,
        dir.display()
    );
    write_noise(&source, len, 0x5eed)?;
    let replica = stby
        .join("replicas")
        .join(source.strip_prefix("/").unwrap_or(&source));
    let rsync_dest = dir.join("rsync_dest");
    for copy in [&replica, &rsync_dest.join(FILE)] {
        if let Some(parent) = copy.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&source, copy).with_context(|| copy.display().to_string())?;
        // A copy from an hour ago: rsync's quick check (size and time)
        // does not take it for up to date.
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(copy)?
            .set_modified(hour_ago)?;
    }
    let changed = change_blocks(&source, len, b.changed_pct)?;
    println!(
        "changed {changed} of {} blocks of 64 KiB on the primary",
        len.div_ceil(CHANGE_BLOCK)
    );
    settle();

    // drx: a standby server, then `drx sync`.
    let server = Process(
        drx(&stby, &["-v", "mirror", "standby"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(stby.join("standby.log"))?)
            .spawn()
            .context("starting drx mirror standby")?,
    );
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    wait_listening(address, "drx mirror standby")?;
    let started = Instant::now();
    let out = drx(&prim, &["sync", FILE])
        .output()
        .context("running drx sync")?;
    let drx_secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "drx sync failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    drop(server);
    let report = String::from_utf8_lossy(&out.stdout);
    let line = report.lines().next().unwrap_or_default();
    check_same(&source, &replica, "the standby's replica")?;
    println!("drx sync       {drx_secs:>8.2} s   {line}");

    if b.skip_rsync {
        println!("anchor: rsync skipped (--skip-rsync)");
        return Ok(());
    }
    let Some(rsync_secs) = rsync(dir, &source, &rsync_dest)? else {
        println!("anchor: rsync not found on PATH; install it to compare");
        return Ok(());
    };
    check_same(&source, &rsync_dest.join(FILE), "rsync's copy")?;
    println!("rsync (delta)  {rsync_secs:>8.2} s   --no-whole-file --inplace to rsync://127.0.0.1");
    println!(
        "ratio drx/rsync: {:.2} (target <= 0.5)",
        drx_secs / rsync_secs
    );
    Ok(())
}

/// A home linked on 127.0.0.1:`port` as `node`, `big.dat` critical,
/// replicas under `replicas/`.
fn home(home: &Path, node: &str, port: u16) -> Result<()> {
    std::fs::create_dir_all(home.join("replicas"))?;
    std::fs::write(home.join("secret"), SECRET)?;
    std::fs::write(
        home.join("drx.toml"),
        format!(
            r#"[global_settings]
tcp_host = "127.0.0.1"
tcp_port = {port}

[journal]
dir = "journal"

[[files]]
record_type = "include"
process_name = "*"
source_path = "{FILE}"

[mirror]
node_id = "{node}"
secret_file = "secret"
replica_roots = ["replicas"]
"#
        ),
    )?;
    Ok(())
}

fn drx(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap_or_else(|_| "drx".into()));
    cmd.arg("--home")
        .arg(home)
        .args(args)
        .current_dir(home)
        .env_remove("DRX_HOME")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// `len` pseudo-random bytes (xorshift) in `path`.
fn write_noise(path: &Path, len: u64, seed: u64) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(
        8 << 20,
        std::fs::File::create(path).with_context(|| path.display().to_string())?,
    );
    let mut x = seed | 1;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len()));
        out.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

/// Writes 100 new bytes into `pct` % of the 64 KiB blocks of `path`,
/// spread evenly; returns how many.
fn change_blocks(path: &Path, len: u64, pct: f64) -> Result<u64> {
    let blocks = len.div_ceil(CHANGE_BLOCK);
    let n = ((blocks as f64 * pct / 100.0).round() as u64).clamp(1, blocks);
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    let stride = blocks as f64 / n as f64;
    for i in 0..n {
        let block = (i as f64 * stride) as u64;
        let offset = block * CHANGE_BLOCK + (i * 4099) % (CHANGE_BLOCK - 100);
        let data: Vec<u8> = (0..100u64).map(|j| (i * 31 + j) as u8).collect();
        file.write_all_at(&data, offset.min(len.saturating_sub(100)))?;
    }
    file.sync_all()?;
    Ok(n)
}

/// Dirty pages written back, so that neither tool pays for the other's.
fn settle() {
    let _ = Command::new("sync").status();
}

fn check_same(a: &Path, b: &Path, what: &str) -> Result<()> {
    let hash = |p: &Path| -> Result<blake3::Hash> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(std::fs::File::open(p).with_context(|| p.display().to_string())?)?;
        Ok(hasher.finalize())
    };
    if hash(a)? != hash(b)? {
        bail!("{what} ({}) differs from {}", b.display(), a.display());
    }
    Ok(())
}

/// A child process killed (and reaped) on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(address: SocketAddr, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if Instant::now() >= deadline {
            bail!("{what} did not listen on {address} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// `rsync --no-whole-file --inplace` of `source` to a daemon serving
/// `dest`; its time, or `None` without rsync.
fn rsync(dir: &Path, source: &Path, dest: &Path) -> Result<Option<f64>> {
    let Some(daemon) = crate::bench_support::RsyncDaemon::start(dir, dest)? else {
        return Ok(None);
    };
    Ok(Some(
        daemon.push(source, &["--no-whole-file", "--inplace"])?,
    ))
}
