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
