//! The primary's feed: one std thread per connection (and per rewind) that
//! tails the journal with a [`Reader`] from a given seq and encodes the
//! entries into ready-to-send `Entries` frames of at most
//! `max_batch_entries` entries or `max_batch_bytes` bytes (a larger entry
//! travels alone), handed to the session over a bounded channel. Journal
//! reads never run on the reactor.
//!
//! The feed ships what the journal's readers see: entries that reached the
//! operating system. The journal offers readers no durable watermark (the
//! writer, in the application's process, fsyncs as its `Durability`
//! says), so an entry may reach the standby before it is durable on the
//! primary.

use crate::error::LinkError;
use crate::protocol::EntriesWriter;
use crate::status::JournalWake;
use drx_journal::{Reader, encode_entry};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;

/// Frames read ahead of the socket, at most.
const AHEAD_FRAMES: usize = 4;
/// The longest wait between two looks at an idle journal.
const MAX_POLL: Duration = Duration::from_millis(5);
const MIN_POLL: Duration = Duration::from_micros(250);
/// A new frame's first allocation (it grows as needed).
const FRAME_CAPACITY: usize = 64 * 1024;

/// One `Entries` frame, ready to send.
#[derive(Debug)]
pub(crate) struct Shipment {
    /// The encoded frame.
    pub frame: Vec<u8>,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// How large a batch may grow, and what wakes the feed early.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub entries: usize,
    pub bytes: usize,
    /// Notified when the journal grew (a sync-mode commit waits).
    pub wake: JournalWake,
}

/// A running feed.
#[derive(Debug)]
pub(crate) struct Feed {
    /// Frames in seq order, or the error that stopped the feed (the
    /// journal's, or an entry the protocol cannot carry).
    /// The feed thread is the only sender; the session's main loop owns
    /// this receiver. Dropping it stops the thread.
    pub rx: mpsc::Receiver<Result<Shipment, LinkError>>,
    /// Set by [`Feed::stop`] (and on drop): the thread stops at its next
    /// look at the journal.
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Feed {
    /// Starts reading with `reader` (positioned at the first seq to send).
    /// `head` is raised to the last seq read.
    pub(crate) fn start(
        reader: Reader,
        limits: Limits,
        head: Arc<AtomicU64>,
    ) -> Result<Feed, LinkError> {
        let (tx, rx) = mpsc::channel(AHEAD_FRAMES);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("drx-primary-feed".into())
                .spawn(move || {
                    if let Err(e) = feed(reader, limits, &tx, &stop, &head) {
                        let _ = tx.blocking_send(Err(e));
                    }
                })
                .map_err(LinkError::io("starting the primary's journal feed thread"))?
        };
        Ok(Feed {
            rx,
            stop,
            thread: Some(thread),
        })
    }

    /// Frames ready and not yet taken.
    pub(crate) fn queued(&self) -> usize {
        self.rx.len()
    }

    /// Stops the thread; returns it, to be joined off the reactor.
    pub(crate) fn stop(mut self) -> Option<JoinHandle<()>> {
        self.stop.store(true, Ordering::Relaxed);
        self.rx.close();
        self.thread.take()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The feed thread: batches until the session stops listening.
fn feed(
    mut reader: Reader,
    limits: Limits,
    tx: &mpsc::Sender<Result<Shipment, LinkError>>,
    stop: &AtomicBool,
    head: &AtomicU64,
) -> Result<(), LinkError> {
    // The encoded entry read last, when it did not fit the previous batch.
    let mut carry: Vec<u8> = Vec::new();
    let mut frame: Vec<u8> = Vec::new();
    let mut poll = MIN_POLL;
    loop {
        if stop.load(Ordering::Relaxed) || tx.is_closed() {
            return Ok(());
        }
        let first_seq = reader.position() - u64::from(!carry.is_empty());
        frame.clear();
        if frame.capacity() == 0 {
            frame.reserve(FRAME_CAPACITY);
        }
        let mut batch = EntriesWriter::new(&mut frame, first_seq)?;
        loop {
            if carry.is_empty() {
                let Some(entry) = reader.next()? else {
                    break;
                };
                encode_entry(&entry, &mut carry)?;
            }
            let full = batch.count() as usize >= limits.entries
                || batch.payload_len() + 4 + carry.len() > limits.bytes
                || !batch.fits(carry.len());
            if batch.count() > 0 && full {
                break;
            }
            batch.push(&carry)?;
            carry.clear();
        }
        let count = u64::from(batch.count());
        if count == 0 {
            drop(batch);
            limits.wake.wait(poll);
            poll = (poll * 2).min(MAX_POLL);
            continue;
        }
        poll = MIN_POLL;
        batch.finish()?;
        let last_seq = first_seq + count - 1;
        head.fetch_max(last_seq, Ordering::Relaxed);
        let shipment = Shipment {
            frame: std::mem::take(&mut frame),
            first_seq,
            last_seq,
        };
        if tx.blocking_send(Ok(shipment)).is_err() {
            return Ok(());
        }
    }
}
