//! A fault-injecting TCP proxy for the mirroring tests: it listens on
//! 127.0.0.1 (port 0) and forwards each connection it accepts (from the
//! primary) to the standby's real port, both ways, on its own threads.
//!
//! What it does to the bytes is controlled from the test while it runs:
//!
//! * [`Proxy::set_delay`]: each chunk read is held for this long before it
//!   is forwarded (a latency line: throughput is kept);
//! * [`Proxy::cut_after`]: once so many more bytes have passed in one
//!   direction, both sockets are closed, always in the middle of a frame
//!   (the cut point moves one byte on if it falls on a frame boundary);
//! * [`Proxy::set_blackhole`]: nothing is forwarded, not even a close; the
//!   connections that lost bytes are closed when the blackhole ends, and
//!   connections accepted meanwhile get nothing through either;
//! * [`Proxy::corrupt_entries`]: the next `Entries` frames towards the
//!   standby get one payload byte flipped (the frames are followed by
//!   parsing their headers, docs/PROTOCOL.md, so the byte lands in the
//!   payload's entries, never in a header or a checksum).
//!
//! Every thread polls a stop flag, every socket operation has a timeout,
//! and dropping the [`Proxy`] closes every connection and joins every
//! thread.

use drx_mirror::{FrameHeader, HEADER_LEN, MessageKind, TRAILER_LEN};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often idle threads look at the stop flag and the plan.
const POLL: Duration = Duration::from_millis(10);
/// A read waits at most this long before the reader looks at the flags.
const READ_TIMEOUT: Duration = Duration::from_millis(25);
/// A write that cannot finish in this time closes the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// Connecting to the standby.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The most bytes read at once.
const CHUNK: usize = 64 * 1024;
/// Chunks queued between a reader and its writer, at most.
const QUEUED_CHUNKS: usize = 256;
/// The bit flipped in a corrupted payload byte.
const FLIP: u8 = 0x20;
/// A corrupted byte is at least this far into an `Entries` payload: past
/// its first seq (8 bytes) and count (4 bytes), in the entries.
const ENTRIES_HEADER: usize = 12;

/// A direction of a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the primary to the standby: handshake, `Entries`, heartbeats.
    ToStandby,
    /// From the standby to the primary: handshake, `Ack`, `Resend`,
    /// heartbeats.
    ToPrimary,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::ToStandby => 0,
            Direction::ToPrimary => 1,
        }
    }
}

/// A connection the proxy cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutRecord {
    /// The direction whose bytes were counted.
    pub direction: Direction,
    /// The connection (numbered from 1 in accept order).
    pub connection: u64,
    /// Bytes forwarded in that direction on that connection before the cut.
    pub stream_offset: u64,
    /// The frame the cut fell in: its type, if its header had arrived.
    pub frame: Option<MessageKind>,
    /// Bytes of that frame forwarded before the cut (> 0: mid-frame).
    pub into_frame: usize,
    /// The length of that frame, if its header had arrived.
    pub frame_len: Option<usize>,
}

impl CutRecord {
    /// Whether the cut fell strictly inside a frame.
    pub fn mid_frame(&self) -> bool {
        self.into_frame > 0 && self.frame_len.is_none_or(|len| self.into_frame < len)
    }
}

/// An `Entries` frame the proxy damaged on its way to the standby.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptRecord {
    /// The connection (numbered from 1 in accept order).
    pub connection: u64,
    /// The batch's first seq (as sent).
    pub first_seq: u64,
    /// The offset of the flipped byte in the payload.
    pub payload_offset: usize,
    /// The payload's length.
    pub payload_len: usize,
}

