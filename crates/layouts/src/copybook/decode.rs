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

/// Decodes a DISPLAY (zoned decimal) number.
///
/// Leading spaces are skipped (as Cobrix does); an explicit `.` may appear
/// once, and the digits after it must then number `spec.scale` (else the
/// value is rescaled exactly, or is an error if that loses digits). A field
/// of spaces only is [`CobolErrorKind::Blank`].
pub fn decode_zoned(bytes: &[u8], spec: &ZonedSpec) -> Result<Decimal, CobolDecodeError> {
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

/// Decodes a packed decimal (COMP-3) number: two digits a byte, the last
/// nibble the sign — C or F positive (F "unsigned"), D or B negative (B
/// is IBM's alternative minus; A and E are rejected).
pub fn decode_packed(bytes: &[u8], scale: i32) -> Result<Decimal, CobolDecodeError> {
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
        let encoding = if opts.code_page.is_ebcdic() {
            ZonedEncoding::Ebcdic
        } else {
            ZonedEncoding::Ascii
        };
        let r = match self.kind {
            Kind::Zoned(sign) => decode_zoned(
                bytes,
                &ZonedSpec {
                    encoding,
                    sign,
                    scale: self.scale,
                    strict: opts.strict_sign,
                },
            ),
            Kind::Edited => decode_edited(bytes, encoding, self.scale),
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
