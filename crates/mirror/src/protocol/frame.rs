//! Frames: a 16-byte header with its own checksum, the payload, and the
//! payload's checksum (docs/PROTOCOL.md, "Frames").

use super::error::{DecodeError, EncodeError};
use super::message::MessageKind;

/// The four bytes every frame starts with: ASCII `DRXM`.
pub const MAGIC: [u8; 4] = *b"DRXM";

/// The length of a frame header.
pub const HEADER_LEN: usize = 16;

/// The length of the checksum after the payload.
pub const TRAILER_LEN: usize = 4;

/// The largest payload of a frame: 64 MiB (the largest journal entry) and
/// 4 KiB for the `Entries` header and the entry's length.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024 * 1024 + 4096;

/// The largest frame: header, the largest payload and its checksum.
pub const MAX_FRAME_LEN: usize = HEADER_LEN + MAX_PAYLOAD_LEN + TRAILER_LEN;

/// The intact header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The message type.
    pub kind: MessageKind,
    /// The payload length in bytes (at most [`MAX_PAYLOAD_LEN`]).
    pub payload_len: usize,
}

impl FrameHeader {
    /// The length of the whole frame: header, payload and checksum.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.payload_len + TRAILER_LEN
    }

    /// Checks the header at the start of `buf`. `Ok(None)`: fewer than
    /// [`HEADER_LEN`] bytes, all agreeing with the magic so far. A transport
    /// can use this to learn how many bytes the frame needs.
    pub fn parse(buf: &[u8]) -> Result<Option<FrameHeader>, DecodeError> {
        for (offset, (&found, &expected)) in buf.iter().zip(MAGIC.iter()).enumerate() {
            if found != expected {
                return Err(DecodeError::BadMagic { offset, found });
            }
        }
        let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let stored = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
        let computed = crc32c::crc32c(&header[..12]);
        if stored != computed {
            return Err(DecodeError::HeaderChecksum { stored, computed });
        }
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let code = header[8];
        let reserved = [header[9], header[10], header[11]];
        if reserved != [0; 3] {
            return Err(DecodeError::ReservedNotZero { found: reserved });
        }
        let payload_len = usize::try_from(len).unwrap_or(usize::MAX);
        if payload_len > MAX_PAYLOAD_LEN {
            return Err(DecodeError::FrameTooLarge { len });
        }
        let kind = MessageKind::from_code(code).ok_or(DecodeError::UnknownType { code })?;
        Ok(Some(FrameHeader { kind, payload_len }))
    }
}

/// A complete frame whose checksums match.
pub(crate) struct RawFrame<'a> {
    /// The message type.
    pub(crate) kind: MessageKind,
    /// The payload.
    pub(crate) payload: &'a [u8],
    /// The length of the whole frame.
    pub(crate) len: usize,
}

/// Splits the complete frame at the start of `buf`, checking both
/// checksums: `Ok(None)` when more bytes are needed.
pub(crate) fn split(buf: &[u8]) -> Result<Option<RawFrame<'_>>, DecodeError> {
    let Some(header) = FrameHeader::parse(buf)? else {
        return Ok(None);
    };
    let frame_len = header.frame_len();
    let Some(frame) = buf.get(..frame_len) else {
        return Ok(None);
    };
    let (rest, trailer) = frame.split_at(frame_len - TRAILER_LEN);
    let payload = &rest[HEADER_LEN..];
    let stored = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let computed = crc32c::crc32c(payload);
    if stored != computed {
        return Err(DecodeError::PayloadChecksum {
            kind: header.kind,
            stored,
            computed,
            frame_len,
        });
    }
    Ok(Some(RawFrame {
        kind: header.kind,
        payload,
        len: frame_len,
    }))
}

/// Appends the header of a frame of type `kind` with a placeholder length
/// and checksum; returns where the frame starts. The payload follows;
/// [`finish`] completes the frame.
pub(crate) fn begin(out: &mut Vec<u8>, kind: MessageKind) -> usize {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&[kind.code(), 0, 0, 0]);
    out.extend_from_slice(&[0; 4]);
    start
}

/// Completes the frame begun at `start`: the payload is everything after
/// its header. Returns the frame's length; when the payload is too large,
/// removes the frame from `out`.
pub(crate) fn finish(out: &mut Vec<u8>, start: usize) -> Result<usize, EncodeError> {
    let payload_start = start + HEADER_LEN;
    let payload_len = out.len().saturating_sub(payload_start);
    let len = match u32::try_from(payload_len) {
        Ok(len) if payload_len <= MAX_PAYLOAD_LEN => len,
        _ => {
            out.truncate(start);
            return Err(EncodeError::FrameTooLarge { len: payload_len });
        }
    };
    let payload_crc = crc32c::crc32c(out.get(payload_start..).unwrap_or_default());
    if let Some(header) = out.get_mut(start..payload_start) {
        header[4..8].copy_from_slice(&len.to_le_bytes());
        let header_crc = crc32c::crc32c(&header[..12]);
        header[12..16].copy_from_slice(&header_crc.to_le_bytes());
    }
    out.extend_from_slice(&payload_crc.to_le_bytes());
    Ok(out.len() - start)
}
