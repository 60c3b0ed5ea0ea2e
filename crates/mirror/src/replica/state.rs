//! The replica's state: how far the replica got, durably. Two slot files
//! in the state directory, `STATE.0` and `STATE.1`, written in turn, each
//! rewritten in place and fdatasynced (one sync per update: no temporary
//! file, no rename, no directory sync but at a slot's creation). Each
//! holds a generation number and ends with a CRC-32C of what precedes it;
//! the valid slot with the higher generation is the state, so a write torn
//! by a crash leaves the previous state in the other slot. Text:
//!
//! ```text
//! drx-replica-state 2
//! gen 7
//! applied 41
//! txn 17 5
//! commit 30 42 3 0
//! crc 1a2b3c4d
//! ```
//!
//! * `gen G`: the generation, one more at each write;
//! * `applied S`: every entry up to seq `S` is in the replica files (or
//!   held in a spool, or was dropped, refused or skipped);
//! * `txn ID N`: transaction `ID` is open, its first `N` held entries are in
//!   its spool;
//! * `commit ID C N K`: transaction `ID` (`N` entries in its spool)
//!   committed at seq `C = S + 1` and is being applied; its first `K`
//!   effects are durable. Opening the replica applies it again from effect
//!   `K`;
//! * `crc X`: CRC-32C (hex) of every byte before this line.

use super::error::ReplicaError;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// The slot files' names in the state directory.
const SLOTS: [&str; 2] = ["STATE.0", "STATE.1"];
const MAGIC: &str = "drx-replica-state 2";

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

/// The state's two slot files, and which one the next write goes to.
#[derive(Debug)]
pub(crate) struct StateStore {
    dir: PathBuf,
    /// The generation of the last state read or written.
    generation: u64,
    /// The open slot files (opened at their first write).
    slots: [Option<File>; 2],
}

impl StateStore {
    /// Reads the state of `dir`: the valid slot of the higher generation;
    /// `None` when there is none (a new replica). Two damaged slots are an
    /// error naming both.
    pub fn open(dir: &Path) -> Result<(StateStore, Option<State>), ReplicaError> {
        let mut best: Option<(u64, State)> = None;
        let mut damage = Vec::new();
        for name in SLOTS {
            let path = dir.join(name);
            let text = match fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ReplicaError::io(0, &path)(e)),
            };
            match State::parse(&text) {
                Ok((generation, state)) => {
                    if best.as_ref().is_none_or(|(g, _)| generation > *g) {
                        best = Some((generation, state));
                    }
                }
                Err(reason) => damage.push((path, reason)),
            }
        }
        if best.is_none()
            && let Some((path, reason)) = damage.into_iter().next_back()
        {
            return Err(ReplicaError::BadState { path, reason });
        }
        let generation = best.as_ref().map_or(0, |(g, _)| *g);
        let store = StateStore {
            dir: dir.to_owned(),
            generation,
            slots: [None, None],
        };
        Ok((store, best.map(|(_, state)| state)))
    }

    /// Writes `state` durably into the slot the last write did not use.
    pub fn store(&mut self, state: &State) -> Result<(), ReplicaError> {
        let generation = self.generation + 1;
        let slot = (generation % 2) as usize;
        let path = self.dir.join(SLOTS[slot]);
        let seq = state.applied;
        if self.slots[slot].is_none() {
            let existed = path.exists();
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(ReplicaError::io(seq, &path))?;
            if !existed {
                File::open(&self.dir)
                    .and_then(|d| d.sync_all())
                    .map_err(ReplicaError::io(seq, &self.dir))?;
            }
            self.slots[slot] = Some(file);
        }
        let text = state.encode(generation);
        if let Some(file) = self.slots[slot].as_mut() {
            write_at_start(file, text.as_bytes())
                .and_then(|()| file.set_len(text.len() as u64))
                .and_then(|()| file.sync_data())
                .map_err(ReplicaError::io(seq, &path))?;
        }
        self.generation = generation;
        Ok(())
    }
}

fn write_at_start(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, 0)
}

impl State {
    fn encode(&self, generation: u64) -> String {
        let mut text = format!("{MAGIC}\ngen {generation}\napplied {}\n", self.applied);
        for (id, n) in &self.txns {
            text.push_str(&format!("txn {id} {n}\n"));
        }
        if let Some(c) = &self.commit {
            text.push_str(&format!(
                "commit {} {} {} {}\n",
                c.txn, c.seq, c.entries, c.done
            ));
        }
        let crc = crc32c::crc32c(text.as_bytes());
        text.push_str(&format!("crc {crc:08x}\n"));
        text
    }

