//! The extraction of one file id into its sinks: a reading thread
//! (`reading.rs`) turns journal entries into batches, this thread applies
//! them to the sink, so that decoding and rendering overlap.

use crate::dead_letter::{DeadEntry, DeadLetters};
use crate::reading::{Link, Msg, ReadSide, check_record};
use crate::{ExtractError, ExtractOptions, Progress, Summary, default_target, snapshot};
use drx_config::BadRecordPolicy;
use drx_config::Config;
use drx_journal::Reader;
use drx_layouts::Layout;
use drx_sinks::{Batch, Binding, Checkpoint, Sink, SinkConfig, SinkError};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

/// Batches in flight between the reading thread and the applying one.
const BATCHES_IN_FLIGHT: usize = 2;

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
    let epoch = drx_journal::current_epoch(&config.journal.dir)?;
    // The seed's auto_synchronize, per file: any record of the file id asks.
    let repair = config
        .files
        .records()
        .any(|r| r.extractor_file_id == Some(file_id) && r.auto_synchronize);
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
            epoch,
            repair,
        };
        let name = sink_config.name().to_owned();
        let sink_err = |source| ExtractError::Sink {
            sink: name.clone(),
            source,
        };
        let sink = sink_config.build(&config.home, binding).map_err(sink_err)?;
        summaries.push(run_sink(config, options, &layout, sink, progress)?);
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

/// Extracts into one sink: its checkpoint (or a snapshot), then the
/// journal from there.
fn run_sink(
    config: &Config,
    options: &ExtractOptions,
    layout: &Arc<Layout>,
    mut sink: Box<dyn Sink>,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<Summary, ExtractError> {
    let started = Instant::now();
    let name = sink.name().to_owned();
    let sink_err = |source| ExtractError::Sink {
        sink: name.clone(),
        source,
    };
    let mut summary = Summary {
        sink: name.clone(),
        ..Summary::default()
    };
    let stored = sink.checkpoint().map_err(sink_err)?;
    let checkpoint = match stored {
        Some(c) => {
            if options.snapshot {
                tracing::info!(sink = %name, applied = c.applied, "the sink has a checkpoint: continuing from it instead of a snapshot");
            }
            c
        }
        None if options.snapshot => {
            let snap = snapshot::take(config, options.file_id, layout)?;
            check_snapshot(&snap, options.file_id, layout)?;
            sink.apply(&snap).map_err(sink_err)?;
            sink.commit().map_err(sink_err)?;
            summary.snapshot_records = snap.len() as u64;
            summary.records += snap.len() as u64;
            summary.inserts += snap.len() as u64;
            tracing::info!(sink = %name, records = snap.len(), position = snap.checkpoint.applied, "snapshot delivered");
            snap.checkpoint
        }
        None => Checkpoint {
            applied: 0,
            resume: 1,
        },
    };
    let journal_dir = config.journal.dir.clone();
    std::fs::create_dir_all(&journal_dir).map_err(|source| ExtractError::Io {
        path: journal_dir.clone(),
        source,
    })?;
    let consumer = consumer_name(&name, options.file_id);
    drx_journal::register_consumer(&journal_dir, &consumer)?;
    let reader = Reader::open(&journal_dir, checkpoint.resume.max(1)).map_err(|e| match e {
        drx_journal::JournalError::Gone { requested, oldest } => ExtractError::Config(format!(
            "sink {name} needs the journal from seq {requested}, but it now starts at seq {oldest}: \
             the segments before were removed once every registered consumer had passed them. \
             Start this sink afresh with --snapshot"
        )),
        other => other.into(),
    })?;

    // The channels: batches flow from the reading thread to this one, which
    // owns the receiving end; emptied batches flow back to be reused.
    let (to_sink, from_reader) = mpsc::sync_channel::<Msg>(BATCHES_IN_FLIGHT);
    let (recycle, recycled) = mpsc::channel::<Batch>();
    let link = Link {
        to_sink,
        recycled,
        preparer: sink.preparer(),
        sink: name.clone(),
    };
    let read = ReadSide::new(config, options, layout, checkpoint.applied, link);
    let mut applier = Applier {
        sink: &mut *sink,
        dead: DeadLetters::new(&config.extractor.dead_letter_dir, options.file_id),
        policy: config.extractor.on_bad_record,
        name: &name,
        journal_dir: &journal_dir,
        consumer: &consumer,
        recycle,
        last: checkpoint,
        summary: &mut summary,
    };
    let (applied, counts) = std::thread::scope(|scope| {
        let reading = scope.spawn(move || read.run(reader, checkpoint));
        // The receiver is dropped when `run` returns, so that a reader
        // blocked on a full channel sees the hang-up and ends.
        let applied = applier.run(from_reader, progress);
        (applied, reading.join())
    });
    let last = applier.last;
    let dead_applied = applier.dead.count;
    let counts =
        counts.map_err(|_| ExtractError::Config("the journal reading thread panicked".into()))?;
    summary.inserts += counts.inserts;
    summary.updates += counts.updates;
    summary.deletes += counts.deletes;
    summary.aborted_txns = counts.aborted_txns;
    summary.entries_read = counts.entries_read;
    summary.dead_letters = counts.dead_letters + dead_applied;
    summary.repairs = sink.repairs();
    applied?;
    sink.finish().map_err(sink_err)?;
    summary.elapsed = started.elapsed();
    summary.checkpoint = last;
    Ok(summary)
}

/// The applying side: the sink, and where its progress is kept.
struct Applier<'a> {
    sink: &'a mut dyn Sink,
    /// Where changes the sink's database refused go, under `dead-letter`.
    dead: DeadLetters,
    policy: BadRecordPolicy,
    name: &'a str,
    journal_dir: &'a Path,
    consumer: &'a str,
    /// Emptied batches go back to the reading thread here.
    recycle: mpsc::Sender<Batch>,
    /// The checkpoint of the last batch applied.
    last: Checkpoint,
    summary: &'a mut Summary,
}

