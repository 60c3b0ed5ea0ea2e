//! Certificates made at test time for the mirroring link's TLS (rcgen): an
//! authority, a standby (server) certificate for `localhost` and
//! `127.0.0.1`, a primary (client) certificate, written as PEM files.
//!
//! Used by `tests/tls.rs` and by the unit tests of `src/tls.rs` (through a
//! `#[path]` module), so it names no type of the crate.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// A node's TLS files: its certificate, its key, and the authority that
/// signs its peer's certificate.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// A certificate authority whose certificate is `<dir>/<name>-ca.pem`.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
    name: String,
}

impl Authority {
    pub fn new(dir: &Path, name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let authority = Authority {
            issuer,
            dir: dir.to_owned(),
            name: name.to_owned(),
        };
        std::fs::write(authority.ca(), authority.issuer.pem()).unwrap();
        authority
    }

    /// The authority's certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// A certificate for `names` (DNS names or IP addresses), for `usage`,
    /// signed by this authority: `<dir>/<name>-<who>.pem` and its key
    /// `<dir>/<name>-<who>.key`; the peer is trusted through `peer_ca`.
    pub fn issue(
        &self,
        who: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        peer_ca: &Path,
    ) -> Identity {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, who);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let identity = Identity {
            cert: self.dir.join(format!("{}-{who}.pem", self.name)),
            key: self.dir.join(format!("{}-{who}.key", self.name)),
            ca: peer_ca.to_owned(),
        };
        std::fs::write(&identity.cert, cert.pem()).unwrap();
        std::fs::write(&identity.key, key.serialize_pem()).unwrap();
        identity
    }

    /// The standby's certificate, for `localhost` and `127.0.0.1`; trusts
    /// primaries signed by this authority.
    pub fn standby(&self) -> Identity {
        self.issue(
            "standby",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &self.ca(),
        )
    }

    /// A primary's (client) certificate; trusts standbys signed by this
    /// authority.
    pub fn primary(&self) -> Identity {
        self.issue(
            "primary",
            &["primary"],
            ExtendedKeyUsagePurpose::ClientAuth,
            &self.ca(),
        )
    }
}
