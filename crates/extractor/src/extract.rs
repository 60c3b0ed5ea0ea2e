//! The extraction loop.

use crate::dead_letter::{DeadEntry, DeadLetters};
use crate::{ExtractError, ExtractOptions, Progress, Summary, default_target, snapshot};
use drx_config::{BadRecordPolicy, Config};
use drx_journal::{Effect, Reader, RecordOp};
use drx_layouts::{Charset, DecodeError, Layout, Value};
use drx_sinks::{Batch, Binding, Checkpoint, Sink, SinkConfig};
use drx_templates::ChangeOp;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Entries read with nothing to deliver before the position is saved anyway.
const IDLE_CHECKPOINT_ENTRIES: u64 = 100_000;

/// Runs the extraction of `options.file_id` into every sink that takes it
/// (or the one named); returns a summary per sink.
pub fn extract(
    config: &Config,
    options: &ExtractOptions,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<Vec<Summary>, ExtractError> {
    let file_id = options.file_id;
    let layout = drx_capture::load_layout(&config.extractor.layouts_dir, file_id)?;
    let mut sinks = Vec::new();
    let mut all = Vec::new();
    for section in &config.sinks {
        let sink = SinkConfig::from_section(section)?;
        if sink.serves(file_id) && options.sink.as_deref().is_none_or(|n| n == sink.name()) {
            sinks.push(sink.clone());
        }
        all.push(sink);
    }
    register_consumers(config, &all)?;
    if sinks.is_empty() {
        return Err(ExtractError::Config(match &options.sink {
            Some(name) => format!("no sink named `{name}` takes file id {file_id}"),
            None => format!("no sink takes file id {file_id}: add a [[sinks]] section to drx.toml"),
        }));
    }
    if options.follow && sinks.len() > 1 {
        return Err(ExtractError::Config(
            "--follow runs one sink: name it with --sink".into(),
        ));
    }
    let mut summaries = Vec::new();
    for sink_config in &sinks {
        let target = sink_config
            .target_of(file_id)
            .map(str::to_owned)
            .unwrap_or_else(|| default_target(config, file_id));
        let binding = Binding {
            file_id,
            layout: layout.clone(),
            target,
            templates_dir: config.extractor.templates_dir.clone(),
        };
        let name = sink_config.name().to_owned();
        let sink_err = |source| ExtractError::Sink {
            sink: name.clone(),
            source,
        };
        let sink = sink_config.build(&config.home, binding).map_err(sink_err)?;
        summaries.push(Run::new(config, options, &layout, sink).go(progress)?);
    }
    Ok(summaries)
}

/// Registers a journal consumer for every configured sink and file id it
/// takes, so that no segment a configured sink still needs is removed,
/// whether or not that sink has run yet.
fn register_consumers(config: &Config, sinks: &[SinkConfig]) -> Result<(), ExtractError> {
    let dir = &config.journal.dir;
    std::fs::create_dir_all(dir).map_err(|source| ExtractError::Io {
        path: dir.clone(),
        source,
    })?;
    let ids: std::collections::BTreeSet<u16> = config
        .files
        .records()
        .filter_map(|r| r.extractor_file_id)
        .filter(|id| *id != 0)
        .collect();
    for sink in sinks {
        for id in ids.iter().filter(|id| sink.serves(**id)) {
            drx_journal::register_consumer(dir, &consumer_name(sink.name(), *id))?;
        }
    }
    Ok(())
}

/// The journal consumer of a sink and file id.
fn consumer_name(sink: &str, file_id: u16) -> String {
    format!("{sink}.{file_id}")
}

/// A transaction whose changes wait for its commit.
#[derive(Debug)]
struct OpenTxn {
    id: u64,
    begin: u64,
    changes: Batch,
}

struct Run<'a> {
    config: &'a Config,
    options: &'a ExtractOptions,
    layout: &'a Arc<Layout>,
    sink: Box<dyn Sink>,
    name: String,
    batch: Batch,
    open: Vec<OpenTxn>,
    dead: DeadLetters,
    summary: Summary,
    scratch: String,
    /// The last file path seen and its file id (most entries repeat it).
    last_file: String,
    last_id: Option<u16>,
}

