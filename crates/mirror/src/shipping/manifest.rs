//! The manifest of a shipped segment: what it holds (first and last seq,
//! entry count, lengths), how to check it (blake3 of the compressed and of
//! the raw bytes) and its format version. It opens the shipped file as a
//! zstd *skippable frame*, so that the file is a valid `.zst` whose
//! decompression is the journal segment itself (docs/LOG_SHIPPING.md).

use crate::shipping::SHIP_FORMAT_VERSION;

/// The first four bytes of the file: a zstd skippable frame's magic
/// (0x184D2A50 to 0x184D2A5F are reserved for those; drx takes ...5D).
pub const SKIPPABLE_MAGIC: u32 = 0x184D_2A5D;
/// The manifest's own magic, first in the skippable frame's data.
pub const MANIFEST_MAGIC: &[u8; 8] = b"DRXSHIP\0";
/// The manifest's length in format version 1 (the skippable frame's data).
pub const MANIFEST_LEN: usize = 148;
/// The skippable frame: magic, length, manifest.
pub const PREFIX_LEN: usize = 8 + MANIFEST_LEN;
/// Compression code 1: one zstd frame.
pub const COMPRESSION_ZSTD: u32 = 1;
/// The length of a blake3 digest.
pub const DIGEST_LEN: usize = 32;

/// What a shipped segment holds, as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The shipped-segment format version.
    pub version: u16,
    /// The journal format version of the segment (its header's).
    pub journal_version: u16,
    /// The seq of the first entry.
    pub first_seq: u64,
    /// The seq of the last entry.
    pub last_seq: u64,
    /// The number of entries (`last_seq - first_seq + 1`).
    pub entries: u64,
    /// The segment's length in bytes (uncompressed).
    pub raw_len: u64,
    /// The length of the compressed bytes after the manifest.
    pub compressed_len: u64,
    /// The epoch of the segment's header.
    pub epoch: u64,
    /// When it was shipped, microseconds since 1970-01-01T00:00:00Z.
    pub shipped_us: i64,
    /// blake3 of the compressed bytes (everything after the manifest).
    pub compressed_blake3: [u8; DIGEST_LEN],
    /// blake3 of the raw segment (the journal's segment file).
    pub raw_blake3: [u8; DIGEST_LEN],
}

/// Why a manifest cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ManifestError {
    /// Not a manifest, or a damaged one.
    Damaged(String),
    /// A manifest of another format version.
    Version(u16),
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(a)
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

