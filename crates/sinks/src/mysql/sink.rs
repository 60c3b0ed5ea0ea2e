use super::client::MyClient;
use super::config::MysqlConfig;
use crate::sql::{ConnectionKeys, SectionSettings, SqlSink, open_settings};
use crate::{Binding, SinkError};
use std::path::Path;

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
                bulk_min_rows: config.load_data_min_rows,
                create_tables: config.create_tables,
            },
            &binding,
        )?;
        let client = MyClient::open(settings)?;
        Ok(MysqlSink(SqlSink::new(name, binding, client, options)?))
    }
}

crate::sql::delegate_sink!(MysqlSink);
