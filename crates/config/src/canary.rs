//! The `[canary]` section: the canary record `drx canary` writes through
//! the capture library and looks for on the standby and in the sinks
//! (docs/CANARY.md).

use crate::ConfigError;
use serde::Deserialize;
use std::path::PathBuf;

/// The `[canary]` section. Every key has a default; the canary file must
/// also be selected by an include record of the Files Table (with an
/// `extractor_file_id` when sinks are to be checked).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CanarySettings {
    /// The canary file (relative to the home; default `canary.dat`): an
    /// indexed file of drx's canary layout, one record per node, rewritten
    /// at every round.
    pub file: PathBuf,
    /// The process name the canary record is written under (default
    /// `drx_canary`); the Files Table must select the file for it.
    pub process_name: String,
    /// Seconds between two rounds of `drx canary --every` (default 60).
    pub interval: u64,
    /// How long a round waits for the record to reach each target, in
    /// milliseconds (default 10000); then it raises an alert.
    pub timeout_ms: u64,
    /// The sinks to look in, by name. Default: every sink that takes the
    /// canary file's `extractor_file_id`, except `stdout` sinks; `[]`
    /// checks none.
    pub sinks: Option<Vec<String>>,
    /// Whether to check the standby (its acknowledgement, through the
    /// primary server's commit socket). Default: when the home is
    /// mirrored (`[mirror] secret_file` or `secret_env` set).
    pub standby: Option<bool>,
}

impl Default for CanarySettings {
    fn default() -> Self {
        CanarySettings {
            file: PathBuf::from("canary.dat"),
            process_name: "drx_canary".to_owned(),
            interval: 60,
            timeout_ms: 10_000,
            sinks: None,
            standby: None,
        }
    }
}

impl CanarySettings {
    /// Checks the values serde cannot: errors name `file:line:col` of the
    /// key in `text`.
    pub(crate) fn check(&self, file: &str, text: &str) -> Result<(), ConfigError> {
        let at = |key: &str, message: &str| {
            let section = text.find("[canary]").unwrap_or(0);
            let offset = text[section..].find(key).map_or(section, |k| section + k);
            ConfigError::at(file, text, offset, message)
        };
        if self.interval == 0 {
            return Err(at(
                "interval",
                "canary.interval must be at least 1 (seconds)",
            ));
        }
        if self.timeout_ms == 0 {
            return Err(at(
                "timeout_ms",
                "canary.timeout_ms must be at least 1 (milliseconds)",
            ));
        }
        if self.process_name.is_empty() {
            return Err(at("process_name", "canary.process_name must not be empty"));
        }
        if self.file.as_os_str().is_empty() {
            return Err(at("file", "canary.file must not be empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::Config;
    use std::path::Path;

    #[test]
    fn defaults_and_absolute_file() {
        let c = Config::parse("drx.toml", "", Path::new("/srv/drx")).unwrap();
        assert_eq!(c.canary.file, Path::new("/srv/drx/canary.dat"));
        assert_eq!((c.canary.interval, c.canary.timeout_ms), (60, 10_000));
        assert_eq!(c.canary.process_name, "drx_canary");
        assert_eq!((c.canary.sinks, c.canary.standby), (None, None));
        let text = "[canary]\nfile = \"/var/c.dat\"\ninterval = 5\ntimeout_ms = 800\nsinks = [\"db\"]\nstandby = false\n";
        let c = Config::parse("drx.toml", text, Path::new("/srv/drx")).unwrap();
        assert_eq!(c.canary.file, Path::new("/var/c.dat"));
        assert_eq!((c.canary.interval, c.canary.timeout_ms), (5, 800));
        assert_eq!(c.canary.sinks, Some(vec!["db".to_owned()]));
        assert_eq!(c.canary.standby, Some(false));
    }

    #[test]
    fn bad_values_name_file_line_col() {
        let err = Config::parse("drx.toml", "[canary]\nintervall = 5\n", Path::new("/h"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("drx.toml:2:1: unknown field `intervall`"),
            "{err}"
        );
        let err = Config::parse(
            "drx.toml",
            "[journal]\ndir = \"j\"\n[canary]\ntimeout_ms = 0\n",
            Path::new("/h"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("drx.toml:4:1: canary.timeout_ms must be at least 1"),
            "{err}"
        );
        let err = Config::parse("drx.toml", "[canary]\ninterval = 0\n", Path::new("/h"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("drx.toml:2:1: canary.interval"), "{err}");
    }
}
