//! The standby's applier: one std thread, for the whole life of the
//! standby server, that owns the standby's journal [`Writer`] and its
//! [`Replica`]. Sessions hand it `Entries` frames over a bounded channel;
//! it appends each entry to the journal (keeping the primary's seq, epoch
//! and timestamp), applies it to the replica files, and after a group of
//! batches makes the journal durable and reports its seq, which the
//! session acknowledges. File I/O and fsyncs never run on the reactor.
//!
//! The standby journal is the replicas' redo log: an entry is durable once
//! the journal is, and the replica files and their state are made durable
//! at least every `replica_sync_ms` (default [`REPLICA_SYNC_EVERY`]), at each new connection and at
//! shutdown. After a crash, opening the applier applies the journal's
//! entries past the replica's durable state again (each effect sets bytes,
//! so applying one twice leaves the same file), before it reports a
//! position: one fsync per acknowledgement, not two.

use crate::error::LinkError;
use crate::protocol::{Entries, HEADER_LEN, TRAILER_LEN, Verified};
use crate::replica::{Replica, ReplicaConfig, ReplicaError};
use crate::status::{FileCounters, StatusBoard};
use crate::transfer_server::{Incoming, TransferCommand};
use bytes::Bytes;
use drx_journal::{ChecksumReason, Effect, NodeRole, Writer, WriterConfig, decode_entry};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Batches queued for the applier, at most: the standby stops reading from
/// the socket when they are not applied fast enough (backpressure).
pub(crate) const QUEUE_BATCHES: usize = 32;
/// A group of batches made durable together is at most this large: the
/// applier takes the batches already queued, up to this, before syncing.
const GROUP_BYTES: usize = 32 * 1024 * 1024;

/// The replica files and their state are made durable at least this
/// often while entries arrive (the journal, at every acknowledgement), by
/// default (`[mirror] replica_sync_ms`).
pub(crate) const REPLICA_SYNC_EVERY: Duration = Duration::from_secs(1);
/// ... and whenever this many bytes of entries were applied since the
/// last time: bulk data is then flushed in steps the disk takes alongside
/// the journal's, not in one long stall.
const REPLICA_SYNC_BYTES: u64 = 32 * 1024 * 1024;

/// The standby's durable position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// The standby journal's epoch.
    pub epoch: u64,
    /// Every entry up to this seq is in the standby journal, durably, and
    /// applied to the replicas (durably, or recoverably from the journal).
    pub durable: u64,
}

/// What a session asks of the applier.
#[derive(Debug)]
pub(crate) enum Command {
    /// Append and apply the entries of a batch.
    Batch(Batch),
    /// Apply everything queued before, make it durable, answer the
    /// position: a new connection's starting point.
    Barrier(oneshot::Sender<Position>),
    /// The connected primary has a newer epoch: take it.
    AdoptEpoch(u64, oneshot::Sender<Result<(), String>>),
    /// A transfer session's blocks (`drx sync`): written here, ordered
    /// with the stream's entries (`transfer_server.rs`).
    Transfer(TransferCommand),
    /// A shipped segment received over a transfer session (`drx ship
    /// --to-standby`), verified: applied here, ordered with the stream's
    /// entries (`shipping/receive.rs`).
    Shipped(Box<crate::shipping::Shipped>),
}

/// An intact `Entries` frame and what to do with it.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The whole frame (checksums verified by the session).
    pub frame: Bytes,
    pub first_seq: u64,
    pub count: u32,
    /// Entries below this seq were received before: skip them.
    pub from_seq: u64,
    /// The session's event channel: the applier is its only sender, the
    /// session's main loop owns the receiver.
    pub events: mpsc::UnboundedSender<Event>,
}

/// What the applier tells a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// Every entry up to this seq is durable: acknowledge it.
    Durable(u64),
    /// The session's primary sent an entry that is not what it claims (its
    /// seq is not its place in the batch, or it does not decode): close.
    Violation(String),
    /// A replica was compared with a `Checksum` entry: tell the primary.
    Verified(Verified),
}

/// The running applier: how to reach it and how to learn that it stopped.
#[derive(Debug)]
pub(crate) struct Applier {
    /// Commands; clones are held by the sessions (one each), the applier
    /// thread owns the receiver. The applier stops once all are dropped.
    pub commands: mpsc::Sender<Command>,
    /// The applier thread's result, sent as it ends; owned by the server.
    pub done: oneshot::Receiver<Result<(), LinkError>>,
    pub thread: std::thread::JoinHandle<()>,
}

