//! The `[mirror]` section: drx's own settings of the mirroring link, beside
//! the Control Table's (`tcp_host`, `tcp_port`, `primary_call_timeout`,
//! `keep_trying`, `max_buffer_len`, `qmon_warn_at` in `[global_settings]`).

use serde::Deserialize;
use std::path::PathBuf;

/// When a capture call on the primary returns.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum CommitMode {
    /// At once: the standby catches up behind (the application never waits).
    #[default]
    Async,
    /// Once the standby has acknowledged the entry's durable apply, or
    /// `sync_timeout_ms` has passed (then the link degrades to async and an
    /// alert is raised, rather than stalling the application).
    Sync,
}

/// The `[mirror]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MirrorSettings {
    /// This node's name in the handshake (default: the host name).
    pub node_id: Option<String>,
    /// The environment variable holding the shared secret both ends prove
    /// they know (HMAC challenge–response). Never logged.
    pub secret_env: Option<String>,
    /// A file whose first line is the shared secret (relative to the home).
    pub secret_file: Option<PathBuf>,
    /// The directories the standby may write replicas into; a path mapped
    /// outside all of them is refused (relative to the home).
    pub replica_roots: Vec<PathBuf>,
    /// Where the standby keeps the journal it receives (relative to the
    /// home). Default: the node's journal (`[journal] dir`), so that a
    /// promoted standby's applications continue that journal (docs/DR.md).
    pub standby_journal_dir: PathBuf,
    /// `async` (default) or `sync`.
    pub commit: CommitMode,
    /// How long a `sync` commit waits for the standby, in milliseconds.
    pub sync_timeout_ms: u64,
    /// Milliseconds between heartbeats, both ways.
    pub heartbeat_ms: u64,
    /// Heartbeats missed before a peer is taken for gone.
    pub missed_heartbeats: u32,
    /// Where this node's standby server listens, `host:port` (default:
    /// `[global_settings] tcp_host:tcp_port`). Set it when the two nodes
    /// swap roles, so that each listens at its own address (docs/DR.md).
    pub listen: Option<String>,
    /// Where this node's primary server connects, and `drx rejoin` asks
    /// the promoted node, `host:port` (default: `[global_settings]
    /// tcp_host:tcp_port`): the other node's `listen`.
    pub peer: Option<String>,
    /// Standby: promote this node to primary by itself once the primary,
    /// having been connected, has been silent for this many heartbeat
    /// intervals (0: never, the default; an operator runs `drx promote`).
    /// Beware a network partition: the old primary then goes on taking
    /// writes until the link is back and it is fenced off (docs/DR.md).
    pub auto_promote_after_missed: u32,
    /// Standby: the replica files are fsynced at least this often, in
    /// milliseconds (its journal, before every acknowledgement; after a
    /// crash the replicas are brought up to the journal).
    pub replica_sync_ms: u64,
    /// TLS: this node's certificate chain (PEM); with `tls_key`, TLS is on.
    pub tls_cert: Option<PathBuf>,
    /// TLS: this node's private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// TLS: the certificate authority that signed the peer's certificate.
    pub tls_ca: Option<PathBuf>,
}

impl Default for MirrorSettings {
    fn default() -> Self {
        MirrorSettings {
            node_id: None,
            secret_env: None,
            secret_file: None,
            replica_roots: Vec::new(),
            standby_journal_dir: PathBuf::new(),
            commit: CommitMode::Async,
            sync_timeout_ms: 2_000,
            heartbeat_ms: 1_000,
            missed_heartbeats: 5,
            auto_promote_after_missed: 0,
            listen: None,
            peer: None,
            replica_sync_ms: 1_000,
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
        }
    }
}

/// The local socket through which a sync-mode application waits for the
/// standby's acknowledgement: `mirror.sock` in the journal directory, served
/// by the primary server (docs/PROTOCOL.md, "The commit socket").
pub fn commit_socket(journal_dir: &std::path::Path) -> PathBuf {
    journal_dir.join("mirror.sock")
}
