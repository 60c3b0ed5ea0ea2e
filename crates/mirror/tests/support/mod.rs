//! What `tests/link.rs` and `tests/replica.rs` share: a home with a primary
//! directory and a standby replica root, a workload of every operation
//! across every organization run through `drx_capture`, and the comparison
//! of the replicas with the primary's files.
#![allow(dead_code)]

pub mod link;

use drx_capture::{Capture, CapturedFile, FileSpec, Org, Target};
use drx_config::Config;
use drx_layouts::Layout;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

// ---------------------------------------------------------------------
// The home.

/// A home with a primary directory `primary/` and the standby's replica
/// root `standby/`; each test binary adds its own constructors and
/// accessors.
pub struct Home {
    _dir: tempfile::TempDir,
    pub config: Config,
}

impl Home {
    /// A new home in a temporary directory, configured by `text`.
    pub fn parse(text: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let home = fs::canonicalize(dir.path()).unwrap();
        let config = Config::parse("drx.toml", text, &home).unwrap();
        fs::create_dir_all(home.join("primary")).unwrap();
        Home { _dir: dir, config }
    }

    pub fn home(&self) -> &Path {
        &self.config.home
    }

    /// The primary's files.
    pub fn primary(&self) -> PathBuf {
        self.home().join("primary")
    }

    /// The standby's replica root.
    pub fn standby(&self) -> PathBuf {
        self.home().join("standby")
    }

    /// The primary's journal.
    pub fn journal_dir(&self) -> PathBuf {
        self.config.journal.dir.clone()
    }

    pub fn capture(&self) -> Capture {
        Capture::open(&self.config, "workload").unwrap()
    }
}

// ---------------------------------------------------------------------
// Comparing the replicas with the primary.

