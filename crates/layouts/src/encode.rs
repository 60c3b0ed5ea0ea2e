//! Writing field values into record bytes.

use crate::layout::Format;
use crate::{
    ByteOrder, DateTime, Decimal, EncodeError, Field, FieldType, Layout, OwnedValue, decimal,
};

/// A value to write, borrowing its text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'s> {
    Int(i64),
    Float(f64),
    Decimal(Decimal),
    Text(&'s str),
    Bits(u64),
    DateTime(DateTime),
}

impl Input<'_> {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Input::Int(_) => "Int",
            Input::Float(_) => "Float",
            Input::Decimal(_) => "Decimal",
            Input::Text(_) => "Text",
            Input::Bits(_) => "Bits",
            Input::DateTime(_) => "DateTime",
        }
    }
}

impl<'s> From<&'s OwnedValue> for Input<'s> {
    fn from(v: &'s OwnedValue) -> Self {
        match v {
            OwnedValue::Int(v) => Input::Int(*v),
            OwnedValue::Float(v) => Input::Float(*v),
            OwnedValue::Decimal(v) => Input::Decimal(*v),
            OwnedValue::Text(v) => Input::Text(v),
            OwnedValue::Bits(v) => Input::Bits(*v),
            OwnedValue::DateTime(v) => Input::DateTime(*v),
            OwnedValue::Json(v) => Input::Text(v),
            // encode_values skips nulls: the field keeps its default.
            OwnedValue::Null => Input::Text(""),
        }
    }
}

pub(crate) fn encode_texts<'v>(
    layout: &Layout,
    values: impl IntoIterator<Item = (&'v str, &'v str)>,
) -> Result<Vec<u8>, EncodeError> {
    let (record, _) = by_name(layout, values, |_, field, text, record| {
        write_text(&layout.format, field, text, record)
    })?;
    Ok(record)
}

pub(crate) fn encode_values(
    layout: &Layout,
    values: &[(usize, OwnedValue)],
) -> Result<Vec<u8>, EncodeError> {
    let (record, _) = by_index(layout, values, |_, field, input, record| {
        write_input(&layout.format, field, input, record)
    })?;
    Ok(record)
}

/// Writes `(field name, text)` pairs onto a copy of the layout's template
/// with `write`; an unknown name or a field given twice is an error.
/// Returns the record and which fields were given.
pub(crate) fn by_name<'v>(
    layout: &Layout,
    values: impl IntoIterator<Item = (&'v str, &'v str)>,
    mut write: impl FnMut(usize, &Field, &str, &mut [u8]) -> Result<(), String>,
) -> Result<(Vec<u8>, Vec<bool>), EncodeError> {
    let mut record = layout.template.clone();
    let mut given = vec![false; layout.fields.len()];
    for (name, text) in values {
        let index = layout.field_index(name).ok_or_else(|| {
            EncodeError::new(name, format!("no such field in layout {}", layout.name))
        })?;
        mark_given(&mut given, index, name)?;
        write(index, &layout.fields[index], text, &mut record)
            .map_err(|message| EncodeError::new(name, message))?;
    }
    Ok((record, given))
}

/// Writes typed values, by field index, onto a copy of the layout's
/// template with `write`; nulls keep the template's value. An index out of
/// range or a field given twice is an error. Returns the record and which
/// fields were written (nulls not).
pub(crate) fn by_index(
    layout: &Layout,
    values: &[(usize, OwnedValue)],
    mut write: impl FnMut(usize, &Field, Input<'_>, &mut [u8]) -> Result<(), String>,
) -> Result<(Vec<u8>, Vec<bool>), EncodeError> {
    let mut record = layout.template.clone();
    let mut given = vec![false; layout.fields.len()];
    let mut written = vec![false; layout.fields.len()];
    for (index, value) in values {
        let Some(field) = layout.fields.get(*index) else {
            return Err(EncodeError::new(
                &format!("#{index}"),
                format!(
                    "no field number {index} in layout {} ({} fields)",
                    layout.name,
                    layout.fields.len()
                ),
            ));
        };
        mark_given(&mut given, *index, &field.name)?;
        if *value == OwnedValue::Null {
            continue;
        }
        written[*index] = true;
        write(*index, field, value.into(), &mut record)
            .map_err(|message| EncodeError::new(&field.name, message))?;
    }
    Ok((record, written))
}

fn mark_given(given: &mut [bool], index: usize, name: &str) -> Result<(), EncodeError> {
    if std::mem::replace(&mut given[index], true) {
        return Err(EncodeError::new(name, "given more than once".to_owned()));
    }
    Ok(())
}

/// Parses `text` per the field's type and writes it into `record`.
pub(crate) fn write_text(
    fmt: &Format,
    field: &Field,
    text: &str,
    record: &mut [u8],
) -> Result<(), String> {
    let input = parse_text(field.ty, text)?;
    write_input(fmt, field, input, record)
}

fn parse_text<'s>(ty: FieldType, text: &'s str) -> Result<Input<'s>, String> {
    let t = text.trim();
    Ok(match ty {
        FieldType::Binary { .. } => Input::Int(
            t.parse()
                .map_err(|_| format!("{text:?} is not an integer for {ty}"))?,
        ),
        FieldType::Float { .. } => Input::Float(
            t.parse()
                .map_err(|_| format!("{text:?} is not a number for {ty}"))?,
        ),
        FieldType::Decimal { .. } => Input::Decimal(
            Decimal::parse(t)
                .ok_or_else(|| format!("{text:?} is not a decimal number for {ty}"))?,
        ),
        FieldType::Char { .. } | FieldType::VarChar { .. } => Input::Text(text),
        FieldType::Bit { bits } => {
            if t.is_empty() || t.len() > bits as usize || !t.bytes().all(|b| b == b'0' || b == b'1')
            {
                return Err(format!(
                    "{text:?} is not a bit string for {ty} (expected 1 to {bits} binary digits)"
                ));
            }
            Input::Bits(
                t.bytes()
                    .fold(0u64, |acc, b| acc << 1 | u64::from(b - b'0')),
            )
        }
        FieldType::DateTime => Input::DateTime(DateTime::parse(t).ok_or_else(|| {
            format!("{text:?} is not a date-time (expected YYYY-MM-DD HH:MM:SS)")
        })?),
        FieldType::Json { .. } => return Err(format!("{ty} columns are not encoded")),
    })
}

