//! Frames: `u32 LE payload length | u32 LE CRC32C of payload | payload`,
//! back to back after the segment header. This module reads them through a
//! large reusable buffer and tells valid frames from torn or damaged ones.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;

use crate::payload;

/// Bytes before the payload: length and CRC.
pub(crate) const FRAME_HEADER_LEN: usize = 8;
/// The largest payload a frame may carry (64 MiB).
pub const MAX_PAYLOAD: usize = 64 * 1024 * 1024;
/// The smallest payload of a valid frame (the entry's fixed part).
pub(crate) const MIN_PAYLOAD: usize = payload::FIXED_LEN;
/// Size of the read buffer: reads are made in chunks of this size.
const READ_CHUNK: usize = 1024 * 1024;

/// Writes a frame header for `payload` into `header`.
pub(crate) fn write_header(header: &mut [u8], payload: &[u8]) {
    header[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    header[4..8].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
}

/// What the next bytes of a segment hold.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A frame whose CRC matches. `payload` indexes [`FrameBuf::bytes`] and
    /// stays valid until the next call.
    Valid { offset: u64, payload: Range<usize> },
    /// The end of the file, exactly at a frame boundary.
    End { offset: u64 },
    /// A frame that the file ends inside of.
    Partial { offset: u64 },
    /// A frame that is complete but invalid (length out of range, CRC mismatch).
    Bad { offset: u64, reason: &'static str },
}

/// A reusable read buffer over one segment file, positioned at a frame
/// boundary.
pub(crate) struct FrameBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[end]`.
    pos: u64,
}

impl std::fmt::Debug for FrameBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameBuf")
            .field("capacity", &self.buf.len())
            .field("buffered", &(self.end - self.start))
            .field("offset", &self.offset())
            .finish()
    }
}

impl FrameBuf {
    pub(crate) fn new() -> FrameBuf {
        FrameBuf {
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            pos: 0,
        }
    }

    /// Forgets buffered bytes and positions `file` at `offset`.
    pub(crate) fn reset(&mut self, file: &mut File, offset: u64) -> io::Result<()> {
        file.seek(SeekFrom::Start(offset))?;
        self.start = 0;
        self.end = 0;
        self.pos = offset;
        Ok(())
    }

    /// The buffer that [`Frame::Valid`] ranges index.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// File offset of the next unread frame.
    pub(crate) fn offset(&self) -> u64 {
        self.pos - (self.end - self.start) as u64
    }

    /// Reads the next frame. A non-`Valid` answer leaves the position at
    /// that frame, so a later call (after [`FrameBuf::reset`]) can retry.
    pub(crate) fn next_frame(&mut self, file: &mut File) -> io::Result<Frame> {
        loop {
            let offset = self.offset();
            let avail = self.end - self.start;
            let mut need = FRAME_HEADER_LEN;
            if avail >= FRAME_HEADER_LEN {
                let h = &self.buf[self.start..self.start + FRAME_HEADER_LEN];
                let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
                let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
                if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&len) {
                    return Ok(Frame::Bad {
                        offset,
                        reason: "frame length out of range",
                    });
                }
                need = FRAME_HEADER_LEN + len;
                if avail >= need {
                    let payload = self.start + FRAME_HEADER_LEN..self.start + need;
                    if crc32c::crc32c(&self.buf[payload.clone()]) != crc {
                        return Ok(Frame::Bad {
                            offset,
                            reason: "frame CRC mismatch",
                        });
                    }
                    self.start += need;
                    return Ok(Frame::Valid { offset, payload });
                }
            }
            if !self.fill(file, need)? {
                return Ok(if avail == 0 {
                    Frame::End { offset }
                } else {
                    Frame::Partial { offset }
                });
            }
        }
    }

    /// Reads more bytes so that `need` bytes from `start` may fit. Returns
    /// false at end of file.
    fn fill(&mut self, file: &mut File, need: usize) -> io::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        loop {
            match file.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    self.pos += n as u64;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// What lies from a bad frame to the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beyond {
    /// Read again, the frame is now complete and valid: it was being
    /// written when it was first read.
    NowValid,
    /// A valid frame starts after it: the bad frame is corruption.
    ValidFrames,
    /// Nothing valid after it: a torn tail (or a frame still being written).
    Nothing,
}

/// Looks at the file from the bad frame at `bad_offset` to its end, as it
/// is now. A valid frame (right length, decodable entry, matching CRC)
/// starting anywhere after the bad one tells corruption from a torn tail.
pub(crate) fn beyond_bad_frame(file: &mut File, bad_offset: u64) -> io::Result<Beyond> {
    let mut rest = Vec::new();
    file.seek(SeekFrom::Start(bad_offset))?;
    file.read_to_end(&mut rest)?;
    if valid_frame_at(&rest, 0) {
        return Ok(Beyond::NowValid);
    }
    let found = (1..rest.len()).any(|p| valid_frame_at(&rest, p));
    Ok(if found {
        Beyond::ValidFrames
    } else {
        Beyond::Nothing
    })
}

/// Whether a valid frame starts at `bytes[p]`. Cheap tests first: this
/// runs at every byte offset of a damaged tail.
fn valid_frame_at(bytes: &[u8], p: usize) -> bool {
    let Some(header) = bytes.get(p..p + FRAME_HEADER_LEN) else {
        return false;
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&len) {
        return false;
    }
    let body = p + FRAME_HEADER_LEN;
    let Some(payload) = bytes.get(body..body + len) else {
        return false;
    };
    payload[0] == payload::ENTRY_VERSION
        && payload::decode(payload).is_ok()
        && crc32c::crc32c(payload) == crc
}
