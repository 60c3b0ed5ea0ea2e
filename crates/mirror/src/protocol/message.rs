//! The messages of protocol version 2 and their payloads
//! (docs/PROTOCOL.md, "Messages").

use std::fmt;

use super::entries::Entries;
use super::error::{DecodeError, EncodeError};
use super::frame;
use super::repair::{Repair, RepairRequest};
use super::ship::{ShipApplied, ShipData, ShipEnd, ShipHave, ShipOffer};
use super::transfer::{
    Blocks, BlocksEnd, ListRequest, Listing, Sums, SumsRequest, Synced, TouchFile, Touched,
};
use super::verified::Verified;
use drx_journal::EpochStart;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 2;

/// The most epochs a `Hello` carries (the newest, when a journal has had
/// more).
pub const MAX_HISTORY: usize = 255;

/// The length of a handshake nonce.
pub const NONCE_LEN: usize = 32;

/// The length of a proof: an HMAC-SHA256.
pub const PROOF_LEN: usize = 32;

/// The longest node id, in bytes of UTF-8.
pub const MAX_NODE_ID_LEN: usize = 255;

/// The longest text of a `Refused` or `Goodbye`, in bytes of UTF-8.
pub const MAX_TEXT_LEN: usize = u16::MAX as usize;

/// The largest journal entry an `Entries` message carries: the journal's
/// largest payload.
pub const MAX_ENTRY_LEN: usize = 64 * 1024 * 1024;

const _: () = assert!(MAX_ENTRY_LEN >= drx_journal::MAX_PAYLOAD);
const _: () = assert!(MAX_ENTRY_LEN + 16 <= frame::MAX_PAYLOAD_LEN);

/// The type of a message: the type byte of its frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageKind {
    /// [`Message::Hello`]
    Hello = 1,
    /// [`Message::Proof`]
    Proof = 2,
    /// [`Message::Welcome`]
    Welcome = 3,
    /// [`Message::Refused`]
    Refused = 4,
    /// [`Message::Entries`]
    Entries = 5,
    /// [`Message::Ack`]
    Ack = 6,
    /// [`Message::Heartbeat`]
    Heartbeat = 7,
    /// [`Message::Resend`]
    Resend = 8,
    /// [`Message::Goodbye`]
    Goodbye = 9,
    /// [`Message::Verified`]
    Verified = 10,
    /// [`Message::RepairRequest`]
    RepairRequest = 11,
    /// [`Message::Repair`]
    Repair = 12,
    /// [`Message::Handover`]
    Handover = 13,
    /// [`Message::SumsRequest`]
    SumsRequest = 14,
    /// [`Message::Sums`]
    Sums = 15,
    /// [`Message::Blocks`]
    Blocks = 16,
    /// [`Message::BlocksEnd`]
    BlocksEnd = 17,
    /// [`Message::Synced`]
    Synced = 18,
    /// [`Message::ListRequest`]
    ListRequest = 19,
    /// [`Message::Listing`]
    Listing = 20,
    /// [`Message::TouchFile`]
    TouchFile = 21,
    /// [`Message::Touched`]
    Touched = 22,
    /// [`Message::ShipOffer`]
    ShipOffer = 23,
    /// [`Message::ShipHave`]
    ShipHave = 24,
    /// [`Message::ShipData`]
    ShipData = 25,
    /// [`Message::ShipEnd`]
    ShipEnd = 26,
    /// [`Message::ShipApplied`]
    ShipApplied = 27,
}

impl MessageKind {
    /// Every message type, in code order.
    pub const ALL: [MessageKind; 27] = [
        MessageKind::Hello,
        MessageKind::Proof,
        MessageKind::Welcome,
        MessageKind::Refused,
        MessageKind::Entries,
        MessageKind::Ack,
        MessageKind::Heartbeat,
        MessageKind::Resend,
        MessageKind::Goodbye,
        MessageKind::Verified,
        MessageKind::RepairRequest,
        MessageKind::Repair,
        MessageKind::Handover,
        MessageKind::SumsRequest,
        MessageKind::Sums,
        MessageKind::Blocks,
        MessageKind::BlocksEnd,
        MessageKind::Synced,
        MessageKind::ListRequest,
        MessageKind::Listing,
        MessageKind::TouchFile,
        MessageKind::Touched,
        MessageKind::ShipOffer,
        MessageKind::ShipHave,
        MessageKind::ShipData,
        MessageKind::ShipEnd,
        MessageKind::ShipApplied,
    ];

