//! One TCP connection of the mirroring link, plain or inside TLS
//! ([`connect`], [`accept`]): complete frames read from it
//! ([`FrameReader`]) and frames written to it by a writer task
//! ([`Outbox`]) that also sends the heartbeats. Shared by both sides.
//!
//! The reading side is cancel-safe, so a session's main loop can wait in
//! one `select!` for a frame, for its outbox to have room, for its apply or
//! journal thread and for the heartbeat tick, and never blocks on a socket
//! write: a slow peer cannot stop it from reading the peer's frames (and
//! seeing its heartbeats).

use crate::error::LinkError;
use crate::protocol::{
    DecodeError, FrameHeader, HEADER_LEN, MAX_FRAME_LEN, MAX_TEXT_LEN, Message, Reason, TRAILER_LEN,
};
use crate::tls::{ClientTls, ServerTls, TlsError};
use bytes::{Bytes, BytesMut};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsStream;

/// Frames queued for the writer task, at most.
const OUTBOX_FRAMES: usize = 16;
/// Read at least this much at a time.
const READ_CHUNK: usize = 256 * 1024;
/// How long closing waits for the writer task to send what is queued.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// The largest frame before the handshake is done: a `Hello` or a
/// `Refused` with the longest node id or text.
const HANDSHAKE_FRAME_LEN: usize = HEADER_LEN + 4 + MAX_TEXT_LEN + TRAILER_LEN + 64;

/// Microseconds since 1970-01-01T00:00:00Z by this machine's clock.
pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Encodes one message as a frame in a new buffer.
pub(crate) fn frame(message: &Message<'_>) -> Result<Vec<u8>, LinkError> {
    let mut out = Vec::new();
    message.encode(&mut out)?;
    Ok(out)
}

/// The peer's address of a connected socket, which gets no Nagle delay
/// (entries, acks and heartbeats are sent whole).
fn prepare(stream: &TcpStream) -> Result<SocketAddr, LinkError> {
    let peer = stream
        .peer_addr()
        .map_err(LinkError::io("the peer's address"))?;
    stream
        .set_nodelay(true)
        .map_err(LinkError::io(format!("{peer}: TCP_NODELAY")))?;
    Ok(peer)
}

/// The primary's side of a new connection: the TLS handshake when `tls`
/// is set, then the socket split into its reading side and its raw
/// writing side (for the handshake; [`Outbox::spawn`] takes it over for
/// streaming).
pub(crate) async fn connect(
    stream: TcpStream,
    tls: Option<&ClientTls>,
) -> Result<(FrameReader, WriteHalf), LinkError> {
    let peer = prepare(&stream)?;
    match tls {
        None => Ok(split_plain(stream, peer)),
        Some(tls) => {
            let (stream, binding) = tls.connect(stream, peer).await?;
            Ok(split_tls(stream, peer, binding))
        }
    }
}

/// The standby's side of an accepted connection: as [`connect`].
pub(crate) async fn accept(
    stream: TcpStream,
    tls: Option<&ServerTls>,
) -> Result<(FrameReader, WriteHalf), LinkError> {
    let peer = prepare(&stream)?;
    match tls {
        None => Ok(split_plain(stream, peer)),
        Some(tls) => {
            let (stream, binding) = tls.accept(stream, peer).await?;
            Ok(split_tls(stream, peer, binding))
        }
    }
}

fn split_plain(stream: TcpStream, peer: SocketAddr) -> (FrameReader, WriteHalf) {
    let (read, write) = stream.into_split();
    (
        FrameReader::new(ReadHalf::Plain(read), peer, Vec::new()),
        WriteHalf::Plain(write),
    )
}

fn split_tls(
    stream: TlsStream<TcpStream>,
    peer: SocketAddr,
    binding: [u8; crate::tls::CHANNEL_BINDING_LEN],
) -> (FrameReader, WriteHalf) {
    let (read, write) = tokio::io::split(stream);
    (
        FrameReader::new(ReadHalf::Tls(read), peer, binding.to_vec()),
        WriteHalf::Tls(write),
    )
}

