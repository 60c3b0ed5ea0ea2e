//! A primary and a standby home linked on 127.0.0.1, and their servers
//! (`drx mirror primary|standby`) as real processes.

use super::{Home, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// The shared secret of the test links.
pub const SECRET: &str = "a shared secret of the test link";

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A home of the sample whose server links to `127.0.0.1:port` (a standby
/// listens there, a primary connects there) as `node`, with the shared
/// secret, replicas under `replicas/`, and `mirror` appended to its
/// `[mirror]` section.
pub fn link_home(port: u16, node: &str, mirror: &str) -> Home {
    let home = Home::sample();
    home.write("secret", SECRET);
    home.edit_config(
        "replace_special_chars = true",
        &format!(
            "replace_special_chars = true\ntcp_host = \"127.0.0.1\"\ntcp_port = {port}\nprimary_call_timeout = 1"
        ),
    );
    home.append_config(&format!(
        "\n[mirror]\nnode_id = \"{node}\"\nsecret_file = \"secret\"\nreplica_roots = [\"replicas\"]\n{mirror}\n"
    ));
    home
}

/// A primary home ("prim") and a standby home ("stby") linked on `port`,
/// heartbeats every 200 ms; `extra` is appended to both `[mirror]`
/// sections (e.g. `commit = "sync"`).
pub fn pair_with(port: u16, extra: &str) -> (Home, Home) {
    let mirror = format!("heartbeat_ms = 200\n{extra}");
    (
        link_home(port, "prim", &mirror),
        link_home(port, "stby", &mirror),
    )
}

/// [`pair_with`] and nothing extra.
pub fn pair(port: u16) -> (Home, Home) {
    pair_with(port, "")
}

/// Starts `drx -v mirror <role>` in `home`, its stderr to `<role>.log`.
pub fn start(home: &Home, role: &str) -> Child {
    let log = std::fs::File::create(home.join(&format!("{role}.log"))).unwrap();
    home.command(&["-v", "mirror", role])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Where the standby keeps the replica of the primary's `path`.
pub fn replica_of(standby: &Home, path: &Path) -> PathBuf {
    standby
        .join("replicas")
        .join(path.strip_prefix("/").unwrap())
}

/// Whether the replica of the primary's `name` equals it now.
pub fn identical(primary: &Home, standby: &Home, name: &str) -> bool {
    let source = std::fs::canonicalize(primary.join(name)).unwrap();
    match (
        std::fs::read(&source),
        std::fs::read(replica_of(standby, &source)),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Waits (at most a minute) until the replica of error_codes.data equals
/// the primary's file.
pub fn caught_up(primary: &Home, standby: &Home) -> bool {
    wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        identical(primary, standby, "error_codes.data")
    })
}

/// Stops a server with SIGTERM (SIGKILL after 20 s).
pub fn stop(mut child: Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let ok = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        child.try_wait().unwrap().is_some()
    });
    if !ok {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// A server process (`drx mirror <role>`), stopped (SIGTERM, then
/// SIGKILL) when dropped, also when a failed assertion unwinds the test.
pub struct Server(Option<Child>);

impl Server {
    /// Starts `drx -v mirror <role>` in `home` ([`start`]).
    pub fn start(home: &Home, role: &str) -> Server {
        Server(Some(start(home, role)))
    }

    /// Starts the standby server of `home` and waits (at most 30 s) until
    /// it listens.
    pub fn standby(home: &Home) -> Server {
        let server = Server::start(home, "standby");
        // The standby module's line, once its socket is bound (the
        // service's own line comes first).
        let listening = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
            std::fs::read_to_string(home.join("standby.log")).is_ok_and(|log| {
                log.lines()
                    .any(|l| l.contains("drx_mirror::standby") && l.contains("standby listening"))
            })
        });
        assert!(listening, "the standby server does not listen");
        server
    }

    /// SIGKILL, and waits for the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            stop(child);
        }
    }
}

/// Both servers' logs, for assertion messages.
pub fn logs(primary: &Home, standby: &Home) -> String {
    let read = |h: &Home, f: &str| std::fs::read_to_string(h.join(f)).unwrap_or_default();
    format!(
        "primary log:\n{}\nstandby log:\n{}",
        read(primary, "primary.log"),
        read(standby, "standby.log")
    )
}

/// The application's file of a [`symmetric_pair`] node, in its home.
pub const SYMMETRIC_DATA: &str = "data/error_codes.data";

/// Two nodes for failover and failback, each with its application's file
/// in `data/` ([`SYMMETRIC_DATA`]), each mapping the other's file onto its
/// own (so either may be the standby), `prim` listening at its own port
/// once it becomes a standby; `mirror` is added to both `[mirror]`
/// sections.
pub fn symmetric_pair(mirror: &str) -> (Home, Home) {
    let link = free_port();
    let prim_listen = free_port();
    let prim = link_home(
        link,
        "prim",
        &format!("{mirror}\nlisten = \"127.0.0.1:{prim_listen}\""),
    );
    let stby = link_home(
        link,
        "stby",
        &format!("{mirror}\npeer = \"127.0.0.1:{prim_listen}\""),
    );
    for (home, other) in [(&prim, &stby), (&stby, &prim)] {
        std::fs::create_dir_all(home.join("data")).unwrap();
        home.edit_config(
            "replica_roots = [\"replicas\"]",
            "replica_roots = [\"data\"]",
        );
        home.edit_config(
            "source_path = \"error_codes.data\"",
            &format!("source_path = \"{SYMMETRIC_DATA}\""),
        );
        let others = std::fs::canonicalize(other.path())
            .unwrap()
            .join(SYMMETRIC_DATA);
        home.append_config(&format!(
            "\n[[files]]\nrecord_type = \"include\"\nprocess_name = \"*\"\nsource_path = \"{}\"\ndestination_dir = \"data\"\nextractor_file_id = 200\n",
            others.display()
        ));
    }
    (prim, stby)
}

/// [`mixed_script`](super::mixed_script) on a [`symmetric_pair`] node's
/// file.
pub fn symmetric_script(keys: &mut Vec<i64>, n: usize, seed: u64) -> String {
    super::mixed_script(keys, n, seed).replace(
        "\"file\":\"error_codes.data\"",
        &format!("\"file\":\"{SYMMETRIC_DATA}\""),
    )
}

/// Whether the standby's replica of `data/` holds exactly the primary's
/// files, each byte-identical; else what differs.
pub fn data_mirrored(primary: &Home, standby: &Home) -> Result<usize, String> {
    let dir = std::fs::canonicalize(primary.join("data")).unwrap();
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let files = names(&dir);
    let replicas = names(&replica_of(standby, &dir));
    if files != replicas {
        return Err(format!("files {files:?}, replicas {replicas:?}"));
    }
    for name in &files {
        let path = dir.join(name);
        if std::fs::read(&path).unwrap() != std::fs::read(replica_of(standby, &path)).unwrap() {
            return Err(format!("{name} differs from its replica"));
        }
    }
    Ok(files.len())
}