    /// The type byte.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The type with this byte, if any.
    pub fn from_code(code: u8) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The message's name, as in docs/PROTOCOL.md.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Hello => "Hello",
            MessageKind::Proof => "Proof",
            MessageKind::Welcome => "Welcome",
            MessageKind::Refused => "Refused",
            MessageKind::Entries => "Entries",
            MessageKind::Ack => "Ack",
            MessageKind::Heartbeat => "Heartbeat",
            MessageKind::Resend => "Resend",
            MessageKind::Goodbye => "Goodbye",
            MessageKind::Verified => "Verified",
            MessageKind::RepairRequest => "RepairRequest",
            MessageKind::Repair => "Repair",
            MessageKind::Handover => "Handover",
            MessageKind::SumsRequest => "SumsRequest",
            MessageKind::Sums => "Sums",
            MessageKind::Blocks => "Blocks",
            MessageKind::BlocksEnd => "BlocksEnd",
            MessageKind::Synced => "Synced",
            MessageKind::ListRequest => "ListRequest",
            MessageKind::Listing => "Listing",
            MessageKind::TouchFile => "TouchFile",
            MessageKind::Touched => "Touched",
            MessageKind::ShipOffer => "ShipOffer",
            MessageKind::ShipHave => "ShipHave",
            MessageKind::ShipData => "ShipData",
            MessageKind::ShipEnd => "ShipEnd",
            MessageKind::ShipApplied => "ShipApplied",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The role of a node in a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The node whose journal is mirrored; it connects.
    Primary,
    /// The node that receives and applies the journal; it listens.
    Standby,
    /// `drx sync` / `drx refresh` on the primary host: connects to the
    /// standby and sends the blocks of files that differ (a transfer
    /// session, docs/PROTOCOL.md). It takes the primary's place in the
    /// handshake's transcript.
    Transfer,
}

impl Role {
    /// The role's byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            Role::Primary => 1,
            Role::Standby => 2,
            Role::Transfer => 3,
        }
    }

    /// The role with this byte, if any.
    pub fn from_code(code: u8) -> Option<Role> {
        match code {
            1 => Some(Role::Primary),
            2 => Some(Role::Standby),
            3 => Some(Role::Transfer),
            _ => None,
        }
    }

    /// The other role (a transfer's peer is a standby; a standby's, its
    /// primary).
    pub fn peer(self) -> Role {
        match self {
            Role::Primary | Role::Transfer => Role::Standby,
            Role::Standby => Role::Primary,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Primary => "primary",
            Role::Standby => "standby",
            Role::Transfer => "transfer",
        })
    }
}

/// Why a node refuses a handshake (`Refused`) or ends a connection
/// (`Goodbye`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// An orderly shutdown.
    Shutdown,
    /// The peer's protocol version is not one this node speaks.
    UnsupportedVersion,
    /// The peer's proof does not match: another secret, or a replayed or
    /// reflected proof.
    WrongSecret,
    /// The peer's epoch is older than this node's: it was fenced off by a
    /// failover.
    EpochFenced,
    /// The peer announced the wrong role (a primary talking to a primary).
    WrongRole,
    /// The peer's node id is not the one configured.
    UnknownNode,
    /// Another primary is connected to this standby.
    Busy,
    /// The two journals cannot be continued from each other: the standby
    /// holds entries the primary does not, or the primary no longer holds
    /// the entries the standby needs.
    CannotResume,
    /// The peer broke the protocol: a malformed or unexpected message.
    ProtocolViolation,
    /// The byte stream is damaged beyond resynchronisation.
    CorruptStream,
    /// Nothing arrived from the peer for too long.
    Timeout,
    /// A code this build does not know (from a newer peer); kept as is.
    Other(u16),
}

impl Reason {
    const NAMED: [(u16, Reason); 11] = [
        (1, Reason::Shutdown),
        (2, Reason::UnsupportedVersion),
        (3, Reason::WrongSecret),
        (4, Reason::EpochFenced),
        (5, Reason::WrongRole),
        (6, Reason::UnknownNode),
        (7, Reason::Busy),
        (8, Reason::CannotResume),
        (9, Reason::ProtocolViolation),
        (10, Reason::CorruptStream),
        (11, Reason::Timeout),
    ];

