use serde::Deserialize;
use std::collections::BTreeMap;

/// `type = "postgres"`: a PostgreSQL database.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The sink's name (default `postgres`); checkpoints are kept per name.
    #[serde(default)]
    pub name: Option<String>,
    /// The connection string, `host=127.0.0.1 user=drx dbname=test` or
    /// `postgresql://drx@127.0.0.1/test`. Prefer `url_env` for one that
    /// holds a password: drx never logs it.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable that holds the connection string.
    #[serde(default)]
    pub url_env: Option<String>,
    /// The file ids this sink takes (empty: all).
    #[serde(default)]
    pub file_ids: Vec<u16>,
    /// The table of each file id (`@drms_file@`), e.g. `{ 200 = "error_codes" }`,
    /// optionally schema-qualified (`"app.error_codes"`).
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Create a missing table from the layout (exact types; the key as
    /// primary key). Default true.
    #[serde(default = "yes")]
    pub create_tables: bool,
}

fn yes() -> bool {
    true
}

crate::config::impl_common!(PostgresConfig);