/// Writes a typed value into the field's bytes of `record`.
pub(crate) fn write_input(
    fmt: &Format,
    field: &Field,
    input: Input<'_>,
    record: &mut [u8],
) -> Result<(), String> {
    let out = &mut record[field.offset..field.offset + field.size];
    let ty = field.ty;
    let order = fmt.byte_order;
    match (ty, input) {
        (FieldType::Binary { bytes }, Input::Int(v)) => {
            let bits = u32::from(bytes) * 8;
            let (min, max) = if bits == 64 {
                (i64::MIN, i64::MAX)
            } else {
                (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
            };
            if v < min || v > max {
                return Err(format!(
                    "value {v} is out of range for {ty} ({min} to {max})"
                ));
            }
            write_int(v, order, out);
        }
        (FieldType::DateTime, Input::DateTime(dt)) => {
            let rel = i32::try_from(dt.unix_seconds() - fmt.dt_epoch).map_err(|_| {
                let lo = DateTime::from_unix_seconds(fmt.dt_epoch + i64::from(i32::MIN));
                let hi = DateTime::from_unix_seconds(fmt.dt_epoch + i64::from(i32::MAX));
                format!("date-time {dt} is out of range for a dt_ field ({lo} to {hi})")
            })?;
            write_int(i64::from(rel), order, out);
        }
        (FieldType::Float { bytes: 4 }, Input::Float(v)) => {
            let x = v as f32;
            if v.is_finite() && x.is_infinite() {
                return Err(format!("value {v} is out of range for {ty}"));
            }
            out.copy_from_slice(&order.arrange(x.to_ne_bytes()));
        }
        (FieldType::Float { .. }, Input::Float(v)) => {
            out.copy_from_slice(&order.arrange(v.to_ne_bytes()));
        }
        (FieldType::Decimal { precision, scale }, Input::Decimal(d)) => {
            let d = d.rescale(scale).ok_or_else(|| {
                format!("value {d} has more than {scale} decimal places for {ty}")
            })?;
            if d.unscaled().unsigned_abs() >= decimal::limit(precision).unsigned_abs() {
                return Err(format!("value {d} is out of range for {ty}"));
            }
            decimal::encode_packed(d.unscaled(), out);
        }
        (FieldType::Char { len }, Input::Text(t)) => {
            let n = text_len(fmt, ty, t, len)?;
            fmt.charset.encode_into(t, &mut out[..n]);
            out[n..].fill(fmt.charset.space());
        }
        (FieldType::VarChar { max }, Input::Text(t)) => {
            let n = text_len(fmt, ty, t, max)?;
            // max is at most 65535, checked when parsing
            let len = u16::try_from(n).map_err(|_| format!("text too long for {ty}"))?;
            out[..2].copy_from_slice(&order.arrange(len.to_ne_bytes()));
            fmt.charset.encode_into(t, &mut out[2..2 + n]);
            out[2 + n..].fill(fmt.charset.space());
        }
        (FieldType::Bit { bits }, Input::Bits(v)) => {
            if bits < 64 && v >> bits != 0 {
                return Err(format!("value {v} does not fit {ty}"));
            }
            let bytes = (v << (64 - bits)).to_be_bytes();
            out.copy_from_slice(&bytes[..out.len()]);
        }
        (_, input) => {
            return Err(format!(
                "a {} value does not fit a field of type {ty}",
                input.kind()
            ));
        }
    }
    Ok(())
}

/// The byte length of `text` in the charset, checked against `max`.
fn text_len(fmt: &Format, ty: FieldType, text: &str, max: usize) -> Result<usize, String> {
    let n = fmt.charset.encoded_len(text).map_err(|c| {
        format!(
            "character {c:?} (U+{:04X}) cannot be written in {}",
            u32::from(c),
            fmt.charset
        )
    })?;
    if n > max {
        return Err(format!(
            "text of {n} bytes is longer than the {max} of {ty}"
        ));
    }
    Ok(n)
}

/// Writes the low `out.len()` bytes of `v` (checked to fit before).
fn write_int(v: i64, order: ByteOrder, out: &mut [u8]) {
    let n = out.len();
    match order {
        ByteOrder::Big => out.copy_from_slice(&v.to_be_bytes()[8 - n..]),
        ByteOrder::Little => out.copy_from_slice(&v.to_le_bytes()[..n]),
    }
}
