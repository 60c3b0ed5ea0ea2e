//! Connection settings shared by the server SQL sinks: where the
//! connection string comes from (never logged), the mode, reconnecting.

use crate::SinkError;
use serde::Deserialize;
use std::path::Path;

/// How a server SQL sink writes its changes.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SqlMode {
    /// `template` when the file id has template files, else `mapped`.
    #[default]
    Auto,
    /// The file id's templates (the seed's `template.NNN.i/u/d`).
    Template,
    /// Statements generated from the layout, on its key.
    Mapped,
}

/// The connection string: from `url_env`'s variable, `url_file`'s first
/// line, or `url`. The string may hold a password: it is never logged.
pub(crate) fn connection_string(
    sink: &str,
    url: Option<&str>,
    url_env: Option<&str>,
    url_file: Option<&Path>,
) -> Result<String, SinkError> {
    if let Some(var) = url_env {
        return std::env::var(var).map_err(|_| {
            SinkError::Config(format!(
                "{sink}: environment variable {var} (url_env) is not set"
            ))
        });
    }
    if let Some(path) = url_file {
        let text = std::fs::read_to_string(path).map_err(crate::sink::io(path))?;
        let line = text.lines().next().unwrap_or("").trim().to_owned();
        if line.is_empty() {
            return Err(SinkError::Config(format!(
                "{sink}: {} (url_file) is empty",
                path.display()
            )));
        }
        return Ok(line);
    }
    url.map(str::to_owned)
        .ok_or_else(|| SinkError::Config(format!("{sink}: give `url`, `url_env` or `url_file`")))
}

/// Whether mapped mode applies to `binding`'s file id.
pub(crate) fn is_mapped(mode: SqlMode, binding: &crate::Binding) -> Result<bool, SinkError> {
    Ok(match mode {
        SqlMode::Mapped => true,
        SqlMode::Template => false,
        SqlMode::Auto => {
            let templates = drx_templates::SqlTemplates::load(
                &binding.templates_dir,
                binding.file_id,
                &binding.layout,
            )?;
            templates.file_count() == 0
        }
    })
}

/// What a server sink's client needs to connect, and to connect again.
pub(crate) struct Settings {
    /// The sink's name.
    pub sink: String,
    /// The connection string or URL (may hold a password: never logged).
    pub connection: String,
    /// The file id, its layout and its table.
    pub binding: crate::Binding,
    /// Create the table from the layout when it is missing.
    pub create_tables: bool,
}

/// Where a server sink's connection string comes from: the keys of its
/// section (`url`, or `connection_string` for ODBC) and their values.
pub(crate) struct ConnectionKeys<'a> {
    /// The key's name and value.
    pub value: (&'static str, Option<&'a str>),
    /// The name and value of the key naming an environment variable.
    pub env: (&'static str, Option<&'a str>),
    /// The name and value of the key naming a file (relative to the home).
    pub file: (&'static str, Option<&'a Path>),
}

/// The settings every server sink's section has besides its connection.
pub(crate) struct SectionSettings {
    /// Template, mapped or auto.
    pub mode: SqlMode,
    /// How long to keep reconnecting.
    pub reconnect_timeout_secs: u64,
    /// Inserts of at least this many rows go through the bulk path (0: never).
    pub bulk_min_rows: usize,
    /// Create a missing table from the layout.
    pub create_tables: bool,
}

/// The settings and engine options of a server sink's section.
pub(crate) fn open_settings(
    name: &str,
    home: &Path,
    keys: ConnectionKeys<'_>,
    section: SectionSettings,
    binding: &crate::Binding,
) -> Result<(Settings, super::SqlOptions), SinkError> {
    let SectionSettings {
        mode,
        reconnect_timeout_secs,
        bulk_min_rows,
        create_tables,
    } = section;
    let file = keys.file.1.map(|p| drx_config::absolute(home, p));
    let connection = connection_string(name, keys.value.1, keys.env.1, file.as_deref()).map_err(
        |e| match e {
            // The resolver speaks of `url`: say the section's own keys.
            SinkError::Config(m) => SinkError::Config(
                m.replace("(url_env)", &format!("({})", keys.env.0))
                    .replace("(url_file)", &format!("({})", keys.file.0))
                    .replace(
                        "give `url`, `url_env` or `url_file`",
                        &format!(
                            "give `{}`, `{}` or `{}`",
                            keys.value.0, keys.env.0, keys.file.0
                        ),
                    ),
            ),
            other => other,
        },
    )?;
    let options = super::SqlOptions {
        mapped: is_mapped(mode, binding)?,
        reconnect_for: std::time::Duration::from_secs(reconnect_timeout_secs),
        bulk_min_rows: if bulk_min_rows == 0 {
            usize::MAX
        } else {
            bulk_min_rows
        },
    };
    let settings = Settings {
        sink: name.to_owned(),
        connection,
        binding: binding.clone(),
        create_tables,
    };
    Ok((settings, options))
}
