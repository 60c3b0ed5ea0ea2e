//! The journal is the file: random operations (with committed and aborted
//! transactions, re-creates and reopens) through a `Capture`, then the
//! journal's byte effects replayed into a fresh file — skipping aborted
//! transactions — give the real file byte for byte. A model of the records
//! checks every outcome on the way, and every abort restores the bytes the
//! file had at its begin.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, OwnedEffect, delivered, rec, records, spec};
use drx_capture::{Capture, CapturedFile, Org, Target};
use drx_journal::RecordOp;
use proptest::prelude::*;
use std::os::unix::fs::FileExt;
use std::path::Path;

#[derive(Debug, Clone)]
enum Op {
    /// A record with key `id`, filled with `fill`; `len` bytes of it for
    /// sequential files.
    Write {
        id: i16,
        fill: u8,
        len: usize,
        recno: Option<u64>,
    },
    /// Rewrites record `at` (a record number, or the key `at` of indexed
    /// files) with a record of key `id`.
    Rewrite {
        at: u64,
        id: i16,
        fill: u8,
        len: usize,
    },
    Delete {
        at: u64,
    },
    Truncate {
        records: u64,
    },
    Begin,
    Commit,
    Abort,
    Recreate,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0i16..6, b'a'..b'f', 0usize..=8, prop::option::weighted(0.3, 0u64..9))
            .prop_map(|(id, fill, len, recno)| Op::Write { id, fill, len, recno }),
        4 => (0u64..8, 0i16..6, b'A'..b'F', 0usize..=8)
            .prop_map(|(at, id, fill, len)| Op::Rewrite { at, id, fill, len }),
        3 => (0u64..8).prop_map(|at| Op::Delete { at }),
        1 => (0u64..8).prop_map(|records| Op::Truncate { records }),
        2 => Just(Op::Begin),
        1 => Just(Op::Commit),
        1 => Just(Op::Abort),
        1 => Just(Op::Recreate),
        1 => Just(Op::Reopen),
    ]
}

/// The records the file should hold: slots (`None` = empty) for relative
/// and indexed files, a plain list otherwise.
#[derive(Debug, Clone, Default)]
struct Model {
    slots: Vec<Option<Vec<u8>>>,
}

impl Model {
    fn count(&self) -> u64 {
        self.slots.iter().flatten().count() as u64
    }

    fn find_key(&self, id: i16) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|r| r[..2] == id.to_be_bytes()))
    }

    /// What `for_each_record` should report.
    fn expected(&self, org: Org) -> Vec<(u64, Vec<u8>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let n = if org == Org::Indexed { 0 } else { i as u64 + 1 };
                s.clone().map(|r| (n, r))
            })
            .collect()
    }

    /// Applies a write; whether it should succeed.
    fn write(&mut self, org: Org, record: &[u8], recno: Option<u64>) -> bool {
        let len = self.slots.len() as u64;
        match org {
            Org::Fixed | Org::Sequential => {
                if recno.is_some_and(|n| n != len + 1) {
                    return false;
                }
                self.slots.push(Some(record.to_vec()));
            }
            Org::Relative => {
                let n = recno.unwrap_or(len + 1);
                if n == 0 || (n <= len && self.slots[n as usize - 1].is_some()) {
                    return false;
                }
                if n > len {
                    self.slots.resize(n as usize, None);
                }
                self.slots[n as usize - 1] = Some(record.to_vec());
            }
            Org::Indexed => {
                let id = i16::from_be_bytes([record[0], record[1]]);
                if recno.is_some() || self.find_key(id).is_some() {
                    return false;
                }
                match self.slots.iter().position(Option::is_none) {
                    Some(i) => self.slots[i] = Some(record.to_vec()),
                    None => self.slots.push(Some(record.to_vec())),
                }
            }
        }
        true
    }

    fn rewrite(&mut self, org: Org, at: u64, record: &[u8]) -> bool {
        let i = match org {
            Org::Indexed => match self.find_key(at as i16) {
                Some(i) if record[..2] == (at as i16).to_be_bytes() => i,
                _ => return false,
            },
            _ => {
                if at == 0 || at > self.slots.len() as u64 {
                    return false;
                }
                at as usize - 1
            }
        };
        match &mut self.slots[i] {
            Some(old) if org != Org::Sequential || old.len() == record.len() => {
                *old = record.to_vec();
                true
            }
            _ => false,
        }
    }

    fn delete(&mut self, org: Org, at: u64) -> bool {
        let i = match org {
            Org::Fixed | Org::Sequential => return false,
            Org::Indexed => self.find_key(at as i16),
            Org::Relative => (at >= 1 && at <= self.slots.len() as u64).then(|| at as usize - 1),
        };
        i.and_then(|i| self.slots[i].take()).is_some()
    }
}