    /// The reason's code on the wire.
    pub fn code(self) -> u16 {
        if let Reason::Other(code) = self {
            return code;
        }
        Reason::NAMED
            .iter()
            .find(|(_, r)| *r == self)
            .map_or(0, |(code, _)| *code)
    }

    /// The reason with this code: a named one, or [`Reason::Other`].
    pub fn from_code(code: u16) -> Reason {
        Reason::NAMED
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(Reason::Other(code), |(_, r)| *r)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::UnsupportedVersion => f.write_str("unsupported protocol version"),
            Reason::WrongSecret => f.write_str("wrong secret"),
            Reason::EpochFenced => f.write_str("epoch fenced"),
            Reason::WrongRole => f.write_str("wrong role"),
            Reason::UnknownNode => f.write_str("unknown node"),
            Reason::Busy => f.write_str("busy"),
            Reason::CannotResume => f.write_str("cannot resume"),
            Reason::ProtocolViolation => f.write_str("protocol violation"),
            Reason::CorruptStream => f.write_str("corrupt stream"),
            Reason::Timeout => f.write_str("timeout"),
            Reason::Other(code) => write!(f, "reason {code}"),
        }
    }
}

/// A handshake nonce: 32 random bytes, fresh for every connection
/// ([`Nonce::random`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce(pub [u8; NONCE_LEN]);

/// A proof of knowledge of the shared secret: an HMAC-SHA256 over the
/// handshake ([`super::auth::Transcript`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Proof(pub [u8; PROOF_LEN]);

/// The first message of each side of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The protocol version the sender speaks ([`PROTOCOL_VERSION`]).
    pub version: u16,
    /// The sender's role.
    pub role: Role,
    /// The sender's node id: 1 to 255 bytes of UTF-8.
    pub node_id: String,
    /// The sender's epoch.
    pub epoch: u64,
    /// The sender's last durable seq: for a primary the last seq of its
    /// journal, for a standby the last entry it applied durably (0: none).
    pub last_seq: u64,
    /// The sender's fresh random nonce.
    pub nonce: Nonce,
    /// Where each of the sender's epochs began, oldest first (its journal's
    /// `EPOCHS`; at most [`MAX_HISTORY`], the newest): the two sides find
    /// the last seq their histories share (docs/DR.md).
    pub history: Vec<EpochStart>,
}

/// A message of the protocol. Only [`Message::Entries`] borrows from the
/// bytes it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// Opens a connection, from each side: who it is and where it stands.
    Hello(Hello),
    /// The sender's proof that it knows the shared secret.
    Proof(Proof),
    /// Standby → primary: authenticated; send entries from `resume_from`.
    Welcome {
        /// The first seq the standby wants: its last durable seq + 1.
        resume_from: u64,
    },
    /// The handshake is refused; the sender closes the connection.
    Refused {
        /// Why.
        reason: Reason,
        /// Details for a person (UTF-8, at most 65,535 bytes).
        text: String,
    },
    /// Primary → standby: consecutive journal entries.
    Entries(Entries<'a>),
    /// Standby → primary: every entry up to `applied` is durably applied.
    Ack {
        /// The last seq applied durably.
        applied: u64,
    },
    /// Either way: the sender is alive.
    Heartbeat {
        /// The primary's last journal seq, or the standby's last durably
        /// applied seq.
        last_seq: u64,
        /// The sender's clock, microseconds since 1970-01-01T00:00:00Z.
        timestamp_us: i64,
    },
    /// Standby → primary: a frame was damaged; send again from `from_seq`.
    Resend {
        /// The first seq to send again: the last good entry received + 1.
        from_seq: u64,
    },
    /// The sender closes the connection.
    Goodbye {
        /// Why.
        reason: Reason,
        /// Details for a person (UTF-8, at most 65,535 bytes).
        text: String,
    },
    /// Standby → primary: how the replica compared with a `Checksum`
    /// entry, at that entry's seq.
    Verified(Verified),
    /// A rejoining node → the promoted primary: the file ranges it needs.
    RepairRequest(RepairRequest),
    /// The promoted primary → a rejoining node: file bytes as they are.
    Repair(Repair),
    /// Primary → standby (switchover): this primary takes no more writes,
    /// and the standby has acknowledged everything up to `last_seq`: it
    /// is to promote itself.
    Handover {
        /// The primary's last seq, which the standby holds.
        last_seq: u64,
    },
    /// Transfer → standby: the block digests of a replica, please.
    SumsRequest(SumsRequest),
    /// Standby → transfer: the replica's block digests.
    Sums(Sums),
    /// Transfer → standby: bytes of the primary's file.
    Blocks(Blocks),
    /// Transfer → standby: the last `Blocks` of a file was sent.
    BlocksEnd(BlocksEnd),
    /// Standby → transfer: the replica is durable (or why not).
    Synced(Synced),
    /// Equalizer → standby: the matching files of a directory, please.
    ListRequest(ListRequest),
    /// Standby → equalizer: the matching files, their lengths and times.
    Listing(Listing),
    /// Equalizer → standby: stamp a file's modification time, or remove it.
    TouchFile(TouchFile),
    /// Standby → equalizer: the `TouchFile` was done (or why not).
    Touched(Touched),
    /// Shipper → standby: a shipped file is coming.
    ShipOffer(ShipOffer),
    /// Standby → shipper: the bytes of it already held.
    ShipHave(ShipHave),
    /// Shipper → standby: bytes of the shipped file.
    ShipData(ShipData),
    /// Shipper → standby: the shipped file was sent whole.
    ShipEnd(ShipEnd),
    /// Standby → shipper: the shipped file was applied (or why not).
    ShipApplied(ShipApplied),
}

