//! The `Checksum` effect: a file's size, record count and (in the full
//! form) blake3 digests per block and of the whole file, as of the entry's
//! seq. The capture appends one when a file is opened or closed, every
//! `check_file_interval`, and for `drx verify`; a standby compares its
//! replica with it at the same seq. Layout: docs/JOURNAL_FORMAT.md,
//! "The Checksum body".

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::entry::{Effect, FileOrganization};
use crate::error::JournalError;
use crate::frame::MAX_PAYLOAD;

/// The length of a blake3 digest.
pub const DIGEST_LEN: usize = 32;

/// The smallest block of the full form: 1 MiB. A file of more than
/// [`MAX_CHECKSUM_BLOCKS`] MiB gets a larger block (see [`block_size_for`]).
pub const CHECKSUM_BLOCK_SIZE: u32 = 1 << 20;

/// The most block digests in one full-form checksum (32 MiB of digests).
pub const MAX_CHECKSUM_BLOCKS: u64 = 1 << 20;

/// The fixed part of a Checksum body.
const FIXED_LEN: usize = 32;
/// Flags bit 0: the record count is known.
const FLAG_RECORDS: u8 = 0b0000_0001;

const _: () = assert!(FIXED_LEN + DIGEST_LEN * (1 + MAX_CHECKSUM_BLOCKS as usize) < MAX_PAYLOAD);

/// Why a checksum was taken. Stored as a one-byte code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumReason {
    /// Code 1: the file was opened (`check_file_at_open`).
    Open,
    /// Code 2: the file was closed (`check_file_at_close`).
    Close,
    /// Code 3: `check_file_interval` minutes passed.
    Interval,
    /// Code 4: asked for by `drx verify`.
    Verify,
}

impl ChecksumReason {
    /// Every reason, in code order.
    pub const ALL: [ChecksumReason; 4] = [
        ChecksumReason::Open,
        ChecksumReason::Close,
        ChecksumReason::Interval,
        ChecksumReason::Verify,
    ];

    /// The one-byte code stored in the journal.
    pub fn code(self) -> u8 {
        match self {
            ChecksumReason::Open => 1,
            ChecksumReason::Close => 2,
            ChecksumReason::Interval => 3,
            ChecksumReason::Verify => 4,
        }
    }

    /// The reason with this code, if any.
    pub fn from_code(code: u8) -> Option<ChecksumReason> {
        ChecksumReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// `open`, `close`, `interval` or `verify`.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumReason::Open => "open",
            ChecksumReason::Close => "close",
            ChecksumReason::Interval => "interval",
            ChecksumReason::Verify => "verify",
        }
    }

    /// The reason named `name` (see [`ChecksumReason::name`]).
    pub fn from_name(name: &str) -> Option<ChecksumReason> {
        ChecksumReason::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for ChecksumReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The block size of the full form for a file of `size` bytes:
/// [`CHECKSUM_BLOCK_SIZE`], doubled until at most [`MAX_CHECKSUM_BLOCKS`]
/// blocks cover the file.
pub fn block_size_for(size: u64) -> u32 {
    let mut block = u64::from(CHECKSUM_BLOCK_SIZE);
    while size.div_ceil(block) > MAX_CHECKSUM_BLOCKS && block < u64::from(u32::MAX / 2 + 1) {
        block *= 2;
    }
    u32::try_from(block).unwrap_or(u32::MAX / 2 + 1)
}

/// A file's checksum as a journal entry carries it: a view of the entry's
/// Checksum body, checked when it was made ([`Checksum::parse`]). Copy,
/// and borrows the entry's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checksum<'a> {
    body: &'a [u8],
}

