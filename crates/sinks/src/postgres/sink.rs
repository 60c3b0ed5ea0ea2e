use super::client::PgClient;
use super::config::PostgresConfig;
use crate::sql::{ConnectionKeys, SectionSettings, SqlSink, open_settings};
use crate::{Binding, SinkError};
use std::path::Path;

/// Applies changes to PostgreSQL, each batch in one transaction that also
/// updates its row of `drx_checkpoint`.
#[derive(Debug)]
pub struct PostgresSink(SqlSink<PgClient>);

impl PostgresSink {
    /// Connects, creates the table unless told not to, and takes the lock
    /// of the sink and file id.
    pub fn open(
        name: String,
        config: &PostgresConfig,
        home: &Path,
        binding: Binding,
    ) -> Result<PostgresSink, SinkError> {
        let keys = ConnectionKeys {
            value: ("url", config.url.as_deref()),
            env: ("url_env", config.url_env.as_deref()),
            file: ("url_file", config.url_file.as_deref()),
        };
        let (settings, options) = open_settings(
            &name,
            home,
            keys,
            SectionSettings {
                mode: config.mode,
                reconnect_timeout_secs: config.reconnect_timeout_secs,
                bulk_min_rows: config.copy_min_rows,
                create_tables: config.create_tables,
            },
            &binding,
        )?;
        let client = PgClient::open(settings)?;
        Ok(PostgresSink(SqlSink::new(name, binding, client, options)?))
    }
}

crate::sql::delegate_sink!(PostgresSink);
