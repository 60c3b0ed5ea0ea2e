use super::client::{PgClient, Settings};
use super::config::PostgresConfig;
use crate::sql::{SqlOptions, SqlSink, connection_string, is_mapped};
use crate::{Binding, SinkError};
use std::path::Path;
use std::time::Duration;

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
        let url_file = config
            .url_file
            .as_ref()
            .map(|p| drx_config::absolute(home, p));
        let url = connection_string(
            &name,
            config.url.as_deref(),
            config.url_env.as_deref(),
            url_file.as_deref(),
        )?;
        let options = SqlOptions {
            mapped: is_mapped(config.mode, &binding)?,
            reconnect_for: Duration::from_secs(config.reconnect_timeout_secs),
            bulk_min_rows: if config.copy_min_rows == 0 {
                usize::MAX
            } else {
                config.copy_min_rows
            },
        };
        let client = PgClient::open(Settings {
            sink: name.clone(),
            url,
            binding: binding.clone(),
            create_tables: config.create_tables,
        })?;
        Ok(PostgresSink(SqlSink::new(name, binding, client, options)?))
    }
}

crate::sql::delegate_sink!(PostgresSink);