impl<'a> Message<'a> {
    /// The message's type.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Hello(_) => MessageKind::Hello,
            Message::Proof(_) => MessageKind::Proof,
            Message::Welcome { .. } => MessageKind::Welcome,
            Message::Refused { .. } => MessageKind::Refused,
            Message::Entries(_) => MessageKind::Entries,
            Message::Ack { .. } => MessageKind::Ack,
            Message::Heartbeat { .. } => MessageKind::Heartbeat,
            Message::Resend { .. } => MessageKind::Resend,
            Message::Goodbye { .. } => MessageKind::Goodbye,
            Message::Verified(_) => MessageKind::Verified,
            Message::RepairRequest(_) => MessageKind::RepairRequest,
            Message::Repair(_) => MessageKind::Repair,
            Message::Handover { .. } => MessageKind::Handover,
            Message::SumsRequest(_) => MessageKind::SumsRequest,
            Message::Sums(_) => MessageKind::Sums,
            Message::Blocks(_) => MessageKind::Blocks,
            Message::BlocksEnd(_) => MessageKind::BlocksEnd,
            Message::Synced(_) => MessageKind::Synced,
            Message::ListRequest(_) => MessageKind::ListRequest,
            Message::Listing(_) => MessageKind::Listing,
            Message::TouchFile(_) => MessageKind::TouchFile,
            Message::Touched(_) => MessageKind::Touched,
            Message::ShipOffer(_) => MessageKind::ShipOffer,
            Message::ShipHave(_) => MessageKind::ShipHave,
            Message::ShipData(_) => MessageKind::ShipData,
            Message::ShipEnd(_) => MessageKind::ShipEnd,
            Message::ShipApplied(_) => MessageKind::ShipApplied,
        }
    }

    /// The message, no longer borrowing the bytes it was decoded from;
    /// `None` for `Entries`, whose entries stay borrowed.
    pub fn into_owned(self) -> Option<Message<'static>> {
        Some(match self {
            Message::Entries(_) => return None,
            Message::Hello(h) => Message::Hello(h),
            Message::Proof(p) => Message::Proof(p),
            Message::Welcome { resume_from } => Message::Welcome { resume_from },
            Message::Refused { reason, text } => Message::Refused { reason, text },
            Message::Ack { applied } => Message::Ack { applied },
            Message::Heartbeat {
                last_seq,
                timestamp_us,
            } => Message::Heartbeat {
                last_seq,
                timestamp_us,
            },
            Message::Resend { from_seq } => Message::Resend { from_seq },
            Message::Goodbye { reason, text } => Message::Goodbye { reason, text },
            Message::Verified(v) => Message::Verified(v),
            Message::RepairRequest(r) => Message::RepairRequest(r),
            Message::Repair(r) => Message::Repair(r),
            Message::Handover { last_seq } => Message::Handover { last_seq },
            Message::SumsRequest(r) => Message::SumsRequest(r),
            Message::Sums(s) => Message::Sums(s),
            Message::Blocks(b) => Message::Blocks(b),
            Message::BlocksEnd(e) => Message::BlocksEnd(e),
            Message::Synced(s) => Message::Synced(s),
            Message::ListRequest(r) => Message::ListRequest(r),
            Message::Listing(l) => Message::Listing(l),
            Message::TouchFile(t) => Message::TouchFile(t),
            Message::Touched(t) => Message::Touched(t),
            Message::ShipOffer(o) => Message::ShipOffer(o),
            Message::ShipHave(h) => Message::ShipHave(h),
            Message::ShipData(d) => Message::ShipData(d),
            Message::ShipEnd(e) => Message::ShipEnd(e),
            Message::ShipApplied(a) => Message::ShipApplied(a),
        })
    }

    /// Appends this message, as one frame, to `out` (which is not cleared:
    /// frames can be gathered for one write). Returns the frame's length.
    /// On error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        match self {
            Message::Hello(hello) => {
                check_node_id(&hello.node_id)?;
                if hello.history.is_empty() || hello.history.len() > MAX_HISTORY {
                    return Err(EncodeError::Invalid(format!(
                        "a Hello carries 1 to {MAX_HISTORY} epochs, not {}",
                        hello.history.len()
                    )));
                }
            }
            Message::Refused { text, .. } | Message::Goodbye { text, .. }
                if text.len() > MAX_TEXT_LEN =>
            {
                return Err(EncodeError::TextTooLong { len: text.len() });
            }
            Message::Verified(v) => v.check()?,
            Message::RepairRequest(r) => r.check()?,
            Message::Repair(r) => r.check()?,
            Message::SumsRequest(r) => r.check()?,
            Message::Sums(s) => s.check()?,
            Message::Blocks(b) => b.check()?,
            Message::BlocksEnd(e) => e.check()?,
            Message::Synced(s) => s.check()?,
            Message::ListRequest(r) => r.check()?,
            Message::Listing(l) => l.check()?,
            Message::TouchFile(t) => t.check()?,
            Message::Touched(t) => t.check()?,
            Message::ShipOffer(o) => o.check()?,
            Message::ShipHave(h) => h.check()?,
            Message::ShipData(d) => d.check()?,
            Message::ShipEnd(e) => e.check()?,
            Message::ShipApplied(a) => a.check()?,
            _ => {}
        }
        let start = frame::begin(out, self.kind());
        match self {
            Message::Hello(h) => {
                out.extend_from_slice(&h.version.to_le_bytes());
                out.push(h.role.code());
                out.push(0);
                out.extend_from_slice(&h.epoch.to_le_bytes());
                out.extend_from_slice(&h.last_seq.to_le_bytes());
                out.extend_from_slice(&h.nonce.0);
                // check_node_id: 1 to 255 bytes.
                out.push(h.node_id.len() as u8);
                out.extend_from_slice(h.node_id.as_bytes());
                // Checked: 1 to 255 epochs.
                out.push(h.history.len() as u8);
                for start in &h.history {
                    out.extend_from_slice(&start.epoch.to_le_bytes());
                    out.extend_from_slice(&start.first_seq.to_le_bytes());
                }
            }
            Message::Proof(proof) => out.extend_from_slice(&proof.0),
            Message::Welcome { resume_from } => out.extend_from_slice(&resume_from.to_le_bytes()),
            Message::Refused { reason, text } | Message::Goodbye { reason, text } => {
                out.extend_from_slice(&reason.code().to_le_bytes());
                // Checked above: at most u16::MAX bytes.
                out.extend_from_slice(&(text.len() as u16).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Message::Entries(entries) => entries.encode_payload(out),
            Message::Ack { applied } => out.extend_from_slice(&applied.to_le_bytes()),
            Message::Heartbeat {
                last_seq,
                timestamp_us,
            } => {
                out.extend_from_slice(&last_seq.to_le_bytes());
                out.extend_from_slice(&timestamp_us.to_le_bytes());
            }
            Message::Resend { from_seq } => out.extend_from_slice(&from_seq.to_le_bytes()),
            Message::Verified(v) => v.encode_payload(out),
            Message::RepairRequest(r) => r.encode_payload(out),
            Message::Repair(r) => r.encode_payload(out),
            Message::Handover { last_seq } => out.extend_from_slice(&last_seq.to_le_bytes()),
            Message::SumsRequest(r) => r.encode_payload(out),
            Message::Sums(s) => s.encode_payload(out),
            Message::Blocks(b) => b.encode_payload(out),
            Message::BlocksEnd(e) => e.encode_payload(out),
            Message::Synced(s) => s.encode_payload(out),
            Message::ListRequest(r) => r.encode_payload(out),
            Message::Listing(l) => l.encode_payload(out),
            Message::TouchFile(t) => t.encode_payload(out),
            Message::Touched(t) => t.encode_payload(out),
            Message::ShipOffer(o) => o.encode_payload(out),
            Message::ShipHave(h) => h.encode_payload(out),
            Message::ShipData(d) => d.encode_payload(out),
            Message::ShipEnd(e) => e.encode_payload(out),
            Message::ShipApplied(a) => a.encode_payload(out),
        }
        frame::finish(out, start)
    }

    /// Decodes the frame at the start of `buf`: `Ok(None)` when `buf` holds
    /// only the beginning of a frame (read more and call again), or the
    /// message and the number of bytes it took. The message's entries
    /// borrow from `buf`.
    pub fn decode(buf: &'a [u8]) -> Result<Option<(Message<'a>, usize)>, DecodeError> {
        let Some(frame) = frame::split(buf)? else {
            return Ok(None);
        };
        Ok(Some((
            decode_payload(frame.kind, frame.payload)?,
            frame.len,
        )))
    }
}