struct Run {
    org: Org,
    home: Home,
    capture: Capture,
    file: CapturedFile,
    model: Model,
    /// The model and the file's bytes at the open transaction's begin.
    begun: Option<(Model, Vec<u8>)>,
}

impl Run {
    fn path(&self) -> std::path::PathBuf {
        self.home.path("f.dat")
    }

    fn record(&self, id: i16, fill: u8, len: usize) -> Vec<u8> {
        let mut r = rec(id, fill);
        if self.org == Org::Sequential {
            r.truncate(len);
        }
        r
    }

    fn target<'k>(&self, at: u64, key: &'k [u8; 2]) -> Target<'k> {
        if self.org == Org::Indexed {
            Target::Key(key)
        } else {
            Target::RecNo(at)
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let org = self.org;
        match *op {
            Op::Write {
                id,
                fill,
                len,
                recno,
            } => {
                let record = self.record(id, fill, len);
                let ok = self.model.write(org, &record, recno);
                let got = self.capture.write(&mut self.file, &record, recno);
                prop_assert_eq!(got.is_ok(), ok, "{:?}: {:?}", op, got);
            }
            Op::Rewrite { at, id, fill, len } => {
                let record = self.record(id, fill, len);
                let ok = self.model.rewrite(org, at, &record);
                let key = (at as i16).to_be_bytes();
                let target = self.target(at, &key);
                let got = self.capture.rewrite(&mut self.file, target, &record);
                prop_assert_eq!(got.is_ok(), ok, "{:?}: {:?}", op, got);
            }
            Op::Delete { at } => {
                let ok = self.model.delete(org, at);
                let key = (at as i16).to_be_bytes();
                let target = self.target(at, &key);
                let got = self.capture.delete(&mut self.file, target);
                prop_assert_eq!(got.is_ok(), ok, "{:?}: {:?}", op, got);
            }
            Op::Truncate { records } => {
                self.model.slots.truncate(records as usize);
                self.capture.truncate(&mut self.file, records).unwrap();
            }
            Op::Begin => {
                let got = self.capture.begin();
                prop_assert_eq!(got.is_ok(), self.begun.is_none());
                if self.begun.is_none() {
                    self.begun = Some((self.model.clone(), std::fs::read(self.path()).unwrap()));
                }
            }
            Op::Commit => {
                let got = self.capture.commit();
                prop_assert_eq!(got.is_ok(), self.begun.take().is_some());
            }
            Op::Abort => {
                let got = self.capture.abort();
                prop_assert_eq!(got.is_ok(), self.begun.is_some());
                if let Some((model, bytes)) = self.begun.take() {
                    prop_assert_eq!(
                        std::fs::read(self.path()).unwrap(),
                        bytes,
                        "abort restores the bytes of the begin"
                    );
                    self.model = model;
                }
            }
            Op::Recreate => {
                self.file = self.capture.create(&self.path(), spec(org)).unwrap();
                self.model = Model::default();
            }
            Op::Reopen => {
                self.file = self.capture.open_file(&self.path(), spec(org)).unwrap();
                prop_assert_eq!(self.file.file().len(), self.model.count());
            }
        }
        if !matches!(op, Op::Begin | Op::Commit | Op::Abort) {
            prop_assert_eq!(self.file.file().len(), self.model.count(), "after {:?}", op);
        }
        prop_assert_eq!(
            records(&self.path(), spec(org)),
            self.model.expected(org),
            "after {:?}",
            op
        );
        Ok(())
    }
}

/// The bytes before the record in a slot or behind a length prefix.
fn prefix(org: Org) -> usize {
    match org {
        Org::Fixed => 0,
        Org::Relative | Org::Indexed => 1,
        Org::Sequential => 4,
    }
}