/// The reading side of a connection's socket.
#[derive(Debug)]
enum ReadHalf {
    Plain(OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsStream<TcpStream>>),
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Plain(read) => Pin::new(read).poll_read(cx, buf),
            ReadHalf::Tls(read) => Pin::new(read).poll_read(cx, buf),
        }
    }
}

/// The writing side of a connection's socket, plain or TLS. Over TLS a
/// write may leave bytes in the TLS buffer: flush after writing.
#[derive(Debug)]
pub(crate) enum WriteHalf {
    Plain(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsStream<TcpStream>>),
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(write) => Pin::new(write).poll_write(cx, buf),
            WriteHalf::Tls(write) => Pin::new(write).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(write) => Pin::new(write).poll_flush(cx),
            WriteHalf::Tls(write) => Pin::new(write).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(write) => Pin::new(write).poll_shutdown(cx),
            WriteHalf::Tls(write) => Pin::new(write).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(write) => Pin::new(write).poll_write_vectored(cx, bufs),
            WriteHalf::Tls(write) => Pin::new(write).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteHalf::Plain(write) => write.is_write_vectored(),
            WriteHalf::Tls(write) => write.is_write_vectored(),
        }
    }
}

/// Writes one frame directly (during the handshake, before the writer task
/// exists).
pub(crate) async fn write_message(
    write: &mut WriteHalf,
    peer: SocketAddr,
    message: &Message<'_>,
) -> Result<(), LinkError> {
    let context = || format!("{peer}: sending {}", message.kind());
    write
        .write_all(&frame(message)?)
        .await
        .map_err(LinkError::io(context()))?;
    write.flush().await.map_err(LinkError::io(context()))
}

/// The receiving side of a connection: whole frames whose header is
/// intact, each in its own [`Bytes`] (split off the receive buffer without
/// a copy).
#[derive(Debug)]
pub(crate) struct FrameReader {
    read: ReadHalf,
    /// Bytes received and not yet returned as frames.
    buf: BytesMut,
    peer: SocketAddr,
    /// The largest frame accepted: small until the handshake is done, so
    /// that an unauthenticated peer cannot make this side buffer 64 MiB.
    limit: usize,
    /// The TLS session's exported keying material; empty over plain TCP.
    channel_binding: Vec<u8>,
}

