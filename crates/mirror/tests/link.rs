//! The mirroring link over loopback TCP: a workload through `drx_capture`
//! on a primary home, the primary and standby servers running in-process
//! → every replica file blake3-identical to its primary file, the standby
//! journal holding the same entries as the primary's. Cut links resume
//! after the last acknowledgement with no entry applied twice; a wrong
//! secret, an older epoch, a second primary are refused; a damaged frame is
//! asked for again. Every wait is bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use drx_journal::{Reader, Writer, WriterConfig, encode_entry};
use drx_mirror::{
    FrameHeader, HEADER_LEN, Hello, LinkError, LinkState, Message, MessageKind, Nonce,
    PROTOCOL_VERSION, PrimarySettings, Reason, ReplicaConfig, Role, Secret, Transcript,
};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use support::link::{PATIENCE, Running, SECRET, wait_for};
use support::{App, Home, Op, fixed_workload, tree};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

// ---------------------------------------------------------------------
// Comparing the two nodes.

/// Every replica is its primary file, byte for byte, and there is no other.
fn assert_mirrored(home: &Home) {
    assert!(
        !tree(&home.primary()).is_empty(),
        "the workload leaves files"
    );
    support::assert_mirrored(home, &home.standby());
}

/// Every entry of a journal, encoded with its stamp.
fn journal(dir: &Path) -> Vec<Vec<u8>> {
    let mut reader = Reader::open(dir, 1).unwrap();
    let mut out = Vec::new();
    while let Some(entry) = reader.next().unwrap() {
        let mut bytes = Vec::new();
        encode_entry(&entry, &mut bytes).unwrap();
        out.push(bytes);
    }
    out
}

/// The standby journal holds the primary's entries, stamps included.
fn assert_same_journal(home: &Home) -> u64 {
    let primary = journal(&home.journal_dir());
    let standby = journal(&home.standby_journal_dir());
    assert_eq!(standby.len(), primary.len(), "as many entries");
    assert!(standby == primary, "the same entries");
    primary.len() as u64
}

fn last_seq(home: &Home) -> u64 {
    drx_journal::last_seq(&home.journal_dir()).unwrap()
}

// ---------------------------------------------------------------------
// The workload (`support::fixed_workload`), run by the application.

/// Runs `ops` through the capture, on a blocking thread.
async fn run_app(home: &Home, ops: Vec<Op>) {
    let app = App::new(home);
    tokio::task::spawn_blocking(move || app.run_all(&ops))
        .await
        .unwrap();
}

// ---------------------------------------------------------------------
// A relay between primary and standby that cuts connections and damages
// frames on the way to the standby.

#[derive(Debug, Default, Clone)]
struct Faults {
    /// Connection `i` (from 0) is cut after this many bytes towards the
    /// standby, in the middle of a frame.
    cut_after: Vec<usize>,
    /// These `Entries` frames (counted from 0 across connections) get one
    /// payload byte flipped.
    damage: Vec<usize>,
    /// A pause before each `Entries` frame.
    delay: Duration,
}