impl Applier<'_> {
    /// Applies what the reading thread sends until it is done or fails.
    fn run(
        &mut self,
        from_reader: mpsc::Receiver<Msg>,
        progress: &mut dyn FnMut(&Progress<'_>),
    ) -> Result<(), ExtractError> {
        let name = self.name;
        let sink_err = |source| ExtractError::Sink {
            sink: name.to_owned(),
            source,
        };
        for msg in from_reader {
            match msg {
                Msg::Batch(mut batch) => {
                    let refused = self.apply(&batch).map_err(sink_err)?;
                    self.summary.records += (batch.len() - refused) as u64;
                    self.last = batch.checkpoint;
                    progress(&Progress {
                        sink: name,
                        records: self.summary.records,
                        position: self.last.applied,
                    });
                    batch.clear();
                    let _ = self.recycle.send(batch);
                }
                Msg::Idle(position) => {
                    self.sink.commit().map_err(sink_err)?;
                    save_consumer(self.journal_dir, self.consumer, position)?;
                }
                Msg::Failed(e) => return Err(e),
                Msg::Done => return Ok(()),
            }
        }
        Err(ExtractError::Config(
            "the journal reading thread ended without a word".into(),
        ))
    }
}

impl Applier<'_> {
    /// Applies a batch. Under the `dead-letter` policy a change the
    /// database refuses goes to the dead-letter file and the batch is
    /// applied without it; returns how many went there.
    fn apply(&mut self, batch: &Batch) -> Result<usize, SinkError> {
        let mut without: Option<Batch> = None;
        let mut refused = 0;
        loop {
            let current = without.as_ref().unwrap_or(batch);
            match self.sink.apply(current) {
                Ok(()) => return Ok(refused),
                Err(e @ SinkError::Rejected { index, .. })
                    if self.policy == BadRecordPolicy::DeadLetter =>
                {
                    let Some(raw) = current.raw(index) else {
                        return Err(e);
                    };
                    let error = e.to_string();
                    let entry = DeadEntry {
                        seq: raw.seq,
                        txn: raw.txn,
                        op: raw.op.as_str(),
                        file: raw.file,
                        error: &error,
                        before: raw.before,
                        after: raw.after,
                    };
                    if let Err(io) = self.dead.write(&entry) {
                        return Err(SinkError::Config(format!("{io} (after: {error})")));
                    }
                    tracing::warn!(sink = %self.name, %error, dead_letters = %self.dead.path().display(), "change refused by the database sent to the dead-letter file");
                    refused += 1;
                    without = Some(current.without(index));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Checks every record of a snapshot against the layout.
fn check_snapshot(snap: &Batch, file_id: u16, layout: &Layout) -> Result<(), ExtractError> {
    let mut scratch = String::new();
    for change in snap.changes() {
        let bad = |source| ExtractError::BadRecord {
            file_id,
            seq: snap.checkpoint.applied,
            image: "snapshot",
            source,
        };
        let change = change.map_err(bad)?;
        if let Some(after) = change.after {
            check_record(after.bytes(), layout, &mut scratch).map_err(bad)?;
        }
    }
    Ok(())
}

/// Saves how far the consumer got, and removes the journal segments every
/// consumer has passed.
fn save_consumer(dir: &Path, consumer: &str, checkpoint: Checkpoint) -> Result<(), ExtractError> {
    let position = checkpoint.resume.saturating_sub(1);
    let current = drx_journal::consumer_position(dir, consumer)?.unwrap_or(0);
    if position > current {
        drx_journal::set_consumer_position(dir, consumer, position)?;
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
