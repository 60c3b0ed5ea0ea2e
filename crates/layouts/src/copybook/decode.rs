//! Decoding COBOL elementary items: DISPLAY (zoned) numbers, binary
//! (COMP, COMP-4, BINARY, COMP-5), packed decimal (COMP-3), floating point
//! (COMP-1, COMP-2, as IBM hexadecimal or IEEE 754) and text (PIC X / A).
//!
//! Pure functions over `&[u8]`: no I/O. Numbers are exact [`Decimal`]s
//! (never through `f64`), which hold up to 38 digits (an `i128`): every
//! PIC of 38 digits or fewer fits; a binary field whose bytes hold a
//! larger value is an [`CobolErrorKind::Overflow`] error. Only COMP-1 and
//! COMP-2 give `f64`.
//!
//! The low-level functions ([`decode_zoned`], [`decode_packed`],
//! [`decode_binary`], [`decode_float`]) report byte offsets relative to the
//! slice they get; [`ElementaryField`] adds the field's offset in the record
//! and its name.

use std::fmt;

use super::parser::{Item, SignClause, Usage};
use super::picture::{PicCategory, Picture};
use super::{Copybook, FieldMapEntry};
use crate::codepage::CodePage;
use crate::decimal::Decimal;
use crate::field::ByteOrder;

/// How COMP-1 / COMP-2 items are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FloatFormat {
    /// IBM System/360 hexadecimal floating point (the mainframe default):
    /// sign bit, 7-bit excess-64 base-16 exponent, 24- or 56-bit fraction.
    #[default]
    IbmHex,
    /// IEEE 754 binary32 / binary64, big-endian.
    Ieee754,
}

/// Whether DISPLAY numbers are written in EBCDIC or in ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZonedEncoding {
    /// Digits 0xF0–0xF9; overpunch 0xC0–0xC9 positive, 0xD0–0xD9 negative.
    #[default]
    Ebcdic,
    /// Digits `'0'`–`'9'`; overpunch `'{'`, `'A'`–`'I'` positive, `'}'`,
    /// `'J'`–`'R'` and `'p'`–`'y'` (0x70–0x79) negative.
    Ascii,
}

/// Where the sign of a DISPLAY number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZonedSign {
    /// No sign: an overpunched sign is accepted only if `strict` is false
    /// in [`ZonedSpec`].
    #[default]
    Unsigned,
    /// Overpunched in the last byte (COBOL's default for `S`).
    Trailing,
    /// Overpunched in the first byte (`SIGN LEADING`).
    Leading,
    /// A separate `+` / `-` byte after the digits (`SIGN TRAILING SEPARATE`).
    TrailingSeparate,
    /// A separate `+` / `-` byte before the digits (`SIGN LEADING SEPARATE`).
    LeadingSeparate,
}

/// How to read one DISPLAY number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZonedSpec {
    /// The character encoding of the digits.
    pub encoding: ZonedEncoding,
    /// Where the sign is.
    pub sign: ZonedSign,
    /// The PIC scale: digits after `V` or `.`, plus leading `P`s, minus
    /// trailing `P`s (negative scales multiply by a power of ten).
    pub scale: i32,
    /// Whether an overpunched sign on an unsigned item is an error (as
    /// Cobrix's `strict_sign_overpunching`); if false it is accepted.
    pub strict: bool,
}

/// What is wrong with a field's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CobolErrorKind {
    /// A byte that is not a digit (nor an allowed sign) of a DISPLAY number.
    InvalidZonedDigit(u8),
    /// A digit nibble of a packed number above 9.
    InvalidPackedDigit(u8),
    /// The sign nibble of a packed number is not C, F, D or B.
    InvalidSignNibble(u8),
    /// A separate sign byte that is not `+` or `-`.
    InvalidSign(u8),
    /// An overpunched sign on an unsigned item (strict mode).
    UnexpectedSign(u8),
    /// A second decimal point, or one where the PIC has none.
    UnexpectedPoint,
    /// The field has no digits (e.g. all spaces).
    Blank,
    /// The value does not fit 38 digits (an `i128`).
    Overflow,
    /// The scale is outside 0..=38 after P scaling.
    BadScale,
    /// The record ends before the field: it needs this many bytes.
    Truncated(usize),
    /// The field is a number where text was asked, or text where a number
    /// was asked.
    WrongType,
    /// A float field of a size other than 4 or 8 bytes.
    BadFloatSize(usize),
    /// The text is not valid in the code page.
    InvalidText,
}

impl fmt::Display for CobolErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CobolErrorKind::InvalidZonedDigit(b) => write!(f, "invalid zoned digit 0x{b:02X}"),
            CobolErrorKind::InvalidPackedDigit(n) => write!(f, "invalid packed digit 0x{n:X}"),
            CobolErrorKind::InvalidSignNibble(n) => write!(f, "invalid sign nibble 0x{n:X}"),
            CobolErrorKind::InvalidSign(b) => write!(f, "invalid separate sign 0x{b:02X}"),
            CobolErrorKind::UnexpectedSign(b) => {
                write!(f, "sign overpunch 0x{b:02X} on an unsigned item")
            }
            CobolErrorKind::UnexpectedPoint => f.write_str("unexpected decimal point"),
            CobolErrorKind::Blank => f.write_str("no digits"),
            CobolErrorKind::Overflow => f.write_str("value exceeds 38 digits"),
            CobolErrorKind::BadScale => f.write_str("scale outside 0..=38"),
            CobolErrorKind::Truncated(n) => write!(f, "record too short: field needs {n} bytes"),
            CobolErrorKind::WrongType => f.write_str("wrong type for this field"),
            CobolErrorKind::BadFloatSize(n) => write!(f, "float of {n} bytes (need 4 or 8)"),
            CobolErrorKind::InvalidText => f.write_str("text invalid in the code page"),
        }
    }
}

/// A field whose bytes do not decode.
///
/// Displays as `field NAME: invalid packed digit 0xA at byte 12` (without
/// the `field NAME: ` part when no name is known). The offset is in the
/// record for [`ElementaryField`], else in the slice given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CobolDecodeError {
    /// The field's name, if known.
    pub field: Option<String>,
    /// 0-based byte offset of the offending byte.
    pub offset: usize,
    /// What is wrong.
    pub kind: CobolErrorKind,
}

impl fmt::Display for CobolDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.field {
            write!(f, "field {name}: ")?;
        }
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

fn err(offset: usize, kind: CobolErrorKind) -> CobolDecodeError {
    CobolDecodeError {
        field: None,
        offset,
        kind,
    }
}

