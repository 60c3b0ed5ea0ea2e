//! The settings of the primary and standby servers, and how they come
//! from `drx.toml`: `[mirror]` (node id, secret, replica roots, standby
//! journal, heartbeats) and the Control Table's `[global_settings]`
//! (`tcp_host`, `tcp_port`, `primary_call_timeout`, `keep_trying`,
//! `qmon_warn_at`); TLS from `[mirror] tls_cert`, `tls_key`, `tls_ca`.

use crate::error::LinkError;
use crate::protocol::{MAX_NODE_ID_LEN, Role, Secret};
use crate::replica::ReplicaConfig;
use crate::status::StatusBoard;
use crate::tls::{ClientTls, ServerTls};
use drx_config::{Config, ServerType};
use drx_journal::{Durability, WriterConfig};
use std::path::PathBuf;
use std::time::Duration;

/// The most entries in one `Entries` frame by default.
pub const DEFAULT_BATCH_ENTRIES: usize = 1_000;
/// The most bytes of entries in one `Entries` frame by default (a larger
/// entry travels alone).
pub const DEFAULT_BATCH_BYTES: usize = 1024 * 1024;

/// How often each side shows it is alive, and when the peer is taken for
/// gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeats {
    /// A side that has sent nothing for this long sends a `Heartbeat`.
    pub interval: Duration,
    /// A peer silent for this many intervals is gone: `Goodbye(Timeout)`,
    /// close (the primary reconnects).
    pub missed: u32,
    /// The whole handshake must complete within this time.
    pub handshake_timeout: Duration,
}

impl Heartbeats {
    /// From `[mirror] heartbeat_ms` and `missed_heartbeats`; the handshake
    /// gets the same dead interval, at least 5 seconds.
    pub fn from_config(config: &Config) -> Heartbeats {
        let interval = Duration::from_millis(config.mirror.heartbeat_ms.max(1));
        let missed = config.mirror.missed_heartbeats.max(1);
        Heartbeats {
            interval,
            missed,
            handshake_timeout: (interval * missed).max(Duration::from_secs(5)),
        }
    }

    /// How long a peer may stay silent.
    pub fn dead_after(&self) -> Duration {
        self.interval * self.missed
    }
}

/// The settings of [`standby::run`](crate::standby::run).
#[derive(Debug, Clone)]
pub struct StandbySettings {
    /// This node's id in the handshake.
    pub node_id: String,
    /// The shared secret.
    pub secret: Secret,
    /// The primary's node id, if only that one may connect (`None`: any
    /// primary that proves the secret).
    pub primary_node_id: Option<String>,
    /// Where and how the replica files are written.
    pub replica: ReplicaConfig,
    /// The standby's own journal, which receives the primary's entries (so
    /// that `drx extract` can run on the standby). It is synced after each
    /// batch, before the `Ack`.
    pub journal: WriterConfig,
    /// Heartbeats and timeouts.
    pub heartbeats: Heartbeats,
    /// TLS: `Some` makes every connection mutual TLS (the primary must
    /// present a certificate signed by `tls_ca`); `None`: plain TCP.
    pub tls: Option<ServerTls>,
    /// Log a file's operation counts when the application closes it (its
    /// close checksum arrives): the Control Table's
    /// `log_statistics_on_close`.
    pub log_statistics_on_close: bool,
    /// The replica files and their state are fsynced at least this often
    /// (the journal, before every `Ack`): `[mirror] replica_sync_ms`.
    pub replica_sync_every: Duration,
    /// Promote this node by itself once a primary that was connected has
    /// been silent this long (`None`: never): `[mirror]
    /// auto_promote_after_missed` heartbeat intervals.
    pub auto_promote_after: Option<Duration>,
    /// Kept up to date by the server.
    pub status: StatusBoard,
}

