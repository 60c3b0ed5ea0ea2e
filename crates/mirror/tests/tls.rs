//! The mirroring link over mutual TLS, in-process on 127.0.0.1, with
//! certificates made at test time: a workload streams and every replica
//! equals its primary file while nothing readable crosses the wire; a
//! primary or standby whose certificate another authority signed is refused;
//! a plain primary against a TLS standby, and the reverse, fail with an
//! error that says so, within the handshake timeout. Every wait is bounded
//! in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/tls.rs"]
mod pki;
mod support;

use drx_mirror::{
    ClientTls, LinkError, LinkState, PrimarySettings, ServerTls, StandbySettings, TlsError,
    TlsFiles,
};
use pki::{Authority, Identity};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::link::{Running, SECRET, beats, wait_for};
use support::{App, Home, Op, fixed_workload, tree};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

impl Home {
    fn pki(&self) -> PathBuf {
        self.home().join("pki")
    }
}

fn files(identity: &Identity) -> TlsFiles {
    TlsFiles {
        cert: identity.cert.clone(),
        key: identity.key.clone(),
        ca: identity.ca.clone(),
    }
}

/// The standby's TLS with a certificate of `ca`.
fn server_tls(ca: &Authority) -> ServerTls {
    ServerTls::new(&files(&ca.standby())).unwrap()
}

/// The primary's TLS with a certificate of `ca`; the standby is
/// `localhost` (its address is 127.0.0.1).
fn client_tls(ca: &Authority) -> ClientTls {
    ClientTls::new(&files(&ca.primary()), "localhost").unwrap()
}

/// A standby on a new port of 127.0.0.1, and its address.
async fn standby_at_new_port(settings: StandbySettings) -> (Running, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    (Running::standby(listener, settings), address)
}

/// A primary that gives up at the first failure, run until it ends.
async fn run_primary_once(mut settings: PrimarySettings) -> Result<(), LinkError> {
    settings.keep_trying = false;
    Running::primary(settings).ended().await
}

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

/// Runs `ops` through the capture, on a blocking thread.
async fn run_app(home: &Home, ops: Vec<Op>) {
    let app = App::new(home);
    tokio::task::spawn_blocking(move || app.run_all(&ops))
        .await
        .unwrap();
}

fn last_seq(home: &Home) -> u64 {
    drx_journal::last_seq(&home.journal_dir()).unwrap()
}

