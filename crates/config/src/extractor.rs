use serde::Deserialize;
use std::path::PathBuf;

/// What the extractor does with a record its layout cannot decode.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BadRecordPolicy {
    /// Stop with an error naming file id, sequence number, field and offset;
    /// nothing after it is delivered.
    #[default]
    Stop,
    /// Write the entry to the dead-letter file and go on.
    DeadLetter,
}

/// The `[extractor]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractorSettings {
    /// Where `layout.NNN` files live, relative to the home directory.
    pub layouts_dir: PathBuf,
    /// Where `template.NNN*` files live, relative to the home directory.
    pub templates_dir: PathBuf,
    /// `stop` (default) or `dead-letter`.
    pub on_bad_record: BadRecordPolicy,
    /// The dead-letter directory (one `file.NNN.dead.jsonl` per file id).
    pub dead_letter_dir: PathBuf,
    /// Changes per sink transaction (source transactions are never split).
    pub batch_size: usize,
    /// The longest a delivered change waits for its batch to fill, in
    /// milliseconds (default 200): a batch goes to the sink when it is full,
    /// when the journal has nothing more for now, or after this long.
    pub batch_latency_ms: u64,
}

impl Default for ExtractorSettings {
    fn default() -> Self {
        ExtractorSettings {
            layouts_dir: PathBuf::from("layouts"),
            templates_dir: PathBuf::from("templates"),
            on_bad_record: BadRecordPolicy::Stop,
            dead_letter_dir: PathBuf::from("dead_letter"),
            batch_size: 10_000,
            batch_latency_ms: 200,
        }
    }
}
