use serde::Deserialize;
use std::path::PathBuf;

/// When the journal makes appended entries durable.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityMode {
    /// fsync after every entry.
    Entry,
    /// fsync per `group_commit_entries` entries or `group_commit_ms`
    /// milliseconds, whichever comes first.
    Group,
    /// Never fsync (the OS writes back when it likes).
    None,
}

/// The `[journal]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSettings {
    /// The journal directory, relative to the home directory.
    pub dir: PathBuf,
    /// `entry`, `group` or `none`.
    pub durability: DurabilityMode,
    /// Group commit: fsync after this many entries.
    pub group_commit_entries: u32,
    /// Group commit: fsync at most this many milliseconds after an entry.
    pub group_commit_ms: u64,
    /// Roll to a new segment at this many bytes.
    pub segment_size: u64,
}

impl Default for JournalSettings {
    fn default() -> Self {
        JournalSettings {
            dir: PathBuf::from("journal"),
            durability: DurabilityMode::Group,
            group_commit_entries: 1000,
            group_commit_ms: 10,
            segment_size: 64 * 1024 * 1024,
        }
    }
}
