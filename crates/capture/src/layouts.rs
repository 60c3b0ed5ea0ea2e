use drx_layouts::Layout;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A layout file that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum LayoutLoadError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Parsing failed (the error names file:line:col).
    #[error(transparent)]
    Parse(#[from] drx_layouts::LayoutError),
}

/// The path of `layout.NNN` in `dir`.
pub fn layout_path(dir: &Path, file_id: u16) -> PathBuf {
    dir.join(format!("layout.{file_id}"))
}

/// Reads and parses `layout.NNN` from `dir`.
pub fn load_layout(dir: &Path, file_id: u16) -> Result<Arc<Layout>, LayoutLoadError> {
    let path = layout_path(dir, file_id);
    let text = std::fs::read_to_string(&path).map_err(|source| LayoutLoadError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(Arc::new(Layout::parse(&path.display().to_string(), &text)?))
}