fn check_node_id(node_id: &str) -> Result<(), EncodeError> {
    if node_id.is_empty() || node_id.len() > MAX_NODE_ID_LEN {
        return Err(EncodeError::NodeIdLength { len: node_id.len() });
    }
    Ok(())
}

/// Reads the fields of one payload, front to back.
pub(crate) struct Fields<'a> {
    kind: MessageKind,
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(kind: MessageKind, payload: &'a [u8]) -> Self {
        Fields {
            kind,
            rest: payload,
        }
    }

    pub(crate) fn bytes(&mut self, n: usize, field: &str) -> Result<&'a [u8], DecodeError> {
        match self.rest.split_at_checked(n) {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(head)
            }
            None => Err(DecodeError::malformed(
                self.kind,
                format!(
                    "{field}: needs {n} bytes, the payload has {} left",
                    self.rest.len()
                ),
            )),
        }
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], DecodeError> {
        let bytes = self.bytes(N, field)?;
        let mut array = [0; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    pub(crate) fn u8(&mut self, field: &str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn text(&mut self, len: usize, field: &str) -> Result<String, DecodeError> {
        let bytes = self.bytes(len, field)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(e) => Err(DecodeError::malformed(
                self.kind,
                format!("{field}: not UTF-8 ({e})"),
            )),
        }
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    pub(crate) fn end(&self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::malformed(
                self.kind,
                format!("{} trailing bytes after the last field", self.rest.len()),
            ))
        }
    }

    pub(crate) fn error(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::malformed(self.kind, detail)
    }
}