/// Applies a PIC scale (possibly negative) to an unscaled integer.
fn scaled(unscaled: i128, scale: i32, offset: usize) -> Result<Decimal, CobolDecodeError> {
    if scale < 0 {
        let factor = 10i128
            .checked_pow(scale.unsigned_abs())
            .ok_or_else(|| err(offset, CobolErrorKind::Overflow))?;
        let v = unscaled
            .checked_mul(factor)
            .ok_or_else(|| err(offset, CobolErrorKind::Overflow))?;
        Ok(Decimal::new(v, 0))
    } else {
        let s = u8::try_from(scale)
            .ok()
            .filter(|&s| s <= 38)
            .ok_or_else(|| err(offset, CobolErrorKind::BadScale))?;
        Ok(Decimal::new(unscaled, s))
    }
}

/// One byte of a DISPLAY number, classified.
#[derive(Clone, Copy)]
enum Zoned {
    Digit(u8),
    Pos(u8),
    Neg(u8),
    Plus,
    Minus,
    Point,
    Space,
    Other,
}

fn classify(b: u8, enc: ZonedEncoding) -> Zoned {
    match enc {
        ZonedEncoding::Ebcdic => match b {
            0xF0..=0xF9 => Zoned::Digit(b - 0xF0),
            0xC0..=0xC9 => Zoned::Pos(b - 0xC0),
            0xD0..=0xD9 => Zoned::Neg(b - 0xD0),
            0x4E => Zoned::Plus,
            0x60 => Zoned::Minus,
            0x4B => Zoned::Point,
            0x40 => Zoned::Space,
            _ => Zoned::Other,
        },
        ZonedEncoding::Ascii => match b {
            b'0'..=b'9' => Zoned::Digit(b - b'0'),
            b'{' => Zoned::Pos(0),
            b'A'..=b'I' => Zoned::Pos(b - b'A' + 1),
            b'}' => Zoned::Neg(0),
            b'J'..=b'R' => Zoned::Neg(b - b'J' + 1),
            b'p'..=b'y' => Zoned::Neg(b - b'p'),
            b'+' => Zoned::Plus,
            b'-' => Zoned::Minus,
            b'.' => Zoned::Point,
            b' ' => Zoned::Space,
            _ => Zoned::Other,
        },
    }
}

/// One in every byte of a word (`LANES * b` is `b` eight times).
const LANES: u64 = 0x0101_0101_0101_0101;

/// The value of eight zoned digits in `word` (little-endian load: the
/// first, most significant digit in the low byte), or `None` if a byte is
/// not a plain digit of the zone (`0x30` ASCII, `0xF0` EBCDIC).
fn eight_digits(word: u64, zone: u8) -> Option<u64> {
    let zones = u64::from(zone) * LANES;
    let low = word & (0x0F * LANES);
    if word & (0xF0 * LANES) != zones || (low + 0x06 * LANES) & (0xF0 * LANES) != 0 {
        return None;
    }
    // Pairs, then fours, then all eight (the SWAR digit parse of simdjson).
    let pairs = low.wrapping_mul(10).wrapping_add(low >> 8);
    let mask = 0x0000_00FF_0000_00FF;
    let v = (pairs & mask)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((pairs >> 16) & mask).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    Some(v)
}

/// The value of `digits` (at most 19 plain zoned digits), or `None` if one
/// is not a digit of the zone.
fn zoned_digits_u64(digits: &[u8], zone: u8) -> Option<u64> {
    let mut value = 0u64;
    let mut chunks = digits.chunks_exact(8);
    for c in &mut chunks {
        value = value * 100_000_000 + eight_digits(word(c), zone)?;
    }
    for &b in chunks.remainder() {
        let d = b.wrapping_sub(zone);
        if d > 9 {
            return None;
        }
        value = value * 10 + u64::from(d);
    }
    Some(value)
}

/// The value of at most 38 plain zoned digits, or `None`.
fn zoned_digits(digits: &[u8], zone: u8) -> Option<i128> {
    if digits.len() <= 19 {
        return zoned_digits_u64(digits, zone).map(i128::from);
    }
    let mut value: i128 = 0;
    for part in digits.chunks(19) {
        let v = zoned_digits_u64(part, zone)?;
        let exp = u32::try_from(part.len()).ok()?;
        value = value * 10i128.pow(exp) + i128::from(v);
    }
    Some(value)
}

/// Room for the ASCII digits of a number read by a fast path.
type DigitBuf = [u8; 40];

/// Copies plain zoned digits of `zone` into `dst` (as long) as ASCII
/// digits, eight at a time; `None` if one is not a plain digit.
fn zoned_to_ascii(src: &[u8], zone: u8, dst: &mut [u8]) -> Option<()> {
    let zones = u64::from(zone) * LANES;
    let mut from = src.chunks_exact(8);
    let mut to = dst.chunks_exact_mut(8);
    for (c, o) in (&mut from).zip(&mut to) {
        let w = word(c);
        let low = w & (0x0F * LANES);
        if w & (0xF0 * LANES) != zones || (low + 0x06 * LANES) & (0xF0 * LANES) != 0 {
            return None;
        }
        o.copy_from_slice(&(low | (0x30 * LANES)).to_le_bytes());
    }
    for (&b, o) in from.remainder().iter().zip(to.into_remainder()) {
        let d = b.wrapping_sub(zone);
        if d > 9 {
            return None;
        }
        *o = b'0' + d;
    }
    Some(())
}

/// The common case of [`decode_zoned`], without separate signs: optional
/// leading spaces, then plain digits, with an overpunched sign where the
/// spec allows one; at most 38 digits. `None` sends anything else (errors
/// included) to the general loop, which reads the same value from what
/// this accepts.
///
/// Writes the ASCII digits (leading zeros included) into `buf` and returns
/// how many and whether the number is negative.
fn zoned_fast_digits(bytes: &[u8], spec: &ZonedSpec, buf: &mut DigitBuf) -> Option<(usize, bool)> {
    let (zone, space) = match spec.encoding {
        ZonedEncoding::Ebcdic => (0xF0, 0x40),
        ZonedEncoding::Ascii => (b'0', b' '),
    };
    let start = bytes.iter().position(|&b| b != space)?;
    let body = &bytes[start..];
    if body.len() > 38 {
        return None;
    }
    // The overpunch byte: the last (trailing, and unsigned when lenient) or
    // the first of the field (leading).
    let (digits, punch, punch_first) = match spec.sign {
        ZonedSign::Trailing | ZonedSign::Unsigned => {
            let (&last, rest) = body.split_last()?;
            (rest, last, false)
        }
        ZonedSign::Leading if start == 0 => {
            let (&first, rest) = body.split_first()?;
            (rest, first, true)
        }
        // Leading spaces: no overpunch; the last byte must be a digit.
        ZonedSign::Leading => {
            let (&last, rest) = body.split_last()?;
            if last.wrapping_sub(zone) > 9 {
                return None;
            }
            (rest, last, false)
        }
        ZonedSign::LeadingSeparate | ZonedSign::TrailingSeparate => return None,
    };
    let (d, negative) = match classify(punch, spec.encoding) {
        Zoned::Digit(d) => (d, false),
        Zoned::Pos(_) | Zoned::Neg(_) if spec.sign == ZonedSign::Unsigned && spec.strict => {
            return None;
        }
        Zoned::Pos(d) => (d, false),
        Zoned::Neg(d) => (d, true),
        _ => return None,
    };
    let len = digits.len() + 1;
    let (punch_at, rest) = if punch_first {
        (0, 1..len)
    } else {
        (digits.len(), 0..digits.len())
    };
    zoned_to_ascii(digits, zone, &mut buf[rest])?;
    buf[punch_at] = b'0' + d;
    Some((len, negative))
}

