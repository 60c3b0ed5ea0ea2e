//! Segment files: `{first_seq:020}.seg`, a fixed 48-byte header, then frames.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::JournalError;

/// The journal format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Size of a version-1 segment header.
pub(crate) const HEADER_LEN: usize = 48;
const MAGIC: &[u8; 8] = b"DRXJRNL\0";
const SUFFIX: &str = ".seg";
const TMP_SUFFIX: &str = ".seg.tmp";

/// What a segment header records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub epoch: u64,
    pub first_seq: u64,
    pub created_us: i64,
}

impl Header {
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(MAGIC);
        h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        h[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        // 12..16 reserved flags, zero.
        h[16..24].copy_from_slice(&self.epoch.to_le_bytes());
        h[24..32].copy_from_slice(&self.first_seq.to_le_bytes());
        h[32..40].copy_from_slice(&self.created_us.to_le_bytes());
        // 40..44 reserved, zero.
        let crc = crc32c::crc32c(&h[..44]);
        h[44..48].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Parses and checks a header read from `segment`, whose name says it
    /// starts at `first_seq`.
    pub(crate) fn decode(
        h: &[u8; HEADER_LEN],
        segment: &Path,
        first_seq: u64,
    ) -> Result<Header, JournalError> {
        let bad = |reason: String| JournalError::BadHeader {
            segment: segment.to_path_buf(),
            reason,
        };
        let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_le_bytes(b)
        };
        if &h[0..8] != MAGIC {
            return Err(bad("wrong magic (not a drx journal segment)".into()));
        }
        let version = u16_at(8);
        if version != FORMAT_VERSION {
            return Err(JournalError::UnsupportedVersion {
                segment: segment.to_path_buf(),
                version,
            });
        }
        if crc32c::crc32c(&h[..44]) != u32_at(44) {
            return Err(bad("header CRC mismatch".into()));
        }
        if usize::from(u16_at(10)) != HEADER_LEN {
            return Err(bad(format!(
                "header length {} (expected {HEADER_LEN})",
                u16_at(10)
            )));
        }
        let header = Header {
            epoch: u64_at(16),
            first_seq: u64_at(24),
            created_us: u64_at(32) as i64,
        };
        if header.first_seq != first_seq {
            return Err(bad(format!(
                "header says first seq {} but the file name says {first_seq}",
                header.first_seq
            )));
        }
        Ok(header)
    }
}

/// The file name of the segment starting at `first_seq`.
pub(crate) fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SUFFIX}")
}

/// The path of the segment starting at `first_seq`.
pub(crate) fn path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(file_name(first_seq))
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir` as `(first_seq, path)`, oldest first.
pub(crate) fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut segments = Vec::new();
    for item in fs::read_dir(dir).map_err(JournalError::io(dir))? {
        let item = item.map_err(JournalError::io(dir))?;
        if let Some(first) = item.file_name().to_str().and_then(parse_name) {
            segments.push((first, item.path()));
        }
    }
    segments.sort_unstable();
    Ok(segments)
}

/// Removes leftovers of segment creations that crashed before their rename.
pub(crate) fn remove_temporaries(dir: &Path) -> Result<(), JournalError> {
    for item in fs::read_dir(dir).map_err(JournalError::io(dir))? {
        let item = item.map_err(JournalError::io(dir))?;
        if item
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(TMP_SUFFIX))
        {
            let p = item.path();
            fs::remove_file(&p).map_err(JournalError::io(&p))?;
        }
    }
    Ok(())
}

/// Reads the header of the open segment `file` at `segment`. `Ok(None)` when
/// the file is shorter than a header (a creation torn by a crash).
pub(crate) fn read_header(
    file: &mut File,
    segment: &Path,
    first_seq: u64,
) -> Result<Option<Header>, JournalError> {
    let mut h = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match file.read(&mut h[got..]) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(JournalError::io(segment)(e)),
        }
    }
    Header::decode(&h, segment, first_seq).map(Some)
}

/// Creates the segment starting at `first_seq`: the header is written to a
/// temporary file (fsynced when `sync`), which is then renamed into place,
/// so that a segment is never seen without its header. The returned file is
/// open for writing, positioned after the header. The caller fsyncs `dir`.
pub(crate) fn create(
    dir: &Path,
    header: &Header,
    sync: bool,
) -> Result<(File, PathBuf), JournalError> {
    let tmp = dir.join(format!("{:020}{TMP_SUFFIX}", header.first_seq));
    let target = path(dir, header.first_seq);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(JournalError::io(&tmp))?;
    file.write_all(&header.encode())
        .map_err(JournalError::io(&tmp))?;
    if sync {
        file.sync_data().map_err(JournalError::io(&tmp))?;
    }
    fs::rename(&tmp, &target).map_err(JournalError::io(&target))?;
    Ok((file, target))
}

/// fsyncs a directory so that creations, renames and removals in it last.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(JournalError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = Header {
            epoch: 4,
            first_seq: 77,
            created_us: 1_700_000_000_000_000,
        };
        let bytes = h.encode();
        let p = Path::new("/j/x.seg");
        assert_eq!(Header::decode(&bytes, p, 77).expect("valid"), h);
        assert!(matches!(
            Header::decode(&bytes, p, 78),
            Err(JournalError::BadHeader { .. })
        ));
        for i in 0..HEADER_LEN {
            let mut b = bytes;
            b[i] ^= 0x01;
            let err = Header::decode(&b, p, 77).expect_err("damaged");
            if (8..10).contains(&i) {
                assert!(
                    matches!(err, JournalError::UnsupportedVersion { .. }),
                    "{err}"
                );
            } else {
                assert!(matches!(err, JournalError::BadHeader { .. }), "{err}");
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(file_name(1), "00000000000000000001.seg");
        assert_eq!(parse_name("00000000000000000001.seg"), Some(1));
        assert_eq!(parse_name("00000000000000000001.seg.tmp"), None);
        assert_eq!(parse_name("1.seg"), None);
        assert_eq!(parse_name("0000000000000000000x.seg"), None);
    }
}