impl Applier {
    /// Opens the standby journal and the replica on a new thread; returns
    /// once both are open, with the position they resume from.
    pub(crate) async fn start(
        journal: WriterConfig,
        replica: ReplicaConfig,
        status: StatusBoard,
        log_statistics: bool,
        replica_sync_every: Duration,
    ) -> Result<(Applier, Position), LinkError> {
        let (commands, rx) = mpsc::channel(QUEUE_BATCHES);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("drx-standby-apply".into())
            .spawn(move || {
                let journal_dir = journal.dir.clone();
                let opened = Writer::open(journal)
                    .map_err(LinkError::from)
                    .and_then(claim_standby)
                    .and_then(|w| Ok((w, Replica::open(&replica)?)))
                    .and_then(|(w, mut r)| {
                        redo(&journal_dir, w.last_seq(), &mut r)?;
                        Ok((w, r))
                    });
                let mut state = match opened {
                    Ok((writer, replica)) => {
                        let mut state = State::new(writer, replica, status);
                        state.journal_dir = Some(journal_dir);
                        state.log_statistics = log_statistics;
                        state.replica_sync_every = replica_sync_every;
                        state
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(state.position());
                let result = state.run(rx);
                let closed = state.close();
                let result = result.and(closed);
                if let Err(e) = &result {
                    tracing::error!(error = %e, "the standby's apply stopped");
                    state.status.update(|s| s.last_error = Some(e.to_string()));
                }
                let _ = done_tx.send(result);
            })
            .map_err(LinkError::io("starting the standby's apply thread"))?;
        let position = match ready_rx.await {
            Ok(result) => result?,
            Err(_) => {
                return Err(LinkError::Stopped(
                    "the standby's apply thread ended before opening".into(),
                ));
            }
        };
        Ok((
            Applier {
                commands,
                done,
                thread,
            },
            position,
        ))
    }
}

/// The applier thread's state (also `drx apply`'s: `shipping/apply.rs`).
pub(crate) struct State {
    writer: Option<Writer>,
    replica: Option<Replica>,
    status: StatusBoard,
    /// The session whose primary broke the protocol: its remaining
    /// batches are dropped.
    poisoned: Option<mpsc::UnboundedSender<Event>>,
    /// Sessions to tell the durable seq after the group's sync.
    waiting: Vec<mpsc::UnboundedSender<Event>>,
    counts: Counts,
    /// Per file, the operations received since the last status update
    /// (kept at zero between updates, so that a file costs one allocation
    /// for the server's life).
    files: HashMap<String, FileCounters>,
    /// Log a file's counters when its close checksum arrives.
    log_statistics: bool,
    /// When the replica files and state were last made durable.
    replica_synced: std::time::Instant,
    /// How often they are, at least.
    replica_sync_every: Duration,
    /// Bytes of entries applied since.
    unsynced_bytes: u64,
    /// The primary's timestamp of the last entry applied.
    last_timestamp_us: Option<i64>,
    /// The standby journal's directory (transfers replay from it).
    journal_dir: Option<std::path::PathBuf>,
    /// Transfer sessions' files being received.
    incoming: Incoming,
}

/// Counts since the last status update.
#[derive(Debug, Default)]
struct Counts {
    batches: u64,
    bytes: u64,
    entries: u64,
    skipped: u64,
    refused: u64,
    /// Replicas compared with a `Checksum` entry, and those that differed.
    verified: u64,
    verify_mismatches: u64,
    /// Some file counter changed.
    files_touched: bool,
}

impl State {
    pub(crate) fn new(writer: Writer, replica: Replica, status: StatusBoard) -> State {
        let state = State {
            writer: Some(writer),
            replica: Some(replica),
            status,
            poisoned: None,
            waiting: Vec::new(),
            counts: Counts::default(),
            files: HashMap::new(),
            log_statistics: false,
            replica_synced: std::time::Instant::now(),
            replica_sync_every: REPLICA_SYNC_EVERY,
            unsynced_bytes: 0,
            last_timestamp_us: None,
            journal_dir: None,
            incoming: Incoming::default(),
        };
        if let Ok(p) = state.position() {
            state.status.update(|s| {
                s.epoch = p.epoch;
                s.durable_seq = p.durable;
                s.last_applied_seq = p.durable;
                s.last_acked_seq = p.durable;
            });
        }
        state
    }

    fn parts(&mut self) -> Result<(&mut Writer, &mut Replica), LinkError> {
        match (self.writer.as_mut(), self.replica.as_mut()) {
            (Some(w), Some(r)) => Ok((w, r)),
            _ => Err(LinkError::Stopped("the standby's apply is closed".into())),
        }
    }

    pub(crate) fn position(&self) -> Result<Position, LinkError> {
        match (&self.writer, &self.replica) {
            (Some(w), Some(r)) => Ok(Position {
                epoch: w.epoch(),
                durable: w.last_seq().min(r.applied_seq()),
            }),
            _ => Err(LinkError::Stopped("the standby's apply is closed".into())),
        }
    }

    fn run(&mut self, mut rx: mpsc::Receiver<Command>) -> Result<(), LinkError> {
        while let Some(command) = rx.blocking_recv() {
            let mut next = Some(command);
            while let Some(command) = next.take() {
                match command {
                    Command::Batch(batch) => {
                        let mut group = batch.frame.len();
                        self.batch(batch)?;
                        // Take what is queued already into the same sync.
                        while group < GROUP_BYTES {
                            match rx.try_recv() {
                                Ok(Command::Batch(batch)) => {
                                    group += batch.frame.len();
                                    self.batch(batch)?;
                                }
                                Ok(other) => {
                                    next = Some(other);
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                        self.sync(rx.len(), false)?;
                    }
                    Command::Barrier(reply) => {
                        self.sync(rx.len(), true)?;
                        let _ = reply.send(self.position()?);
                    }
                    Command::AdoptEpoch(epoch, reply) => {
                        let (writer, _) = self.parts()?;
                        let result = writer.set_epoch(epoch).map_err(|e| e.to_string());
                        let failed = result.is_err();
                        let _ = reply.send(result);
                        if failed {
                            return Err(LinkError::Stopped(format!(
                                "cannot take the primary's epoch {epoch}"
                            )));
                        }
                        self.status.update(|s| s.epoch = epoch);
                    }
                    Command::Transfer(transfer) => self.transfer(transfer)?,
                    Command::Shipped(shipped) => crate::shipping::apply_received(self, *shipped)?,
                }
            }
        }
        Ok(())
    }

    /// A transfer session's blocks, or the end of one of its files: the
    /// replica is cut, the standby journal's entries of the file replayed
    /// over it up to the applied seq (flushed first, so that they can be
    /// read), and the answer sent.
    fn transfer(&mut self, command: TransferCommand) -> Result<(), LinkError> {
        match command {
            TransferCommand::Blocks {
                session,
                path,
                offset,
                data,
            } => self.incoming.blocks(session, path, offset, &data),
            TransferCommand::End {
                session,
                path,
                end,
                reply,
            } => {
                let (writer, replica) = self.parts()?;
                writer.flush()?;
                let applied = replica.applied_seq();
                let synced = match &self.journal_dir {
                    Some(dir) => self.incoming.end(session, path, &end, dir, applied),
                    None => crate::protocol::Synced {
                        process: end.process.clone(),
                        file: end.file.clone(),
                        blocks: 0,
                        bytes: 0,
                        replayed: 0,
                        failed: Some("this apply takes no transfers".into()),
                    },
                };
                let _ = reply.send(synced);
            }
            TransferCommand::Forget { session } => self.incoming.forget(session),
        }
        Ok(())
    }

    /// Appends and applies the entries of one batch.
    fn batch(&mut self, batch: Batch) -> Result<(), LinkError> {
        if self
            .poisoned
            .as_ref()
            .is_some_and(|p| p.same_channel(&batch.events))
        {
            return Ok(());
        }
        if !self.waiting.iter().any(|w| w.same_channel(&batch.events)) {
            self.waiting.push(batch.events.clone());
        }
        self.counts.batches += 1;
        self.counts.bytes += batch.frame.len() as u64;
        self.unsynced_bytes += batch.frame.len() as u64;
        let raw = batch
            .frame
            .get(HEADER_LEN + 12..batch.frame.len().saturating_sub(TRAILER_LEN))
            .unwrap_or_default();
        let entries = match Entries::parse(batch.first_seq, batch.count, raw) {
            Ok(entries) => entries,
            Err(e) => return self.violation(&batch.events, e.to_string()),
        };
        for (seq, bytes) in entries.with_seqs() {
            if seq < batch.from_seq {
                self.counts.skipped += 1;
                continue;
            }
            match self.entry(seq, bytes) {
                Ok(None) => {}
                Ok(Some(verified)) => {
                    let _ = batch.events.send(Event::Verified(verified));
                }
                Err(Fault::Violation(text)) => return self.violation(&batch.events, text),
                Err(Fault::Fatal(e)) => return Err(e),
            }
        }
        Ok(())
    }

    fn violation(
        &mut self,
        events: &mpsc::UnboundedSender<Event>,
        text: String,
    ) -> Result<(), LinkError> {
        tracing::error!(%text, "the primary sent a bad entry; closing its connection");
        let _ = events.send(Event::Violation(text));
        self.poisoned = Some(events.clone());
        Ok(())
    }

    /// Appends and applies one entry; a `Checksum` entry's comparison is
    /// returned, to be sent to the primary.
    pub(crate) fn entry(&mut self, seq: u64, bytes: &[u8]) -> Result<Option<Verified>, Fault> {
        let entry = decode_entry(bytes)
            .map_err(|e| Fault::Violation(format!("the entry at seq {seq}: {e}")))?;
        if entry.seq != seq {
            return Err(Fault::Violation(format!(
                "the entry at seq {seq} of its batch says it is seq {}",
                entry.seq
            )));
        }
        let (writer, _) = self.parts()?;
        let journal_last = writer.last_seq();
        if seq > journal_last + 1 {
            return Err(Fault::Violation(format!(
                "seq {seq} does not follow the standby journal's last seq {journal_last}"
            )));
        }
        if seq == journal_last + 1 {
            writer.append_replica(&entry).map_err(LinkError::from)?;
        }
        let counted = match self.files.get_mut(entry.file) {
            Some(counters) => counters.count(&entry),
            None => {
                let mut counters = FileCounters::default();
                let counted = counters.count(&entry);
                if counted {
                    self.files.insert(entry.file.to_owned(), counters);
                }
                counted
            }
        };
        if counted {
            self.counts.files_touched = true;
        }
        let (_, replica) = self.parts()?;
        let mut verified = None;
        match replica.apply(&entry) {
            Ok(crate::replica::Outcome::Skipped) => self.counts.skipped += 1,
            Ok(crate::replica::Outcome::Verified { identical }) => {
                verified = replica.take_verification();
                self.counts.entries += 1;
                self.counts.verified += 1;
                self.counts.verify_mismatches += u64::from(!identical);
            }
            Ok(_) => self.counts.entries += 1,
            Err(ReplicaError::Refused { .. } | ReplicaError::NotOnReplica { .. }) => {
                // Logged by the replica; the entry counts as processed.
                self.counts.entries += 1;
                self.counts.refused += 1;
            }
            Err(e) => return Err(Fault::Fatal(e.into())),
        }
        if self.log_statistics
            && let Effect::Checksum(c) = entry.effect
            && c.reason() == ChecksumReason::Close
        {
            let mut total = self.status.file_counters(entry.file).unwrap_or_default();
            if let Some(delta) = self.files.get(entry.file) {
                total.add(delta);
            }
            tracing::info!("statistics at close: {}: {total}", entry.file);
        }
        self.last_timestamp_us = Some(entry.timestamp_us);
        Ok(verified)
    }

    /// Makes the journal durable — and the replicas too when `full` or
    /// when [`REPLICA_SYNC_EVERY`] has passed —, tells the waiting
    /// sessions, updates the status.
    pub(crate) fn sync(&mut self, queued: usize, full: bool) -> Result<(), LinkError> {
        let replicas_due = full
            || self.unsynced_bytes >= REPLICA_SYNC_BYTES
            || self.replica_synced.elapsed() >= self.replica_sync_every;
        let (writer, replica) = self.parts()?;
        if !replicas_due {
            writer.sync()?;
            return self.synced(queued);
        }
        // The journal's fsync on a helper thread while the replica's run
        // here: an Ack waits for the slower, not for both in a row.
        let (journal, replicas) = std::thread::scope(|scope| {
            let journal = std::thread::Builder::new()
                .name("drx-standby-sync".into())
                .spawn_scoped(scope, || writer.sync());
            let replicas = replica.sync();
            let journal: Result<(), LinkError> = match journal {
                Ok(handle) => match handle.join() {
                    Ok(synced) => synced.map_err(LinkError::from),
                    Err(_) => Err(LinkError::Stopped(
                        "the standby journal's sync thread panicked".into(),
                    )),
                },
                Err(e) => Err(LinkError::io("starting the standby journal's sync thread")(
                    e,
                )),
            };
            (journal, replicas)
        });
        journal?;
        replicas?;
        self.replica_synced = std::time::Instant::now();
        self.unsynced_bytes = 0;
        self.synced(queued)
    }

    /// After a sync: tells the waiting sessions, updates the status.
    fn synced(&mut self, queued: usize) -> Result<(), LinkError> {
        let (_, replica) = self.parts()?;
        let applied = replica.applied_seq();
        let position = self.position()?;
        for events in self.waiting.drain(..) {
            let _ = events.send(Event::Durable(position.durable));
        }
        let counts = std::mem::take(&mut self.counts);
        let lag_ms = self.last_timestamp_us.map(|t| {
            let age = crate::link::now_us().saturating_sub(t).max(0);
            Duration::from_micros(age.unsigned_abs()).as_millis() as u64
        });
        self.status.update(|s| {
            s.durable_seq = position.durable;
            s.last_applied_seq = applied;
            s.epoch = position.epoch;
            s.queue_depth = queued;
            s.lag_entries = s.journal_seq.saturating_sub(position.durable);
            if lag_ms.is_some() {
                s.lag_ms = lag_ms;
            }
            let c = &mut s.counters;
            c.batches += counts.batches;
            c.bytes += counts.bytes;
            c.entries += counts.entries;
            c.skipped += counts.skipped;
            c.refused_entries += counts.refused;
            c.verified += counts.verified;
            c.verify_mismatches += counts.verify_mismatches;
            if counts.files_touched {
                for (file, delta) in self.files.iter_mut() {
                    if *delta == FileCounters::default() {
                        continue;
                    }
                    match s.files.get_mut(file.as_str()) {
                        Some(total) => total.add(delta),
                        None => {
                            s.files.insert(file.clone(), *delta);
                        }
                    }
                    *delta = FileCounters::default();
                }
            }
        });
        Ok(())
    }

    /// Makes everything durable and closes the journal and the replica.
    pub(crate) fn close(&mut self) -> Result<(), LinkError> {
        let synced = self.sync(0, true);
        let writer = self.writer.take().map(Writer::close);
        let replica = self.replica.take().map(Replica::close);
        synced?;
        if let Some(result) = writer {
            result?;
        }
        if let Some(result) = replica {
            result?;
        }
        Ok(())
    }
}

/// Why one entry was not taken.
pub(crate) enum Fault {
    /// The primary sent something wrong: close its connection.
    Violation(String),
    /// The journal or the replica failed: the standby stops.
    Fatal(LinkError),
}

impl From<LinkError> for Fault {
    fn from(e: LinkError) -> Fault {
        Fault::Fatal(e)
    }
}

/// Applies the standby journal's entries past the replica's state, up to
/// `last` (the journal's last seq), and makes the replica durable: after a
/// crash, the replica catches up with what was acknowledged.
/// Makes the journal a standby's ([`NodeRole::Standby`]): one that never
/// had a role may become one only while empty (else its entries are its own
/// applications', and `drx rejoin` must first reconcile them with the
/// primary's).
pub(crate) fn claim_standby(mut writer: Writer) -> Result<Writer, LinkError> {
    match writer.role() {
        Some(NodeRole::Standby) => Ok(writer),
        None if writer.last_seq() == 0 => {
            writer.set_role(NodeRole::Standby)?;
            Ok(writer)
        }
        None => Err(LinkError::Config(format!(
            "the journal holds {} entries of its own (it has no standby role): a standby needs an empty journal, or `drx rejoin` to make a former primary a standby",
            writer.last_seq()
        ))),
        Some(role) => Err(LinkError::Config(format!(
            "this node cannot be a standby as it is: it is {role}"
        ))),
    }
}

pub(crate) fn redo(
    journal_dir: &std::path::Path,
    last: u64,
    replica: &mut Replica,
) -> Result<(), LinkError> {
    let from = replica.applied_seq() + 1;
    if from > last {
        return Ok(());
    }
    let mut reader = drx_journal::Reader::open(journal_dir, from)?;
    let mut redone = 0u64;
    while let Some(entry) = reader.next()? {
        match replica.apply(&entry) {
            Ok(_) | Err(ReplicaError::Refused { .. } | ReplicaError::NotOnReplica { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        // A verification's result was sent before the crash, or is lost
        // with the connection; it is not sent again.
        let _ = replica.take_verification();
        redone += 1;
    }
    replica.sync()?;
    tracing::info!(
        from,
        to = replica.applied_seq(),
        entries = redone,
        "the replicas caught up with the standby journal"
    );
    Ok(())
}
