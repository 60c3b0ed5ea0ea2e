//! `drx apply`: on the standby, every shipped segment past what the
//! standby already has is applied in seq order, exactly once across
//! crashes, by the standby server's own apply (`applier.rs`): each entry
//! is appended to the standby journal (keeping its seq, epoch and
//! timestamp) and applied to the replica files; after each shipped file
//! both are made durable.
//!
//! The standby journal is claimed as the standby server claims it (its
//! role becomes standby; a journal with entries of its own is refused).
//!
//! Exactly once: the standby journal is the replicas' redo log. On start
//! the replica catches up with the journal (as the standby server does
//! after a crash), and applying resumes at the seq after the journal's
//! last, inside whichever shipped file holds it. An entry already in the
//! journal is not appended again, and the replica skips what it applied.
//! A shipped file is read whole and verified before any entry of it is
//! applied.

use crate::applier::{self, Fault, State};
use crate::protocol::{Role, Verdict};
use crate::replica::{Replica, ReplicaConfig, ReplicaError};
use crate::shipping::error::ShippingError;
use crate::shipping::shipped_segment::{self, Listed, Verified};
use crate::status::StatusBoard;
use drx_journal::{JournalError, Writer, WriterConfig};
use std::path::{Path, PathBuf};

/// While applying a large shipped file, the standby journal is synced
/// after this many bytes of entries (the replicas at least every second),
/// as the standby server syncs after each group of batches.
const SYNC_BYTES: usize = 8 * 1024 * 1024;

/// Where the shipped segments are and what they are applied to.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The shipping directory.
    pub from: PathBuf,
    /// The standby journal.
    pub journal: WriterConfig,
    /// The replica files and their state.
    pub replica: ReplicaConfig,
    /// This node's id (in the log).
    pub node_id: String,
}

/// What one shipped file added to the standby.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedSegment {
    /// The shipped file.
    pub path: PathBuf,
    /// The first seq applied from it (later than its first when the
    /// standby had the earlier ones).
    pub first_seq: u64,
    /// Its last seq.
    pub last_seq: u64,
    /// The entries applied from it.
    pub entries: u64,
    /// Bytes of entries applied from it (journal frames' payloads).
    pub bytes: u64,
}

/// What a run of [`apply_shipped`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// The standby's durable seq before.
    pub from_seq: u64,
    /// The standby's durable seq after: the last seq of the journal and of
    /// the replica.
    pub durable_seq: u64,
    /// The shipped files applied, in order.
    pub applied: Vec<AppliedSegment>,
    /// `Checksum` entries whose replica did not match.
    pub verify_mismatches: u64,
}

/// Applies every shipped segment of `options.from` past the standby's
/// durable seq, in order; calls `each` after each one is durable.
pub fn apply_shipped(
    options: &ApplyOptions,
    mut each: impl FnMut(&AppliedSegment),
) -> Result<ApplyReport, ShippingError> {
    let mut state = open(options)?;
    let result = apply_all(options, &mut state, &mut each);
    let closed = state.close().map_err(|source| ShippingError::Apply {
        path: options.journal.dir.clone(),
        source,
    });
    let mut report = result?;
    closed?;
    report.durable_seq = report
        .applied
        .last()
        .map_or(report.from_seq, |a| a.last_seq);
    Ok(report)
}

/// Opens the standby journal (its lock keeps a running standby server
/// out) and the replica, and brings the replica up to the journal.
fn open(options: &ApplyOptions) -> Result<State, ShippingError> {
    let dir = options.journal.dir.clone();
    let writer = match Writer::open(options.journal.clone()) {
        Ok(writer) => writer,
        Err(JournalError::Locked { path }) => {
            return Err(ShippingError::StandbyBusy {
                what: "journal",
                path,
            });
        }
        Err(e) => return Err(e.into()),
    };
    // The same claim as the standby server's: a journal with entries of
    // its own (a primary's) is not a standby journal.
    let writer = applier::claim_standby(writer).map_err(|source| ShippingError::Apply {
        path: dir.clone(),
        source,
    })?;
    let mut replica = match Replica::open(&options.replica) {
        Ok(replica) => replica,
        Err(ReplicaError::Locked { path }) => {
            return Err(ShippingError::StandbyBusy {
                what: "replica state",
                path,
            });
        }
        Err(e) => return Err(e.into()),
    };
    applier::redo(&dir, writer.last_seq(), &mut replica)
        .map_err(|source| ShippingError::Apply { path: dir, source })?;
    let status = StatusBoard::new(Role::Standby, options.node_id.clone());
    Ok(State::new(writer, replica, status))
}

