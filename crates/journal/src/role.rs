//! The role file, `<dir>/ROLE`: whether the journal's node may append
//! entries of its own (a primary), only entries received from its primary
//! (a standby), or none (a primary fenced off by a failover).

use std::fmt;
use std::path::Path;

use crate::atomic_file;
use crate::error::JournalError;

const FILE: &str = "ROLE";

/// What a journal's node may append. A journal without a role file has
/// none set: it takes both kinds of entries, as before roles existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRole {
    /// Appends its applications' entries (`Writer::append`); refuses
    /// entries from another journal.
    Primary,
    /// Appends only a primary's entries (`Writer::append_replica`): its
    /// applications may read, not write, until it is promoted.
    Standby,
    /// A primary handing its role over to its standby (`drx switchover`):
    /// appends nothing while its server makes sure the standby has every
    /// entry and tells it to take over; then it becomes a standby.
    HandingOver,
    /// Was a primary, until a standby was promoted at a newer epoch:
    /// appends nothing, so that no change is made that the new primary
    /// would never see. Rejoining as the new primary's standby lifts it.
    Fenced {
        /// The newer epoch that fenced this node off.
        epoch: u64,
        /// The node that holds it.
        by: String,
    },
}

impl fmt::Display for NodeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRole::Primary => f.write_str("primary"),
            NodeRole::Standby => f.write_str("standby"),
            NodeRole::HandingOver => f.write_str("handing the primary role over (switchover)"),
            NodeRole::Fenced { epoch, by } => write!(f, "fenced by {by} at epoch {epoch}"),
        }
    }
}

/// The role of the journal in `dir`; `None` when none was ever set.
pub fn node_role(dir: &Path) -> Result<Option<NodeRole>, JournalError> {
    let path = dir.join(FILE);
    let Some(text) = atomic_file::read_text(&path)? else {
        return Ok(None);
    };
    let line = text.trim_end_matches('\n');
    let mut words = line.splitn(3, ' ');
    let role = match (words.next(), words.next(), words.next()) {
        (Some("primary"), None, None) => NodeRole::Primary,
        (Some("standby"), None, None) => NodeRole::Standby,
        (Some("handing-over"), None, None) => NodeRole::HandingOver,
        (Some("fenced"), Some(epoch), Some(by)) => match epoch.parse() {
            Ok(epoch) => NodeRole::Fenced {
                epoch,
                by: by.to_owned(),
            },
            Err(_) => return Err(bad(&path, line)),
        },
        _ => return Err(bad(&path, line)),
    };
    Ok(Some(role))
}

/// Sets the role of the journal in `dir` (replaced atomically). It may be
/// set while a writer holds the journal: a writer reads it again before
/// every fsync of a group of entries, and refuses what the new role
/// forbids from then on.
pub fn set_node_role(dir: &Path, role: &NodeRole) -> Result<(), JournalError> {
    std::fs::create_dir_all(dir).map_err(JournalError::io(dir))?;
    let text = match role {
        NodeRole::Primary => "primary\n".to_owned(),
        NodeRole::Standby => "standby\n".to_owned(),
        NodeRole::HandingOver => "handing-over\n".to_owned(),
        NodeRole::Fenced { epoch, by } => format!("fenced {epoch} {by}\n"),
    };
    atomic_file::write_text(&dir.join(FILE), &text)
}

fn bad(path: &Path, line: &str) -> JournalError {
    atomic_file::invalid(
        path,
        format!(
            "expected \"primary\", \"standby\", \"handing-over\" or \"fenced <epoch> <node>\", found {line:?}"
        ),
    )
}
