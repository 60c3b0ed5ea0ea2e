//! Crash points for testing crash safety (docs/DR.md, "Testing crash
//! safety"): with `DRX_CRASH_AFTER=<step>` in its environment, a `drx`
//! process aborts (`std::process::abort`: no destructors, no flushing, as
//! good as `kill -9` for durability) right after the durable step of that
//! name. Read only at the step boundaries of `drx promote` and `drx
//! rejoin`, never on a hot path.

/// The environment variable naming the step to crash after.
pub(crate) const CRASH_AFTER: &str = "DRX_CRASH_AFTER";

/// `drx promote`: the replicas were brought up to the journal.
pub(crate) const PROMOTE_REDO: &str = "promote-redo";
/// `drx promote`: the epoch was raised (`EPOCH`, `EPOCHS`).
pub(crate) const PROMOTE_EPOCH: &str = "promote-epoch";
/// `drx promote`: the `AbortTxn` entries are appended and synced.
pub(crate) const PROMOTE_ABORT: &str = "promote-abort";
/// `drx promote`: the role is primary.
pub(crate) const PROMOTE_ROLE: &str = "promote-role";
/// `drx rejoin`: the report of the diverged entries is written and synced,
/// the plan not yet recorded.
pub(crate) const REJOIN_REPORT: &str = "rejoin-report";
/// `drx rejoin`: the plan is recorded (`<journal>/rejoin/state`).
pub(crate) const REJOIN_PLAN: &str = "rejoin-plan";
/// `drx rejoin`: the files are repaired from the promoted node and synced.
pub(crate) const REJOIN_REPAIR: &str = "rejoin-repair";
/// `drx rejoin`: the journal is cut back to the shared seq.
pub(crate) const REJOIN_TRUNCATE: &str = "rejoin-truncate";
/// `drx rejoin`: the replica state starts over at the shared seq.
pub(crate) const REJOIN_REPLICA: &str = "rejoin-replica";
/// `drx rejoin`: the role is standby (the plan not yet removed).
pub(crate) const REJOIN_ROLE: &str = "rejoin-role";

/// Aborts the process if `DRX_CRASH_AFTER` names `step`.
pub(crate) fn crash_point(step: &str) {
    if std::env::var_os(CRASH_AFTER).is_some_and(|v| v == step) {
        eprintln!("drx: {CRASH_AFTER}={step}: aborting");
        std::process::abort();
    }
}