/// [`decode_zoned`] through [`zoned_fast_digits`].
fn decode_zoned_fast(bytes: &[u8], spec: &ZonedSpec) -> Option<Result<Decimal, CobolDecodeError>> {
    let mut buf = [0u8; 40];
    let (len, negative) = zoned_fast_digits(bytes, spec, &mut buf)?;
    let value = zoned_digits(&buf[..len], b'0')?;
    Some(scaled(if negative { -value } else { value }, spec.scale, 0))
}

/// Decodes a DISPLAY (zoned decimal) number.
///
/// Leading spaces are skipped (as Cobrix does); an explicit `.` may appear
/// once, and the digits after it must then number `spec.scale` (else the
/// value is rescaled exactly, or is an error if that loses digits). A field
/// of spaces only is [`CobolErrorKind::Blank`].
pub fn decode_zoned(bytes: &[u8], spec: &ZonedSpec) -> Result<Decimal, CobolDecodeError> {
    if let Some(d) = zoned_plain(bytes, spec) {
        return Ok(d);
    }
    decode_zoned_fast(bytes, spec).unwrap_or_else(|| decode_zoned_loop(bytes, spec))
}

/// The most common DISPLAY number, in one pass: at most 37 digits, no
/// leading space, a trailing overpunched sign (EBCDIC) or none, a scale of
/// 0 to 38. `None` sends anything else (errors included) to the general
/// paths, which read the same value from what this accepts.
#[inline]
pub(crate) fn zoned_plain(bytes: &[u8], spec: &ZonedSpec) -> Option<Decimal> {
    zoned_plain_at(bytes, 0, bytes.len(), spec)
}

/// [`zoned_plain`] of the field `buf[start..end]`. The digits are read eight at a time; the last
/// few through the eight bytes that end them, so a field inside a record
/// (`buf` the record) rarely needs a byte loop.
#[inline]
pub(crate) fn zoned_plain_at(
    buf: &[u8],
    start: usize,
    end: usize,
    spec: &ZonedSpec,
) -> Option<Decimal> {
    let last_at = end.checked_sub(1).filter(|&l| l >= start)?;
    let &last = buf.get(last_at)?;
    if !(0..=38).contains(&spec.scale) {
        return None;
    }
    let zone = match spec.encoding {
        ZonedEncoding::Ebcdic => 0xF0,
        ZonedEncoding::Ascii => b'0',
    };
    // Up to 18 digits in a u64.
    let value = if last_at - start <= 17 {
        i128::from(digits_in(buf, start, last_at, zone)?)
    } else {
        long_digits(buf, start, last_at, zone)?
    };
    let digit = last & 0x0F;
    let negative = match (spec.encoding, last >> 4, spec.sign) {
        _ if digit > 9 => return None,
        (ZonedEncoding::Ebcdic, 0xF, ZonedSign::Trailing | ZonedSign::Unsigned)
        | (ZonedEncoding::Ebcdic, 0xC, ZonedSign::Trailing)
        | (ZonedEncoding::Ascii, 0x3, ZonedSign::Trailing | ZonedSign::Unsigned) => false,
        (ZonedEncoding::Ebcdic, 0xD, ZonedSign::Trailing) => true,
        _ => return None,
    };
    let value = value * 10 + i128::from(digit);
    let scale = u8::try_from(spec.scale).ok()?;
    Some(Decimal::new(if negative { -value } else { value }, scale))
}

/// The value of 18 to 36 plain zoned digits `buf[start..end]`: the first
/// 19 or fewer, then the last 17.
#[inline(never)]
fn long_digits(buf: &[u8], start: usize, end: usize, zone: u8) -> Option<i128> {
    let split = end
        .checked_sub(17)
        .filter(|&s| s >= start && s - start <= 19)?;
    let high = digits_in(buf, start, split, zone)?;
    let low = digits_in(buf, split, end, zone)?;
    Some(i128::from(high) * 100_000_000_000_000_000 + i128::from(low))
}

/// The value of the plain zoned digits `buf[start..end]` (at most 19), or
/// `None` if one is not a digit of `zone`.
#[inline]
fn digits_in(buf: &[u8], start: usize, end: usize, zone: u8) -> Option<u64> {
    let mut value = 0u64;
    let mut at = start;
    while let Some(w) = buf.get(at..at + 8).filter(|_| at + 8 <= end) {
        value = value * 100_000_000 + eight_digits(word(w), zone)?;
        at += 8;
    }
    let rest = end - at;
    if rest == 0 {
        return Some(value);
    }
    match end.checked_sub(8).and_then(|from| buf.get(from..end)) {
        // The eight bytes ending at `end`: the bytes before `at` (read
        // already, or not the field's) become zeros.
        Some(w) => {
            let keep = u64::MAX << (8 * (8 - rest));
            let w = (word(w) & keep) | ((u64::from(zone) * LANES) & !keep);
            Some(value * POW10[rest] + eight_digits(w, zone)?)
        }
        None => zoned_digits_u64(buf.get(at..end)?, zone).map(|v| value * POW10[rest] + v),
    }
}

/// Eight bytes as a little-endian word (`bytes` has eight).
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(w)
}

