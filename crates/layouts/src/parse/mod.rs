//! The layout text parser (nom 8) and the checks that follow it.
//!
//! Parsing runs in two steps: [`syntax::syntax`] reads the declarations
//! with their positions, then [`build`] checks names, resolves the key,
//! lays the fields out and validates the defaults. Every error carries the
//! remaining input at the fault, turned into `line:col` at the end.

mod syntax;
mod token;
mod types;

use self::syntax::{Decl, DeclKind, Syntax};
use self::token::found;
use crate::encode::{self, Input};
use crate::layout::Format;
use crate::{DateTime, Decimal, Field, FieldType, Layout, LayoutError};

/// 1-based line and column (in chars) of a byte offset.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = before[start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// Parses and checks a layout text (see [`Layout::parse`]).
pub(crate) fn parse_layout(name: &str, text: &str) -> Result<Layout, LayoutError> {
    let error = |at: &str, message: String| {
        let (line, col) = line_col(text, text.len() - at.len());
        LayoutError {
            name: name.to_owned(),
            line,
            col,
            message,
        }
    };
    let syntax = match syntax::syntax(text) {
        Ok((_, syntax)) => syntax,
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            let message = e
                .message
                .unwrap_or_else(|| format!("syntax error at {}", found(e.at)));
            return Err(error(e.at, message));
        }
        Err(nom::Err::Incomplete(_)) => {
            return Err(error("", "unexpected end of input".to_owned()));
        }
    };
    build(name, text, syntax).map_err(|(at, message)| error(at, message))
}

/// A `dt_` name (any case).
fn is_dt(name: &str) -> bool {
    name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("dt_"))
}

/// The value of a field not given and without default.
fn zero(ty: FieldType, fmt: &Format) -> Input<'static> {
    match ty {
        FieldType::Binary { .. } => Input::Int(0),
        FieldType::Char { .. } | FieldType::VarChar { .. } | FieldType::Json { .. } => {
            Input::Text("")
        }
        FieldType::Bit { .. } => Input::Bits(0),
        FieldType::Float { .. } => Input::Float(0.0),
        FieldType::Decimal { scale, .. } => Input::Decimal(Decimal::new(0, scale)),
        FieldType::DateTime => Input::DateTime(DateTime::from_unix_seconds(fmt.dt_epoch)),
    }
}

/// Checks the declarations and lays the fields out.
fn build<'a>(name: &str, text: &'a str, syntax: Syntax<'a>) -> Result<Layout, (&'a str, String)> {
    let pos = |at: &str| {
        let (line, col) = line_col(text, text.len() - at.len());
        format!("{line}:{col}")
    };
    let mut format = Format::default();
    let mut organization = None;
    let mut key_names = Vec::new();
    let mut raw_fields = None;
    let mut seen: Vec<(DeclKind, &str)> = Vec::new();
    for (kind, at, decl) in syntax.decls {
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == kind) {
            let message = format!(
                "{} is declared twice (first at {})",
                kind.name(),
                pos(first)
            );
            return Err((at, message));
        }
        seen.push((kind, at));
        match decl {
            Decl::Organization(o) => organization = Some(o),
            Decl::Key(names) => key_names = names,
            Decl::ByteOrder(o) => format.byte_order = o,
            Decl::Charset(c) => format.charset = c,
            Decl::Trim(t) => format.trim = t,
            Decl::DtEpoch(e) => format.dt_epoch = e.unix_seconds(),
            Decl::Fields(f) => raw_fields = Some(f),
        }
    }
    let Some(raw) = raw_fields else {
        let message = "the layout declares no fields: \"fields:\" must come before \"end;\"";
        return Err((syntax.end_at, message.to_owned()));
    };

    let mut fields = Vec::with_capacity(raw.len());
    let mut offset = 0;
    for (n, f) in raw.iter().enumerate() {
        if let Some(first) = raw[..n]
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(f.name))
        {
            let message = format!(
                "duplicate field name {:?} (first declared at {})",
                f.name,
                pos(first.at)
            );
            return Err((f.at, message));
        }
        let ty = if f.ty.bin31 && is_dt(f.name) {
            FieldType::DateTime
        } else {
            f.ty.ty
        };
        let (line, col) = line_col(text, text.len() - f.at.len());
        let size = ty.size();
        fields.push(Field {
            name: f.name.to_owned(),
            ty,
            offset,
            size,
            default: f.default.as_ref().map(|(d, _)| d.clone()),
            line,
            col,
        });
        offset += size;
    }
    let record_len = offset;

    let mut key = Vec::with_capacity(key_names.len());
    for (kname, at) in key_names {
        let index = fields.iter().position(|f| f.name == kname).or_else(|| {
            fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(kname))
        });
        let Some(index) = index else {
            return Err((
                at,
                format!("key field {kname:?} is not a field of the layout"),
            ));
        };
        if key.contains(&index) {
            return Err((at, format!("key field {kname:?} is listed twice")));
        }
        key.push(index);
    }

    let mut template = vec![0u8; record_len];
    for (field, f) in fields.iter().zip(&raw) {
        encode::write_input(&format, field, zero(field.ty, &format), &mut template)
            .map_err(|m| (f.at, m))?;
        if let Some((value, at)) = &f.default {
            encode::write_text(&format, field, value, &mut template).map_err(|m| {
                let message = format!(
                    "default {value:?} of field {} is not valid: {m}",
                    field.name
                );
                (*at, message)
            })?;
        }
    }

    Ok(Layout {
        name: name.to_owned(),
        fields,
        record_len,
        min_len: record_len,
        organization,
        key,
        format,
        template,
        cobol: None,
    })
}
