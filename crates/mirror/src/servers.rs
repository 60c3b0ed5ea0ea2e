//! The Control Table's servers on this host: what `drx start` (the seed's
//! `start_servers`) and `drx recover` (`recover_servers`) run.
//!
//! The `PRIMARY` and `BACKUP` server records say on which host
//! (`run_on_module`) each server runs; this host is `[mirror] node_id`, else
//! the host name. Each server resumes from its checkpoints on start — the
//! standby from its replica state and journal (a transaction that was
//! being applied when it stopped is finished first), the primary right
//! after the last seq the standby acknowledged — and [`recovery`] says
//! where that is, for `drx recover`.

use crate::error::LinkError;
use crate::protocol::Role;
use crate::replica::{Replica, ReplicaConfig};
use crate::settings::PrimarySettings;
use drx_config::{Config, ServerType};
use std::future::Future;
use tokio::sync::watch;

/// The roles the Control Table assigns to `host` (default: this node's id),
/// primary first. An error names the hosts it does assign them to.
pub fn local_roles(config: &Config, host: Option<&str>) -> Result<Vec<Role>, LinkError> {
    if config.global_settings.disable_drms {
        return Err(LinkError::Config(
            "[global_settings] disable_drms is set: mirroring is off, no server to start".into(),
        ));
    }
    let host = match host {
        Some(h) => h.to_owned(),
        None => crate::settings::node_id(config)?,
    };
    let mut roles = Vec::new();
    let mut elsewhere = Vec::new();
    for (kind, role, kind_name) in [
        (ServerType::Primary, Role::Primary, "PRIMARY"),
        (ServerType::Backup, Role::Standby, "BACKUP"),
    ] {
        for record in config.servers.iter().filter(|s| s.record_type == kind) {
            match record.run_on_module.as_deref() {
                Some(module) if module.eq_ignore_ascii_case(&host) => {
                    if !roles.contains(&role) {
                        roles.push(role);
                    }
                }
                Some(module) => elsewhere.push(format!("{kind_name} on {module}")),
                None => elsewhere.push(format!("{kind_name} with no run_on_module")),
            }
        }
    }
    if roles.is_empty() {
        return Err(LinkError::Config(if elsewhere.is_empty() {
            "the Control Table has no PRIMARY or BACKUP server record ([[servers]])".into()
        } else {
            format!(
                "no server of the Control Table runs on {host} ({}); set run_on_module, or [mirror] node_id",
                elsewhere.join(", ")
            )
        }));
    }
    Ok(roles)
}

/// Where each role of this host resumes, one line each, for
/// `drx recover`. Opening the standby's replica finishes a transaction
/// that was being applied when it stopped.
pub fn recovery(config: &Config, roles: &[Role]) -> Result<Vec<String>, LinkError> {
    let mut lines = Vec::new();
    for role in roles {
        match role {
            Role::Standby => {
                let replica = Replica::open(&ReplicaConfig::from_config(config))?;
                let durable = replica.durable_seq();
                let open = replica.open_transactions();
                replica.close()?;
                let journal = journal_last(&config.mirror.standby_journal_dir)?;
                let redo = if journal > durable {
                    format!(
                        " (seqs {} to {journal} are applied again from it)",
                        durable + 1
                    )
                } else {
                    String::new()
                };
                lines.push(format!(
                    "standby: standby journal at seq {journal}, replicas durable up to seq \
                     {durable}{redo}, {open} transactions open; resumes after seq {journal}"
                ));
            }
            Role::Primary => {
                let dir = &config.journal.dir;
                let last = journal_last(dir)?;
                let acked = if dir.exists() {
                    drx_journal::consumer_position(dir, PrimarySettings::CONSUMER)?
                } else {
                    None
                };
                lines.push(match acked {
                    Some(acked) => format!(
                        "primary: journal at seq {last}, the standby acknowledged seq {acked}; \
                         {} entries to send (the standby's own position decides)",
                        last.saturating_sub(acked)
                    ),
                    None => format!(
                        "primary: journal at seq {last}, nothing acknowledged yet; \
                         the standby says where to start"
                    ),
                });
            }
            // Not a server: `drx sync`'s sessions.
            Role::Transfer => {}
        }
    }
    Ok(lines)
}

fn journal_last(dir: &std::path::Path) -> Result<u64, LinkError> {
    if !dir.exists() {
        return Ok(0);
    }
    Ok(drx_journal::last_seq(dir)?)
}

/// Runs the servers of `roles` side by side until `shutdown` completes or
/// one of them fails; the others are then shut down too.
pub async fn serve_roles(
    config: &Config,
    roles: &[Role],
    shutdown: impl Future,
) -> Result<(), LinkError> {
    // The caller's shutdown (or a server's failure) sets it; each server
    // waits on a receiver.
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let mut servers = tokio::task::JoinSet::new();
    for role in roles {
        let config = config.clone();
        let until = stopped(stop_rx.clone());
        let role = *role;
        servers.spawn(async move {
            match role {
                Role::Primary => crate::serve_primary(&config, until).await,
                Role::Standby => crate::serve_standby(&config, until).await,
                Role::Transfer => Ok(()),
            }
        });
    }
    tokio::pin!(shutdown);
    let mut result = Ok(());
    loop {
        tokio::select! {
            _ = &mut shutdown, if !*stop_tx.borrow() => {
                tracing::info!("servers shutting down");
                let _ = stop_tx.send(true);
            }
            done = servers.join_next() => {
                let Some(done) = done else { break };
                let outcome = done.unwrap_or_else(|e| {
                    Err(LinkError::Stopped(format!("a server task failed: {e}")))
                });
                if outcome.is_err() {
                    // One server failed: stop the others.
                    let _ = stop_tx.send(true);
                    if result.is_ok() {
                        result = outcome;
                    }
                }
            }
        }
    }
    result
}