/// Powers of ten up to 10^8.
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// [`decode_zoned`] byte by byte: every case, and every error.
fn decode_zoned_loop(bytes: &[u8], spec: &ZonedSpec) -> Result<Decimal, CobolDecodeError> {
    let (mut body, mut base) = (bytes, 0usize);
    let mut negative = false;
    match spec.sign {
        ZonedSign::LeadingSeparate | ZonedSign::TrailingSeparate => {
            let lead = spec.sign == ZonedSign::LeadingSeparate;
            let (sign_at, sign) = if lead {
                (0, bytes.first())
            } else {
                (bytes.len().saturating_sub(1), bytes.last())
            };
            let &sign = sign.ok_or_else(|| err(0, CobolErrorKind::Blank))?;
            negative = match classify(sign, spec.encoding) {
                Zoned::Plus => false,
                Zoned::Minus => true,
                _ => return Err(err(sign_at, CobolErrorKind::InvalidSign(sign))),
            };
            if lead {
                body = &bytes[1..];
                base = 1;
            } else {
                body = &bytes[..bytes.len() - 1];
            }
        }
        _ => {}
    }
    let overpunch_at = match spec.sign {
        ZonedSign::Trailing | ZonedSign::Unsigned => body.len().checked_sub(1),
        ZonedSign::Leading => Some(0),
        _ => None,
    };
    let mut value: i128 = 0;
    let mut digits = 0usize;
    let mut frac: Option<i32> = None;
    for (i, &b) in body.iter().enumerate() {
        let at = base + i;
        let d = match classify(b, spec.encoding) {
            Zoned::Digit(d) => d,
            Zoned::Pos(d) | Zoned::Neg(d) if Some(i) == overpunch_at => {
                if spec.sign == ZonedSign::Unsigned && spec.strict {
                    return Err(err(at, CobolErrorKind::UnexpectedSign(b)));
                }
                negative = matches!(classify(b, spec.encoding), Zoned::Neg(_));
                d
            }
            Zoned::Space if digits == 0 && frac.is_none() => continue,
            Zoned::Point if frac.is_none() => {
                frac = Some(0);
                continue;
            }
            Zoned::Point => return Err(err(at, CobolErrorKind::UnexpectedPoint)),
            _ => return Err(err(at, CobolErrorKind::InvalidZonedDigit(b))),
        };
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(d)))
            .ok_or_else(|| err(at, CobolErrorKind::Overflow))?;
        digits += 1;
        if let Some(f) = frac.as_mut() {
            *f += 1;
        }
    }
    if digits == 0 {
        return Err(err(0, CobolErrorKind::Blank));
    }
    if negative {
        value = -value;
    }
    match frac {
        Some(f) if f != spec.scale => {
            let d = scaled(value, f, 0)?;
            let s = u8::try_from(spec.scale).map_err(|_| err(0, CobolErrorKind::BadScale))?;
            d.rescale(s)
                .ok_or_else(|| err(0, CobolErrorKind::UnexpectedPoint))
        }
        _ => scaled(value, spec.scale, 0),
    }
}

/// Each byte of two digit nibbles as its value 0–99; 0xFF where a nibble
/// is above 9.
const PACKED_PAIRS: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut b = 0;
    while b < 256 {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi <= 9 && lo <= 9 {
            t[b] = (hi * 10 + lo) as u8;
        }
        b += 1;
    }
    t
};

/// The digits of `head` (at most 9 bytes, 18 digits), or `None` if a
/// nibble is above 9.
fn packed_pairs_u64(head: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for &b in head {
        let pair = PACKED_PAIRS[usize::from(b)];
        if pair > 99 {
            return None;
        }
        value = value * 100 + u64::from(pair);
    }
    Some(value)
}

/// The common case of [`decode_packed`]: valid digits and sign, at most
/// 38 digits. `None` sends anything else to the checking loop.
fn decode_packed_fast(bytes: &[u8], scale: i32) -> Option<Result<Decimal, CobolDecodeError>> {
    let (head, last, negative) = packed_parts(bytes, 18)?;
    let mut value: i128 = 0;
    for part in head.chunks(9) {
        let v = packed_pairs_u64(part)?;
        let exp = u32::try_from(2 * part.len()).ok()?;
        value = value * 10i128.pow(exp) + i128::from(v);
    }
    value = value * 10 + i128::from(last);
    Some(scaled(if negative { -value } else { value }, scale, 0))
}

/// A packed number's digit bytes (at most `max_head`), its last digit and
/// whether its sign is negative; `None` for a bad last byte or a longer
/// number.
#[inline]
fn packed_parts(bytes: &[u8], max_head: usize) -> Option<(&[u8], u8, bool)> {
    let (&last, head) = bytes.split_last()?;
    if head.len() > max_head || last >> 4 > 9 {
        return None;
    }
    let negative = match last & 0x0F {
        0xC | 0xF => false,
        0xD | 0xB => true,
        _ => return None,
    };
    Some((head, last >> 4, negative))
}

/// The ASCII digits of a valid packed number of at most 37 digits, into
/// `buf`: how many and whether negative. `None` sends anything else to
/// [`decode_packed`].
fn packed_fast_digits(bytes: &[u8], buf: &mut DigitBuf) -> Option<(usize, bool)> {
    let (head, last, negative) = packed_parts(bytes, 18)?;
    for (&b, pair) in head.iter().zip(buf.chunks_exact_mut(2)) {
        if PACKED_PAIRS[usize::from(b)] > 99 {
            return None;
        }
        pair[0] = b'0' + (b >> 4);
        pair[1] = b'0' + (b & 0x0F);
    }
    buf[2 * head.len()] = b'0' + last;
    Some((2 * head.len() + 1, negative))
}

/// Decodes a packed decimal (COMP-3) number: two digits a byte, the last
/// nibble the sign — C or F positive (F "unsigned"), D or B negative (B
/// is IBM's alternative minus; A and E are rejected).
pub fn decode_packed(bytes: &[u8], scale: i32) -> Result<Decimal, CobolDecodeError> {
    if let Some(d) = packed_plain(bytes, scale) {
        return Ok(d);
    }
    decode_packed_fast(bytes, scale).unwrap_or_else(|| decode_packed_loop(bytes, scale))
}

/// The most common packed number, in one pass: at most 35 digits, a valid
/// sign nibble, a scale of 0 to 38. `None` sends anything else (errors
/// included) to the general paths.
#[inline]
pub(crate) fn packed_plain(bytes: &[u8], scale: i32) -> Option<Decimal> {
    let scale = u8::try_from(scale).ok().filter(|&s| s <= 38)?;
    let (head, digit, negative) = packed_parts(bytes, 17)?;
    // Up to 17 digits in a u64; up to 35, the head in two halves.
    let value = if head.len() <= 8 {
        i128::from(packed_pairs(head)? * 10 + u64::from(digit))
    } else {
        let (high, low) = head.split_at(head.len() - 8);
        let low = packed_pairs(low)? * 10 + u64::from(digit);
        i128::from(packed_pairs(high)?) * 100_000_000_000_000_000 + i128::from(low)
    };
    Some(Decimal::new(if negative { -value } else { value }, scale))
}

/// The value of packed digit pairs (at most 9 bytes), or `None` if a
/// nibble is above 9.
#[inline]
fn packed_pairs(bytes: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for &b in bytes {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return None;
        }
        value = value * 100 + u64::from(hi * 10 + lo);
    }
    Some(value)
}

