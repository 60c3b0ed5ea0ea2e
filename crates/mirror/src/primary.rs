//! The primary server: connects to the standby, proves the secret, and
//! streams the journal from where the standby asks (docs/PROTOCOL.md).
//!
//! ```text
//! caller loop ── connect, handshake ──spawn──▶ session main loop
//!                                               ▲ frames        │ frames
//!                         feed thread (journal) ┘               ▼
//!                                                  outbox (writer task) ──▶ standby
//!                                   reader: Ack, Heartbeat, Resend ◀── standby
//! ```
//!
//! After any disconnect the caller reconnects every `reconnect_interval`
//! (while `keep_trying`), and the new handshake resumes right after the
//! last entry the standby made durable. A `Resend` rewinds the feed.

use crate::error::LinkError;
use crate::feed::{Feed, Limits, Shipment};
use crate::link::{self, End, FrameReader, Outbox, WriteHalf, closing, violation};
use crate::protocol::{
    DecodeError, Hello, MAX_HISTORY, Message, MessageKind, Nonce, PROTOCOL_VERSION, Reason, Role,
    Transcript,
};
use crate::settings::PrimarySettings;
use crate::shutdown::Shutdown;
use crate::status::LinkState;
use bytes::Bytes;
use drx_journal::{JournalError, NodeRole, Reader};
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};

/// The standby's consumer position is written at most this often.
const CONSUMER_EVERY: Duration = Duration::from_secs(1);

/// Runs the primary server until `shutdown` completes, or a connection
/// fails in a way retrying cannot mend ([`LinkError::is_terminal`]: this
/// primary was fenced off by a failover, the journals cannot continue each
/// other, the journal is damaged), or — without `keep_trying` — the first
/// connection fails or ends. Keeps `settings.status` up to date.
pub async fn run(settings: PrimarySettings, shutdown: impl Future) -> Result<(), LinkError> {
    let status = settings.status.clone();
    // The server never sends on it; dropping it tells the session to stop.
    let (notify_shutdown, _) = broadcast::channel(1);
    // The session holds a clone; the receiver yields `None` once it has
    // ended.
    let (shutdown_complete_tx, mut shutdown_complete_rx) = mpsc::channel(1);
    let mut caller = Caller {
        settings: Arc::new(settings),
        notify_shutdown,
        shutdown_complete_tx,
    };
    let result = tokio::select! {
        res = caller.run() => res,
        _ = shutdown => {
            tracing::info!("primary shutting down");
            Ok(())
        }
    };
    let Caller {
        notify_shutdown,
        shutdown_complete_tx,
        ..
    } = caller;
    drop(notify_shutdown);
    drop(shutdown_complete_tx);
    let _ = shutdown_complete_rx.recv().await;
    let error = result.as_ref().err().map(|e| e.to_string());
    status.update(|s| s.disconnected(LinkState::Stopped, error));
    result
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The reconnect loop's state.
#[derive(Debug)]
struct Caller {
    settings: Arc<PrimarySettings>,
    notify_shutdown: broadcast::Sender<()>,
    shutdown_complete_tx: mpsc::Sender<()>,
}

impl Caller {
    async fn run(&mut self) -> Result<(), LinkError> {
        let settings = Arc::clone(&self.settings);
        let dir = settings.journal_dir.clone();
        let consumer = settings.consumer.clone();
        blocking(move || {
            // The journal may not exist yet: the primary waits for entries.
            std::fs::create_dir_all(&dir).map_err(|source| JournalError::Io {
                path: dir.clone(),
                source,
            })?;
            match consumer {
                Some(name) => drx_journal::register_consumer(&dir, &name),
                None => Ok(()),
            }
        })
        .await?;
        // Takes `drx switchover`'s requests; ends with this loop.
        let watcher = tokio::spawn(crate::switchover::watch(
            settings.journal_dir.clone(),
            Arc::clone(&settings.handover),
        ));
        let _stop_watcher = AbortOnDrop(watcher);
        loop {
            let result = self.attempt().await;
            if settings.handover.was_sent() {
                // The standby took over: this node is its standby now.
                let dir = settings.journal_dir.clone();
                let handover = Arc::clone(&settings.handover);
                let _ = tokio::task::spawn_blocking(move || {
                    crate::switchover::finish(&dir, &handover);
                })
                .await;
                return Ok(());
            }
            match &result {
                Ok(()) => tracing::info!("the connection to the standby ended"),
                Err(e) => {
                    tracing::warn!(address = %settings.address, error = %e, "mirroring link down")
                }
            }
            let error = result.as_ref().err().map(|e| e.to_string());
            let terminal = result.as_ref().is_err_and(LinkError::is_terminal);
            settings.status.update(|s| {
                s.disconnected(
                    if terminal {
                        LinkState::Stopped
                    } else {
                        LinkState::Connecting
                    },
                    error,
                );
            });
            if terminal || !settings.keep_trying {
                return result;
            }
            tokio::time::sleep(settings.reconnect_interval).await;
        }
    }

    /// One connection: connect, handshake, stream until it ends.
    async fn attempt(&mut self) -> Result<(), LinkError> {
        let settings = Arc::clone(&self.settings);
        let timeout = settings.heartbeats.handshake_timeout;
        settings.status.update(|s| s.state = LinkState::Connecting);
        let address = &settings.address;
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
            Ok(stream) => stream.map_err(LinkError::io(format!("connecting to {address}")))?,
            Err(_) => {
                return Err(LinkError::Timeout(format!(
                    "connecting to {address} took more than {timeout:?}"
                )));
            }
        };
        settings.status.update(|s| s.state = LinkState::Handshaking);
        // The TLS handshake (if any) and the protocol's, in one timeout.
        let connected = async {
            let (mut reader, mut write) = link::connect(stream, settings.tls.as_ref()).await?;
            let accepted = handshake(&settings, &mut reader, &mut write).await?;
            Ok::<_, LinkError>((reader, write, accepted))
        };
        let (reader, write, accepted) = match tokio::time::timeout(timeout, connected).await {
            Ok(Ok(connected)) => connected,
            Ok(Err(e)) => {
                settings.status.update(|s| s.counters.refused += 1);
                return Err(e);
            }
            Err(_) => {
                return Err(LinkError::Timeout(format!(
                    "the handshake with {address} did not complete within {timeout:?}"
                )));
            }
        };
        tracing::info!(
            peer = %reader.peer(),
            node = %accepted.standby.node_id,
            resume_from = accepted.resume_from,
            "connected to the standby"
        );
        let session = Session {
            settings: Arc::clone(&settings),
            shutdown: Shutdown::new(self.notify_shutdown.subscribe()),
            _shutdown_complete: self.shutdown_complete_tx.clone(),
        };
        tokio::spawn(session.run(reader, write, accepted))
            .await
            .unwrap_or_else(|e| {
                Err(LinkError::Stopped(format!(
                    "the primary's session failed: {e}"
                )))
            })
    }
}

