use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `type = "xml"`: one XML document per file id, `<dir>/<target>.xml`,
/// rendered through `template.NNN` (ids 1–99) or one `<change>` element per
/// change.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct XmlConfig {
    /// The sink's name (default `xml`).
    #[serde(default)]
    pub name: Option<String>,
    /// The directory of the XML files, relative to the home directory.
    #[serde(default = "dot")]
    pub dir: PathBuf,
    /// The file ids this sink takes (empty: all).
    #[serde(default)]
    pub file_ids: Vec<u16>,
    /// The file stem of each file id.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Records between checkpoints (data fsync + checkpoint file).
    #[serde(default = "crate::csv::every_default")]
    pub commit_every: u64,
    /// The document's root element.
    #[serde(default = "root")]
    pub root: String,
}

fn dot() -> PathBuf {
    PathBuf::from(".")
}

fn root() -> String {
    "drx".into()
}

crate::config::impl_common!(XmlConfig);
