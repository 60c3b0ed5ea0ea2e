//! Shared helpers of the capture tests: a home directory with a config, and
//! the journal read back into owned entries.
#![allow(dead_code, clippy::unwrap_used)]

use drx_capture::{Capture, FileSpec, Org};
use drx_config::Config;
use drx_journal::{Effect, FileChecksum, FileOrganization, Locator, Reader, RecordOp};
use drx_layouts::Layout;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An indexed layout: a 2-byte key `id`, then 6 bytes of `name`.
pub const KEYED_LAYOUT: &str =
    "organization: indexed;\nkey: id;\nfields: id fixed bin(15),\n        name char(6);\nend;\n";

/// A temporary home with `drx.toml` parsed from the given Files Table
/// (plus `[journal] durability = "none"`).
pub struct Home {
    pub dir: tempfile::TempDir,
    pub config: Config,
}

impl Home {
    /// A home whose Files Table is `files` (TOML `[[files]]` records).
    pub fn new(files: &str) -> Home {
        Home::with_config(&format!("[journal]\ndurability = \"none\"\n\n{files}"))
    }

    /// A home where every `*.dat` file is critical for every process.
    pub fn all_critical() -> Home {
        Home::new("[[files]]\nsource_path = \"*.dat\"\n")
    }

    pub fn with_config(text: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let home = std::fs::canonicalize(dir.path()).unwrap();
        let config = Config::parse("drx.toml", text, &home).unwrap();
        Home { dir, config }
    }

    pub fn root(&self) -> PathBuf {
        self.config.home.clone()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.config.home.join(name)
    }