impl FrameReader {
    fn new(read: ReadHalf, peer: SocketAddr, channel_binding: Vec<u8>) -> FrameReader {
        FrameReader {
            read,
            buf: BytesMut::with_capacity(READ_CHUNK),
            peer,
            limit: HANDSHAKE_FRAME_LEN,
            channel_binding,
        }
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The channel binding the handshake's proofs cover
    /// ([`Transcript::new`](crate::protocol::Transcript::new)): over TLS
    /// the session's exported keying material, over plain TCP empty.
    pub(crate) fn channel_binding(&self) -> &[u8] {
        &self.channel_binding
    }

    /// The handshake is done: frames up to the protocol's largest.
    pub(crate) fn streaming(&mut self) {
        self.limit = MAX_FRAME_LEN;
    }

    /// The next frame: `Ok(None)` when the peer closed the connection
    /// between frames. A damaged or invalid header (the stream is out of
    /// step, or the peer breaks the protocol) is [`LinkError::Decode`]; the
    /// payload is not checked here (decode the frame with
    /// [`Message::decode`]).
    ///
    /// Cancel-safe: the only await is a read into the buffer.
    pub(crate) async fn next_frame(&mut self) -> Result<Option<Bytes>, LinkError> {
        loop {
            if let Some(header) = FrameHeader::parse(&self.buf)? {
                let len = header.frame_len();
                if len > self.limit {
                    return Err(LinkError::Ended {
                        reason: Reason::ProtocolViolation,
                        text: format!(
                            "a {} frame of {len} bytes during the handshake",
                            header.kind
                        ),
                    });
                }
                if self.buf.len() >= len {
                    return Ok(Some(self.buf.split_to(len).freeze()));
                }
                self.buf.reserve(len - self.buf.len());
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK);
            }
            let n = match self.read.read_buf(&mut self.buf).await {
                Ok(n) => n,
                Err(source) if crate::tls::is_session_error(&source) => {
                    let peer = self.peer;
                    return Err(LinkError::Tls(TlsError::Session { peer, source }));
                }
                Err(e) => return Err(LinkError::io(format!("{}: receiving", self.peer))(e)),
            };
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(LinkError::Closed)
                };
            }
        }
    }

    /// The next frame decoded, for the handshake: `Refused` and `Goodbye`
    /// become errors, a closed connection is [`LinkError::Closed`].
    pub(crate) async fn next_handshake_message(&mut self) -> Result<Message<'static>, LinkError> {
        let Some(frame) = self.next_frame().await? else {
            return Err(LinkError::Closed);
        };
        let Some((message, _)) = Message::decode(&frame)? else {
            return Err(LinkError::Closed);
        };
        match message {
            Message::Refused { reason, text } => Err(LinkError::Refused { reason, text }),
            Message::Goodbye { reason, text } => Err(LinkError::Goodbye { reason, text }),
            Message::Hello(hello) => Ok(Message::Hello(hello)),
            Message::Proof(proof) => Ok(Message::Proof(proof)),
            Message::Welcome { resume_from } => Ok(Message::Welcome { resume_from }),
            // A rejoining node's request and its answers (docs/DR.md).
            Message::RepairRequest(r) => Ok(Message::RepairRequest(r)),
            Message::Repair(r) => Ok(Message::Repair(r)),
            Message::SumsRequest(r) => Ok(Message::SumsRequest(r)),
            Message::Sums(s) => Ok(Message::Sums(s)),
            other => Err(LinkError::Ended {
                reason: Reason::ProtocolViolation,
                text: format!("unexpected {} during the handshake", other.kind()),
            }),
        }
    }
}

/// The sending side of a streaming connection: a writer task that owns the
/// socket's write half, sends the queued frames in order, and a
/// `Heartbeat` whenever it has sent nothing for a heartbeat interval.
#[derive(Debug)]
pub(crate) struct Outbox {
    /// Frames to send, in order. Owned by the session's main loop (the
    /// only sender); the writer task owns the receiver. Dropping it ends
    /// the writer task once the queue is sent.
    tx: mpsc::Sender<Vec<u8>>,
    task: JoinHandle<Result<(), LinkError>>,
}

impl Outbox {
    /// Starts the writer task. Its heartbeats carry `last_seq` as it is
    /// when each is sent.
    pub(crate) fn spawn(
        write: WriteHalf,
        peer: SocketAddr,
        interval: Duration,
        last_seq: Arc<AtomicU64>,
    ) -> Outbox {
        let (tx, rx) = mpsc::channel(OUTBOX_FRAMES);
        let task = tokio::spawn(write_frames(write, peer, rx, interval, last_seq));
        Outbox { tx, task }
    }

    /// Room for one frame, once there is (cancel-safe); an error when the
    /// writer task has stopped.
    pub(crate) async fn reserve(&self) -> Result<mpsc::Permit<'_, Vec<u8>>, LinkError> {
        self.tx.reserve().await.map_err(|_| LinkError::Closed)
    }

    /// Queues one message.
    pub(crate) async fn send(&self, message: &Message<'_>) -> Result<(), LinkError> {
        self.tx
            .send(frame(message)?)
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// Resolves when the writer task has stopped (a write failed).
    pub(crate) async fn closed(&self) {
        self.tx.closed().await;
    }

    /// Queues a `Goodbye` (best effort), lets the writer task send what is
    /// queued and shut the write side, for at most a second.
    pub(crate) async fn close(self, goodbye: Option<(Reason, String)>) {
        let deadline = tokio::time::Instant::now() + CLOSE_GRACE;
        let Outbox { tx, mut task } = self;
        if let Some((reason, text)) = goodbye
            && let Ok(frame) = frame(&Message::Goodbye { reason, text })
        {
            // The writer may be stuck on a peer that does not read.
            let _ = tokio::time::timeout_at(deadline, tx.send(frame)).await;
        }
        drop(tx);
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            task.abort();
        }
    }
}

