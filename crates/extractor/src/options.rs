use drx_sinks::Checkpoint;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// What `drx extract` is asked to do.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// The extractor file id whose changes to deliver.
    pub file_id: u16,
    /// Only the sink of this name (default: every sink that takes the id).
    pub sink: Option<String>,
    /// Keep tailing the journal instead of exiting at its end.
    pub follow: bool,
    /// Start a new sink with every record of the current file as an insert.
    pub snapshot: bool,
    /// How long to wait between polls of the journal when following.
    pub poll: Duration,
    /// Set to stop a following extraction at its next poll.
    pub stop: Option<Arc<AtomicBool>>,
}

impl ExtractOptions {
    /// Catch up on `file_id` and exit.
    pub fn new(file_id: u16) -> ExtractOptions {
        ExtractOptions {
            file_id,
            sink: None,
            follow: false,
            snapshot: false,
            poll: Duration::from_millis(50),
            stop: None,
        }
    }
}

/// Where an extraction is, reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The sink.
    pub sink: &'a str,
    /// Changes delivered so far in this run.
    pub records: u64,
    /// The seq of the last entry read.
    pub position: u64,
}

/// What one sink's extraction did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// The sink.
    pub sink: String,
    /// Changes delivered (snapshot records included).
    pub records: u64,
    /// Inserts delivered (snapshot records included).
    pub inserts: u64,
    /// Updates delivered.
    pub updates: u64,
    /// Deletes delivered.
    pub deletes: u64,
    /// Records written by a snapshot.
    pub snapshot_records: u64,
    /// Entries sent to the dead-letter file.
    pub dead_letters: u64,
    /// Transactions dropped because they were aborted.
    pub aborted_txns: u64,
    /// Journal entries read.
    pub entries_read: u64,
    /// Out-of-sync changes the sink repaired (auto_synchronize).
    pub repairs: drx_sinks::Repairs,
    /// How long it took.
    pub elapsed: Duration,
    /// The checkpoint at the end.
    pub checkpoint: Checkpoint,
}

impl Summary {
    /// Changes per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.records as f64 / secs
        } else {
            0.0
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} records ({} inserts, {} updates, {} deletes",
            self.sink, self.records, self.inserts, self.updates, self.deletes
        )?;
        if self.snapshot_records > 0 {
            write!(f, "; {} from the snapshot", self.snapshot_records)?;
        }
        write!(f, ")")?;
        if self.dead_letters > 0 {
            write!(f, ", {} dead letters", self.dead_letters)?;
        }
        let r = &self.repairs;
        if r.total() > 0 {
            write!(
                f,
                ", {} repaired ({} updates as inserts, {} inserts as updates, {} deletes of missing rows skipped)",
                r.total(),
                r.updates_as_inserts,
                r.inserts_as_updates,
                r.deletes_skipped
            )?;
        }
        if self.aborted_txns > 0 {
            write!(f, ", {} aborted transactions dropped", self.aborted_txns)?;
        }
        write!(
            f,
            " in {:.2} s ({:.0} records/s); checkpoint seq {}",
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.checkpoint.applied
        )
    }
}
