//! Encoding of one entry as a frame payload (see docs/JOURNAL_FORMAT.md,
//! "Entry payload"). Little-endian fixed-width fields, length-prefixed byte
//! strings. Encoding appends straight into the writer's buffer; decoding
//! borrows from the reader's buffer. Neither allocates.

use crate::checksum::Checksum;
use crate::entry::{Effect, EntryRef, FileOrganization, Locator, NewEntry, RecordChange, RecordOp};
use crate::error::JournalError;
use crate::frame::MAX_PAYLOAD;

/// The entry-format version byte written by this build.
pub(crate) const ENTRY_VERSION: u8 = 1;
/// Size of the fixed part of every payload.
pub(crate) const FIXED_LEN: usize = 40;

const EFFECT_NONE: u8 = 0;
const EFFECT_CREATE: u8 = 1;
const EFFECT_WRITE: u8 = 2;
const EFFECT_TRUNCATE: u8 = 3;
const EFFECT_RENAME: u8 = 4;
const EFFECT_DELETE_FILE: u8 = 5;
const EFFECT_BEGIN_TXN: u8 = 6;
const EFFECT_COMMIT_TXN: u8 = 7;
const EFFECT_ABORT_TXN: u8 = 8;
const EFFECT_CHECKSUM: u8 = 9;

const OP_NONE: u8 = 0;
const OP_INSERT: u8 = 1;
const OP_UPDATE: u8 = 2;
const OP_DELETE: u8 = 3;

const LOCATOR_MASK: u8 = 0b0000_0011;
const LOCATOR_NONE: u8 = 0;
const LOCATOR_RECNO: u8 = 1;
const LOCATOR_KEY: u8 = 2;
const FLAG_BEFORE: u8 = 0b0000_0100;
const FLAG_AFTER: u8 = 0b0000_1000;
const FLAG_AFTER_REF: u8 = 0b0001_0000;
const FLAGS_KNOWN: u8 = LOCATOR_MASK | FLAG_BEFORE | FLAG_AFTER | FLAG_AFTER_REF;

/// What the writer stamps on an entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    pub seq: u64,
    pub epoch: u64,
    pub timestamp_us: i64,
}

/// The size of an entry's payload and how its after-image is stored,
/// computed once before encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Payload length in bytes.
    pub len: usize,
    /// `Some(start)` when the after-image is `data[start..]` of the Write
    /// effect and is stored as a reference.
    after_ref: Option<u32>,
}

/// Sizes an entry and checks it can be framed.
pub(crate) fn plan(e: &NewEntry<'_>) -> Result<Plan, JournalError> {
    let name = |s: &str| -> Result<usize, JournalError> {
        if s.len() > usize::from(u16::MAX) {
            Err(JournalError::EntryTooLarge { len: s.len() })
        } else {
            Ok(s.len())
        }
    };
    // Checked before any u32 length prefix is written; payloads are far
    // below u32::MAX, so a blob passing this check fits a u32 prefix.
    let blob = |b: &[u8]| -> Result<usize, JournalError> {
        if b.len() > MAX_PAYLOAD {
            Err(JournalError::EntryTooLarge { len: b.len() })
        } else {
            Ok(b.len())
        }
    };
    let mut len = FIXED_LEN + name(e.process)? + name(e.file)?;
    len += match e.effect {
        Effect::None
        | Effect::DeleteFile
        | Effect::BeginTxn
        | Effect::CommitTxn
        | Effect::AbortTxn => 0,
        Effect::Create { .. } => 5,
        Effect::Write { data, .. } => 12 + blob(data)?,
        Effect::Truncate { .. } => 8,
        Effect::Rename { to } => 2 + name(to)?,
        Effect::Checksum(c) => blob(c.as_bytes())?,
    };
    let mut after_ref = None;
    if let Some(r) = &e.record {
        len += match r.locator {
            Locator::None => 0,
            Locator::RecNo(_) => 8,
            Locator::Key(k) => 4 + blob(k)?,
        };
        if let Some(b) = r.before {
            len += 4 + blob(b)?;
        }
        if let Some(a) = r.after {
            after_ref = match e.effect {
                Effect::Write { data, .. } if data.ends_with(a) => {
                    u32::try_from(data.len() - a.len()).ok()
                }
                _ => None,
            };
            len += 4 + if after_ref.is_some() { 0 } else { blob(a)? };
        }
    }
    if len > MAX_PAYLOAD {
        return Err(JournalError::EntryTooLarge { len });
    }
    Ok(Plan { len, after_ref })
}

