//! Small state files (`EPOCH`, `EPOCHS`, `ROLE`, consumer positions),
//! replaced atomically: temporary file, fsync, rename, directory fsync.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::JournalError;
use crate::segment::sync_dir;

/// The temporary file used while replacing `path`: `.<name>.<pid>.<n>.tmp`
/// beside it, unique to the process and the call, so that two processes
/// replacing the same file at once (two extractors registering the same
/// consumer) never write or rename each other's temporary file.
fn temporary(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Atomically replaces the file at `path` with `value` in decimal and a
/// newline.
pub(crate) fn write_number(path: &Path, value: u64) -> Result<(), JournalError> {
    write_text(path, &format!("{value}\n"))
}

/// Atomically replaces the file at `path` with `text`.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<(), JournalError> {
    let tmp = temporary(path);
    let mut f = File::create(&tmp).map_err(JournalError::io(&tmp))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(JournalError::io(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(JournalError::io(path))?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => sync_dir(Path::new(".")),
    }
}

/// Reads a number written by [`write_number`]; `Ok(None)` if the file does
/// not exist.
pub(crate) fn read_number(path: &Path) -> Result<Option<u64>, JournalError> {
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    text.trim_end_matches('\n')
        .parse()
        .map(Some)
        .map_err(|_| invalid(path, format!("expected a decimal number, found {text:?}")))
}

/// Reads a file written by [`write_text`]; `Ok(None)` if it does not exist.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, JournalError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(JournalError::io(path)(e)),
    }
}

/// The error for a state file whose content is not what it should be.
pub(crate) fn invalid(path: &Path, what: String) -> JournalError {
    JournalError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, what),
    }
}
