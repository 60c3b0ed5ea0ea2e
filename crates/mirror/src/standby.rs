//! The standby server: listens, accepts one primary at a time, and applies
//! what it streams (docs/PROTOCOL.md).
//!
//! ```text
//! accept loop ──spawn──▶ session (handshake, then its main loop)
//!                          │  Entries frames (bounded: backpressure)
//!                          ▼
//!                        applier thread ── journal + replicas, fsync
//!                          │  Durable(seq) / Violation
//!                          ▼
//!                        session ──Ack──▶ outbox (writer task) ──▶ primary
//! ```
//!
//! The applier lives as long as the server; sessions come and go. A
//! second primary that proves the secret while one is connected is refused
//! with `Busy`. On shutdown each session says `Goodbye(Shutdown)`, the
//! applier applies what it was given, syncs, and closes the journal and
//! the replica.

use crate::applier::{Applier, Batch, Command, Event, Position};
use crate::error::LinkError;
use crate::link::{self, End, FrameReader, Outbox, WriteHalf, closing, violation};
use crate::promotion;
use crate::protocol::{
    DecodeError, Hello, Message, Nonce, PROTOCOL_VERSION, Reason, Role, Transcript,
};
use crate::settings::StandbySettings;
use crate::shutdown::Shutdown;
use crate::status::{LinkState, StatusBoard};
use bytes::Bytes;
use drx_journal::NodeRole;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, oneshot};

/// Connections handled at once (one streams; the others are being
/// refused or time out in their handshake).
const MAX_CONNECTIONS: usize = 8;
/// After this long, a server's end that still waits for a session or the
/// apply says so in the log (and waits on).
const TEARDOWN_PATIENCE: Duration = Duration::from_secs(5);
/// Damaged `Entries` frames in a row before the link is taken for bad.
const MAX_DAMAGED_IN_A_ROW: u32 = 8;

/// Runs the standby server on `listener` until `shutdown` completes (e.g.
/// `tokio::signal::ctrl_c()`), or the applier fails (a journal or replica
/// error: the error is returned).
///
/// Opens the standby journal and the replica first (an error there is
/// returned at once). Keeps `settings.status` up to date. When `drx
/// promote` asks, or (with `auto_promote_after`) the primary has been
/// silent too long, it ends every session, closes the journal, promotes
/// the node (docs/DR.md) and goes on listening as a fence.
pub async fn run(
    listener: TcpListener,
    settings: StandbySettings,
    shutdown: impl Future,
) -> Result<(), LinkError> {
    let settings = Arc::new(settings);
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    let mut listener = listener;
    loop {
        let (served, back) = serve(listener, Arc::clone(&settings), shutdown.as_mut()).await?;
        listener = back;
        let (why, silent_for) = match served {
            Served::Shutdown => return Ok(()),
            Served::Again => continue,
            Served::Promote { why, silent_for } => (why, silent_for),
        };
        let dir = settings.journal.dir.clone();
        let promoting = Arc::clone(&settings);
        let requested = why == REQUESTED;
        let outcome = tokio::task::spawn_blocking(move || {
            promotion::promote_standby(&promoting, &why, silent_for)
        })
        .await
        .map_err(|e| LinkError::Stopped(format!("the promotion failed: {e}")))?;
        if requested {
            let answering = dir.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let _ = std::fs::remove_file(promotion::request_path(&answering));
                promotion::answer(&answering, &outcome);
            })
            .await;
        } else {
            outcome?;
        }
    }
}

/// Why a promotion was asked for by `drx promote`.
const REQUESTED: &str = "drx promote";

/// How [`serve`] ended.
enum Served {
    /// `shutdown` completed.
    Shutdown,
    /// The node's role changed under a fence (a switchover made it a
    /// standby): serve again, as what it is now.
    Again,
    /// This node must be promoted.
    Promote {
        why: String,
        silent_for: Option<Duration>,
    },
}

/// When this standby last heard from a primary: microseconds since the
/// Unix epoch, 0 before any.
#[derive(Debug, Default)]
struct Heard(AtomicI64);

impl Heard {
    fn now_us() -> i64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }

    fn mark(&self) {
        self.0.store(Self::now_us(), Ordering::Relaxed);
    }

    /// How long ago, if ever.
    fn silent_for(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            at => Some(Duration::from_micros(
                u64::try_from(Self::now_us().saturating_sub(at)).unwrap_or(0),
            )),
        }
    }
}

