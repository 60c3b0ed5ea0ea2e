//! The replica: journal entries applied, in seq order, to replica files.

use super::config::ReplicaConfig;
use super::error::{Refusal, ReplicaError};
use super::files::{FileError, Renamed, ReplicaFiles};
use super::path_map::{PathMap, Target};
use super::pending::{HeldEffect, OpenTxn, Pending};
use super::state::{CommitIntent, State, StateStore};
use super::verify;
use crate::protocol::{Verdict, Verified};
use drx_journal::{Checksum, Effect, EntryRef};
use std::fs::{self, File, TryLockError};
use std::path::PathBuf;

/// The lock file in the state directory: one replica per state.
const LOCK_FILE: &str = "LOCK";
/// The spools of open transactions, in the state directory.
const SPOOL_DIR: &str = "txn";

/// What [`Replica::apply`] did with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its byte effect was applied to its replica file.
    Applied,
    /// It has no byte effect (`Effect::None`).
    NoEffect,
    /// A transaction began.
    Began,
    /// It is held until its transaction ends.
    Held,
    /// Its transaction committed: the held effects were applied, but for
    /// `refused` ones (see [`ReplicaError::Refused`]).
    Committed {
        /// Effects applied.
        effects: usize,
        /// Effects refused or skipped (each logged).
        refused: usize,
    },
    /// Its transaction aborted: the held entries were dropped.
    Aborted {
        /// Entries dropped.
        dropped: usize,
    },
    /// At or below the applied seq: it was applied before.
    Skipped,
    /// It belongs to (or begins again, or ends) a transaction this replica
    /// did not see begin; nothing was done (a warning is logged).
    Ignored,
    /// A `Checksum` entry: the replica was compared with it (logged; the
    /// result is [`Replica::take_verification`]).
    Verified {
        /// Whether the replica is identical as far as the checksum tells.
        identical: bool,
    },
}

/// A standby's replica files, kept byte-identical to the primary's by
/// applying the primary's journal entries in seq order. See the module
/// documentation of `replica` for the guarantees and the crash design.
#[derive(Debug)]
pub struct Replica {
    /// The durable state's slot files.
    state_store: StateStore,
    map: PathMap,
    files: ReplicaFiles,
    pending: Pending,
    /// The last entry processed.
    applied: u64,
    /// The applied seq of the last state file.
    durable: u64,
    /// The committed transaction being applied.
    committing: Option<CommitIntent>,
    refused: u64,
    /// The seq at which a fatal error stopped the replica.
    stopped: Option<u64>,
    /// Effects applied since open.
    effects: u64,
    /// A test's injected crash: fail before this many effects.
    crash_at: Option<u64>,
    /// The result of the last `Checksum` entry, until taken.
    verification: Option<Verified>,
    _lock: File,
}