/// [`decode_packed`] nibble by nibble: every case, and every error.
fn decode_packed_loop(bytes: &[u8], scale: i32) -> Result<Decimal, CobolDecodeError> {
    let Some((&last, head)) = bytes.split_last() else {
        return Err(err(0, CobolErrorKind::Blank));
    };
    let mut value: i128 = 0;
    let mut push = |d: u8, at: usize| -> Result<(), CobolDecodeError> {
        if d > 9 {
            return Err(err(at, CobolErrorKind::InvalidPackedDigit(d)));
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(d)))
            .ok_or_else(|| err(at, CobolErrorKind::Overflow))?;
        Ok(())
    };
    for (i, &b) in head.iter().enumerate() {
        push(b >> 4, i)?;
        push(b & 0x0F, i)?;
    }
    let at = head.len();
    push(last >> 4, at)?;
    let negative = match last & 0x0F {
        0xC | 0xF => false,
        0xD | 0xB => true,
        n => return Err(err(at, CobolErrorKind::InvalidSignNibble(n))),
    };
    scaled(if negative { -value } else { value }, scale, 0)
}

/// Decodes a binary integer of 1–16 bytes (two's complement if `signed`)
/// and applies the PIC scale. Values beyond `i128` (unsigned 16-byte
/// fields with the top bit set) are [`CobolErrorKind::Overflow`].
pub fn decode_binary(
    bytes: &[u8],
    signed: bool,
    order: ByteOrder,
    scale: i32,
) -> Result<Decimal, CobolDecodeError> {
    if bytes.is_empty() {
        return Err(err(0, CobolErrorKind::Blank));
    }
    if bytes.len() > 16 {
        return Err(err(0, CobolErrorKind::Overflow));
    }
    let mut buf = [0u8; 16];
    let n = bytes.len();
    match order {
        ByteOrder::Big => buf[16 - n..].copy_from_slice(bytes),
        ByteOrder::Little => {
            for (dst, &src) in buf[16 - n..].iter_mut().zip(bytes.iter().rev()) {
                *dst = src;
            }
        }
    }
    let top = buf[16 - n];
    if signed && top & 0x80 != 0 {
        for b in &mut buf[..16 - n] {
            *b = 0xFF;
        }
    }
    let value = if signed {
        i128::from_be_bytes(buf)
    } else {
        i128::try_from(u128::from_be_bytes(buf)).map_err(|_| err(0, CobolErrorKind::Overflow))?
    };
    scaled(value, scale, 0)
}

/// Decodes a 4-byte (COMP-1) or 8-byte (COMP-2) big-endian float.
///
/// IBM hexadecimal: `0x41100000` is 1.0, `0xC276A000` is -118.625. A
/// COMP-2 fraction has 56 bits, rounded once to `f64`'s 53.
pub fn decode_float(bytes: &[u8], format: FloatFormat) -> Result<f64, CobolDecodeError> {
    match (format, bytes.len()) {
        (FloatFormat::Ieee754, 4) => {
            let mut b = [0u8; 4];
            b.copy_from_slice(bytes);
            Ok(f64::from(f32::from_be_bytes(b)))
        }
        (FloatFormat::Ieee754, 8) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            Ok(f64::from_be_bytes(b))
        }
        (FloatFormat::IbmHex, 4 | 8) => {
            let mut b = [0u8; 8];
            b[..bytes.len()].copy_from_slice(bytes);
            let word = u64::from_be_bytes(b);
            let negative = word >> 63 != 0;
            let exp = i32::try_from((word >> 56) & 0x7F).unwrap_or(0) - 64;
            let frac = word & 0x00FF_FFFF_FFFF_FFFF;
            // value = frac / 2^56 * 16^exp (a 4-byte float's low bytes are 0)
            #[allow(clippy::cast_precision_loss)]
            let v = (frac as f64) * 2f64.powi(4 * exp - 56);
            Ok(if negative { -v } else { v })
        }
        (_, n) => Err(err(0, CobolErrorKind::BadFloatSize(n))),
    }
}

/// Options for decoding a record's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CobolOptions {
    /// Code page of text and of DISPLAY numbers (EBCDIC pages give EBCDIC
    /// zoned digits; any other page ASCII ones).
    pub code_page: CodePage,
    /// Encoding of COMP-1 / COMP-2.
    pub float_format: FloatFormat,
    /// Byte order of COMP-5 ("native") binary. COMP / COMP-4 / BINARY are
    /// always big-endian.
    pub native_order: ByteOrder,
    /// Reject overpunched signs on unsigned DISPLAY items.
    pub strict_sign: bool,
}

impl Default for CobolOptions {
    /// EBCDIC 037, IBM hexadecimal floats, big-endian COMP-5, strict signs.
    fn default() -> Self {
        CobolOptions {
            code_page: CodePage::Ebcdic037,
            float_format: FloatFormat::IbmHex,
            native_order: ByteOrder::Big,
            strict_sign: true,
        }
    }
}

/// A decoded elementary item.
#[derive(Debug, Clone, PartialEq)]
pub enum CobolValue {
    /// An exact number (DISPLAY, binary, packed).
    Number(Decimal),
    /// A COMP-1 / COMP-2 float.
    Float(f64),
    /// Text (PIC X / A), untrimmed.
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Zoned(ZonedSign),
    Edited,
    Binary { signed: bool, native: bool },
    Packed,
    Float,
}

/// One elementary item, ready to decode from records: its name, offset,
/// size and how to read it (built once per field, not per record).
#[derive(Debug, Clone, PartialEq)]
pub struct ElementaryField {
    /// The data name.
    pub name: String,
    /// 0-based offset of the first occurrence in the record.
    pub offset: usize,
    /// Bytes of one occurrence.
    pub len: usize,
    kind: Kind,
    scale: i32,
    blank_when_zero: bool,
}

fn zoned_sign(pic: &Picture, sign: Option<SignClause>) -> ZonedSign {
    match sign {
        Some(SignClause {
            leading: true,
            separate: true,
        }) => ZonedSign::LeadingSeparate,
        Some(SignClause {
            leading: false,
            separate: true,
        }) => ZonedSign::TrailingSeparate,
        Some(SignClause { leading: true, .. }) if pic.signed => ZonedSign::Leading,
        _ if pic.signed => ZonedSign::Trailing,
        _ => ZonedSign::Unsigned,
    }
}