/// blake3 of every regular file under `dir`, by path relative to `dir`.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, blake3::Hash> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, blake3::Hash>) {
        let Ok(items) = fs::read_dir(dir) else {
            return;
        };
        for item in items {
            let path = item.unwrap().path();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap().to_owned();
                out.insert(rel, blake3::hash(&fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Asserts that the replicas under `root` are exactly the primary's files:
/// the same set, each byte-identical.
pub fn assert_mirrored(home: &Home, root: &Path) {
    let primary = tree(&home.primary());
    // The primary's path below the root (no destination_dir).
    let below = home.primary().strip_prefix("/").unwrap().to_owned();
    let replicas: BTreeMap<PathBuf, blake3::Hash> = tree(root)
        .into_iter()
        .map(|(rel, hash)| {
            let rel = rel
                .strip_prefix(&below)
                .unwrap_or_else(|_| panic!("{} is not a replica of a primary file", rel.display()))
                .to_owned();
            (rel, hash)
        })
        .collect();
    assert_eq!(
        replicas.keys().collect::<Vec<_>>(),
        primary.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, hash) in &primary {
        assert_eq!(replicas[name], *hash, "{} differs", name.display());
    }
}

// ---------------------------------------------------------------------
// The workload.

/// An indexed layout: a 2-byte key `id`, then 6 bytes of `name`.
pub const KEYED_LAYOUT: &str =
    "organization: indexed;\nkey: id;\nfields: id fixed bin(15),\n        name char(6);\nend;\n";

pub const ORGS: [Org; 4] = [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed];
/// Files of the workload: two of each organization.
pub const FILES: usize = 8;

#[derive(Debug, Clone)]
pub enum Op {
    /// A record with key `id` (`len` bytes of it in sequential files).
    Write {
        file: usize,
        id: i16,
        fill: u8,
        len: usize,
    },
    /// Rewrites record `at` (the key `id` in indexed files).
    Rewrite {
        file: usize,
        at: u64,
        id: i16,
        fill: u8,
        len: usize,
    },
    Delete {
        file: usize,
        at: u64,
        id: i16,
    },
    Truncate {
        file: usize,
        records: u64,
    },
    /// Creates the file again (empties it).
    Recreate {
        file: usize,
    },
    /// Renames to the other file of the same organization.
    Rename {
        file: usize,
    },
    /// Copies onto the other file of the same organization.
    Copy {
        file: usize,
    },
    DeleteFile {
        file: usize,
    },
    Txn {
        ops: Vec<Op>,
        commit: bool,
    },
}

fn spec(org: Org, layout: &Arc<Layout>) -> FileSpec {
    FileSpec {
        organization: org,
        record_len: 8,
        layout: (org == Org::Indexed).then(|| Arc::clone(layout)),
    }
}

fn rec(id: i16, fill: u8, len: usize) -> Vec<u8> {
    let mut r = id.to_be_bytes().to_vec();
    r.extend_from_slice(&[fill; 6]);
    r.truncate(len);
    r
}

/// The application on the primary: a capture session and its open files.
pub struct App {
    capture: Capture,
    dir: PathBuf,
    layout: Arc<Layout>,
    open: HashMap<usize, CapturedFile>,
}

impl App {
    pub fn new(home: &Home) -> App {
        App {
            capture: home.capture(),
            dir: home.primary(),
            layout: Arc::new(Layout::parse("keyed", KEYED_LAYOUT).unwrap()),
            open: HashMap::new(),
        }
    }

    fn org(file: usize) -> Org {
        ORGS[file % ORGS.len()]
    }

    fn path(&self, file: usize) -> PathBuf {
        let org = App::org(file);
        self.dir
            .join(format!("{}_{}.dat", org.name(), file / ORGS.len()))
    }

    /// The other file of the same organization.
    fn partner(file: usize) -> usize {
        (file + ORGS.len()) % FILES
    }

    /// The open handle of `file`; opened, or created when missing and
    /// `create` (never inside a transaction).
    fn handle(&mut self, file: usize, create: bool) -> Option<&mut CapturedFile> {
        if !self.open.contains_key(&file) {
            let path = self.path(file);
            let spec = spec(App::org(file), &self.layout);
            let handle = if path.exists() {
                self.capture.open_file(&path, spec).ok()?
            } else if create {
                self.capture.create(&path, spec).ok()?
            } else {
                return None;
            };
            self.open.insert(file, handle);
        }
        self.open.get_mut(&file)
    }

    fn record_op(&mut self, op: &Op, in_txn: bool) {
        let file = match op {
            Op::Write { file, .. }
            | Op::Rewrite { file, .. }
            | Op::Delete { file, .. }
            | Op::Truncate { file, .. }
            | Op::Recreate { file } => *file,
            _ => return,
        };
        let org = App::org(file);
        if let Op::Recreate { file } = op {
            if in_txn && !self.path(*file).exists() {
                return;
            }
            self.open.remove(file);
            if let Ok(h) = self
                .capture
                .create(&self.path(*file), spec(org, &self.layout))
            {
                self.open.insert(*file, h);
            }
            return;
        }
        if self.handle(file, !in_txn).is_none() {
            return;
        }
        let mut h = self.open.remove(&file).unwrap();
        let capture = &mut self.capture;
        // Short records in sequential files only.
        let len = |len: usize| if org == Org::Sequential { len } else { 8 };
        let key = |at: u64, id: i16| -> Vec<u8> {
            if org == Org::Indexed {
                id.to_be_bytes().to_vec()
            } else {
                at.to_be_bytes().to_vec()
            }
        };
        fn target(org: Org, key: &[u8], at: u64) -> Target<'_> {
            if org == Org::Indexed {
                Target::Key(key)
            } else {
                Target::RecNo(at)
            }
        }
        let _ = match op {
            Op::Write {
                id, fill, len: l, ..
            } => capture
                .write(&mut h, &rec(*id, *fill, len(*l)), None)
                .map(|_| ()),
            Op::Rewrite {
                at,
                id,
                fill,
                len: l,
                ..
            } => {
                let k = key(*at, *id);
                // An indexed rewrite keeps the key it addresses.
                capture
                    .rewrite(&mut h, target(org, &k, *at), &rec(*id, *fill, len(*l)))
                    .map(|_| ())
            }
            Op::Delete { at, id, .. } => {
                let k = key(*at, *id);
                capture.delete(&mut h, target(org, &k, *at)).map(|_| ())
            }
            Op::Truncate { records, .. } => capture.truncate(&mut h, *records).map(|_| ()),
            _ => Ok(()),
        };
        self.open.insert(file, h);
    }

    pub fn run(&mut self, op: &Op) {
        match op {
            Op::Rename { file } => {
                let to = App::partner(*file);
                self.open.remove(file);
                self.open.remove(&to);
                let _ = self.capture.rename(&self.path(*file), &self.path(to));
            }
            Op::Copy { file } => {
                let to = App::partner(*file);
                self.open.remove(&to);
                let _ = self.capture.copy(&self.path(*file), &self.path(to));
            }
            Op::DeleteFile { file } => {
                self.open.remove(file);
                let _ = self.capture.delete_file(&self.path(*file));
            }
            Op::Txn { ops, commit } => {
                self.capture.begin().unwrap();
                for op in ops {
                    self.record_op(op, true);
                }
                if *commit {
                    self.capture.commit().unwrap();
                } else {
                    self.capture.abort().unwrap();
                }
            }
            record => self.record_op(record, false),
        }
    }

    pub fn close(self) {
        drop(self.open);
        self.capture.close().unwrap();
    }

    /// Runs `ops`, then closes the session.
    pub fn run_all(mut self, ops: &[Op]) {
        for op in ops {
            self.run(op);
        }
        self.close();
    }
}

/// A workload touching every operation and organization, transactions
/// committed and aborted: `rounds` rounds, numbered from `first`.
pub fn fixed_workload(first: u8, rounds: u8) -> Vec<Op> {
    let mut ops = Vec::new();
    for round in first..first + rounds {
        let r = usize::from(round);
        for file in 0..FILES {
            for id in 0..5i16 {
                ops.push(Op::Write {
                    file,
                    id: id + i16::from(round % 7),
                    fill: b'a' + round % 26,
                    len: 8,
                });
            }
            ops.push(Op::Rewrite {
                file,
                at: 2,
                id: 2,
                fill: b'R',
                len: 8,
            });
            ops.push(Op::Delete { file, at: 3, id: 3 });
        }
        ops.push(Op::Txn {
            ops: (0..FILES)
                .map(|file| Op::Write {
                    file,
                    id: 5 + i16::from(round % 7),
                    fill: b'T',
                    len: 8,
                })
                .chain([Op::Truncate {
                    file: r % FILES,
                    records: 2,
                }])
                .collect(),
            commit: true,
        });
        ops.push(Op::Txn {
            ops: (0..FILES)
                .map(|file| Op::Rewrite {
                    file,
                    at: 1,
                    id: 1,
                    fill: b'X',
                    len: 8,
                })
                .chain([Op::Recreate { file: 3 }])
                .collect(),
            commit: false,
        });
        ops.push(Op::Copy { file: r % FILES });
        ops.push(Op::Rename {
            file: (1 + r) % FILES,
        });
        ops.push(Op::Truncate {
            file: 6,
            records: 1,
        });
        ops.push(Op::DeleteFile {
            file: (2 + 2 * r) % FILES,
        });
        ops.push(Op::Recreate { file: 7 });
    }
    ops
}