    /// The journal path of a file of the home.
    pub fn jpath(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    pub fn capture(&self, process: &str) -> Capture {
        Capture::open(&self.config, process).unwrap()
    }

    /// Writes `layouts/layout.{id}`.
    pub fn layout_file(&self, id: u16, text: &str) -> PathBuf {
        let dir = &self.config.extractor.layouts_dir;
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("layout.{id}"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Every entry of the journal (the capture must have synced or closed).
    pub fn entries(&self) -> Vec<Entry> {
        read_journal(&self.config.journal.dir)
    }
}

pub fn keyed_layout() -> Arc<Layout> {
    Arc::new(Layout::parse("keyed", KEYED_LAYOUT).unwrap())
}

/// The spec of a test file of organization `org` with 8-byte records (the
/// keyed layout for indexed files).
pub fn spec(org: Org) -> FileSpec {
    FileSpec {
        organization: org,
        record_len: 8,
        layout: (org == Org::Indexed).then(keyed_layout),
    }
}

/// An 8-byte record with key `id` and a name made of `fill`.
pub fn rec(id: i16, fill: u8) -> Vec<u8> {
    let mut r = id.to_be_bytes().to_vec();
    r.extend_from_slice(&[fill; 6]);
    r
}

/// The 2-byte key of `rec(id, _)`.
pub fn key(id: i16) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedEffect {
    None,
    Create {
        organization: FileOrganization,
        record_len: u32,
    },
    Write {
        offset: u64,
        data: Vec<u8>,
    },
    Truncate {
        len: u64,
    },
    Rename {
        to: String,
    },
    DeleteFile,
    BeginTxn,
    CommitTxn,
    AbortTxn,
    /// A checksum for the standby, owned.
    Checksum(FileChecksum),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedLocator {
    None,
    RecNo(u64),
    Key(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    pub op: RecordOp,
    pub locator: OwnedLocator,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub txn: u64,
    pub process: String,
    pub file: String,
    pub effect: OwnedEffect,
    pub record: Option<OwnedRecord>,
}

pub fn read_journal(dir: &Path) -> Vec<Entry> {
    let mut reader = Reader::open(dir, 1).unwrap();
    let mut out = Vec::new();
    while let Some(e) = reader.next().unwrap() {
        let effect = match e.effect {
            Effect::None => OwnedEffect::None,
            Effect::Create {
                organization,
                record_len,
            } => OwnedEffect::Create {
                organization,
                record_len,
            },
            Effect::Write { offset, data } => OwnedEffect::Write {
                offset,
                data: data.to_vec(),
            },
            Effect::Truncate { len } => OwnedEffect::Truncate { len },
            Effect::Rename { to } => OwnedEffect::Rename { to: to.to_owned() },
            Effect::DeleteFile => OwnedEffect::DeleteFile,
            Effect::BeginTxn => OwnedEffect::BeginTxn,
            Effect::CommitTxn => OwnedEffect::CommitTxn,
            Effect::AbortTxn => OwnedEffect::AbortTxn,
            Effect::Checksum(c) => OwnedEffect::Checksum(c.to_file_checksum()),
        };
        let record = e.record.map(|r| OwnedRecord {
            op: r.op,
            locator: match r.locator {
                Locator::None => OwnedLocator::None,
                Locator::RecNo(n) => OwnedLocator::RecNo(n),
                Locator::Key(k) => OwnedLocator::Key(k.to_vec()),
            },
            before: r.before.map(<[u8]>::to_vec),
            after: r.after.map(<[u8]>::to_vec),
        });
        out.push(Entry {
            seq: e.seq,
            txn: e.txn,
            process: e.process.to_owned(),
            file: e.file.to_owned(),
            effect,
            record,
        });
    }
    out
}

/// The ids of the aborted transactions.
pub fn aborted(entries: &[Entry]) -> HashSet<u64> {
    entries
        .iter()
        .filter(|e| e.effect == OwnedEffect::AbortTxn)
        .map(|e| e.txn)
        .collect()
}

/// The entries a consumer delivers: those of aborted transactions dropped.
pub fn delivered(entries: &[Entry]) -> Vec<Entry> {
    let aborted = aborted(entries);
    entries
        .iter()
        .filter(|e| !aborted.contains(&e.txn))
        .cloned()
        .collect()
}

/// Replays the byte effects of the delivered entries into memory, as a
/// mirror would: every file by journaled path, renames moving (and
/// replacing) contents, deletions removing them.
pub fn replay(entries: &[Entry]) -> BTreeMap<String, Vec<u8>> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for e in delivered(entries) {
        match &e.effect {
            OwnedEffect::Create { .. } => {
                files.insert(e.file.clone(), Vec::new());
            }
            OwnedEffect::Write { offset, data } => {
                let bytes = files.entry(e.file.clone()).or_default();
                let (offset, end) = (*offset as usize, *offset as usize + data.len());
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[offset..end].copy_from_slice(data);
            }
            OwnedEffect::Truncate { len } => {
                files
                    .entry(e.file.clone())
                    .or_default()
                    .resize(*len as usize, 0);
            }
            OwnedEffect::Rename { to } => {
                let bytes = files.remove(&e.file).unwrap_or_default();
                files.insert(to.clone(), bytes);
            }
            OwnedEffect::DeleteFile => {
                files.remove(&e.file);
            }
            OwnedEffect::None
            | OwnedEffect::BeginTxn
            | OwnedEffect::CommitTxn
            | OwnedEffect::AbortTxn
            | OwnedEffect::Checksum(_) => {}
        }
    }
    files
}

/// Every record of a file, read back through a fresh read-only handle.
pub fn records(path: &Path, spec: FileSpec) -> Vec<(u64, Vec<u8>)> {
    let f = drx_capture::RecordFile::open_read_only(path, spec).unwrap();
    let mut out = Vec::new();
    f.for_each_record(|n, r| {
        out.push((n, r.to_vec()));
        Ok(())
    })
    .unwrap();
    out
}

/// The record-change entries (those with a record meaning) of `file`.
pub fn changes<'a>(entries: &'a [Entry], file: &str) -> Vec<&'a OwnedRecord> {
    entries
        .iter()
        .filter(|e| e.file == file)
        .filter_map(|e| e.record.as_ref())
        .collect()
}
