use crate::{Batch, Checkpoint};
use drx_layouts::Layout;
use std::path::PathBuf;
use std::sync::Arc;

/// A sink failed. Nothing of the batch it was applying is kept.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file system call failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The database refused something.
    #[error("{sink}: {message}")]
    Database {
        /// The sink's name.
        sink: String,
        /// What the database said, with the statement or seq where known.
        message: String,
    },
    /// A change could not be rendered.
    #[error("seq {seq}: {source}")]
    Render {
        /// The change's sequence number.
        seq: u64,
        /// The cause.
        source: drx_templates::RenderError,
    },
    /// A change's record could not be decoded.
    #[error("seq {seq}: {source}")]
    Decode {
        /// The change's sequence number.
        seq: u64,
        /// The cause.
        source: drx_layouts::DecodeError,
    },
    /// A template could not be loaded.
    #[error(transparent)]
    Template(#[from] drx_templates::LoadError),
    /// The sink's own checkpoint does not fit its data.
    #[error("{path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The configuration cannot work (e.g. an update with no template and no key).
    #[error("{0}")]
    Config(String),
    /// The database refused one change (a constraint, a value out of range,
    /// a row out of sync); nothing of its batch was kept.
    #[error("seq {seq} ({op}, file id {file_id}{}): {message}", field.as_ref().map(|f| format!(", field {f}")).unwrap_or_default())]
    Rejected {
        /// The change's place in its batch.
        index: usize,
        /// Its sequence number.
        seq: u64,
        /// Its file id.
        file_id: u16,
        /// `insert`, `update` or `delete`.
        op: &'static str,
        /// The field at fault, where known.
        field: Option<String>,
        /// What the database said.
        message: String,
    },
}

/// Out-of-sync changes a sink repaired (the Files Table's auto_synchronize).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Updates of a missing row, made inserts.
    pub updates_as_inserts: u64,
    /// Inserts of an existing key, made updates.
    pub inserts_as_updates: u64,
    /// Deletes of a missing row, skipped.
    pub deletes_skipped: u64,
}

impl Repairs {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Repairs) {
        self.updates_as_inserts += other.updates_as_inserts;
        self.inserts_as_updates += other.inserts_as_updates;
        self.deletes_skipped += other.deletes_skipped;
    }

    /// The number of repaired changes.
    pub fn total(&self) -> u64 {
        self.updates_as_inserts + self.inserts_as_updates + self.deletes_skipped
    }
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
    move |source| SinkError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a sink is built for: one extractor file id, its layout, the name of
/// its target (`@drms_file@`: a table, or a file name stem) and where its
/// templates live.
#[derive(Debug, Clone)]
pub struct Binding {
    /// The extractor file id.
    pub file_id: u16,
    /// Its layout.
    pub layout: Arc<Layout>,
    /// The table (SQL) or file stem (CSV, XML).
    pub target: String,
    /// The templates directory.
    pub templates_dir: PathBuf,
    /// The journal's epoch, stored with the checkpoint.
    pub epoch: u64,
    /// Repair out-of-sync changes instead of stopping (the Files Table's
    /// `auto_synchronize`).
    pub repair: bool,
}

/// Where extracted changes go. A sink applies each [`Batch`] atomically
/// together with its checkpoint, so that after a crash at any moment it
/// holds exactly the changes up to its checkpoint.
pub trait Sink {
    /// The sink's name.
    fn name(&self) -> &str;

    /// The stored checkpoint, or `None` for a new sink (read from the start).
    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, crate::SinkError>;

    /// Applies the batch and stores `batch.checkpoint` with it, atomically.
    /// The data may stay unconfirmed until [`Sink::commit`]; a crash before
    /// that loses it along with the checkpoint, never one without the other.
    fn apply(&mut self, batch: &Batch) -> Result<(), crate::SinkError>;

    /// Makes everything applied so far durable.
    fn commit(&mut self) -> Result<(), crate::SinkError>;

    /// Commits and ends cleanly (closing tags and the like).
    fn finish(&mut self) -> Result<(), crate::SinkError>;

    /// Work this sink can have done on each batch before `apply`, on the
    /// thread that builds the batches, so that it overlaps with `apply`.
    fn preparer(&self) -> Option<Box<dyn Prepare>> {
        None
    }

    /// The out-of-sync changes repaired so far.
    fn repairs(&self) -> Repairs {
        Repairs::default()
    }
}

/// Prepares batches for a sink ahead of its `apply` (see [`Sink::preparer`]).
pub trait Prepare: Send {
    /// Computes what `apply` will need; an error here is the error `apply`
    /// would have given.
    fn prepare(&mut self, batch: &mut Batch) -> Result<(), crate::SinkError>;
}
