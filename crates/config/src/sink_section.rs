/// One `[[sinks]]` section, kept as TOML for `drx-sinks` to parse into its own
/// typed configuration, with the place it came from for error messages.
#[derive(Debug, Clone)]
pub struct SinkSection {
    /// The section's keys.
    pub table: toml::Table,
    /// The config file's display name.
    pub file: String,
    /// 1-based line of the section.
    pub line: usize,
    /// 1-based column of the section.
    pub col: usize,
}

impl SinkSection {
    /// A [`crate::ConfigError`] located at this section.
    pub fn error(&self, message: impl Into<String>) -> crate::ConfigError {
        crate::ConfigError::Invalid {
            file: self.file.clone(),
            line: self.line,
            col: self.col,
            message: message.into(),
        }
    }
}
