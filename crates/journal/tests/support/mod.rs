//! Helpers shared by the integration tests: owned copies of entries, and
//! writer/reader shortcuts.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::time::Duration;

use drx_journal::{
    Checksum, ChecksumReason, Durability, Effect, EntryRef, FileChecksum, FileOrganization,
    Locator, NewEntry, Reader, RecordChange, RecordOp, Writer, WriterConfig,
};

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
    /// A Checksum body, as encoded.
    Checksum(Vec<u8>),
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
    /// `Tail(n)`: the after-image is the last `n` bytes of the Write data.
    pub after: Option<After>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    Bytes(Vec<u8>),
    Tail(usize),
}

/// An entry owning its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub txn: u64,
    pub process: String,
    pub file: String,
    pub effect: OwnedEffect,
    pub record: Option<OwnedRecord>,
}

impl Owned {
    /// Borrows as a `NewEntry` to append.
    pub fn as_new(&self) -> NewEntry<'_> {
        let effect = match &self.effect {
            OwnedEffect::None => Effect::None,
            OwnedEffect::Create {
                organization,
                record_len,
            } => Effect::Create {
                organization: *organization,
                record_len: *record_len,
            },
            OwnedEffect::Write { offset, data } => Effect::Write {
                offset: *offset,
                data,
            },
            OwnedEffect::Truncate { len } => Effect::Truncate { len: *len },
            OwnedEffect::Rename { to } => Effect::Rename { to },
            OwnedEffect::DeleteFile => Effect::DeleteFile,
            OwnedEffect::BeginTxn => Effect::BeginTxn,
            OwnedEffect::CommitTxn => Effect::CommitTxn,
            OwnedEffect::AbortTxn => Effect::AbortTxn,
            OwnedEffect::Checksum(body) => {
                Effect::Checksum(Checksum::parse(body).expect("a valid Checksum body"))
            }
        };
        let record = self.record.as_ref().map(|r| RecordChange {
            op: r.op,
            locator: match &r.locator {
                OwnedLocator::None => Locator::None,
                OwnedLocator::RecNo(n) => Locator::RecNo(*n),
                OwnedLocator::Key(k) => Locator::Key(k),
            },
            before: r.before.as_deref(),
            after: r.after.as_ref().map(|a| match (a, &self.effect) {
                (After::Bytes(b), _) => b.as_slice(),
                (After::Tail(n), OwnedEffect::Write { data, .. }) => {
                    &data[data.len() - (*n).min(data.len())..]
                }
                (After::Tail(_), _) => &[][..],
            }),
        });
        NewEntry {
            txn: self.txn,
            process: &self.process,
            file: &self.file,
            effect,
            record,
        }
    }

    /// Copies what was read; after-images come back as bytes.
    pub fn from_new(e: &NewEntry<'_>) -> Owned {
        Owned {
            txn: e.txn,
            process: e.process.to_string(),
            file: e.file.to_string(),
            effect: match e.effect {
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
                Effect::Rename { to } => OwnedEffect::Rename { to: to.to_string() },
                Effect::DeleteFile => OwnedEffect::DeleteFile,
                Effect::BeginTxn => OwnedEffect::BeginTxn,
                Effect::CommitTxn => OwnedEffect::CommitTxn,
                Effect::AbortTxn => OwnedEffect::AbortTxn,
                Effect::Checksum(c) => OwnedEffect::Checksum(c.as_bytes().to_vec()),
            },
            record: e.record.map(|r| OwnedRecord {
                op: r.op,
                locator: match r.locator {
                    Locator::None => OwnedLocator::None,
                    Locator::RecNo(n) => OwnedLocator::RecNo(n),
                    Locator::Key(k) => OwnedLocator::Key(k.to_vec()),
                },
                before: r.before.map(<[u8]>::to_vec),
                after: r.after.map(|a| After::Bytes(a.to_vec())),
            }),
        }
    }

    /// The same entry with after-images as plain bytes, for comparing with
    /// what is read back.
    pub fn normalized(&self) -> Owned {
        Owned::from_new(&self.as_new())
    }
}

/// An entry as read: seq, epoch and the owned content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadEntry {
    pub seq: u64,
    pub epoch: u64,
    pub timestamp_us: i64,
    pub entry: Owned,
}

impl ReadEntry {
    pub fn from_ref(e: &EntryRef<'_>) -> ReadEntry {
        ReadEntry {
            seq: e.seq,
            epoch: e.epoch,
            timestamp_us: e.timestamp_us,
            entry: Owned::from_new(&e.as_new_entry()),
        }
    }
}