/// A completed handshake.
struct Accepted {
    standby: Hello,
    resume_from: u64,
    /// This journal's last seq when the connection began.
    last_seq: u64,
    /// Positioned at `resume_from`.
    journal: Reader,
}

/// Runs a blocking journal call off the reactor.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, JournalError> + Send + 'static,
) -> Result<T, LinkError> {
    match tokio::task::spawn_blocking(call).await {
        Ok(result) => Ok(result?),
        Err(e) => Err(LinkError::Stopped(format!("a journal call failed: {e}"))),
    }
}

/// The newest [`MAX_HISTORY`] epochs of a history, for a `Hello`.
pub(crate) fn newest(mut history: Vec<drx_journal::EpochStart>) -> Vec<drx_journal::EpochStart> {
    if history.len() > MAX_HISTORY {
        history.drain(..history.len() - MAX_HISTORY);
    }
    history
}

/// The primary's side of the handshake (docs/PROTOCOL.md, "States of the
/// primary").
async fn handshake(
    settings: &PrimarySettings,
    reader: &mut FrameReader,
    write: &mut WriteHalf,
) -> Result<Accepted, LinkError> {
    let peer = reader.peer();
    let dir = settings.journal_dir.clone();
    let (epoch, last_seq, role, history) = blocking(move || {
        Ok((
            drx_journal::current_epoch(&dir)?,
            drx_journal::last_seq(&dir)?,
            drx_journal::node_role(&dir)?,
            drx_journal::epoch_history(&dir)?,
        ))
    })
    .await?;
    match role {
        Some(NodeRole::Fenced { epoch: newer, by }) => {
            return Err(LinkError::Fenced {
                epoch: newer,
                ours: epoch,
                by,
            });
        }
        Some(NodeRole::Standby) => {
            return Err(LinkError::Config(
                "this node is a standby: its journal receives a primary's entries, it has none of its own to send (`drx promote` makes it the primary)".into(),
            ));
        }
        Some(NodeRole::Primary | NodeRole::HandingOver) | None => {}
    }
    let ours = Hello {
        version: PROTOCOL_VERSION,
        role: Role::Primary,
        node_id: settings.node_id.clone(),
        epoch,
        last_seq,
        nonce: Nonce::random()?,
        history: newest(history),
    };
    settings.status.update(|s| {
        s.epoch = epoch;
        s.journal_seq = s.journal_seq.max(last_seq);
    });
    link::write_message(write, peer, &Message::Hello(ours.clone())).await?;
    let standby = match reader.next_handshake_message().await {
        Ok(Message::Hello(hello)) => hello,
        Ok(other) => {
            let text = format!("expected Hello, got {}", other.kind());
            return Err(goodbye(write, peer, Reason::ProtocolViolation, text).await);
        }
        Err(e) => return Err(goodbye_error(write, peer, e).await),
    };
    if standby.version != PROTOCOL_VERSION {
        let text = format!("this node speaks protocol version {PROTOCOL_VERSION} only");
        return Err(goodbye(write, peer, Reason::UnsupportedVersion, text).await);
    }
    if standby.role != Role::Standby {
        let text = format!(
            "this node is a primary; the peer says it is a {}",
            standby.role
        );
        return Err(goodbye(write, peer, Reason::WrongRole, text).await);
    }
    if let Some(expected) = &settings.standby_node_id
        && *expected != standby.node_id
    {
        let text = format!(
            "this primary mirrors to {expected}, not {}",
            standby.node_id
        );
        return Err(goodbye(write, peer, Reason::UnknownNode, text).await);
    }
    if standby.nonce == ours.nonce {
        let text = "the Hello carries this node's own nonce".to_owned();
        return Err(goodbye(write, peer, Reason::WrongSecret, text).await);
    }
    let transcript = match Transcript::new(&ours, &standby, reader.channel_binding()) {
        Ok(t) => t,
        Err(e) => return Err(goodbye(write, peer, Reason::ProtocolViolation, e.to_string()).await),
    };
    let secret = &settings.secret;
    let proof = transcript.proof(secret, Role::Primary);
    link::write_message(write, peer, &Message::Proof(proof)).await?;
    let proof = match reader.next_handshake_message().await {
        Ok(Message::Proof(proof)) => proof,
        Ok(other) => {
            let text = format!("expected Proof, got {}", other.kind());
            return Err(goodbye(write, peer, Reason::ProtocolViolation, text).await);
        }
        Err(e) => return Err(goodbye_error(write, peer, e).await),
    };
    if transcript.verify(secret, Role::Standby, &proof).is_err() {
        let text = "the standby's proof does not verify".to_owned();
        return Err(goodbye(write, peer, Reason::WrongSecret, text).await);
    }
    let resume_from = match reader.next_handshake_message().await {
        Ok(Message::Welcome { resume_from }) => resume_from,
        Err(LinkError::Refused {
            reason: Reason::EpochFenced,
            ..
        }) if standby.epoch > epoch => {
            // The standby proved itself: it was promoted, or follows one
            // that was. This node must take no more writes.
            let dir = settings.journal_dir.clone();
            let role = NodeRole::Fenced {
                epoch: standby.epoch,
                by: standby.node_id.clone(),
            };
            blocking(move || drx_journal::set_node_role(&dir, &role)).await?;
            let e = LinkError::Fenced {
                epoch: standby.epoch,
                ours: epoch,
                by: standby.node_id.clone(),
            };
            tracing::error!("ALERT: {e}");
            return Err(e);
        }
        Ok(other) => {
            let text = format!("expected Welcome, got {}", other.kind());
            return Err(goodbye(write, peer, Reason::ProtocolViolation, text).await);
        }
        Err(e) => return Err(goodbye_error(write, peer, e).await),
    };
    if resume_from == 0 || resume_from > last_seq + 1 {
        let text =
            format!("the standby asks for seq {resume_from}, this journal ends at seq {last_seq}");
        goodbye(write, peer, Reason::CannotResume, text.clone()).await;
        return Err(LinkError::CannotResume(text));
    }
    let dir: PathBuf = settings.journal_dir.clone();
    let journal = match blocking(move || Reader::open(&dir, resume_from)).await {
        Ok(reader) => reader,
        Err(LinkError::Journal(e @ JournalError::Gone { .. })) => {
            let text = format!("the standby asks for seq {resume_from}: {e}");
            goodbye(write, peer, Reason::CannotResume, text.clone()).await;
            return Err(LinkError::CannotResume(text));
        }
        Err(e) => return Err(e),
    };
    Ok(Accepted {
        standby,
        resume_from,
        last_seq,
        journal,
    })
}