impl ElementaryField {
    /// The decoder for `item` placed at `entry`, or `None` for a group.
    pub fn new(entry: &FieldMapEntry, item: &Item) -> Option<ElementaryField> {
        if item.is_group() {
            return None;
        }
        let pic = item.picture.as_ref();
        let numeric = pic.is_some_and(|p| p.category == PicCategory::Numeric);
        let signed = pic.is_some_and(|p| p.signed);
        let kind = match (item.usage, pic) {
            (Usage::Float | Usage::Double, _) => Kind::Float,
            (_, None) => Kind::Text,
            (Usage::Binary, Some(_)) => Kind::Binary {
                signed,
                native: false,
            },
            (Usage::NativeBinary, Some(_)) => Kind::Binary {
                signed,
                native: true,
            },
            (Usage::Packed, Some(_)) => Kind::Packed,
            (Usage::Display, Some(p)) if numeric => Kind::Zoned(zoned_sign(p, item.sign)),
            (Usage::Display, Some(p)) if p.category == PicCategory::NumericEdited => Kind::Edited,
            (Usage::Display, Some(_)) => Kind::Text,
        };
        Some(ElementaryField {
            name: entry.name.clone(),
            offset: entry.offset,
            len: entry.item_len,
            kind,
            scale: pic.map_or(0, |p| p.scale),
            blank_when_zero: item.blank_when_zero,
        })
    }

    /// How to read the field as a DISPLAY number under `opts`, if it is a
    /// zoned item that is not BLANK WHEN ZERO (for callers that decode the
    /// common case themselves: [`zoned_plain`]).
    pub(crate) fn zoned_spec(&self, opts: &CobolOptions) -> Option<ZonedSpec> {
        match self.kind {
            Kind::Zoned(sign) if !self.blank_when_zero => Some(self.spec(sign, opts)),
            _ => None,
        }
    }

    /// The spec of this field read as a DISPLAY number with `sign`.
    fn spec(&self, sign: ZonedSign, opts: &CobolOptions) -> ZonedSpec {
        ZonedSpec {
            encoding: zoned_encoding(opts.code_page),
            sign,
            scale: self.scale,
            strict: opts.strict_sign,
        }
    }

    /// For a binary item (COMP, COMP-4, BINARY, COMP-5) under `opts`:
    /// whether it is signed, its byte order and its PIC scale.
    pub(crate) fn binary_order(&self, opts: &CobolOptions) -> Option<(bool, ByteOrder, i32)> {
        match self.kind {
            Kind::Binary { signed, native } => Some((
                signed,
                if native {
                    opts.native_order
                } else {
                    ByteOrder::Big
                },
                self.scale,
            )),
            _ => None,
        }
    }

    /// The PIC scale of a packed (COMP-3) item, if it is one.
    pub(crate) fn packed_scale(&self) -> Option<i32> {
        (self.kind == Kind::Packed).then_some(self.scale)
    }

    /// Whether the field is text (PIC X / A, or no PIC and not a float).
    pub fn is_text(&self) -> bool {
        self.kind == Kind::Text
    }

    /// Whether the field is a COMP-1 / COMP-2 float.
    pub fn is_float(&self) -> bool {
        self.kind == Kind::Float
    }

    fn bytes<'r>(&self, record: &'r [u8], offset: usize) -> Result<&'r [u8], CobolDecodeError> {
        record
            .get(offset..offset.saturating_add(self.len))
            .ok_or_else(|| self.locate(err(0, CobolErrorKind::Truncated(self.len)), offset))
    }

    fn locate(&self, mut e: CobolDecodeError, offset: usize) -> CobolDecodeError {
        e.offset += offset;
        e.field = Some(self.name.clone());
        e
    }

    /// Decodes the field's first occurrence as an exact number (not for
    /// text or float fields).
    pub fn decimal(&self, record: &[u8], opts: &CobolOptions) -> Result<Decimal, CobolDecodeError> {
        self.decimal_at(record, self.offset, opts)
    }

    /// Decodes the field as an exact number at `offset` (an occurrence of
    /// an OCCURS table other than the first).
    pub fn decimal_at(
        &self,
        record: &[u8],
        offset: usize,
        opts: &CobolOptions,
    ) -> Result<Decimal, CobolDecodeError> {
        let bytes = self.bytes(record, offset)?;
        let space = opts.code_page.space();
        if self.blank_when_zero
            && matches!(self.kind, Kind::Zoned(_) | Kind::Edited)
            && bytes.iter().all(|&b| b == space)
        {
            return scaled(0, self.scale.max(0), 0).map_err(|e| self.locate(e, offset));
        }
        let r = match self.kind {
            Kind::Zoned(sign) => decode_zoned(bytes, &self.spec(sign, opts)),
            Kind::Edited => decode_edited(bytes, zoned_encoding(opts.code_page), self.scale),
            Kind::Binary { signed, native } => {
                let order = if native {
                    opts.native_order
                } else {
                    ByteOrder::Big
                };
                decode_binary(bytes, signed, order, self.scale)
            }
            Kind::Packed => decode_packed(bytes, self.scale),
            Kind::Text | Kind::Float => Err(err(0, CobolErrorKind::WrongType)),
        };
        r.map_err(|e| self.locate(e, offset))
    }

    /// Decodes the field as an exact number at `offset`, like
    /// [`decimal_at`](Self::decimal_at), and appends its canonical text
    /// (the [`Decimal`] display: `-12.50`, `0.05`, `7`) to `out`, without
    /// going through `fmt`. On error `out` is unchanged.
    pub fn decimal_text_at(
        &self,
        record: &[u8],
        offset: usize,
        opts: &CobolOptions,
        out: &mut String,
    ) -> Result<(), CobolDecodeError> {
        let bytes = self.bytes(record, offset)?;
        let scale = usize::try_from(self.scale).ok().filter(|&s| s <= 38);
        if let Some(scale) = scale
            && !self.blank_when_zero
        {
            let mut buf = [0u8; 40];
            let digits = match self.kind {
                Kind::Zoned(sign) => zoned_fast_digits(bytes, &self.spec(sign, opts), &mut buf),
                Kind::Packed => packed_fast_digits(bytes, &mut buf),
                _ => None,
            };
            if let Some((len, negative)) = digits {
                write_digits(negative, &buf[..len], scale, out);
                return Ok(());
            }
        }
        let d = self.decimal_at(record, offset, opts)?;
        write_decimal(d, out);
        Ok(())
    }

    /// Decodes a COMP-1 / COMP-2 field's first occurrence.
    pub fn float(&self, record: &[u8], opts: &CobolOptions) -> Result<f64, CobolDecodeError> {
        self.float_at(record, self.offset, opts)
    }

    /// Decodes a COMP-1 / COMP-2 field at `offset`.
    pub fn float_at(
        &self,
        record: &[u8],
        offset: usize,
        opts: &CobolOptions,
    ) -> Result<f64, CobolDecodeError> {
        let bytes = self.bytes(record, offset)?;
        if self.kind != Kind::Float {
            return Err(self.locate(err(0, CobolErrorKind::WrongType), offset));
        }
        decode_float(bytes, opts.float_format).map_err(|e| self.locate(e, offset))
    }

    /// Appends the text of the field's first occurrence to `out`
    /// (untrimmed); any field's bytes can be read as text.
    pub fn text_into(
        &self,
        record: &[u8],
        opts: &CobolOptions,
        out: &mut String,
    ) -> Result<(), CobolDecodeError> {
        self.text_into_at(record, self.offset, opts, out)
    }

    /// Appends the text of the field at `offset` to `out` (untrimmed).
    pub fn text_into_at(
        &self,
        record: &[u8],
        offset: usize,
        opts: &CobolOptions,
        out: &mut String,
    ) -> Result<(), CobolDecodeError> {
        let bytes = self.bytes(record, offset)?;
        opts.code_page
            .decode_into(bytes, out)
            .map_err(|_| self.locate(err(0, CobolErrorKind::InvalidText), offset))
    }

    /// Decodes the field's first occurrence by its type.
    pub fn value(
        &self,
        record: &[u8],
        opts: &CobolOptions,
    ) -> Result<CobolValue, CobolDecodeError> {
        match self.kind {
            Kind::Text => {
                let mut s = String::with_capacity(self.len);
                self.text_into(record, opts, &mut s)?;
                Ok(CobolValue::Text(s))
            }
            Kind::Float => self.float(record, opts).map(CobolValue::Float),
            _ => self.decimal(record, opts).map(CobolValue::Number),
        }
    }
}

