//! Comparing a replica with a `Checksum` entry (docs/JOURNAL_FORMAT.md,
//! "The Checksum body"), at the entry's seq: the replica's size, its
//! record count (counted from its bytes by the entry's organization), and
//! in the full form its blake3 digests in the entry's block size. The
//! first block whose digest differs is named.

use crate::protocol::{Verdict, Verified};
use drx_journal::{Checksum, FileOrganization, digest_file_in_blocks};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Reads of the cheap form's record count, at most this large.
const READ_CHUNK: usize = 1 << 20;

/// The comparison's starting point: the primary's side known, the
/// replica's not yet.
pub(crate) fn unchecked(seq: u64, path: &str, c: &Checksum<'_>, text: String) -> Verified {
    Verified {
        seq,
        path: path.to_owned(),
        reason: c.reason(),
        verdict: Verdict::NotChecked,
        primary_size: c.size(),
        replica_size: 0,
        primary_records: c.records(),
        replica_records: None,
        block_size: c.block_size(),
        first_difference: None,
        text,
    }
}

/// Compares the replica `file` with `c` (entry `seq` of `path`).
pub(crate) fn compare(seq: u64, path: &str, c: &Checksum<'_>, file: &File) -> Verified {
    let base = unchecked(seq, path, c, String::new());
    match measure(c, file) {
        Ok(found) => judge(c, base, found),
        Err(e) => Verified {
            text: format!("reading the replica: {e}"),
            ..base
        },
    }
}

/// What the replica holds.
struct Found {
    size: u64,
    records: Option<u64>,
    /// Full form: the whole file's digest and the block digests.
    digests: Option<([u8; 32], Vec<[u8; 32]>)>,
}

fn measure(c: &Checksum<'_>, file: &File) -> io::Result<Found> {
    let size = file.metadata()?.len();
    // Records are counted only when the primary knew its count.
    let mut counter = c
        .records()
        .and_then(|_| RecordCounter::new(c.organization(), c.record_len()));
    if c.is_full() {
        let d = digest_file_in_blocks(file, c.block_size(), |bytes| {
            if let Some(k) = &mut counter {
                k.feed(bytes);
            }
        })?;
        let records = counter.and_then(|k| k.finish(d.size));
        return Ok(Found {
            size,
            records,
            digests: Some((d.file, d.blocks)),
        });
    }
    if let Some(k) = counter.as_mut().filter(|k| k.reads()) {
        let mut buf = vec![0u8; READ_CHUNK.min(usize::try_from(size).unwrap_or(READ_CHUNK))];
        let mut at = 0u64;
        while at < size && !buf.is_empty() {
            let n = file.read_at(&mut buf, at)?;
            if n == 0 {
                break;
            }
            k.feed(&buf[..n]);
            at += n as u64;
        }
    }
    Ok(Found {
        size,
        records: counter.and_then(|k| k.finish(size)),
        digests: None,
    })
}

fn judge(c: &Checksum<'_>, base: Verified, found: Found) -> Verified {
    let mut v = Verified {
        replica_size: found.size,
        replica_records: found.records,
        ..base
    };
    let mut same =
        found.size == c.size() && (c.records().is_none() || found.records == c.records());
    if let Some((whole, blocks)) = &found.digests {
        let count = c.block_count().max(blocks.len() as u64);
        v.first_difference =
            (0..count).find(|&i| c.block(i) != usize::try_from(i).ok().and_then(|i| blocks.get(i)));
        same &= v.first_difference.is_none() && c.file_digest() == Some(whole);
    }
    v.verdict = if same {
        Verdict::Identical
    } else {
        Verdict::Differs
    };
    v
}

/// Counts records in a file's bytes, fed in order from the start, by the
/// rules of docs/JOURNAL_FORMAT.md ("The Checksum body").
#[derive(Debug)]
pub(crate) enum RecordCounter {
    /// Fixed-length records: `size / len`.
    Fixed { len: u64 },
    /// Slots of a status byte and a record: those whose status is 1.
    Slots { slot: u64, at: u64, present: u64 },
    /// Length-prefixed records (4-byte big-endian length).
    Sequential {
        /// The offset of the next byte fed.
        at: u64,
        /// The offset of the next record's length prefix.
        next: u64,
        prefix: [u8; 4],
        /// Bytes of the prefix at `next` already seen.
        have: usize,
        count: u64,
    },
}

