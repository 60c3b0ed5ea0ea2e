//! TLS for the mirroring link (docs/PROTOCOL.md, "TLS"): mutual TLS 1.3
//! with rustls on the ring provider. The standby ([`ServerTls`]) requires a
//! client certificate signed by `[mirror] tls_ca`; the primary
//! ([`ClientTls`]) verifies the standby's certificate against `tls_ca` and
//! the standby's host name (`tcp_host`).
//!
//! Over TLS, both sides feed [`CHANNEL_BINDING_LEN`] bytes of the session's
//! exported keying material (RFC 8446 section 7.5, label
//! [`EXPORTER_LABEL`], no context) into the HMAC transcript, so that a
//! proof made on one TLS session does not verify on another.
//!
//! TLS is on when `tls_cert` and `tls_key` are set; both sides must agree.

use drx_config::Config;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

/// The label of the TLS exporter whose output binds the handshake's proofs
/// to the TLS session.
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-drx-mirror-v1";
/// The length of the channel binding over TLS, in bytes.
pub const CHANNEL_BINDING_LEN: usize = 32;

/// Why TLS could not be set up, or why a TLS session failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The `[mirror]` TLS settings are incomplete.
    #[error("[mirror] {0}")]
    Settings(String),
    /// A certificate or key file could not be read.
    #[error("{setting} {}: {source}", path.display())]
    Read {
        /// The setting that names the file (`tls_cert`, `tls_key`, `tls_ca`).
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A certificate or key file does not hold what it should.
    #[error("{setting} {}: {detail}", path.display())]
    Content {
        /// The setting that names the file.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// rustls refused the certificates and key (e.g. the key is not the
    /// certificate's).
    #[error("{what}: {source}")]
    Config {
        /// Which files, or which part of the configuration.
        what: String,
        /// The error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The standby's host is not a valid TLS server name.
    #[error(
        "the standby's host {host:?} is not a valid TLS server name (a DNS name or an IP address)"
    )]
    ServerName {
        /// The host (`tcp_host`).
        host: String,
    },
    /// The TLS handshake with a peer failed (certificate refused, a peer
    /// that does not speak TLS, ...).
    #[error("TLS handshake with {peer}: {source}{}", hint(source))]
    Handshake {
        /// The peer's address.
        peer: SocketAddr,
        /// The error.
        source: io::Error,
    },
    /// The TLS session with a peer failed after its handshake: the peer
    /// sent an alert (e.g. it refused this node's certificate), or its
    /// records do not decrypt.
    #[error("TLS session with {peer}: {source}{}", hint(source))]
    Session {
        /// The peer's address.
        peer: SocketAddr,
        /// The error.
        source: io::Error,
    },
    /// The peer speaks TLS, this side is configured for plain TCP.
    #[error(
        "{peer} speaks TLS, this node does not: both sides must set [mirror] tls_cert, tls_key and tls_ca, or neither"
    )]
    PeerSpeaksTls {
        /// The peer's address.
        peer: SocketAddr,
    },
    /// The channel binding could not be exported from the TLS session.
    #[error("TLS session with {peer}: exporting the channel binding: {source}")]
    Exporter {
        /// The peer's address.
        peer: SocketAddr,
        /// The error.
        source: rustls::Error,
    },
}

/// A hint after a TLS handshake error that most likely comes from a peer
/// that does not speak TLS, or from a certificate the peer refused.
fn hint(source: &io::Error) -> &'static str {
    match source
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidMessage(_)) => {
            " (the peer does not speak TLS: both sides must set [mirror] tls_cert, tls_key and tls_ca, or neither)"
        }
        Some(rustls::Error::InvalidCertificate(_)) => {
            " (the peer's certificate is not signed by [mirror] tls_ca, or does not name the peer)"
        }
        Some(rustls::Error::AlertReceived(_)) => {
            " (the peer refused this node's TLS session: is this node's certificate signed by the peer's [mirror] tls_ca?)"
        }
        Some(_) => "",
        None if source.kind() == io::ErrorKind::UnexpectedEof
            || source.kind() == io::ErrorKind::ConnectionReset =>
        {
            " (the peer closed the connection: does it speak TLS?)"
        }
        None => "",
    }
}

/// The TLS files of a node, absolute paths (the configuration resolves
/// them against the home).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// This node's certificate chain, PEM, leaf first (`tls_cert`).
    pub cert: PathBuf,
    /// This node's private key, PEM (`tls_key`).
    pub key: PathBuf,
    /// The certificate authority (or authorities) that signed the peer's
    /// certificate, PEM (`tls_ca`).
    pub ca: PathBuf,
}

