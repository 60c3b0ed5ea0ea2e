//! The `Verified` message (docs/PROTOCOL.md, "Verified"): what the standby
//! found when it compared a replica with a `Checksum` entry at that entry's
//! seq. The same record, as JSON, is a line of the primary's
//! `verify/results.jsonl`.

use std::fmt;

use drx_journal::ChecksumReason;

use super::error::{DecodeError, EncodeError};
use super::message::{Fields, MAX_TEXT_LEN};

/// The longest path of a `Verified`, in bytes of UTF-8 (the journal's
/// limit on a name).
pub const MAX_PATH_LEN: usize = u16::MAX as usize;

const FLAG_PRIMARY_RECORDS: u8 = 0b0000_0001;
const FLAG_REPLICA_RECORDS: u8 = 0b0000_0010;
const FLAG_FIRST_DIFFERENCE: u8 = 0b0000_0100;
const FLAGS_KNOWN: u8 = FLAG_PRIMARY_RECORDS | FLAG_REPLICA_RECORDS | FLAG_FIRST_DIFFERENCE;

/// The verdict of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Code 1: the replica is the same (size, records, and in the full
    /// form every digest).
    Identical,
    /// Code 2: the replica differs.
    Differs,
    /// Code 3: the standby has no replica of the file.
    Missing,
    /// Code 4: the replica could not be compared (its path is refused, it
    /// cannot be read); `text` says why.
    NotChecked,
}

impl Verdict {
    const ALL: [Verdict; 4] = [
        Verdict::Identical,
        Verdict::Differs,
        Verdict::Missing,
        Verdict::NotChecked,
    ];

    /// The verdict's byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            Verdict::Identical => 1,
            Verdict::Differs => 2,
            Verdict::Missing => 3,
            Verdict::NotChecked => 4,
        }
    }

    /// The verdict with this byte, if any.
    pub fn from_code(code: u8) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.code() == code)
    }
}

/// What the standby found when it compared its replica of `path` with the
/// primary's `Checksum` entry `seq`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verified {
    /// The seq of the `Checksum` entry.
    pub seq: u64,
    /// The file, as the primary journals it.
    pub path: String,
    /// Why the checksum was taken.
    #[serde(with = "reason_name")]
    pub reason: ChecksumReason,
    /// The verdict.
    pub verdict: Verdict,
    /// The primary file's size.
    pub primary_size: u64,
    /// The replica's size (0 when missing or not checked).
    pub replica_size: u64,
    /// The primary file's record count, when the capture knew it.
    pub primary_records: Option<u64>,
    /// The replica's record count, when it was counted.
    pub replica_records: Option<u64>,
    /// The block size of the digests; 0 for the cheap form (size and
    /// records only).
    pub block_size: u32,
    /// The first block whose digest differs (or that only one side has).
    pub first_difference: Option<u64>,
    /// Details for a person (may be empty).
    pub text: String,
}

