//! The common cases of reading a column, straight from its bytes.
//!
//! Most columns of most records are a text, a plain DISPLAY number, a
//! valid packed number or a binary integer at a fixed place. Each column
//! keeps a [`Fast`] entry — small, `Copy`, all the column needs inline — so
//! [`CobolPlan::get`](super::CobolPlan) reads those cases without going
//! through the column's full plan. Anything else (a guard to check, an
//! invalid value, a sign or size the fast readers do not take) returns
//! `None` and the full plan decodes it, errors included: a fast reader
//! accepts only what the full plan reads to the same value.

use super::{Column, Elem, Out};
use crate::copybook::{packed_plain, zoned_plain_at};
use crate::value::TextTrim;
use crate::{ByteOrder, Charset, Decimal, Field, InvalidValue, Text, Value, ZonedSign, ZonedSpec};

/// How to read a column's common case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Fast {
    /// The column's offset in the record.
    at: usize,
    /// Its length in bytes.
    len: usize,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Text in a charset where every byte is valid, or where invalid
    /// text is an error when written (not a null).
    Text { charset: Charset, trim: TextTrim },
    /// A DISPLAY number ([`zoned_plain_at`]).
    Zoned(ZonedSpec),
    /// A packed number with this scale ([`packed_plain`]).
    Packed(i32),
    /// A binary integer of 1, 2, 4 or 8 bytes, no scale, that fits an
    /// `i64`.
    Int { signed: bool, order: ByteOrder },
    /// A binary number of 1, 2, 4 or 8 bytes read as a decimal: with a
    /// scale, or unsigned and too large for an `i64`.
    BinaryDecimal {
        signed: bool,
        order: ByteOrder,
        scale: u8,
    },
    /// Always the full plan.
    Slow,
}

impl Fast {
    /// The fast reader of `column` (`Slow` where there is none).
    pub(super) fn of(column: &Column, invalid: InvalidValue) -> Fast {
        let slow = Fast {
            at: 0,
            len: 0,
            kind: Kind::Slow,
        };
        let Column::Leaf {
            elem,
            offset,
            guards,
        } = column
        else {
            return slow;
        };
        if !guards.is_empty() {
            return slow;
        }
        let kind = match elem.out {
            // Where invalid text is null, only a charset that cannot fail.
            Out::Text
                if !(elem.lenient || invalid == InvalidValue::Null)
                    || elem.charset.accepts_all() =>
            {
                Kind::Text {
                    charset: elem.charset,
                    trim: elem.trim,
                }
            }
            Out::Decimal if elem.zoned.is_none() && elem.packed.is_none() => binary_decimal(elem),
            Out::Decimal => match (elem.zoned, elem.packed) {
                (Some(spec), _)
                    if matches!(spec.sign, ZonedSign::Trailing | ZonedSign::Unsigned) =>
                {
                    Kind::Zoned(spec)
                }
                (None, Some(scale)) => Kind::Packed(scale),
                _ => Kind::Slow,
            },
            Out::Int => int_kind(elem),
            _ => Kind::Slow,
        };
        Fast {
            at: *offset,
            len: elem.field.len,
            kind,
        }
    }

    /// The column's value if it is a common case, else `None`.
    #[inline]
    pub(super) fn read<'a>(self, field: &'a Field, record: &'a [u8]) -> Option<Value<'a>> {
        let end = self.at.checked_add(self.len)?;
        let bytes = record.get(self.at..end)?;
        match self.kind {
            Kind::Text { charset, trim } => Some(Value::Text(Text::new(
                bytes,
                charset,
                trim,
                &field.name,
                self.at,
            ))),
            Kind::Zoned(spec) => zoned_plain_at(record, self.at, end, &spec).map(Value::Decimal),
            Kind::Packed(scale) => packed_plain(bytes, scale).map(Value::Decimal),
            Kind::Int { signed, order } => Some(Value::Int(int(bytes, signed, order))),
            Kind::BinaryDecimal {
                signed,
                order,
                scale,
            } => {
                let v = int(bytes, signed, order);
                // An unsigned 8-byte value above i64::MAX wrapped: its bits.
                let v = if signed {
                    i128::from(v)
                } else {
                    i128::from(v.cast_unsigned())
                };
                Some(Value::Decimal(Decimal::new(v, scale)))
            }
            Kind::Slow => None,
        }
    }
}

/// The fast reader of a binary integer column, if it has one.
fn int_kind(elem: &Elem) -> Kind {
    match elem.field.binary_order(&elem.opts) {
        Some((signed, order, 0))
            if matches!((elem.field.len, signed), (1 | 2 | 4, _) | (8, true)) =>
        {
            Kind::Int { signed, order }
        }
        _ => Kind::Slow,
    }
}

/// The fast reader of a binary column read as a decimal, if it has one.
fn binary_decimal(elem: &Elem) -> Kind {
    match elem.field.binary_order(&elem.opts) {
        Some((signed, order, scale)) if matches!(elem.field.len, 1 | 2 | 4 | 8) => {
            match u8::try_from(scale).ok().filter(|&s| s <= 38) {
                Some(scale) => Kind::BinaryDecimal {
                    signed,
                    order,
                    scale,
                },
                None => Kind::Slow,
            }
        }
        _ => Kind::Slow,
    }
}