impl TlsFiles {
    /// The TLS files of `[mirror]`: `None` when neither `tls_cert` nor
    /// `tls_key` is set (plain TCP); an error when only one of them is, or
    /// when `tls_ca` is missing.
    pub fn from_config(config: &Config) -> Result<Option<TlsFiles>, TlsError> {
        let m = &config.mirror;
        match (&m.tls_cert, &m.tls_key, &m.tls_ca) {
            (None, None, _) => Ok(None),
            (Some(cert), Some(key), Some(ca)) => Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                ca: ca.clone(),
            })),
            (Some(_), Some(_), None) => Err(TlsError::Settings(
                "tls_cert and tls_key are set but tls_ca is not: TLS needs the authority that signed the peer's certificate".into(),
            )),
            (Some(_), None, _) => Err(TlsError::Settings(
                "tls_cert is set but tls_key is not: TLS needs both".into(),
            )),
            (None, Some(_), _) => Err(TlsError::Settings(
                "tls_key is set but tls_cert is not: TLS needs both".into(),
            )),
        }
    }

    fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
        std::fs::read(path).map_err(|source| TlsError::Read {
            setting,
            path: path.to_owned(),
            source,
        })
    }

    /// The certificates of a PEM file (at least one).
    fn certificates(
        setting: &'static str,
        path: &Path,
    ) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let pem = TlsFiles::read(setting, path)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Content {
                setting,
                path: path.to_owned(),
                detail: format!("not a PEM certificate file: {e}"),
            })?;
        if certs.is_empty() {
            return Err(TlsError::Content {
                setting,
                path: path.to_owned(),
                detail: "no certificate found".into(),
            });
        }
        Ok(certs)
    }

    /// This node's certificate chain and private key.
    fn identity(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        let certs = TlsFiles::certificates("tls_cert", &self.cert)?;
        let pem = TlsFiles::read("tls_key", &self.key)?;
        let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Content {
            setting: "tls_key",
            path: self.key.clone(),
            detail: match e {
                rustls_pki_types::pem::Error::NoItemsFound => "no private key found".into(),
                e => format!("not a PEM private key file: {e}"),
            },
        })?;
        Ok((certs, key))
    }

    /// The authorities of `tls_ca`.
    fn roots(&self) -> Result<Arc<RootCertStore>, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in TlsFiles::certificates("tls_ca", &self.ca)? {
            roots.add(cert).map_err(|e| TlsError::Content {
                setting: "tls_ca",
                path: self.ca.clone(),
                detail: format!("not a usable certificate authority: {e}"),
            })?;
        }
        Ok(Arc::new(roots))
    }

    fn config_error(&self, source: impl std::error::Error + Send + Sync + 'static) -> TlsError {
        TlsError::Config {
            what: format!(
                "tls_cert {}, tls_key {}, tls_ca {}",
                self.cert.display(),
                self.key.display(),
                self.ca.display()
            ),
            source: Box::new(source),
        }
    }
}

/// Whether `e` is an error of the TLS session rather than of the socket.
pub(crate) fn is_session_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|e| e.is::<rustls::Error>())
}

/// The crypto provider: ring, TLS 1.3 only.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The standby's TLS: requires and verifies the primary's certificate
/// against `tls_ca` (mutual TLS).
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerTls")
    }
}

