//! A journal segment as bytes: the sealed segments of a journal directory,
//! and the check of a whole sealed segment (header, then frames back to
//! back up to its end, each CRC-valid, decodable and in seq order), as
//! docs/JOURNAL_FORMAT.md specifies them. Shipping reads segments as
//! another reader would; it never writes one (see `seal.rs` for the one
//! exception, the header of a new empty segment).

use crate::shipping::error::ShippingError;
use drx_journal::{FORMAT_VERSION, MAX_PAYLOAD, decode_entry};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The size of a version-1 segment header.
pub(crate) const HEADER_LEN: usize = 48;
/// The magic that starts a segment.
pub(crate) const MAGIC: &[u8; 8] = b"DRXJRNL\0";
/// A frame's length and CRC.
const FRAME_HEADER_LEN: usize = 8;
/// The smallest payload: an entry's fixed part.
const MIN_PAYLOAD: usize = 40;

/// One segment file of a journal directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentFile {
    /// The seq of its first entry (its name).
    pub first_seq: u64,
    /// The file.
    pub path: PathBuf,
}

/// The file name of the segment starting at `first_seq`.
pub(crate) fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

/// The segments in `dir`, oldest first.
pub(crate) fn list(dir: &Path) -> Result<Vec<SegmentFile>, ShippingError> {
    let mut segments = Vec::new();
    for item in std::fs::read_dir(dir).map_err(ShippingError::io(dir))? {
        let item = item.map_err(ShippingError::io(dir))?;
        let name = item.file_name();
        let Some(first_seq) = name.to_str().and_then(parse_name) else {
            continue;
        };
        segments.push(SegmentFile {
            first_seq,
            path: item.path(),
        });
    }
    segments.sort_by_key(|s| s.first_seq);
    Ok(segments)
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What a whole sealed segment holds.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// The epoch of its header.
    pub epoch: u64,
    /// Each entry's seq and where its payload (the encoded entry) is.
    pub frames: Vec<(u64, Range<usize>)>,
}

impl Scanned {
    /// The seq of the last entry, if any.
    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.frames.last().map(|(seq, _)| *seq)
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

/// Checks `bytes` as a whole sealed segment whose first entry is
/// `first_seq`: the header, then valid frames up to the last byte, with
/// seqs `first_seq, first_seq + 1, ...`. The error says what is wrong and
/// at which byte offset.
pub(crate) fn scan(bytes: &[u8], first_seq: u64) -> Result<Scanned, String> {
    let h = bytes
        .get(..HEADER_LEN)
        .ok_or_else(|| format!("{} bytes, shorter than a segment header", bytes.len()))?;
    if &h[0..8] != MAGIC {
        return Err("wrong magic (not a drx journal segment)".into());
    }
    let version = u16::from_le_bytes([h[8], h[9]]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "journal format version {version} (this drx reads version {FORMAT_VERSION})"
        ));
    }
    if crc32c::crc32c(&h[..44]) != u32_at(h, 44) {
        return Err("segment header CRC mismatch".into());
    }
    if usize::from(u16::from_le_bytes([h[10], h[11]])) != HEADER_LEN {
        return Err("segment header length is not 48".into());
    }
    if u64_at(h, 24) != first_seq {
        return Err(format!(
            "the segment header says first seq {} but {first_seq} was expected",
            u64_at(h, 24)
        ));
    }
    let mut frames = Vec::new();
    let mut offset = HEADER_LEN;
    let mut next = first_seq;
    while offset < bytes.len() {
        let at = |what: &str| format!("{what} at byte offset {offset}");
        let head = bytes
            .get(offset..offset + FRAME_HEADER_LEN)
            .ok_or_else(|| at("incomplete frame header"))?;
        let len = u32_at(head, 0) as usize;
        if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&len) {
            return Err(at(&format!("frame length {len} out of range")));
        }
        let start = offset + FRAME_HEADER_LEN;
        let payload = bytes
            .get(start..start + len)
            .ok_or_else(|| at("incomplete frame"))?;
        if crc32c::crc32c(payload) != u32_at(head, 4) {
            return Err(at("frame CRC mismatch"));
        }
        let entry = decode_entry(payload).map_err(|e| at(&format!("undecodable entry ({e})")))?;
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
    Ok(Scanned {
        epoch: u64_at(h, 16),
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use drx_journal::{Durability, Effect, NewEntry, Writer, WriterConfig};

    fn journal(entries: u64) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::open(WriterConfig {
            durability: Durability::None,
            ..WriterConfig::new(dir.path())
        })
        .unwrap();
        for i in 0..entries {
            w.append(&NewEntry {
                txn: 0,
                process: "p",
                file: "/f",
                effect: Effect::Write {
                    offset: i * 4,
                    data: b"abcd",
                },
                record: None,
            })
            .unwrap();
        }
        w.close().unwrap();
        dir
    }

    #[test]
    fn a_whole_segment_scans_and_damage_is_named_with_its_offset() {
        let dir = journal(5);
        let segments = list(dir.path()).unwrap();
        assert_eq!(segments.len(), 1);
        assert_eq!(segments[0].first_seq, 1);
        let bytes = std::fs::read(&segments[0].path).unwrap();
        let scanned = scan(&bytes, 1).unwrap();
        assert_eq!(scanned.frames.len(), 5);
        assert_eq!(scanned.last_seq(), Some(5));
        assert_eq!(scanned.epoch, 1);

        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let err = scan(&bad, 1).unwrap_err();
        assert!(err.contains("frame CRC mismatch at byte offset"), "{err}");
        let err = scan(&bytes[..bytes.len() - 3], 1).unwrap_err();
        assert!(err.contains("incomplete frame"), "{err}");
        let err = scan(&bytes, 2).unwrap_err();
        assert!(err.contains("first seq 1 but 2"), "{err}");
    }
}
