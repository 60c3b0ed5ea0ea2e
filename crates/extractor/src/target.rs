use drx_config::Config;
use std::path::Path;

/// The default `@drms_file@` of a file id: the name, without extension, of
/// the first include record's `source_path` mapped to it (`error_codes.data`
/// → `error_codes`), else `file_NNN`.
pub fn default_target(config: &Config, file_id: u16) -> String {
    config
        .files
        .sources_of(file_id, &config.home)
        .first()
        .and_then(|p| {
            Path::new(p)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .filter(|s| !s.contains(['*', '?']))
        .map(|s| {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .unwrap_or_else(|| format!("file_{file_id}"))
}