struct Relay {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    damaged: Arc<AtomicUsize>,
    /// Set: every connection is dropped before its next frame, and new
    /// ones are closed at once.
    cut: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Relay {
    async fn start(target: SocketAddr, faults: Faults) -> Relay {
        let listener = bind().await;
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let damaged = Arc::new(AtomicUsize::new(0));
        let entries_frames = Arc::new(AtomicUsize::new(0));
        let cut_now = Arc::new(AtomicBool::new(false));
        let (c, d, k) = (
            Arc::clone(&connections),
            Arc::clone(&damaged),
            Arc::clone(&cut_now),
        );
        let task = tokio::spawn(async move {
            // Ends when the test aborts it.
            loop {
                let Ok((primary, _)) = listener.accept().await else {
                    return;
                };
                if k.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(standby) = TcpStream::connect(target).await else {
                    continue;
                };
                let index = c.fetch_add(1, Ordering::SeqCst);
                let cut = faults.cut_after.get(index).copied();
                let faults = faults.clone();
                let (d, n, k) = (Arc::clone(&d), Arc::clone(&entries_frames), Arc::clone(&k));
                tokio::spawn(async move {
                    let (mut from_primary, mut to_primary) = primary.into_split();
                    let (mut from_standby, mut to_standby) = standby.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_standby, &mut to_primary).await;
                    });
                    let counts = (&*d, &*n, &*k);
                    let _ = forward(&mut from_primary, &mut to_standby, cut, &faults, counts).await;
                    // Cut (or done): both connections close.
                    back.abort();
                });
            }
        });
        Relay {
            addr,
            connections,
            damaged,
            cut: cut_now,
            task,
        }
    }

    /// Drops every connection now (before its next frame).
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies frames from the primary to the standby, damaging and cutting.
async fn forward(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    cut: Option<usize>,
    faults: &Faults,
    (damaged, entries_frames, cut_now): (&AtomicUsize, &AtomicUsize, &AtomicBool),
) -> std::io::Result<()> {
    let mut total = 0;
    loop {
        let mut frame = vec![0; HEADER_LEN];
        if from.read_exact(&mut frame).await.is_err() {
            return Ok(());
        }
        let header = FrameHeader::parse(&frame)
            .expect("an intact header from the primary")
            .expect("a whole header");
        frame.resize(header.frame_len(), 0);
        from.read_exact(&mut frame[HEADER_LEN..]).await?;
        if header.kind == MessageKind::Entries {
            tokio::time::sleep(faults.delay).await;
            if cut_now.load(Ordering::SeqCst) {
                return Ok(());
            }
            let n = entries_frames.fetch_add(1, Ordering::SeqCst);
            if faults.damage.contains(&n) {
                frame[HEADER_LEN + 20] ^= 0x40;
                damaged.fetch_add(1, Ordering::SeqCst);
            }
        }
        if let Some(cut) = cut
            && total + frame.len() > cut
        {
            to.write_all(&frame[..cut - total]).await?;
            return Ok(());
        }
        total += frame.len();
        to.write_all(&frame).await?;
    }
}

// ---------------------------------------------------------------------
// A hand-made peer, for what the real servers never do.

/// Reads one message from `stream` (owned variants only).
async fn read_message(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Message<'static> {
    loop {
        if let Some((message, used)) = Message::decode(buf).unwrap() {
            let owned = message
                .into_owned()
                .unwrap_or_else(|| panic!("unexpected Entries"));
            buf.drain(..used);
            return owned;
        }
        let mut chunk = [0; 4096];
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("a message in time")
            .unwrap();
        assert!(n > 0, "the peer closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn send(stream: &mut TcpStream, message: &Message<'_>) {
    let mut out = Vec::new();
    message.encode(&mut out).unwrap();
    stream.write_all(&out).await.unwrap();
}

fn hello(role: Role, node_id: &str, epoch: u64, last_seq: u64) -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        role,
        node_id: node_id.into(),
        epoch,
        last_seq,
        nonce: Nonce::random().unwrap(),
        history: vec![drx_journal::EpochStart {
            epoch: 1,
            first_seq: 1,
        }],
    }
}

// ---------------------------------------------------------------------
// Setting up and taking down.

/// A standby serving on a new port of 127.0.0.1, and that port.
async fn start_standby(home: &Home) -> (Running, SocketAddr) {
    let listener = bind().await;
    let address = listener.local_addr().unwrap();
    (
        Running::standby(listener, home.standby_settings(None)),
        address,
    )
}

/// Waits until the standby has applied everything to `last` durably and the
/// primary has the Ack of it.
async fn wait_caught_up(standby: &Running, primary: &Running, last: u64) {
    wait_for(&standby.status, "the standby's durable apply", |s| {
        s.durable_seq == last
    })
    .await;
    wait_for(&primary.status, "the last Ack", |s| {
        s.last_acked_seq == last
    })
    .await;
}

/// Stops the primary, and waits until the standby has seen it go.
async fn stop_primary_seen(primary: Running, standby: &Running) {
    primary.stop().await.unwrap();
    wait_for(&standby.status, "the primary's goodbye", |s| {
        s.state == LinkState::Idle
    })
    .await;
}

/// Stops the primary, then the standby; the standby's replicas are the
/// primary's files and its journal the primary's, `last` entries.
async fn stop_both_and_compare(home: &Home, primary: Running, standby: Running, last: u64) {
    primary.stop().await.unwrap();
    standby.stop().await.unwrap();
    assert_mirrored(home);
    assert_eq!(assert_same_journal(home), last);
}