impl Replica {
    /// Opens the replica: locks its state directory, reads its state, loads
    /// the open transactions and finishes applying a transaction that was
    /// being applied when the standby stopped.
    pub fn open(config: &ReplicaConfig) -> Result<Replica, ReplicaError> {
        let map = PathMap::new(config)?;
        let dir = &config.state_dir;
        if !dir.is_absolute() {
            return Err(ReplicaError::Config(format!(
                "the state directory {} is not absolute",
                dir.display()
            )));
        }
        fs::create_dir_all(dir).map_err(ReplicaError::io(0, dir))?;
        let canonical = fs::canonicalize(dir).map_err(ReplicaError::io(0, dir))?;
        if let Some(root) = map
            .roots()
            .iter()
            .find(|r| canonical.starts_with(&r.canonical) || r.canonical.starts_with(&canonical))
        {
            return Err(ReplicaError::Config(format!(
                "the state directory {} and the replica root {} overlap",
                dir.display(),
                root.lexical.display()
            )));
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(ReplicaError::io(0, &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(ReplicaError::Locked { path: lock_path }),
            Err(TryLockError::Error(e)) => return Err(ReplicaError::io(0, &lock_path)(e)),
        }
        let (state_store, state) = StateStore::open(dir)?;
        let state = state.unwrap_or_default();
        let mut expected = state.txns.clone();
        if let Some(c) = &state.commit {
            expected.push((c.txn, c.entries));
        }
        let pending = Pending::open(&dir.join(SPOOL_DIR), &expected)?;
        let mut replica = Replica {
            state_store,
            map,
            files: ReplicaFiles::new(config.max_open_files),
            pending,
            applied: state.applied,
            durable: state.applied,
            committing: None,
            refused: 0,
            stopped: None,
            effects: 0,
            crash_at: None,
            verification: None,
            _lock: lock,
        };
        if let Some(intent) = state.commit {
            let txn = replica
                .pending
                .take(intent.txn)
                .ok_or_else(|| ReplicaError::BadState {
                    path: dir.join(SPOOL_DIR),
                    reason: format!("no spool for committing transaction {}", intent.txn),
                })?;
            tracing::info!(
                txn = intent.txn,
                seq = intent.seq,
                from_effect = intent.done,
                "finishing the transaction being applied when the standby stopped"
            );
            replica.committing = Some(intent);
            replica.finish_commit(txn, intent)?;
            replica.persist()?;
        }
        Ok(replica)
    }

    /// The seq of the last entry processed (applied, held, dropped,
    /// refused or ignored); 0 before the first.
    pub fn applied_seq(&self) -> u64 {
        self.applied
    }

    /// The seq up to which everything is durable (as of the last
    /// [`Replica::sync`]): a restarted replica resumes after it.
    pub fn durable_seq(&self) -> u64 {
        self.durable
    }

    /// The result of the last `Checksum` entry applied
    /// ([`Outcome::Verified`]), once.
    pub fn take_verification(&mut self) -> Option<Verified> {
        self.verification.take()
    }

    /// Entries (or effects of committed transactions) refused since open.
    pub fn refused_count(&self) -> u64 {
        self.refused
    }

    /// Transactions begun and not yet ended.
    pub fn open_transactions(&self) -> usize {
        self.pending.len()
    }

    /// The ids of the transactions begun and not yet ended, in order.
    pub fn open_transaction_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .pending
            .counts()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Where the replica of the journal path `file` (an entry of
    /// `process`) is, or why it may not be written.
    pub fn replica_path(&mut self, process: &str, file: &str) -> Result<PathBuf, Refusal> {
        let target = self.map.map(process, file)?;
        Ok(self.map.path(&target))
    }

    /// Makes the replica fail, as a crash would stop it, right after its
    /// next `effects` byte effects (before anything else, such as the
    /// barrier after a rename or the end of a commit; with 0, before the
    /// next effect): for crash tests.
    #[doc(hidden)]
    pub fn crash_after_effects(&mut self, effects: u64) {
        self.crash_at = Some(self.effects + effects);
    }

    /// Applies one entry. Entries must come in seq order without gaps (a
    /// new replica may start at any seq); one at or below
    /// [`Replica::applied_seq`] is skipped.
    ///
    /// An entry of a transaction is held until the transaction's
    /// `CommitTxn`, which applies all its effects (atomically with respect
    /// to a crash), and dropped at its `AbortTxn`.
    ///
    /// A refused entry ([`ReplicaError::Refused`], also logged) counts as
    /// processed: the replica goes on with the next. After a fatal error
    /// ([`ReplicaError::is_fatal`]) the replica must be opened again.
    pub fn apply(&mut self, entry: &EntryRef<'_>) -> Result<Outcome, ReplicaError> {
        if let Some(seq) = self.stopped {
            return Err(ReplicaError::Stopped { seq });
        }
        if entry.seq <= self.applied {
            return Ok(Outcome::Skipped);
        }
        if self.applied != 0 && entry.seq != self.applied + 1 {
            return Err(ReplicaError::OutOfSequence {
                applied: self.applied,
                seq: entry.seq,
            });
        }
        let outcome = self.dispatch(entry);
        match &outcome {
            Ok(_) => self.applied = entry.seq,
            Err(e) if e.is_fatal() => self.stopped = Some(entry.seq),
            Err(e) => {
                self.applied = entry.seq;
                self.note(e);
            }
        }
        outcome
    }

    /// Makes everything applied so far durable — every replica file
    /// written and every directory changed since the last sync, the spools
    /// of open transactions, then the state file — and returns the durable
    /// seq, which may be acknowledged.
    pub fn sync(&mut self) -> Result<u64, ReplicaError> {
        if let Some(seq) = self.stopped {
            return Err(ReplicaError::Stopped { seq });
        }
        if self.applied == self.durable && !self.files.is_dirty() && !self.pending.is_dirty() {
            return Ok(self.durable);
        }
        match self.persist() {
            Ok(seq) => Ok(seq),
            Err(e) => {
                self.stopped = Some(self.applied);
                Err(e)
            }
        }
    }

    /// Syncs and closes the replica; returns the durable seq.
    pub fn close(mut self) -> Result<u64, ReplicaError> {
        self.sync()
    }

    /// Makes the replica of `config` start over at `applied`, with no open
    /// transaction: for a former primary that rejoins as a standby, whose
    /// files are its own up to that seq (docs/DR.md, "Failback").
    pub fn start_over_at(config: &ReplicaConfig, applied: u64) -> Result<(), ReplicaError> {
        let mut replica = Replica::open(config)?;
        for id in replica.open_transaction_ids() {
            replica.pending.abort(id);
        }
        replica.committing = None;
        replica.applied = applied;
        replica.persist()?;
        Ok(())
    }

    /// Where the replica of the journal path `file` (an entry of
    /// `process`) is, by `config`'s mapping, without opening the replica.
    pub fn map_path(
        config: &ReplicaConfig,
        process: &str,
        file: &str,
    ) -> Result<PathBuf, ReplicaError> {
        let mut map = PathMap::new(config)?;
        let target = map
            .map(process, file)
            .map_err(|reason| ReplicaError::Refused {
                seq: 0,
                path: file.to_owned(),
                reason,
            })?;
        Ok(map.path(&target))
    }

    fn dispatch(&mut self, entry: &EntryRef<'_>) -> Result<Outcome, ReplicaError> {
        let (seq, txn) = (entry.seq, entry.txn);
        match entry.effect {
            Effect::BeginTxn => {
                if txn == 0 || !self.pending.begin(txn)? {
                    tracing::warn!(seq, txn, "a transaction begins again: ignored");
                    return Ok(Outcome::Ignored);
                }
                Ok(Outcome::Began)
            }
            Effect::CommitTxn => self.commit(txn, seq),
            Effect::Checksum(c) => {
                if txn != 0 {
                    tracing::warn!(seq, txn, "a checksum inside a transaction: ignored");
                    return Ok(Outcome::Ignored);
                }
                let v = self.verify(seq, entry.process, entry.file, &c);
                let identical = v.verdict == Verdict::Identical;
                self.verification = Some(v);
                Ok(Outcome::Verified { identical })
            }
            Effect::AbortTxn => match self.pending.abort(txn) {
                Some(dropped) => Ok(Outcome::Aborted { dropped }),
                None => {
                    tracing::warn!(
                        seq,
                        txn,
                        "abort of a transaction not seen to begin: ignored"
                    );
                    Ok(Outcome::Ignored)
                }
            },
            _ if txn != 0 => {
                if !self.pending.contains(txn) {
                    tracing::warn!(
                        seq,
                        txn,
                        file = entry.file,
                        "entry of a transaction not seen to begin: ignored"
                    );
                    return Ok(Outcome::Ignored);
                }
                // What could never be applied is refused now.
                if entry.effect != Effect::None {
                    self.target(seq, entry.process, entry.file)?;
                }
                if let Effect::Rename { to } = entry.effect {
                    self.target(seq, entry.process, to)?;
                }
                self.pending.hold(entry)?;
                Ok(Outcome::Held)
            }
            effect => Ok(
                if self.apply_effect(seq, entry.process, entry.file, effect, None)? {
                    Outcome::Applied
                } else {
                    Outcome::NoEffect
                },
            ),
        }
    }

    /// Applies transaction `txn`, committed by the entry `seq`.
    fn commit(&mut self, txn: u64, seq: u64) -> Result<Outcome, ReplicaError> {
        let Some(mut open) = self.pending.take(txn) else {
            tracing::warn!(
                seq,
                txn,
                "commit of a transaction not seen to begin: ignored"
            );
            return Ok(Outcome::Ignored);
        };
        if open.entries.iter().all(|e| e.effect == HeldEffect::None) {
            self.pending.discard(open);
            return Ok(Outcome::Committed {
                effects: 0,
                refused: 0,
            });
        }
        let intent = CommitIntent {
            txn,
            seq,
            entries: open.entries.len() as u64,
            done: 0,
        };
        // The commit point: the whole transaction in its spool, everything
        // before it durable, and the intent in the state file. From here a
        // crash is followed by applying the transaction again on open.
        open.sync()?;
        self.committing = Some(intent);
        self.persist()?;
        self.finish_commit(open, intent)
    }

    /// Applies a committed transaction's effects from `intent.done` on.
    fn finish_commit(
        &mut self,
        txn: OpenTxn,
        intent: CommitIntent,
    ) -> Result<Outcome, ReplicaError> {
        let (mut effects, mut refused) = (0, 0);
        for (i, held) in txn.entries.iter().enumerate().skip(intent.done as usize) {
            match self.apply_effect(held.seq, &held.process, &held.file, held.effect(), Some(i)) {
                Ok(true) => effects += 1,
                Ok(false) => {}
                Err(e) if !e.is_fatal() => {
                    refused += 1;
                    self.note(&e);
                }
                Err(e) => return Err(e),
            }
        }
        self.applied = intent.seq;
        self.committing = None;
        self.pending.discard(txn);
        Ok(Outcome::Committed { effects, refused })
    }

    fn target(&mut self, seq: u64, process: &str, file: &str) -> Result<Target, ReplicaError> {
        self.map
            .map(process, file)
            .map_err(|reason| ReplicaError::Refused {
                seq,
                path: file.to_owned(),
                reason,
            })
    }

    /// Applies one byte effect (of entry `seq`, or of the `index`th held
    /// entry of the transaction being committed); returns whether it
    /// changed a file.
    fn apply_effect(
        &mut self,
        seq: u64,
        process: &str,
        file: &str,
        effect: Effect<'_>,
        index: Option<usize>,
    ) -> Result<bool, ReplicaError> {
        if matches!(
            effect,
            Effect::None
                | Effect::BeginTxn
                | Effect::CommitTxn
                | Effect::AbortTxn
                | Effect::Checksum(_)
        ) {
            return Ok(false);
        }
        self.crash_point(seq)?;
        let target = self.target(seq, process, file)?;
        let done = match effect {
            Effect::Create { .. } => self.files.create(&self.map, &target),
            Effect::Write { offset, data } => self.files.write(&self.map, &target, offset, data),
            Effect::Truncate { len } => self.files.truncate(&self.map, &target, len),
            Effect::DeleteFile => self.files.delete(&self.map, &target),
            Effect::Rename { to } => {
                let to_target = self.target(seq, process, to)?;
                return self.rename(seq, file, &target, &to_target, index);
            }
            Effect::None
            | Effect::BeginTxn
            | Effect::CommitTxn
            | Effect::AbortTxn
            | Effect::Checksum(_) => Ok(()),
        };
        done.map_err(|e| file_error(seq, file, e))?;
        self.effects += 1;
        self.crash_point(seq)?;
        Ok(true)
    }

    /// Compares the replica of `file` with the checksum `c` (entry `seq`),
    /// as applied so far; logs the result.
    fn verify(&mut self, seq: u64, process: &str, file: &str, c: &Checksum<'_>) -> Verified {
        let v = match self.map.map(process, file) {
            Err(reason) => verify::unchecked(seq, file, c, format!("refused: {reason}")),
            Ok(target) => match self.files.open_for_reading(&self.map, &target) {
                Ok(Some(replica)) => verify::compare(seq, file, c, &replica),
                Ok(None) => Verified {
                    verdict: Verdict::Missing,
                    text: format!("no replica at {}", self.map.path(&target).display()),
                    ..verify::unchecked(seq, file, c, String::new())
                },
                Err(e) => {
                    let text = match e {
                        FileError::Refused(r) => format!("refused: {r}"),
                        FileError::NotOnReplica(p) => {
                            format!("{}: not on the replica", p.display())
                        }
                        FileError::Io(p, e) => format!("{}: {e}", p.display()),
                    };
                    verify::unchecked(seq, file, c, text)
                }
            },
        };
        if v.verdict == Verdict::Identical {
            tracing::info!(seq, path = file, reason = %v.reason, "replica verified: {v}");
        } else {
            tracing::error!(seq, path = file, reason = %v.reason, "replica verification: {v}");
        }
        v
    }

    /// Fails when a test's injected crash is due.
    fn crash_point(&self, seq: u64) -> Result<(), ReplicaError> {
        if self.crash_at.is_some_and(|at| self.effects >= at) {
            return Err(ReplicaError::InjectedCrash { seq });
        }
        Ok(())
    }

    /// A rename, between two barriers: everything before it is made
    /// durable first, and the rename itself right after, so that a replay
    /// never runs earlier effects over the renamed file, nor the rename
    /// after later ones.
    fn rename(
        &mut self,
        seq: u64,
        file: &str,
        from: &Target,
        to: &Target,
        index: Option<usize>,
    ) -> Result<bool, ReplicaError> {
        if let (Some(c), Some(i)) = (&mut self.committing, index) {
            c.done = i as u64;
        }
        self.persist()?;
        match self.files.rename(&self.map, from, to) {
            Ok(Renamed::Done) => {}
            Ok(Renamed::AlreadyDone) => {
                tracing::debug!(seq, file, "rename found done (a replay)");
            }
            Err(e) => return Err(file_error(seq, file, e)),
        }
        self.effects += 1;
        self.crash_point(seq)?;
        match (&mut self.committing, index) {
            (Some(c), Some(i)) => c.done = i as u64 + 1,
            _ => self.applied = seq,
        }
        self.persist()?;
        Ok(true)
    }

    /// Fsyncs the replica files, the directories and the spools, then
    /// writes the state file; returns the durable seq.
    fn persist(&mut self) -> Result<u64, ReplicaError> {
        let seq = self.applied;
        self.files
            .sync()
            .map_err(|(path, source)| ReplicaError::Io { seq, path, source })?;
        self.pending.sync()?;
        self.state_store.store(&State {
            applied: self.applied,
            txns: self.pending.counts(),
            commit: self.committing,
        })?;
        self.durable = self.applied;
        self.pending.collect_garbage();
        Ok(self.durable)
    }

    /// Counts and logs an error that concerns one entry.
    fn note(&mut self, e: &ReplicaError) {
        match e {
            ReplicaError::Refused { seq, path, reason } => {
                self.refused += 1;
                tracing::error!(seq, path = %path, reason = %reason, "refused: the standby does not write there");
            }
            other => tracing::warn!(error = %other, "entry not applied"),
        }
    }
}

fn file_error(seq: u64, file: &str, e: FileError) -> ReplicaError {
    match e {
        FileError::Refused(reason) => ReplicaError::Refused {
            seq,
            path: file.to_owned(),
            reason,
        },
        FileError::NotOnReplica(path) => ReplicaError::NotOnReplica { seq, path },
        FileError::Io(path, source) => ReplicaError::Io { seq, path, source },
    }
}