/// One entry of every effect and record variant.
pub fn every_variant() -> Vec<Owned> {
    let base = Owned {
        txn: 0,
        process: "payroll".into(),
        file: "/data/emp.dat".into(),
        effect: OwnedEffect::None,
        record: None,
    };
    let with = |txn: u64, effect: OwnedEffect, record: Option<OwnedRecord>| Owned {
        txn,
        effect,
        record,
        ..base.clone()
    };
    let rec = |op, locator, before: Option<&[u8]>, after: Option<After>| {
        Some(OwnedRecord {
            op,
            locator,
            before: before.map(<[u8]>::to_vec),
            after,
        })
    };
    let write = |data: &[u8]| OwnedEffect::Write {
        offset: 4096,
        data: data.to_vec(),
    };
    let mut v = vec![
        with(0, OwnedEffect::None, None),
        with(
            0,
            OwnedEffect::None,
            rec(RecordOp::Insert, OwnedLocator::None, None, None),
        ),
        with(
            0,
            OwnedEffect::Create {
                organization: FileOrganization::Indexed,
                record_len: 120,
            },
            None,
        ),
        with(7, OwnedEffect::BeginTxn, None),
        with(
            7,
            write(b"0001SMITH     "),
            rec(
                RecordOp::Insert,
                OwnedLocator::RecNo(1),
                None,
                Some(After::Tail(14)),
            ),
        ),
        with(
            7,
            write(b"HDR0001JONES     "),
            rec(
                RecordOp::Update,
                OwnedLocator::Key(b"0001".to_vec()),
                Some(b"0001SMITH     "),
                Some(After::Tail(14)),
            ),
        ),
        with(
            7,
            write(b"0001JONES     "),
            rec(
                RecordOp::Update,
                OwnedLocator::Key(b"0001".to_vec()),
                Some(b"0001SMITH     "),
                Some(After::Bytes(b"not the data".to_vec())),
            ),
        ),
        with(
            7,
            write(b"\0\0\0\0"),
            rec(
                RecordOp::Delete,
                OwnedLocator::RecNo(u64::MAX),
                Some(b"0001JONES     "),
                None,
            ),
        ),
        with(7, OwnedEffect::CommitTxn, None),
        with(8, OwnedEffect::BeginTxn, None),
        with(8, OwnedEffect::AbortTxn, None),
        with(0, OwnedEffect::Truncate { len: 0 }, None),
        with(0, OwnedEffect::Truncate { len: u64::MAX }, None),
        with(
            0,
            OwnedEffect::Rename {
                to: "/data/emp.old".into(),
            },
            None,
        ),
        with(0, OwnedEffect::DeleteFile, None),
        with(
            0,
            write(b""),
            rec(
                RecordOp::Insert,
                OwnedLocator::Key(vec![]),
                Some(b""),
                Some(After::Tail(0)),
            ),
        ),
        Owned {
            process: String::new(),
            file: "/données/ünïcode.dat".into(),
            ..base.clone()
        },
    ];
    for (i, reason) in ChecksumReason::ALL.into_iter().enumerate() {
        let mut c = FileChecksum::cheap(
            reason,
            FileOrganization::Relative,
            120,
            121 * 3,
            (i % 2 == 0).then_some(2),
        );
        if i >= 2 {
            c.block_size = 256;
            c.file_digest = Some([i as u8; 32]);
            c.blocks = vec![[1; 32], [2; 32]];
        }
        let body = c.encode().expect("a valid checksum");
        v.push(with(
            0,
            OwnedEffect::Checksum(body.checksum().as_bytes().to_vec()),
            None,
        ));
    }
    for organization in [
        FileOrganization::Unknown,
        FileOrganization::Fixed,
        FileOrganization::Relative,
        FileOrganization::Sequential,
    ] {
        v.push(with(
            0,
            OwnedEffect::Create {
                organization,
                record_len: 0,
            },
            None,
        ));
    }
    v
}

/// A numbered 200-byte insert.
pub fn insert(n: u64) -> Owned {
    let data = format!("{n:0200}").into_bytes();
    Owned {
        txn: 0,
        process: "app".into(),
        file: "/data/f.dat".into(),
        effect: OwnedEffect::Write {
            offset: n * 200,
            data,
        },
        record: Some(OwnedRecord {
            op: RecordOp::Insert,
            locator: OwnedLocator::RecNo(n),
            before: None,
            after: Some(After::Tail(200)),
        }),
    }
}

pub fn config(dir: &Path, segment_size: u64, durability: Durability) -> WriterConfig {
    WriterConfig {
        dir: dir.to_path_buf(),
        segment_size,
        durability,
    }
}

pub fn open(dir: &Path, segment_size: u64) -> Writer {
    Writer::open(config(dir, segment_size, Durability::None)).expect("open writer")
}

pub fn group() -> Durability {
    Durability::Group {
        max_entries: 3,
        max_delay: Duration::from_millis(1),
    }
}

/// Appends `entries`, returning their seqs.
pub fn append_all(w: &mut Writer, entries: &[Owned]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| w.append(&e.as_new()).expect("append"))
        .collect()
}

/// Reads from `from` until the reader says "not yet".
pub fn read_all(dir: &Path, from: u64) -> Vec<ReadEntry> {
    let mut r = Reader::open(dir, from).expect("open reader");
    let mut out = Vec::new();
    while let Some(e) = r.next().expect("next") {
        out.push(ReadEntry::from_ref(&e));
    }
    out
}

/// The contents of read entries, without stamps.
pub fn contents(read: &[ReadEntry]) -> Vec<Owned> {
    read.iter().map(|r| r.entry.clone()).collect()
}

pub fn normalized(entries: &[Owned]) -> Vec<Owned> {
    entries.iter().map(Owned::normalized).collect()
}

/// The segment files, oldest first.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

/// Offsets of the frames in a segment file (parsed independently of the
/// crate: 48-byte header, then `len | crc | payload`).
pub fn frame_offsets(segment: &Path) -> Vec<u64> {
    let bytes = std::fs::read(segment).expect("read segment");
    let mut offsets = Vec::new();
    let mut p = 48usize;
    while p + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[p..p + 4].try_into().expect("4 bytes")) as usize;
        if p + 8 + len > bytes.len() {
            break;
        }
        offsets.push(p as u64);
        p += 8 + len;
    }
    offsets
}
