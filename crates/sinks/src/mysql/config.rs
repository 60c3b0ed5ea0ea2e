use crate::sql::SqlMode;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `type = "mysql"`: a MySQL or MariaDB database.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    /// The sink's name (default `mysql`); checkpoints are kept per name.
    #[serde(default)]
    pub name: Option<String>,
    /// The connection URL, `mysql://root@127.0.0.1:3306/test`. Prefer
    /// `url_env` or `url_file` for one that holds a password: drx never
    /// logs it.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable that holds the connection URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// A file whose first line is the connection URL (relative to the home).
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// The file ids this sink takes (empty: all).
    #[serde(default)]
    pub file_ids: Vec<u16>,
    /// The table of each file id (`@drms_file@`), e.g. `{ 200 = "error_codes" }`,
    /// optionally database-qualified (`"app.error_codes"`).
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Create a missing table from the layout (exact types; the key as
    /// primary key). Default true.
    #[serde(default = "yes")]
    pub create_tables: bool,
    /// `template`, `mapped`, or `auto` (the default: template when the file
    /// id has template files).
    #[serde(default)]
    pub mode: SqlMode,
    /// Seconds to keep reconnecting after the server went away (default 300).
    #[serde(default = "reconnect_secs")]
    pub reconnect_timeout_secs: u64,
    /// Mapped inserts of at least this many rows in a batch go through
    /// `LOAD DATA LOCAL INFILE` (default 64; 0: never, multi-row inserts
    /// only). A server with `local_infile` off gets multi-row inserts.
    #[serde(default = "load_data_min_rows")]
    pub load_data_min_rows: usize,
}

fn yes() -> bool {
    true
}

fn reconnect_secs() -> u64 {
    300
}

fn load_data_min_rows() -> usize {
    64
}

crate::config::impl_common!(MysqlConfig);
