use drx_layouts::DecodeError;

/// A template that cannot be compiled, naming `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct TemplateError {
    /// The template's display name, e.g. `templates/template.200.i`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl TemplateError {
    pub(crate) fn at(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        TemplateError {
            file: file.to_owned(),
            line,
            col: before[start..].chars().count() + 1,
            message: message.into(),
        }
    }
}

/// A failure while rendering one change.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A field of the record could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The change lacks the image the template needs.
    #[error("the {op} change has no {image} image")]
    MissingImage {
        /// insert, update or delete.
        op: &'static str,
        /// before or after.
        image: &'static str,
    },
    /// A value holds a character that XML 1.0 cannot carry.
    #[error("{what}: character U+{code:04X} cannot appear in XML 1.0")]
    NotXml {
        /// The field or value.
        what: String,
        /// The character.
        code: u32,
    },
    /// A Handlebars template failed.
    #[error("{message}")]
    Handlebars {
        /// What Handlebars said.
        message: String,
        /// 1-based line in the template, where known.
        line: Option<usize>,
        /// 1-based column, where known.
        col: Option<usize>,
    },
}
