//! The messages of log shipping over a transfer session (docs/PROTOCOL.md,
//! "Transfer sessions"; docs/LOG_SHIPPING.md, "Over the mirror
//! connection"): `drx ship --to-standby` sends shipped-segment files, the
//! same bytes `drx ship --to DIR` writes, and the standby server applies
//! each one through its own apply.
//!
//! * [`ShipOffer`] — a shipped file is coming: its name and length;
//! * [`ShipHave`] — the standby's answer: how many of its bytes it holds
//!   already (from a transfer cut short), so the sender goes on from there;
//! * [`ShipData`] — bytes of the file at an offset (at most
//!   [`MAX_SHIP_DATA`]), in order;
//! * [`ShipEnd`] — the whole file was sent: verify and apply it;
//! * [`ShipApplied`] — the standby's answer: its durable seq after the
//!   file, or why nothing of it was applied.

use super::error::{DecodeError, EncodeError};
use super::message::Fields;
use super::transfer::{check_name, name, read_name};

/// The most bytes of a shipped file in one `ShipData` message.
pub const MAX_SHIP_DATA: usize = 1024 * 1024;

const FLAG_FAILED: u8 = 0b0000_0001;

/// Primary → standby: a shipped file is coming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipOffer {
    /// The shipped file's name, `{first_seq:020}-{last_seq:020}.seg.zst`.
    pub name: String,
    /// Its length in bytes (manifest and compressed segment).
    pub len: u64,
}

/// Standby → primary: the bytes of the offered file it holds already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipHave {
    /// As offered.
    pub name: String,
    /// Bytes held from the start of the file (0 to its length): the
    /// sender goes on at this offset.
    pub have: u64,
}

/// Primary → standby: bytes of the offered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipData {
    /// As offered.
    pub name: String,
    /// Where `data` goes: the end of what the standby holds.
    pub offset: u64,
    /// The file's bytes at `offset` (at most [`MAX_SHIP_DATA`]).
    pub data: Vec<u8>,
}

/// Primary → standby: the offered file was sent whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipEnd {
    /// As offered.
    pub name: String,
}

/// Standby → primary: the shipped file was verified and applied (or why
/// nothing of it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipApplied {
    /// As offered.
    pub name: String,
    /// The entries of the file applied (0 when the standby had them all).
    pub entries: u64,
    /// The standby's durable seq afterwards.
    pub durable: u64,
    /// `Some`: nothing of the file was applied, and why (for a person).
    pub failed: Option<String>,
}

impl ShipOffer {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.name)
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.name);
        out.extend_from_slice(&self.len.to_le_bytes());
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<ShipOffer, DecodeError> {
        Ok(ShipOffer {
            name: read_name(f, "name")?,
            len: f.u64("length")?,
        })
    }
}

impl ShipHave {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.name)
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.name);
        out.extend_from_slice(&self.have.to_le_bytes());
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<ShipHave, DecodeError> {
        Ok(ShipHave {
            name: read_name(f, "name")?,
            have: f.u64("have")?,
        })
    }
}

impl ShipData {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.name)?;
        if self.data.len() > MAX_SHIP_DATA {
            return Err(EncodeError::Invalid(format!(
                "a ShipData of {} bytes (at most {MAX_SHIP_DATA})",
                self.data.len()
            )));
        }
        Ok(())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.name);
        out.extend_from_slice(&self.offset.to_le_bytes());
        // Checked: at most MAX_SHIP_DATA.
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.data);
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<ShipData, DecodeError> {
        let name = read_name(f, "name")?;
        let offset = f.u64("offset")?;
        let len = f.u32("data length")? as usize;
        if len > MAX_SHIP_DATA {
            return Err(f.error(format!("data length {len} > {MAX_SHIP_DATA}")));
        }
        if offset.checked_add(len as u64).is_none() {
            return Err(f.error(format!("{len} bytes at offset {offset} pass 2^64")));
        }
        let data = f.bytes(len, "data")?.to_vec();
        Ok(ShipData { name, offset, data })
    }
}

impl ShipEnd {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.name)
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        name(out, &self.name);
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<ShipEnd, DecodeError> {
        Ok(ShipEnd {
            name: read_name(f, "name")?,
        })
    }
}

impl ShipApplied {
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_name(&self.name)?;
        check_name(self.failed.as_deref().unwrap_or_default())
    }

    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        out.push(if self.failed.is_some() {
            FLAG_FAILED
        } else {
            0
        });
        name(out, &self.name);
        out.extend_from_slice(&self.entries.to_le_bytes());
        out.extend_from_slice(&self.durable.to_le_bytes());
        name(out, self.failed.as_deref().unwrap_or_default());
    }

    pub(crate) fn decode_payload(f: &mut Fields<'_>) -> Result<ShipApplied, DecodeError> {
        let flags = f.u8("flags")?;
        if flags & !FLAG_FAILED != 0 {
            return Err(f.error(format!("flags: unknown bits 0x{flags:02X}")));
        }
        let name = read_name(f, "name")?;
        let entries = f.u64("entries")?;
        let durable = f.u64("durable")?;
        let text = read_name(f, "text")?;
        let failed = flags & FLAG_FAILED != 0;
        if !failed && !text.is_empty() {
            return Err(f.error("a text without the failed flag"));
        }
        Ok(ShipApplied {
            name,
            entries,
            durable,
            failed: failed.then_some(text),
        })
    }
}
