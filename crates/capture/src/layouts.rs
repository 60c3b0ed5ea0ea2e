//! Loading the layout of an extractor file id from the layouts directory.
//!
//! File id NNN is described by one of:
//! - `layout.NNN`: a layout in the VOS data-description syntax;
//! - a COBOL copybook: `layout.NNN.cpy` (or `.cob`), with its settings in
//!   an optional `layout.NNN.toml` (code page, tables as columns or JSON,
//!   …; see [`drx_config::CopybookSettings`]), which may also name a
//!   copybook of another name (`copybook = "customer.cpy"`).

use drx_config::{ConfigError, CopybookLayoutSettings, CopybookSettings};
use drx_layouts::{Copybook, CopybookError, Layout};
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
    /// The copybook does not parse (the error names file:line:col).
    #[error(transparent)]
    Copybook(#[from] CopybookError),
    /// `layout.NNN.toml` is not valid (the error names file:line:col).
    #[error(transparent)]
    Settings(#[from] ConfigError),
    /// Both a VOS layout and a copybook describe the file id.
    #[error("{vos} and {copybook} both describe file id {file_id}: keep one")]
    Ambiguous {
        /// The file id.
        file_id: u16,
        /// The VOS layout.
        vos: PathBuf,
        /// The copybook or its settings.
        copybook: PathBuf,
    },
}

/// The path of `layout.NNN` in `dir`.
pub fn layout_path(dir: &Path, file_id: u16) -> PathBuf {
    dir.join(format!("layout.{file_id}"))
}

/// Reads and parses the layout of `file_id` from `dir`: `layout.NNN`, or a
/// copybook (`layout.NNN.cpy` / `.cob`, settings in `layout.NNN.toml`).
pub fn load_layout(dir: &Path, file_id: u16) -> Result<Arc<Layout>, LayoutLoadError> {
    let vos = layout_path(dir, file_id);
    let settings = dir.join(format!("layout.{file_id}.toml"));
    let copybooks = ["cpy", "cob"].map(|ext| dir.join(format!("layout.{file_id}.{ext}")));
    let cobol = std::iter::once(&settings)
        .chain(&copybooks)
        .find(|p| p.exists());
    match (vos.exists(), cobol) {
        (true, Some(other)) => Err(LayoutLoadError::Ambiguous {
            file_id,
            vos,
            copybook: other.clone(),
        }),
        (false, Some(_)) => load_copybook(dir, &settings, &copybooks),
        _ => {
            let text = read(&vos)?;
            Ok(Arc::new(Layout::parse(&vos.display().to_string(), &text)?))
        }
    }
}

fn read(path: &Path) -> Result<String, LayoutLoadError> {
    std::fs::read_to_string(path).map_err(|source| LayoutLoadError::Io {
        path: path.to_owned(),
        source,
    })
}

fn load_copybook(
    dir: &Path,
    settings: &Path,
    copybooks: &[PathBuf],
) -> Result<Arc<Layout>, LayoutLoadError> {
    let settings_name = settings.display().to_string();
    let settings_text = if settings.exists() {
        read(settings)?
    } else {
        String::new()
    };
    let CopybookLayoutSettings {
        copybook,
        parse,
        layout,
        name_spans,
    } = CopybookSettings::parse(&settings_name, &settings_text)?;
    let path = match copybook {
        Some(p) => dir.join(p),
        None => copybooks
            .iter()
            .find(|p| p.exists())
            .unwrap_or(&copybooks[0])
            .clone(),
    };
    let name = path.display().to_string();
    let copybook = Copybook::parse_options(&name, &read(&path)?, parse)?;
    // Names the settings give that the copybook lacks are errors at their
    // place in the settings file.
    let unknown = |what: &str, n: &str| {
        let at = name_spans
            .iter()
            .find(|(s, _)| s == n)
            .map_or(0, |&(_, at)| at);
        ConfigError::at(
            &settings_name,
            &settings_text,
            at,
            format!(
                "{what}: {n} is not {} of {name}",
                match what {
                    "key" => "a column",
                    _ => "an item",
                }
            ),
        )
    };
    for (n, _) in &layout.field_code_pages {
        if !has_item(copybook.items(), n) {
            return Err(unknown("field_code_pages", n).into());
        }
    }
    let mut keyless = layout.clone();
    keyless.key.clear();
    let columns = Layout::from_copybook(&name, &copybook, &keyless)?;
    for k in &layout.key {
        if columns.field_index(k).is_none()
            && !columns
                .fields()
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(k))
        {
            return Err(unknown("key", k).into());
        }
    }
    Ok(Arc::new(Layout::from_copybook(&name, &copybook, &layout)?))
}