impl Manifest {
    /// The skippable frame that opens the shipped file: 8 bytes of frame
    /// header, then the manifest with its CRC32C.
    pub(crate) fn encode(&self) -> [u8; PREFIX_LEN] {
        let mut out = [0u8; PREFIX_LEN];
        out[0..4].copy_from_slice(&SKIPPABLE_MAGIC.to_le_bytes());
        out[4..8].copy_from_slice(&(MANIFEST_LEN as u32).to_le_bytes());
        let m = &mut out[8..];
        m[0..8].copy_from_slice(MANIFEST_MAGIC);
        m[8..10].copy_from_slice(&self.version.to_le_bytes());
        m[10..12].copy_from_slice(&(MANIFEST_LEN as u16).to_le_bytes());
        m[12..14].copy_from_slice(&self.journal_version.to_le_bytes());
        // 14..16 reserved, zero.
        m[16..24].copy_from_slice(&self.first_seq.to_le_bytes());
        m[24..32].copy_from_slice(&self.last_seq.to_le_bytes());
        m[32..40].copy_from_slice(&self.entries.to_le_bytes());
        m[40..48].copy_from_slice(&self.raw_len.to_le_bytes());
        m[48..56].copy_from_slice(&self.compressed_len.to_le_bytes());
        m[56..64].copy_from_slice(&self.epoch.to_le_bytes());
        m[64..72].copy_from_slice(&self.shipped_us.to_le_bytes());
        m[72..76].copy_from_slice(&COMPRESSION_ZSTD.to_le_bytes());
        // 76..80 reserved, zero.
        m[80..112].copy_from_slice(&self.compressed_blake3);
        m[112..144].copy_from_slice(&self.raw_blake3);
        let crc = crc32c::crc32c(&m[..144]);
        m[144..148].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads the manifest at the start of a shipped file (`prefix`: at
    /// least its first [`PREFIX_LEN`] bytes), checking its magic, version,
    /// CRC, reserved fields and that its seqs and count agree.
    pub(crate) fn decode(prefix: &[u8]) -> Result<Manifest, ManifestError> {
        let bad = |s: &str| ManifestError::Damaged(s.to_owned());
        let p = prefix
            .get(..PREFIX_LEN)
            .ok_or_else(|| bad("shorter than its manifest"))?;
        if u32_at(p, 0) != SKIPPABLE_MAGIC || &p[8..16] != MANIFEST_MAGIC {
            return Err(bad("no drx manifest at its start (wrong magic)"));
        }
        let m = &p[8..];
        let version = u16_at(m, 8);
        if version != SHIP_FORMAT_VERSION {
            return Err(ManifestError::Version(version));
        }
        if u32_at(p, 4) as usize != MANIFEST_LEN || usize::from(u16_at(m, 10)) != MANIFEST_LEN {
            return Err(bad("manifest length is not 148"));
        }
        if crc32c::crc32c(&m[..144]) != u32_at(m, 144) {
            return Err(bad("manifest CRC mismatch"));
        }
        if u16_at(m, 14) != 0 || u32_at(m, 76) != 0 {
            return Err(bad("manifest reserved field not zero"));
        }
        if u32_at(m, 72) != COMPRESSION_ZSTD {
            return Err(bad("unknown compression code"));
        }
        let mut compressed_blake3 = [0u8; DIGEST_LEN];
        compressed_blake3.copy_from_slice(&m[80..112]);
        let mut raw_blake3 = [0u8; DIGEST_LEN];
        raw_blake3.copy_from_slice(&m[112..144]);
        let manifest = Manifest {
            version,
            journal_version: u16_at(m, 12),
            first_seq: u64_at(m, 16),
            last_seq: u64_at(m, 24),
            entries: u64_at(m, 32),
            raw_len: u64_at(m, 40),
            compressed_len: u64_at(m, 48),
            epoch: u64_at(m, 56),
            shipped_us: u64_at(m, 64) as i64,
            compressed_blake3,
            raw_blake3,
        };
        if manifest.first_seq == 0
            || manifest.last_seq < manifest.first_seq
            || manifest.entries != manifest.last_seq - manifest.first_seq + 1
        {
            return Err(bad("manifest seqs and entry count disagree"));
        }
        Ok(manifest)
    }

    /// The shipped file's name: `{first_seq:020}-{last_seq:020}.seg.zst`.
    pub fn file_name(&self) -> String {
        file_name(self.first_seq, self.last_seq)
    }
}

/// The name of the shipped file of seqs `first..=last`.
pub(crate) fn file_name(first: u64, last: u64) -> String {
    format!("{first:020}-{last:020}.seg.zst")
}

/// The seqs a shipped file's name says it holds.
pub(crate) fn parse_file_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".seg.zst")?;
    let (first, last) = stem.split_once('-')?;
    let number = |s: &str| {
        (s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (first, last) = (number(first)?, number(last)?);
    (first >= 1 && last >= first).then_some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            version: SHIP_FORMAT_VERSION,
            journal_version: 1,
            first_seq: 10,
            last_seq: 19,
            entries: 10,
            raw_len: 1000,
            compressed_len: 300,
            epoch: 2,
            shipped_us: 1_700_000_000_000_000,
            compressed_blake3: [7; 32],
            raw_blake3: [9; 32],
        }
    }

    #[test]
    fn a_manifest_round_trips_and_damage_is_refused() {
        let m = sample();
        let bytes = m.encode();
        assert_eq!(Manifest::decode(&bytes), Ok(m.clone()));
        for i in 0..bytes.len() {
            let mut bad = bytes;
            bad[i] ^= 0x40;
            assert!(Manifest::decode(&bad).is_err(), "byte {i}");
        }
        let mut other = bytes;
        other[16..18].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(Manifest::decode(&other), Err(ManifestError::Version(2)));
    }

    #[test]
    fn names_round_trip() {
        let m = sample();
        assert_eq!(
            m.file_name(),
            "00000000000000000010-00000000000000000019.seg.zst"
        );
        assert_eq!(parse_file_name(&m.file_name()), Some((10, 19)));
        for bad in [
            "x.seg.zst",
            "00000000000000000010-00000000000000000009.seg.zst",
            ".00000000000000000010-00000000000000000019.seg.zst.tmp",
            "00000000000000000010.seg",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }
}