fn decode_payload(kind: MessageKind, payload: &[u8]) -> Result<Message<'_>, DecodeError> {
    let mut f = Fields::new(kind, payload);
    let message = match kind {
        MessageKind::Hello => return decode_hello(f).map(Message::Hello),
        MessageKind::Proof => Message::Proof(Proof(f.array("proof")?)),
        MessageKind::Welcome => Message::Welcome {
            resume_from: f.u64("resume from")?,
        },
        MessageKind::Refused | MessageKind::Goodbye => {
            let reason = Reason::from_code(f.u16("reason")?);
            let len = f.u16("text length")?;
            let text = f.text(usize::from(len), "text")?;
            if kind == MessageKind::Refused {
                Message::Refused { reason, text }
            } else {
                Message::Goodbye { reason, text }
            }
        }
        MessageKind::Entries => {
            let first_seq = f.u64("first seq")?;
            let count = f.u32("count")?;
            let raw = f.rest();
            Message::Entries(Entries::parse(first_seq, count, raw)?)
        }
        MessageKind::Ack => Message::Ack {
            applied: f.u64("applied")?,
        },
        MessageKind::Heartbeat => Message::Heartbeat {
            last_seq: f.u64("last seq")?,
            timestamp_us: f.i64("timestamp")?,
        },
        MessageKind::Resend => Message::Resend {
            from_seq: f.u64("from seq")?,
        },
        MessageKind::Verified => Message::Verified(Verified::decode_payload(&mut f)?),
        MessageKind::RepairRequest => {
            Message::RepairRequest(RepairRequest::decode_payload(&mut f)?)
        }
        MessageKind::Repair => Message::Repair(Repair::decode_payload(&mut f)?),
        MessageKind::Handover => Message::Handover {
            last_seq: f.u64("last seq")?,
        },
        MessageKind::SumsRequest => Message::SumsRequest(SumsRequest::decode_payload(&mut f)?),
        MessageKind::Sums => Message::Sums(Sums::decode_payload(&mut f)?),
        MessageKind::Blocks => Message::Blocks(Blocks::decode_payload(&mut f)?),
        MessageKind::BlocksEnd => Message::BlocksEnd(BlocksEnd::decode_payload(&mut f)?),
        MessageKind::Synced => Message::Synced(Synced::decode_payload(&mut f)?),
        MessageKind::ListRequest => Message::ListRequest(ListRequest::decode_payload(&mut f)?),
        MessageKind::Listing => Message::Listing(Listing::decode_payload(&mut f)?),
        MessageKind::TouchFile => Message::TouchFile(TouchFile::decode_payload(&mut f)?),
        MessageKind::Touched => Message::Touched(Touched::decode_payload(&mut f)?),
        MessageKind::ShipOffer => Message::ShipOffer(ShipOffer::decode_payload(&mut f)?),
        MessageKind::ShipHave => Message::ShipHave(ShipHave::decode_payload(&mut f)?),
        MessageKind::ShipData => Message::ShipData(ShipData::decode_payload(&mut f)?),
        MessageKind::ShipEnd => Message::ShipEnd(ShipEnd::decode_payload(&mut f)?),
        MessageKind::ShipApplied => Message::ShipApplied(ShipApplied::decode_payload(&mut f)?),
    };
    f.end()?;
    Ok(message)
}