/// Completes when the journal's role has become standby (a switchover
/// ended; checked every 100 ms).
async fn role_left_primary(journal: &std::path::Path) -> Served {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        if matches!(drx_journal::node_role(journal), Ok(Some(NodeRole::Standby))) {
            return Served::Again;
        }
    }
}

/// A primary's handover (switchover), raised by its session for the
/// server.
#[derive(Debug, Default)]
struct Takeover {
    why: std::sync::Mutex<Option<String>>,
    raised: tokio::sync::Notify,
}

impl Takeover {
    fn request(&self, why: String) {
        if let Ok(mut slot) = self.why.lock() {
            *slot = Some(why);
        }
        self.raised.notify_one();
    }

    fn take(&self) -> Option<String> {
        self.why.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Completes when this node must be promoted: `drx promote` left its
/// request, its primary handed over, or a primary that was heard has been
/// silent for `auto_promote_after`.
async fn promotion_wanted(
    settings: &StandbySettings,
    heard: &Heard,
    takeover: &Takeover,
) -> Served {
    let request = promotion::request_path(&settings.journal.dir);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = takeover.raised.notified() => {}
        }
        if let Some(why) = takeover.take() {
            return Served::Promote {
                why,
                silent_for: None,
            };
        }
        // One stat every tick; too small to take off the reactor.
        if request.exists() {
            return Served::Promote {
                why: REQUESTED.into(),
                silent_for: heard.silent_for(),
            };
        }
        if let (Some(after), Some(silent)) = (settings.auto_promote_after, heard.silent_for())
            && silent >= after
        {
            return Served::Promote {
                why: format!(
                    "automatic: nothing from the primary for {:.1} s (auto_promote_after_missed)",
                    silent.as_secs_f64()
                ),
                silent_for: Some(silent),
            };
        }
    }
}

