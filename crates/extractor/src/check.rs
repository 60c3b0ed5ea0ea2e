//! `drx check`: the configuration, every layout, and every template against
//! its layout.

use crate::ExtractError;
use drx_config::Config;
use drx_sinks::SinkConfig;
use drx_templates::{SqlTemplates, XmlRenderer};
use std::collections::BTreeSet;

/// What `drx check` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Files Table records.
    pub file_records: usize,
    /// Control Table server records.
    pub servers: usize,
    /// File ids checked.
    pub file_ids: Vec<u16>,
    /// One line per file id: its layout and templates.
    pub details: Vec<String>,
    /// Sinks and the file ids they take.
    pub sinks: Vec<String>,
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "drx.toml: {} Files Table records, {} server records, {} sinks",
            self.file_records,
            self.servers,
            self.sinks.len()
        )?;
        for line in &self.details {
            writeln!(f, "  {line}")?;
        }
        for line in &self.sinks {
            writeln!(f, "  {line}")?;
        }
        write!(f, "ok")
    }
}

/// Checks everything `drx extract` and `drx io` will need; the first problem
/// is returned as an error naming its file, line and column.
pub fn check(config: &Config) -> Result<CheckReport, ExtractError> {
    if !config.global_settings.replace_special_chars {
        return Err(ExtractError::Config(
            "global_settings.replace_special_chars = false: drx always escapes XML special characters; remove the setting".into(),
        ));
    }
    let mut report = CheckReport {
        file_records: config.files.records().count(),
        servers: config.servers.len(),
        ..CheckReport::default()
    };
    let mut sinks = Vec::new();
    for section in &config.sinks {
        sinks.push(SinkConfig::from_section(section)?);
    }
    let ids: BTreeSet<u16> = config
        .files
        .records()
        .filter_map(|r| r.extractor_file_id)
        .filter(|id| *id != 0)
        .collect();
    for &id in &ids {
        let layout = drx_capture::load_layout(&config.extractor.layouts_dir, id)?;
        let dir = &config.extractor.templates_dir;
        let template_err = |e: drx_templates::LoadError| ExtractError::Sink {
            sink: format!("file id {id}"),
            source: drx_sinks::SinkError::Template(e),
        };
        let detail = if id < 100 {
            let xml = XmlRenderer::load(dir, id, &layout).map_err(template_err)?;
            let kind = match xml {
                XmlRenderer::Seed(_) => "template.NNN",
                XmlRenderer::Handlebars(_) => "template.NNN.hbs",
                XmlRenderer::Default(_) => "the default <change> element",
            };
            format!(
                "file id {id}: layout.{id} ({} fields, {} bytes), XML through {kind}",
                layout.fields().len(),
                layout.record_len()
            )
        } else {
            let sql = SqlTemplates::load(dir, id, &layout).map_err(template_err)?;
            format!(
                "file id {id}: layout.{id} ({} fields, {} bytes{}), {} of 3 SQL templates from files",
                layout.fields().len(),
                layout.record_len(),
                if layout.key_fields().is_empty() {
                    ", no key"
                } else {
                    ""
                },
                sql.file_count()
            )
        };
        report.details.push(detail);
        report.file_ids.push(id);
    }
    for sink in &sinks {
        let takes: Vec<String> = ids
            .iter()
            .filter(|id| sink.serves(**id))
            .map(u16::to_string)
            .collect();
        report.sinks.push(format!(
            "sink {}: file ids {}",
            sink.name(),
            if takes.is_empty() {
                "(none)".to_owned()
            } else {
                takes.join(", ")
            }
        ));
    }
    Ok(report)
}
