//! Segments as other programs see them: the segment files of a journal
//! directory, and the check of a whole sealed segment held in memory
//! (what log shipping sends and receives: docs/LOG_SHIPPING.md).

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::frame::{FRAME_HEADER_LEN, MAX_PAYLOAD, MIN_PAYLOAD};
use crate::payload;
use crate::segment::{self, HEADER_LEN, Header};

/// One segment file of a journal directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    /// The seq of its first entry (its name).
    pub first_seq: u64,
    /// The file.
    pub path: PathBuf,
}

/// The segment files of the journal in `dir`, oldest first. Every one but
/// the newest is sealed (complete); the newest may be growing.
pub fn segment_files(dir: &Path) -> Result<Vec<SegmentFile>, JournalError> {
    Ok(segment::list(dir)?
        .into_iter()
        .map(|(first_seq, path)| SegmentFile { first_seq, path })
        .collect())
}

/// What a whole sealed segment holds ([`scan_segment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    /// The epoch of its header.
    pub epoch: u64,
    /// Each entry's seq and where its payload (the encoded entry, for
    /// [`decode_entry`](crate::decode_entry)) lies in the bytes.
    pub frames: Vec<(u64, Range<usize>)>,
}

impl SegmentScan {
    /// The seq of the last entry, if any.
    pub fn last_seq(&self) -> Option<u64> {
        self.frames.last().map(|(seq, _)| *seq)
    }
}

/// Checks `bytes` as a whole sealed segment whose first entry is
/// `first_seq` (docs/JOURNAL_FORMAT.md): the header, then valid frames up
/// to the last byte, their entries decodable with seqs `first_seq,
/// first_seq + 1, ...`. The error says what is wrong and at which byte
/// offset.
pub fn scan_segment(bytes: &[u8], first_seq: u64) -> Result<SegmentScan, String> {
    let Some(head) = bytes.first_chunk::<HEADER_LEN>() else {
        return Err(format!(
            "{} bytes, shorter than a segment header",
            bytes.len()
        ));
    };
    let header = Header::decode(head, Path::new("segment"), first_seq).map_err(|e| match e {
        JournalError::BadHeader { reason, .. } => reason,
        other => other.to_string(),
    })?;
    let mut frames = Vec::new();
    let mut offset = HEADER_LEN;
    let mut next = first_seq;
    while offset < bytes.len() {
        let at = |what: &str| format!("{what} at byte offset {offset}");
        let Some(head) = bytes.get(offset..offset + FRAME_HEADER_LEN) else {
            return Err(at("incomplete frame header"));
        };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&len) {
            return Err(at(&format!("frame length {len} out of range")));
        }
        let start = offset + FRAME_HEADER_LEN;
        let Some(payload) = bytes.get(start..start + len) else {
            return Err(at("incomplete frame"));
        };
        if crc32c::crc32c(payload) != crc {
            return Err(at("frame CRC mismatch"));
        }
        let entry =
            payload::decode(payload).map_err(|e| at(&format!("undecodable entry ({e})")))?;
        if entry.seq != next {
            return Err(at(&format!(
                "sequence break: expected seq {next}, found {}",
                entry.seq
            )));
        }
        frames.push((next, start..start + len));
        next += 1;
        offset = start + len;
    }
    Ok(SegmentScan {
        epoch: header.epoch,
        frames,
    })
}
