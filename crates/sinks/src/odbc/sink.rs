use super::client::OdbcClient;
use super::config::OdbcConfig;
use crate::sql::{ConnectionKeys, SectionSettings, SqlSink, open_settings};
use crate::{Binding, SinkError};
use std::path::Path;

/// Applies changes through ODBC, each batch in one transaction that also
/// moves its row of `drx_checkpoint` (compare-and-set).
#[derive(Debug)]
pub struct OdbcSink(SqlSink<OdbcClient>);

impl OdbcSink {
    /// Connects, creates the checkpoint table and (unless told not to) the
    /// target table when they are missing.
    pub fn open(
        name: String,
        config: &OdbcConfig,
        home: &Path,
        binding: Binding,
    ) -> Result<OdbcSink, SinkError> {
        let keys = ConnectionKeys {
            value: ("connection_string", config.connection_string.as_deref()),
            env: (
                "connection_string_env",
                config.connection_string_env.as_deref(),
            ),
            file: (
                "connection_string_file",
                config.connection_string_file.as_deref(),
            ),
        };
        let (settings, options) = open_settings(
            &name,
            home,
            keys,
            SectionSettings {
                mode: config.mode,
                reconnect_timeout_secs: config.reconnect_timeout_secs,
                bulk_min_rows: 0,
                create_tables: config.create_tables,
            },
            &binding,
        )?;
        let client = OdbcClient::open(settings)?;
        Ok(OdbcSink(SqlSink::new(name, binding, client, options)?))
    }
}

crate::sql::delegate_sink!(OdbcSink);