/// EBCDIC digits for an EBCDIC page, ASCII digits for any other.
fn zoned_encoding(page: CodePage) -> ZonedEncoding {
    if page.is_ebcdic() {
        ZonedEncoding::Ebcdic
    } else {
        ZonedEncoding::Ascii
    }
}

/// Decodes a numeric-edited DISPLAY item leniently: spaces, `*`, `$`, `,`
/// and `/` are skipped, `+` / `-` (anywhere) and `CR` / `DB` give the sign,
/// `.` is the decimal point; the digits read, with the PIC scale, are the
/// value (an implied `V` position whose `Z`s print as spaces must print a
/// digit, else the value is misread: such items are rare).
pub fn decode_edited(
    bytes: &[u8],
    encoding: ZonedEncoding,
    scale: i32,
) -> Result<Decimal, CobolDecodeError> {
    let mut negative = false;
    let mut value: i128 = 0;
    let mut digits = 0usize;
    let mut frac: Option<i32> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let c = match encoding {
            ZonedEncoding::Ascii => char::from(b),
            ZonedEncoding::Ebcdic => CodePage::Ebcdic037
                .table()
                .map_or('\u{0}', |t| t[usize::from(b)]),
        };
        match c {
            '0'..='9' => {
                let d = u8::try_from(u32::from(c) - u32::from('0')).unwrap_or(0);
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i128::from(d)))
                    .ok_or_else(|| err(i, CobolErrorKind::Overflow))?;
                digits += 1;
                if let Some(f) = frac.as_mut() {
                    *f += 1;
                }
            }
            '-' => negative = true,
            'C' | 'D' | 'c' | 'd' => {
                negative = true;
                i += 1;
            }
            '+' | ' ' | '*' | '$' | ',' | '/' => {}
            '.' if frac.is_none() => frac = Some(0),
            _ => return Err(err(i, CobolErrorKind::InvalidZonedDigit(b))),
        }
        i += 1;
    }
    if digits == 0 {
        return Err(err(0, CobolErrorKind::Blank));
    }
    if negative {
        value = -value;
    }
    match frac {
        Some(f) if f != scale => {
            let s = u8::try_from(scale).map_err(|_| err(0, CobolErrorKind::BadScale))?;
            scaled(value, f, 0)?
                .rescale(s)
                .ok_or_else(|| err(0, CobolErrorKind::UnexpectedPoint))
        }
        _ => scaled(value, scale, 0),
    }
}

/// The elementary items of a copybook, in field-map order, each with its
/// first occurrence's offset (groups are left out).
pub fn elementary_fields(copybook: &Copybook) -> Vec<ElementaryField> {
    fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Item>) {
        for it in items {
            out.push(it);
            walk(&it.children, out);
        }
    }
    let mut items = Vec::new();
    walk(copybook.items(), &mut items);
    copybook
        .field_map()
        .iter()
        .zip(items)
        .filter_map(|(e, it)| ElementaryField::new(e, it))
        .collect()
}

/// Appends the canonical text of `d` (as its `Display`) to `out`, the
/// digits through `itoa`'s 64-bit path when they fit.
fn write_decimal(d: Decimal, out: &mut String) {
    let unscaled = d.unscaled();
    let mut buf = itoa::Buffer::new();
    let digits = match u64::try_from(unscaled.unsigned_abs()) {
        Ok(small) => buf.format(small),
        Err(_) => buf.format(unscaled.unsigned_abs()),
    };
    write_digits(unscaled < 0, digits.as_bytes(), usize::from(d.scale()), out);
}

/// Appends the canonical text of the number `digits` (ASCII digits,
/// leading zeros allowed) × 10^-`scale`, negative if `negative` and not
/// zero: exactly `Decimal`'s display (`-12.50`, `0.05`, `7`, `0.00`).
fn write_digits(negative: bool, digits: &[u8], scale: usize, out: &mut String) {
    let first = digits
        .iter()
        .position(|&c| c != b'0')
        .unwrap_or(digits.len());
    let sig = &digits[first..];
    // The text is built in one stack buffer and appended at once: at most
    // a sign, "0.", 38 digits of scale and the significant digits.
    let mut buf = [0u8; 96];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        let end = (n + s.len()).min(buf.len());
        buf[n..end].copy_from_slice(&s[..end - n]);
        n = end;
    };
    if negative && !sig.is_empty() {
        put(b"-");
    }
    if scale == 0 {
        put(if sig.is_empty() { b"0" } else { sig });
    } else if sig.len() > scale {
        let (int, frac) = sig.split_at(sig.len() - scale);
        put(int);
        put(b".");
        put(frac);
    } else {
        put(b"0.");
        put(&ZEROS[..scale - sig.len()]);
        put(sig);
    }
    // Only ASCII digits, '-' and '.' were written.
    out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or(""));
}

