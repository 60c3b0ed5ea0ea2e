//! What the benches that run real processes and an rsync daemon share.

use anyhow::Result;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};

/// A child process killed and reaped when dropped (a daemon, a server).
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free on 127.0.0.1 just now.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The rsync binary: /usr/bin/rsync, else `rsync` on the PATH.
pub fn rsync_binary() -> Option<PathBuf> {
    let usual = PathBuf::from("/usr/bin/rsync");
    if usual.exists() {
        return Some(usual);
    }
    Command::new("rsync")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("rsync"))
}

/// This process's uid and gid (from /proc), for an rsync daemon's config:
/// as root, the daemon would otherwise switch to `nobody`.
pub fn ids() -> (String, String) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let first = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .map(str::to_owned)
    };
    (
        first("Uid:").unwrap_or_else(|| "0".into()),
        first("Gid:").unwrap_or_else(|| "0".into()),
    )
}

/// An `rsync --daemon` on 127.0.0.1 serving `dest` as module `drx_bench`
/// (its config and log in `dir`), listening once this returns; stopped
/// when dropped.
pub struct RsyncDaemon {
    /// The rsync binary, for the client.
    pub rsync: PathBuf,
    /// `rsync://127.0.0.1:PORT/drx_bench/`.
    pub url: String,
    _child: Reaped,
}

impl RsyncDaemon {
    /// `rsync EXTRA FILE rsync://…/drx_bench/`: its time in seconds (an
    /// error with rsync's own message when it fails).
    pub fn push(&self, file: &std::path::Path, extra: &[&str]) -> Result<f64> {
        use anyhow::{Context, bail};
        let started = std::time::Instant::now();
        let out = Command::new(&self.rsync)
            .args(extra)
            .arg(file)
            .arg(&self.url)
            .output()
            .context("running rsync")?;
        let secs = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "rsync {extra:?} {} {}: {}",
                file.display(),
                self.url,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(secs)
    }

    /// Starts it; `None` when rsync is not installed.
    pub fn start(dir: &std::path::Path, dest: &std::path::Path) -> Result<Option<RsyncDaemon>> {
        use anyhow::{Context, bail};
        use std::time::{Duration, Instant};
        let Some(rsync) = rsync_binary() else {
            return Ok(None);
        };
        let port = free_port()?;
        let (uid, gid) = ids();
        let conf = dir.join("rsyncd.conf");
        let log = dir.join("rsyncd.log");
        std::fs::write(
            &conf,
            format!(
                "use chroot = no\nuid = {uid}\ngid = {gid}\nlog file = {}\n\
                 [drx_bench]\npath = {}\nread only = no\n",
                log.display(),
                dest.display()
            ),
        )?;
        let mut child = Reaped(
            Command::new(&rsync)
                .args(["--daemon", "--no-detach", "--address", "127.0.0.1"])
                .arg(format!("--port={port}"))
                .arg(format!("--config={}", conf.display()))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .with_context(|| format!("starting {} --daemon", rsync.display()))?,
        );
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Some(status) = child.0.try_wait()? {
                bail!(
                    "rsync --daemon exited ({status}) before listening on port {port}; see {}",
                    log.display()
                );
            }
            if Instant::now() >= deadline {
                bail!("rsync --daemon did not listen on port {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Some(RsyncDaemon {
            rsync,
            url: format!("rsync://127.0.0.1:{port}/drx_bench/"),
            _child: child,
        }))
    }
}
