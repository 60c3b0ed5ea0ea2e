//! When appended entries reach the disk, and the group-commit flusher thread
//! that syncs an idle writer.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::appender::Appender;

/// When the writer makes appended entries durable (fsyncs them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flush and fdatasync after every entry: nothing acknowledged is lost.
    EveryEntry,
    /// Group commit: fsync once `max_entries` entries were appended since
    /// the last sync, or once `max_delay` has passed since the first entry
    /// not yet synced (checked at each append, and by a background thread
    /// for a writer that went idle). A crash loses at most that window.
    Group {
        /// Sync after this many entries.
        max_entries: u32,
        /// Sync at most this long after an entry was appended.
        max_delay: Duration,
    },
    /// Never fsync; the OS writes back when it likes. Buffered entries are
    /// flushed to the OS when the buffer fills, at transaction commit/abort
    /// markers, on `flush`/`sync`, and on close.
    None,
}

impl Default for Durability {
    /// Group commit every 1000 entries or 10 ms.
    fn default() -> Self {
        Durability::Group {
            max_entries: 1000,
            max_delay: Duration::from_millis(10),
        }
    }
}

/// The writer's state, shared with the flusher thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub appender: Mutex<Appender>,
    /// Signalled when the writer becomes dirty and on shutdown.
    pub wake: Condvar,
}

impl Shared {
    /// Locks the appender. A panic while it was held cannot leave it
    /// half-updated in a way that matters more than the I/O errors it
    /// already reports, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Appender> {
        self.appender.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts the flusher: it sleeps until the writer has unsynced entries,
/// then syncs `max_delay` after the first of them unless an append did it
/// first. It stops when the appender's `shutdown` is set.
pub(crate) fn spawn_flusher(
    shared: Arc<Shared>,
    max_delay: Duration,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("drx-journal-flusher".into())
        .spawn(move || {
            let mut a = shared.lock();
            while !a.shutdown {
                match a.first_unsynced {
                    None => a = shared.wake.wait(a).unwrap_or_else(|e| e.into_inner()),
                    Some(first) => {
                        let deadline = first + max_delay;
                        let now = Instant::now();
                        if now >= deadline {
                            a.background_sync();
                        } else {
                            a = shared
                                .wake
                                .wait_timeout(a, deadline - now)
                                .unwrap_or_else(|e| e.into_inner())
                                .0;
                        }
                    }
                }
            }
        })
}