/// One streaming connection to the standby.
#[derive(Debug)]
struct Session {
    settings: Arc<PrimarySettings>,
    shutdown: Shutdown,
    /// Dropped when the session ends (never sent on).
    _shutdown_complete: mpsc::Sender<()>,
}

/// A batch sent and not yet acknowledged.
#[derive(Debug)]
struct InFlight {
    last_seq: u64,
    bytes: usize,
    sent: Instant,
}

/// The session's streaming state.
struct Stream {
    /// Reads the journal ahead.
    feed: Option<Feed>,
    /// The last seq the journal is known to hold; heartbeats carry it.
    head: Arc<AtomicU64>,
    /// A frame from the feed waiting for room in the outbox.
    pending: Option<Shipment>,
    /// The seq the next frame must start at.
    next_seq: u64,
    /// The highest seq ever sent on this connection.
    sent_high: u64,
    /// The last seq acknowledged.
    acked: u64,
    in_flight: VecDeque<InFlight>,
    /// The consumer position last written, and when.
    consumer_at: (u64, Instant),
    lag_warned: bool,
    /// Feed threads stopped by rewinds, to be joined at the end.
    stopped: Vec<std::thread::JoinHandle<()>>,
}

impl Session {
    async fn run(
        mut self,
        mut reader: FrameReader,
        write: WriteHalf,
        accepted: Accepted,
    ) -> Result<(), LinkError> {
        let settings = Arc::clone(&self.settings);
        let status = &settings.status;
        reader.streaming();
        let peer = reader.peer();
        let beats = settings.heartbeats;
        let head = Arc::new(AtomicU64::new(accepted.last_seq));
        let outbox = Outbox::spawn(write, peer, beats.interval, Arc::clone(&head));
        let acked = accepted.resume_from - 1;
        let mut stream = Stream {
            feed: Some(Feed::start(
                accepted.journal,
                self.limits(),
                Arc::clone(&head),
            )?),
            head,
            pending: None,
            next_seq: accepted.resume_from,
            sent_high: acked,
            acked,
            in_flight: VecDeque::new(),
            consumer_at: (0, Instant::now()),
            lag_warned: false,
            stopped: Vec::new(),
        };
        status.acked().advance(acked);
        let standby_node = accepted.standby.node_id.clone();
        status.update(|s| {
            s.state = LinkState::Streaming;
            s.peer_node_id = Some(accepted.standby.node_id.clone());
            s.peer_addr = Some(peer);
            s.connected_since = Some(SystemTime::now());
            s.last_sent_seq = acked;
            s.last_acked_seq = acked;
            s.counters.connections += 1;
            s.last_error = None;
        });
        let mut tick = tokio::time::interval((beats.interval / 2).max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_received = Instant::now();
        let (goodbye, result): End = loop {
            let feed_rx = stream.feed.as_mut().map(|f| &mut f.rx);
            tokio::select! {
                _ = self.shutdown.recv() => {
                    break (Some((Reason::Shutdown, "the primary is shutting down".into())), Ok(()));
                }
                frame = reader.next_frame() => {
                    last_received = Instant::now();
                    let frame = match frame {
                        Ok(Some(frame)) => frame,
                        Ok(None) => break (None, Err(LinkError::Closed)),
                        Err(e) => break closing(e),
                    };
                    if let Some(end) = self.take(&mut stream, frame).await {
                        break end;
                    }
                }
                item = recv(feed_rx), if stream.pending.is_none() => match item {
                    Some(Ok(shipment)) if shipment.first_seq == stream.next_seq => {
                        stream.next_seq = shipment.last_seq + 1;
                        stream.pending = Some(shipment);
                    }
                    Some(Ok(shipment)) => {
                        let text = format!(
                            "the journal feed gave seq {}, seq {} was next",
                            shipment.first_seq, stream.next_seq
                        );
                        break (Some((Reason::Shutdown, text.clone())), Err(LinkError::Stopped(text)));
                    }
                    Some(Err(e)) => {
                        break (Some((Reason::Shutdown, format!("the primary's journal: {e}"))), Err(e));
                    }
                    None => {
                        let text = "the journal feed stopped".to_owned();
                        break (Some((Reason::Shutdown, text.clone())), Err(LinkError::Stopped(text)));
                    }
                },
                permit = outbox.reserve(), if stream.pending.is_some() => {
                    let (Ok(permit), Some(shipment)) = (permit, stream.pending.take()) else {
                        break (None, Err(LinkError::Closed));
                    };
                    let bytes = shipment.frame.len();
                    let count = shipment.last_seq - shipment.first_seq + 1;
                    stream.sent_high = stream.sent_high.max(shipment.last_seq);
                    stream.in_flight.push_back(InFlight {
                        last_seq: shipment.last_seq,
                        bytes,
                        sent: Instant::now(),
                    });
                    permit.send(shipment.frame);
                    let last_sent = shipment.last_seq;
                    status.update(|s| {
                        s.last_sent_seq = last_sent;
                        s.counters.batches += 1;
                        s.counters.entries += count;
                        s.counters.bytes += bytes as u64;
                    });
                }
                _ = tick.tick() => {
                    if let Some(last_seq) = settings.handover.due(stream.acked) {
                        if let Err(e) = outbox.send(&Message::Handover { last_seq }).await {
                            break (None, Err(e));
                        }
                        settings.handover.mark_sent(&standby_node);
                        tracing::warn!(last_seq, standby = %standby_node, "switchover: Handover sent");
                    }
                    if last_received.elapsed() >= beats.dead_after() {
                        status.update(|s| s.counters.timeouts += 1);
                        let text = format!("nothing from the standby for {:?}", beats.dead_after());
                        break (Some((Reason::Timeout, text.clone())), Err(LinkError::Timeout(text)));
                    }
                    self.report(&mut stream);
                    self.store_consumer(&mut stream, false).await;
                }
                _ = outbox.closed() => break (None, Err(LinkError::Closed)),
            }
        };
        if let Some((reason, text)) = &goodbye {
            tracing::info!(%reason, %text, "saying goodbye");
        }
        outbox.close(goodbye).await;
        self.store_consumer(&mut stream, true).await;
        if let Some(feed) = stream.feed.take() {
            stream.stopped.extend(feed.stop());
        }
        let threads = std::mem::take(&mut stream.stopped);
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
        result
    }

    fn limits(&self) -> Limits {
        Limits {
            entries: self.settings.max_batch_entries.max(1),
            bytes: self.settings.max_batch_bytes.max(1),
            wake: self.settings.status.journal_wake().clone(),
        }
    }

    /// Handles one frame from the standby; `Some` ends the connection.
    async fn take(&mut self, stream: &mut Stream, frame: Bytes) -> Option<End> {
        let status = &self.settings.status;
        match Message::decode(&frame) {
            Ok(Some((Message::Ack { applied }, _))) => {
                if applied < stream.acked || applied > stream.sent_high {
                    return Some(violation(format!(
                        "Ack({applied}) after Ack({}) with seq {} sent",
                        stream.acked, stream.sent_high
                    )));
                }
                stream.acked = applied;
                while stream
                    .in_flight
                    .front()
                    .is_some_and(|b| b.last_seq <= applied)
                {
                    stream.in_flight.pop_front();
                }
                status.acked().advance(applied);
                status.update(|s| s.last_acked_seq = applied);
                None
            }
            Ok(Some((Message::Heartbeat { .. }, _))) => {
                status.update(|s| s.counters.heartbeats_received += 1);
                None
            }
            Ok(Some((Message::Verified(result), _))) => {
                if result.seq == 0 || result.seq > stream.sent_high {
                    return Some(violation(format!(
                        "Verified({}) with seq {} sent",
                        result.seq, stream.sent_high
                    )));
                }
                let dir = &self.settings.journal_dir;
                crate::replica::record_verified(dir, status, result).await;
                None
            }
            Ok(Some((Message::Resend { from_seq }, _))) => {
                if from_seq <= stream.acked || from_seq > stream.sent_high + 1 {
                    return Some(violation(format!(
                        "Resend({from_seq}) with seq {} acknowledged and {} sent",
                        stream.acked, stream.sent_high
                    )));
                }
                self.rewind(stream, from_seq).await.err()
            }
            Ok(Some((Message::Goodbye { reason, text }, _))) => {
                tracing::info!(%reason, %text, "the standby said goodbye");
                let result = if reason == Reason::Shutdown {
                    Ok(())
                } else {
                    Err(LinkError::Goodbye { reason, text })
                };
                Some((None, result))
            }
            Ok(Some((other, _))) => Some(violation(format!(
                "unexpected {} while streaming",
                other.kind()
            ))),
            Ok(None) => Some(violation("an incomplete frame".into())),
            Err(e @ DecodeError::PayloadChecksum { kind, .. }) => {
                tracing::warn!(error = %e, "damaged frame dropped");
                status.update(|s| s.counters.corrupt_frames += 1);
                if kind == MessageKind::Resend {
                    // A damaged Resend: send again everything after the
                    // last Ack.
                    let from = stream.acked + 1;
                    return self.rewind(stream, from).await.err();
                }
                None
            }
            Err(e) => Some(closing(LinkError::Decode(e))),
        }
    }

    /// Sends again from `from`: a new feed from there; what was queued from
    /// the old one is dropped (the standby discards what it no longer
    /// expects).
    async fn rewind(&mut self, stream: &mut Stream, from: u64) -> Result<(), End> {
        tracing::info!(from, "the standby asks for entries again");
        if let Some(feed) = stream.feed.take() {
            stream.stopped.extend(feed.stop());
        }
        stream.pending = None;
        let dir = self.settings.journal_dir.clone();
        let reader = match blocking(move || Reader::open(&dir, from)).await {
            Ok(reader) => reader,
            Err(e) => {
                return Err((
                    Some((Reason::Shutdown, format!("the primary's journal: {e}"))),
                    Err(e),
                ));
            }
        };
        match Feed::start(reader, self.limits(), Arc::clone(&stream.head)) {
            Ok(feed) => stream.feed = Some(feed),
            Err(e) => return Err((Some((Reason::Shutdown, e.to_string())), Err(e))),
        }
        stream.next_seq = from;
        stream.in_flight.retain(|b| b.last_seq < from);
        self.settings.status.update(|s| s.counters.resends += 1);
        Ok(())
    }

    /// Lag and queue figures for the status; the `qmon_warn_at` warning.
    fn report(&self, stream: &mut Stream) {
        let head = stream.head.load(Ordering::Relaxed);
        let lag_entries = head.saturating_sub(stream.acked);
        let lag_bytes: usize = stream.in_flight.iter().map(|b| b.bytes).sum();
        let lag_ms = stream
            .in_flight
            .front()
            .map(|b| b.sent.elapsed().as_millis() as u64);
        let queued =
            stream.feed.as_ref().map_or(0, Feed::queued) + usize::from(stream.pending.is_some());
        let warn_at = self.settings.warn_lag_entries;
        if warn_at > 0 {
            if lag_entries >= warn_at && !stream.lag_warned {
                tracing::warn!(
                    lag_entries,
                    warn_at,
                    "the standby lags behind (qmon_warn_at)"
                );
                stream.lag_warned = true;
            } else if lag_entries < warn_at {
                stream.lag_warned = false;
            }
        }
        self.settings.status.update(|s| {
            s.journal_seq = s.journal_seq.max(head);
            s.lag_entries = lag_entries;
            s.lag_bytes = lag_bytes as u64;
            s.lag_ms = Some(lag_ms.unwrap_or(0));
            s.queue_depth = queued;
        });
    }

    /// Records the acknowledged seq as the standby's consumer position
    /// (at most every second unless `now`), so that retention keeps the
    /// rest.
    async fn store_consumer(&self, stream: &mut Stream, now: bool) {
        let Some(name) = self.settings.consumer.clone() else {
            return;
        };
        let (stored, at) = stream.consumer_at;
        if stream.acked <= stored || (!now && at.elapsed() < CONSUMER_EVERY) {
            return;
        }
        let dir = self.settings.journal_dir.clone();
        let seq = stream.acked;
        match blocking(move || drx_journal::set_consumer_position(&dir, &name, seq)).await {
            Ok(()) => stream.consumer_at = (seq, Instant::now()),
            Err(e) => tracing::warn!(error = %e, "cannot record the standby's consumer position"),
        }
    }
}

/// The next item of the feed, or never while there is none.
async fn recv(
    rx: Option<&mut mpsc::Receiver<Result<Shipment, LinkError>>>,
) -> Option<Result<Shipment, LinkError>> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Says goodbye to the standby with `reason`; the error to return.
async fn goodbye(
    write: &mut WriteHalf,
    peer: SocketAddr,
    reason: Reason,
    text: String,
) -> LinkError {
    link::farewell(write, peer, link::Farewell::Goodbye, reason, text).await
}

/// A handshake read failed: told to the standby where it can be.
async fn goodbye_error(write: &mut WriteHalf, peer: SocketAddr, e: LinkError) -> LinkError {
    link::farewell_error(write, peer, link::Farewell::Goodbye, e).await
}