/// Replays the delivered entries into `target`, checking on the way that
/// each record meaning agrees with its byte effect and with the bytes it
/// replaces.
fn replay_checked(
    org: Org,
    entries: &[common::Entry],
    file: &str,
    target: &Path,
) -> Result<(), TestCaseError> {
    let fresh = std::fs::File::create(target).unwrap();
    // What the file should hold so far, to check before images against.
    let mut bytes: Vec<u8> = Vec::new();
    for e in delivered(entries) {
        if e.file != file {
            continue;
        }
        match &e.effect {
            OwnedEffect::Create { .. } => {
                fresh.set_len(0).unwrap();
                bytes.clear();
            }
            OwnedEffect::Truncate { len } => {
                fresh.set_len(*len).unwrap();
                bytes.resize(*len as usize, 0);
            }
            OwnedEffect::Write { offset, data } => {
                let offset = *offset as usize;
                let r = e.record.as_ref().unwrap();
                let p = prefix(org);
                let record_len = if org == Org::Sequential {
                    u32::from_be_bytes(
                        bytes
                            .get(offset..offset + 4)
                            .unwrap_or(&data[..4])
                            .try_into()
                            .unwrap(),
                    ) as usize
                } else {
                    8
                };
                match r.op {
                    RecordOp::Insert => {
                        prop_assert!(r.before.is_none());
                        prop_assert_eq!(Some(&data[p..]), r.after.as_deref());
                    }
                    RecordOp::Update => {
                        prop_assert_eq!(Some(&data[p..]), r.after.as_deref());
                        prop_assert_eq!(
                            Some(&bytes[offset + p..offset + p + record_len]),
                            r.before.as_deref()
                        );
                    }
                    RecordOp::Delete => {
                        prop_assert_eq!(data.as_slice(), &[0u8][..]);
                        prop_assert!(r.after.is_none());
                        prop_assert_eq!(Some(&bytes[offset + 1..offset + 9]), r.before.as_deref());
                    }
                }
                match &r.locator {
                    common::OwnedLocator::Key(k) => {
                        prop_assert_eq!(org, Org::Indexed);
                        let image = r.after.as_ref().or(r.before.as_ref()).unwrap();
                        prop_assert_eq!(&image[..2], k.as_slice());
                    }
                    common::OwnedLocator::RecNo(n) => {
                        prop_assert_ne!(org, Org::Indexed);
                        if org != Org::Sequential {
                            prop_assert_eq!((*n as usize - 1) * (8 + p), offset);
                        }
                    }
                    common::OwnedLocator::None => prop_assert!(false, "no locator"),
                }
                if bytes.len() < offset + data.len() {
                    bytes.resize(offset + data.len(), 0);
                }
                bytes[offset..offset + data.len()].copy_from_slice(data);
                fresh.write_all_at(data, offset as u64).unwrap();
            }
            other => prop_assert!(false, "unexpected effect {:?}", other),
        }
    }
    prop_assert_eq!(&std::fs::read(target).unwrap(), &bytes);
    // And the same through the shared replay helper.
    let mirror = common::replay(entries);
    prop_assert_eq!(mirror.get(file), Some(&bytes));
    Ok(())
}

fn run(org: Org, ops: &[Op]) -> Result<(), TestCaseError> {
    let home = Home::all_critical();
    let mut capture = home.capture("prop");
    let file = capture.create(&home.path("f.dat"), spec(org)).unwrap();
    let mut run = Run {
        org,
        home,
        capture,
        file,
        model: Model::default(),
        begun: None,
    };
    for op in ops {
        run.step(op)?;
    }
    let Run {
        home,
        capture,
        begun,
        ..
    } = run;
    let open = begun.map(|(_, bytes)| bytes);
    // Closing aborts a transaction left open.
    capture.close().unwrap();
    let real = std::fs::read(home.path("f.dat")).unwrap();
    if let Some(bytes) = open {
        prop_assert_eq!(&real, &bytes);
    }
    let entries = home.entries();
    let replayed = home.path("replayed.bin");
    replay_checked(org, &entries, &home.jpath("f.dat"), &replayed)?;
    prop_assert_eq!(
        std::fs::read(&replayed).unwrap(),
        real,
        "replayed journal = file"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn fixed_journal_replays_to_the_file(ops in prop::collection::vec(op(), 0..60)) {
        run(Org::Fixed, &ops)?;
    }

    #[test]
    fn relative_journal_replays_to_the_file(ops in prop::collection::vec(op(), 0..60)) {
        run(Org::Relative, &ops)?;
    }

    #[test]
    fn sequential_journal_replays_to_the_file(ops in prop::collection::vec(op(), 0..60)) {
        run(Org::Sequential, &ops)?;
    }

    #[test]
    fn indexed_journal_replays_to_the_file(ops in prop::collection::vec(op(), 0..60)) {
        run(Org::Indexed, &ops)?;
    }
}
