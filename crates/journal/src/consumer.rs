//! Durable consumer positions: `<dir>/consumers/<name>` holds, in decimal,
//! the seq of the last entry the consumer has fully processed (0: none).
//! Retention keeps every entry some consumer has not yet passed.

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

use crate::atomic_file;
use crate::error::JournalError;

const DIR: &str = "consumers";
const MAX_NAME_LEN: usize = 64;

fn check_name(name: &str) -> Result<(), JournalError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(JournalError::BadConsumerName {
            name: name.to_string(),
        })
    }
}

fn position_file(dir: &Path, name: &str) -> Result<PathBuf, JournalError> {
    check_name(name)?;
    Ok(dir.join(DIR).join(name))
}

/// Registers consumer `name` at position 0, so that retention keeps every
/// entry until it moves on. Registering a consumer again keeps its
/// position. Names: 1 to 64 characters from `A-Z a-z 0-9 . _ -`, not
/// starting with `.`.
pub fn register_consumer(dir: &Path, name: &str) -> Result<(), JournalError> {
    let path = position_file(dir, name)?;
    let consumers = dir.join(DIR);
    fs::create_dir_all(&consumers).map_err(JournalError::io(&consumers))?;
    if atomic_file::read_number(&path)?.is_some() {
        return Ok(());
    }
    atomic_file::write_number(&path, 0)
}

/// Records durably (temporary file, fsync, rename) that consumer `name`
/// has processed every entry up to and including `seq`. Positions never go
/// backwards: a `seq` at or below the current position is ignored. The
/// consumer must be registered (else an `Io` error of kind `NotFound`).
/// Each consumer name must be updated by one process at a time.
pub fn set_consumer_position(dir: &Path, name: &str, seq: u64) -> Result<(), JournalError> {
    let path = position_file(dir, name)?;
    match atomic_file::read_number(&path)? {
        None => Err(JournalError::Io {
            source: io::Error::new(
                ErrorKind::NotFound,
                format!("journal consumer {name:?} is not registered"),
            ),
            path,
        }),
        Some(current) if seq <= current => Ok(()),
        Some(_) => atomic_file::write_number(&path, seq),
    }
}

/// The position of consumer `name`, or `None` if it is not registered.
pub fn consumer_position(dir: &Path, name: &str) -> Result<Option<u64>, JournalError> {
    atomic_file::read_number(&position_file(dir, name)?)
}

/// Every registered consumer and its position, sorted by name.
pub fn consumers(dir: &Path) -> Result<Vec<(String, u64)>, JournalError> {
    let consumers = dir.join(DIR);
    let items = match fs::read_dir(&consumers) {
        Ok(items) => items,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(JournalError::io(&consumers)(e)),
    };
    let mut found = Vec::new();
    for item in items {
        let item = item.map_err(JournalError::io(&consumers))?;
        let Some(name) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if check_name(&name).is_err() {
            continue; // temporary files and strangers
        }
        if let Some(position) = atomic_file::read_number(&item.path())? {
            found.push((name, position));
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["standby", "extractor-1", "a.b_c", "X"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let long = "x".repeat(65);
        for bad in ["", ".hidden", "a/b", "..", "a b", "é", long.as_str()] {
            assert!(
                matches!(check_name(bad), Err(JournalError::BadConsumerName { .. })),
                "{bad}"
            );
        }
    }
}
