//! Encoding records through a copybook layout: the exact inverse of
//! reading them (`read.rs` and the field decoders of `copybook/decode.rs`).
//!
//! A record starts as the layout's template: every column's zero (text as
//! spaces of its code page, numbers as 0 in their encoding, floats as zero
//! bytes) and `FILLER` as spaces. Each value given is then written over
//! its column:
//! - PIC X / A: the text in the column's code page, padded with spaces
//!   (on the left for `JUSTIFIED RIGHT`);
//! - DISPLAY numbers: EBCDIC (0xF0–0xF9) or ASCII digits by code page, the
//!   sign overpunched in the last (or, `SIGN LEADING`, first) digit —
//!   0xC0–0xC9 / 0xD0–0xD9 in EBCDIC, `{` `A`–`I` / `}` `J`–`R` in ASCII —
//!   or a separate `+` / `-`; an explicit `.` where the PIC has one;
//!   `BLANK WHEN ZERO` items holding zero are spaces;
//! - COMP-3: sign nibble C / D, F for an unsigned PIC;
//! - COMP / COMP-4 / BINARY big-endian, COMP-5 in the layout's native
//!   order, two's complement when signed, checked against the byte size
//!   (not the PIC digits, which binary fields may exceed);
//! - COMP-1 / COMP-2: IEEE 754 big-endian or IBM hexadecimal floating
//!   point (rounded to nearest, ties to even; zero is all zero bytes).
//!
//! Numbers are exact: a decimal is rescaled to the PIC scale without
//! losing digits and must fit the PIC digits (a negative scale, trailing
//! `P`s, needs a multiple of its power of ten). Numeric-edited items and
//! JSON table columns cannot be encoded.
//!
//! `OCCURS DEPENDING ON` counters are columns like any other: the template
//! holds 0, and a caller giving occurrences gives the counter too. Every
//! counter must be within its table's maximum, and a value given for an
//! occurrence past its count is an error (it would read back as null).

use super::build::counter_offset;
use super::{CobolPlan, Column, Elem, MAX_DEPTH, Node, Occurrence, Out};
use crate::encode::Input;
use crate::{
    ByteOrder, CodePage, Decimal, EncodeError, Field, FloatFormat, Item, Layout, OwnedValue,
    PicCategory, Usage, ZonedSign,
};

/// How a column's item is written: what the encoder needs beyond the
/// decoder's [`ElementaryField`](crate::ElementaryField).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Encoding {
    kind: EncKind,
    /// The item's PIC and usage as the field map shows them, e.g.
    /// `S9(4) COMP` (for errors).
    summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum EncKind {
    Text {
        justified: bool,
    },
    Zoned {
        sign: ZonedSign,
        digits: u32,
        scale: i32,
        point: bool,
        blank_when_zero: bool,
    },
    Packed {
        digits: u32,
        scale: i32,
        signed: bool,
    },
    Binary {
        signed: bool,
        native: bool,
        scale: i32,
    },
    Float,
    Edited {
        blank_when_zero: bool,
    },
}

/// The sign position of a DISPLAY number (as the decoder reads it).
fn zoned_sign(signed: bool, item: &Item) -> ZonedSign {
    match item.sign {
        Some(s) if s.separate && s.leading => ZonedSign::LeadingSeparate,
        Some(s) if s.separate => ZonedSign::TrailingSeparate,
        Some(s) if s.leading && signed => ZonedSign::Leading,
        _ if signed => ZonedSign::Trailing,
        _ => ZonedSign::Unsigned,
    }
}

impl Encoding {
    /// The encoding of elementary `item`, whose field-map type summary is
    /// `summary`; the same classification as the decoder's.
    pub(super) fn of(item: &Item, summary: &str) -> Encoding {
        let pic = item.picture.as_ref();
        let (digits, scale, signed) = pic.map_or((1, 0, false), |p| (p.digits, p.scale, p.signed));
        let kind = match (item.usage, pic) {
            (Usage::Float | Usage::Double, _) => EncKind::Float,
            (_, None) => EncKind::Text {
                justified: item.justified,
            },
            (Usage::Binary | Usage::NativeBinary, Some(_)) => EncKind::Binary {
                signed,
                native: item.usage == Usage::NativeBinary,
                scale,
            },
            (Usage::Packed, Some(_)) => EncKind::Packed {
                digits,
                scale,
                signed,
            },
            (Usage::Display, Some(p)) if p.category == PicCategory::Numeric => EncKind::Zoned {
                sign: zoned_sign(signed, item),
                digits,
                scale,
                point: p.explicit_point,
                blank_when_zero: item.blank_when_zero,
            },
            (Usage::Display, Some(p)) if p.category == PicCategory::NumericEdited => {
                EncKind::Edited {
                    blank_when_zero: item.blank_when_zero,
                }
            }
            (Usage::Display, Some(_)) => EncKind::Text {
                justified: item.justified,
            },
        };
        Encoding {
            kind,
            summary: match pic {
                Some(_) => format!("PIC {summary}"),
                None => summary.to_owned(),
            },
        }
    }
}