fn apply_all(
    options: &ApplyOptions,
    state: &mut State,
    each: &mut impl FnMut(&AppliedSegment),
) -> Result<ApplyReport, ShippingError> {
    let journal = &options.journal.dir;
    let position = state.position().map_err(|source| ShippingError::Apply {
        path: journal.clone(),
        source,
    })?;
    let mut report = ApplyReport {
        from_seq: position.durable,
        durable_seq: position.durable,
        applied: Vec::new(),
        verify_mismatches: 0,
    };
    let listed = shipped_segment::list(&options.from)?;
    let mut need = position.durable + 1;
    // Each round applies one file and moves `need` past it.
    for _ in 0..=listed.len() {
        let Some(file) = listed
            .iter()
            .filter(|l| l.first_seq <= need && need <= l.last_seq)
            .max_by_key(|l| l.last_seq)
        else {
            if let Some(next) = listed
                .iter()
                .map(|l| l.first_seq)
                .filter(|first| *first > need)
                .min()
            {
                return Err(ShippingError::Gap {
                    from: need,
                    to: next - 1,
                    dir: options.from.clone(),
                });
            }
            break;
        };
        let applied = apply_file(state, file, need, &mut report.verify_mismatches)?;
        each(&applied);
        need = applied.last_seq + 1;
        report.applied.push(applied);
    }
    Ok(report)
}

/// Verifies the shipped file whole, then appends and applies its entries
/// from `need` on, then makes the journal and the replicas durable.
fn apply_file(
    state: &mut State,
    file: &Listed,
    need: u64,
    mismatches: &mut u64,
) -> Result<AppliedSegment, ShippingError> {
    let verified = shipped_segment::read_verified(file)?;
    apply_verified(state, &file.path, &verified, need, mismatches)
}

/// Appends and applies the entries of a verified shipped file (`path`, in
/// messages) from `need` on, after checking their epochs, then makes the
/// journal and the replicas durable. Also the standby server's, for a
/// file shipped over a transfer session (`receive.rs`).
pub(crate) fn apply_verified(
    state: &mut State,
    path: &Path,
    verified: &Verified,
    need: u64,
    mismatches: &mut u64,
) -> Result<AppliedSegment, ShippingError> {
    let file = Listed {
        first_seq: verified.manifest.first_seq,
        last_seq: verified.manifest.last_seq,
        path: path.to_path_buf(),
    };
    let file = &file;
    let failed = |source: crate::error::LinkError| ShippingError::Apply {
        path: file.path.clone(),
        source,
    };
    let mut applied = AppliedSegment {
        path: file.path.clone(),
        first_seq: need,
        last_seq: verified.manifest.last_seq,
        entries: 0,
        bytes: 0,
    };
    let epoch = state.position().map_err(failed)?.epoch;
    check_epochs(file, verified, need, epoch)?;
    let mut unsynced = 0usize;
    for (seq, range) in &verified.scanned.frames {
        if *seq < need {
            continue;
        }
        let payload = &verified.raw[range.clone()];
        match state.entry(*seq, payload) {
            Ok(None) => {}
            Ok(Some(result)) => {
                if result.verdict != Verdict::Identical {
                    *mismatches += 1;
                    tracing::warn!(
                        seq = result.seq,
                        path = %result.path,
                        verdict = ?result.verdict,
                        "{}", result.text
                    );
                }
            }
            Err(Fault::Violation(text)) => {
                return Err(ShippingError::Refused {
                    path: file.path.clone(),
                    text,
                });
            }
            Err(Fault::Fatal(e)) => return Err(failed(e)),
        }
        applied.entries += 1;
        applied.bytes += payload.len() as u64;
        unsynced += payload.len();
        if unsynced >= SYNC_BYTES {
            state.sync(0, false).map_err(failed)?;
            unsynced = 0;
        }
    }
    state.sync(0, true).map_err(failed)?;
    Ok(applied)
}

/// Epochs never go down along a journal: an entry older than the
/// standby's epoch comes from a primary that a failover fenced off, and
/// would make the standby diverge from the new primary. Checked for every
/// entry to apply before any is applied.
fn check_epochs(
    file: &Listed,
    verified: &shipped_segment::Verified,
    need: u64,
    mut epoch: u64,
) -> Result<(), ShippingError> {
    for (seq, range) in &verified.scanned.frames {
        if *seq < need {
            continue;
        }
        // Decoded once already by the verification.
        let entry = drx_journal::decode_entry(&verified.raw[range.clone()]).map_err(|e| {
            ShippingError::Damaged {
                path: file.path.clone(),
                reason: format!("seq {seq}: {e}"),
            }
        })?;
        if entry.epoch < epoch {
            return Err(ShippingError::Refused {
                path: file.path.clone(),
                text: format!(
                    "seq {seq} has epoch {}, older than the standby's epoch {epoch}: it was shipped by a primary that a failover fenced off; nothing of this file was applied",
                    entry.epoch
                ),
            });
        }
        epoch = entry.epoch;
    }
    Ok(())
}
