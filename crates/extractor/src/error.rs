use std::path::PathBuf;

/// Extraction stopped. What was delivered before it stays delivered, with
/// its checkpoint; a new run continues from there.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The configuration cannot work.
    #[error("{0}")]
    Config(String),
    /// A configuration section is wrong.
    #[error(transparent)]
    ConfigFile(#[from] drx_config::ConfigError),
    /// The layout of the file id.
    #[error(transparent)]
    Layout(#[from] drx_capture::LayoutLoadError),
    /// The journal.
    #[error(transparent)]
    Journal(#[from] drx_journal::JournalError),
    /// A sink.
    #[error("sink {sink}: {source}")]
    Sink {
        /// The sink's name.
        sink: String,
        /// The cause.
        source: drx_sinks::SinkError,
    },
    /// A record its layout cannot decode (policy `stop`).
    #[error("file id {file_id}, seq {seq}, {image} image: {source}")]
    BadRecord {
        /// The file id.
        file_id: u16,
        /// The entry's sequence number.
        seq: u64,
        /// `before` or `after`.
        image: &'static str,
        /// Field, byte offset and what is wrong.
        source: drx_layouts::DecodeError,
    },
    /// Reading the critical file for a snapshot.
    #[error("snapshot: {0}")]
    Snapshot(#[from] drx_capture::CaptureError),
    /// Writing the dead-letter file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