impl<'a> Checksum<'a> {
    /// Checks a Checksum body (docs/JOURNAL_FORMAT.md) and views it.
    pub fn parse(body: &'a [u8]) -> Result<Checksum<'a>, JournalError> {
        Checksum::check(body).map_err(|reason| JournalError::BadEntry { reason })
    }

    /// The length of the body that starts `bytes`, from its fixed part.
    pub(crate) fn body_len(bytes: &[u8]) -> Result<usize, &'static str> {
        let fixed = bytes
            .get(..FIXED_LEN)
            .ok_or("entry shorter than its fields")?;
        let block_size = u32::from_le_bytes(word(fixed, 24));
        let count = u32::from_le_bytes(word(fixed, 28)) as usize;
        if block_size == 0 {
            return Ok(FIXED_LEN);
        }
        count
            .checked_mul(DIGEST_LEN)
            .and_then(|n| n.checked_add(FIXED_LEN + DIGEST_LEN))
            .ok_or("checksum: too many blocks")
    }

    pub(crate) fn check(body: &'a [u8]) -> Result<Checksum<'a>, &'static str> {
        let len = Checksum::body_len(body)?;
        if body.len() < len {
            return Err("entry shorter than its fields");
        }
        if body.len() > len {
            return Err("checksum: trailing bytes after the block digests");
        }
        let c = Checksum { body };
        ChecksumReason::from_code(body[0]).ok_or("checksum: unknown reason")?;
        FileOrganization::from_code(body[1]).ok_or("unknown file organization code")?;
        let flags = body[2];
        if flags & !FLAG_RECORDS != 0 {
            return Err("checksum: unknown flags");
        }
        if body[3] != 0 {
            return Err("checksum: reserved byte not zero");
        }
        if flags & FLAG_RECORDS == 0 && c.u64_at(16) != 0 {
            return Err("checksum: a record count without its flag");
        }
        let block_size = c.block_size();
        let count = u64::from(u32::from_le_bytes(word(body, 28)));
        if block_size == 0 {
            if count != 0 {
                return Err("checksum: block digests without a block size");
            }
        } else if count != c.size().div_ceil(u64::from(block_size)) {
            return Err("checksum: the block count does not cover the size");
        }
        Ok(c)
    }

    fn u64_at(&self, at: usize) -> u64 {
        u64::from_le_bytes(word(self.body, at))
    }

    /// The body's bytes, as the journal stores them.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.body
    }

    /// Why it was taken.
    pub fn reason(&self) -> ChecksumReason {
        // Checked by `parse`.
        ChecksumReason::from_code(self.body[0]).unwrap_or(ChecksumReason::Verify)
    }

    /// How the file's records are organised (as in `Create`), so that a
    /// standby counts its replica's records by the same rule.
    pub fn organization(&self) -> FileOrganization {
        FileOrganization::from_code(self.body[1]).unwrap_or(FileOrganization::Unknown)
    }

    /// The record length in bytes (the maximum for sequential files; 0
    /// when unknown).
    pub fn record_len(&self) -> u32 {
        u32::from_le_bytes(word(self.body, 4))
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.u64_at(8)
    }

    /// The number of records, when the capture knows it.
    pub fn records(&self) -> Option<u64> {
        (self.body[2] & FLAG_RECORDS != 0).then(|| self.u64_at(16))
    }

    /// The block size of the digests; 0 in the cheap form (size and
    /// records only).
    pub fn block_size(&self) -> u32 {
        u32::from_le_bytes(word(self.body, 24))
    }

    /// Whether the digests are present (the full form).
    pub fn is_full(&self) -> bool {
        self.block_size() != 0
    }

    /// The blake3 digest of the whole file (full form only).
    pub fn file_digest(&self) -> Option<&'a [u8; DIGEST_LEN]> {
        if !self.is_full() {
            return None;
        }
        self.body
            .get(FIXED_LEN..FIXED_LEN + DIGEST_LEN)
            .and_then(|d| d.try_into().ok())
    }

    /// The number of block digests: `ceil(size / block_size)` in the full
    /// form, 0 in the cheap form.
    pub fn block_count(&self) -> u64 {
        u64::from(u32::from_le_bytes(word(self.body, 28)))
    }

    /// The blake3 digest of block `index` (bytes `index × block_size` to
    /// the next block or the end of the file).
    pub fn block(&self, index: u64) -> Option<&'a [u8; DIGEST_LEN]> {
        let start = usize::try_from(index)
            .ok()?
            .checked_mul(DIGEST_LEN)?
            .checked_add(FIXED_LEN + DIGEST_LEN)?;
        if !self.is_full() {
            return None;
        }
        self.body
            .get(start..start.checked_add(DIGEST_LEN)?)
            .and_then(|d| d.try_into().ok())
    }

    /// The block digests, in file order.
    pub fn blocks(&self) -> impl Iterator<Item = &'a [u8; DIGEST_LEN]> + 'a {
        let digests = if self.is_full() {
            self.body.get(FIXED_LEN + DIGEST_LEN..).unwrap_or_default()
        } else {
            &[]
        };
        digests
            .chunks_exact(DIGEST_LEN)
            .filter_map(|d| d.try_into().ok())
    }

    /// An owned copy.
    pub fn to_file_checksum(&self) -> FileChecksum {
        FileChecksum {
            reason: self.reason(),
            organization: self.organization(),
            record_len: self.record_len(),
            size: self.size(),
            records: self.records(),
            block_size: self.block_size(),
            file_digest: self.file_digest().copied(),
            blocks: self.blocks().copied().collect(),
        }
    }
}

