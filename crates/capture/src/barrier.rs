//! The journal barrier: a seq at or below which every operation whose file
//! I/O has completed is journaled, readable now. The capture does an
//! operation's I/O first and appends its entry after, so the journal's last
//! seq read by a reader is not enough while an application runs: its
//! session must answer between two operations (through the mailbox `drx
//! verify` uses: it answers outside any transaction, after writing every
//! entry to the OS), or no session must hold the journal. `drx backup`
//! takes its consistent point with it (docs/BACKUP.md).

use crate::checks::{ChecksumRequest, PostedRequest, is_mirrored};
use crate::error::CaptureError;
use drx_config::Config;
use drx_journal::{Durability, JournalError, Writer, WriterConfig};
use std::time::{Duration, Instant};

/// How often the lock and the mailbox are looked at while waiting.
const POLL: Duration = Duration::from_millis(20);

/// The journal's last seq while holding its writer lock for a moment;
/// `None` if an application holds it.
fn by_lock(config: &Config) -> Result<Option<u64>, CaptureError> {
    let writer = Writer::open(WriterConfig {
        segment_size: config.journal.segment_size,
        durability: Durability::None,
        ..WriterConfig::new(&config.journal.dir)
    });
    match writer {
        Ok(w) => {
            let seq = w.last_seq();
            w.close()?;
            Ok(Some(seq))
        }
        Err(JournalError::Locked { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The barrier of the journal of `config`'s home: at once when no
/// application holds the journal, else once the application's session has
/// answered a request posted in its mailbox (sessions serve it on a
/// mirrored primary only), or the journal has been let go; at most
/// `timeout`.
pub fn journal_barrier(config: &Config, timeout: Duration) -> Result<u64, CaptureError> {
    if let Some(seq) = by_lock(config)? {
        tracing::info!(seq, "barrier: the journal was free");
        return Ok(seq);
    }
    let dir = &config.journal.dir;
    let posted = if is_mirrored(config) {
        let request = ChecksumRequest {
            files: Vec::new(),
            process: None,
        };
        Some(PostedRequest::post(dir, &request)?)
    } else {
        None
    };
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(p) = &posted
            && p.answer()?.is_some()
        {
            let seq = drx_journal::last_seq(dir)?;
            tracing::info!(seq, "barrier: the application answered");
            return Ok(seq);
        }
        if let Some(seq) = by_lock(config)? {
            if let Some(p) = &posted
                && !p.withdraw()
            {
                // Taken meanwhile: consume its answer if it is there.
                let _ = p.answer();
            }
            tracing::info!(seq, "barrier: the journal was released");
            return Ok(seq);
        }
        if Instant::now() >= deadline {
            if let Some(p) = &posted {
                p.withdraw();
            }
            return Err(CaptureError::Barrier(if posted.is_some() {
                format!(
                    "timed out after {} s: an application holds the journal {} and did not take the request (it serves requests at its next operation outside a transaction)",
                    timeout.as_secs(),
                    dir.display()
                )
            } else {
                format!(
                    "timed out after {} s: an application holds the journal {}, and on a home that is not mirrored ([mirror] names no secret) applications serve no barrier requests; try when it is idle",
                    timeout.as_secs(),
                    dir.display()
                )
            }));
        }
        std::thread::sleep(POLL);
    }
}