impl StandbySettings {
    /// The settings of `drx.toml`.
    pub fn from_config(config: &Config) -> Result<StandbySettings, LinkError> {
        let node_id = node_id(config)?;
        Ok(StandbySettings {
            status: StatusBoard::new(Role::Standby, node_id.clone()),
            node_id,
            secret: load_secret(config)?,
            primary_node_id: None,
            replica: ReplicaConfig::from_config(config),
            journal: standby_journal(config.mirror.standby_journal_dir.clone()),
            heartbeats: Heartbeats::from_config(config),
            tls: ServerTls::from_config(config)?,
            log_statistics_on_close: config.global_settings.log_statistics_on_close,
            replica_sync_every: Duration::from_millis(config.mirror.replica_sync_ms),
            auto_promote_after: match config.mirror.auto_promote_after_missed {
                0 => None,
                n => Some(Heartbeats::from_config(config).interval * n),
            },
        })
    }
}

/// The standby journal's writer settings for `dir`: it is synced after
/// every batch anyway; the group setting makes rolling to a new segment
/// durable too.
pub fn standby_journal(dir: PathBuf) -> WriterConfig {
    WriterConfig {
        durability: Durability::Group {
            max_entries: u32::MAX,
            max_delay: Duration::from_secs(1),
        },
        ..WriterConfig::new(dir)
    }
}

/// The settings of [`primary::run`](crate::primary::run).
#[derive(Debug, Clone)]
pub struct PrimarySettings {
    /// This node's id in the handshake.
    pub node_id: String,
    /// The shared secret.
    pub secret: Secret,
    /// The standby's node id, if only that one is accepted (`None`: any
    /// standby that proves the secret).
    pub standby_node_id: Option<String>,
    /// The standby's address, `host:port`.
    pub address: String,
    /// The journal to mirror.
    pub journal_dir: PathBuf,
    /// The standby's consumer name in the journal: its position follows
    /// the acknowledgements (throttled), so that retention keeps what the
    /// standby has not acknowledged. `None`: not registered.
    pub consumer: Option<String>,
    /// Wait this long between connection attempts.
    pub reconnect_interval: Duration,
    /// Reconnect after a failed attempt or a lost connection; if false, the
    /// first failure ends [`primary::run`](crate::primary::run).
    pub keep_trying: bool,
    /// Heartbeats and timeouts.
    pub heartbeats: Heartbeats,
    /// The most entries in one `Entries` frame.
    pub max_batch_entries: usize,
    /// The most bytes of entries in one `Entries` frame.
    pub max_batch_bytes: usize,
    /// Warn when this many entries are not yet acknowledged (0: never).
    pub warn_lag_entries: u64,
    /// TLS: `Some` connects with mutual TLS (the standby's certificate
    /// must be signed by `tls_ca` and name `tcp_host`); `None`: plain TCP.
    pub tls: Option<ClientTls>,
    /// A switchover under way (`drx switchover`, docs/DR.md).
    pub handover: std::sync::Arc<crate::switchover::Handover>,
    /// Kept up to date by the server.
    pub status: StatusBoard,
}

impl PrimarySettings {
    /// The consumer name the standby gets by default.
    pub const CONSUMER: &'static str = "mirror";

    /// The settings of `drx.toml`: the standby's address from
    /// `[global_settings] tcp_host`/`tcp_port` (or the `BACKUP` server
    /// record's), `primary_call_timeout` seconds between attempts,
    /// `keep_trying`, `qmon_warn_at`.
    pub fn from_config(config: &Config) -> Result<PrimarySettings, LinkError> {
        let node_id = node_id(config)?;
        let g = &config.global_settings;
        Ok(PrimarySettings {
            status: StatusBoard::new(Role::Primary, node_id.clone()),
            node_id,
            secret: load_secret(config)?,
            standby_node_id: None,
            address: peer_address(config)?,
            journal_dir: config.journal.dir.clone(),
            consumer: Some(PrimarySettings::CONSUMER.to_owned()),
            reconnect_interval: Duration::from_secs(u64::from(g.primary_call_timeout.max(1))),
            keep_trying: g.keep_trying,
            heartbeats: Heartbeats::from_config(config),
            max_batch_entries: DEFAULT_BATCH_ENTRIES,
            max_batch_bytes: DEFAULT_BATCH_BYTES,
            warn_lag_entries: g.qmon_warn_at,
            tls: ClientTls::from_config(config, &peer_host(config)?)?,
            handover: std::sync::Arc::new(crate::switchover::Handover::new(Some(
                ReplicaConfig::from_config(config),
            ))),
        })
    }
}