impl fmt::Debug for Checksum<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checksum")
            .field("reason", &self.reason())
            .field("organization", &self.organization())
            .field("record_len", &self.record_len())
            .field("size", &self.size())
            .field("records", &self.records())
            .field("block_size", &self.block_size())
            .field("file_digest", &self.file_digest().map(|d| to_hex(d)))
            .field("blocks", &self.block_count())
            .finish()
    }
}

fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = bytes.get(at..at + N) {
        out.copy_from_slice(s);
    }
    out
}

/// A digest in lowercase hex.
pub fn to_hex(digest: &[u8]) -> String {
    use fmt::Write;
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A file's checksum, owned: what [`FileChecksum::encode`] turns into a
/// Checksum body, and [`Checksum::to_file_checksum`] gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChecksum {
    /// Why it was taken.
    pub reason: ChecksumReason,
    /// How the file's records are organised.
    pub organization: FileOrganization,
    /// The record length (0: variable or unknown).
    pub record_len: u32,
    /// The file's size in bytes.
    pub size: u64,
    /// The number of records, when known.
    pub records: Option<u64>,
    /// The block size of `blocks`; 0 in the cheap form.
    pub block_size: u32,
    /// The blake3 digest of the whole file (full form).
    pub file_digest: Option<[u8; DIGEST_LEN]>,
    /// The blake3 digest of each block (full form).
    pub blocks: Vec<[u8; DIGEST_LEN]>,
}

impl FileChecksum {
    /// The cheap form: size and record count, no digests.
    pub fn cheap(
        reason: ChecksumReason,
        organization: FileOrganization,
        record_len: u32,
        size: u64,
        records: Option<u64>,
    ) -> FileChecksum {
        FileChecksum {
            reason,
            organization,
            record_len,
            size,
            records,
            block_size: 0,
            file_digest: None,
            blocks: Vec::new(),
        }
    }

    /// The full form from a file's digests.
    pub fn full(
        reason: ChecksumReason,
        organization: FileOrganization,
        record_len: u32,
        records: Option<u64>,
        digests: FileDigests,
    ) -> FileChecksum {
        FileChecksum {
            reason,
            organization,
            record_len,
            size: digests.size,
            records,
            block_size: digests.block_size,
            file_digest: Some(digests.file),
            blocks: digests.blocks,
        }
    }

