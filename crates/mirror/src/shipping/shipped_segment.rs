//! A shipped segment: one file in the shipping directory, named
//! `{first_seq:020}-{last_seq:020}.seg.zst`, holding its manifest (a zstd
//! skippable frame) and then the journal segment compressed as one zstd
//! frame. Written atomically (temporary file, fsync, rename, directory
//! fsync); read back only whole and verified.

use crate::shipping::SHIP_FORMAT_VERSION;
use crate::shipping::error::ShippingError;
use crate::shipping::manifest::{self, Manifest, ManifestError, PREFIX_LEN};
use drx_journal::FORMAT_VERSION;
use drx_journal::SegmentScan as Scanned;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A shipped segment file and what its manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedSegment {
    /// The file.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// A shipped file found in a directory, by its name: its seqs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The first seq, as the name says.
    pub first_seq: u64,
    /// The last seq, as the name says.
    pub last_seq: u64,
    /// The file.
    pub path: PathBuf,
}

/// The shipped files of `dir`, by first seq (temporary files and other
/// names are ignored).
pub(crate) fn list(dir: &Path) -> Result<Vec<Listed>, ShippingError> {
    let mut found = Vec::new();
    for item in std::fs::read_dir(dir).map_err(ShippingError::io(dir))? {
        let item = item.map_err(ShippingError::io(dir))?;
        let name = item.file_name();
        let Some((first_seq, last_seq)) = name.to_str().and_then(manifest::parse_file_name) else {
            continue;
        };
        found.push(Listed {
            first_seq,
            last_seq,
            path: item.path(),
        });
    }
    found.sort_by_key(|l| (l.first_seq, l.last_seq));
    Ok(found)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Compresses a checked sealed segment (`raw`, scanned as `scanned`,
/// whose first entry is `first_seq`) at zstd `level`: its manifest and the
/// compressed bytes.
pub(crate) fn compress(
    raw: &[u8],
    scanned: &Scanned,
    first_seq: u64,
    level: i32,
    path: &Path,
) -> Result<(Manifest, Vec<u8>), ShippingError> {
    let last_seq = scanned
        .last_seq()
        .ok_or_else(|| ShippingError::BadSegment {
            path: path.to_path_buf(),
            reason: "a sealed segment without entries".into(),
        })?;
    let compressed = zstd::bulk::compress(raw, level).map_err(ShippingError::io(path))?;
    let manifest = Manifest {
        version: SHIP_FORMAT_VERSION,
        journal_version: FORMAT_VERSION,
        first_seq,
        last_seq,
        entries: scanned.frames.len() as u64,
        raw_len: raw.len() as u64,
        compressed_len: compressed.len() as u64,
        epoch: scanned.epoch,
        shipped_us: now_us(),
        compressed_blake3: *blake3::hash(&compressed).as_bytes(),
        raw_blake3: *blake3::hash(raw).as_bytes(),
    };
    Ok((manifest, compressed))
}

/// Writes the shipped file into `dir` atomically: `.NAME.tmp`, fsync,
/// rename to NAME, fsync of `dir`. Returns its path.
pub(crate) fn write(
    dir: &Path,
    manifest: &Manifest,
    compressed: &[u8],
) -> Result<PathBuf, ShippingError> {
    let name = manifest.file_name();
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = File::create(&tmp).map_err(ShippingError::io(&tmp))?;
    file.write_all(&manifest.encode())
        .and_then(|()| file.write_all(compressed))
        .and_then(|()| file.sync_all())
        .map_err(ShippingError::io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(ShippingError::io(&path))?;
    sync_dir(dir)?;
    Ok(path)
}

/// fsyncs a directory, so that a rename in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ShippingError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(ShippingError::io(dir))
}

/// The manifest of the shipped file at `path`, if it exists and has a
/// valid one (nothing else is checked).
pub(crate) fn read_manifest(path: &Path) -> Result<Option<Manifest>, ShippingError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ShippingError::io(path)(e)),
    };
    let mut prefix = [0u8; PREFIX_LEN];
    match file.read_exact(&mut prefix) {
        Ok(()) => Ok(Manifest::decode(&prefix).ok()),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(ShippingError::io(path)(e)),
    }
}

/// A shipped file read whole and verified: its manifest, the raw segment
/// and its entries.
#[derive(Debug)]
pub(crate) struct Verified {
    /// Its manifest.
    pub manifest: Manifest,
    /// The journal segment, decompressed.
    pub raw: Vec<u8>,
    /// The segment's entries: their seqs and where they are in `raw`.
    pub scanned: Scanned,
}