impl RecordCounter {
    /// A counter for files of this organization and record length; `None`
    /// when records cannot be counted (unknown organization or length).
    pub(crate) fn new(organization: FileOrganization, record_len: u32) -> Option<RecordCounter> {
        let len = u64::from(record_len);
        match organization {
            FileOrganization::Fixed if len > 0 => Some(RecordCounter::Fixed { len }),
            FileOrganization::Relative | FileOrganization::Indexed if len > 0 => {
                Some(RecordCounter::Slots {
                    slot: len + 1,
                    at: 0,
                    present: 0,
                })
            }
            FileOrganization::Sequential => Some(RecordCounter::Sequential {
                at: 0,
                next: 0,
                prefix: [0; 4],
                have: 0,
                count: 0,
            }),
            _ => None,
        }
    }

    /// Whether the count needs the bytes (not only the size).
    pub(crate) fn reads(&self) -> bool {
        !matches!(self, RecordCounter::Fixed { .. })
    }

    /// Takes the next bytes of the file.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        match self {
            RecordCounter::Fixed { .. } => {}
            RecordCounter::Slots { slot, at, present } => {
                let end = *at + bytes.len() as u64;
                // The first status byte at or after `at`.
                let mut status = at.div_ceil(*slot) * *slot;
                while status < end {
                    if let Some(&b) = usize::try_from(status - *at)
                        .ok()
                        .and_then(|i| bytes.get(i))
                    {
                        *present += u64::from(b == 1);
                    }
                    status += *slot;
                }
                *at = end;
            }
            RecordCounter::Sequential {
                at,
                next,
                prefix,
                have,
                count,
            } => {
                let end = *at + bytes.len() as u64;
                while *next + (*have as u64) < end {
                    let Ok(off) = usize::try_from(*next + *have as u64 - *at) else {
                        break;
                    };
                    let take = (4 - *have).min(bytes.len() - off);
                    prefix[*have..*have + take].copy_from_slice(&bytes[off..off + take]);
                    *have += take;
                    if *have < 4 {
                        break;
                    }
                    *next += 4 + u64::from(u32::from_be_bytes(*prefix));
                    *have = 0;
                    *count += 1;
                }
                *at = end;
            }
        }
    }

    /// The count for a file of `size` bytes (all fed), or `None` when its
    /// bytes do not fit the organization.
    pub(crate) fn finish(self, size: u64) -> Option<u64> {
        match self {
            RecordCounter::Fixed { len } => size.is_multiple_of(len).then(|| size / len),
            RecordCounter::Slots { slot, present, .. } => {
                size.is_multiple_of(slot).then_some(present)
            }
            RecordCounter::Sequential {
                next, have, count, ..
            } => (have == 0 && next == size).then_some(count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(org: FileOrganization, len: u32, bytes: &[u8], pieces: usize) -> Option<u64> {
        let mut k = RecordCounter::new(org, len)?;
        for chunk in bytes.chunks(pieces.max(1)) {
            k.feed(chunk);
        }
        k.finish(bytes.len() as u64)
    }

    #[test]
    fn records_are_counted_by_organization_in_any_pieces() {
        let slots = [1u8, b'a', b'b', 0, b'c', b'd', 1, b'e', b'f'];
        let mut seq = Vec::new();
        for r in [&b"abc"[..], b"", b"defgh"] {
            seq.extend_from_slice(&(r.len() as u32).to_be_bytes());
            seq.extend_from_slice(r);
        }
        for pieces in [1, 2, 3, 5, 100] {
            assert_eq!(count(FileOrganization::Fixed, 3, &slots, pieces), Some(3));
            assert_eq!(count(FileOrganization::Fixed, 4, &slots, pieces), None);
            assert_eq!(
                count(FileOrganization::Relative, 2, &slots, pieces),
                Some(2)
            );
            assert_eq!(count(FileOrganization::Indexed, 2, &slots, pieces), Some(2));
            assert_eq!(count(FileOrganization::Relative, 3, &slots, pieces), None);
            assert_eq!(
                count(FileOrganization::Sequential, 0, &seq, pieces),
                Some(3)
            );
            assert_eq!(
                count(
                    FileOrganization::Sequential,
                    0,
                    &seq[..seq.len() - 1],
                    pieces
                ),
                None
            );
            assert_eq!(
                count(
                    FileOrganization::Sequential,
                    0,
                    &seq[..seq.len() - 7],
                    pieces
                ),
                None
            );
        }
        assert_eq!(count(FileOrganization::Sequential, 0, &[], 1), Some(0));
        assert!(RecordCounter::new(FileOrganization::Unknown, 8).is_none());
        assert!(RecordCounter::new(FileOrganization::Fixed, 0).is_none());
    }
}