/// Relays connections to `target` and keeps every byte the primaries
/// send, to look at what crosses the wire.
struct Tap {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

impl Tap {
    async fn start(target: SocketAddr) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            // Ends when the test aborts it.
            while let Ok((primary, _)) = listener.accept().await {
                let Ok(standby) = TcpStream::connect(target).await else {
                    continue;
                };
                let kept = Arc::clone(&kept);
                tokio::spawn(async move {
                    let (mut from_primary, mut to_primary) = primary.into_split();
                    let (mut from_standby, mut to_standby) = standby.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_standby, &mut to_primary).await;
                    });
                    let mut buf = vec![0; 64 * 1024];
                    while let Ok(n) = from_primary.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        kept.lock().unwrap().extend_from_slice(&buf[..n]);
                        if to_standby.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = to_standby.shutdown().await;
                    let _ = back.await;
                });
            }
        });
        Tap { addr, seen, task }
    }

    fn seen(&self) -> Vec<u8> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_stream_over_mutual_tls_and_the_replicas_equal_the_sources() {
    let home = Home::link();
    let ca = Authority::new(&home.pki(), "site");
    run_app(&home, fixed_workload(0, 3)).await;
    let (standby, address) =
        standby_at_new_port(home.standby_settings(Some(server_tls(&ca)))).await;
    let tap = Tap::start(address).await;

    let primary = Running::primary(home.primary_settings(tap.addr, Some(client_tls(&ca))));
    let first = last_seq(&home);
    assert!(first > 100, "{first} entries");
    wait_caught_up(&standby, &primary, first).await;
    primary.stop().await.unwrap();
    wait_for(&standby.status, "the primary's goodbye", |s| {
        s.state == LinkState::Idle
    })
    .await;

    // More work while no primary runs; a new TLS session resumes.
    run_app(&home, fixed_workload(3, 2)).await;
    let last = last_seq(&home);
    assert!(last > first);
    let primary = Running::primary(home.primary_settings(tap.addr, Some(client_tls(&ca))));
    wait_caught_up(&standby, &primary, last).await;
    let p = primary.status.snapshot();
    let s = standby.status.snapshot();
    assert_eq!(p.peer_node_id.as_deref(), Some("standby"));
    assert_eq!(s.peer_node_id.as_deref(), Some("primary"));
    assert_eq!(s.counters.connections, 2);
    assert_eq!(s.counters.refused, 0);
    assert_eq!(s.counters.entries, last, "each entry applied once");
    primary.stop().await.unwrap();
    standby.stop().await.unwrap();
    support::assert_mirrored(&home, &home.standby());
    assert!(
        !tree(&home.primary()).is_empty(),
        "the workload leaves files"
    );

    // What crossed the wire was TLS records, never a frame in clear.
    let wire = tap.seen();
    assert!(wire.len() > 10_000, "{} bytes", wire.len());
    assert_eq!(wire[0], 0x16, "a TLS handshake record first");
    assert!(!contains(&wire, b"DRXM"), "no frame magic in clear");
    assert!(!contains(&wire, b"primary/"), "no path in clear");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_settings_from_drx_toml_mirror_to_the_standby_named_by_tcp_host() {
    let home = Home::link();
    let ca = Authority::new(&home.pki(), "site");
    // pki/site-standby.{pem,key}, pki/site-primary.{pem,key}, pki/site-ca.pem
    ca.standby();
    ca.primary();
    std::fs::write(home.home().join("secret"), [SECRET, b"\n"].concat()).unwrap();
    run_app(&home, fixed_workload(0, 2)).await;
    let last = last_seq(&home);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Each node's drx.toml: its own certificate, relative to the home.
    let config = |node: &str| {
        let text = format!(
            "[global_settings]\ntcp_host = \"localhost\"\ntcp_port = {port}\n\
             [mirror]\nnode_id = \"{node}\"\nsecret_file = \"secret\"\n\
             replica_roots = [\"standby\"]\nstandby_journal_dir = \"standby_journal\"\n\
             tls_cert = \"pki/site-{node}.pem\"\ntls_key = \"pki/site-{node}.key\"\n\
             tls_ca = \"pki/site-ca.pem\"\n\
             [[files]]\nsource_path = \"primary/*\"\n"
        );
        drx_config::Config::parse(&format!("{node}.toml"), &text, home.home()).unwrap()
    };
    let mut standby_settings = StandbySettings::from_config(&config("standby")).unwrap();
    assert!(standby_settings.tls.is_some(), "TLS is on");
    standby_settings.heartbeats = beats();
    let mut primary_settings = PrimarySettings::from_config(&config("primary")).unwrap();
    assert!(primary_settings.tls.is_some(), "TLS is on");
    assert_eq!(primary_settings.address, format!("localhost:{port}"));
    primary_settings.heartbeats = beats();

    let standby = Running::standby(listener, standby_settings);
    let primary = Running::primary(primary_settings);
    wait_caught_up(&standby, &primary, last).await;
    assert_eq!(standby.status.snapshot().counters.refused, 0);
    primary.stop().await.unwrap();
    standby.stop().await.unwrap();
    support::assert_mirrored(&home, &home.standby());

    // A key that is not the certificate's is named at start.
    let text = "[global_settings]\ntcp_host = \"localhost\"\ntcp_port = 1\n\
                [mirror]\nnode_id = \"p\"\nsecret_file = \"secret\"\n\
                tls_cert = \"pki/site-primary.pem\"\ntls_key = \"pki/site-standby.key\"\n\
                tls_ca = \"pki/site-ca.pem\"\n";
    let wrong = drx_config::Config::parse("wrong.toml", text, home.home()).unwrap();
    let e = PrimarySettings::from_config(&wrong).unwrap_err();
    assert!(matches!(e, LinkError::Tls(TlsError::Config { .. })), "{e}");
    assert!(e.to_string().contains("site-standby.key"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_with_a_certificate_of_another_authority_is_refused() {
    let home = Home::link();
    let site = Authority::new(&home.pki(), "site");
    let rogue = Authority::new(&home.pki(), "rogue");
    run_app(&home, fixed_workload(0, 1)).await;
    let (standby, address) =
        standby_at_new_port(home.standby_settings(Some(server_tls(&site)))).await;

    // The rogue primary trusts the site's standby, but its own certificate
    // is the rogue authority's.
    let rogue_primary = rogue.issue(
        "primary",
        &["primary"],
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        &site.ca(),
    );
    let tls = ClientTls::new(&files(&rogue_primary), "localhost").unwrap();
    let result = run_primary_once(home.primary_settings(address, Some(tls))).await;
    let e = result.expect_err("the standby refuses the primary");
    // The standby's alert; or, should the connection be reset before the
    // alert is read, the reset.
    match &e {
        LinkError::Tls(TlsError::Session { peer, .. }) => {
            assert_eq!(*peer, address);
            assert!(e.to_string().contains("UnknownCA"), "{e}");
            assert!(
                e.to_string()
                    .contains("signed by the peer's [mirror] tls_ca"),
                "{e}"
            );
        }
        LinkError::Io { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
        _ => panic!("refused by TLS: {e}"),
    }
    wait_for(&standby.status, "the refusal", |s| s.counters.refused == 1).await;
    let s = standby.status.snapshot();
    assert_eq!((s.counters.connections, s.durable_seq), (0, 0));
    standby.stop().await.unwrap();
    assert!(tree(&home.standby()).is_empty(), "nothing replicated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_with_a_certificate_of_another_authority_is_left() {
    let home = Home::link();
    let site = Authority::new(&home.pki(), "site");
    let rogue = Authority::new(&home.pki(), "rogue");
    run_app(&home, fixed_workload(0, 1)).await;
    // The rogue standby trusts the site's primaries.
    let rogue_standby = rogue.issue(
        "standby",
        &["localhost", "127.0.0.1"],
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        &site.ca(),
    );
    let tls = ServerTls::new(&files(&rogue_standby)).unwrap();
    let (standby, address) = standby_at_new_port(home.standby_settings(Some(tls))).await;

    let result = run_primary_once(home.primary_settings(address, Some(client_tls(&site)))).await;
    let e = result.expect_err("the primary leaves the standby");
    assert!(
        matches!(&e, LinkError::Tls(TlsError::Handshake { peer, .. }) if *peer == address),
        "{e}"
    );
    assert!(
        e.to_string().contains("not signed by [mirror] tls_ca"),
        "{e}"
    );
    wait_for(&standby.status, "the failed handshake", |s| {
        s.counters.refused == 1
    })
    .await;
    assert_eq!(standby.status.snapshot().durable_seq, 0);
    standby.stop().await.unwrap();
    assert!(tree(&home.standby()).is_empty(), "nothing replicated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_primary_against_a_tls_standby_fails_clearly() {
    let home = Home::link();
    let ca = Authority::new(&home.pki(), "site");
    run_app(&home, fixed_workload(0, 1)).await;
    let (standby, address) =
        standby_at_new_port(home.standby_settings(Some(server_tls(&ca)))).await;

    let result = run_primary_once(home.primary_settings(address, None)).await;
    let e = result.expect_err("a plain primary cannot talk to a TLS standby");
    assert!(
        matches!(&e, LinkError::Tls(TlsError::PeerSpeaksTls { peer }) if *peer == address),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("both sides must set [mirror] tls_cert, tls_key and tls_ca"),
        "{e}"
    );
    wait_for(&standby.status, "the failed handshake", |s| {
        s.counters.refused == 1
    })
    .await;
    assert_eq!(standby.status.snapshot().durable_seq, 0);
    standby.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_primary_against_a_plain_standby_fails_clearly() {
    let home = Home::link();
    let ca = Authority::new(&home.pki(), "site");
    run_app(&home, fixed_workload(0, 1)).await;
    let (standby, address) = standby_at_new_port(home.standby_settings(None)).await;

    let result = run_primary_once(home.primary_settings(address, Some(client_tls(&ca)))).await;
    let e = result.expect_err("a TLS primary cannot talk to a plain standby");
    assert!(
        matches!(&e, LinkError::Tls(TlsError::Handshake { peer, .. }) if *peer == address),
        "{e}"
    );
    assert!(e.to_string().contains("does not speak TLS"), "{e}");
    wait_for(&standby.status, "the refusal", |s| s.counters.refused == 1).await;
    assert_eq!(standby.status.snapshot().durable_seq, 0);
    standby.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_standby_that_never_answers_times_out() {
    // A listener that accepts and says nothing: the TLS handshake is
    // bounded by the handshake timeout.
    let home = Home::link();
    let ca = Authority::new(&home.pki(), "site");
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let mut settings = home.primary_settings(address, Some(client_tls(&ca)));
    settings.heartbeats.handshake_timeout = Duration::from_millis(300);
    let result = run_primary_once(settings).await;
    hold.abort();
    let e = result.expect_err("a silent standby");
    assert!(matches!(e, LinkError::Timeout(_)), "{e}");
}