impl ServerTls {
    /// Loads the files and builds the server configuration.
    pub fn new(files: &TlsFiles) -> Result<ServerTls, TlsError> {
        let (certs, key) = files.identity()?;
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(files.roots()?, provider())
                .build()
                .map_err(|e| files.config_error(e))?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| files.config_error(e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(|e| files.config_error(e))?;
        // Every connection is a new session: no resumption.
        config.send_tls13_tickets = 0;
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        Ok(ServerTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The server configuration of `[mirror]`, if TLS is on.
    pub fn from_config(config: &Config) -> Result<Option<ServerTls>, TlsError> {
        TlsFiles::from_config(config)?
            .map(|files| ServerTls::new(&files))
            .transpose()
    }

    /// Runs the TLS handshake on an accepted connection; the stream and
    /// its channel binding.
    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Result<(TlsStream<TcpStream>, [u8; CHANNEL_BINDING_LEN]), TlsError> {
        let stream = self
            .acceptor
            .accept(stream)
            .await
            .map_err(|source| TlsError::Handshake { peer, source })?;
        let binding = stream
            .get_ref()
            .1
            .export_keying_material([0; CHANNEL_BINDING_LEN], EXPORTER_LABEL, None)
            .map_err(|source| TlsError::Exporter { peer, source })?;
        Ok((TlsStream::Server(stream), binding))
    }
}

/// The primary's TLS: presents this node's certificate, verifies the
/// standby's against `tls_ca` and its host name.
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl ClientTls {
    /// Loads the files and builds the client configuration; the standby's
    /// certificate must name `server_name` (a DNS name or an IP address).
    pub fn new(files: &TlsFiles, server_name: &str) -> Result<ClientTls, TlsError> {
        let host = server_name
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(server_name);
        let server_name =
            ServerName::try_from(host.to_owned()).map_err(|_| TlsError::ServerName {
                host: host.to_owned(),
            })?;
        let (certs, key) = files.identity()?;
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| files.config_error(e))?
            .with_root_certificates(files.roots()?)
            .with_client_auth_cert(certs, key)
            .map_err(|e| files.config_error(e))?;
        config.resumption = rustls::client::Resumption::disabled();
        Ok(ClientTls {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    /// The client configuration of `[mirror]`, if TLS is on; the standby's
    /// certificate must name `host` (`tcp_host`).
    pub fn from_config(config: &Config, host: &str) -> Result<Option<ClientTls>, TlsError> {
        TlsFiles::from_config(config)?
            .map(|files| ClientTls::new(&files, host))
            .transpose()
    }

    /// Runs the TLS handshake on a connection to the standby; the stream
    /// and its channel binding.
    pub(crate) async fn connect(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Result<(TlsStream<TcpStream>, [u8; CHANNEL_BINDING_LEN]), TlsError> {
        let stream = self
            .connector
            .connect(self.server_name.clone(), stream)
            .await
            .map_err(|source| TlsError::Handshake { peer, source })?;
        let binding = stream
            .get_ref()
            .1
            .export_keying_material([0; CHANNEL_BINDING_LEN], EXPORTER_LABEL, None)
            .map_err(|source| TlsError::Exporter { peer, source })?;
        Ok((TlsStream::Client(stream), binding))
    }
}

// The certificates of the tests, shared with tests/tls.rs.
#[cfg(test)]
#[path = "../tests/support/tls.rs"]
mod test_pki;

#[cfg(test)]
mod tests {
    use super::test_pki::{Authority, Identity};
    use super::*;
    use crate::protocol::{Hello, Nonce, PROTOCOL_VERSION, Role, Secret, Transcript};
    use tokio::net::TcpListener;

    fn files(identity: &Identity) -> TlsFiles {
        TlsFiles {
            cert: identity.cert.clone(),
            key: identity.key.clone(),
            ca: identity.ca.clone(),
        }
    }

    /// One TLS session over loopback: the channel bindings of the standby
    /// and of the primary.
    async fn session(server: &ServerTls, client: &ClientTls) -> ([u8; 32], [u8; 32]) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = async {
            let (stream, peer) = listener.accept().await.unwrap();
            server
                .accept(stream, peer)
                .await
                .map(|(_, binding)| binding)
        };
        let connect = async {
            let stream = TcpStream::connect(addr).await.unwrap();
            client
                .connect(stream, addr)
                .await
                .map(|(_, binding)| binding)
        };
        let (accepted, connected) =
            tokio::time::timeout(std::time::Duration::from_secs(30), async {
                tokio::join!(accept, connect)
            })
            .await
            .expect("the TLS handshake completes in time");
        (accepted.unwrap(), connected.unwrap())
    }

    fn hello(role: Role, node_id: &str, nonce: u8) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            role,
            node_id: node_id.to_owned(),
            epoch: 1,
            last_seq: 10,
            nonce: Nonce([nonce; 32]),
            history: vec![drx_journal::EpochStart {
                epoch: 1,
                first_seq: 1,
            }],
        }
    }

    #[tokio::test]
    async fn the_channel_binding_is_the_sessions_and_differs_per_session() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::new(dir.path(), "site");
        let server = ServerTls::new(&files(&ca.standby())).unwrap();
        let client = ClientTls::new(&files(&ca.primary()), "localhost").unwrap();

        let (standby_1, primary_1) = session(&server, &client).await;
        let (standby_2, primary_2) = session(&server, &client).await;
        assert_eq!(standby_1, primary_1, "both ends export the same binding");
        assert_eq!(standby_2, primary_2);
        assert_ne!(primary_1, primary_2, "each session has its own binding");
        assert_ne!(primary_1, [0; CHANNEL_BINDING_LEN]);

        // The same Hellos on two TLS sessions (a relay that replays them):
        // a proof made on one does not verify on the other.
        let secret = Secret::new(b"a shared secret of 32 bytes.....").unwrap();
        let (p, s) = (hello(Role::Primary, "p", 1), hello(Role::Standby, "s", 2));
        let first = Transcript::new(&p, &s, &primary_1).unwrap();
        let second = Transcript::new(&p, &s, &primary_2).unwrap();
        let plain = Transcript::new(&p, &s, b"").unwrap();
        let proof = first.proof(&secret, Role::Primary);
        assert!(first.verify(&secret, Role::Primary, &proof).is_ok());
        assert!(second.verify(&secret, Role::Primary, &proof).is_err());
        assert!(plain.verify(&secret, Role::Primary, &proof).is_err());
    }

    #[tokio::test]
    async fn a_standby_whose_name_is_not_in_its_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::new(dir.path(), "site");
        let server = ServerTls::new(&files(&ca.standby())).unwrap();
        let client = ClientTls::new(&files(&ca.primary()), "standby.example").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = async {
            let (stream, peer) = listener.accept().await.unwrap();
            server.accept(stream, peer).await.map(|_| ())
        };
        let connect = async {
            let stream = TcpStream::connect(addr).await.unwrap();
            client.connect(stream, addr).await.map(|_| ())
        };
        let (_, connected) = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            tokio::join!(accept, connect)
        })
        .await
        .expect("the TLS handshake ends in time");
        let e = connected.unwrap_err();
        assert!(
            matches!(&e, TlsError::Handshake { peer, .. } if *peer == addr),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("not signed by [mirror] tls_ca, or does not name the peer"),
            "{e}"
        );
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::new(dir.path(), "site");
        let good = files(&ca.standby());

