//! Decoded field values and their canonical text.

use crate::{Charset, DateTime, Decimal, DecodeError, DecodeErrorKind, TableValue};

/// A decoded field value, borrowing text from the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A `fixed bin` field, sign-extended.
    Int(i64),
    /// A `float bin` field. A 4-byte float is widened to the `f64` nearest
    /// its shortest decimal form, so `0.1f32` reads as `0.1`, and encoding
    /// it back into 4 bytes gives the same bits.
    Float(f64),
    /// A `fixed dec` field, exact.
    Decimal(Decimal),
    /// A `char` or `char varying` field.
    Text(Text<'a>),
    /// A `bit(n)` field: the leading `bits` bits as an unsigned number.
    Bits {
        /// The number the bits make, MSB first.
        value: u64,
        /// `n`.
        bits: u32,
    },
    /// A `dt_` field: the epoch plus its seconds.
    DateTime(DateTime),
    /// No value (copybook layouts only): an occurrence past an `OCCURS
    /// DEPENDING ON` count, a `REDEFINES` alternative that does not decode,
    /// an invalid value when the layout maps those to null, a NaN or
    /// infinite float. SQL `NULL`; empty text.
    Null,
    /// An `OCCURS` table of a copybook layout whose tables are JSON
    /// columns: its text is a JSON array.
    Json(TableValue<'a>),
}

impl Value<'_> {
    /// Appends the canonical text of the value to `out` — what CSV, XML and
    /// SQL text output uses:
    ///
    /// - `Int`: decimal digits (`-32768`);
    /// - `Float`: shortest round-trip form (`0.1`, `1.0`, `1e16`, `NaN`, `inf`);
    /// - `Decimal`: exact with `scale` decimals (`-12.50`);
    /// - `Text`: decoded from the charset, trimmed if the layout trims;
    /// - `Bits`: `bits` binary digits, MSB first (`0`/`1` for `bit(1)`);
    /// - `DateTime`: `YYYY-MM-DD HH:MM:SS`;
    /// - `Null`: nothing;
    /// - `Json`: the table as a JSON array (`[{"amt":1.50},{"amt":2.00}]`).
    ///
    /// Allocates nothing beyond growing `out`. Fails only for text that is
    /// invalid in its charset (then `out` is unchanged).
    pub fn write_text(&self, out: &mut String) -> Result<(), DecodeError> {
        match *self {
            Value::Int(v) => out.push_str(itoa::Buffer::new().format(v)),
            Value::Float(v) => out.push_str(ryu::Buffer::new().format(v)),
            Value::Decimal(d) => d.write_to(out),
            Value::Text(t) => t.write_to(out)?,
            Value::Bits { value, bits } => {
                for i in (0..bits).rev() {
                    out.push(if value >> i & 1 == 1 { '1' } else { '0' });
                }
            }
            Value::DateTime(dt) => dt.write_to(out),
            Value::Null => {}
            Value::Json(t) => t.write_json(out)?,
        }
        Ok(())
    }

    /// The same text as [`write_text`](Self::write_text), appended to a byte
    /// buffer as UTF-8 (what CSV and XML writers take), without a `String`
    /// in between.
    pub fn write_utf8(&self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        use std::io::Write;
        match *self {
            Value::Int(v) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            Value::Float(v) => out.extend_from_slice(ryu::Buffer::new().format(v).as_bytes()),
            Value::Text(t) => t.write_utf8(out)?,
            Value::Bits { value, bits } => {
                out.extend(
                    (0..bits)
                        .rev()
                        .map(|i| if value >> i & 1 == 1 { b'1' } else { b'0' }),
                );
            }
            // Writing to a Vec cannot fail.
            Value::Decimal(d) => {
                let _ = write!(out, "{d}");
            }
            Value::DateTime(dt) => {
                let _ = write!(out, "{dt}");
            }
            Value::Null => {}
            Value::Json(t) => t.write_json_utf8(out)?,
        }
        Ok(())
    }

    /// The value with its text decoded into an owned `String` (untrimmed
    /// text stays untrimmed).
    pub fn to_owned_value(&self) -> Result<OwnedValue, DecodeError> {
        Ok(match *self {
            Value::Int(v) => OwnedValue::Int(v),
            Value::Float(v) => OwnedValue::Float(v),
            Value::Decimal(d) => OwnedValue::Decimal(d),
            Value::Text(t) => {
                let mut s = String::new();
                t.write_to(&mut s)?;
                OwnedValue::Text(s)
            }
            Value::Bits { value, .. } => OwnedValue::Bits(value),
            Value::DateTime(dt) => OwnedValue::DateTime(dt),
            Value::Null => OwnedValue::Null,
            Value::Json(t) => {
                let mut s = String::new();
                t.write_json(&mut s)?;
                OwnedValue::Json(s)
            }
        })
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// The text of a `char` field: its bytes, the charset to decode them and
/// whether to right-trim spaces. Knows its field for error messages.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    bytes: &'a [u8],
    charset: Charset,
    trim: TextTrim,
    field: &'a str,
    offset: usize,
}

/// How a [`Text`] is trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextTrim {
    /// Kept whole.
    None,
    /// Trailing space bytes removed (VOS `trim: right`).
    RightSpaces,
    /// Leading blanks removed: bytes whose character is at most U+0020
    /// (copybook layouts, as Java's `String.trim`).
    LeftBlanks,
    /// Trailing blanks removed.
    RightBlanks,
    /// Leading and trailing blanks removed.
    Blanks,
}

