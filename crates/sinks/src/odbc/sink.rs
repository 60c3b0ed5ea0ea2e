use super::client::{OdbcClient, Settings};
use super::config::OdbcConfig;
use crate::sql::{SqlOptions, SqlSink, connection_string, is_mapped};
use crate::{Binding, SinkError};
use std::path::Path;
use std::time::Duration;

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
        let file = config
            .connection_string_file
            .as_ref()
            .map(|p| drx_config::absolute(home, p));
        let connection_string = connection_string(
            &name,
            config.connection_string.as_deref(),
            config.connection_string_env.as_deref(),
            file.as_deref(),
        )
        .map_err(own_keys)?;
        let options = SqlOptions {
            mapped: is_mapped(config.mode, &binding)?,
            reconnect_for: Duration::from_secs(config.reconnect_timeout_secs),
            bulk_min_rows: usize::MAX,
        };
        let client = OdbcClient::open(Settings {
            sink: name.clone(),
            connection_string,
            binding: binding.clone(),
            create_tables: config.create_tables,
        })?;
        Ok(OdbcSink(SqlSink::new(name, binding, client, options)?))
    }
}

/// The shared resolver's messages, with this sink's keys.
fn own_keys(e: SinkError) -> SinkError {
    match e {
        SinkError::Config(m) => SinkError::Config(
            m.replace("(url_env)", "(connection_string_env)")
                .replace("(url_file)", "(connection_string_file)")
                .replace(
                    "give `url`, `url_env` or `url_file`",
                    "give `connection_string`, `connection_string_env` or `connection_string_file`",
                ),
        ),
        other => other,
    }
}

crate::sql::delegate_sink!(OdbcSink);
