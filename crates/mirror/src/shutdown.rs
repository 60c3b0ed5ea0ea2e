//! Graceful shutdown, as in mini-redis: the server holds a
//! `broadcast::Sender<()>` that it never sends on; dropping it tells every
//! task holding a [`Shutdown`] to stop. Each task also holds a clone of an
//! `mpsc::Sender<()>` (never sent on either): the server knows all tasks
//! have finished when the matching receiver yields `None`.

use tokio::sync::broadcast;

/// Listens for the server's shutdown signal. Once it has been received,
/// [`Shutdown::recv`] returns at once.
#[derive(Debug)]
pub(crate) struct Shutdown {
    /// The signal was received.
    is_shutdown: bool,
    /// Owned by this task; the sender is the server's `notify_shutdown`,
    /// dropped (never sent on) to signal the shutdown.
    notify: broadcast::Receiver<()>,
}

impl Shutdown {
    pub(crate) fn new(notify: broadcast::Receiver<()>) -> Shutdown {
        Shutdown {
            is_shutdown: false,
            notify,
        }
    }

    /// Waits for the shutdown signal. Cancel-safe.
    pub(crate) async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        // Only "closed" (the sender dropped) or a send can end this wait;
        // both mean: shut down.
        let _ = self.notify.recv().await;
        self.is_shutdown = true;
    }
}
