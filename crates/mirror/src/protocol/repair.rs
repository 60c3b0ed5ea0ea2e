//! The `RepairRequest` and `Repair` messages (docs/PROTOCOL.md, version
//! 2): a rejoining node asks a promoted primary for the current bytes of
//! the file ranges its own diverged entries wrote, and gets them, so that
//! replaying the primary's entries over them gives the primary's files
//! (docs/DR.md, "Failback").

use super::error::{DecodeError, EncodeError};
use super::message::Fields;

/// The most bytes of file data in one `Repair`.
pub const MAX_REPAIR_DATA: usize = 1024 * 1024;

/// A range's length meaning "to the end of the file".
pub const TO_THE_END: u64 = u64::MAX;

const FLAG_LAST: u8 = 0b0000_0001;
const FLAG_ABSENT: u8 = 0b0000_0010;

/// The ranges of one file a rejoining node asks for, named as its journal
/// names the file (the primary maps the name as its replica did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairWant {
    /// The process of the entries that wrote the file (the Files Table
    /// record that maps a path may depend on it).
    pub process: String,
    /// The file, as the rejoining node's journal names it.
    pub file: String,
    /// `(offset, length)` pairs; a length of [`TO_THE_END`] runs to the end
    /// of the file.
    pub ranges: Vec<(u64, u64)>,
}

/// Every file range a rejoining node needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepairRequest {
    /// The files, each once.
    pub files: Vec<RepairWant>,
}

/// Part of the answer: bytes of one of the primary's files as they are now
/// (or that it does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// As in the request.
    pub process: String,
    /// As in the request.
    pub file: String,
    /// The file's length now; `None`: the file does not exist.
    pub len: Option<u64>,
    /// Where `data` goes.
    pub offset: u64,
    /// The file's bytes at `offset` (at most [`MAX_REPAIR_DATA`]).
    pub data: Vec<u8>,
    /// The last message of the answer.
    pub last: bool,
}

fn name(out: &mut Vec<u8>, s: &str) {
    // Checked: at most u16::MAX bytes.
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn check_name(s: &str) -> Result<(), EncodeError> {
    if s.len() > usize::from(u16::MAX) {
        return Err(EncodeError::Invalid(format!(
            "a name of {} bytes (at most 65,535)",
            s.len()
        )));
    }
    Ok(())
}

fn read_name(f: &mut Fields<'_>, field: &str) -> Result<String, DecodeError> {
    let len = f.u16(&format!("{field} length"))?;
    f.text(usize::from(len), field)
}

impl RepairRequest {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        for want in &self.files {
            check_name(&want.process)?;
            check_name(&want.file)?;
        }
        Ok(())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        for want in &self.files {
            name(out, &want.process);
            name(out, &want.file);
            out.extend_from_slice(&(want.ranges.len() as u32).to_le_bytes());
            for (offset, len) in &want.ranges {
                out.extend_from_slice(&offset.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
            }
        }
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<RepairRequest, DecodeError> {
        let count = f.u32("file count")?;
        let mut files = Vec::new();
        for _ in 0..count {
            let process = read_name(f, "process")?;
            let file = read_name(f, "file")?;
            let n = f.u32("range count")?;
            let mut ranges = Vec::new();
            for _ in 0..n {
                let offset = f.u64("range offset")?;
                let len = f.u64("range length")?;
                ranges.push((offset, len));
            }
            files.push(RepairWant {
                process,
                file,
                ranges,
            });
        }
        Ok(RepairRequest { files })
    }
}

impl Repair {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.process)?;
        check_name(&self.file)?;
        if self.data.len() > MAX_REPAIR_DATA {
            return Err(EncodeError::Invalid(format!(
                "a Repair of {} bytes of data (at most {MAX_REPAIR_DATA})",
                self.data.len()
            )));
        }
        Ok(())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        let mut flags = 0;
        if self.last {
            flags |= FLAG_LAST;
        }
        if self.len.is_none() {
            flags |= FLAG_ABSENT;
        }
        out.push(flags);
        name(out, &self.process);
        name(out, &self.file);
        out.extend_from_slice(&self.len.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.data);
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<Repair, DecodeError> {
        let flags = f.u8("flags")?;
        if flags & !(FLAG_LAST | FLAG_ABSENT) != 0 {
            return Err(f.error(format!("flags: unknown bits 0x{flags:02X}")));
        }
        let process = read_name(f, "process")?;
        let file = read_name(f, "file")?;
        let len = f.u64("file length")?;
        let offset = f.u64("offset")?;
        let data_len = f.u32("data length")? as usize;
        if data_len > MAX_REPAIR_DATA {
            return Err(f.error(format!("data length {data_len} > {MAX_REPAIR_DATA}")));
        }
        let absent = flags & FLAG_ABSENT != 0;
        if absent && (len != 0 || data_len != 0) {
            return Err(f.error("an absent file with a length or data"));
        }
        let data = f.bytes(data_len, "data")?.to_vec();
        Ok(Repair {
            process,
            file,
            len: (!absent).then_some(len),
            offset,
            data,
            last: flags & FLAG_LAST != 0,
        })
    }
}
