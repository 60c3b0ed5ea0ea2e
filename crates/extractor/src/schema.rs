//! `drx schema`: the `create table` of a file id's layout in a dialect,
//! printed, or run through a configured sink.

use crate::{ExtractError, default_target};
use drx_config::Config;
use drx_sinks::{Binding, SinkConfig};
use drx_templates::Dialect;

/// What `drx schema` is asked.
#[derive(Debug, Clone)]
pub struct SchemaOptions {
    /// The extractor file id whose layout to use.
    pub file_id: u16,
    /// The dialect to write.
    pub dialect: Dialect,
    /// The table (default: the sink's `tables` entry, else the file id's default).
    pub table: Option<String>,
    /// The sink whose table it is (and, with `apply`, that creates it).
    pub sink: Option<String>,
    /// Create the table through the sink instead of printing only.
    pub apply: bool,
}

/// The dialect a sink writes, if it is an SQL sink.
fn dialect_of(sink: &SinkConfig) -> Option<Dialect> {
    match sink {
        SinkConfig::Sqlite(_) => Some(Dialect::Sqlite),
        SinkConfig::Postgres(_) => Some(Dialect::Postgres),
        SinkConfig::Mysql(_) => Some(Dialect::MySql),
        SinkConfig::Odbc(_) => Some(Dialect::Odbc),
        _ => None,
    }
}

/// The `create table` statement; with `apply`, also creates the table
/// through the sink (named, or the only one of the dialect taking the id).
pub fn schema(config: &Config, options: &SchemaOptions) -> Result<String, ExtractError> {
    let file_id = options.file_id;
    let layout = drx_capture::load_layout(&config.extractor.layouts_dir, file_id)?;
    let mut candidates = Vec::new();
    for section in &config.sinks {
        let sink = SinkConfig::from_section(section)?;
        let named = options.sink.as_deref().is_none_or(|n| n == sink.name());
        if named && sink.serves(file_id) && dialect_of(&sink) == Some(options.dialect) {
            candidates.push((section, sink));
        }
    }
    if options.sink.is_some() && candidates.is_empty() {
        return Err(ExtractError::Config(format!(
            "no {:?} sink named `{}` takes file id {file_id}",
            options.dialect,
            options.sink.as_deref().unwrap_or_default()
        )));
    }
    let chosen = match candidates.len() {
        1 => Some(&candidates[0]),
        _ => None,
    };
    let table = options
        .table
        .clone()
        .or_else(|| chosen.and_then(|(_, s)| s.target_of(file_id).map(str::to_owned)))
        .unwrap_or_else(|| default_target(config, file_id));
    let sql = drx_sinks::create_table_sql(options.dialect, &table, &layout);
    if options.apply {
        let Some((section, _)) = chosen else {
            return Err(ExtractError::Config(format!(
                "--apply needs one {:?} sink taking file id {file_id}: {} found; name one with --sink",
                options.dialect,
                candidates.len()
            )));
        };
        // The sink creates its table when it opens, told to.
        let mut section = (*section).clone();
        section
            .table
            .insert("create_tables".into(), toml::Value::Boolean(true));
        let sink = SinkConfig::from_section(&section)?;
        let binding = Binding {
            file_id,
            layout,
            target: table,
            templates_dir: config.extractor.templates_dir.clone(),
            epoch: drx_journal::current_epoch(&config.journal.dir)?,
            repair: false,
        };
        sink.build(&config.home, binding)
            .map_err(|source| ExtractError::Sink {
                sink: sink.name().to_owned(),
                source,
            })?
            .finish()
            .map_err(|source| ExtractError::Sink {
                sink: sink.name().to_owned(),
                source,
            })?;
    }
    Ok(sql)
}
