use super::client::{MyClient, Settings};
use super::config::MysqlConfig;
use crate::sql::{SqlOptions, SqlSink, connection_string, is_mapped};
use crate::{Binding, SinkError};
use std::path::Path;
use std::time::Duration;

/// Applies changes to MySQL or MariaDB, each batch in one transaction that
/// also updates its row of `drx_checkpoint`.
#[derive(Debug)]
pub struct MysqlSink(SqlSink<MyClient>);

impl MysqlSink {
    /// Connects, creates the table unless told not to, and takes the lock
    /// of the sink and file id.
    pub fn open(
        name: String,
        config: &MysqlConfig,
        home: &Path,
        binding: Binding,
    ) -> Result<MysqlSink, SinkError> {
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
            bulk_min_rows: if config.load_data_min_rows == 0 {
                usize::MAX
            } else {
                config.load_data_min_rows
            },
        };
        let client = MyClient::open(Settings {
            sink: name.clone(),
            url,
            binding: binding.clone(),
            create_tables: config.create_tables,
        })?;
        Ok(MysqlSink(SqlSink::new(name, binding, client, options)?))
    }
}

crate::sql::delegate_sink!(MysqlSink);