/// Where this node's primary connects: `[mirror] peer`, else
/// [`link_address`].
pub fn peer_address(config: &Config) -> Result<String, LinkError> {
    match &config.mirror.peer {
        Some(peer) => Ok(peer.clone()),
        None => link_address(config),
    }
}

/// The host of [`peer_address`]: the name the peer's TLS certificate must
/// carry.
pub fn peer_host(config: &Config) -> Result<String, LinkError> {
    match &config.mirror.peer {
        Some(peer) => match peer.rsplit_once(':') {
            Some((host, _)) => Ok(host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned()),
            None => Err(LinkError::Config(format!(
                "[mirror] peer = {peer:?} is not host:port"
            ))),
        },
        None => link_host(config),
    }
}

/// Where this node's standby server listens: `[mirror] listen`, else
/// [`link_address`].
pub fn listen_address(config: &Config) -> Result<String, LinkError> {
    match &config.mirror.listen {
        Some(listen) => Ok(listen.clone()),
        None => link_address(config),
    }
}

/// The mirroring link's address, `host:port`: where the standby listens and
/// the primary connects. `[global_settings] tcp_host` and `tcp_port`, else
/// those of the `BACKUP` server record.
pub fn link_address(config: &Config) -> Result<String, LinkError> {
    match link_host_port(config) {
        (Some(host), Some(port)) if host.contains(':') && !host.starts_with('[') => {
            Ok(format!("[{host}]:{port}"))
        }
        (Some(host), Some(port)) => Ok(format!("{host}:{port}")),
        _ => Err(no_address()),
    }
}

/// The standby's host as configured (`[global_settings] tcp_host`, else the
/// `BACKUP` server record's): the name its TLS certificate must carry.
pub fn link_host(config: &Config) -> Result<String, LinkError> {
    match link_host_port(config) {
        (Some(host), Some(_)) => Ok(host),
        _ => Err(no_address()),
    }
}

fn link_host_port(config: &Config) -> (Option<String>, Option<u16>) {
    let g = &config.global_settings;
    let backup = config
        .servers
        .iter()
        .find(|s| s.record_type == ServerType::Backup);
    let host = g
        .tcp_host
        .clone()
        .or_else(|| backup.and_then(|b| b.tcp_host.clone()));
    let port = g.tcp_port.or_else(|| backup.and_then(|b| b.tcp_port));
    (host, port)
}

fn no_address() -> LinkError {
    LinkError::Config("no standby address: set [global_settings] tcp_host and tcp_port".into())
}

/// This node's id: `[mirror] node_id`, else the host name.
pub fn node_id(config: &Config) -> Result<String, LinkError> {
    let id = match &config.mirror.node_id {
        Some(id) => id.clone(),
        None => host_name().ok_or_else(|| {
            LinkError::Config("no node id: set [mirror] node_id (the host name is unknown)".into())
        })?,
    };
    if id.is_empty() || id.len() > MAX_NODE_ID_LEN {
        return Err(LinkError::Config(format!(
            "[mirror] node_id must be 1 to {MAX_NODE_ID_LEN} bytes, it is {}",
            id.len()
        )));
    }
    Ok(id)
}

fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|s| !s.is_empty())
}

/// The shared secret: the environment variable `[mirror] secret_env`, else
/// the first line of `[mirror] secret_file`. Never logged.
pub fn load_secret(config: &Config) -> Result<Secret, LinkError> {
    let m = &config.mirror;
    let bytes = if let Some(var) = &m.secret_env {
        std::env::var_os(var)
            .ok_or_else(|| {
                LinkError::Config(format!(
                    "the environment variable {var} ([mirror] secret_env) is not set"
                ))
            })?
            .into_encoded_bytes()
    } else if let Some(path) = &m.secret_file {
        let text = std::fs::read(path).map_err(|e| {
            LinkError::Config(format!("{} ([mirror] secret_file): {e}", path.display()))
        })?;
        let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
        line.strip_suffix(b"\r").unwrap_or(line).to_vec()
    } else {
        return Err(LinkError::Config(
            "no shared secret: set [mirror] secret_env or secret_file".into(),
        ));
    };
    Ok(Secret::new(&bytes)?)
}
