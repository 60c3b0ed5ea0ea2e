//! Servers run on the test's tokio runtime, and waiting on their status:
//! shared by `tests/link.rs` and `tests/tls.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use drx_mirror::{
    LinkError, MirrorStatus, PrimarySettings, StandbySettings, StatusBoard, primary, standby,
};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The longest wait for anything in these tests.
pub const PATIENCE: Duration = Duration::from_secs(60);

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
