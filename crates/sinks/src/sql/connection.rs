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