/// After the application ran `rounds` rounds of the workload: a standby,
/// and a relay to it with `faults` for the primary to connect through;
/// returns them with the primary's last seq.
async fn start_behind_relay(home: &Home, rounds: u8, faults: Faults) -> (Running, Relay, u64) {
    run_app(home, fixed_workload(0, rounds)).await;
    let last = last_seq(home);
    let (standby, standby_addr) = start_standby(home).await;
    let relay = Relay::start(standby_addr, faults).await;
    (standby, relay, last)
}

/// [`start_behind_relay`], then a primary through the relay, waited for
/// until the standby has caught up; returns them with the last seq.
async fn mirror_through_relay(
    home: &Home,
    rounds: u8,
    faults: Faults,
) -> (Running, Relay, Running, u64) {
    let (standby, relay, last) = start_behind_relay(home, rounds, faults).await;
    let primary = Running::primary(home.primary_settings(relay.addr, None));
    wait_caught_up(&standby, &primary, last).await;
    (standby, relay, primary, last)
}

/// A primary that gives up at the first failure, run until it ends.
async fn run_primary_once(mut settings: PrimarySettings) -> Result<(), LinkError> {
    settings.keep_trying = false;
    Running::primary(settings).ended().await
}

/// The standby refused the primary, for `reason`.
fn assert_refused(result: &Result<(), LinkError>, reason: Reason) {
    assert!(
        matches!(result, Err(LinkError::Refused { reason: r, .. }) if *r == reason),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_is_mirrored_byte_for_byte_while_it_runs() {
    let home = Home::link();
    let (standby, address) = start_standby(&home).await;
    let primary = Running::primary(home.primary_settings(address, None));
    wait_for(&primary.status, "the connection", |s| {
        s.state == LinkState::Streaming
    })
    .await;

    // The application runs while the link streams.
    run_app(&home, fixed_workload(0, 8)).await;
    let last = last_seq(&home);
    assert!(last > 500, "{last} entries");
    wait_caught_up(&standby, &primary, last).await;
    assert_eq!(primary.status.acked().get(), last);
    assert!(primary.status.acked().wait(last, Duration::ZERO).await);
    assert!(
        !primary
            .status
            .acked()
            .wait_blocking(last + 1, Duration::from_millis(1))
    );

    let p = primary.snapshot();
    let s = standby.snapshot();
    assert_eq!(p.peer_node_id.as_deref(), Some("standby"));
    assert_eq!(s.peer_node_id.as_deref(), Some("primary"));
    assert!(p.connected_since.is_some() && s.connected_since.is_some());
    assert_eq!((p.counters.connections, s.counters.connections), (1, 1));
    assert_eq!(p.last_sent_seq, last);
    assert_eq!(s.last_applied_seq, last);
    assert_eq!(s.counters.entries, last, "each entry applied once");
    assert_eq!(s.counters.skipped, 0);
    assert_eq!(s.counters.refused_entries, 0);
    assert!(p.counters.batches >= last / 25, "batches of at most 25");

    stop_primary_seen(primary, &standby).await;
    standby.stop().await.unwrap();
    assert_mirrored(&home);
    assert_eq!(assert_same_journal(&home), last);
    // The standby's position is kept for retention.
    assert_eq!(
        drx_journal::consumer_position(&home.journal_dir(), PrimarySettings::CONSUMER).unwrap(),
        Some(last)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_mid_frame_resume_after_the_last_ack() {
    let home = Home::link();
    // Three connections cut in the middle of a frame, then one that lasts.
    let faults = Faults {
        cut_after: vec![30_000, 50_001, 20_003],
        ..Faults::default()
    };
    let (standby, relay, primary, last) = mirror_through_relay(&home, 12, faults).await;
    assert!(relay.connections.load(Ordering::SeqCst) >= 4);
    let s = standby.snapshot();
    assert!(s.counters.connections >= 4, "{:?}", s.counters);
    assert_eq!(s.counters.entries, last, "no entry applied twice");
    stop_both_and_compare(&home, primary, standby, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_stopped_mid_stream_resumes_exactly_after_the_last_ack() {
    let home = Home::link();
    // A slow link (a pause before each frame), so that the cut comes
    // mid-stream.
    let faults = Faults {
        delay: Duration::from_millis(2),
        ..Faults::default()
    };
    let (standby, relay, first) = start_behind_relay(&home, 8, faults).await;
    let mut settings = home.primary_settings(relay.addr, None);
    settings.max_batch_entries = 4;
    let primary = Running::primary(settings);
    wait_for(&standby.status, "a third of the journal", |s| {
        s.durable_seq >= first / 3
    })
    .await;
    // The link drops, and the primary stops.
    relay.cut();
    stop_primary_seen(primary, &standby).await;
    standby.stop().await.unwrap();
    let durable = drx_mirror::Replica::open(&ReplicaConfig::from_config(&home.config))
        .unwrap()
        .durable_seq();
    assert!(
        durable >= first / 3 && durable < first,
        "stopped mid-stream: {durable} of {first}"
    );

    // The application goes on while the link is down; then both servers
    // start again.
    run_app(&home, fixed_workload(8, 2)).await;
    let last = last_seq(&home);
    let (standby, address) = start_standby(&home).await;
    let primary = Running::primary(home.primary_settings(address, None));
    wait_caught_up(&standby, &primary, last).await;
    let (p, s) = (primary.snapshot(), standby.snapshot());
    assert_eq!(
        p.counters.entries,
        last - durable,
        "the primary sends exactly what was not acknowledged"
    );
    assert_eq!(s.counters.entries, last - durable, "no entry applied twice");
    assert_eq!(s.counters.skipped, 0);
    stop_both_and_compare(&home, primary, standby, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_frame_is_asked_for_again() {
    let home = Home::link();
    let faults = Faults {
        damage: vec![2, 3, 9],
        ..Faults::default()
    };
    let (standby, relay, primary, last) = mirror_through_relay(&home, 4, faults).await;
    assert_eq!(relay.damaged.load(Ordering::SeqCst), 3);
    let s = standby.snapshot();
    let p = primary.snapshot();
    assert_eq!(s.counters.corrupt_frames, 3, "{:?}", s.counters);
    assert!(s.counters.resends >= 2, "{:?}", s.counters);
    assert!(p.counters.resends >= 2, "{:?}", p.counters);
    assert_eq!(
        (s.counters.connections, p.counters.connections),
        (1, 1),
        "the connection survives"
    );
    assert_eq!(s.counters.entries, last, "no entry applied twice");
    stop_both_and_compare(&home, primary, standby, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_with_a_wrong_secret_is_refused() {
    let home = Home::link();
    run_app(&home, fixed_workload(0, 1)).await;
    let (standby, address) = start_standby(&home).await;
    let mut settings = home.primary_settings(address, None);
    settings.secret = Secret::new(b"another secret of 32 bytes......").unwrap();
    let result = run_primary_once(settings).await;
    assert_refused(&result, Reason::WrongSecret);
    wait_for(&standby.status, "the refusal", |s| s.counters.refused == 1).await;
    let s = standby.snapshot();
    assert_eq!((s.counters.connections, s.durable_seq), (0, 0));
    standby.stop().await.unwrap();
    assert!(tree(&home.standby()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_with_a_wrong_secret_is_left() {
    let home = Home::link();
    run_app(&home, fixed_workload(0, 1)).await;
    let listener = bind().await;
    let address = listener.local_addr().unwrap();
    // An impostor standby: it answers with a proof of another secret.
    let impostor = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let Message::Hello(primary) = read_message(&mut stream, &mut buf).await else {
            panic!("a Hello first");
        };
        let ours = hello(Role::Standby, "standby", 1, 0);
        send(&mut stream, &Message::Hello(ours.clone())).await;
        let Message::Proof(_) = read_message(&mut stream, &mut buf).await else {
            panic!("the primary's proof");
        };
        let wrong = Secret::new(b"another secret of 32 bytes......").unwrap();
        let transcript = Transcript::new(&primary, &ours, b"").unwrap();
        send(
            &mut stream,
            &Message::Proof(transcript.proof(&wrong, Role::Standby)),
        )
        .await;
        send(&mut stream, &Message::Welcome { resume_from: 1 }).await;
        read_message(&mut stream, &mut buf).await
    });
    let result = run_primary_once(home.primary_settings(address, None)).await;
    assert!(
        matches!(
            result,
            Err(LinkError::Ended {
                reason: Reason::WrongSecret,
                ..
            })
        ),
        "{result:?}"
    );
    let last = tokio::time::timeout(PATIENCE, impostor)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            last,
            Message::Goodbye {
                reason: Reason::WrongSecret,
                ..
            }
        ),
        "the impostor gets a Goodbye, no entry: {last:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_epoch_is_fenced_and_a_newer_one_taken() {
    let home = Home::link();
    run_app(&home, fixed_workload(0, 1)).await;
    // A failover made the standby's journal epoch 2.
    let mut writer = Writer::open(WriterConfig::new(home.standby_journal_dir())).unwrap();
    writer.set_epoch(2).unwrap();
    writer.close().unwrap();
    let (standby, address) = start_standby(&home).await;
    // Fenced even while keep_trying: retrying cannot help. The standby
    // proved itself, so the primary fences itself off.
    let result = Running::primary(home.primary_settings(address, None))
        .ended()
        .await;
    match &result {
        Err(
            e @ LinkError::Fenced {
                epoch: 2,
                ours: 1,
                by,
            },
        ) if by == "standby" => {
            assert!(e.is_terminal());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(standby.snapshot().durable_seq, 0);
    assert_eq!(
        drx_journal::node_role(&home.journal_dir()).unwrap(),
        Some(drx_journal::NodeRole::Fenced {
            epoch: 2,
            by: "standby".into()
        })
    );

    // A primary of epoch 3 (promoted later, say) is followed, and its
    // epoch taken.
    drx_journal::set_node_role(&home.journal_dir(), &drx_journal::NodeRole::Primary).unwrap();
    let mut capture = home.capture();
    capture.journal().set_epoch(3).unwrap();
    capture.close().unwrap();
    run_app(&home, fixed_workload(1, 1)).await;
    let last = last_seq(&home);
    let primary = Running::primary(home.primary_settings(address, None));
    wait_for(&standby.status, "the standby's durable apply", |s| {
        s.durable_seq == last
    })
    .await;
    assert_eq!(standby.snapshot().epoch, 3);
    stop_both_and_compare(&home, primary, standby, last).await;
    assert_eq!(
        drx_journal::current_epoch(&home.standby_journal_dir()).unwrap(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_primary_is_refused_while_one_is_connected() {
    let home = Home::link();
    run_app(&home, fixed_workload(0, 1)).await;
    let (standby, address) = start_standby(&home).await;
    let primary = Running::primary(home.primary_settings(address, None));
    wait_for(&standby.status, "the first primary", |s| {
        s.state == LinkState::Streaming
    })
    .await;
    let result = run_primary_once(home.primary_settings(address, None)).await;
    assert_refused(&result, Reason::Busy);
    assert_eq!(standby.snapshot().counters.connections, 1);
    primary.stop().await.unwrap();
    standby.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_primary_is_taken_for_gone() {
    let home = Home::link();
    let (standby, address) = start_standby(&home).await;
    // A primary that completes the handshake, then says nothing.
    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut buf = Vec::new();
    let ours = hello(Role::Primary, "primary", 1, 0);
    send(&mut stream, &Message::Hello(ours.clone())).await;
    let Message::Hello(theirs) = read_message(&mut stream, &mut buf).await else {
        panic!("the standby's Hello");
    };
    let secret = Secret::new(SECRET).unwrap();
    let transcript = Transcript::new(&ours, &theirs, b"").unwrap();
    send(
        &mut stream,
        &Message::Proof(transcript.proof(&secret, Role::Primary)),
    )
    .await;
    let Message::Proof(proof) = read_message(&mut stream, &mut buf).await else {
        panic!("the standby's proof");
    };
    transcript.verify(&secret, Role::Standby, &proof).unwrap();
    assert!(matches!(
        read_message(&mut stream, &mut buf).await,
        Message::Welcome { resume_from: 1 }
    ));
    // The standby sends heartbeats, then gives up on the silent primary:
    // at most 20 heartbeats of 50 ms, and a Goodbye(Timeout).
    let mut heartbeats = 0;
    let goodbye = loop {
        match read_message(&mut stream, &mut buf).await {
            Message::Heartbeat { .. } => heartbeats += 1,
            other => break other,
        }
        assert!(heartbeats < 100, "the standby keeps waiting");
    };
    assert!(heartbeats >= 5, "{heartbeats} heartbeats");
    assert!(
        matches!(
            goodbye,
            Message::Goodbye {
                reason: Reason::Timeout,
                ..
            }
        ),
        "{goodbye:?}"
    );
    wait_for(&standby.status, "the timeout", |s| {
        s.counters.timeouts == 1 && s.state == LinkState::Idle
    })
    .await;
    standby.stop().await.unwrap();
}