/// Appends the payload of `e` to `out`: exactly `plan.len` bytes.
pub(crate) fn encode(e: &NewEntry<'_>, plan: &Plan, stamp: Stamp, out: &mut Vec<u8>) {
    let (op, flags) = match &e.record {
        None => (OP_NONE, 0),
        Some(r) => {
            let op = match r.op {
                RecordOp::Insert => OP_INSERT,
                RecordOp::Update => OP_UPDATE,
                RecordOp::Delete => OP_DELETE,
            };
            let mut flags = match r.locator {
                Locator::None => LOCATOR_NONE,
                Locator::RecNo(_) => LOCATOR_RECNO,
                Locator::Key(_) => LOCATOR_KEY,
            };
            if r.before.is_some() {
                flags |= FLAG_BEFORE;
            }
            if r.after.is_some() {
                flags |= FLAG_AFTER;
                if plan.after_ref.is_some() {
                    flags |= FLAG_AFTER_REF;
                }
            }
            (op, flags)
        }
    };
    let mut fixed = [0u8; FIXED_LEN];
    fixed[0] = ENTRY_VERSION;
    fixed[1] = effect_kind(&e.effect);
    fixed[2] = op;
    fixed[3] = flags;
    fixed[4..12].copy_from_slice(&stamp.seq.to_le_bytes());
    fixed[12..20].copy_from_slice(&stamp.epoch.to_le_bytes());
    fixed[20..28].copy_from_slice(&e.txn.to_le_bytes());
    fixed[28..36].copy_from_slice(&stamp.timestamp_us.to_le_bytes());
    // `plan` checked both names fit in a u16.
    fixed[36..38].copy_from_slice(&(e.process.len() as u16).to_le_bytes());
    fixed[38..40].copy_from_slice(&(e.file.len() as u16).to_le_bytes());
    out.extend_from_slice(&fixed);
    out.extend_from_slice(e.process.as_bytes());
    out.extend_from_slice(e.file.as_bytes());

    match e.effect {
        Effect::None
        | Effect::DeleteFile
        | Effect::BeginTxn
        | Effect::CommitTxn
        | Effect::AbortTxn => {}
        Effect::Create {
            organization,
            record_len,
        } => {
            out.push(organization.code());
            out.extend_from_slice(&record_len.to_le_bytes());
        }
        Effect::Write { offset, data } => {
            out.extend_from_slice(&offset.to_le_bytes());
            put_blob(out, data);
        }
        Effect::Truncate { len } => out.extend_from_slice(&len.to_le_bytes()),
        Effect::Rename { to } => {
            out.extend_from_slice(&(to.len() as u16).to_le_bytes());
            out.extend_from_slice(to.as_bytes());
        }
        Effect::Checksum(c) => out.extend_from_slice(c.as_bytes()),
    }
    if let Some(r) = &e.record {
        match r.locator {
            Locator::None => {}
            Locator::RecNo(n) => out.extend_from_slice(&n.to_le_bytes()),
            Locator::Key(k) => put_blob(out, k),
        }
        if let Some(b) = r.before {
            put_blob(out, b);
        }
        if let Some(a) = r.after {
            match plan.after_ref {
                Some(start) => out.extend_from_slice(&start.to_le_bytes()),
                None => put_blob(out, a),
            }
        }
    }
}