    /// Encodes the Checksum body. Fails when the fields do not make a
    /// valid one: digests without a block size (or the reverse), a block
    /// count that does not cover the size, or more than
    /// [`MAX_CHECKSUM_BLOCKS`] blocks.
    pub fn encode(&self) -> Result<ChecksumBody, JournalError> {
        let bad = |reason| Err(JournalError::BadEntry { reason });
        let count = self.blocks.len() as u64;
        if self.block_size == 0 {
            if count != 0 || self.file_digest.is_some() {
                return bad("checksum: digests without a block size");
            }
        } else if self.file_digest.is_none() {
            return bad("checksum: a block size without the file digest");
        } else if count != self.size.div_ceil(u64::from(self.block_size)) {
            return bad("checksum: the block count does not cover the size");
        } else if count > MAX_CHECKSUM_BLOCKS {
            return bad("checksum: too many blocks");
        }
        let mut out = Vec::with_capacity(FIXED_LEN + DIGEST_LEN * (1 + self.blocks.len()));
        out.push(self.reason.code());
        out.push(self.organization.code());
        out.push(if self.records.is_some() {
            FLAG_RECORDS
        } else {
            0
        });
        out.push(0);
        out.extend_from_slice(&self.record_len.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.records.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.block_size.to_le_bytes());
        // Checked above: at most MAX_CHECKSUM_BLOCKS.
        out.extend_from_slice(&(count as u32).to_le_bytes());
        if let Some(digest) = &self.file_digest {
            out.extend_from_slice(digest);
            out.extend_from_slice(self.blocks.as_flattened());
        }
        Ok(ChecksumBody { bytes: out })
    }
}

/// An encoded Checksum body ([`FileChecksum::encode`]), to append as an
/// entry's effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumBody {
    bytes: Vec<u8>,
}

impl ChecksumBody {
    /// The checksum it holds.
    pub fn checksum(&self) -> Checksum<'_> {
        Checksum { body: &self.bytes }
    }

    /// The effect to append.
    pub fn effect(&self) -> Effect<'_> {
        Effect::Checksum(self.checksum())
    }
}

/// The digests of a file's content ([`digest_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    /// The bytes read: the file's size.
    pub size: u64,
    /// The block size ([`block_size_for`] the size when reading began).
    pub block_size: u32,
    /// blake3 of the whole content.
    pub file: [u8; DIGEST_LEN],
    /// blake3 of each block.
    pub blocks: Vec<[u8; DIGEST_LEN]>,
}

/// Reads `file` from its start to its end (positioned reads: its cursor
/// is left alone) and digests it with blake3, per block and whole. Each
/// block read is also shown to `observe` (e.g. to count records in the
/// same pass).
pub fn digest_file(file: &File, observe: impl FnMut(&[u8])) -> io::Result<FileDigests> {
    digest_file_in_blocks(file, block_size_for(file.metadata()?.len()), observe)
}

/// [`digest_file`] with blocks of `block_size` bytes (at least 1): to
/// compare with a checksum taken elsewhere, in its block size.
pub fn digest_file_in_blocks(
    file: &File,
    block_size: u32,
    mut observe: impl FnMut(&[u8]),
) -> io::Result<FileDigests> {
    let block_size = block_size.max(1);
    let mut buf = vec![0u8; block_size as usize];
    let mut whole = blake3::Hasher::new();
    let mut blocks = Vec::new();
    let mut at = 0u64;
    loop {
        let n = read_block(file, &mut buf, at)?;
        if n == 0 {
            break;
        }
        let block = &buf[..n];
        whole.update(block);
        blocks.push(*blake3::hash(block).as_bytes());
        observe(block);
        at += n as u64;
        if blocks.len() as u64 >= MAX_CHECKSUM_BLOCKS && n == buf.len() {
            // The file grew while it was read past what one checksum
            // holds: stop at a whole number of blocks.
            break;
        }
        if n < buf.len() {
            break;
        }
    }
    Ok(FileDigests {
        size: at,
        block_size,
        file: *whole.finalize().as_bytes(),
        blocks,
    })
}