/// Reads the shipped file `listed` and checks all of it before anything
/// of it is used: its manifest (and that it agrees with the file name),
/// the blake3 and length of the compressed bytes, the decompression, the
/// blake3 and length of the raw segment, and the segment itself (header,
/// every frame's CRC, decodable entries, seqs from the first to the last
/// with the manifest's count).
pub(crate) fn read_verified(listed: &Listed) -> Result<Verified, ShippingError> {
    let path = &listed.path;
    let damaged = |reason: String| ShippingError::Damaged {
        path: path.clone(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(ShippingError::io(path))?;
    let manifest = Manifest::decode(&bytes).map_err(|e| match e {
        ManifestError::Damaged(reason) => damaged(reason),
        ManifestError::Version(version) => ShippingError::UnsupportedVersion {
            path: path.clone(),
            version,
        },
    })?;
    if (manifest.first_seq, manifest.last_seq) != (listed.first_seq, listed.last_seq) {
        return Err(damaged(format!(
            "its manifest says seqs {} to {}, its name {} to {}",
            manifest.first_seq, manifest.last_seq, listed.first_seq, listed.last_seq
        )));
    }
    let compressed = &bytes[PREFIX_LEN..];
    if compressed.len() as u64 != manifest.compressed_len {
        return Err(damaged(format!(
            "{} compressed bytes, its manifest says {}",
            compressed.len(),
            manifest.compressed_len
        )));
    }
    if blake3::hash(compressed).as_bytes() != &manifest.compressed_blake3 {
        return Err(damaged(
            "the blake3 of its compressed bytes does not match its manifest".into(),
        ));
    }
    let raw = zstd::stream::decode_all(compressed)
        .map_err(|e| damaged(format!("zstd decompression failed: {e}")))?;
    if raw.len() as u64 != manifest.raw_len {
        return Err(damaged(format!(
            "{} bytes decompressed, its manifest says {}",
            raw.len(),
            manifest.raw_len
        )));
    }
    if blake3::hash(&raw).as_bytes() != &manifest.raw_blake3 {
        return Err(damaged(
            "the blake3 of the decompressed segment does not match its manifest".into(),
        ));
    }
    let scanned = drx_journal::scan_segment(&raw, manifest.first_seq)
        .map_err(|reason| damaged(format!("the segment inside: {reason}")))?;
    if scanned.last_seq() != Some(manifest.last_seq)
        || scanned.frames.len() as u64 != manifest.entries
    {
        return Err(damaged(format!(
            "the segment inside holds {} entries, its manifest says {} (seqs {} to {})",
            scanned.frames.len(),
            manifest.entries,
            manifest.first_seq,
            manifest.last_seq
        )));
    }
    Ok(Verified {
        manifest,
        raw,
        scanned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use drx_journal::{Durability, Effect, NewEntry, Writer, WriterConfig};

    #[test]
    fn a_shipped_file_is_a_zstd_file_of_the_segment_and_reads_back_verified() {
        let journal = tempfile::tempdir().unwrap();
        let mut w = Writer::open(WriterConfig {
            durability: Durability::None,
            ..WriterConfig::new(journal.path())
        })
        .unwrap();
        for i in 0..100u64 {
            w.append(&NewEntry {
                txn: 0,
                process: "p",
                file: "/f",
                effect: Effect::Write {
                    offset: i * 8,
                    data: b"recordxx",
                },
                record: None,
            })
            .unwrap();
        }
        w.close().unwrap();
        let segment = drx_journal::segment_files(journal.path())
            .unwrap()
            .remove(0);
        let raw = std::fs::read(&segment.path).unwrap();
        let scanned = drx_journal::scan_segment(&raw, 1).unwrap();
        let (manifest, compressed) = compress(&raw, &scanned, 1, 3, &segment.path).unwrap();
        assert_eq!((manifest.first_seq, manifest.last_seq), (1, 100));
        assert_eq!(manifest.entries, 100);
        let out = tempfile::tempdir().unwrap();
        let path = write(out.path(), &manifest, &compressed).unwrap();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            "00000000000000000001-00000000000000000100.seg.zst"
        );
        // Any zstd decoder reads the whole file as the segment: the
        // manifest is a skippable frame.
        let file = std::fs::read(&path).unwrap();
        assert_eq!(zstd::stream::decode_all(&file[..]).unwrap(), raw);
        assert_eq!(read_manifest(&path).unwrap(), Some(manifest.clone()));
        let listed = list(out.path()).unwrap();
        assert_eq!(listed.len(), 1);
        let verified = read_verified(&listed[0]).unwrap();
        assert_eq!(verified.raw, raw);
        assert_eq!(verified.manifest, manifest);
        assert_eq!(verified.scanned.frames.len(), 100);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
    }
}
