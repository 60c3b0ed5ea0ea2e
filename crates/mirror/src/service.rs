//! The servers as `drx mirror standby` and `drx mirror primary` run them:
//! settings from `drx.toml`, the link until shutdown, and the status
//! published every second to `<home>/status/<role>.json` for `drx status`.

use crate::commit_socket::CommitSocket;
use crate::{LinkError, MirrorStatus, PrimarySettings, StandbySettings, StatusBoard};
use drx_config::Config;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the status file is written.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// The status file of a role.
fn status_path(home: &Path, role: &str) -> PathBuf {
    home.join("status").join(format!("{role}.json"))
}

/// Writes the board's snapshot to `path` (replaced atomically).
fn publish(board: &StatusBoard, path: &Path) -> Result<(), LinkError> {
    let io = |source| LinkError::Io {
        context: format!("writing {}", path.display()),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(&board.snapshot())
        .map_err(|e| LinkError::Config(format!("status: {e}")))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Runs `server` until it ends, publishing `board` to the role's status
/// file every second and once more at the end.
async fn with_status(
    home: &Path,
    role: &str,
    board: StatusBoard,
    server: impl Future<Output = Result<(), LinkError>>,
) -> Result<(), LinkError> {
    let path = status_path(home, role);
    tokio::pin!(server);
    let mut tick = tokio::time::interval(STATUS_EVERY);
    let mut rate = Rate::default();
    let result = loop {
        tokio::select! {
            result = &mut server => break result,
            _ = tick.tick() => {
                rate.update(&board);
                if let Err(e) = publish(&board, &path) {
                    tracing::warn!(error = %e, "could not write the status file");
                }
            }
        }
    };
    publish(&board, &path)?;
    result
}

/// The throughput shown in the status: entries and bytes per second
/// since the previous status period.
#[derive(Debug, Default)]
struct Rate {
    /// When the counters were last looked at, and their values then.
    last: Option<(std::time::Instant, u64, u64)>,
}

impl Rate {
    fn update(&mut self, board: &StatusBoard) {
        let now = std::time::Instant::now();
        let (entries, bytes) = {
            let s = board.snapshot_counters();
            (s.entries, s.bytes)
        };
        if let Some((then, e0, b0)) = self.last {
            let secs = now.duration_since(then).as_secs_f64();
            if secs > 0.0 {
                let per_sec = |d: u64| (d as f64 / secs).round() as u64;
                board.update(|s| {
                    s.entries_per_sec = per_sec(entries.saturating_sub(e0));
                    s.bytes_per_sec = per_sec(bytes.saturating_sub(b0));
                });
            }
        }
        self.last = Some((now, entries, bytes));
    }
}

/// The standby of `config`: listens on `tcp_host:tcp_port` until `shutdown`.
pub async fn serve_standby(config: &Config, shutdown: impl Future) -> Result<(), LinkError> {
    let settings = StandbySettings::from_config(config)?;
    let address = crate::settings::listen_address(config)?;
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| LinkError::Config(format!("listening on {address}: {e}")))?;
    tracing::info!(%address, "standby listening");
    let board = settings.status.clone();
    let result = with_status(
        &config.home,
        "standby",
        board.clone(),
        crate::standby::run(listener, settings, shutdown),
    )
    .await;
    if config.global_settings.log_statistics_on_close {
        log_statistics(&board);
    }
    result
}

/// Logs the operations received per file (the Control Table's
/// `log_statistics_on_close`), as the server stops.
fn log_statistics(board: &StatusBoard) {
    let status = board.snapshot();
    for (file, counters) in &status.files {
        tracing::info!("statistics: {file}: {counters}");
    }
    let c = status.counters;
    tracing::info!(
        "statistics: {} entries applied in {} batches ({} bytes), {} skipped, {} refused",
        c.entries,
        c.batches,
        c.bytes,
        c.skipped,
        c.refused_entries
    );
}

/// The primary of `config`: streams its journal to the standby until `shutdown`.
pub async fn serve_primary(config: &Config, shutdown: impl Future) -> Result<(), LinkError> {
    let settings = PrimarySettings::from_config(config)?;
    let board = settings.status.clone();
    std::fs::create_dir_all(&settings.journal_dir).map_err(|source| LinkError::Io {
        context: format!("creating {}", settings.journal_dir.display()),
        source,
    })?;
    let socket = CommitSocket::bind(&drx_config::commit_socket(&settings.journal_dir)).await?;
    let server = async {
        tokio::select! {
            result = crate::primary::run(settings, shutdown) => result,
            () = socket.serve(board.clone()) => Ok(()),
        }
    };
    with_status(&config.home, "primary", board.clone(), server).await
}

/// The status files of the servers of `home` that ever ran.
pub fn read_status(home: &Path) -> Result<Vec<MirrorStatus>, LinkError> {
    let mut out = Vec::new();
    for role in ["primary", "standby"] {
        let path = status_path(home, role);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(LinkError::Io {
                    context: format!("reading {}", path.display()),
                    source,
                });
            }
        };
        let status = serde_json::from_str(&text)
            .map_err(|e| LinkError::Config(format!("{}: {e}", path.display())))?;
        out.push(status);
    }
    Ok(out)
}
