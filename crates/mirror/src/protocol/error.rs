//! The errors of the wire protocol's codecs and of authentication.

use super::frame::{MAGIC, MAX_PAYLOAD_LEN};
use super::message::{MAX_ENTRY_LEN, MAX_NODE_ID_LEN, MAX_TEXT_LEN, MessageKind, Reason};

/// Why bytes received from a peer are not a frame or not a message.
///
/// [`DecodeError::recovery`] says what the receiver can do about it, and
/// [`DecodeError::reason`] which [`Reason`] to give the peer in a
/// `Goodbye`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes at the start of a frame are not the magic `DRXM`: the
    /// stream is out of step, damaged, or the peer does not speak this
    /// protocol (a TLS client on a plain port, for example).
    #[error(
        "bad frame magic: byte {offset} is 0x{found:02X}, expected 0x{expected:02X} (not a drx mirror frame, or the stream is out of step)",
        expected = MAGIC[*offset]
    )]
    BadMagic {
        /// Offset of the first wrong byte within the magic (0 to 3).
        offset: usize,
        /// The byte found there.
        found: u8,
    },

    /// The header's checksum does not match: its length or type field is
    /// damaged, so where the frame ends is unknown.
    #[error(
        "frame header checksum mismatch (stored 0x{stored:08X}, computed 0x{computed:08X}): the length or type is damaged, the stream is out of step"
    )]
    HeaderChecksum {
        /// The CRC32C stored in the header.
        stored: u32,
        /// The CRC32C of the header bytes as received.
        computed: u32,
    },

    /// The header is intact but its reserved bytes are not zero.
    #[error("frame header reserved bytes are not zero: {found:02X?}")]
    ReservedNotZero {
        /// The three reserved bytes.
        found: [u8; 3],
    },

    /// The header is intact but announces a payload larger than the
    /// protocol allows.
    #[error("frame payload length {len} exceeds the maximum of {max} bytes", max = MAX_PAYLOAD_LEN)]
    FrameTooLarge {
        /// The payload length in the header.
        len: u32,
    },

    /// The header is intact but its message type is not one of version 1.
    #[error("unknown message type {code}")]
    UnknownType {
        /// The type code in the header.
        code: u8,
    },

    /// The payload's checksum does not match: the payload or the checksum
    /// was damaged in transit. The header is intact, so the frame can be
    /// skipped ([`DecodeError::recovery`]) and the stream goes on.
    #[error(
        "{kind} frame payload checksum mismatch (stored 0x{stored:08X}, computed 0x{computed:08X}) in a frame of {frame_len} bytes"
    )]
    PayloadChecksum {
        /// The message type in the (intact) header.
        kind: MessageKind,
        /// The CRC32C stored after the payload.
        stored: u32,
        /// The CRC32C of the payload as received.
        computed: u32,
        /// The length of the whole frame: header, payload and checksum.
        frame_len: usize,
    },

    /// The frame is intact but its payload is not a valid message of its
    /// type: the peer is broken or does not follow the protocol.
    #[error("malformed {kind} message: {detail}")]
    Malformed {
        /// The message type.
        kind: MessageKind,
        /// What is wrong, naming the field.
        detail: String,
    },
}

/// What a receiver does after a [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// The frame's boundaries are known (its header is intact) but its
    /// payload is damaged: drop these many bytes from the receive buffer,
    /// and (on the standby) ask the primary for a `Resend` from the seq
    /// after the last good entry. The stream stays in step.
    SkipFrame(usize),
    /// The stream is out of step or the peer breaks the protocol: send a
    /// `Goodbye` with [`DecodeError::reason`] if possible, close the
    /// connection; the primary reconnects and resumes after the last
    /// acknowledged seq.
    Close,
}

impl DecodeError {
    /// What the receiver does about this error.
    pub fn recovery(&self) -> Recovery {
        match self {
            DecodeError::PayloadChecksum { frame_len, .. } => Recovery::SkipFrame(*frame_len),
            _ => Recovery::Close,
        }
    }

    /// Whether this error is damage in transit (a checksum or magic that
    /// does not match) rather than a peer that breaks the protocol.
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            DecodeError::BadMagic { .. }
                | DecodeError::HeaderChecksum { .. }
                | DecodeError::PayloadChecksum { .. }
        )
    }

    /// The reason to give the peer in a `Goodbye` when closing because of
    /// this error.
    pub fn reason(&self) -> Reason {
        if self.is_corruption() {
            Reason::CorruptStream
        } else {
            Reason::ProtocolViolation
        }
    }

    pub(crate) fn malformed(kind: MessageKind, detail: impl Into<String>) -> Self {
        DecodeError::Malformed {
            kind,
            detail: detail.into(),
        }
    }
}

/// Why a message cannot be encoded. Nothing is appended to the output
/// buffer when encoding fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A node id must be 1 to 255 bytes of UTF-8.
    #[error("node id must be 1 to {MAX_NODE_ID_LEN} bytes, got {len}")]
    NodeIdLength {
        /// Its length in bytes.
        len: usize,
    },

    /// The text of a `Refused` or `Goodbye` is longer than 65,535 bytes.
    #[error("reason text is {len} bytes, at most {MAX_TEXT_LEN} are allowed")]
    TextTooLong {
        /// Its length in bytes.
        len: usize,
    },

    /// One journal entry is larger than an `Entries` message can carry.
    #[error("journal entry of {len} bytes exceeds the maximum of {MAX_ENTRY_LEN}")]
    EntryTooLarge {
        /// Its length in bytes.
        len: usize,
    },

    /// The payload would exceed the maximum frame payload. For an
    /// `Entries` batch: send what is in it and start another batch.
    #[error("frame payload would be {len} bytes, at most {max} are allowed", max = MAX_PAYLOAD_LEN)]
    FrameTooLarge {
        /// The payload length it would have.
        len: usize,
    },

    /// A field is out of its range (named in the text).
    #[error("cannot encode: {0}")]
    Invalid(String),

    /// An `Entries` batch holds no entry.
    #[error("an Entries batch must hold at least one entry")]
    EmptyBatch,

    /// The seqs of an `Entries` batch would be 0 or past `u64::MAX`.
    #[error("an Entries batch of {count} entries cannot start at seq {first_seq}")]
    SeqOutOfRange {
        /// The first seq of the batch.
        first_seq: u64,
        /// The number of entries.
        count: u64,
    },
}

/// Why a handshake's authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The shared secret is too short to be a secret.
    #[error("the shared secret is {len} bytes, at least {min} are required", min = super::auth::MIN_SECRET_LEN)]
    SecretTooShort {
        /// Its length in bytes.
        len: usize,
    },

    /// The peer's proof is not the HMAC of this handshake under our secret:
    /// the peer has another secret, or replays or reflects a proof.
    #[error("the {prover} proof does not match: wrong secret, or a replayed or reflected proof")]
    ProofMismatch {
        /// The role whose proof was checked.
        prover: super::message::Role,
    },

    /// The two `Hello`s do not form a handshake: a role is not the one
    /// expected, or the versions differ.
    #[error("not a valid handshake: {detail}")]
    BadHandshake {
        /// What is wrong.
        detail: String,
    },

    /// Both `Hello`s carry the same nonce: the peer echoed ours.
    #[error("the peer's nonce equals ours (a reflected Hello)")]
    ReflectedNonce,

    /// The operating system's random number generator failed.
    #[error("no random nonce: {0}")]
    Random(String),
}
