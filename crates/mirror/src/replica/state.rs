//! The replica's state file, `STATE` in the state directory: how far the
//! replica got, durably. Text, replaced atomically (`.STATE.tmp`, fsync,
//! rename, directory fsync):
//!
//! ```text
//! drx-replica-state 1
//! applied 41
//! txn 17 5
//! commit 30 42 3 0
//! ```
//!
//! * `applied S`: every entry up to seq `S` is in the replica files (or
//!   held in a spool, or was dropped, refused or skipped);
//! * `txn ID N`: transaction `ID` is open, its first `N` held entries are in
//!   its spool;
//! * `commit ID C N K`: transaction `ID` (`N` entries in its spool)
//!   committed at seq `C = S + 1` and is being applied; its first `K`
//!   effects are durable. Opening the replica applies it again from effect
//!   `K`.

use super::error::ReplicaError;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// The state file's name in the state directory.
pub(crate) const STATE_FILE: &str = "STATE";
const TEMPORARY: &str = ".STATE.tmp";
const MAGIC: &str = "drx-replica-state 1";

/// A committed transaction being applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommitIntent {
    pub txn: u64,
    /// The seq of its `CommitTxn` entry.
    pub seq: u64,
    /// Its held entries.
    pub entries: u64,
    /// Effects (held entries) applied and durable.
    pub done: u64,
}

/// What the state file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct State {
    pub applied: u64,
    /// `(txn id, held entries)` of the open transactions.
    pub txns: Vec<(u64, u64)>,
    pub commit: Option<CommitIntent>,
}

impl State {
    /// Reads the state file of `dir`; `None` when there is none (a new
    /// replica).
    pub fn load(dir: &Path) -> Result<Option<State>, ReplicaError> {
        let path = dir.join(STATE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ReplicaError::io(0, &path)(e)),
        };
        State::parse(&text)
            .map(Some)
            .map_err(|reason| ReplicaError::BadState { path, reason })
    }

    /// Replaces the state file of `dir` atomically and durably.
    pub fn store(&self, dir: &Path) -> Result<(), ReplicaError> {
        let tmp = dir.join(TEMPORARY);
        let path = dir.join(STATE_FILE);
        let seq = self.applied;
        let mut file = File::create(&tmp).map_err(ReplicaError::io(seq, &tmp))?;
        file.write_all(self.encode().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(ReplicaError::io(seq, &tmp))?;
        drop(file);
        fs::rename(&tmp, &path).map_err(ReplicaError::io(seq, &path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(ReplicaError::io(seq, dir))
    }

    fn encode(&self) -> String {
        let mut text = format!("{MAGIC}\napplied {}\n", self.applied);
        for (id, n) in &self.txns {
            text.push_str(&format!("txn {id} {n}\n"));
        }
        if let Some(c) = &self.commit {
            text.push_str(&format!(
                "commit {} {} {} {}\n",
                c.txn, c.seq, c.entries, c.done
            ));
        }
        text
    }

    fn parse(text: &str) -> Result<State, String> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(format!("the first line is not {MAGIC:?}"));
        }
        let mut applied = None;
        let mut state = State::default();
        for (i, line) in lines.enumerate() {
            let bad = || format!("line {}: {line:?}", i + 2);
            let mut words = line.split(' ');
            let key = words.next().unwrap_or_default();
            let numbers = words
                .map(|w| w.parse::<u64>())
                .collect::<Result<Vec<u64>, _>>()
                .map_err(|_| bad())?;
            match (key, numbers.as_slice()) {
                ("applied", &[s]) if applied.is_none() => applied = Some(s),
                ("txn", &[id, n]) if state.txns.iter().all(|t| t.0 != id) => {
                    state.txns.push((id, n));
                }
                ("commit", &[txn, seq, entries, done]) if state.commit.is_none() => {
                    if done > entries {
                        return Err(bad());
                    }
                    state.commit = Some(CommitIntent {
                        txn,
                        seq,
                        entries,
                        done,
                    });
                }
                _ => return Err(bad()),
            }
        }
        state.applied = applied.ok_or("no `applied` line")?;
        if let Some(c) = &state.commit {
            if c.seq != state.applied + 1 {
                return Err(format!(
                    "the commit at seq {} does not follow applied seq {}",
                    c.seq, state.applied
                ));
            }
            if state.txns.iter().any(|t| t.0 == c.txn) {
                return Err(format!("transaction {} is both open and committing", c.txn));
            }
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), None);
        let state = State {
            applied: 41,
            txns: vec![(17, 5), (20, 0)],
            commit: Some(CommitIntent {
                txn: 30,
                seq: 42,
                entries: 3,
                done: 1,
            }),
        };
        state.store(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), Some(state));
        assert!(!dir.path().join(TEMPORARY).exists());
    }

    #[test]
    fn damage_is_named() {
        for text in [
            "",
            "drx-replica-state 2\napplied 1\n",
            "drx-replica-state 1\n",
            "drx-replica-state 1\napplied x\n",
            "drx-replica-state 1\napplied 1\napplied 2\n",
            "drx-replica-state 1\napplied 1\ntxn 3\n",
            "drx-replica-state 1\napplied 1\ncommit 3 5 1 0\n",
            "drx-replica-state 1\napplied 1\ncommit 3 2 1 2\n",
            "drx-replica-state 1\napplied 1\ntxn 3 1\ncommit 3 2 1 0\n",
            "drx-replica-state 1\napplied 1\nwhat 3\n",
        ] {
            assert!(State::parse(text).is_err(), "{text:?}");
        }
    }
}