/// Enough zeros to pad any scale.
const ZEROS: [u8; 40] = [b'0'; 40];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes of zoned numbers: digits, overpunches, signs, points, spaces
    /// and others, in both encodings.
    fn zoned_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            8 => 0xF0u8..=0xF9,
            8 => b'0'..=b'9',
            1 => 0xC0u8..=0xC9,
            1 => 0xD0u8..=0xD9,
            1 => prop::sample::select(vec![
                0x40u8, 0x4B, 0x4E, 0x60, b' ', b'.', b'+', b'-', b'{', b'}', b'A', b'J', b'p',
                0xFA, 0x00,
            ]),
        ]
    }

    fn any_spec() -> impl Strategy<Value = ZonedSpec> {
        (
            prop::sample::select(vec![ZonedEncoding::Ebcdic, ZonedEncoding::Ascii]),
            prop::sample::select(vec![
                ZonedSign::Unsigned,
                ZonedSign::Trailing,
                ZonedSign::Leading,
                ZonedSign::TrailingSeparate,
                ZonedSign::LeadingSeparate,
            ]),
            -3i32..42,
            any::<bool>(),
        )
            .prop_map(|(encoding, sign, scale, strict)| ZonedSpec {
                encoding,
                sign,
                scale,
                strict,
            })
    }

    /// Mostly plain digits of one zone, for the fast path's sake.
    fn plain_zoned(zone: u8) -> impl Strategy<Value = Vec<u8>> {
        (
            0usize..4,
            prop::collection::vec(0u8..10, 1..45),
            0xC0u8..=0xD9,
        )
            .prop_map(move |(spaces, digits, punch)| {
                let mut v = vec![if zone == 0xF0 { 0x40 } else { b' ' }; spaces];
                v.extend(digits.iter().map(|d| zone | d));
                if punch & 0x0F <= 9
                    && zone == 0xF0
                    && let Some(last) = v.last_mut()
                {
                    *last = punch;
                }
                v
            })
    }

    proptest! {
        #[test]
        fn zoned_fast_path_agrees_with_the_loop(
            bytes in prop_oneof![
                prop::collection::vec(zoned_byte(), 0..45),
                plain_zoned(0xF0),
                plain_zoned(b'0'),
            ],
            spec in any_spec(),
        ) {
            let want = decode_zoned_loop(&bytes, &spec);
            if let Some(got) = decode_zoned_fast(&bytes, &spec) {
                prop_assert_eq!(&got, &want);
            }
            prop_assert_eq!(decode_zoned(&bytes, &spec), want);
        }

        #[test]
        fn zoned_plain_inside_a_record_agrees_with_the_loop(
            before in prop::collection::vec(zoned_byte(), 0..12),
            bytes in prop_oneof![
                prop::collection::vec(zoned_byte(), 0..22),
                plain_zoned(0xF0),
                plain_zoned(b'0'),
            ],
            after in prop::collection::vec(zoned_byte(), 0..3),
            spec in any_spec(),
        ) {
            let mut record = before.clone();
            record.extend_from_slice(&bytes);
            record.extend_from_slice(&after);
            let (start, end) = (before.len(), before.len() + bytes.len());
            if let Some(got) = zoned_plain_at(&record, start, end, &spec) {
                prop_assert_eq!(Ok(got), decode_zoned_loop(&bytes, &spec));
            }
            prop_assert_eq!(zoned_plain_at(&record, start, end, &spec), zoned_plain(&bytes, &spec));
        }

        #[test]
        fn packed_fast_path_agrees_with_the_loop(
            bytes in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..22),
                prop::collection::vec(prop::sample::select(vec![0x00u8, 0x12, 0x99, 0x90, 0x09, 0x45]), 0..21)
                    .prop_flat_map(|head| prop::sample::select(vec![0x0Cu8, 0x1D, 0x9F, 0x3B, 0x4A, 0xAC])
                        .prop_map(move |last| { let mut v = head.clone(); v.push(last); v })),
            ],
            scale in -3i32..42,
        ) {
            let want = decode_packed_loop(&bytes, scale);
            if let Some(got) = decode_packed_fast(&bytes, scale) {
                prop_assert_eq!(&got, &want);
            }
            prop_assert_eq!(decode_packed(&bytes, scale), want);
        }

        #[test]
        fn text_of_digits_is_the_decimal_display(
            unscaled in prop_oneof![any::<i64>().prop_map(i128::from), any::<i128>(), -1000i128..1000],
            scale in 0u8..=38,
        ) {
            let d = Decimal::new(unscaled, scale);
            let mut text = String::new();
            write_decimal(d, &mut text);
            prop_assert_eq!(text, d.to_string());
        }
    }

    #[test]
    fn leading_sign_after_spaces_is_not_an_overpunch() {
        let spec = ZonedSpec {
            encoding: ZonedEncoding::Ascii,
            sign: ZonedSign::Leading,
            scale: 0,
            strict: false,
        };
        assert_eq!(decode_zoned(b" 1", &spec), Ok(Decimal::new(1, 0)));
        assert_eq!(decode_zoned(b" 12", &spec), Ok(Decimal::new(12, 0)));
        assert_eq!(decode_zoned(b"J2", &spec), Ok(Decimal::new(-12, 0)));
        assert!(decode_zoned(b" 1J", &spec).is_err());
    }

    #[test]
    fn decimal_text_equals_decimal_display() {
        let text = "       01  R.\n\
                    \x20          05  A  PIC S9(5)V99.\n\
                    \x20          05  B  PIC 9(3)V9(3) COMP-3.\n\
                    \x20          05  C  PIC S9(4) COMP.\n\
                    \x20          05  D  PIC S9(3) SIGN LEADING.\n";
        let cb = Copybook::parse("t.cob", text).unwrap();
        let fields = elementary_fields(&cb);
        let opts = CobolOptions::default();
        let records: [&[u8]; 3] = [
            &[
                0xF0, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xD5, 0x00, 0x12, 0x3F, 0xFF, 0x85, 0xD1, 0xF2,
                0xF3,
            ],
            &[
                0x40, 0x40, 0x40, 0xF0, 0xF0, 0xF0, 0xC0, 0x00, 0x00, 0x5D, 0x00, 0x00, 0xC0, 0xF0,
                0xF0,
            ],
            &[
                0xF0, 0x4B, 0xF1, 0xF2, 0xF3, 0xF4, 0xD5, 0x0A, 0x12, 0x3F, 0xFF, 0x85, 0xF1, 0xF2,
                0xF3,
            ],
        ];
        for record in records {
            for f in &fields {
                let mut text = String::from("x");
                let got = f.decimal_text_at(record, f.offset, &opts, &mut text);
                match f.decimal_at(record, f.offset, &opts) {
                    Ok(d) => {
                        assert_eq!(got, Ok(()));
                        assert_eq!(text, format!("x{d}"), "{}", f.name);
                    }
                    Err(e) => {
                        assert_eq!(got, Err(e));
                        assert_eq!(text, "x");
                    }
                }
            }
        }
    }
}