/// Whether `next` may follow `last` in an epoch history.
fn is_after(last: &EpochStart, next: &EpochStart) -> bool {
    next.epoch > last.epoch && next.first_seq >= last.first_seq
}

/// A `Hello` of another version is read leniently (its flags and trailing
/// bytes are ignored), enough to refuse it with `UnsupportedVersion`.
fn decode_hello(mut f: Fields<'_>) -> Result<Hello, DecodeError> {
    let version = f.u16("version")?;
    let role_code = f.u8("role")?;
    let role = Role::from_code(role_code)
        .ok_or_else(|| f.error(format!("role: unknown role {role_code}")))?;
    let flags = f.u8("flags")?;
    let epoch = f.u64("epoch")?;
    let last_seq = f.u64("last seq")?;
    let nonce = Nonce(f.array("nonce")?);
    let len = f.u8("node id length")?;
    if len == 0 {
        return Err(f.error("node id: empty"));
    }
    let node_id = f.text(usize::from(len), "node id")?;
    let mut history = Vec::new();
    if version == PROTOCOL_VERSION {
        if flags != 0 {
            return Err(f.error(format!("flags: 0x{flags:02X}, must be 0")));
        }
        let count = f.u8("epoch count")?;
        if count == 0 {
            return Err(f.error("epoch count: 0, at least 1"));
        }
        for _ in 0..count {
            let start = EpochStart {
                epoch: f.u64("epoch")?,
                first_seq: f.u64("first seq")?,
            };
            if let Some(last) = history.last()
                && !is_after(last, &start)
            {
                return Err(f.error(format!(
                    "epoch history: epoch {} at seq {} after epoch {} at seq {}",
                    start.epoch, start.first_seq, last.epoch, last.first_seq
                )));
            }
            history.push(start);
        }
        f.end()?;
    }
    Ok(Hello {
        version,
        role,
        node_id,
        epoch,
        last_seq,
        nonce,
        history,
    })
}
