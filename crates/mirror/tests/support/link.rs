//! What the in-process link tests (`tests/link.rs`, `tests/tls.rs`) share:
//! one home for both nodes and their settings, servers run on the test's
//! tokio runtime, and waiting on their status.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::Home;
use drx_mirror::{
    ClientTls, Heartbeats, LinkError, MirrorStatus, PrimarySettings, ReplicaConfig, Role, Secret,
    ServerTls, StandbySettings, StatusBoard, primary, standby, standby_journal,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The longest wait for anything in these tests.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The link's shared secret.
pub const SECRET: &[u8] = b"a shared secret of 32 bytes.....";

/// One home for both nodes: the primary's files under `primary/`, its
/// journal in `journal/`; the standby's replicas under `standby/`, its
/// journal in `standby_journal/`, its state in `replica_state/`.
impl Home {
    pub fn link() -> Home {
        Home::parse(
            "[mirror]\nreplica_roots = [\"standby\"]\n\
             [[files]]\nsource_path = \"primary/*\"\n",
        )
    }

    pub fn standby_journal_dir(&self) -> PathBuf {
        self.home().join("standby_journal")
    }

    /// The standby's settings; TLS with `tls`.
    pub fn standby_settings(&self, tls: Option<ServerTls>) -> StandbySettings {
        StandbySettings {
            node_id: "standby".into(),
            secret: Secret::new(SECRET).unwrap(),
            primary_node_id: Some("primary".into()),
            replica: ReplicaConfig::from_config(&self.config),
            journal: standby_journal(self.standby_journal_dir()),
            heartbeats: beats(),
            log_statistics_on_close: true,
            replica_sync_every: Duration::from_secs(1),
            auto_promote_after: None,
            tls,
            status: StatusBoard::new(Role::Standby, "standby"),
        }
    }

    /// The primary's settings, connecting to `address`; TLS with `tls`.
    pub fn primary_settings(&self, address: SocketAddr, tls: Option<ClientTls>) -> PrimarySettings {
        PrimarySettings {
            node_id: "primary".into(),
            secret: Secret::new(SECRET).unwrap(),
            standby_node_id: Some("standby".into()),
            address: address.to_string(),
            journal_dir: self.journal_dir(),
            consumer: Some(PrimarySettings::CONSUMER.into()),
            reconnect_interval: Duration::from_millis(100),
            keep_trying: true,
            heartbeats: beats(),
            max_batch_entries: 25,
            max_batch_bytes: 16 * 1024,
            warn_lag_entries: 0,
            tls,
            handover: Default::default(),
            status: StatusBoard::new(Role::Primary, "primary"),
        }
    }
}

/// Fast heartbeats, a patient dead interval.
pub fn beats() -> Heartbeats {
    Heartbeats {
        interval: Duration::from_millis(50),
        missed: 20,
        handshake_timeout: Duration::from_secs(5),
    }
}

/// A server running on the test's runtime, stopped by `stop`.
pub struct Running {
    pub status: StatusBoard,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), LinkError>>,
}

impl Running {
    /// A standby taking connections on `listener`.
    pub fn standby(listener: TcpListener, settings: StandbySettings) -> Running {
        let status = settings.status.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(standby::run(listener, settings, stopped));
        Running {
            status,
            stop: Some(stop),
            task,
        }
    }

    /// A primary.
    pub fn primary(settings: PrimarySettings) -> Running {
        let status = settings.status.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(primary::run(settings, stopped));
        Running {
            status,
            stop: Some(stop),
            task,
        }
    }

    /// Signals the shutdown, waits for the server's result.
    pub async fn stop(mut self) -> Result<(), LinkError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the server stops in time")
            .expect("the server task does not panic")
    }

    /// The server's result, once it ends by itself.
    pub async fn ended(self) -> Result<(), LinkError> {
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the server ends in time")
            .expect("the server task does not panic")
    }

    /// Its status now.
    pub fn snapshot(&self) -> MirrorStatus {
        self.status.snapshot()
    }
}

/// Waits (at most [`PATIENCE`]) until the status satisfies `done`.
pub async fn wait_for(status: &StatusBoard, what: &str, done: impl Fn(&MirrorStatus) -> bool) {
    let mut rx = status.subscribe();
    let waited = tokio::time::timeout(PATIENCE, rx.wait_for(|s| done(s))).await;
    assert!(
        matches!(waited, Ok(Ok(_))),
        "timed out waiting for {what}: {:#?}",
        status.snapshot()
    );
}