impl<'a> Run<'a> {
    fn new(
        config: &'a Config,
        options: &'a ExtractOptions,
        layout: &'a Arc<Layout>,
        sink: Box<dyn Sink>,
    ) -> Run<'a> {
        let name = sink.name().to_owned();
        Run {
            config,
            options,
            layout,
            batch: Batch::new(options.file_id, layout.clone()),
            open: Vec::new(),
            dead: DeadLetters::new(&config.extractor.dead_letter_dir, options.file_id),
            summary: Summary {
                sink: name.clone(),
                ..Summary::default()
            },
            name,
            sink,
            scratch: String::new(),
            last_file: String::new(),
            last_id: None,
        }
    }

    fn sink_err(&self) -> impl Fn(drx_sinks::SinkError) -> ExtractError + '_ {
        |source| ExtractError::Sink {
            sink: self.name.clone(),
            source,
        }
    }

    fn consumer(&self) -> String {
        consumer_name(&self.name, self.options.file_id)
    }

    fn go(mut self, progress: &mut dyn FnMut(&Progress<'_>)) -> Result<Summary, ExtractError> {
        let started = Instant::now();
        let stored = self.sink.checkpoint().map_err(self.sink_err())?;
        let mut checkpoint = match stored {
            Some(c) => c,
            None if self.options.snapshot => {
                let snap = snapshot::take(self.config, self.options.file_id, self.layout)?;
                for change in snap.changes() {
                    let change = change.map_err(|source| ExtractError::BadRecord {
                        file_id: self.options.file_id,
                        seq: snap.checkpoint.applied,
                        image: "snapshot",
                        source,
                    })?;
                    if let Some(after) = change.after {
                        check_record(after.bytes(), self.layout, &mut self.scratch).map_err(
                            |source| ExtractError::BadRecord {
                                file_id: self.options.file_id,
                                seq: change.seq,
                                image: "snapshot",
                                source,
                            },
                        )?;
                    }
                }
                self.sink.apply(&snap).map_err(self.sink_err())?;
                self.sink.commit().map_err(self.sink_err())?;
                self.summary.snapshot_records = snap.len() as u64;
                self.summary.records += snap.len() as u64;
                self.summary.inserts += snap.len() as u64;
                tracing::info!(sink = %self.name, records = snap.len(), position = snap.checkpoint.applied, "snapshot delivered");
                snap.checkpoint
            }
            None => Checkpoint {
                applied: 0,
                resume: 1,
            },
        };
        if stored.is_some() && self.options.snapshot {
            tracing::info!(sink = %self.name, applied = checkpoint.applied, "the sink has a checkpoint: continuing from it instead of a snapshot");
        }
        let journal_dir = self.config.journal.dir.clone();
        if !journal_dir.exists() {
            std::fs::create_dir_all(&journal_dir).map_err(|source| ExtractError::Io {
                path: journal_dir.clone(),
                source,
            })?;
        }
        drx_journal::register_consumer(&journal_dir, &self.consumer())?;
        let resume = checkpoint.resume.max(1);
        let mut reader = Reader::open(&journal_dir, resume).map_err(|e| match e {
            drx_journal::JournalError::Gone { requested, oldest } => ExtractError::Config(format!(
                "sink {} needs the journal from seq {requested}, but it now starts at seq {oldest}: \
                 the segments before were removed once every registered consumer had passed them. \
                 Start this sink afresh with --snapshot",
                self.name
            )),
            other => other.into(),
        })?;
        let applied_before = checkpoint.applied;
        let mut stored_position = checkpoint;
        let mut since_saved = 0u64;
        loop {
            let entry = reader.next()?;
            let Some(entry) = entry else {
                // The end of the journal, for now.
                let position = self.position(reader.position(), applied_before);
                if !self.batch.is_empty() || position != stored_position {
                    self.flush(position, progress)?;
                    stored_position = position;
                    since_saved = 0;
                }
                self.sink.commit().map_err(self.sink_err())?;
                self.save_consumer(&journal_dir, position)?;
                let stop = self
                    .options
                    .stop
                    .as_ref()
                    .is_some_and(|s| s.load(Ordering::Relaxed));
                if !self.options.follow || stop {
                    break;
                }
                std::thread::sleep(self.options.poll);
                continue;
            };
            self.summary.entries_read += 1;
            since_saved += 1;
            let seq = entry.seq;
            match entry.effect {
                Effect::BeginTxn => self.open.push(OpenTxn {
                    id: entry.txn,
                    begin: seq,
                    changes: Batch::new(self.options.file_id, self.layout.clone()),
                }),
                Effect::CommitTxn | Effect::AbortTxn => {
                    if let Some(i) = self.open.iter().position(|t| t.id == entry.txn) {
                        let txn = self.open.swap_remove(i);
                        if entry.effect == Effect::AbortTxn {
                            self.summary.aborted_txns += 1;
                        } else if seq > applied_before {
                            self.count(&txn.changes);
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
                            let bytes = bytes?;
                            check_record(bytes, self.layout, &mut self.scratch)
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
                                let position = self.position(seq, applied_before);
                                self.flush(position, progress)?;
                                self.sink.commit().map_err(self.sink_err())?;
                                return Err(ExtractError::BadRecord {
                                    file_id: self.options.file_id,
                                    seq,
                                    image,
                                    source,
                                });
                            }
                            BadRecordPolicy::DeadLetter => {
                                if in_txn.is_some() || seq > applied_before {
                                    let error = format!("{image} image: {source}");
                                    self.dead.write(&DeadEntry {
                                        seq,
                                        txn: entry.txn,
                                        op: op.as_str(),
                                        file: entry.file,
                                        error: &error,
                                        before: rc.before,
                                        after: rc.after,
                                    })?;
                                    tracing::warn!(seq, file_id = self.options.file_id, %error, dead_letters = %self.dead.path().display(), "bad record sent to the dead-letter file");
                                }
                            }
                        },
                        None => match in_txn {
                            Some(i) => self.open[i]
                                .changes
                                .push(op, seq, entry.txn, entry.file, rc.before, rc.after),
                            None if seq > applied_before => {
                                self.batch
                                    .push(op, seq, entry.txn, entry.file, rc.before, rc.after);
                                self.count_op(op);
                            }
                            None => {}
                        },
                    }
                }
            }
            let pos = reader.position();
            if self.batch.len() >= self.config.extractor.batch_size
                || (since_saved >= IDLE_CHECKPOINT_ENTRIES && self.open.is_empty())
            {
                let position = self.position(pos, applied_before);
                self.flush(position, progress)?;
                stored_position = position;
                since_saved = 0;
            }
        }
        self.sink.finish().map_err(self.sink_err())?;
        self.summary.dead_letters = self.dead.count;
        self.summary.elapsed = started.elapsed();
        self.summary.checkpoint = stored_position;
        checkpoint = stored_position;
        let _ = checkpoint;
        Ok(self.summary)
    }

    /// The checkpoint for a reader about to return `next`: everything
    /// before it is done, except open transactions, which are read again.
    fn position(&self, next: u64, applied_before: u64) -> Checkpoint {
        let applied = next.saturating_sub(1).max(applied_before);
        let resume = self
            .open
            .iter()
            .map(|t| t.begin)
            .min()
            .unwrap_or(applied + 1);
        Checkpoint { applied, resume }
    }

    fn flush(
        &mut self,
        checkpoint: Checkpoint,
        progress: &mut dyn FnMut(&Progress<'_>),
    ) -> Result<(), ExtractError> {
        self.batch.checkpoint = checkpoint;
        self.sink.apply(&self.batch).map_err(self.sink_err())?;
        self.summary.records += self.batch.len() as u64;
        self.batch.clear();
        progress(&Progress {
            sink: &self.name,
            records: self.summary.records,
            position: checkpoint.applied,
        });
        Ok(())
    }

    fn save_consumer(&self, dir: &Path, checkpoint: Checkpoint) -> Result<(), ExtractError> {
        let position = checkpoint.resume.saturating_sub(1);
        let current = drx_journal::consumer_position(dir, &self.consumer())?.unwrap_or(0);
        if position > current {
            drx_journal::set_consumer_position(dir, &self.consumer(), position)?;
            let removed = drx_journal::remove_passed_segments(dir)?;
            if !removed.is_empty() {
                tracing::info!(
                    segments = removed.len(),
                    "removed journal segments every consumer has passed"
                );
            }
        }
        Ok(())
    }

    fn count_op(&mut self, op: ChangeOp) {
        match op {
            ChangeOp::Insert => self.summary.inserts += 1,
            ChangeOp::Update => self.summary.updates += 1,
            ChangeOp::Delete => self.summary.deletes += 1,
        }
    }

    fn count(&mut self, batch: &Batch) {
        for op in batch.ops() {
            self.count_op(op);
        }
    }
}

/// Checks that every field of `record` decodes (text included).
pub(crate) fn check_record(
    record: &[u8],
    layout: &Layout,
    scratch: &mut String,
) -> Result<(), DecodeError> {
    let view = layout.view(record)?;
    for i in 0..layout.fields().len() {
        match view.get(i)? {
            // Every byte is a Latin-1 character: nothing to check.
            Value::Text(text) if text.charset() != Charset::Latin1 => {
                scratch.clear();
                text.write_to(scratch)?;
            }
            _ => {}
        }
    }
    Ok(())
}
