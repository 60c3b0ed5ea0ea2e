//! Reading one column of a record through a copybook layout's plan.

use super::json::TableValue;
use super::{CobolPlan, Column, Counter, Elem, Out};
use crate::{
    CobolDecodeError, CobolErrorKind, Decimal, DecodeError, DecodeErrorKind, Field, InvalidValue,
    Text, Value,
};

impl CobolPlan {
    /// Decodes column `index` (whose field is `field`) of `record`: its
    /// common case straight from its bytes (`fast.rs`), else by its plan.
    #[inline]
    pub(crate) fn get<'a>(
        &'a self,
        field: &'a Field,
        index: usize,
        record: &'a [u8],
    ) -> Result<Value<'a>, DecodeError> {
        if let Some(v) = self.fast.get(index).and_then(|f| f.read(field, record)) {
            return Ok(v);
        }
        self.get_planned(field, index, record)
    }

    /// Decodes every column of `record` (`fields` are the layout's) in
    /// order into `f` (see `RecordView::try_for_each`).
    #[inline]
    pub(crate) fn try_for_each<'a, E: From<DecodeError>>(
        &'a self,
        fields: &'a [Field],
        record: &'a [u8],
        mut f: impl FnMut(usize, Value<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        for (i, (fast, field)) in self.fast.iter().zip(fields).enumerate() {
            let value = match fast.read(field, record) {
                Some(v) => v,
                None => self.get_planned(field, i, record)?,
            };
            f(i, value)?;
        }
        Ok(())
    }

    /// Decodes column `index` by its plan: guards, every encoding, errors.
    pub(super) fn get_planned<'a>(
        &'a self,
        field: &'a Field,
        index: usize,
        record: &'a [u8],
    ) -> Result<Value<'a>, DecodeError> {
        match &self.columns[index] {
            Column::Leaf {
                elem,
                offset,
                guards,
            } => {
                for g in guards {
                    if g.index >= self.count(&self.counters[g.counter], g.counter_offset, record)? {
                        return Ok(Value::Null);
                    }
                }
                self.leaf(elem, &field.name, record, *offset)
            }
            Column::Table { node, offset } => Ok(Value::Json(TableValue::new(
                self,
                node,
                &field.name,
                record,
                *offset,
            ))),
        }
    }

    /// The count a counter holds at `offset`: an error if it is not a
    /// whole number or exceeds its table's maximum.
    pub(super) fn count(
        &self,
        c: &Counter,
        offset: usize,
        record: &[u8],
    ) -> Result<usize, DecodeError> {
        let d = c
            .field
            .decimal_at(record, offset, &c.opts)
            .map_err(|e| cobol_error(&c.name, e))?;
        let ten = 10i128.pow(u32::from(d.scale()));
        let bad = |kind| DecodeError::field(&c.name, offset, kind);
        if d.unscaled() < 0 || d.unscaled() % ten != 0 {
            return Err(bad(DecodeErrorKind::BadCount));
        }
        let n = d.unscaled() / ten;
        match usize::try_from(n) {
            Ok(n) if n <= c.max => Ok(n),
            _ => Err(bad(DecodeErrorKind::OccursOverMax {
                count: n,
                max: u32::try_from(c.max).unwrap_or(u32::MAX),
            })),
        }
    }

    /// Decodes an elementary item at `at`; a failure is null in a
    /// `REDEFINES` alternative or when the layout maps invalid values to
    /// null, else an error naming `name`.
    #[inline]
    pub(super) fn leaf<'a>(
        &self,
        elem: &Elem,
        name: &'a str,
        record: &'a [u8],
        at: usize,
    ) -> Result<Value<'a>, DecodeError> {
        let value = match elem.out {
            Out::Text => match record.get(at..at + elem.field.len) {
                // Text is decoded when written; where a failure is null
                // (REDEFINES, invalid = null) bytes invalid in a charset
                // that can fail are found now.
                Some(bytes)
                    if (elem.lenient || self.invalid == InvalidValue::Null)
                        && !elem.charset.accepts(bytes) =>
                {
                    Ok(Value::Null)
                }
                Some(bytes) => Ok(Value::Text(Text::new(
                    bytes,
                    elem.charset,
                    elem.trim,
                    name,
                    at,
                ))),
                None => Err(CobolDecodeError {
                    field: None,
                    offset: at,
                    kind: CobolErrorKind::Truncated(elem.field.len),
                }),
            },
            Out::Float32 | Out::Float64 => elem.field.float_at(record, at, &elem.opts).map(|f| {
                match (f.is_finite(), elem.out) {
                    (false, _) => Value::Null,
                    #[allow(clippy::cast_possible_truncation)]
                    (true, Out::Float32) => Value::Float(crate::decode::widen(f as f32)),
                    (true, _) => Value::Float(f),
                }
            }),
            // (The common numbers were tried by the column's fast reader,
            // and are tried again first by the decoder.)
            Out::Decimal => elem
                .field
                .decimal_at(record, at, &elem.opts)
                .map(Value::Decimal),
            Out::Int => elem
                .field
                .decimal_at(record, at, &elem.opts)
                .and_then(|d| int(d, at)),
        };
        match value {
            Ok(v) => Ok(v),
            Err(_) if elem.lenient || self.invalid == InvalidValue::Null => Ok(Value::Null),
            Err(e) => Err(cobol_error(name, e)),
        }
    }
}

/// A binary integer as an `Int` (its column type says it fits).
fn int(d: Decimal, at: usize) -> Result<Value<'static>, CobolDecodeError> {
    i64::try_from(d.unscaled())
        .map(Value::Int)
        .map_err(|_| CobolDecodeError {
            field: None,
            offset: at,
            kind: CobolErrorKind::Overflow,
        })
}

fn cobol_error(name: &str, e: CobolDecodeError) -> DecodeError {
    DecodeError::field(name, e.offset, DecodeErrorKind::Cobol(e.kind))
}