async fn write_frames(
    mut write: WriteHalf,
    peer: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
    interval: Duration,
    last_seq: Arc<AtomicU64>,
) -> Result<(), LinkError> {
    let context = || format!("{peer}: sending");
    loop {
        let frame = match tokio::time::timeout(interval, rx.recv()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_idle) => frame(&Message::Heartbeat {
                last_seq: last_seq.load(Ordering::Relaxed),
                timestamp_us: now_us(),
            })?,
        };
        write
            .write_all(&frame)
            .await
            .map_err(LinkError::io(context()))?;
        if rx.is_empty() {
            // Over TLS the last bytes may wait in the TLS buffer (over
            // plain TCP this does nothing).
            write.flush().await.map_err(LinkError::io(context()))?;
        }
    }
    write.shutdown().await.map_err(LinkError::io(context()))
}

/// How a side ends a connection it will not go on with: the standby
/// refuses a primary in the handshake, the primary says goodbye.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Farewell {
    Refused,
    Goodbye,
}

/// Sends `Refused` or `Goodbye` with `reason` and `text` (best effort);
/// returns the error the caller ends with.
pub(crate) async fn farewell(
    write: &mut WriteHalf,
    peer: SocketAddr,
    how: Farewell,
    reason: Reason,
    text: String,
) -> LinkError {
    tracing::warn!(%peer, %reason, %text, "ending the connection");
    let message = match how {
        Farewell::Refused => Message::Refused {
            reason,
            text: text.clone(),
        },
        Farewell::Goodbye => Message::Goodbye {
            reason,
            text: text.clone(),
        },
    };
    let _ = write_message(write, peer, &message).await;
    LinkError::Ended { reason, text }
}

/// A handshake read failed: a decode error (or an ending) is told to the
/// peer, other errors are returned as they are.
pub(crate) async fn farewell_error(
    write: &mut WriteHalf,
    peer: SocketAddr,
    how: Farewell,
    e: LinkError,
) -> LinkError {
    match e {
        // The first byte of a TLS record (a handshake, an alert) where a
        // plain frame's magic should be: the peer speaks TLS, this side
        // does not. Told in plain, which a TLS peer reports as a peer that
        // does not speak TLS.
        LinkError::Decode(DecodeError::BadMagic {
            offset: 0,
            found: 0x14..=0x17,
        }) if matches!(write, WriteHalf::Plain(_)) => {
            let e = TlsError::PeerSpeaksTls { peer };
            farewell(write, peer, how, Reason::ProtocolViolation, e.to_string()).await;
            LinkError::Tls(e)
        }
        LinkError::Decode(d) => farewell(write, peer, how, d.reason(), d.to_string()).await,
        LinkError::Ended { reason, text } => farewell(write, peer, how, reason, text).await,
        other => other,
    }
}

/// How a session's main loop ended, on either side: the `Goodbye` to send,
/// and the outcome.
pub(crate) type End = (Option<(Reason, String)>, Result<(), LinkError>);

/// Ending because the peer broke the protocol: said to it, and returned.
pub(crate) fn violation(text: String) -> End {
    (
        Some((Reason::ProtocolViolation, text.clone())),
        Err(LinkError::Ended {
            reason: Reason::ProtocolViolation,
            text,
        }),
    )
}

/// Ending because of a read error: a decode error is named to the peer.
pub(crate) fn closing(e: LinkError) -> End {
    match &e {
        LinkError::Decode(d) => (Some((d.reason(), d.to_string())), Err(e)),
        _ => (None, Err(e)),
    }
}
