//! The Control Table (the guide's `drms.table`): one `GLOBAL_SETTINGS` record
//! and the server records.

use serde::Deserialize;

/// The `GLOBAL_SETTINGS` record of the Control Table (`[global_settings]`).
///
/// Field names and defaults follow the DRMS guide's `drms.dd`; fields that only
/// make sense on VOS (25th-line alerts, server queues, yield processor) are not
/// carried over.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalSettings {
    /// The address of the standby (the guide's "IP of the Backup").
    pub tcp_host: Option<String>,
    /// The TCP port of the mirroring connection.
    pub tcp_port: Option<u16>,
    /// The largest application I/O buffer, in bytes (the guide's; kept for
    /// compatibility: drx sizes its own buffers, and a frame of entries
    /// grows to what the batch needs).
    pub max_buffer_len: u32,
    /// Seconds between reconnection attempts by the primary server.
    pub primary_call_timeout: u32,
    /// I/O errors logged per mirrored file before logging stops.
    pub max_file_errors: u32,
    /// Log per-file operation counts when a file is closed.
    pub log_statistics_on_close: bool,
    /// The standby's system name, substituted for the primary's when a
    /// `destination_dir` is empty.
    pub substitute_system_name: Option<String>,
    /// Compare primary and replica file information at open.
    pub check_file_at_open: bool,
    /// Compare primary and replica file information at close.
    pub check_file_at_close: bool,
    /// Compare file information every this many minutes (0: never).
    pub check_file_interval: u32,
    /// Apply source transactions as transactions on the standby.
    pub use_tp: bool,
    /// Escape `< > & ' "` in XML output (the extractor always does; kept for
    /// compatibility, `false` is rejected by `drx check`).
    pub replace_special_chars: bool,
    /// Warn when this many entries are pending (0: never).
    pub qmon_warn_at: u64,
    /// Run without capturing: critical files are written but not journaled.
    pub disable_drms: bool,
    /// Keep capturing when the primary server is down (the journal holds the
    /// entries until it comes back).
    pub keep_trying: bool,
    /// Trace bits, as in the guide (1 communication, 2 file selection, ...).
    pub trace_level: u32,
}

impl Default for GlobalSettings {
    fn default() -> Self {
        GlobalSettings {
            tcp_host: None,
            tcp_port: None,
            max_buffer_len: 8196,
            primary_call_timeout: 60,
            max_file_errors: 50,
            log_statistics_on_close: true,
            substitute_system_name: None,
            check_file_at_open: true,
            check_file_at_close: true,
            check_file_interval: 0,
            use_tp: true,
            replace_special_chars: true,
            qmon_warn_at: 0,
            disable_drms: false,
            keep_trying: true,
            trace_level: 0,
        }
    }
}

/// The kind of a server record (`record_type`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerType {
    /// Communications server on the primary.
    Primary,
    /// Communications server on the standby.
    Backup,
    /// Applies mirrored operations on the standby.
    Application,
    /// Periodically equalizes non-transactional files.
    Equalizer,
}

/// A server record of the Control Table (`[[servers]]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerRecord {
    /// `PRIMARY`, `BACKUP`, `APPLICATION` or `EQUALIZER`.
    pub record_type: ServerType,
    /// The module (host) the server runs on.
    #[serde(default)]
    pub run_on_module: Option<String>,
    /// Scheduling priority (the guide's default 8).
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// Address to connect to or listen on.
    #[serde(default)]
    pub tcp_host: Option<String>,
    /// TCP port.
    #[serde(default)]
    pub tcp_port: Option<u16>,
}

fn default_priority() -> u8 {
    8
}
