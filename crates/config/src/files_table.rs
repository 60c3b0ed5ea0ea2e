//! The Files Table (the guide's `drms_files.table`): which processes and files
//! are critical, where they are mirrored, and which extractor file id they map to.

use crate::paths::absolute;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use wildmatch::WildMatch;

/// The kind of a Files Table record.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum FileRecordType {
    /// Critical: capture its changes (the default).
    #[default]
    Include,
    /// Never capture these, even if an include record matches.
    Exclude,
    /// Non-transactional files copied by the equalizer.
    Equalize,
}

/// One record of the Files Table (`[[files]]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// `include` (default), `exclude` or `equalize`.
    #[serde(default)]
    pub record_type: FileRecordType,
    /// The process (star-name allowed, `*` for any).
    #[serde(default = "any")]
    pub process_name: String,
    /// The critical file's path (star-names allowed); relative paths are
    /// relative to the home directory.
    pub source_path: String,
    /// The directory on the standby where the file is mirrored.
    #[serde(default, alias = "mirroring_dir")]
    pub destination_dir: Option<PathBuf>,
    /// The application server on the standby that applies this file.
    #[serde(default)]
    pub drms_server: Option<u16>,
    /// Match `source_path`'s file name in any directory.
    #[serde(default)]
    pub in_any_directory: bool,
    /// On the standby, turn a rewrite of a missing record into a write.
    #[serde(default)]
    pub auto_synchronize: bool,
    /// Do not journal read operations (drx never journals reads; accepted for
    /// compatibility).
    #[serde(default)]
    pub dont_send_reads: bool,
    /// Non-zero: the layout and templates (`layout.NNN`, `template.NNN*`) of
    /// this file.
    #[serde(default)]
    pub extractor_file_id: Option<u16>,
    /// Equalize: minutes between checks.
    #[serde(default)]
    pub equalize_interval: Option<u32>,
    /// Equalize files missing on the standby.
    #[serde(default)]
    pub equalize_if_new: bool,
    /// Equalize files newer on the primary.
    #[serde(default)]
    pub equalize_if_modified: bool,
    /// Equalize files even while they are locked.
    #[serde(default)]
    pub equalize_if_locked: bool,
    /// Report standby files that no longer exist on the primary.
    #[serde(default)]
    pub report_orphans: bool,
    /// Delete standby files that no longer exist on the primary.
    #[serde(default)]
    pub delete_orphans: bool,
}

fn any() -> String {
    "*".to_owned()
}

/// A compiled Files Table record: its star-names made into matchers.
#[derive(Debug, Clone)]
struct Rule {
    process: WildMatch,
    /// Matches the absolute path, or only the file name with `in_any_directory`.
    path: WildMatch,
    record: FileRecord,
}

/// The Files Table, compiled for matching.
#[derive(Debug, Clone, Default)]
pub struct FilesTable {
    rules: Vec<Rule>,
}

impl FilesTable {
    /// Compiles the records; relative `source_path`s are taken against `home`.
    pub fn new(records: Vec<FileRecord>, home: &Path) -> FilesTable {
        let rules = records
            .into_iter()
            .map(|record| {
                let pattern = if record.in_any_directory {
                    Path::new(&record.source_path)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| record.source_path.clone())
                } else {
                    absolute(home, Path::new(&record.source_path))
                        .to_string_lossy()
                        .into_owned()
                };
                Rule {
                    process: WildMatch::new(&record.process_name),
                    path: WildMatch::new(&pattern),
                    record,
                }
            })
            .collect();
        FilesTable { rules }
    }

    /// The records, in file order.
    pub fn records(&self) -> impl Iterator<Item = &FileRecord> {
        self.rules.iter().map(|r| &r.record)
    }

    /// The include record that makes `path` (absolute, normalized) critical for
    /// `process`, or `None` when no include record selects it or an exclude
    /// record drops it.
    pub fn select(&self, process: &str, path: &Path) -> Option<&FileRecord> {
        let full = path.to_string_lossy();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let matches = |rule: &Rule| {
            let subject: &str = if rule.record.in_any_directory {
                &name
            } else {
                &full
            };
            rule.process.matches(process) && rule.path.matches(subject)
        };
        let excluded = self
            .rules
            .iter()
            .any(|r| r.record.record_type == FileRecordType::Exclude && matches(r));
        if excluded {
            return None;
        }
        self.rules
            .iter()
            .find(|r| r.record.record_type == FileRecordType::Include && matches(r))
            .map(|r| &r.record)
    }

    /// The extractor file id of `path` for any process, if an include record
    /// maps it to one (what the extractor uses to pick journal entries).
    pub fn file_id_of(&self, path: &Path) -> Option<u16> {
        self.select_any_process(path)
            .and_then(|r| r.extractor_file_id)
            .filter(|id| *id != 0)
    }

    fn select_any_process(&self, path: &Path) -> Option<&FileRecord> {
        let full = path.to_string_lossy();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        self.rules
            .iter()
            .find(|rule| {
                rule.record.record_type == FileRecordType::Include
                    && rule.path.matches(if rule.record.in_any_directory {
                        &name
                    } else {
                        &full
                    })
            })
            .map(|r| &r.record)
    }

    /// The absolute source paths (patterns) of the include records mapped to
    /// `file_id`.
    pub fn sources_of(&self, file_id: u16, home: &Path) -> Vec<PathBuf> {
        self.records()
            .filter(|r| {
                r.record_type == FileRecordType::Include && r.extractor_file_id == Some(file_id)
            })
            .map(|r| absolute(home, Path::new(&r.source_path)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: FileRecordType, process: &str, path: &str) -> FileRecord {
        FileRecord {
            record_type: kind,
            process_name: process.into(),
            source_path: path.into(),
            destination_dir: None,
            drms_server: None,
            in_any_directory: false,
            auto_synchronize: false,
            dont_send_reads: false,
            extractor_file_id: Some(7),
            equalize_interval: None,
            equalize_if_new: false,
            equalize_if_modified: false,
            equalize_if_locked: false,
            report_orphans: false,
            delete_orphans: false,
        }
    }

    #[test]
    fn include_with_star_names_and_exclude_wins() {
        let table = FilesTable::new(
            vec![
                record(FileRecordType::Include, "Trade*", "data/*.dat"),
                record(FileRecordType::Exclude, "ReportTxn", "data/main.dat"),
                record(FileRecordType::Exclude, "*", "data/log.dat"),
            ],
            Path::new("/h"),
        );
        let p = Path::new("/h/data/main.dat");
        assert!(table.select("TradeProcessor1", p).is_some());
        assert!(table.select("Other", p).is_none());
        assert!(table.select("ReportTxn", p).is_none());
        assert!(
            table
                .select("TradeX", Path::new("/h/data/log.dat"))
                .is_none()
        );
        assert!(
            table
                .select("TradeX", Path::new("/elsewhere/main.dat"))
                .is_none()
        );
        assert_eq!(table.file_id_of(p), Some(7));
    }

    #[test]
    fn in_any_directory_matches_the_file_name() {
        let mut r = record(FileRecordType::Include, "*", "MainTxnFile");
        r.in_any_directory = true;
        let table = FilesTable::new(vec![r], Path::new("/h"));
        assert!(table.select("p", Path::new("/x/y/MainTxnFile")).is_some());
        assert!(table.select("p", Path::new("/x/y/Other")).is_none());
    }
}
