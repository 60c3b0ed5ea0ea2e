//! The mirroring wire protocol, version 2 (docs/PROTOCOL.md): codecs only,
//! no sockets.
//!
//! * [`frame`]: every message travels in one frame, `magic | length | type
//!   | header CRC32C | payload | payload CRC32C`. A damaged header loses
//!   the stream's step (close and reconnect); a damaged payload is skipped
//!   and re-sent ([`Recovery`]).
//! * [`message`]: [`Message`] and its payloads. [`Message::encode`]
//!   appends a frame to a reusable `Vec<u8>`; [`Message::decode`] reads one
//!   from the front of a byte slice, and answers `Ok(None)` while the slice
//!   holds only part of a frame, so it works over a stream.
//! * [`entries`]: the `Entries` batch, whose journal entries stay borrowed
//!   from the received bytes, and [`EntriesWriter`], which encodes a batch
//!   straight into the output buffer.
//! * [`verified`]: the standby's [`Verified`] report of a replica compared
//!   with a `Checksum` entry.
//! * [`repair`]: a rejoining node's [`RepairRequest`] for file ranges, and
//!   the promoted primary's [`Repair`] answers.
//! * [`transfer`]: a transfer session's block digests ([`Sums`]) and
//!   blocks ([`Blocks`]) for a delta resync (`drx sync`).
//! * [`ship`]: log shipping over a transfer session: a shipped file
//!   offered ([`ShipOffer`]), sent ([`ShipData`]) and applied
//!   ([`ShipApplied`]).
//! * [`auth`]: the shared [`Secret`], nonces, and the HMAC-SHA256 proofs
//!   over the handshake's [`Transcript`].
//!
//! No input makes a decoder panic: anything that is not a valid frame is a
//! [`DecodeError`] naming what is wrong.

pub(crate) mod auth;
pub(crate) mod entries;
pub(crate) mod error;
pub(crate) mod frame;
pub(crate) mod message;
pub(crate) mod repair;
pub(crate) mod ship;
pub(crate) mod transfer;
pub(crate) mod verified;

#[cfg(test)]
mod tests;

pub use self::{
    auth::{MIN_SECRET_LEN, Secret, Transcript},
    entries::{Entries, EntriesWriter, EntryIter},
    error::{AuthError, DecodeError, EncodeError, Recovery},
    frame::{FrameHeader, HEADER_LEN, MAGIC, MAX_FRAME_LEN, MAX_PAYLOAD_LEN, TRAILER_LEN},
    message::{
        Hello, MAX_ENTRY_LEN, MAX_HISTORY, MAX_NODE_ID_LEN, MAX_TEXT_LEN, Message, MessageKind,
        NONCE_LEN, Nonce, PROOF_LEN, PROTOCOL_VERSION, Proof, Reason, Role,
    },
    repair::{MAX_REPAIR_DATA, Repair, RepairRequest, RepairWant, TO_THE_END},
    ship::{MAX_SHIP_DATA, ShipApplied, ShipData, ShipEnd, ShipHave, ShipOffer},
    transfer::{
        BlockSum, Blocks, BlocksEnd, MAX_BLOCKS_DATA, MAX_SUMS, SUM_LEN, Sums, SumsRequest, Synced,
        block_count,
    },
    verified::{MAX_PATH_LEN, Verdict, Verified},
};
