use crate::{
    ConfigError, ExtractorSettings, FileRecord, FilesTable, GlobalSettings, JournalSettings,
    ServerRecord, SinkSection, error::line_col, paths::absolute,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The name of the configuration file in the home directory.
pub const CONFIG_FILE_NAME: &str = "drx.toml";

/// The whole of `drx.toml`, with relative paths resolved against the home
/// directory.
#[derive(Debug, Clone)]
pub struct Config {
    /// The home directory the file was read from.
    pub home: PathBuf,
    /// The Control Table's `GLOBAL_SETTINGS` record.
    pub global_settings: GlobalSettings,
    /// The other Control Table records.
    pub servers: Vec<ServerRecord>,
    /// The Files Table.
    pub files: FilesTable,
    /// Journal settings; `journal.dir` is absolute.
    pub journal: JournalSettings,
    /// Extractor settings; its directories are absolute.
    pub extractor: ExtractorSettings,
    /// Mirroring settings; its paths are absolute.
    pub mirror: crate::MirrorSettings,
    /// The canary record (`drx canary`); its file is absolute.
    pub canary: crate::CanarySettings,
    /// The sink sections, for `drx-sinks` to parse.
    pub sinks: Vec<SinkSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global_settings: GlobalSettings,
    #[serde(default)]
    servers: Vec<ServerRecord>,
    #[serde(default)]
    files: Vec<FileRecord>,
    #[serde(default)]
    journal: JournalSettings,
    #[serde(default)]
    extractor: ExtractorSettings,
    #[serde(default)]
    mirror: crate::MirrorSettings,
    #[serde(default)]
    canary: crate::CanarySettings,
    #[serde(default)]
    sinks: Vec<toml::Spanned<toml::Table>>,
}

impl Config {
    /// The files the Files Table makes critical that exist: each include
    /// record's `source_path` (a star-name in its last component is listed),
    /// kept when the table selects it for the record's process (what `drx
    /// verify` and `drx backup` take by default).
    pub fn existing_critical_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for record in self.files.records() {
            if record.record_type != crate::FileRecordType::Include || record.in_any_directory {
                continue;
            }
            let pattern = crate::absolute(&self.home, Path::new(&record.source_path));
            let wild = |p: &Path| p.to_string_lossy().contains(['*', '?', '[']);
            let candidates: Vec<PathBuf> = if !wild(&pattern) {
                vec![pattern.clone()]
            } else {
                match pattern.parent().filter(|d| !wild(d)) {
                    Some(dir) => std::fs::read_dir(dir)
                        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                        .unwrap_or_default(),
                    None => Vec::new(),
                }
            };
            for path in candidates {
                if path.is_file()
                    && self.files.select(&record.process_name, &path).is_some()
                    && !out.contains(&path)
                {
                    out.push(path);
                }
            }
        }
        out.sort();
        out
    }

    /// Reads `drx.toml` from `home`.
    pub fn load(home: &Path) -> Result<Config, ConfigError> {
        let path = home.join(CONFIG_FILE_NAME);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        let home = std::path::absolute(home).map_err(|source| ConfigError::Io {
            path: home.to_owned(),
            source,
        })?;
        Config::parse(&path.display().to_string(), &text, &home)
    }

    /// Parses the text of a config file; `file` names it in errors and `home`
    /// (absolute) anchors relative paths.
    pub fn parse(file: &str, text: &str, home: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let mut journal = raw.journal;
        journal.dir = absolute(home, &journal.dir);
        let mut extractor = raw.extractor;
        extractor.layouts_dir = absolute(home, &extractor.layouts_dir);
        extractor.templates_dir = absolute(home, &extractor.templates_dir);
        extractor.dead_letter_dir = absolute(home, &extractor.dead_letter_dir);
        let mut mirror = raw.mirror;
        mirror.standby_journal_dir = if mirror.standby_journal_dir.as_os_str().is_empty() {
            journal.dir.clone()
        } else {
            absolute(home, &mirror.standby_journal_dir)
        };
        for root in &mut mirror.replica_roots {
            *root = absolute(home, root);
        }
        for path in [
            &mut mirror.secret_file,
            &mut mirror.tls_cert,
            &mut mirror.tls_key,
            &mut mirror.tls_ca,
        ]
        .into_iter()
        .flatten()
        {
            *path = absolute(home, path);
        }
        if extractor.batch_size == 0 {
            return Err(ConfigError::at(
                file,
                text,
                text.find("batch_size").unwrap_or(0),
                "extractor.batch_size must be at least 1",
            ));
        }
        let mut canary = raw.canary;
        canary.check(file, text)?;
        canary.file = absolute(home, &canary.file);
        let sinks = raw
            .sinks
            .into_iter()
            .map(|spanned| {
                let (line, col) = line_col(text, spanned.span().start);
                SinkSection {
                    table: spanned.into_inner(),
                    file: file.to_owned(),
                    line,
                    col,
                }
            })
            .collect();
        Ok(Config {
            home: home.to_owned(),
            global_settings: raw.global_settings,
            servers: raw.servers,
            files: FilesTable::new(raw.files, home),
            journal,
            extractor,
            mirror,
            canary,
            sinks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_section_has_defaults_and_absolute_paths() {
        let c = Config::parse("drx.toml", "", Path::new("/srv/drx")).unwrap();
        assert_eq!(c.mirror.commit, crate::CommitMode::Async);
        assert_eq!(
            c.mirror.standby_journal_dir,
            Path::new("/srv/drx/journal"),
            "one journal per node: the standby's is the node's"
        );
        let text = "[mirror]\nnode_id = \"b\"\ncommit = \"sync\"\nreplica_roots = [\"replicas\", \"/abs\"]\nsecret_file = \"secret\"\n";
        let c = Config::parse("drx.toml", text, Path::new("/srv/drx")).unwrap();
        assert_eq!(c.mirror.commit, crate::CommitMode::Sync);
        assert_eq!(
            c.mirror.replica_roots,
            [Path::new("/srv/drx/replicas"), Path::new("/abs")]
        );
        assert_eq!(
            c.mirror.secret_file.as_deref(),
            Some(Path::new("/srv/drx/secret"))
        );
        let err = Config::parse(
            "drx.toml",
            "[mirror]\ncommit = \"eventually\"\n",
            Path::new("/srv"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("drx.toml:2:"), "{err}");
    }

    #[test]
    fn unknown_key_names_file_line_col() {
        let text = "[global_settings]\ntcp_port = 5000\nsort_bufer = 3\n";
        let err = Config::parse("drx.toml", text, Path::new("/h")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("drx.toml:3:1: unknown field `sort_bufer`"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_type_names_the_value() {
        let text = "[[files]]\nsource_path = \"a\"\nextractor_file_id = \"x\"\n";
        let err = Config::parse("drx.toml", text, Path::new("/h")).unwrap_err();
        assert!(
            err.to_string().starts_with("drx.toml:3:21: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn full_config_parses_with_seed_names() {
        let text = r#"
[global_settings]
tcp_host = "127.0.0.1"
tcp_port = 5000
max_buffer_len = 8192

[[servers]]
record_type = "PRIMARY"
run_on_module = "m1"

[journal]
durability = "entry"

[[files]]
record_type = "include"
process_name = "*"
source_path = "error_codes.data"
destination_dir = "mirroring_dir"
extractor_file_id = 200

[[sinks]]
type = "sqlite"
path = "x.db"
"#;
        let c = Config::parse("drx.toml", text, Path::new("/h")).unwrap();
        assert_eq!(c.global_settings.tcp_port, Some(5000));
        assert_eq!(c.global_settings.primary_call_timeout, 60);
        assert_eq!(c.servers[0].priority, 8);
        assert_eq!(c.journal.dir, PathBuf::from("/h/journal"));
        assert_eq!(c.sinks.len(), 1);
        assert_eq!((c.sinks[0].line, c.sinks[0].col), (21, 1));
        assert_eq!(
            c.files.file_id_of(Path::new("/h/error_codes.data")),
            Some(200)
        );
    }
}
