//! Reading field values out of record bytes.

use crate::value::TextTrim;
use crate::{
    ByteOrder, DateTime, DecodeError, DecodeErrorKind, FieldType, Layout, Text, Value, decimal,
};

/// A record checked against its layout, ready to decode fields from.
/// Cheap to copy; decoding allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    layout: &'a Layout,
    bytes: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// `bytes` are the record's first `layout.record_len()` bytes, or the
    /// whole record when it is shorter (at least `min_record_len()`).
    pub(crate) fn new(layout: &'a Layout, bytes: &'a [u8]) -> RecordView<'a> {
        RecordView { layout, bytes }
    }

    /// The layout the record is viewed through.
    pub fn layout(&self) -> &'a Layout {
        self.layout
    }

    /// The record's bytes: its first `record_len` bytes (extra bytes of a
    /// longer record are left out; a shorter copybook record, see
    /// [`Layout::min_record_len`], is whole).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Decodes every field in order and hands each, with its index, to
    /// `f`; stops at the first error, of decoding or of `f`. The same
    /// values as [`get`](Self::get) field by field, faster: the decoders
    /// are inlined into the loop, and values reach `f` without being
    /// returned one by one.
    ///
    /// ```
    /// use drx_layouts::Layout;
    ///
    /// let layout = Layout::parse("l", "fields: id fixed bin (15), name char (4);\nend;")?;
    /// let view = layout.view(&[0x00, 0x07, b'a', b'b', b' ', b' '])?;
    /// let mut text = String::new();
    /// view.try_for_each(|i, value| {
    ///     text.push_str(&layout.fields()[i].name);
    ///     text.push('=');
    ///     value.write_text(&mut text)?;
    ///     text.push(';');
    ///     Ok::<_, drx_layouts::DecodeError>(())
    /// })?;
    /// assert_eq!(text, "id=7;name=ab;");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn try_for_each<E: From<DecodeError>>(
        &self,
        mut f: impl FnMut(usize, Value<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        let fields = &self.layout.fields;
        match &self.layout.cobol {
            Some(plan) => plan.try_for_each(fields, self.bytes, f),
            None => {
                for i in 0..fields.len() {
                    f(i, self.get(i)?)?;
                }
                Ok(())
            }
        }
    }

    /// Decodes field number `index` (see [`Layout::fields`]).
    ///
    /// # Panics
    /// If `index` is not below `layout().fields().len()`.
    pub fn get(&self, index: usize) -> Result<Value<'a>, DecodeError> {
        let field = &self.layout.fields[index];
        if let Some(plan) = &self.layout.cobol {
            return plan.get(field, index, self.bytes);
        }
        let fmt = &self.layout.format;
        let b = &self.bytes[field.offset..field.offset + field.size];
        let order = fmt.byte_order;
        Ok(match field.ty {
            FieldType::Binary { .. } => Value::Int(read_int(b, order)),
            FieldType::DateTime => {
                let secs = read_int(b, order);
                Value::DateTime(DateTime::from_unix_seconds(fmt.dt_epoch + secs))
            }
            FieldType::Char { .. } => Value::Text(Text::new(
                b,
                fmt.charset,
                if fmt.trim {
                    TextTrim::RightSpaces
                } else {
                    TextTrim::None
                },
                &field.name,
                field.offset,
            )),
            FieldType::VarChar { max } => {
                let len = usize::from(u16::from_ne_bytes(order.arrange(arr(&b[..2]))));
                if len > max {
                    return Err(DecodeError::field(
                        &field.name,
                        field.offset,
                        DecodeErrorKind::VaryingTooLong { len, max },
                    ));
                }
                Value::Text(Text::new(
                    &b[2..2 + len],
                    fmt.charset,
                    TextTrim::None,
                    &field.name,
                    field.offset,
                ))
            }
            FieldType::Bit { bits } => {
                let mut buf = [0u8; 8];
                buf[..b.len()].copy_from_slice(b);
                Value::Bits {
                    value: u64::from_be_bytes(buf) >> (64 - bits),
                    bits,
                }
            }
            FieldType::Float { bytes: 4 } => {
                Value::Float(widen(f32::from_ne_bytes(order.arrange(arr(b)))))
            }
            FieldType::Float { .. } => Value::Float(f64::from_ne_bytes(order.arrange(arr(b)))),
            // Only copybook layouts have JSON columns (decoded above).
            FieldType::Json { .. } => Value::Null,
            FieldType::Decimal { precision, scale } => {
                match decimal::decode_packed(b, precision, scale) {
                    Ok(d) => Value::Decimal(d),
                    Err((at, kind)) => {
                        return Err(DecodeError::field(&field.name, field.offset + at, kind));
                    }
                }
            }
        })
    }
}

impl ByteOrder {
    /// Reorders bytes read in this order into native order (and back).
    #[inline]
    pub(crate) fn arrange<const N: usize>(self, mut bytes: [u8; N]) -> [u8; N] {
        let native = if cfg!(target_endian = "big") {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        };
        if self != native {
            bytes.reverse();
        }
        bytes
    }
}

/// The first `N` bytes of `b` as an array (`b` is at least `N` long).
#[inline]
fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

/// A signed integer of 1, 2, 4 or 8 bytes, sign-extended.
#[inline]
fn read_int(b: &[u8], order: ByteOrder) -> i64 {
    match b.len() {
        1 => i64::from(b[0] as i8),
        2 => i64::from(i16::from_ne_bytes(order.arrange(arr(b)))),
        4 => i64::from(i32::from_ne_bytes(order.arrange(arr(b)))),
        _ => i64::from_ne_bytes(order.arrange(arr(b))),
    }
}

/// The `f64` nearest the shortest decimal form of `x`, if that converts
/// back to exactly `x`; else `x` widened exactly.
pub(crate) fn widen(x: f32) -> f64 {
    if !x.is_finite() {
        return f64::from(x);
    }
    let mut buf = ryu::Buffer::new();
    match buf.format_finite(x).parse::<f64>() {
        Ok(y) if (y as f32).to_bits() == x.to_bits() => y,
        _ => f64::from(x),
    }
}
