//! Finding and compiling the templates of one extractor file id.

use crate::hbs::{HbsTemplate, compile_sql_hbs};
use crate::{Change, ChangeOp, RenderError, SqlTemplate, TemplateError, XmlTemplate};
use drx_layouts::Layout;
use std::path::{Path, PathBuf};

/// A template file could not be read or compiled.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Compiling failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Reads `dir/name`, or `None` when it does not exist.
fn read_optional(dir: &Path, name: &str) -> Result<Option<(String, String)>, LoadError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path.display().to_string(), text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LoadError::Io { path, source }),
    }
}

/// Reads `base` or `base.hbs` (not both).
fn read_either(dir: &Path, base: &str) -> Result<Option<(String, String, bool)>, LoadError> {
    let plain = read_optional(dir, base)?;
    let hbs = read_optional(dir, &format!("{base}.hbs"))?;
    match (plain, hbs) {
        (Some(_), Some((name, text))) => Err(TemplateError::at(
            &name,
            &text,
            0,
            format!("both {base} and {base}.hbs exist; keep one"),
        )
        .into()),
        (Some((name, text)), None) => Ok(Some((name, text, false))),
        (None, Some((name, text))) => Ok(Some((name, text, true))),
        (None, None) => Ok(None),
    }
}

/// The three SQL templates of a file id (`template.NNN.i/.u/.d`, or their
/// `.hbs` forms). A missing one falls back to [`SqlTemplate::default_for`].
#[derive(Debug, Clone)]
pub struct SqlTemplates {
    insert: Option<SqlTemplate>,
    update: Option<SqlTemplate>,
    delete: Option<SqlTemplate>,
    /// Which of insert/update/delete came from files.
    from_files: [bool; 3],
}

impl SqlTemplates {
    /// Loads and compiles the templates of `file_id` from `dir`.
    pub fn load(dir: &Path, file_id: u16, layout: &Layout) -> Result<SqlTemplates, LoadError> {
        let mut templates = [None, None, None];
        let mut from_files = [false; 3];
        for (n, op) in [ChangeOp::Insert, ChangeOp::Update, ChangeOp::Delete]
            .into_iter()
            .enumerate()
        {
            let base = format!("template.{file_id}.{}", op.suffix());
            templates[n] = match read_either(dir, &base)? {
                Some((name, text, false)) => Some(SqlTemplate::compile(&name, &text, layout)?),
                Some((name, text, true)) => Some(compile_sql_hbs(&name, &text, layout)?),
                None => SqlTemplate::default_for(op, layout),
            };
            from_files[n] = templates[n].is_some()
                && !templates[n]
                    .as_ref()
                    .is_some_and(|t| t.name().starts_with("(default"));
        }
        let [insert, update, delete] = templates;
        Ok(SqlTemplates {
            insert,
            update,
            delete,
            from_files,
        })
    }

    /// The default templates only (drx's mapped mode), whatever files exist:
    /// every field by name, the key for update and delete.
    pub fn defaults(layout: &Layout) -> SqlTemplates {
        SqlTemplates {
            insert: SqlTemplate::default_for(ChangeOp::Insert, layout),
            update: SqlTemplate::default_for(ChangeOp::Update, layout),
            delete: SqlTemplate::default_for(ChangeOp::Delete, layout),
            from_files: [false; 3],
        }
    }

    /// The template for `op`, if there is one.
    pub fn get(&self, op: ChangeOp) -> Option<&SqlTemplate> {
        match op {
            ChangeOp::Insert => self.insert.as_ref(),
            ChangeOp::Update => self.update.as_ref(),
            ChangeOp::Delete => self.delete.as_ref(),
        }
    }

    /// How many of the three came from template files.
    pub fn file_count(&self) -> usize {
        self.from_files.iter().filter(|b| **b).count()
    }
}

/// How a file id's changes render as XML.
#[derive(Debug)]
pub enum XmlRenderer {
    /// `template.NNN` in the guide's syntax.
    Seed(XmlTemplate),
    /// `template.NNN.hbs`.
    Handlebars(HbsTemplate),
    /// No template: one `<change>` element per change.
    Default(crate::DefaultElement),
}

impl XmlRenderer {
    /// Loads the XML template of `file_id` from `dir`, or the default.
    pub fn load(dir: &Path, file_id: u16, layout: &Layout) -> Result<XmlRenderer, LoadError> {
        Ok(match read_either(dir, &format!("template.{file_id}"))? {
            Some((name, text, false)) => {
                XmlRenderer::Seed(XmlTemplate::compile(&name, &text, layout)?)
            }
            Some((name, text, true)) => {
                XmlRenderer::Handlebars(HbsTemplate::compile(&name, &text, layout)?)
            }
            None => XmlRenderer::Default(crate::DefaultElement::new(layout)),
        })
    }

    /// Appends the rendering of `change` to `out`.
    pub fn render(
        &self,
        change: &Change<'_>,
        out: &mut Vec<u8>,
        scratch: &mut String,
    ) -> Result<(), RenderError> {
        match self {
            XmlRenderer::Seed(t) => t.render(change, out, scratch),
            XmlRenderer::Handlebars(t) => t.render(change, out),
            XmlRenderer::Default(element) => element.write(change, out, scratch),
        }
    }
}
