//! What a replica needs to know: where it may write, how journal paths map
//! to replica paths, and where it keeps its own state.

use drx_config::{Config, FilesTable};
use std::path::PathBuf;

/// The settings of a [`Replica`](crate::Replica).
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// The directories replicas may be written into (absolute). A path
    /// mapped outside all of them is refused. A record without a
    /// `destination_dir` is mirrored under the first.
    pub roots: Vec<PathBuf>,
    /// Where the replica keeps its state file and the spools of open
    /// transactions. It must lie outside every root (and hold none).
    pub state_dir: PathBuf,
    /// The Files Table: the record that selects a journal path gives its
    /// `destination_dir`.
    pub files: FilesTable,
    /// Relative `destination_dir`s are taken against this directory.
    pub home: PathBuf,
    /// The standby's system name, put in place of the primary's (the first
    /// component of the journal path) for a record without a
    /// `destination_dir`.
    pub substitute_system_name: Option<String>,
    /// Replica files kept open at once (at least 1); more are closed (after
    /// an fsync, when written) as others are opened.
    pub max_open_files: usize,
}

impl ReplicaConfig {
    /// The state directory's name under the home, by default.
    pub const STATE_DIR_NAME: &'static str = "replica_state";

    /// The settings of `drx.toml`: `[mirror] replica_roots`, the Files
    /// Table, `[global_settings] substitute_system_name`, and the state in
    /// `<home>/replica_state`.
    pub fn from_config(config: &Config) -> ReplicaConfig {
        ReplicaConfig {
            roots: config.mirror.replica_roots.clone(),
            state_dir: config.home.join(Self::STATE_DIR_NAME),
            files: config.files.clone(),
            home: config.home.clone(),
            substitute_system_name: config.global_settings.substitute_system_name.clone(),
            max_open_files: 256,
        }
    }
}
