//! Promotion (failover): a standby becomes the primary (docs/DR.md).
//!
//! The standby's journal holds the primary's entries up to the last one it
//! received; promotion makes it the journal of a primary that continues
//! from there:
//!
//! 1. the replicas are brought up to the journal (as after a crash);
//! 2. the epoch is raised (`EPOCH`, and `EPOCHS` records that the new
//!    epoch begins at the next seq), so that the old primary's entries,
//!    which carry the old epoch, are recognised and refused from now on;
//! 3. each transaction the old primary left open is ended with an
//!    `AbortTxn` entry of the new epoch, so that the extractor drops it
//!    and no half of it is ever applied;
//! 4. the role becomes primary: the applications here may write, and the
//!    standby server, if started again, only fences (refuses every
//!    primary, the old one with `EpochFenced`).
//!
//! Every step is durable before the next, and the role is the last: a
//! promotion cut short by a crash is run again from the start (it may then
//! raise the epoch once more, which is harmless); a journal whose role is
//! already primary is left as it is.

use crate::applier::redo;
use crate::error::LinkError;
use crate::replica::Replica;
use crate::settings::StandbySettings;
use drx_config::Config;
use drx_journal::{Effect, EntryRef, JournalError, NodeRole, Writer, node_role};
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The process name of the entries promotion appends.
pub const PROMOTE_PROCESS: &str = "drx-promote";

/// What a promotion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The node was already the primary: nothing was done.
    pub already_primary: bool,
    /// The epoch before.
    pub previous_epoch: u64,
    /// The epoch of the new primary.
    pub epoch: u64,
    /// The last entry received from the old primary: the new primary's
    /// journal continues after it (after the `AbortTxn`s, if any).
    pub last_received_seq: u64,
    /// The transactions the old primary left open, ended with `AbortTxn`.
    pub aborted: Vec<u64>,
    /// The seq of the new primary's first entry to come.
    pub next_seq: u64,
    /// How long the promotion took.
    pub took: Duration,
}

/// What `drx promote` prints.
impl fmt::Display for Promotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already_primary {
            return write!(
                f,
                "this node is already the primary (epoch {}); nothing done",
                self.epoch
            );
        }
        write!(
            f,
            "promoted to primary: epoch {} -> {}; the last entry received was seq {}, new entries start at seq {}; {} open transaction(s) of the old primary aborted",
            self.previous_epoch,
            self.epoch,
            self.last_received_seq,
            self.next_seq,
            self.aborted.len(),
        )?;
        if !self.aborted.is_empty() {
            let ids: Vec<String> = self.aborted.iter().map(u64::to_string).collect();
            write!(f, " ({})", ids.join(", "))?;
        }
        write!(f, "; took {:.1} ms", self.took.as_secs_f64() * 1000.0)
    }
}

/// Promotes this node, whose standby server is not running (it holds the
/// journal: [`LinkError::Config`] says to stop it).
pub fn promote(config: &Config) -> Result<Promotion, LinkError> {
    let started = Instant::now();
    let settings = StandbySettings::from_config(config)?;
    let dir = settings.journal.dir.clone();
    if dir != config.journal.dir {
        return Err(LinkError::Config(format!(
            "[mirror] standby_journal_dir ({}) is not [journal] dir ({}): a promoted standby continues its journal, so the applications must write to it; make them the same directory",
            dir.display(),
            config.journal.dir.display()
        )));
    }
    match node_role(&dir)? {
        Some(NodeRole::Primary) => {
            let epoch = drx_journal::current_epoch(&dir)?;
            let last = drx_journal::last_seq(&dir)?;
            return Ok(Promotion {
                already_primary: true,
                previous_epoch: epoch,
                epoch,
                last_received_seq: last,
                aborted: Vec::new(),
                next_seq: last + 1,
                took: started.elapsed(),
            });
        }
        Some(role @ NodeRole::Fenced { .. }) => {
            return Err(LinkError::Config(format!(
                "this node cannot be promoted: it is {role}; `drx rejoin` makes it the new primary's standby"
            )));
        }
        Some(NodeRole::Standby) | None => {}
    }
    let mut writer = match Writer::open(settings.journal.clone()) {
        Ok(w) => w,
        Err(JournalError::Locked { path }) => {
            return Err(LinkError::Config(format!(
                "the journal is in use ({} is locked): stop the standby server, then promote",
                path.display()
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut replica = Replica::open(&settings.replica)?;
    redo(&dir, writer.last_seq(), &mut replica)?;
    let promotion = raise(&mut writer, &mut replica, started)?;
    replica.close()?;
    writer.close()?;
    tracing::info!(
        epoch = promotion.epoch,
        next_seq = promotion.next_seq,
        aborted = promotion.aborted.len(),
        "promoted to primary"
    );
    Ok(promotion)
}

/// Steps 2 to 4 on an open journal and replica that are up to date with
/// each other.
pub(crate) fn raise(
    writer: &mut Writer,
    replica: &mut Replica,
    started: Instant,
) -> Result<Promotion, LinkError> {
    let previous_epoch = writer.epoch();
    let epoch = previous_epoch + 1;
    let last_received_seq = writer.last_seq();
    writer.set_epoch(epoch)?;
    let aborted = replica.open_transaction_ids();
    let timestamp_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    for &txn in &aborted {
        // Stamped here, so that the journal (still a standby's) takes it
        // as it takes the primary's entries.
        let entry = EntryRef {
            seq: writer.last_seq() + 1,
            epoch,
            txn,
            timestamp_us,
            process: PROMOTE_PROCESS,
            file: "",
            effect: Effect::AbortTxn,
            record: None,
        };
        writer.append_replica(&entry)?;
        replica.apply(&entry)?;
    }
    writer.sync()?;
    replica.sync()?;
    writer.set_role(NodeRole::Primary)?;
    Ok(Promotion {
        already_primary: false,
        previous_epoch,
        epoch,
        last_received_seq,
        aborted,
        next_seq: writer.last_seq() + 1,
        took: started.elapsed(),
    })
}
