//! `drx.toml`: the Control Table, the Files Table, journal and extractor
//! settings, and the sink sections.
//!
//! The file lives in the drx *home* directory (`--home DIR`, else `DRX_HOME`,
//! else the current directory). Its sections keep the field names of the DRMS
//! user's guide so that its users feel at home:
//!
//! * `[global_settings]` — the Control Table's `GLOBAL_SETTINGS` record;
//! * `[[servers]]` — the other Control Table records (`PRIMARY`, `BACKUP`, ...);
//! * `[[files]]` — the Files Table: `include`, `exclude` and `equalize` records;
//! * `[journal]`, `[extractor]`, `[mirror]`, `[canary]` — drx's own settings;
//! * `[[sinks]]` — where extracted changes go; each is parsed by `drx-sinks`.
//!
//! Unknown keys are errors that name `file:line:col`.
//!
//! ```
//! let text = r#"
//! [[files]]
//! process_name = "*"
//! source_path = "error_codes.data"
//! extractor_file_id = 200
//! "#;
//! let config = drx_config::Config::parse("drx.toml", text, "/srv/drx".as_ref()).unwrap();
//! let selected = config.files.select("drx_demo", "/srv/drx/error_codes.data".as_ref());
//! assert_eq!(selected.unwrap().extractor_file_id, Some(200));
//! assert!(config.files.select("drx_demo", "/srv/drx/other.data".as_ref()).is_none());
//! ```

mod canary;
mod config;
mod control;
mod copybook_settings;
mod error;
mod extractor;
mod files_table;
mod journal;
mod mirror;
mod paths;
mod sink_section;

pub use crate::{
    canary::CanarySettings,
    config::{CONFIG_FILE_NAME, Config},
    control::{GlobalSettings, ServerRecord, ServerType},
    copybook_settings::{CopybookLayoutSettings, CopybookSettings},
    error::ConfigError,
    extractor::{BadRecordPolicy, ExtractorSettings},
    files_table::{FileRecord, FileRecordType, FilesTable},
    journal::{DurabilityMode, JournalSettings},
    mirror::{CommitMode, MirrorSettings, commit_socket},
    paths::{absolute, normalize},
    sink_section::SinkSection,
};
