//! The reading side of an extraction: journal entries of one file id,
//! checked against the layout, assembled into batches that never split a
//! source transaction, each with the checkpoint it brings the sink to.
//! It runs on its own thread and hands batches over a channel to the
//! thread that applies them.

use crate::dead_letter::{DeadEntry, DeadLetters};
use crate::{ExtractError, ExtractOptions};
use drx_config::{BadRecordPolicy, Config};
use drx_journal::{Effect, Reader, RecordOp};
use drx_layouts::{DecodeError, Layout, Value};
use drx_sinks::{Batch, Checkpoint, Prepare};
use drx_templates::ChangeOp;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender};

/// Entries read with nothing to deliver before the position is saved anyway.
const IDLE_CHECKPOINT_ENTRIES: u64 = 100_000;

/// How often (in entries read) the age of the batch is looked at.
const LATENCY_CHECK_ENTRIES: u64 = 256;

/// What the reading side tells the applying side, in order.
#[derive(Debug)]
pub(crate) enum Msg {
    /// Apply this batch (with its checkpoint).
    Batch(Batch),
    /// The end of the journal for now: commit, and save the consumer position.
    Idle(Checkpoint),
    /// Stop with this error (what came before it was sent first).
    Failed(ExtractError),
    /// The end.
    Done,
}

/// What the reading side counted.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    pub aborted_txns: u64,
    pub entries_read: u64,
    pub dead_letters: u64,
}

/// A transaction whose changes wait for its commit.
#[derive(Debug)]
struct OpenTxn {
    id: u64,
    begin: u64,
    changes: Batch,
}

/// The reading side's state.
pub(crate) struct ReadSide<'a> {
    config: &'a Config,
    options: &'a ExtractOptions,
    layout: &'a Arc<Layout>,
    /// Every unit up to this seq was delivered before this run.
    applied_before: u64,
    batch: Batch,
    open: Vec<OpenTxn>,
    dead: DeadLetters,
    counts: Counts,
    scratch: String,
    /// The last file path seen and its file id (most entries repeat it).
    last_file: String,
    last_id: Option<u16>,
    link: Link,
}

/// The reading side's ends of the channels to the applying side, and the
/// sink's share of the work.
pub(crate) struct Link {
    /// Owned by the reading side: batches go out here...
    pub to_sink: SyncSender<Msg>,
    /// ...and come back here, emptied, to be reused.
    pub recycled: Receiver<Batch>,
    /// The sink's work done on the reading side, ahead of its `apply`.
    pub preparer: Option<Box<dyn Prepare>>,
    /// The sink's name, for errors of the preparer.
    pub sink: String,
}

/// The receiving side hung up (it failed or finished): stop reading.
struct HungUp;

