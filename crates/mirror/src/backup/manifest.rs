//! The backup's manifest (`manifest.json`): what the backup holds and the
//! seq it is consistent at. Written last and atomically, so a directory
//! with a manifest holds a complete backup.

use super::error::BackupError;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The manifest's file name in a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest format version this code writes and reads.
pub const MANIFEST_VERSION: u32 = 1;
/// The `format` member of every manifest.
const FORMAT: &str = "drx-backup";

/// A backup's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupManifest {
    /// Always `"drx-backup"`.
    pub format: String,
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// When the backup was completed (RFC 3339).
    pub created: String,
    /// The home it was taken from.
    pub home: PathBuf,
    /// The home's journal directory.
    pub journal_dir: PathBuf,
    /// The journal's last seq read before the copy began.
    pub start_seq: u64,
    /// The seq the backup is consistent at: the backed-up files with the
    /// journal range replayed are the primary's files as of this seq.
    pub consistent_seq: u64,
    /// The timestamp of the entry `consistent_seq` (RFC 3339; empty for
    /// an empty journal).
    pub consistent_time: String,
    /// The same, in microseconds since the epoch.
    pub consistent_time_us: i64,
    /// Transactions begun and not ended at `consistent_seq` (their begin
    /// seqs): their changes are not part of the state at that seq.
    pub open_transactions: Vec<u64>,
    /// The files copied.
    pub files: Vec<BackupFile>,
    /// The journal entries to replay over the copies.
    pub journal: BackupRange,
    /// How the copy was made consistent.
    pub copy: BackupCopy,
}

/// One backed-up file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    /// The original path, as the journal names it (absolute).
    pub path: String,
    /// The copy, relative to the backup directory.
    pub copy: String,
    /// The copy's size in bytes.
    pub size: u64,
    /// The copy's blake3, hex.
    pub blake3: String,
}

/// The journal range of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRange {
    /// The range file, relative to the backup directory.
    pub file: String,
    /// The first seq in it (`last_seq + 1` when it is empty).
    pub first_seq: u64,
    /// The last seq in it: the consistent seq.
    pub last_seq: u64,
    /// Entries in it.
    pub entries: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its blake3, hex.
    pub blake3: String,
}

/// How the copy was made consistent (see docs/BACKUP.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupCopy {
    /// Copy attempts (a rename of a critical file during the copy starts
    /// it again).
    pub attempts: u32,
    /// Barrier rounds after the copy (1 when no aborted transaction
    /// touched a copied file).
    pub rounds: u32,
    /// Transactions that were aborted while the files were read.
    pub aborted_transactions: u64,
    /// Byte ranges read again after an abort.
    pub reread_ranges: u64,
    /// Bytes read again after an abort.
    pub reread_bytes: u64,
}

impl BackupManifest {
    /// A manifest with the format and version set and the rest empty.
    pub(crate) fn new(home: PathBuf, journal_dir: PathBuf) -> BackupManifest {
        BackupManifest {
            format: FORMAT.to_owned(),
            version: MANIFEST_VERSION,
            created: String::new(),
            home,
            journal_dir,
            start_seq: 0,
            consistent_seq: 0,
            consistent_time: String::new(),
            consistent_time_us: 0,
            open_transactions: Vec::new(),
            files: Vec::new(),
            journal: BackupRange {
                file: String::new(),
                first_seq: 1,
                last_seq: 0,
                entries: 0,
                size: 0,
                blake3: String::new(),
            },
            copy: BackupCopy::default(),
        }
    }

    /// Reads the manifest of the backup in `dir`.
    pub fn read(dir: &Path) -> Result<BackupManifest, BackupError> {
        let path = dir.join(MANIFEST_FILE);
        let bad = |reason: String| BackupError::BackupManifest {
            path: path.clone(),
            reason,
        };
        let bytes = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        if value.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
            return Err(bad(format!("not a drx backup (format is not {FORMAT:?})")));
        }
        if version != Some(u64::from(MANIFEST_VERSION)) {
            return Err(bad(format!(
                "version {} is not supported (this drx reads version {MANIFEST_VERSION})",
                version.map_or_else(|| "missing".to_owned(), |v| v.to_string())
            )));
        }
        serde_json::from_value(value).map_err(|e| bad(e.to_string()))
    }

    /// Writes the manifest into `dir` atomically: a temporary file,
    /// fsynced, renamed into place, then the directory fsynced.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), BackupError> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!(".{MANIFEST_FILE}.tmp"));
        let mut bytes =
            serde_json::to_vec_pretty(self).map_err(|e| BackupError::BackupManifest {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        bytes.push(b'\n');
        let mut file = File::create(&tmp).map_err(BackupError::io(&tmp))?;
        file.write_all(&bytes).map_err(BackupError::io(&tmp))?;
        file.sync_all().map_err(BackupError::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(BackupError::io(&path))?;
        sync_dir(dir)
    }

    /// Checks every file of the backup in `dir` (and the journal range)
    /// against the manifest: present, of its size and blake3.
    pub fn check(&self, dir: &Path) -> Result<(), BackupError> {
        for f in &self.files {
            check_file(dir, &f.copy, &f.path, f.size, &f.blake3)?;
        }
        let j = &self.journal;
        check_file(dir, &j.file, "journal range", j.size, &j.blake3)
    }
}

/// Checks one file of the backup against its size and blake3.
fn check_file(
    dir: &Path,
    rel: &str,
    original: &str,
    size: u64,
    blake3: &str,
) -> Result<(), BackupError> {
    let path = confined(dir, rel)?;
    let damaged = |reason: String| BackupError::Damaged {
        file: path.clone(),
        original: original.to_owned(),
        reason,
    };
    let (len, digest) = digest(&path).map_err(|e| damaged(e.to_string()))?;
    if len != size {
        return Err(damaged(format!(
            "size {len} bytes, the manifest says {size}"
        )));
    }
    if digest != blake3 {
        return Err(damaged(format!(
            "blake3 {digest}, the manifest says {blake3}"
        )));
    }
    Ok(())
}

/// A path of the manifest taken below the backup directory; one that
/// would leave it is refused.
pub(crate) fn confined(dir: &Path, rel: &str) -> Result<PathBuf, BackupError> {
    let p = Path::new(rel);
    if rel.is_empty()
        || !p
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        return Err(BackupError::BackupManifest {
            path: dir.join(MANIFEST_FILE),
            reason: format!("{rel:?} is not a plain path inside the backup"),
        });
    }
    Ok(dir.join(p))
}

/// The size and blake3 (hex) of a file.
pub(crate) fn digest(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hasher.finalize().to_hex().to_string()))
}

/// Fsyncs a directory.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io(dir))
}