/// A binary integer of 1, 2, 4 or 8 bytes (the only sizes [`int_kind`]
/// and [`binary_decimal`] give it); unsigned 8 bytes as their bits.
#[inline]
fn int(bytes: &[u8], signed: bool, order: ByteOrder) -> i64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    // Big-endian: the bytes at the end of the buffer; then sign-extend by
    // an arithmetic shift.
    match order {
        ByteOrder::Big => buf[8 - n..].copy_from_slice(&bytes[..n]),
        ByteOrder::Little => {
            for (dst, &src) in buf[8 - n..].iter_mut().zip(bytes[..n].iter().rev()) {
                *dst = src;
            }
        }
    }
    // (No bytes: a shift by 64, which `checked_` turns into 0.)
    let shift = 64 - 8 * n as u32;
    let raw = u64::from_be_bytes(buf).checked_shl(shift).unwrap_or(0);
    if signed {
        raw.cast_signed().checked_shr(shift).unwrap_or(0)
    } else {
        raw.checked_shr(shift).unwrap_or(0).cast_signed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Copybook, CopybookLayoutOptions, Layout};
    use proptest::prelude::*;

    /// Every kind of column a fast reader takes, and some it does not.
    const COPYBOOK: &str = "       01  R.
           05  T      PIC X(7).
           05  U      PIC 9(5).
           05  S      PIC S9(9)V99.
           05  L      PIC S9(17).
           05  P      PIC S9(7)V99 COMP-3.
           05  Q      PIC 9(4) COMP-3.
           05  B1     PIC S9(4) COMP.
           05  B2     PIC 9(9) COMP.
           05  B3     PIC S9(18) COMP.
           05  B4     PIC 9(18) COMP.
           05  N1     PIC S9(4) COMP-5.
           05  N2     PIC S9(9) COMP-5.
           05  SC     PIC S9(5)V9 COMP.
           05  F      COMP-2.
           05  E      PIC ZZ9.99.
           05  SL     PIC S9(3) SIGN LEADING SEPARATE.
           05  G      OCCURS 2.
              10  GA  PIC S9(3).
";

    proptest! {
        /// Where a fast reader gives a value, the full plan gives the same.
        #[test]
        fn fast_readers_agree_with_the_plan(
            record in prop::collection::vec(
                prop_oneof![
                    4 => 0xF0u8..=0xF9,
                    1 => 0xC0u8..=0xD9,
                    2 => prop::sample::select(vec![0x00u8, 0x12, 0x99, 0x0C, 0x1D, 0x9F, 0x40]),
                    1 => any::<u8>(),
                ],
                0..130,
            ),
            little in any::<bool>(),
        ) {
            let cb = Copybook::parse("r.cob", COPYBOOK).unwrap();
            let options = CopybookLayoutOptions {
                native_order: if little { ByteOrder::Little } else { ByteOrder::Big },
                ..CopybookLayoutOptions::default()
            };
            let layout = Layout::from_copybook("r.cob", &cb, &options).unwrap();
            let plan = layout.cobol.as_deref().unwrap();
            for (i, field) in layout.fields().iter().enumerate() {
                if let Some(v) = plan.fast[i].read(field, &record) {
                    prop_assert_eq!(Ok(v), plan.get_planned(field, i, &record), "{}", field.name);
                }
            }
        }
    }

    #[test]
    fn common_columns_have_fast_readers() {
        let cb = Copybook::parse("r.cob", COPYBOOK).unwrap();
        let layout =
            Layout::from_copybook("r.cob", &cb, &CopybookLayoutOptions::default()).unwrap();
        let plan = layout.cobol.as_deref().unwrap();
        let slow: Vec<_> = layout
            .fields()
            .iter()
            .zip(&plan.fast)
            .filter(|(_, f)| f.kind == Kind::Slow)
            .map(|(c, _)| c.name.as_str())
            .collect();
        // Floats, numeric-edited and separate signs are read by the plan
        // alone.
        assert_eq!(slow, ["f", "e", "sl"]);
    }

    #[test]
    fn binary_integers_of_every_size_and_order() {
        for (bytes, signed, order, want) in [
            (&[0xFFu8][..], true, ByteOrder::Big, -1),
            (&[0xFF], false, ByteOrder::Big, 255),
            (&[0x80, 0x00], true, ByteOrder::Big, -32768),
            (&[0x00, 0x80], true, ByteOrder::Little, -32768),
            (&[0xFF, 0xFE], false, ByteOrder::Big, 65534),
            (&[0xFF, 0xFF, 0xFF, 0xFE], true, ByteOrder::Big, -2),
            (&[0xFE, 0xFF, 0xFF, 0xFF], true, ByteOrder::Little, -2),
            (
                &[0xFF, 0xFF, 0xFF, 0xFE],
                false,
                ByteOrder::Big,
                4_294_967_294,
            ),
            (&[0x80, 0, 0, 0, 0, 0, 0, 0], true, ByteOrder::Big, i64::MIN),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8],
                true,
                ByteOrder::Little,
                0x0807_0605_0403_0201,
            ),
        ] {
            assert_eq!(int(bytes, signed, order), want, "{bytes:02X?} {order:?}");
        }
        assert_eq!(int(&[], true, ByteOrder::Big), 0);
    }
}