impl<'a> ReadSide<'a> {
    pub fn new(
        config: &'a Config,
        options: &'a ExtractOptions,
        layout: &'a Arc<Layout>,
        applied_before: u64,
        link: Link,
    ) -> ReadSide<'a> {
        ReadSide {
            config,
            options,
            layout,
            applied_before,
            batch: Batch::new(options.file_id, layout.clone()),
            open: Vec::new(),
            dead: DeadLetters::new(&config.extractor.dead_letter_dir, options.file_id),
            counts: Counts::default(),
            scratch: String::new(),
            last_file: String::new(),
            last_id: None,
            link,
        }
    }

    /// Reads until the end of the journal (or, following, until told to
    /// stop), sending batches; returns the counts.
    pub fn run(mut self, mut reader: Reader, start: Checkpoint) -> Counts {
        let msg = match self.read(&mut reader, start) {
            Ok(Ok(())) => Msg::Done,
            Ok(Err(e)) => Msg::Failed(e),
            Err(HungUp) => return self.finish(),
        };
        let _ = self.link.to_sink.send(msg);
        self.finish()
    }

    fn finish(mut self) -> Counts {
        self.counts.dead_letters = self.dead.count;
        self.counts
    }

    fn send(&self, msg: Msg) -> Result<(), HungUp> {
        self.link.to_sink.send(msg).map_err(|_| HungUp)
    }

    /// The outer result says whether to go on at all; the inner one carries
    /// an extraction error to report.
    fn read(
        &mut self,
        reader: &mut Reader,
        start: Checkpoint,
    ) -> Result<Result<(), ExtractError>, HungUp> {
        let mut sent = start;
        let mut since_sent = 0u64;
        let mut idle_reported = false;
        // When the batch got its first change, looked at every
        // LATENCY_CHECK_ENTRIES entries.
        let latency = std::time::Duration::from_millis(self.config.extractor.batch_latency_ms);
        let mut batch_started: Option<std::time::Instant> = None;
        loop {
            let entry = match reader.next() {
                Ok(e) => e,
                Err(e) => return Ok(Err(e.into())),
            };
            let Some(entry) = entry else {
                // The end of the journal, for now.
                let position = self.position(reader.position());
                if !self.batch.is_empty() || position != sent {
                    self.flush(position)?;
                    sent = position;
                    since_sent = 0;
                    idle_reported = false;
                }
                if !idle_reported {
                    self.send(Msg::Idle(position))?;
                    idle_reported = true;
                }
                let stop = self
                    .options
                    .stop
                    .as_ref()
                    .is_some_and(|s| s.load(Ordering::Relaxed));
                if !self.options.follow || stop {
                    return Ok(Ok(()));
                }
                std::thread::sleep(self.options.poll);
                continue;
            };
            self.counts.entries_read += 1;
            since_sent += 1;
            let seq = entry.seq;
            match entry.effect {
                Effect::BeginTxn => {
                    let changes = self.fresh_batch();
                    self.open.push(OpenTxn {
                        id: entry.txn,
                        begin: seq,
                        changes,
                    });
                }
                Effect::CommitTxn | Effect::AbortTxn => {
                    if let Some(i) = self.open.iter().position(|t| t.id == entry.txn) {
                        let txn = self.open.swap_remove(i);
                        if entry.effect == Effect::AbortTxn {
                            self.counts.aborted_txns += 1;
                        } else if seq > self.applied_before {
                            for op in txn.changes.ops() {
                                self.count_op(op);
                            }
                            self.batch.append(&txn.changes);
                        }
                    }
                }
                _ => {}
            }
            if let Some(rc) = entry.record {
                let file_id = if entry.file == self.last_file {
                    self.last_id
                } else {
                    self.last_file.clear();
                    self.last_file.push_str(entry.file);
                    self.last_id = self.config.files.file_id_of(Path::new(entry.file));
                    self.last_id
                };
                if file_id == Some(self.options.file_id) {
                    let op = match rc.op {
                        RecordOp::Insert => ChangeOp::Insert,
                        RecordOp::Update => ChangeOp::Update,
                        RecordOp::Delete => ChangeOp::Delete,
                    };
                    let bad = [("before", rc.before), ("after", rc.after)]
                        .into_iter()
                        .find_map(|(image, bytes)| {
                            check_record(bytes?, self.layout, &mut self.scratch)
                                .err()
                                .map(|e| (image, e))
                        });
                    let in_txn = self
                        .open
                        .iter()
                        .position(|t| t.id == entry.txn && entry.txn != 0);
                    match bad {
                        Some((image, source)) => match self.config.extractor.on_bad_record {
                            BadRecordPolicy::Stop => {
                                // Deliver what came before it, then stop.
                                let position = self.position(seq);
                                self.flush(position)?;
                                self.send(Msg::Idle(position))?;
                                return Ok(Err(ExtractError::BadRecord {
                                    file_id: self.options.file_id,
                                    seq,
                                    image,
                                    source,
                                }));
                            }
                            BadRecordPolicy::DeadLetter => {
                                if in_txn.is_some() || seq > self.applied_before {
                                    let error = format!("{image} image: {source}");
                                    let dead = DeadEntry {
                                        seq,
                                        txn: entry.txn,
                                        op: op.as_str(),
                                        file: entry.file,
                                        error: &error,
                                        before: rc.before,
                                        after: rc.after,
                                    };
                                    if let Err(e) = self.dead.write(&dead) {
                                        return Ok(Err(e));
                                    }
                                    tracing::warn!(seq, file_id = self.options.file_id, %error, dead_letters = %self.dead.path().display(), "bad record sent to the dead-letter file");
                                }
                            }
                        },
                        None => match in_txn {
                            Some(i) => self.open[i]
                                .changes
                                .push(op, seq, entry.txn, entry.file, rc.before, rc.after),
                            None if seq > self.applied_before => {
                                self.batch
                                    .push(op, seq, entry.txn, entry.file, rc.before, rc.after);
                                self.count_op(op);
                            }
                            None => {}
                        },
                    }
                }
            }
            let mut overdue = false;
            if since_sent.is_multiple_of(LATENCY_CHECK_ENTRIES) {
                if self.batch.is_empty() {
                    batch_started = None;
                } else {
                    let started = *batch_started.get_or_insert_with(std::time::Instant::now);
                    overdue = started.elapsed() >= latency;
                }
            }
            if self.batch.len() >= self.config.extractor.batch_size
                || overdue
                || (since_sent >= IDLE_CHECKPOINT_ENTRIES && self.open.is_empty())
            {
                batch_started = None;
                let position = self.position(reader.position());
                self.flush(position)?;
                sent = position;
                since_sent = 0;
                idle_reported = false;
            }
        }
    }

    /// The checkpoint for a reader about to return `next`: everything
    /// before it is done, except open transactions, which are read again.
    fn position(&self, next: u64) -> Checkpoint {
        let applied = next.saturating_sub(1).max(self.applied_before);
        let resume = self
            .open
            .iter()
            .map(|t| t.begin)
            .min()
            .unwrap_or(applied + 1);
        Checkpoint { applied, resume }
    }

    /// An empty batch: a returned one when there is one.
    fn fresh_batch(&self) -> Batch {
        match self.link.recycled.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Batch::new(self.options.file_id, self.layout.clone()),
        }
    }

    /// Sends the batch with `checkpoint` (even when empty: the position
    /// moves), prepared for the sink; a preparation error is sent instead.
    fn flush(&mut self, checkpoint: Checkpoint) -> Result<(), HungUp> {
        let fresh = self.fresh_batch();
        let mut batch = std::mem::replace(&mut self.batch, fresh);
        batch.checkpoint = checkpoint;
        let prepared = match self.link.preparer.as_mut() {
            Some(preparer) => preparer.prepare(&mut batch),
            None => Ok(()),
        };
        if let Err(source) = prepared {
            let sink = self.link.sink.clone();
            self.send(Msg::Failed(ExtractError::Sink { sink, source }))?;
            return Err(HungUp);
        }
        self.send(Msg::Batch(batch))
    }

    fn count_op(&mut self, op: ChangeOp) {
        match op {
            ChangeOp::Insert => self.counts.inserts += 1,
            ChangeOp::Update => self.counts.updates += 1,
            ChangeOp::Delete => self.counts.deletes += 1,
        }
    }
}

/// Checks that every field of `record` decodes (text included).
pub(crate) fn check_record(
    record: &[u8],
    layout: &Layout,
    scratch: &mut String,
) -> Result<(), DecodeError> {
    layout.view(record)?.try_for_each(|_, value| {
        match value {
            // Every byte of Latin-1 or an EBCDIC page is a character:
            // nothing to check.
            Value::Text(text) if !text.charset().accepts_all() => {
                scratch.clear();
                text.write_to(scratch)?;
            }
            // A copybook's JSON table decodes its items when written.
            table @ Value::Json(_) => {
                scratch.clear();
                table.write_text(scratch)?;
            }
            _ => {}
        }
        Ok(())
    })
}
