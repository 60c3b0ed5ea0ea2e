use crate::sql::SqlMode;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `type = "odbc"`: any database with an ODBC driver, through a connection
/// string or a DSN.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OdbcConfig {
    /// The sink's name (default `odbc`); checkpoints are kept per name.
    #[serde(default)]
    pub name: Option<String>,
    /// The ODBC connection string, e.g. `Driver={PostgreSQL Unicode};
    /// Server=127.0.0.1;Database=test;Uid=drx;` or `DSN=sales;`. Prefer
    /// `connection_string_env` or `connection_string_file` for one that
    /// holds a password: drx never logs it.
    #[serde(default)]
    pub connection_string: Option<String>,
    /// The environment variable that holds the connection string.
    #[serde(default)]
    pub connection_string_env: Option<String>,
    /// A file whose first line is the connection string (relative to the home).
    #[serde(default)]
    pub connection_string_file: Option<PathBuf>,
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
    /// `template`, `mapped`, or `auto` (the default: template when the file
    /// id has template files).
    #[serde(default)]
    pub mode: SqlMode,
    /// Seconds to keep reconnecting after the server went away (default 300).
    #[serde(default = "reconnect_secs")]
    pub reconnect_timeout_secs: u64,
}

fn yes() -> bool {
    true
}

fn reconnect_secs() -> u64 {
    300
}

crate::config::impl_common!(OdbcConfig);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c: OdbcConfig = toml::from_str("connection_string = \"DSN=sales\"").unwrap();
        assert_eq!(c.connection_string.as_deref(), Some("DSN=sales"));
        assert!(c.create_tables);
        assert_eq!(c.mode, SqlMode::Auto);
        assert_eq!(c.reconnect_timeout_secs, 300);
        assert!(c.file_ids.is_empty() && c.tables.is_empty());
        let e = toml::from_str::<OdbcConfig>("url = \"DSN=sales\"").unwrap_err();
        assert!(e.message().contains("unknown field `url`"), "{e}");
    }
}