impl Verified {
    /// Bytes `start..end` of the first differing block (the end cut at
    /// the larger of the two sizes).
    pub fn difference_range(&self) -> Option<(u64, u64)> {
        let block = u64::from(self.block_size);
        let index = self.first_difference?;
        let start = index.checked_mul(block)?;
        let end = start
            .saturating_add(block)
            .min(self.primary_size.max(self.replica_size));
        Some((start, end.max(start)))
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        let mut flags = 0;
        if self.primary_records.is_some() {
            flags |= FLAG_PRIMARY_RECORDS;
        }
        if self.replica_records.is_some() {
            flags |= FLAG_REPLICA_RECORDS;
        }
        if self.first_difference.is_some() {
            flags |= FLAG_FIRST_DIFFERENCE;
        }
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.push(self.reason.code());
        out.push(self.verdict.code());
        out.push(flags);
        out.push(0);
        out.extend_from_slice(&self.block_size.to_le_bytes());
        for v in [
            self.primary_size,
            self.replica_size,
            self.primary_records.unwrap_or(0),
            self.replica_records.unwrap_or(0),
            self.first_difference.unwrap_or(0),
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        // `check` made sure both fit a u16.
        out.extend_from_slice(&(self.path.len() as u16).to_le_bytes());
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(&(self.text.len() as u16).to_le_bytes());
        out.extend_from_slice(self.text.as_bytes());
    }

    /// Whether it can be encoded: path and text within their limits.
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        if self.path.len() > MAX_PATH_LEN {
            return Err(EncodeError::TextTooLong {
                len: self.path.len(),
            });
        }
        if self.text.len() > MAX_TEXT_LEN {
            return Err(EncodeError::TextTooLong {
                len: self.text.len(),
            });
        }
        Ok(())
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<Verified, DecodeError> {
        let seq = f.u64("seq")?;
        let reason_code = f.u8("reason")?;
        let reason = ChecksumReason::from_code(reason_code)
            .ok_or_else(|| f.error(format!("reason: unknown reason {reason_code}")))?;
        let verdict_code = f.u8("verdict")?;
        let verdict = Verdict::from_code(verdict_code)
            .ok_or_else(|| f.error(format!("verdict: unknown verdict {verdict_code}")))?;
        let flags = f.u8("flags")?;
        if flags & !FLAGS_KNOWN != 0 {
            return Err(f.error(format!("flags: unknown bits 0x{flags:02X}")));
        }
        if f.u8("reserved")? != 0 {
            return Err(f.error("reserved: must be 0"));
        }
        let block_size = f.u32("block size")?;
        let primary_size = f.u64("primary size")?;
        let replica_size = f.u64("replica size")?;
        let mut optional = |flag: u8, field: &str| -> Result<Option<u64>, DecodeError> {
            let v = f.u64(field)?;
            match (flags & flag != 0, v) {
                (true, v) => Ok(Some(v)),
                (false, 0) => Ok(None),
                (false, _) => Err(f.error(format!("{field}: set without its flag"))),
            }
        };
        let primary_records = optional(FLAG_PRIMARY_RECORDS, "primary records")?;
        let replica_records = optional(FLAG_REPLICA_RECORDS, "replica records")?;
        let first_difference = optional(FLAG_FIRST_DIFFERENCE, "first difference")?;
        let len = f.u16("path length")?;
        let path = f.text(usize::from(len), "path")?;
        let len = f.u16("text length")?;
        let text = f.text(usize::from(len), "text")?;
        Ok(Verified {
            seq,
            path,
            reason,
            verdict,
            primary_size,
            replica_size,
            primary_records,
            replica_records,
            block_size,
            first_difference,
            text,
        })
    }
}

impl fmt::Display for Verified {
    /// One line: `identical: ...` or `DIFFERS at block N (bytes a..b): ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let records = |r: Option<u64>| r.map_or("?".to_owned(), |r| r.to_string());
        let blocks = if self.block_size == 0 {
            "size and records only".to_owned()
        } else {
            let n = self.primary_size.div_ceil(u64::from(self.block_size));
            format!("{n} blocks of {} bytes", self.block_size)
        };
        match self.verdict {
            Verdict::Identical => write!(
                f,
                "identical: size {}, records {}, {blocks}",
                self.primary_size,
                records(self.primary_records)
            )?,
            Verdict::Differs => {
                f.write_str("DIFFERS")?;
                if let (Some(i), Some((a, b))) = (self.first_difference, self.difference_range()) {
                    write!(f, " at block {i} (bytes {a}..{b})")?;
                }
                write!(
                    f,
                    ": size {} vs {}, records {} vs {}",
                    self.primary_size,
                    self.replica_size,
                    records(self.primary_records),
                    records(self.replica_records)
                )?;
            }
            Verdict::Missing => f.write_str("MISSING on the standby")?,
            Verdict::NotChecked => f.write_str("NOT CHECKED")?,
        }
        if !self.text.is_empty() {
            write!(f, " ({})", self.text)?;
        }
        Ok(())
    }
}

/// `ChecksumReason` as its name in JSON.
mod reason_name {
    use drx_journal::ChecksumReason;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(r: &ChecksumReason, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(r.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ChecksumReason, D::Error> {
        let name = String::deserialize(d)?;
        ChecksumReason::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown reason {name:?}")))
    }
}
