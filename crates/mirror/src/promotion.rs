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
//! already primary is left as it is. `tests/dr_crash.rs` crashes it after
//! each step (`crash_point.rs`).
//!
//! A standby server that is running holds the journal: `drx promote` then
//! asks it, through a request file in the journal directory
//! (`promote/request`), and reads its answer (`promote/result`, the
//! [`Promotion`] as JSON). The server also promotes itself when `[mirror]
//! auto_promote_after_missed` says so.

use crate::applier::redo;
use crate::crash_point::{PROMOTE_ABORT, PROMOTE_EPOCH, PROMOTE_REDO, PROMOTE_ROLE, crash_point};
use crate::error::LinkError;
use crate::replica::Replica;
use crate::settings::StandbySettings;
use drx_config::Config;
use drx_journal::{Effect, EntryRef, JournalError, NodeRole, Writer, node_role};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The process name of the entries promotion appends.
pub const PROMOTE_PROCESS: &str = "drx-promote";

/// What a promotion did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Why it was done: `drx promote`, or how long the primary had been
    /// silent when the standby server promoted itself.
    pub why: String,
    /// How long before the promotion the standby last heard from its
    /// primary, when its server knew (it ran and a primary had connected).
    pub silent_for: Option<Duration>,
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
        write!(f, "; took {:.1} ms", self.took.as_secs_f64() * 1000.0)?;
        if let Some(silent) = self.silent_for {
            write!(
                f,
                "; the primary had been silent for {:.1} ms",
                silent.as_secs_f64() * 1000.0
            )?;
        }
        Ok(())
    }
}

/// Promotes this node: itself when no standby server runs, else through
/// the running server (waiting at most `wait` for its answer).
pub fn promote(config: &Config, wait: Duration) -> Result<Promotion, LinkError> {
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
    if let Some(done) = already(&dir, started)? {
        return Ok(done);
    }
    match promote_standby(&settings, "drx promote", None) {
        Err(LinkError::Journal(JournalError::Locked { .. })) => ask_the_server(&dir, wait),
        other => other,
    }
}

/// `Some` when the journal in `dir` is already a primary's; an error when
/// it cannot be promoted.
fn already(dir: &Path, started: Instant) -> Result<Option<Promotion>, LinkError> {
    match node_role(dir)? {
        Some(NodeRole::Primary) => {
            let epoch = drx_journal::current_epoch(dir)?;
            let last = drx_journal::last_seq(dir)?;
            Ok(Some(Promotion {
                already_primary: true,
                previous_epoch: epoch,
                epoch,
                last_received_seq: last,
                aborted: Vec::new(),
                next_seq: last + 1,
                took: started.elapsed(),
                why: "already the primary".into(),
                silent_for: None,
            }))
        }
        Some(role @ (NodeRole::Fenced { .. } | NodeRole::HandingOver)) => {
            Err(LinkError::Config(format!(
                "this node cannot be promoted: it is {role}; `drx rejoin` makes it the new primary's standby"
            )))
        }
        Some(NodeRole::Standby) | None => Ok(None),
    }
}

/// Promotes the standby journal and replica of `settings`, which no one
/// else holds (else `JournalError::Locked`).
pub(crate) fn promote_standby(
    settings: &StandbySettings,
    why: &str,
    silent_for: Option<Duration>,
) -> Result<Promotion, LinkError> {
    let started = Instant::now();
    let dir = settings.journal.dir.clone();
    if let Some(done) = already(&dir, started)? {
        return Ok(done);
    }
    tracing::info!(why, "promoting: opening the journal and the replica");
    let mut writer = Writer::open(settings.journal.clone())?;
    let mut replica = Replica::open(&settings.replica)?;
    redo(&dir, writer.last_seq(), &mut replica)?;
    tracing::info!(
        last = writer.last_seq(),
        "promoting: the replicas are up to the journal"
    );
    crash_point(PROMOTE_REDO);
    let mut promotion = raise(&mut writer, &mut replica, started)?;
    replica.close()?;
    writer.close()?;
    tracing::info!("promoting: the journal and the replica are closed");
    promotion.took = started.elapsed();
    promotion.why = why.to_owned();
    promotion.silent_for = silent_for;
    tracing::warn!(
        epoch = promotion.epoch,
        next_seq = promotion.next_seq,
        aborted = promotion.aborted.len(),
        why,
        silent_for_ms = silent_for.map(|d| d.as_millis()),
        took_ms = promotion.took.as_millis(),
        "PROMOTED to primary"
    );
    Ok(promotion)
}

/// The request file `drx promote` leaves for a running standby server.
pub(crate) fn request_path(journal_dir: &Path) -> PathBuf {
    journal_dir.join("promote").join("request")
}

/// The file the server answers in.
fn result_path(journal_dir: &Path) -> PathBuf {
    journal_dir.join("promote").join("result")
}

/// Asks the standby server holding the journal in `dir` to promote, and
/// waits at most `wait` for its answer.
fn ask_the_server(dir: &Path, wait: Duration) -> Result<Promotion, LinkError> {
    let request = request_path(dir);
    let result = result_path(dir);
    let io = |what: &str, path: &Path| LinkError::io(format!("{what} {}", path.display()));
    if let Some(parent) = request.parent() {
        std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
    }
    match std::fs::remove_file(&result) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("removing", &result)(e)),
    }
    std::fs::write(&request, format!("{}\n", std::process::id()))
        .map_err(io("writing", &request))?;
    let deadline = Instant::now() + wait;
    loop {
        match std::fs::read_to_string(&result) {
            Ok(text) => {
                let _ = std::fs::remove_file(&result);
                let answer: Result<Promotion, String> =
                    serde_json::from_str(&text).map_err(|e| {
                        LinkError::Stopped(format!(
                            "the standby server's answer does not parse: {e}"
                        ))
                    })?;
                return answer.map_err(|e| {
                    LinkError::Stopped(format!("the standby server could not promote: {e}"))
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("reading", &result)(e)),
        }
        if Instant::now() >= deadline {
            let _ = std::fs::remove_file(&request);
            return Err(LinkError::Timeout(format!(
                "the standby server holding {} did not answer the promotion request within {wait:?}",
                dir.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes the server's answer to a promotion request (atomically).
pub(crate) fn answer(journal_dir: &Path, outcome: &Result<Promotion, LinkError>) {
    let answer: Result<&Promotion, String> = outcome.as_ref().map_err(ToString::to_string);
    let result = result_path(journal_dir);
    let tmp = result.with_extension("tmp");
    let written = serde_json::to_string(&answer)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, &result));
    if let Err(e) = written {
        tracing::error!(error = %e, path = %result.display(), "cannot answer the promotion request");
    }
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
    tracing::info!(epoch, "promoting: the epoch is raised");
    crash_point(PROMOTE_EPOCH);
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
    let synced = Instant::now();
    writer.sync()?;
    replica.sync()?;
    tracing::info!(
        aborted = aborted.len(),
        sync_ms = synced.elapsed().as_millis(),
        "promoting: open transactions aborted, journal and replicas synced"
    );
    crash_point(PROMOTE_ABORT);
    writer.set_role(NodeRole::Primary)?;
    tracing::info!("promoting: the role is primary");
    crash_point(PROMOTE_ROLE);
    Ok(Promotion {
        already_primary: false,
        previous_epoch,
        epoch,
        last_received_seq,
        aborted,
        next_seq: writer.last_seq() + 1,
        took: started.elapsed(),
        why: String::new(),
        silent_for: None,
    })
}
