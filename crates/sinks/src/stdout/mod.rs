//! The stdout sink: changes printed as CSV rows or XML elements, for a look.

use crate::{Batch, Binding, Checkpoint, Sink, SinkError};
use drx_templates::XmlRenderer;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;

/// How the stdout sink prints changes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum StdoutFormat {
    /// `op,seq,txn,<fields>` rows.
    #[default]
    Csv,
    /// XML elements (templates apply).
    Xml,
}

/// `type = "stdout"`: prints every change; keeps no checkpoint, so each run
/// prints from the start of the journal.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    /// The sink's name (default `stdout`).
    #[serde(default)]
    pub name: Option<String>,
    /// The file ids this sink takes (empty: all).
    #[serde(default)]
    pub file_ids: Vec<u16>,
    /// Unused; kept so every sink takes the same keys.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// `csv` (default) or `xml`.
    #[serde(default)]
    pub format: StdoutFormat,
}

crate::config::impl_common!(StdoutConfig);

/// Prints changes to standard output.
#[derive(Debug)]
pub struct StdoutSink {
    name: String,
    format: StdoutFormat,
    renderer: XmlRenderer,
    out: Vec<u8>,
    scratch: String,
}

impl StdoutSink {
    /// A sink printing in `config.format`.
    pub fn open(
        name: String,
        config: &StdoutConfig,
        binding: Binding,
    ) -> Result<StdoutSink, SinkError> {
        let renderer = match config.format {
            StdoutFormat::Xml => {
                XmlRenderer::load(&binding.templates_dir, binding.file_id, &binding.layout)?
            }
            StdoutFormat::Csv => {
                XmlRenderer::Default(drx_templates::DefaultElement::new(&binding.layout))
            }
        };
        Ok(StdoutSink {
            name,
            format: config.format,
            renderer,
            out: Vec::new(),
            scratch: String::new(),
        })
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, SinkError> {
        Ok(None)
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.out.clear();
        for change in batch.decoded() {
            let change = change?;
            match self.format {
                StdoutFormat::Xml => self
                    .renderer
                    .render(&change, &mut self.out, &mut self.scratch)
                    .map_err(|source| SinkError::Render {
                        seq: change.seq,
                        source,
                    })?,
                StdoutFormat::Csv => {
                    let mut w = csv::WriterBuilder::new().from_writer(&mut self.out);
                    let mut row = vec![
                        change.op.as_str().to_owned(),
                        change.seq.to_string(),
                        change.txn.to_string(),
                    ];
                    if let Some(image) = change.image() {
                        for i in 0..image.layout().fields().len() {
                            let mut s = String::new();
                            image
                                .get(i)
                                .and_then(|v| v.write_text(&mut s))
                                .map_err(|source| SinkError::Decode {
                                    seq: change.seq,
                                    source,
                                })?;
                            row.push(s);
                        }
                    }
                    w.write_record(&row)
                        .map_err(|e| SinkError::Config(e.to_string()))?;
                    w.flush().map_err(|e| SinkError::Config(e.to_string()))?;
                }
            }
        }
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        lock.write_all(&self.out)
            .and_then(|()| lock.flush())
            .map_err(crate::sink::io(std::path::Path::new("<stdout>")))
    }

    fn commit(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}