/// What the proxy has done so far.
#[derive(Debug, Clone, Default)]
pub struct ProxyStats {
    /// Connections accepted and connected to the standby.
    pub connections: u64,
    /// Connections accepted whose standby side could not be connected.
    pub upstream_failures: u64,
    /// Connections on which the standby's `Welcome` passed.
    pub handshakes: u64,
    /// Bytes forwarded, by [`Direction`] (`ToStandby`, `ToPrimary`).
    pub bytes: [u64; 2],
    /// `Entries` frames seen on their way to the standby.
    pub entries_frames: u64,
    /// Connections cut by [`Proxy::cut_after`].
    pub cuts: Vec<CutRecord>,
    /// Frames damaged by [`Proxy::corrupt_entries`].
    pub corrupted: Vec<CorruptRecord>,
    /// Bytes swallowed by a blackhole.
    pub blackholed_bytes: u64,
    /// Connections that lost bytes to a blackhole (closed when it ended).
    pub blackholed_connections: u64,
}

/// An armed cut.
#[derive(Debug, Clone, Copy)]
struct Cut {
    direction: Direction,
    /// Bytes still to forward in `direction` before the cut.
    remaining: usize,
}

/// Armed corruption.
#[derive(Debug, Clone, Copy, Default)]
struct Corrupt {
    /// `Entries` frames still to damage.
    frames: u32,
    /// The payload offset to flip (clamped into the entries).
    offset: usize,
}

/// What the test asks for.
#[derive(Debug, Default)]
struct Plan {
    delay: Duration,
    blackhole: bool,
    cut: Option<Cut>,
    corrupt: Corrupt,
}

#[derive(Debug, Default)]
struct State {
    plan: Plan,
    stats: ProxyStats,
}