impl<'a> Text<'a> {
    pub(crate) fn new(
        bytes: &'a [u8],
        charset: Charset,
        trim: TextTrim,
        field: &'a str,
        offset: usize,
    ) -> Text<'a> {
        Text {
            bytes,
            charset,
            trim,
            field,
            offset,
        }
    }

    /// The raw bytes, after trimming as the layout trims (trailing spaces
    /// for layouts with `trim: right`).
    pub fn raw(&self) -> &'a [u8] {
        let b = self.bytes;
        match self.trim {
            TextTrim::None => b,
            TextTrim::RightSpaces => {
                let space = self.charset.space();
                &b[..b.iter().rposition(|&c| c != space).map_or(0, |p| p + 1)]
            }
            TextTrim::LeftBlanks | TextTrim::RightBlanks | TextTrim::Blanks => {
                // Runs of eight spaces at a time, then blank by blank.
                let spaces = u64::from_le_bytes([self.charset.space(); 8]);
                let word = |w: &[u8]| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(w);
                    u64::from_le_bytes(a)
                };
                let blank = self.charset.code_page().blanks();
                let is_blank = |c: u8| blank[usize::from(c)];
                let mut end = b.len();
                if self.trim != TextTrim::LeftBlanks {
                    // Whole words of spaces, then the spaces that end the
                    // last word (its high bytes), then other blanks.
                    while end >= 8 {
                        let x = word(&b[end - 8..end]) ^ spaces;
                        end -= (x.leading_zeros() / 8) as usize;
                        if x != 0 {
                            break;
                        }
                    }
                    while end > 0 && is_blank(b[end - 1]) {
                        end -= 1;
                    }
                }
                let mut start = 0;
                if self.trim != TextTrim::RightBlanks {
                    while start + 8 <= end {
                        let x = word(&b[start..start + 8]) ^ spaces;
                        start += (x.trailing_zeros() / 8) as usize;
                        if x != 0 {
                            break;
                        }
                    }
                    while start < end && is_blank(b[start]) {
                        start += 1;
                    }
                }
                &b[start..end]
            }
        }
    }

    /// The charset the bytes are in.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// Appends the decoded text to `out`: ISO-8859-1 maps each byte to the
    /// char of that code; UTF-8 must be valid (never replaced); ASCII must
    /// have no byte above 127. Invalid text is a
    /// [`DecodeErrorKind::BadText`] error and leaves `out` unchanged.
    pub fn write_to(&self, out: &mut String) -> Result<(), DecodeError> {
        self.charset.decode_into(self.raw(), out).map_err(|()| {
            DecodeError::field(
                self.field,
                self.offset,
                DecodeErrorKind::BadText {
                    charset: self.charset,
                },
            )
        })
    }
}

impl Text<'_> {
    /// Appends the decoded text to `out` as UTF-8 bytes; errors as
    /// [`write_to`](Self::write_to) does.
    pub fn write_utf8(&self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        self.charset
            .decode_utf8_into(self.raw(), out)
            .map_err(|()| {
                DecodeError::field(
                    self.field,
                    self.offset,
                    DecodeErrorKind::BadText {
                        charset: self.charset,
                    },
                )
            })
    }
}

/// Texts are equal when their (trimmed) bytes and charsets are.
impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw() && self.charset == other.charset
    }
}

/// A field value that owns its text: the input of
/// [`Layout::encode_values`](crate::Layout::encode_values).
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedValue {
    /// For `fixed bin` fields.
    Int(i64),
    /// For `float bin` fields.
    Float(f64),
    /// For `fixed dec` fields.
    Decimal(Decimal),
    /// For `char` and `char varying` fields.
    Text(String),
    /// For `bit(n)` fields: the bits as an unsigned number.
    Bits(u64),
    /// For `dt_` fields.
    DateTime(DateTime),
    /// No value (see [`Value::Null`]); encodes as the field's default.
    Null,
    /// A JSON column's text (see [`Value::Json`]).
    Json(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Trimming blanks (spaces eight at a time, then byte by byte)
        /// removes exactly the leading / trailing bytes the charset calls
        /// blank.
        #[test]
        fn trimming_removes_exactly_the_blanks(
            bytes in prop::collection::vec(
                prop_oneof![
                    // Mostly spaces (EBCDIC, then ASCII), for the runs.
                    4 => Just(0x40u8),
                    4 => Just(0x20u8),
                    1 => prop::sample::select(vec![0x00u8, 0x05, 0xC1, 0x41, 0x81]),
                ],
                0..40,
            ),
            ebcdic in any::<bool>(),
        ) {
            let charset = if ebcdic { Charset::Ebcdic037 } else { Charset::Latin1 };
            let blank = charset.code_page().blanks();
            let is_blank = |c: &u8| blank[usize::from(*c)];
            let start = bytes.iter().position(|c| !is_blank(c)).unwrap_or(bytes.len());
            let end = bytes.iter().rposition(|c| !is_blank(c)).map_or(start, |p| p + 1);
            for (trim, want) in [
                (TextTrim::Blanks, &bytes[start..end]),
                (TextTrim::LeftBlanks, &bytes[start..]),
                (TextTrim::RightBlanks, &bytes[..bytes.iter().rposition(|c| !is_blank(c)).map_or(0, |p| p + 1)]),
            ] {
                let text = Text::new(&bytes, charset, trim, "f", 0);
                prop_assert_eq!(text.raw(), want, "{:?}", trim);
            }
        }
    }
}