    /// The generation and the state of a slot's text.
    fn parse(text: &str) -> Result<(u64, State), String> {
        let body_len = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .ok_or("no crc line")?;
        let (body, last) = text.split_at(body_len);
        let crc = last
            .trim_end()
            .strip_prefix("crc ")
            .and_then(|x| u32::from_str_radix(x, 16).ok())
            .ok_or("the last line is not `crc X`")?;
        if crc != crc32c::crc32c(body.as_bytes()) {
            return Err("its checksum does not match (a torn write)".into());
        }
        let mut lines = body.lines();
        if lines.next() != Some(MAGIC) {
            return Err(format!("the first line is not {MAGIC:?}"));
        }
        let generation = lines
            .next()
            .and_then(|l| l.strip_prefix("gen "))
            .and_then(|g| g.parse::<u64>().ok())
            .ok_or("the second line is not `gen G`")?;
        let mut applied = None;
        let mut state = State::default();
        for (i, line) in lines.enumerate() {
            let bad = || format!("line {}: {line:?}", i + 3);
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
        Ok((generation, state))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_through_the_slots() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, none) = StateStore::open(dir.path()).unwrap();
        assert_eq!(none, None);
        let mut state = State {
            applied: 41,
            txns: vec![(17, 5), (20, 0)],
            commit: Some(CommitIntent {
                txn: 30,
                seq: 42,
                entries: 3,
                done: 1,
            }),
        };
        store.store(&state).unwrap();
        assert_eq!(StateStore::open(dir.path()).unwrap().1, Some(state.clone()));
        // Later, shorter states go to the other slot, then back.
        for applied in [50, 51, 52] {
            state = State {
                applied,
                ..State::default()
            };
            store.store(&state).unwrap();
            assert_eq!(StateStore::open(dir.path()).unwrap().1, Some(state.clone()));
        }
        assert!(dir.path().join(SLOTS[0]).exists() && dir.path().join(SLOTS[1]).exists());
    }

    #[test]
    fn a_torn_write_leaves_the_previous_state() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = StateStore::open(dir.path()).unwrap();
        let first = State {
            applied: 7,
            ..State::default()
        };
        store.store(&first).unwrap();
        store
            .store(&State {
                applied: 9,
                ..State::default()
            })
            .unwrap();
        // The newer slot (generation 2: STATE.0) torn mid-write.
        let newer = dir.path().join(SLOTS[0]);
        let text = fs::read(&newer).unwrap();
        fs::write(&newer, &text[..text.len() / 2]).unwrap();
        assert_eq!(StateStore::open(dir.path()).unwrap().1, Some(first));
        // Both damaged: an error naming a slot.
        let older = dir.path().join(SLOTS[1]);
        fs::write(
            &older,
            b"drx-replica-state 2\ngen 1\napplied 1\ncrc 00000000\n",
        )
        .unwrap();
        let e = StateStore::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("STATE."), "{e}");
    }

    #[test]
    fn damage_is_named() {
        let sealed = |body: &str| format!("{body}crc {:08x}\n", crc32c::crc32c(body.as_bytes()));
        for body in [
            "",
            "drx-replica-state 1\ngen 1\napplied 1\n",
            "drx-replica-state 2\napplied 1\n",
            "drx-replica-state 2\ngen 1\n",
            "drx-replica-state 2\ngen 1\napplied x\n",
            "drx-replica-state 2\ngen 1\napplied 1\napplied 2\n",
            "drx-replica-state 2\ngen 1\napplied 1\ntxn 3\n",
            "drx-replica-state 2\ngen 1\napplied 1\ncommit 3 5 1 0\n",
            "drx-replica-state 2\ngen 1\napplied 1\ncommit 3 2 1 2\n",
            "drx-replica-state 2\ngen 1\napplied 1\ntxn 3 1\ncommit 3 2 1 0\n",
            "drx-replica-state 2\ngen 1\napplied 1\nwhat 3\n",
        ] {
            assert!(State::parse(&sealed(body)).is_err(), "{body:?}");
        }
        assert!(State::parse("drx-replica-state 2\ngen 1\napplied 1\ncrc 00000000\n").is_err());
        assert!(State::parse(&sealed("drx-replica-state 2\ngen 1\napplied 1\n")).is_ok());
    }
}