/// Whether an item of `items` (or under them) has the data name `name`
/// (`-` and `_`, upper and lower case alike).
fn has_item(items: &[drx_layouts::Item], name: &str) -> bool {
    let norm = |s: &str| s.to_ascii_uppercase().replace('_', "-");
    let want = norm(name);
    items
        .iter()
        .any(|i| norm(&i.name) == want || has_item(&i.children, name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use drx_layouts::{FieldType, Value};

    const COPYBOOK: &str = "       01  CUSTOMER.
           05  CUST-ID     PIC 9(4).
           05  CUST-NAME   PIC X(6).
";

    #[test]
    fn copybook_with_and_without_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("layout.7.cpy"), COPYBOOK).unwrap();
        let layout = load_layout(dir.path(), 7).unwrap();
        assert!(layout.is_copybook());
        assert_eq!(layout.fields()[1].name, "cust_name");
        // EBCDIC 037 by default.
        let record = [0xF0, 0xF0, 0xF4, 0xF2, 0xC1, 0xC2, 0x40, 0x40, 0x40, 0x40];
        let mut s = String::new();
        layout
            .view(&record)
            .unwrap()
            .get(1)
            .unwrap()
            .write_text(&mut s)
            .unwrap();
        assert_eq!(s, "AB");

        // Settings naming another copybook, ASCII, names kept.
        std::fs::remove_file(dir.path().join("layout.7.cpy")).unwrap();
        std::fs::write(dir.path().join("customer.cob"), COPYBOOK).unwrap();
        std::fs::write(
            dir.path().join("layout.7.toml"),
            "copybook = \"customer.cob\"\ncode_page = \"ascii\"\ncolumn_names = \"keep\"\n",
        )
        .unwrap();
        let layout = load_layout(dir.path(), 7).unwrap();
        assert_eq!(layout.fields()[0].name, "CUST_ID");
        assert_eq!(
            layout.fields()[0].ty,
            FieldType::Decimal {
                precision: 4,
                scale: 0
            }
        );
        let v = layout.view(b"0042AB    ").unwrap();
        assert_eq!(
            v.get(0).unwrap(),
            Value::Decimal(drx_layouts::Decimal::new(42, 0))
        );
    }

    #[test]
    fn unknown_names_in_the_settings_are_errors_at_their_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("layout.7.cpy"), COPYBOOK).unwrap();
        std::fs::write(
            dir.path().join("layout.7.toml"),
            "code_page = \"ascii\"\nfield_code_pages = { \"CUST-NAME\" = \"latin1\", \"NOPE\" = \"cp500\" }\n",
        )
        .unwrap();
        let e = load_layout(dir.path(), 7).unwrap_err().to_string();
        assert!(
            e.contains("layout.7.toml:2:46: field_code_pages: NOPE is not an item"),
            "{e}"
        );
        std::fs::write(
            dir.path().join("layout.7.toml"),
            "organization = \"indexed\"\nkey = [\"cust_id\", \"cust_nmae\"]\n",
        )
        .unwrap();
        let e = load_layout(dir.path(), 7).unwrap_err().to_string();
        assert!(
            e.contains("layout.7.toml:2:19: key: cust_nmae is not a column"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("layout.7.toml"), "occurs = \"rows\"\n").unwrap();
        let e = load_layout(dir.path(), 7).unwrap_err().to_string();
        assert!(e.contains("layout.7.toml:1:10: occurs"), "{e}");

        std::fs::write(dir.path().join("layout.7.toml"), "").unwrap();
        let e = load_layout(dir.path(), 7).unwrap_err().to_string();
        assert!(e.contains("layout.7.cpy"), "{e}");

        std::fs::write(
            dir.path().join("layout.7.cpy"),
            "       01 R.\n          05 A PIC.\n",
        )
        .unwrap();
        let e = load_layout(dir.path(), 7).unwrap_err().to_string();
        assert!(e.contains("layout.7.cpy:2:"), "{e}");

        std::fs::write(dir.path().join("layout.7"), "fields: a char(1);\nend;\n").unwrap();
        let e = load_layout(dir.path(), 7).unwrap_err().to_string();
        assert!(e.contains("both describe file id 7"), "{e}");
    }
}