/// One life of the server: as a standby (with an applier) or, on a
/// promoted node, as a fence; gives the listener back.
async fn serve(
    listener: TcpListener,
    settings: Arc<StandbySettings>,
    shutdown: std::pin::Pin<&mut impl Future>,
) -> Result<(Served, TcpListener), LinkError> {
    let status = settings.status.clone();
    let dir = settings.journal.dir.clone();
    let role = tokio::task::spawn_blocking(move || drx_journal::node_role(&dir))
        .await
        .map_err(|e| LinkError::Stopped(format!("reading the journal's role: {e}")))??;
    // A promoted node only fences: it has no applier, and its journal is
    // its applications'. Both ends of these stand-ins stay here.
    let (fence_commands, _fence_rx) = mpsc::channel(1);
    let (fence_done_tx, fence_done) = oneshot::channel::<Result<(), LinkError>>();
    let (commands, mut done, thread, fence) = match role {
        Some(NodeRole::Primary | NodeRole::HandingOver) => {
            let dir = settings.journal.dir.clone();
            let position = tokio::task::spawn_blocking(move || {
                Ok::<_, drx_journal::JournalError>(Position {
                    epoch: drx_journal::current_epoch(&dir)?,
                    durable: drx_journal::last_seq(&dir)?,
                })
            })
            .await
            .map_err(|e| LinkError::Stopped(format!("reading the journal: {e}")))??;
            tracing::info!(
                address = ?listener.local_addr().ok(),
                epoch = position.epoch,
                "this node is the primary: the standby server only fences off older primaries"
            );
            (fence_commands, fence_done, None, Some(position))
        }
        Some(role @ NodeRole::Fenced { .. }) => {
            return Err(LinkError::Config(format!(
                "this node cannot be a standby as it is: it is {role}; `drx rejoin` makes it the new primary's standby"
            )));
        }
        Some(NodeRole::Standby) | None => {
            // After a switchover the applications of this node may still
            // hold the journal (refused every write) for a while.
            let patience = Instant::now() + Duration::from_secs(60);
            let (applier, position) = loop {
                match Applier::start(
                    settings.journal.clone(),
                    settings.replica.clone(),
                    status.clone(),
                    settings.log_statistics_on_close,
                    settings.replica_sync_every,
                )
                .await
                {
                    Err(LinkError::Journal(drx_journal::JournalError::Locked { path }))
                        if Instant::now() < patience =>
                    {
                        tracing::warn!(lock = %path.display(), "the journal is held (an application?): waiting");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    other => break other?,
                }
            };
            tracing::info!(
                address = ?listener.local_addr().ok(),
                epoch = position.epoch,
                durable = position.durable,
                "standby listening"
            );
            (applier.commands, applier.done, Some(applier.thread), None)
        }
    };
    // The server never sends on it; dropping it tells the sessions to stop.
    let (notify_shutdown, _) = broadcast::channel(1);
    // Each session holds a clone; the receiver yields `None` once all are
    // dropped (every session has ended).
    let (shutdown_complete_tx, mut shutdown_complete_rx) = mpsc::channel(1);
    let heard = Arc::new(Heard::default());
    let takeover = Arc::new(Takeover::default());
    let mut server = Server {
        listener,
        settings: Arc::clone(&settings),
        heard: Arc::clone(&heard),
        takeover: Arc::clone(&takeover),
        fence,
        commands,
        busy: Arc::new(Semaphore::new(1)),
        limit_connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        notify_shutdown,
        shutdown_complete_tx,
    };
    let mut applier_result = None;
    let promotion = async {
        if fence.is_some() {
            role_left_primary(&settings.journal.dir).await
        } else {
            promotion_wanted(&settings, &heard, &takeover).await
        }
    };
    let (result, served) = tokio::select! {
        res = server.run() => (res, Served::Shutdown),
        res = &mut done => {
            let res = res.unwrap_or(Ok(()));
            applier_result = Some(res);
            (Err(LinkError::Stopped("the standby's apply stopped".into())), Served::Shutdown)
        }
        _ = shutdown => {
            tracing::info!("standby shutting down");
            (Ok(()), Served::Shutdown)
        }
        wanted = promotion => {
            match &wanted {
                Served::Promote { .. } => tracing::warn!(
                    "promoting this standby: ending the sessions and closing the journal"
                ),
                _ => tracing::warn!(
                    "this node is no longer the primary (switchover): serving as its standby"
                ),
            }
            (Ok(()), wanted)
        }
    };
    let Server {
        listener,
        notify_shutdown,
        shutdown_complete_tx,
        commands,
        ..
    } = server;
    drop(notify_shutdown);
    drop(shutdown_complete_tx);
    if tokio::time::timeout(TEARDOWN_PATIENCE, shutdown_complete_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!("a session has not ended after {TEARDOWN_PATIENCE:?}; waiting on");
        let _ = shutdown_complete_rx.recv().await;
    }
    tracing::debug!("every session has ended");
    // Every session has ended: the applier applies what it holds and stops
    // (a fence has none: its stand-in ends here).
    drop(commands);
    drop(fence_done_tx);
    let applied = match applier_result {
        Some(res) => res,
        None => match tokio::time::timeout(TEARDOWN_PATIENCE, &mut done).await {
            Ok(res) => res.unwrap_or(Ok(())),
            Err(_) => {
                tracing::warn!("the apply has not stopped after {TEARDOWN_PATIENCE:?}; waiting on");
                done.await.unwrap_or(Ok(()))
            }
        },
    };
    tracing::debug!("the apply has stopped");
    if let Some(thread) = thread {
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
    status.update(|s| s.disconnected(LinkState::Stopped, None));
    applied.and(result)?;
    Ok((served, listener))
}

/// The accept loop's state.
#[derive(Debug)]
struct Server {
    listener: TcpListener,
    settings: Arc<StandbySettings>,
    /// When a primary was last heard; sessions mark it.
    heard: Arc<Heard>,
    /// Raised by a session whose primary hands over.
    takeover: Arc<Takeover>,
    /// `Some` on a promoted node: its position; every primary is refused.
    fence: Option<Position>,
    /// To the applier; each session gets a clone.
    commands: mpsc::Sender<Command>,
    /// One permit: held by the streaming session.
    busy: Arc<Semaphore>,
    limit_connections: Arc<Semaphore>,
    notify_shutdown: broadcast::Sender<()>,
    shutdown_complete_tx: mpsc::Sender<()>,
}

impl Server {
    async fn run(&mut self) -> Result<(), LinkError> {
        loop {
            let Ok(permit) = Arc::clone(&self.limit_connections).acquire_owned().await else {
                return Ok(());
            };
            let (socket, addr) = self.accept().await?;
            let mut session = Session {
                link: Link {
                    settings: Arc::clone(&self.settings),
                    heard: Arc::clone(&self.heard),
                    takeover: Arc::clone(&self.takeover),
                    fence: self.fence,
                    status: self.settings.status.clone(),
                    commands: self.commands.clone(),
                    busy: Arc::clone(&self.busy),
                },
                shutdown: Shutdown::new(self.notify_shutdown.subscribe()),
                _shutdown_complete: self.shutdown_complete_tx.clone(),
            };
            tokio::spawn(async move {
                if let Err(e) = session.run(socket, addr).await {
                    tracing::warn!(peer = %addr, error = %e, "connection ended");
                }
                drop(permit);
            });
        }
    }

    /// Accepts a connection, retrying a failed accept with a growing pause
    /// (1, 2, 4, ... seconds) a few times, as mini-redis does.
    async fn accept(&mut self) -> Result<(TcpStream, SocketAddr), LinkError> {
        let mut backoff = 1;
        loop {
            match self.listener.accept().await {
                Ok(accepted) => return Ok(accepted),
                Err(e) if backoff > 32 => return Err(LinkError::io("accepting a connection")(e)),
                Err(e) => tracing::warn!(error = %e, "accepting a connection failed; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(backoff)).await;
            backoff *= 2;
        }
    }
}

/// One connection from a primary.
#[derive(Debug)]
struct Session {
    link: Link,
    shutdown: Shutdown,
    /// Dropped when the session ends (never sent on).
    _shutdown_complete: mpsc::Sender<()>,
}

/// What a session works with.
#[derive(Debug)]
struct Link {
    settings: Arc<StandbySettings>,
    /// Marked at every frame from the streaming primary.
    heard: Arc<Heard>,
    /// Raised by a session whose primary hands over (switchover).
    takeover: Arc<Takeover>,
    /// `Some` on a promoted node (see [`Server`]).
    fence: Option<Position>,
    status: StatusBoard,
    /// To the applier (a clone of the server's).
    commands: mpsc::Sender<Command>,
    busy: Arc<Semaphore>,
}

/// What a handshake led to.
enum Handshaken {
    /// A primary to stream from.
    Primary(Accepted),
    /// A former primary rejoining this promoted node: its `Hello`.
    Rejoiner(Hello),
    /// A transfer session (`drx sync`): its `Hello`.
    Transfer(Hello),
}

/// A completed handshake.
struct Accepted {
    primary: Hello,
    resume_from: u64,
    /// This session streams; released when it ends.
    _busy: OwnedSemaphorePermit,
}

impl Session {
    async fn run(&mut self, socket: TcpStream, addr: SocketAddr) -> Result<(), LinkError> {
        let timeout = self.link.settings.heartbeats.handshake_timeout;
        // The TLS handshake (if any) and the protocol's, in one timeout.
        let this = &self.link;
        let connected = async {
            let (mut reader, mut write) = link::accept(socket, this.settings.tls.as_ref()).await?;
            let accepted = this.handshake(&mut reader, &mut write).await?;
            Ok::<_, LinkError>((reader, write, accepted))
        };
        let handshake = tokio::select! {
            res = tokio::time::timeout(timeout, connected) => res,
            _ = self.shutdown.recv() => return Ok(()),
        };
        let (reader, write, accepted) = match handshake {
            Ok(Ok((mut reader, mut write, Handshaken::Rejoiner(hello)))) => {
                let served = self.link.rejoiner(&mut reader, &mut write, hello).await;
                if let Err(e) = &served {
                    tracing::warn!(peer = %addr, error = %e, "serving a rejoining node failed");
                }
                return served;
            }
            Ok(Ok((mut reader, mut write, Handshaken::Transfer(hello)))) => {
                let position = self.link.barrier().await?;
                let served = crate::transfer_server::serve(
                    &mut reader,
                    &mut write,
                    &self.link.settings,
                    &self.link.commands,
                    hello,
                    (position.epoch, position.durable),
                    &mut self.shutdown,
                )
                .await;
                if let Err(e) = &served {
                    tracing::warn!(peer = %addr, error = %e, "a transfer session failed");
                }
                return served;
            }
            Ok(Ok((reader, write, Handshaken::Primary(accepted)))) => (reader, write, accepted),
            Ok(Err(e)) => {
                self.link.status.update(|s| s.counters.refused += 1);
                return Err(e);
            }
            Err(_) => {
                return Err(LinkError::Timeout(format!(
                    "{addr}: the handshake did not complete within {timeout:?}"
                )));
            }
        };
        tracing::info!(
            peer = %addr,
            node = %accepted.primary.node_id,
            resume_from = accepted.resume_from,
            "primary connected"
        );
        let result = self
            .link
            .stream(reader, write, &accepted, &mut self.shutdown)
            .await;
        let error = result.as_ref().err().map(|e| e.to_string());
        self.link
            .status
            .update(|s| s.disconnected(LinkState::Idle, error));
        result
    }
}

impl Link {
    /// The standby's side of the handshake (docs/PROTOCOL.md, "States of
    /// the standby").
    async fn handshake(
        &self,
        reader: &mut FrameReader,
        write: &mut WriteHalf,
    ) -> Result<Handshaken, LinkError> {
        let peer = reader.peer();
        let nonce = Nonce::random()?;
        let primary = match reader.next_handshake_message().await {
            Ok(Message::Hello(hello)) => hello,
            Ok(other) => {
                let text = format!("expected Hello, got {}", other.kind());
                return Err(refuse(write, peer, Reason::ProtocolViolation, text).await);
            }
            Err(e) => return Err(refuse_error(write, peer, e).await),
        };
        if primary.version != PROTOCOL_VERSION {
            let text = format!("this node speaks protocol version {PROTOCOL_VERSION} only");
            return Err(refuse(write, peer, Reason::UnsupportedVersion, text).await);
        }
        if primary.role == Role::Standby && self.fence.is_some() {
            // A former primary rejoining this promoted node (docs/DR.md):
            // served after the handshake's timeout.
            return Ok(Handshaken::Rejoiner(primary));
        }
        if primary.role == Role::Transfer {
            // `drx sync` (a transfer session): beside the streaming
            // primary, on a standby only.
            if let Some(position) = self.fence {
                let text = format!(
                    "this node is the primary since epoch {}: a transfer goes to a standby",
                    position.epoch
                );
                return Err(refuse(write, peer, Reason::WrongRole, text).await);
            }
            return Ok(Handshaken::Transfer(primary));
        }
        if primary.role != Role::Primary {
            let text = format!(
                "this node is a standby; the peer says it is a {}",
                primary.role
            );
            return Err(refuse(write, peer, Reason::WrongRole, text).await);
        }
        if primary.nonce == nonce {
            let text = "the Hello carries this node's own nonce".to_owned();
            return Err(refuse(write, peer, Reason::WrongSecret, text).await);
        }
        let position = match self.fence {
            Some(position) => position,
            None => self.barrier().await?,
        };
        let dir = self.settings.journal.dir.clone();
        let history = tokio::task::spawn_blocking(move || drx_journal::epoch_history(&dir))
            .await
            .map_err(|e| LinkError::Stopped(format!("reading the epoch history: {e}")))??;
        let ours = Hello {
            version: PROTOCOL_VERSION,
            role: Role::Standby,
            node_id: self.settings.node_id.clone(),
            epoch: position.epoch,
            last_seq: position.durable,
            nonce,
            history: crate::primary::newest(history),
        };
        link::write_message(write, peer, &Message::Hello(ours.clone())).await?;
        let proof = match reader.next_handshake_message().await {
            Ok(Message::Proof(proof)) => proof,
            Ok(other) => {
                let text = format!("expected Proof, got {}", other.kind());
                return Err(refuse(write, peer, Reason::ProtocolViolation, text).await);
            }
            Err(e) => return Err(refuse_error(write, peer, e).await),
        };
        let transcript = match Transcript::new(&primary, &ours, reader.channel_binding()) {
            Ok(t) => t,
            Err(e) => {
                return Err(refuse(write, peer, Reason::ProtocolViolation, e.to_string()).await);
            }
        };
        let secret = &self.settings.secret;
        if transcript.verify(secret, Role::Primary, &proof).is_err() {
            let text = "the primary's proof does not verify".to_owned();
            return Err(refuse(write, peer, Reason::WrongSecret, text).await);
        }
        if let Some(expected) = &self.settings.primary_node_id
            && *expected != primary.node_id
        {
            let text = format!("this standby mirrors {expected}, not {}", primary.node_id);
            return Err(refuse(write, peer, Reason::UnknownNode, text).await);
        }
        if primary.epoch < position.epoch || self.fence.is_some() {
            // Proven first, so that the primary may trust the refusal and
            // fence itself off (docs/DR.md).
            let proof = transcript.proof(secret, Role::Standby);
            link::write_message(write, peer, &Message::Proof(proof)).await?;
            let (reason, text) = if primary.epoch < position.epoch {
                (
                    Reason::EpochFenced,
                    format!(
                        "the primary's epoch {} is older than this node's {}: a standby was promoted{}",
                        primary.epoch,
                        position.epoch,
                        if self.fence.is_some() {
                            " (this node is the primary now)"
                        } else {
                            ""
                        }
                    ),
                )
            } else {
                (
                    Reason::WrongRole,
                    format!(
                        "this node is the primary since epoch {}; it takes no primary's entries",
                        position.epoch
                    ),
                )
            };
            return Err(refuse(write, peer, reason, text).await);
        }
        let Ok(busy) = Arc::clone(&self.busy).try_acquire_owned() else {
            let text = "another primary is connected".to_owned();
            return Err(refuse(write, peer, Reason::Busy, text).await);
        };
        let shared = drx_journal::shared_history(
            &ours.history,
            position.durable,
            &primary.history,
            primary.last_seq,
        );
        if shared < position.durable.min(primary.last_seq) {
            let text = format!(
                "the journals diverged after seq {shared}: this node's entries from seq {} are not in the primary's history (epoch {} there); `drx rejoin` rolls them back and reports them",
                shared + 1,
                primary.epoch
            );
            return Err(refuse(write, peer, Reason::CannotResume, text).await);
        }
        if position.durable > primary.last_seq {
            let text = format!(
                "this standby holds entries up to seq {}, the primary's journal ends at {}",
                position.durable, primary.last_seq
            );
            return Err(refuse(write, peer, Reason::CannotResume, text).await);
        }
        if primary.epoch > position.epoch {
            let (tx, rx) = oneshot::channel();
            self.command(Command::AdoptEpoch(primary.epoch, tx)).await?;
            if let Ok(Err(e)) | Err(e) = rx.await.map_err(|_| "stopped".to_owned()) {
                return Err(LinkError::Stopped(format!(
                    "cannot take the primary's epoch {}: {e}",
                    primary.epoch
                )));
            }
        }
        let resume_from = position.durable + 1;
        let proof = transcript.proof(secret, Role::Standby);
        link::write_message(write, peer, &Message::Proof(proof)).await?;
        link::write_message(write, peer, &Message::Welcome { resume_from }).await?;
        Ok(Handshaken::Primary(Accepted {
            primary,
            resume_from,
            _busy: busy,
        }))
    }

    /// Serves a rejoining node (its `Hello` read) on a promoted node.
    async fn rejoiner(
        &self,
        reader: &mut FrameReader,
        write: &mut WriteHalf,
        theirs: Hello,
    ) -> Result<(), LinkError> {
        let Some(position) = self.fence else {
            return Ok(());
        };
        let dir = self.settings.journal.dir.clone();
        let history = tokio::task::spawn_blocking(move || drx_journal::epoch_history(&dir))
            .await
            .map_err(|e| LinkError::Stopped(format!("reading the epoch history: {e}")))??;
        let ours = crate::repair_server::primary_hello(
            &self.settings,
            position.epoch,
            position.durable,
            crate::primary::newest(history),
        )?;
        crate::repair_server::serve_rejoiner(reader, write, &self.settings, theirs, ours).await
    }

    async fn command(&self, command: Command) -> Result<(), LinkError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| LinkError::Stopped("the standby's apply has stopped".into()))
    }

    /// The applier's durable position once everything queued is applied.
    async fn barrier(&self) -> Result<Position, LinkError> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Barrier(tx)).await?;
        rx.await
            .map_err(|_| LinkError::Stopped("the standby's apply has stopped".into()))
    }

    /// Streaming: takes `Entries`, hands them to the applier, acknowledges
    /// what it made durable; heartbeats; a damaged batch is asked for again.
    async fn stream(
        &self,
        mut reader: FrameReader,
        write: WriteHalf,
        accepted: &Accepted,
        shutdown: &mut Shutdown,
    ) -> Result<(), LinkError> {
        reader.streaming();
        let peer = reader.peer();
        let beats = self.settings.heartbeats;
        let durable = Arc::new(AtomicU64::new(accepted.resume_from - 1));
        let outbox = Outbox::spawn(write, peer, beats.interval, Arc::clone(&durable));
        // The applier sends on clones of `events_tx` (one per batch); this
        // loop owns the receiver.
        let (events_tx, mut events_rx) = mpsc::unbounded_channel();
        let mut stream = Stream {
            expected: accepted.resume_from,
            resend_outstanding: false,
            damaged_in_a_row: 0,
            acked: accepted.resume_from - 1,
            pending: None,
            events_tx,
        };
        self.status.update(|s| {
            s.state = LinkState::Streaming;
            s.peer_node_id = Some(accepted.primary.node_id.clone());
            s.peer_addr = Some(peer);
            s.connected_since = Some(SystemTime::now());
            s.journal_seq = accepted.primary.last_seq;
            s.last_acked_seq = stream.acked;
            s.counters.connections += 1;
            s.last_error = None;
        });
        let mut tick = tokio::time::interval((beats.interval / 2).max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_received = Instant::now();
        let end: End = loop {
            tokio::select! {
                _ = shutdown.recv() => {
                    break (Some((Reason::Shutdown, "the standby is shutting down".into())), Ok(()));
                }
                frame = reader.next_frame(), if stream.pending.is_none() => {
                    last_received = Instant::now();
                    self.heard.mark();
                    let frame = match frame {
                        Ok(Some(frame)) => frame,
                        Ok(None) => break (None, Err(LinkError::Closed)),
                        Err(e) => break closing(e),
                    };
                    if let Some(end) = self.take(&mut stream, &outbox, frame).await {
                        break end;
                    }
                }
                permit = self.commands.reserve(), if stream.pending.is_some() => {
                    let (Ok(permit), Some(batch)) = (permit, stream.pending.take()) else {
                        break (
                            Some((Reason::Shutdown, "the standby's apply stopped".into())),
                            Err(LinkError::Stopped("the standby's apply has stopped".into())),
                        );
                    };
                    permit.send(Command::Batch(batch));
                }
                Some(event) = events_rx.recv() => {
                    let mut newest = None;
                    let mut bad = None;
                    let mut verified = Vec::new();
                    let mut event = Some(event);
                    while let Some(e) = event.take() {
                        match e {
                            Event::Durable(seq) => newest = newest.max(Some(seq)),
                            Event::Violation(text) => bad = Some(text),
                            Event::Verified(v) => verified.push(v),
                        }
                        event = events_rx.try_recv().ok();
                    }
                    if let Some(text) = bad {
                        break violation(text);
                    }
                    // Each replica comparison goes to the primary.
                    let mut failed = None;
                    for v in verified {
                        if let Err(e) = outbox.send(&Message::Verified(v)).await {
                            failed = Some(e);
                            break;
                        }
                    }
                    if let Some(e) = failed {
                        break (None, Err(e));
                    }
                    if let Some(seq) = newest.filter(|&seq| seq > stream.acked) {
                        stream.acked = seq;
                        durable.store(seq, Ordering::Relaxed);
                        if let Err(e) = outbox.send(&Message::Ack { applied: seq }).await {
                            break (None, Err(e));
                        }
                        self.status.update(|s| s.last_acked_seq = seq);
                    }
                }
                _ = tick.tick() => {
                    if stream.pending.is_some() {
                        // Waiting for the applier, not reading: the primary
                        // is not silent, this side is slow.
                        last_received = Instant::now();
                    } else if last_received.elapsed() >= beats.dead_after() {
                        self.status.update(|s| s.counters.timeouts += 1);
                        let text = format!("nothing from the primary for {:?}", beats.dead_after());
                        break (Some((Reason::Timeout, text.clone())), Err(LinkError::Timeout(text)));
                    }
                }
                _ = outbox.closed() => break (None, Err(LinkError::Closed)),
            }
        };
        finish(end, outbox).await
    }

    /// Handles one frame; `Some` ends the connection.
    async fn take(&self, stream: &mut Stream, outbox: &Outbox, frame: Bytes) -> Option<End> {
        let decoded = Message::decode(&frame);
        let batch = match decoded {
            Ok(Some((Message::Entries(entries), _))) => {
                stream.damaged_in_a_row = 0;
                (entries.first_seq(), entries.last_seq(), entries.count())
            }
            Ok(Some((Message::Heartbeat { last_seq, .. }, _))) => {
                self.status.update(|s| {
                    s.counters.heartbeats_received += 1;
                    s.journal_seq = s.journal_seq.max(last_seq);
                    s.lag_entries = s.journal_seq.saturating_sub(s.durable_seq);
                    if s.lag_entries == 0 {
                        s.lag_ms = Some(0);
                    }
                });
                return None;
            }
            Ok(Some((Message::Handover { last_seq }, _))) => {
                if stream.acked < last_seq {
                    let text = format!(
                        "a Handover at seq {last_seq}, but this standby has acknowledged seq {} only",
                        stream.acked
                    );
                    return Some(violation(text));
                }
                tracing::warn!(last_seq, "switchover: the primary hands over; promoting");
                self.takeover
                    .request(format!("switchover at seq {last_seq}"));
                return Some((None, Ok(())));
            }
            Ok(Some((Message::Goodbye { reason, text }, _))) => {
                tracing::info!(%reason, %text, "the primary said goodbye");
                let result = if reason == Reason::Shutdown {
                    Ok(())
                } else {
                    Err(LinkError::Goodbye { reason, text })
                };
                return Some((None, result));
            }
            Ok(Some((other, _))) => {
                let text = format!("unexpected {} while streaming", other.kind());
                return Some(violation(text));
            }
            Ok(None) => return Some(violation("an incomplete frame".into())),
            Err(e @ DecodeError::PayloadChecksum { kind, .. }) => {
                tracing::warn!(error = %e, "damaged frame dropped");
                self.status.update(|s| s.counters.corrupt_frames += 1);
                if kind != crate::protocol::MessageKind::Entries {
                    return None;
                }
                stream.damaged_in_a_row += 1;
                if stream.damaged_in_a_row > MAX_DAMAGED_IN_A_ROW {
                    return Some(closing(LinkError::Decode(e)));
                }
                stream.resend_outstanding = true;
                let resend = Message::Resend {
                    from_seq: stream.expected,
                };
                if let Err(e) = outbox.send(&resend).await {
                    return Some((None, Err(e)));
                }
                self.status.update(|s| s.counters.resends += 1);
                return None;
            }
            Err(e) => return Some(closing(LinkError::Decode(e))),
        };
        let (first, last, count) = batch;
        if first > stream.expected {
            if stream.resend_outstanding {
                return None;
            }
            let text = format!(
                "a batch from seq {first}, the standby expects seq {}",
                stream.expected
            );
            return Some(violation(text));
        }
        if last < stream.expected {
            self.status
                .update(|s| s.counters.skipped += u64::from(count));
            return None;
        }
        stream.pending = Some(Batch {
            frame,
            first_seq: first,
            count,
            from_seq: stream.expected,
            events: stream.events_tx.clone(),
        });
        stream.expected = last + 1;
        stream.resend_outstanding = false;
        None
    }
}

/// A session's streaming state.
struct Stream {
    /// The seq after the last entry received intact.
    expected: u64,
    /// A `Resend(expected)` was sent and its batch has not come yet.
    resend_outstanding: bool,
    damaged_in_a_row: u32,
    /// The last seq acknowledged.
    acked: u64,
    /// A batch waiting for room in the applier's queue; no frame is read
    /// meanwhile (backpressure).
    pending: Option<Batch>,
    /// Cloned into each batch for the applier's answers.
    events_tx: mpsc::UnboundedSender<Event>,
}

/// Sends the goodbye (if any), closes the connection.
async fn finish((goodbye, result): End, outbox: Outbox) -> Result<(), LinkError> {
    if let Some((reason, text)) = &goodbye {
        tracing::info!(%reason, %text, "saying goodbye");
    }
    outbox.close(goodbye).await;
    result
}

/// Refuses the primary with `reason`; the error to return.
async fn refuse(
    write: &mut WriteHalf,
    peer: SocketAddr,
    reason: Reason,
    text: String,
) -> LinkError {
    link::farewell(write, peer, link::Farewell::Refused, reason, text).await
}

/// A handshake read failed: told to the primary where it can be.
async fn refuse_error(write: &mut WriteHalf, peer: SocketAddr, e: LinkError) -> LinkError {
    link::farewell_error(write, peer, link::Farewell::Refused, e).await
}
