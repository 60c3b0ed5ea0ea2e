use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How hard SQLite syncs each commit.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Durable against a crash of drx or of the OS (WAL `synchronous=NORMAL`
    /// loses at most the last commits on power loss, never consistency:
    /// rows and checkpoint go together).
    #[default]
    Normal,
    /// Durable against power loss too (`synchronous=FULL`).
    Full,
}

/// `type = "sqlite"`: an SQLite database, the embedded default.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqliteConfig {
    /// The sink's name (default `sqlite`); checkpoints are kept per name.
    #[serde(default)]
    pub name: Option<String>,
    /// The database file, relative to the home directory.
    pub path: PathBuf,
    /// The file ids this sink takes (empty: all).
    #[serde(default)]
    pub file_ids: Vec<u16>,
    /// The table of each file id (`@drms_file@`), e.g. `{ 200 = "error_codes" }`;
    /// default: the critical file's name without extension.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Create a missing table from the layout (columns by field, typed; the
    /// key as primary key). Default true.
    #[serde(default = "yes")]
    pub create_tables: bool,
    /// `normal` (default) or `full`.
    #[serde(default)]
    pub synchronous: Synchronous,
}

fn yes() -> bool {
    true
}

crate::config::impl_common!(SqliteConfig);
