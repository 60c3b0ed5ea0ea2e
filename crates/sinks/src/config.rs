use crate::{Binding, Sink, SinkError};
use drx_config::{ConfigError, SinkSection};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A `[[sinks]]` section, by its `type`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkConfig {
    /// An SQLite database (the embedded default).
    Sqlite(crate::sqlite::SqliteConfig),
    /// A PostgreSQL database.
    Postgres(crate::postgres::PostgresConfig),
    /// A MySQL or MariaDB database.
    Mysql(crate::mysql::MysqlConfig),
    /// Any database with an ODBC driver.
    Odbc(crate::odbc::OdbcConfig),
    /// CSV files.
    Csv(crate::csv::CsvConfig),
    /// XML files.
    Xml(crate::xml::XmlConfig),
    /// Standard output.
    Stdout(crate::stdout::StdoutConfig),
}

/// The fields every sink has.
pub(crate) trait Common {
    fn name(&self) -> Option<&str>;
    fn file_ids(&self) -> &[u16];
    fn targets(&self) -> &BTreeMap<String, String>;
}

impl SinkConfig {
    /// Parses one section; errors name the section's `file:line:col`.
    pub fn from_section(section: &SinkSection) -> Result<SinkConfig, ConfigError> {
        let config = toml::Value::Table(section.table.clone())
            .try_into::<SinkConfig>()
            .map_err(|e| section.error(format!("[[sinks]]: {}", e.message().trim_end())))?;
        for key in config.common().targets().keys() {
            if key.parse::<u16>().is_err() {
                return Err(section.error(format!(
                    "[[sinks]]: tables: key `{key}` is not a file id (write e.g. `tables = {{ 200 = \"error_codes\" }}`)"
                )));
            }
        }
        if let SinkConfig::Csv(c) = &config
            && (!c.delimiter.is_ascii() || matches!(c.delimiter, '"' | '\r' | '\n'))
        {
            return Err(section.error(format!(
                "[[sinks]]: delimiter {:?} cannot separate CSV fields: use one ASCII character other than a quote or a line end",
                c.delimiter
            )));
        }
        Ok(config)
    }

    fn common(&self) -> &dyn Common {
        match self {
            SinkConfig::Sqlite(c) => c,
            SinkConfig::Postgres(c) => c,
            SinkConfig::Mysql(c) => c,
            SinkConfig::Odbc(c) => c,
            SinkConfig::Csv(c) => c,
            SinkConfig::Xml(c) => c,
            SinkConfig::Stdout(c) => c,
        }
    }

    /// The sink's name: `name`, else its type.
    pub fn name(&self) -> &str {
        self.common().name().unwrap_or(match self {
            SinkConfig::Sqlite(_) => "sqlite",
            SinkConfig::Postgres(_) => "postgres",
            SinkConfig::Mysql(_) => "mysql",
            SinkConfig::Odbc(_) => "odbc",
            SinkConfig::Csv(_) => "csv",
            SinkConfig::Xml(_) => "xml",
            SinkConfig::Stdout(_) => "stdout",
        })
    }

    /// Whether the sink takes changes of `file_id` (an empty `file_ids` takes all).
    pub fn serves(&self, file_id: u16) -> bool {
        let ids = self.common().file_ids();
        ids.is_empty() || ids.contains(&file_id)
    }

    /// The configured target (table or file stem) of `file_id`, if any.
    pub fn target_of(&self, file_id: u16) -> Option<&str> {
        self.common()
            .targets()
            .iter()
            .find(|(key, _)| key.parse::<u16>() == Ok(file_id))
            .map(|(_, target)| target.as_str())
    }

    /// Builds the sink for one file id; relative paths are taken against `home`.
    pub fn build(&self, home: &Path, binding: Binding) -> Result<Box<dyn Sink>, SinkError> {
        let name = self.name().to_owned();
        Ok(match self {
            SinkConfig::Sqlite(c) => {
                Box::new(crate::sqlite::SqliteSink::open(name, c, home, binding)?)
            }
            SinkConfig::Postgres(c) => {
                Box::new(crate::postgres::PostgresSink::open(name, c, home, binding)?)
            }
            SinkConfig::Mysql(c) => {
                Box::new(crate::mysql::MysqlSink::open(name, c, home, binding)?)
            }
            SinkConfig::Odbc(c) => Box::new(crate::odbc::OdbcSink::open(name, c, home, binding)?),
            SinkConfig::Csv(c) => Box::new(crate::csv::CsvSink::open(name, c, home, binding)?),
            SinkConfig::Xml(c) => Box::new(crate::xml::XmlSink::open(name, c, home, binding)?),
            SinkConfig::Stdout(c) => Box::new(crate::stdout::StdoutSink::open(name, c, binding)?),
        })
    }
}

macro_rules! impl_common {
    ($t:ty) => {
        impl crate::config::Common for $t {
            fn name(&self) -> Option<&str> {
                self.name.as_deref()
            }
            fn file_ids(&self) -> &[u16] {
                &self.file_ids
            }
            fn targets(&self) -> &std::collections::BTreeMap<String, String> {
                &self.tables
            }
        }
    };
}
pub(crate) use impl_common;