fn put_blob(out: &mut Vec<u8>, b: &[u8]) {
    // `plan` checked every blob is at most MAX_PAYLOAD bytes.
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn effect_kind(e: &Effect<'_>) -> u8 {
    match e {
        Effect::None => EFFECT_NONE,
        Effect::Create { .. } => EFFECT_CREATE,
        Effect::Write { .. } => EFFECT_WRITE,
        Effect::Truncate { .. } => EFFECT_TRUNCATE,
        Effect::Rename { .. } => EFFECT_RENAME,
        Effect::DeleteFile => EFFECT_DELETE_FILE,
        Effect::BeginTxn => EFFECT_BEGIN_TXN,
        Effect::CommitTxn => EFFECT_COMMIT_TXN,
        Effect::AbortTxn => EFFECT_ABORT_TXN,
        Effect::Checksum(_) => EFFECT_CHECKSUM,
    }
}

/// The seq of a payload, read without decoding the rest.
pub(crate) fn peek_seq(payload: &[u8]) -> Option<u64> {
    let b: [u8; 8] = payload.get(4..12)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Decodes a payload. The error is the reason it is malformed.
pub(crate) fn decode(payload: &[u8]) -> Result<EntryRef<'_>, &'static str> {
    let mut c = Cursor { b: payload, pos: 0 };
    let version = c.u8()?;
    if version != ENTRY_VERSION {
        return Err("unknown entry format version");
    }
    let kind = c.u8()?;
    let op = c.u8()?;
    let flags = c.u8()?;
    let seq = c.u64()?;
    let epoch = c.u64()?;
    let txn = c.u64()?;
    let timestamp_us = c.u64()? as i64;
    let process_len = usize::from(c.u16()?);
    let file_len = usize::from(c.u16()?);
    let process = c.str(process_len)?;
    let file = c.str(file_len)?;

    let effect = match kind {
        EFFECT_NONE => Effect::None,
        EFFECT_CREATE => {
            let organization =
                FileOrganization::from_code(c.u8()?).ok_or("unknown file organization code")?;
            Effect::Create {
                organization,
                record_len: c.u32()?,
            }
        }
        EFFECT_WRITE => {
            let offset = c.u64()?;
            let data = c.blob()?;
            Effect::Write { offset, data }
        }
        EFFECT_TRUNCATE => Effect::Truncate { len: c.u64()? },
        EFFECT_RENAME => {
            let n = usize::from(c.u16()?);
            Effect::Rename { to: c.str(n)? }
        }
        EFFECT_DELETE_FILE => Effect::DeleteFile,
        EFFECT_BEGIN_TXN => Effect::BeginTxn,
        EFFECT_COMMIT_TXN => Effect::CommitTxn,
        EFFECT_ABORT_TXN => Effect::AbortTxn,
        EFFECT_CHECKSUM => {
            let len = Checksum::body_len(c.rest())?;
            Effect::Checksum(Checksum::check(c.take(len)?)?)
        }
        _ => return Err("unknown effect kind"),
    };

    let record = if op == OP_NONE {
        if flags != 0 {
            return Err("record flags set without a record change");
        }
        None
    } else {
        let op = match op {
            OP_INSERT => RecordOp::Insert,
            OP_UPDATE => RecordOp::Update,
            OP_DELETE => RecordOp::Delete,
            _ => return Err("unknown record op"),
        };
        if flags & !FLAGS_KNOWN != 0 {
            return Err("unknown record flags");
        }
        let locator = match flags & LOCATOR_MASK {
            LOCATOR_NONE => Locator::None,
            LOCATOR_RECNO => Locator::RecNo(c.u64()?),
            LOCATOR_KEY => Locator::Key(c.blob()?),
            _ => return Err("unknown locator kind"),
        };
        let before = if flags & FLAG_BEFORE != 0 {
            Some(c.blob()?)
        } else {
            None
        };
        let after = if flags & FLAG_AFTER == 0 {
            if flags & FLAG_AFTER_REF != 0 {
                return Err("after-reference flag without an after-image");
            }
            None
        } else if flags & FLAG_AFTER_REF != 0 {
            let Effect::Write { data, .. } = effect else {
                return Err("after-reference without a Write effect");
            };
            let start = c.u32()? as usize;
            Some(
                data.get(start..)
                    .ok_or("after-reference beyond the written data")?,
            )
        } else {
            Some(c.blob()?)
        };
        Some(RecordChange {
            op,
            locator,
            before,
            after,
        })
    };
    if c.pos != payload.len() {
        return Err("trailing bytes after the entry");
    }
    Ok(EntryRef {
        seq,
        epoch,
        txn,
        timestamp_us,
        process,
        file,
        effect,
        record,
    })
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self
            .b
            .get(self.pos..end)
            .ok_or("entry shorter than its fields")?;
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let s = self.take(N)?;
        s.try_into().map_err(|_| "entry shorter than its fields")
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or_default()
    }
    fn blob(&mut self) -> Result<&'a [u8], &'static str> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn str(&mut self, n: usize) -> Result<&'a str, &'static str> {
        std::str::from_utf8(self.take(n)?).map_err(|_| "name is not UTF-8")
    }
}

/// Encodes a whole entry, stamp included, as the journal stores it (the
/// payload of a frame, docs/JOURNAL_FORMAT.md): for shipping entries to
/// another journal.
pub fn encode_entry(entry: &EntryRef<'_>, out: &mut Vec<u8>) -> Result<(), JournalError> {
    let new = entry.as_new_entry();
    let plan = plan(&new)?;
    let stamp = Stamp {
        seq: entry.seq,
        epoch: entry.epoch,
        timestamp_us: entry.timestamp_us,
    };
    out.reserve(plan.len);
    encode(&new, &plan, stamp, out);
    Ok(())
}

/// Decodes an entry encoded by [`encode_entry`].
pub fn decode_entry(bytes: &[u8]) -> Result<EntryRef<'_>, JournalError> {
    decode(bytes).map_err(|reason| JournalError::BadEntry { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(e: &NewEntry<'_>) -> (usize, Vec<u8>) {
        let p = plan(e).expect("plan");
        let mut out = Vec::new();
        let stamp = Stamp {
            seq: 7,
            epoch: 3,
            timestamp_us: -5,
        };
        encode(e, &p, stamp, &mut out);
        assert_eq!(out.len(), p.len);
        let d = decode(&out).expect("decode");
        assert_eq!((d.seq, d.epoch, d.timestamp_us), (7, 3, -5));
        assert_eq!(d.as_new_entry(), *e);
        (p.len, out)
    }

    #[test]
    fn after_image_equal_to_written_tail_is_a_reference() {
        let data = b"HEADER--record-bytes";
        let with_ref = NewEntry {
            txn: 0,
            process: "p",
            file: "f",
            effect: Effect::Write { offset: 0, data },
            record: Some(RecordChange {
                op: RecordOp::Update,
                locator: Locator::RecNo(1),
                before: None,
                after: Some(&data[8..]),
            }),
        };
        let (len_ref, bytes) = round_trip(&with_ref);
        // The after-image costs 4 bytes (its start offset), not 4 + 12.
        let plain = NewEntry {
            record: None,
            ..with_ref
        };
        let (len_plain, _) = round_trip(&plain);
        assert_eq!(len_ref, len_plain + 8 + 4);
        let d = decode(&bytes).expect("decode");
        let Some(RecordChange { after: Some(a), .. }) = d.record else {
            panic!("no after image");
        };
        assert_eq!(a, b"record-bytes");

        // A copy (different allocation, same bytes) is also referenced.
        let copy = data[8..].to_vec();
        let (len_copy, _) = round_trip(&NewEntry {
            record: Some(RecordChange {
                after: Some(&copy),
                ..with_ref.record.expect("record")
            }),
            ..with_ref
        });
        assert_eq!(len_copy, len_ref);

        // Not a tail: stored in full.
        let (len_full, _) = round_trip(&NewEntry {
            record: Some(RecordChange {
                after: Some(b"HEADER"),
                ..with_ref.record.expect("record")
            }),
            ..with_ref
        });
        assert_eq!(len_full, len_plain + 8 + 4 + 6);
    }

    #[test]
    fn malformed_payloads_are_rejected_not_panicked_on() {
        let e = NewEntry {
            txn: 1,
            process: "proc",
            file: "/data/f.dat",
            effect: Effect::Write {
                offset: 9,
                data: b"abcdef",
            },
            record: Some(RecordChange {
                op: RecordOp::Insert,
                locator: Locator::Key(b"k1"),
                before: Some(b"old"),
                after: Some(b"def"),
            }),
        };
        let (_, bytes) = round_trip(&e);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let _ = decode(&b); // must not panic
            }
        }
    }

    #[test]
    fn checksum_entries_round_trip_and_reject_damage() {
        use crate::checksum::{ChecksumReason, FileChecksum};
        let mut full = FileChecksum::cheap(
            ChecksumReason::Verify,
            FileOrganization::Fixed,
            10,
            25,
            Some(2),
        );
        full.block_size = 10;
        full.file_digest = Some([9; 32]);
        full.blocks = vec![[1; 32], [2; 32], [3; 32]];
        let cheap = FileChecksum::cheap(
            ChecksumReason::Open,
            FileOrganization::Sequential,
            0,
            7,
            None,
        );
        for c in [full, cheap] {
            let body = c.encode().expect("valid");
            let e = NewEntry {
                txn: 0,
                process: "p",
                file: "/f",
                effect: body.effect(),
                record: None,
            };
            let (len, bytes) = round_trip(&e);
            assert_eq!(len, FIXED_LEN + 1 + 2 + body.checksum().as_bytes().len());
            let Effect::Checksum(read) = decode(&bytes).expect("decode").effect else {
                panic!("not a checksum");
            };
            assert_eq!(read.to_file_checksum(), c);
            for cut in 0..bytes.len() {
                assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            for i in 0..bytes.len() {
                for bit in 0..8 {
                    let mut b = bytes.clone();
                    b[i] ^= 1 << bit;
                    let _ = decode(&b); // must not panic
                }
            }
        }
    }

    #[test]
    fn oversized_names_are_refused() {
        let long = "x".repeat(70_000);
        let e = NewEntry {
            txn: 0,
            process: &long,
            file: "f",
            effect: Effect::None,
            record: None,
        };
        assert!(matches!(
            plan(&e),
            Err(JournalError::EntryTooLarge { len: 70_000 })
        ));
    }
}