        let missing = TlsFiles {
            cert: dir.path().join("missing.pem"),
            ..good.clone()
        };
        let e = ServerTls::new(&missing).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("tls_cert {}: ", missing.cert.display())),
            "{e}"
        );

        // A key where the certificate should be.
        let no_cert = TlsFiles {
            cert: good.key.clone(),
            ..good.clone()
        };
        let e = ServerTls::new(&no_cert).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("tls_cert {}: no certificate found", good.key.display())
        );

        // A certificate where the key should be.
        let no_key = TlsFiles {
            key: good.cert.clone(),
            ..good.clone()
        };
        let e = ClientTls::new(&no_key, "localhost").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("tls_key {}: no private key found", good.cert.display())
        );

        let no_ca = TlsFiles {
            ca: good.key.clone(),
            ..good.clone()
        };
        let e = ServerTls::new(&no_ca).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("tls_ca {}: no certificate found", good.key.display())
        );

        // Another certificate's key.
        let other = ca.primary();
        let mismatched = TlsFiles {
            key: other.key.clone(),
            ..good.clone()
        };
        let e = ServerTls::new(&mismatched).unwrap_err();
        assert!(matches!(e, TlsError::Config { .. }), "{e}");
        assert!(
            e.to_string().contains(&good.cert.display().to_string()),
            "{e}"
        );

        let e = ClientTls::new(&good, "not a host name").unwrap_err();
        assert!(matches!(e, TlsError::ServerName { .. }), "{e}");
        // An IPv6 address as written in an address.
        assert!(ClientTls::new(&good, "[::1]").is_ok());
    }

    #[test]
    fn tls_is_on_with_a_certificate_and_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let parse = |mirror: &str| {
            let text = format!("[mirror]\n{mirror}");
            TlsFiles::from_config(&Config::parse("drx.toml", &text, home).unwrap())
        };
        assert!(parse("").unwrap().is_none());
        let files = parse("tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\ntls_ca = \"ca.pem\"\n")
            .unwrap()
            .unwrap();
        assert_eq!(files.cert, home.join("c.pem"), "relative to the home");
        assert_eq!(files.ca, home.join("ca.pem"));
        for (text, named) in [
            ("tls_cert = \"c.pem\"\n", "tls_key is not"),
            ("tls_key = \"k.pem\"\n", "tls_cert is not"),
            (
                "tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
                "tls_ca is not",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.to_string().contains(named), "{text}: {e}");
        }
    }
}