/// Fills `buf` from offset `at` up to its end or the end of the file;
/// returns the bytes read.
fn read_block(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], at + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(full: bool) -> FileChecksum {
        let mut c = FileChecksum::cheap(
            ChecksumReason::Close,
            FileOrganization::Relative,
            80,
            3 * 81,
            Some(2),
        );
        if full {
            c.size = 2 * u64::from(CHECKSUM_BLOCK_SIZE) + 5;
            c.block_size = CHECKSUM_BLOCK_SIZE;
            c.file_digest = Some([7; DIGEST_LEN]);
            c.blocks = vec![[1; DIGEST_LEN], [2; DIGEST_LEN], [3; DIGEST_LEN]];
        }
        c
    }

    #[test]
    fn both_forms_round_trip() {
        for full in [false, true] {
            let c = sample(full);
            let body = c.encode().expect("valid");
            let parsed = Checksum::parse(body.checksum().as_bytes()).expect("parses");
            assert_eq!(parsed.to_file_checksum(), c);
            assert_eq!(parsed.is_full(), full);
            assert_eq!(parsed.block(2).copied(), full.then_some([3; DIGEST_LEN]));
            assert_eq!(parsed.block(3), None);
        }
        let mut unknown = sample(false);
        unknown.records = None;
        let body = unknown.encode().expect("valid");
        assert_eq!(body.checksum().records(), None);
    }

    #[test]
    fn inconsistent_checksums_are_refused() {
        let mut c = sample(true);
        c.blocks.pop();
        assert!(c.encode().is_err());
        let mut c = sample(true);
        c.file_digest = None;
        assert!(c.encode().is_err());
        let mut c = sample(false);
        c.blocks.push([0; DIGEST_LEN]);
        assert!(c.encode().is_err());

        let good = sample(true).encode().expect("valid");
        let bytes = good.checksum().as_bytes().to_vec();
        for (at, value) in [(0, 9u8), (1, 9), (2, 2), (3, 1)] {
            let mut b = bytes.clone();
            b[at] = value;
            assert!(Checksum::parse(&b).is_err(), "byte {at} = {value}");
        }
        // A record count without its flag.
        let mut b = sample(false)
            .encode()
            .expect("valid")
            .checksum()
            .as_bytes()
            .to_vec();
        b[2] = 0;
        assert!(Checksum::parse(&b).is_err());
        for cut in 0..bytes.len() {
            assert!(Checksum::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Checksum::parse(&longer).is_err());
    }

    #[test]
    fn digests_cover_every_byte_and_name_the_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let mut bytes: Vec<u8> = (0..3 * CHECKSUM_BLOCK_SIZE as usize + 10)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &bytes).expect("write");
        let mut seen = 0;
        let a =
            digest_file(&File::open(&path).expect("open"), |b| seen += b.len()).expect("digest");
        assert_eq!(seen, bytes.len());
        assert_eq!(
            (a.size, a.block_size),
            (bytes.len() as u64, CHECKSUM_BLOCK_SIZE)
        );
        assert_eq!(a.blocks.len(), 4);
        assert_eq!(a.file, *blake3::hash(&bytes).as_bytes());
        bytes[2 * CHECKSUM_BLOCK_SIZE as usize + 3] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        let b = digest_file(&File::open(&path).expect("open"), |_| {}).expect("digest");
        let differing: Vec<usize> = (0..4).filter(|&i| a.blocks[i] != b.blocks[i]).collect();
        assert_eq!(differing, vec![2]);
        assert_ne!(a.file, b.file);

        std::fs::write(&path, b"").expect("write");
        let empty = digest_file(&File::open(&path).expect("open"), |_| {}).expect("digest");
        assert_eq!((empty.size, empty.blocks.len()), (0, 0));
        let c = FileChecksum::full(
            ChecksumReason::Verify,
            FileOrganization::Unknown,
            0,
            None,
            empty,
        );
        assert!(c.encode().is_ok());
    }

    #[test]
    fn large_files_get_larger_blocks() {
        assert_eq!(block_size_for(0), CHECKSUM_BLOCK_SIZE);
        assert_eq!(block_size_for(1 << 40), CHECKSUM_BLOCK_SIZE);
        assert_eq!(block_size_for((1 << 40) + 1), 2 * CHECKSUM_BLOCK_SIZE);
        for size in [1u64 << 30, 1 << 45, u64::MAX / 4] {
            let block = u64::from(block_size_for(size));
            assert!(size.div_ceil(block) <= MAX_CHECKSUM_BLOCKS || block >= 1 << 31);
        }
    }
}