impl CobolPlan {
    /// The record every encoding starts from: `record`'s bytes (spaces in
    /// each item's code page) with every column's zero written over them.
    /// Columns are written last to first, so of items sharing bytes
    /// (`REDEFINES`, several 01 records) the first one's zero stays.
    pub(super) fn fill_template(&self, record: &mut [u8]) {
        for column in self.columns.iter().rev() {
            match column {
                Column::Leaf { elem, offset, .. } => zero(elem, *offset, record),
                Column::Table { node, offset } => zero_node(node, *offset, record),
            }
        }
    }

    /// Encodes `(column name, text)` pairs (see [`Layout::encode`]).
    pub(crate) fn encode_texts<'v>(
        &self,
        layout: &Layout,
        values: impl IntoIterator<Item = (&'v str, &'v str)>,
    ) -> Result<Vec<u8>, EncodeError> {
        let (record, given) =
            crate::encode::by_name(layout, values, |index, field, text, record| {
                self.write_text(index, field, text, record)
            })?;
        self.check_counts(layout, &given, &record)?;
        Ok(record)
    }

    /// Encodes typed values by column index (see [`Layout::encode_values`]).
    pub(crate) fn encode_values(
        &self,
        layout: &Layout,
        values: &[(usize, OwnedValue)],
    ) -> Result<Vec<u8>, EncodeError> {
        let (record, written) =
            crate::encode::by_index(layout, values, |index, field, input, record| {
                self.write_input(index, field, input, record)
            })?;
        self.check_counts(layout, &written, &record)?;
        Ok(record)
    }

    /// Parses `text` per column `index`'s type and writes it.
    fn write_text(
        &self,
        index: usize,
        field: &Field,
        text: &str,
        record: &mut [u8],
    ) -> Result<(), String> {
        let Some(Column::Leaf { elem, .. }) = self.columns.get(index) else {
            return self.write_input(index, field, Input::Text(text), record);
        };
        let t = text.trim();
        let ty = field.ty;
        let input = match elem.out {
            Out::Text => Input::Text(text),
            Out::Int => Input::Int(
                t.parse()
                    .map_err(|_| format!("{text:?} is not an integer for {ty}"))?,
            ),
            Out::Decimal => Input::Decimal(
                Decimal::parse(t)
                    .ok_or_else(|| format!("{text:?} is not a decimal number for {ty}"))?,
            ),
            Out::Float32 | Out::Float64 => Input::Float(
                t.parse()
                    .map_err(|_| format!("{text:?} is not a number for {ty}"))?,
            ),
        };
        self.write_input(index, field, input, record)
    }

    /// Writes a typed value into column `index` of `record`.
    fn write_input(
        &self,
        index: usize,
        field: &Field,
        input: Input<'_>,
        record: &mut [u8],
    ) -> Result<(), String> {
        let (elem, at) = match self.columns.get(index) {
            Some(Column::Leaf { elem, offset, .. }) => (elem, *offset),
            Some(Column::Table { .. }) => {
                return Err(
                    "a table column (OCCURS as JSON) cannot be encoded: flatten the tables to give their occurrences as columns"
                        .to_owned(),
                );
            }
            None => return Err(format!("no plan for column number {index}")),
        };
        let enc = &elem.enc;
        if matches!(enc.kind, EncKind::Edited { .. }) {
            return Err(format!(
                "a numeric-edited item ({}) cannot be encoded: give the record as bytes",
                enc.summary
            ));
        }
        let end = at + elem.field.len;
        let out = record
            .get_mut(at..end)
            .ok_or_else(|| format!("bytes {at}..{end} are past the record's end"))?;
        let written = match (elem.out, input) {
            (Out::Text, Input::Text(t)) => write_text(elem, t, out),
            (Out::Int, Input::Int(v)) => write_number(elem, Decimal::new(i128::from(v), 0), out),
            (Out::Decimal, Input::Decimal(d)) => write_number(elem, d, out),
            (Out::Float32 | Out::Float64, Input::Float(v)) => write_float(elem, v, out),
            (_, input) => {
                return Err(format!(
                    "a {} value does not fit a column of type {} ({})",
                    input.kind(),
                    field.ty,
                    enc.summary
                ));
            }
        };
        written.map_err(|problem| format!("{problem} for {} at byte {at}", enc.summary))
    }

    /// Every `OCCURS DEPENDING ON` counter must hold a count within its
    /// table's maximum, and no value may be given past its count.
    fn check_counts(
        &self,
        layout: &Layout,
        given: &[bool],
        record: &[u8],
    ) -> Result<(), EncodeError> {
        if self.counters.is_empty() {
            return Ok(());
        }
        let first: Occurrence = [0; MAX_DEPTH];
        for c in &self.counters {
            self.count(c, counter_offset(c, &first), record)
                .map_err(|e| {
                    EncodeError::new(&c.name, format!("{} at byte {}", e.kind, e.offset))
                })?;
        }
        for (i, column) in self.columns.iter().enumerate() {
            let Column::Leaf { guards, .. } = column else {
                continue;
            };
            for g in guards {
                let c = &self.counters[g.counter];
                let count = self.count(c, g.counter_offset, record).map_err(|e| {
                    EncodeError::new(&c.name, format!("{} at byte {}", e.kind, e.offset))
                })?;
                if given.get(i).copied().unwrap_or(false) && g.index >= count {
                    return Err(EncodeError::new(
                        &layout.fields[i].name,
                        format!(
                            "occurrence {} is past the OCCURS DEPENDING ON count {count} of {} (at byte {}): give the counter too",
                            g.index + 1,
                            c.name,
                            g.counter_offset
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Writes the zero of `elem` at `at` (text: spaces). Zero fits every item;
/// an item whose bytes the encoder cannot lay out keeps its spaces.
fn zero(elem: &Elem, at: usize, record: &mut [u8]) {
    let Some(out) = record.get_mut(at..at + elem.field.len) else {
        return;
    };
    let _ = match elem.enc.kind {
        EncKind::Text { .. } => write_text(elem, "", out),
        EncKind::Float => write_float(elem, 0.0, out),
        EncKind::Edited { blank_when_zero } => {
            // Zero digits read back as zero; BLANK WHEN ZERO as spaces.
            let page = elem.opts.code_page;
            out.fill(if blank_when_zero {
                page.space()
            } else {
                digit(page, 0)
            });
            Ok(())
        }
        _ => write_number(elem, Decimal::new(0, 0), out),
    };
}

/// Writes the zeros of every occurrence of a JSON table's items.
fn zero_node(node: &Node, start: usize, record: &mut [u8]) {
    for i in 0..node.max {
        let at = start + i * node.item_len;
        if let Some(elem) = &node.elem {
            zero(elem, at, record);
        }
        for child in node.children.iter().rev() {
            zero_node(child, at + child.rel, record);
        }
    }
}

/// Text in the column's code page, padded with its spaces.
fn write_text(elem: &Elem, text: &str, out: &mut [u8]) -> Result<(), String> {
    let charset = elem.charset;
    let n = charset.encoded_len(text).map_err(|c| {
        format!(
            "character {c:?} (U+{:04X}) cannot be written in {charset}",
            u32::from(c)
        )
    })?;
    let len = out.len();
    if n > len {
        return Err(format!("text of {n} bytes is longer than the {len} bytes"));
    }
    let justified = matches!(elem.enc.kind, EncKind::Text { justified: true });
    out.fill(charset.space());
    let start = if justified { len - n } else { 0 };
    charset.encode_into(text, &mut out[start..]);
    Ok(())
}

/// The digits of `d` at a PIC scale: `d × 10^scale`, exactly.
fn unscaled_at(d: Decimal, scale: i32) -> Result<i128, String> {
    if scale >= 0 {
        let s = u8::try_from(scale)
            .ok()
            .filter(|&s| s <= 38)
            .ok_or_else(|| format!("a scale of {scale} is beyond 38 digits"))?;
        return d
            .rescale(s)
            .map(Decimal::unscaled)
            .ok_or_else(|| format!("value {d} has more than {s} decimal places"));
    }
    let whole = d
        .rescale(0)
        .ok_or_else(|| format!("value {d} is not a whole number"))?
        .unscaled();
    let factor = 10i128
        .checked_pow(scale.unsigned_abs())
        .ok_or_else(|| format!("a scale of {scale} is beyond 38 digits"))?;
    if whole % factor != 0 {
        return Err(format!("value {d} is not a multiple of {factor}"));
    }
    Ok(whole / factor)
}

/// Checks that `unscaled` has at most `digits` digits and no sign unless
/// `signed` (the error shows the range of the PIC).
fn fits_pic(
    d: Decimal,
    unscaled: i128,
    digits: u32,
    scale: i32,
    signed: bool,
) -> Result<(), String> {
    if unscaled < 0 && !signed {
        return Err(format!("value {d} is negative (the PIC has no sign)"));
    }
    let Some(limit) = 10i128.checked_pow(digits) else {
        return Ok(());
    };
    if unscaled.unsigned_abs() < limit.unsigned_abs() {
        return Ok(());
    }
    let max = match u8::try_from(scale) {
        Ok(s) => Decimal::new(limit - 1, s),
        Err(_) => Decimal::new(
            (limit - 1).saturating_mul(10i128.saturating_pow(scale.unsigned_abs())),
            0,
        ),
    };
    let min = if signed {
        format!("-{max}")
    } else {
        "0".to_owned()
    };
    Err(format!("value {d} is out of range ({min} to {max})"))
}

/// An exact number into a zoned, packed or binary item.
fn write_number(elem: &Elem, d: Decimal, out: &mut [u8]) -> Result<(), String> {
    match elem.enc.kind {
        EncKind::Zoned {
            sign,
            digits,
            scale,
            point,
            blank_when_zero,
        } => {
            let u = unscaled_at(d, scale)?;
            fits_pic(d, u, digits, scale, sign != ZonedSign::Unsigned)?;
            let page = elem.opts.code_page;
            if u == 0 && blank_when_zero {
                out.fill(page.space());
                return Ok(());
            }
            let frac = if point {
                usize::try_from(scale).map_err(|_| "a PIC with P and '.'".to_owned())?
            } else {
                0
            };
            write_zoned(page, sign, u, frac, point, out)
        }
        EncKind::Packed {
            digits,
            scale,
            signed,
        } => {
            let u = unscaled_at(d, scale)?;
            fits_pic(d, u, digits, scale, signed)?;
            if out.len().saturating_mul(2) <= digits as usize {
                return Err(format!("{} bytes cannot hold {digits} digits", out.len()));
            }
            crate::decimal::encode_packed(u, out);
            if !signed && let Some(last) = out.last_mut() {
                *last |= 0x0F;
            }
            Ok(())
        }
        EncKind::Binary {
            signed,
            native,
            scale,
        } => {
            let u = unscaled_at(d, scale)?;
            let order = if native {
                elem.opts.native_order
            } else {
                ByteOrder::Big
            };
            write_binary(d, u, signed, order, out)
        }
        EncKind::Edited { .. } => Err("a numeric-edited item cannot be encoded".to_owned()),
        EncKind::Text { .. } | EncKind::Float => Err("not an exact number item".to_owned()),
    }
}

/// The zoned digit `d` of a code page.
fn digit(page: CodePage, d: u8) -> u8 {
    if page.is_ebcdic() { 0xF0 + d } else { b'0' + d }
}

/// A DISPLAY number: digits (a point before the last `frac` if `point`)
/// with the sign where `sign` puts it.
fn write_zoned(
    page: CodePage,
    sign: ZonedSign,
    unscaled: i128,
    frac: usize,
    point: bool,
    out: &mut [u8],
) -> Result<(), String> {
    let ebcdic = page.is_ebcdic();
    let negative = unscaled < 0;
    let body = match sign {
        ZonedSign::LeadingSeparate | ZonedSign::TrailingSeparate => {
            let (sign_at, body) = if sign == ZonedSign::LeadingSeparate {
                let (s, body) = out
                    .split_first_mut()
                    .ok_or_else(|| "no room for the sign".to_owned())?;
                (s, body)
            } else {
                let (s, body) = out
                    .split_last_mut()
                    .ok_or_else(|| "no room for the sign".to_owned())?;
                (s, body)
            };
            *sign_at = match (ebcdic, negative) {
                (true, false) => 0x4E,
                (true, true) => 0x60,
                (false, false) => b'+',
                (false, true) => b'-',
            };
            body
        }
        _ => out,
    };
    let point_at = if point {
        Some(
            body.len()
                .checked_sub(frac + 1)
                .ok_or_else(|| "no room for the decimal point".to_owned())?,
        )
    } else {
        None
    };
    let mut rest = unscaled.unsigned_abs();
    for (i, slot) in body.iter_mut().enumerate().rev() {
        if Some(i) == point_at {
            *slot = if ebcdic { 0x4B } else { b'.' };
            continue;
        }
        // rest % 10 < 10
        *slot = digit(page, (rest % 10) as u8);
        rest /= 10;
    }
    if rest != 0 {
        return Err("the digits do not fit the item".to_owned());
    }
    let overpunch_at = match sign {
        ZonedSign::Trailing => body.len().checked_sub(1),
        ZonedSign::Leading => Some(0),
        _ => None,
    };
    let Some(at) = overpunch_at else {
        return Ok(());
    };
    if Some(at) == point_at {
        // The sign would fall on the point: only positive values read back.
        return if negative {
            Err("a negative value has no digit to carry its sign".to_owned())
        } else {
            Ok(())
        };
    }
    let Some(slot) = body.get_mut(at) else {
        return Err("no digit to carry the sign".to_owned());
    };
    let d = if ebcdic { *slot - 0xF0 } else { *slot - b'0' };
    *slot = match (ebcdic, negative, d) {
        (true, false, d) => 0xC0 + d,
        (true, true, d) => 0xD0 + d,
        (false, false, 0) => b'{',
        (false, false, d) => b'A' + d - 1,
        (false, true, 0) => b'}',
        (false, true, d) => b'J' + d - 1,
    };
    Ok(())
}

/// A binary integer, two's complement if `signed`, checked to fit.
fn write_binary(
    d: Decimal,
    unscaled: i128,
    signed: bool,
    order: ByteOrder,
    out: &mut [u8],
) -> Result<(), String> {
    let n = out.len();
    if n == 0 || n > 16 {
        return Err(format!("a binary item of {n} bytes"));
    }
    let bits = 8 * n as u32;
    let (min, max) = match (signed, bits) {
        (true, 128) => (i128::MIN, i128::MAX),
        (true, _) => (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1),
        (false, 128) => (0, i128::MAX),
        (false, _) => (0, (1i128 << bits) - 1),
    };
    if unscaled < min || unscaled > max {
        if !signed && unscaled < 0 {
            return Err(format!("value {d} is negative (the PIC has no sign)"));
        }
        let what = if signed { "a signed" } else { "an unsigned" };
        return Err(format!(
            "value {d} does not fit {what} binary of {n} bytes (unscaled {min} to {max})"
        ));
    }
    let bytes = unscaled.to_be_bytes();
    let low = &bytes[16 - n..];
    match order {
        ByteOrder::Big => out.copy_from_slice(low),
        ByteOrder::Little => {
            for (slot, b) in out.iter_mut().zip(low.iter().rev()) {
                *slot = *b;
            }
        }
    }
    Ok(())
}

/// A COMP-1 / COMP-2 float in the layout's float format.
fn write_float(elem: &Elem, v: f64, out: &mut [u8]) -> Result<(), String> {
    if !v.is_finite() {
        return Err(format!("{v} is not a finite number"));
    }
    let format = elem.opts.float_format;
    match out.len() {
        4 => {
            #[allow(clippy::cast_possible_truncation)]
            let x = v as f32;
            if x.is_infinite() {
                return Err(format!("value {v} is out of range of a 4-byte float"));
            }
            let bytes = match format {
                FloatFormat::Ieee754 => x.to_be_bytes(),
                FloatFormat::IbmHex => {
                    let word = ibm_hex(f64::from(x), 24)
                        .ok_or_else(|| format!("value {v} is out of range of an IBM float"))?;
                    // A 24-bit fraction, 7-bit exponent and sign fit 32 bits.
                    u32::try_from(word).unwrap_or(0).to_be_bytes()
                }
            };
            out.copy_from_slice(&bytes);
        }
        8 => {
            let bytes = match format {
                FloatFormat::Ieee754 => v.to_be_bytes(),
                FloatFormat::IbmHex => ibm_hex(v, 56)
                    .ok_or_else(|| format!("value {v} is out of range of an IBM float"))?
                    .to_be_bytes(),
            };
            out.copy_from_slice(&bytes);
        }
        n => return Err(format!("a float of {n} bytes (need 4 or 8)")),
    }
    Ok(())
}

/// A finite `v` as an IBM hexadecimal float of `width` (24 or 56)
/// fraction bits: sign bit, 7-bit excess-64 base-16 exponent, fraction,
/// in the low `width + 8` bits; rounded to nearest, ties to even. Values
/// below the smallest normalized one are denormal (exponent 0); `None`
/// above the largest (about 7.2e75).
pub(super) fn ibm_hex(v: f64, width: u32) -> Option<u64> {
    let bits = v.to_bits();
    let negative = bits >> 63 != 0;
    let biased = i32::try_from((bits >> 52) & 0x7FF).unwrap_or(0);
    let stored = bits & ((1u64 << 52) - 1);
    // |v| = m × 2^e
    let (m, e) = match biased {
        0 => (stored, -1074),
        _ => (stored | 1 << 52, biased - 1075),
    };
    if m == 0 {
        return Some(0);
    }
    let top = 63 - i32::try_from(m.leading_zeros()).unwrap_or(0) + e;
    // |v| in [16^(q-1), 16^q): frac = |v| × 2^(width - 4q) in [2^(width-4), 2^width)
    let mut q = top.div_euclid(4) + 1;
    q = q.max(-64);
    let shift = e + i32::try_from(width).unwrap_or(56) - 4 * q;
    let mut frac = shift_round(u128::from(m), shift);
    if frac >> width != 0 {
        // Rounding carried into a new hex digit.
        frac >>= 4;
        q += 1;
    }
    if q + 64 > 127 {
        return None;
    }
    if frac == 0 {
        return Some(0);
    }
    let exp = u64::try_from(q + 64).ok()?;
    let frac = u64::try_from(frac).ok()?;
    Some(u64::from(negative) << (width + 7) | exp << width | frac)
}

/// `m × 2^shift` rounded to nearest, ties to even.
fn shift_round(m: u128, shift: i32) -> u128 {
    if shift >= 0 {
        return m << shift.unsigned_abs().min(64);
    }
    let k = shift.unsigned_abs();
    if k >= 127 {
        return 0;
    }
    let q = m >> k;
    let rem = m & ((1u128 << k) - 1);
    let half = 1u128 << (k - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_float;

    fn ibm8(v: f64) -> [u8; 8] {
        ibm_hex(v, 56).map(u64::to_be_bytes).unwrap_or([0xEE; 8])
    }

    #[test]
    fn ibm_known_values() {
        assert_eq!(ibm_hex(1.0, 24), Some(0x4110_0000));
        assert_eq!(ibm_hex(-118.625, 24), Some(0xC276_A000));
        assert_eq!(ibm_hex(0.0, 24), Some(0));
        assert_eq!(ibm_hex(-0.0, 56), Some(0));
        assert_eq!(ibm_hex(0.5, 24), Some(0x4080_0000));
        assert_eq!(ibm_hex(16.0, 24), Some(0x4210_0000));
        assert_eq!(ibm_hex(1e76, 56), None);
    }

    #[test]
    fn ibm_round_trips_every_f64_in_range() {
        for v in [
            1.0,
            0.1,
            -3.75e-70,
            7.2e75,
            std::f64::consts::PI,
            5.4e-79,
            1e-300,
            f64::MIN_POSITIVE,
        ] {
            let back = decode_float(&ibm8(v), FloatFormat::IbmHex).unwrap_or(f64::NAN);
            if v.abs() > 5.5e-79 {
                assert_eq!(back, v, "{v}");
            } else {
                // Denormal or flushed to zero: within half a unit.
                assert!((back - v).abs() <= 2f64.powi(-313), "{v} {back}");
            }
        }
    }

    #[test]
    fn ibm_short_rounds_to_nearest_even() {
        // 1 + 2^-21 (half a unit of a 0x1xxxxx fraction) ties to even: 1.0.
        assert_eq!(ibm_hex(1.0 + 2f64.powi(-21), 24), Some(0x4110_0000));
        // 1 + 3 × 2^-21 ties up to the even 0x100002.
        assert_eq!(ibm_hex(1.0 + 3.0 * 2f64.powi(-21), 24), Some(0x4110_0002));
        // Just under 16 rounds up into the next exponent.
        assert_eq!(ibm_hex(16.0 - 2f64.powi(-30), 24), Some(0x4210_0000));
    }
}
