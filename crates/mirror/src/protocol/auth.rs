//! Mutual authentication with a shared secret (docs/PROTOCOL.md,
//! "Authentication"): each side proves that it knows the secret with an
//! HMAC-SHA256 over the whole handshake — both nonces, both node ids,
//! epochs and last seqs, the protocol version — and the prover's role, so
//! that a proof can neither be replayed on another connection nor reflected
//! back to the side that made it.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::error::AuthError;
use super::message::{
    Hello, MAX_HISTORY, MAX_NODE_ID_LEN, NONCE_LEN, Nonce, PROTOCOL_VERSION, Proof, Role,
};

/// The shortest shared secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// The first bytes of every proof's input: domain separation from any other
/// use of the same secret.
const LABEL: &[u8] = b"drx-mirror proof v1";

/// The shared secret of a primary and its standby. Its `Debug` shows
/// nothing of it.
#[derive(Clone)]
pub struct Secret {
    /// HMAC-SHA256 keyed with the secret, cloned for each proof.
    keyed: Hmac<Sha256>,
}

impl Secret {
    /// A secret of at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<Secret, AuthError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(AuthError::SecretTooShort { len: secret.len() });
        }
        // HMAC takes a key of any length: this does not fail.
        let keyed = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| AuthError::SecretTooShort { len: secret.len() })?;
        Ok(Secret { keyed })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Nonce {
    /// A fresh nonce from the operating system's random number generator.
    pub fn random() -> Result<Nonce, AuthError> {
        let mut nonce = [0; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| AuthError::Random(e.to_string()))?;
        Ok(Nonce(nonce))
    }
}

/// The authenticated content of a handshake: both `Hello`s (ordered by
/// role, not by who sent first) and the channel binding. Both sides build
/// the same transcript; each makes its [`Proof`] with
/// [`Transcript::proof`] and checks the peer's with [`Transcript::verify`].
///
/// ```
/// use drx_mirror::{Hello, Nonce, Role, Secret, Transcript, PROTOCOL_VERSION};
///
/// let hello = |role, node_id: &str| -> Result<Hello, drx_mirror::AuthError> {
///     Ok(Hello {
///         version: PROTOCOL_VERSION,
///         role,
///         node_id: node_id.to_owned(),
///         epoch: 3,
///         last_seq: 1000,
///         nonce: Nonce::random()?,
///         // Epoch 1 from seq 1, epoch 3 from seq 900.
///         history: vec![
///             drx_journal::EpochStart { epoch: 1, first_seq: 1 },
///             drx_journal::EpochStart { epoch: 3, first_seq: 900 },
///         ],
///     })
/// };
/// let primary = hello(Role::Primary, "paris")?;
/// let standby = hello(Role::Standby, "lyon")?;
/// let secret = Secret::new(b"a shared secret of 32 bytes.....")?;
///
/// let transcript = Transcript::new(&primary, &standby, b"")?;
/// let proof = transcript.proof(&secret, Role::Primary);
/// transcript.verify(&secret, Role::Primary, &proof)?;
/// // A proof is bound to its role: it cannot be reflected.
/// assert!(transcript.verify(&secret, Role::Standby, &proof).is_err());
/// # Ok::<(), drx_mirror::AuthError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Everything the proof covers after the label and the prover's role.
    body: Vec<u8>,
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transcript")
            .field("len", &self.body.len())
            .finish()
    }
}

impl Transcript {
    /// The transcript of a handshake between `primary` and `standby` (or
    /// between a transfer session, in the primary's place, and `standby`).
    /// `channel_binding` ties the proofs to a TLS session (the 32 bytes of
    /// the TLS exporter with label `EXPORTER-drx-mirror-v1`, no context;
    /// docs/PROTOCOL.md, "TLS"); empty over plain TCP.
    ///
    /// Fails when a `Hello` has the wrong role, a version other than
    /// [`PROTOCOL_VERSION`], an invalid node id, when both carry the same
    /// nonce, or when the channel binding is longer than 65,535 bytes.
    pub fn new(
        primary: &Hello,
        standby: &Hello,
        channel_binding: &[u8],
    ) -> Result<Transcript, AuthError> {
        let bad = |detail: String| Err(AuthError::BadHandshake { detail });
        // A transfer session (`drx sync`) takes the primary's place.
        if !matches!(primary.role, Role::Primary | Role::Transfer) {
            return bad(format!("the primary's Hello has role {}", primary.role));
        }
        if standby.role != Role::Standby {
            return bad(format!("the standby's Hello has role {}", standby.role));
        }
        for hello in [primary, standby] {
            if hello.version != PROTOCOL_VERSION {
                return bad(format!(
                    "the {}'s Hello has version {}, not {PROTOCOL_VERSION}",
                    hello.role, hello.version
                ));
            }
            if hello.history.is_empty() || hello.history.len() > MAX_HISTORY {
                return bad(format!(
                    "the {}'s Hello carries {} epochs",
                    hello.role,
                    hello.history.len()
                ));
            }
            if hello.node_id.is_empty() || hello.node_id.len() > MAX_NODE_ID_LEN {
                return bad(format!(
                    "the {}'s node id is {} bytes",
                    hello.role,
                    hello.node_id.len()
                ));
            }
        }
        if primary.nonce == standby.nonce {
            return Err(AuthError::ReflectedNonce);
        }
        let Ok(binding_len) = u16::try_from(channel_binding.len()) else {
            return bad(format!(
                "the channel binding is {} bytes",
                channel_binding.len()
            ));
        };
        let mut body = Vec::with_capacity(2 * (49 + MAX_NODE_ID_LEN) + 4 + channel_binding.len());
        body.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        for hello in [primary, standby] {
            body.extend_from_slice(&hello.epoch.to_le_bytes());
            body.extend_from_slice(&hello.last_seq.to_le_bytes());
            body.extend_from_slice(&hello.nonce.0);
            // Checked above: 1 to 255 bytes.
            body.push(hello.node_id.len() as u8);
            body.extend_from_slice(hello.node_id.as_bytes());
            // Checked above: 1 to 255 epochs.
            body.push(hello.history.len() as u8);
            for start in &hello.history {
                body.extend_from_slice(&start.epoch.to_le_bytes());
                body.extend_from_slice(&start.first_seq.to_le_bytes());
            }
        }
        body.extend_from_slice(&binding_len.to_le_bytes());
        body.extend_from_slice(channel_binding);
        Ok(Transcript { body })
    }

    fn keyed(&self, secret: &Secret, prover: Role) -> Hmac<Sha256> {
        let mut mac = secret.keyed.clone();
        mac.update(LABEL);
        mac.update(&[prover.code()]);
        mac.update(&self.body);
        mac
    }

    /// The proof that `prover` knows `secret`.
    pub fn proof(&self, secret: &Secret, prover: Role) -> Proof {
        let tag = self.keyed(secret, prover).finalize().into_bytes();
        let mut proof = [0; 32];
        proof.copy_from_slice(&tag);
        Proof(proof)
    }

    /// Checks, in constant time, that `proof` is `prover`'s proof of
    /// `secret` for this handshake.
    pub fn verify(&self, secret: &Secret, prover: Role, proof: &Proof) -> Result<(), AuthError> {
        self.keyed(secret, prover)
            .verify_slice(&proof.0)
            .map_err(|_| AuthError::ProofMismatch { prover })
    }
}
