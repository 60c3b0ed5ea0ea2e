use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `type = "csv"`: one CSV file per file id, `<dir>/<target>.csv`, with a
/// header row and the columns `op`, `seq`, `txn`, then the fields.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// The sink's name (default `csv`).
    #[serde(default)]
    pub name: Option<String>,
    /// The directory of the CSV files, relative to the home directory.
    #[serde(default = "dot")]
    pub dir: PathBuf,
    /// The file ids this sink takes (empty: all).
    #[serde(default)]
    pub file_ids: Vec<u16>,
    /// The file stem of each file id, e.g. `{ 200 = "error_codes" }`.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Records between checkpoints (data fsync + checkpoint file).
    #[serde(default = "every")]
    pub commit_every: u64,
    /// The field delimiter (one byte; default `,`).
    #[serde(default = "comma")]
    pub delimiter: char,
}

fn dot() -> PathBuf {
    PathBuf::from(".")
}

pub fn every() -> u64 {
    100_000
}

fn comma() -> char {
    ','
}

crate::config::impl_common!(CsvConfig);