#[derive(Debug)]
struct Shared {
    target: SocketAddr,
    stop: AtomicBool,
    state: Mutex<State>,
    conns: Mutex<Vec<Arc<Conn>>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn conns(&self) -> MutexGuard<'_, Vec<Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A fault-injecting TCP proxy in front of a standby (see the module
/// documentation). Stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on 127.0.0.1 (a port of the system's choosing) and forwards
    /// every connection to `target`, faultlessly until told otherwise.
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            target,
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            conns: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name("proxy-accept".into())
            .spawn(move || accept_loop(&listener, &s))
            .expect("the proxy's accept thread");
        Proxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Where the primary connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Holds each chunk `delay` before forwarding it, both ways.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.state().plan.delay = delay;
    }

    /// Starts (`true`) or ends a blackhole: while it lasts nothing passes,
    /// either way, not even a close; when it ends, the connections that
    /// lost bytes are closed.
    pub fn set_blackhole(&self, on: bool) {
        self.shared.state().plan.blackhole = on;
    }

    /// Cuts the connection once `bytes` more bytes have passed in
    /// `direction` (on this connection or the next ones), in the middle of
    /// a frame: both sockets are closed. Replaces a cut armed before.
    pub fn cut_after(&self, direction: Direction, bytes: usize) {
        self.shared.state().plan.cut = Some(Cut {
            direction,
            remaining: bytes,
        });
    }

    /// Damages the next `frames` `Entries` frames towards the standby: in
    /// each, the payload byte at `payload_offset` (kept within the
    /// entries, after the batch's first seq and count, and before the
    /// payload's end) gets a bit flipped.
    pub fn corrupt_entries(&self, frames: u32, payload_offset: usize) {
        self.shared.state().plan.corrupt = Corrupt {
            frames,
            offset: payload_offset,
        };
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> ProxyStats {
        self.shared.state().stats.clone()
    }

    /// Whether an open connection has passed the standby's `Welcome` and
    /// lost nothing to a blackhole: the link streams through the proxy.
    pub fn streaming(&self) -> bool {
        self.shared.conns().iter().any(|c| {
            c.streaming.load(Ordering::SeqCst)
                && !c.closed.load(Ordering::SeqCst)
                && !c.poisoned.load(Ordering::SeqCst)
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// One proxied connection.
#[derive(Debug)]
struct Conn {
    id: u64,
    primary: TcpStream,
    standby: TcpStream,
    closed: AtomicBool,
    /// Lost bytes to a blackhole: forwards nothing more, closed when the
    /// blackhole ends.
    poisoned: AtomicBool,
    /// The standby's `Welcome` passed.
    streaming: AtomicBool,
    /// Directions whose end (EOF) was forwarded.
    ended: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Conn {
    fn close(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.primary.shutdown(Shutdown::Both);
            let _ = self.standby.shutdown(Shutdown::Both);
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn poison(&self, shared: &Shared) {
        if !self.poisoned.swap(true, Ordering::SeqCst) {
            shared.state().stats.blackholed_connections += 1;
        }
    }

    fn threads(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writing side of `direction`.
    fn destination(&self, direction: Direction) -> &TcpStream {
        match direction {
            Direction::ToStandby => &self.standby,
            Direction::ToPrimary => &self.primary,
        }
    }

    fn source(&self, direction: Direction) -> &TcpStream {
        match direction {
            Direction::ToStandby => &self.primary,
            Direction::ToPrimary => &self.standby,
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut next_id = 1;
    while !shared.stopped() {
        match listener.accept() {
            Ok((socket, _)) => {
                if let Some(conn) = open(socket, shared, next_id) {
                    next_id += 1;
                    shared.conns().push(conn);
                }
            }
            Err(_) => std::thread::sleep(POLL),
        }
        let blackhole = shared.state().plan.blackhole;
        let mut finished = Vec::new();
        shared.conns().retain(|c| {
            if !blackhole && c.poisoned.load(Ordering::SeqCst) {
                c.close();
            }
            let done = c.threads().iter().all(JoinHandle::is_finished);
            if done {
                finished.push(Arc::clone(c));
            }
            !done
        });
        for conn in finished {
            join(&conn);
        }
    }
    let conns = std::mem::take(&mut *shared.conns());
    for conn in &conns {
        conn.close();
    }
    for conn in &conns {
        join(conn);
    }
}

fn join(conn: &Conn) {
    let threads = std::mem::take(&mut *conn.threads());
    for thread in threads {
        let _ = thread.join();
    }
}

/// Connects `primary` to the standby and starts the four threads of the
/// connection; `None` if the standby cannot be reached (`primary` is
/// closed).
fn open(primary: TcpStream, shared: &Arc<Shared>, id: u64) -> Option<Arc<Conn>> {
    let standby = match TcpStream::connect_timeout(&shared.target, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(_) => {
            shared.state().stats.upstream_failures += 1;
            return None;
        }
    };
    let setup = |s: &TcpStream| -> std::io::Result<()> {
        s.set_nonblocking(false)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(READ_TIMEOUT))?;
        s.set_write_timeout(Some(WRITE_TIMEOUT))
    };
    if setup(&primary).is_err() || setup(&standby).is_err() {
        shared.state().stats.upstream_failures += 1;
        return None;
    }
    let conn = Arc::new(Conn {
        id,
        primary,
        standby,
        closed: AtomicBool::new(false),
        poisoned: AtomicBool::new(false),
        streaming: AtomicBool::new(false),
        ended: AtomicUsize::new(0),
        threads: Mutex::new(Vec::new()),
    });
    shared.state().stats.connections += 1;
    for direction in [Direction::ToStandby, Direction::ToPrimary] {
        let (from, to) = match (
            conn.source(direction).try_clone(),
            conn.destination(direction).try_clone(),
        ) {
            (Ok(from), Ok(to)) => (from, to),
            _ => {
                conn.close();
                return Some(conn);
            }
        };
        let (tx, rx) = sync_channel(QUEUED_CHUNKS);
        let (c, s) = (Arc::clone(&conn), Arc::clone(shared));
        let reader = std::thread::Builder::new()
            .name(format!("proxy-{id}-read-{direction:?}"))
            .spawn(move || read_side(&c, &s, from, &tx));
        let (c, s) = (Arc::clone(&conn), Arc::clone(shared));
        let writer = std::thread::Builder::new()
            .name(format!("proxy-{id}-write-{direction:?}"))
            .spawn(move || write_side(&c, &s, direction, to, &rx));
        for thread in [reader, writer] {
            match thread {
                Ok(t) => conn.threads().push(t),
                Err(_) => conn.close(),
            }
        }
    }
    Some(conn)
}

/// What a reader hands its writer.
enum Chunk {
    /// Bytes read, and when.
    Data(Instant, Vec<u8>),
    /// The source closed its sending side.
    End,
}

fn read_side(conn: &Conn, shared: &Shared, mut from: TcpStream, tx: &SyncSender<Chunk>) {
    let mut buf = vec![0; CHUNK];
    while !shared.stopped() && !conn.is_closed() {
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = tx.send(Chunk::End);
                return;
            }
            Ok(n) => {
                if tx
                    .send(Chunk::Data(Instant::now(), buf[..n].to_vec()))
                    .is_err()
                {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => {
                conn.close();
                return;
            }
        }
    }
}

/// Sleeps until `until`, in short steps; false if the connection or the
/// proxy stopped meanwhile.
fn sleep_until(until: Instant, conn: &Conn, shared: &Shared) -> bool {
    loop {
        if shared.stopped() || conn.is_closed() {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(POLL));
    }
}

fn write_side(
    conn: &Conn,
    shared: &Shared,
    direction: Direction,
    mut to: TcpStream,
    rx: &Receiver<Chunk>,
) {
    let mut framer = Framer::default();
    let mut forwarded: u64 = 0;
    while !shared.stopped() && !conn.is_closed() {
        let chunk = match rx.recv_timeout(POLL) {
            Ok(chunk) => chunk,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let (at, mut data) = match chunk {
            Chunk::Data(at, data) => (at, data),
            Chunk::End => {
                if conn.poisoned.load(Ordering::SeqCst) || shared.state().plan.blackhole {
                    // Not even the close passes.
                    conn.poison(shared);
                    return;
                }
                let _ = to.shutdown(Shutdown::Write);
                if conn.ended.fetch_add(1, Ordering::SeqCst) == 1 {
                    conn.close();
                }
                return;
            }
        };
        let delay = shared.state().plan.delay;
        if !sleep_until(at + delay, conn, shared) {
            return;
        }
        let mut state = shared.state();
        if state.plan.blackhole || conn.poisoned.load(Ordering::SeqCst) {
            state.stats.blackholed_bytes += data.len() as u64;
            drop(state);
            conn.poison(shared);
            continue;
        }
        let State { plan, stats } = &mut *state;
        let before = framer.clone();
        let mut seen = Seen::default();
        let corrupt = (direction == Direction::ToStandby).then_some(&mut plan.corrupt);
        framer.process(&mut data, corrupt, &mut seen);
        // Where to cut, if here: never on a frame boundary.
        let mut send = data.len();
        let mut cut_at = None;
        if let Some(cut) = plan.cut.as_mut().filter(|c| c.direction == direction) {
            if data.len() < cut.remaining {
                cut.remaining -= data.len();
            } else {
                let mut p = cut.remaining;
                while (p == 0 && before.at_boundary()) || seen.ends.contains(&p) {
                    p += 1;
                }
                if p > data.len() {
                    cut.remaining = p - data.len();
                } else {
                    plan.cut = None;
                    send = p;
                    cut_at = Some(p);
                }
            }
        }
        for (index, record) in seen.flips {
            if index < send {
                stats.corrupted.push(CorruptRecord {
                    connection: conn.id,
                    ..record
                });
            } else {
                // Cut off before the damaged byte: damage another frame.
                plan.corrupt.frames += 1;
            }
        }
        stats.entries_frames += seen.entries;
        stats.bytes[direction.index()] += send as u64;
        if seen.welcome {
            stats.handshakes += 1;
            conn.streaming.store(true, Ordering::SeqCst);
        }
        if let Some(p) = cut_at {
            // No longer a link to wait for, from the moment the cut shows.
            conn.streaming.store(false, Ordering::SeqCst);
            // The frame the cut falls in, as the standby will see it.
            let mut at_cut = before;
            let mut head = data[..p].to_vec();
            at_cut.process(&mut head, None, &mut Seen::default());
            stats.cuts.push(CutRecord {
                direction,
                connection: conn.id,
                stream_offset: forwarded + p as u64,
                frame: at_cut.kind,
                into_frame: at_cut.frame_pos(),
                frame_len: at_cut
                    .kind
                    .map(|_| HEADER_LEN + at_cut.payload_len + TRAILER_LEN),
            });
        }
        drop(state);
        if to.write_all(&data[..send]).is_err() {
            conn.close();
            return;
        }
        forwarded += send as u64;
        if cut_at.is_some() {
            conn.close();
            return;
        }
    }
}

/// What one pass of the [`Framer`] over a chunk found.
#[derive(Debug, Default)]
struct Seen {
    /// Offsets in the chunk right after a frame's last byte.
    ends: Vec<usize>,
    /// Bytes flipped: offset in the chunk, and the record (connection 0).
    flips: Vec<(usize, CorruptRecord)>,
    /// `Entries` frames whose header passed.
    entries: u64,
    /// A `Welcome` header passed.
    welcome: bool,
}

/// Follows the frames of one direction of a connection (docs/PROTOCOL.md,
/// "Frames") from their headers, to know where each begins and ends.
#[derive(Debug, Clone, Default)]
struct Framer {
    header: [u8; HEADER_LEN],
    /// Header bytes of the current frame so far.
    have: usize,
    /// The current frame's type, once its header is in.
    kind: Option<MessageKind>,
    payload_len: usize,
    /// Bytes of the current frame's payload and trailer so far.
    body: usize,
    /// The payload's first bytes (an `Entries` batch's first seq).
    first: [u8; 8],
    /// The payload offset to flip in the current frame.
    target: Option<usize>,
    /// A header did not parse (the stream is not frames): stop following.
    lost: bool,
}

impl Framer {
    fn at_boundary(&self) -> bool {
        self.have == 0 || self.lost
    }

    /// Bytes of the current frame passed.
    fn frame_pos(&self) -> usize {
        self.have + self.body
    }

    /// Follows `chunk`; damages the payload byte of an `Entries` frame that
    /// `corrupt` asks for.
    fn process(&mut self, chunk: &mut [u8], mut corrupt: Option<&mut Corrupt>, seen: &mut Seen) {
        let mut i = 0;
        while i < chunk.len() && !self.lost {
            if self.have < HEADER_LEN {
                let take = (HEADER_LEN - self.have).min(chunk.len() - i);
                self.header[self.have..self.have + take].copy_from_slice(&chunk[i..i + take]);
                self.have += take;
                i += take;
                if self.have == HEADER_LEN {
                    self.start_frame(corrupt.as_deref_mut(), seen);
                }
                continue;
            }
            let body_len = self.payload_len + TRAILER_LEN;
            let take = (body_len - self.body).min(chunk.len() - i);
            for k in 0..take {
                let offset = self.body + k;
                if offset >= self.first.len() {
                    break;
                }
                self.first[offset] = chunk[i + k];
            }
            if let Some(t) = self.target
                && (self.body..self.body + take).contains(&t)
            {
                let index = i + t - self.body;
                chunk[index] ^= FLIP;
                seen.flips.push((
                    index,
                    CorruptRecord {
                        connection: 0,
                        first_seq: u64::from_le_bytes(self.first),
                        payload_offset: t,
                        payload_len: self.payload_len,
                    },
                ));
            }
            self.body += take;
            i += take;
            if self.body == body_len {
                seen.ends.push(i);
                *self = Framer::default();
            }
        }
    }

    fn start_frame(&mut self, corrupt: Option<&mut Corrupt>, seen: &mut Seen) {
        let header = match FrameHeader::parse(&self.header) {
            Ok(Some(header)) => header,
            _ => {
                self.lost = true;
                return;
            }
        };
        self.kind = Some(header.kind);
        self.payload_len = header.payload_len;
        self.body = 0;
        match header.kind {
            MessageKind::Entries => {
                seen.entries += 1;
                if let Some(c) = corrupt
                    && c.frames > 0
                    && header.payload_len > ENTRIES_HEADER
                {
                    c.frames -= 1;
                    self.target = Some(c.offset.clamp(ENTRIES_HEADER, header.payload_len - 1));
                }
            }
            MessageKind::Welcome => seen.welcome = true,
            _ => {}
        }
    }
}
