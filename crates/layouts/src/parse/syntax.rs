//! Declarations: `organization:`, `key:`, `byte_order:`, `charset:`,
//! `trim:`, `dt_epoch:`, `fields:` and `end;`.

use nom::Parser;
use nom::bytes::complete::take_while1;
use nom::character::complete::char as ch;

use super::token::{PErr, PResult, expected, fail, found, ident, kw, quoted, sym, word, ws};
use super::types::{ParsedType, field_type};
use crate::{ByteOrder, Charset, DateTime, Organization};

/// A field as written: name, type, default, and where each starts.
#[derive(Debug)]
pub(super) struct RawField<'a> {
    pub(super) name: &'a str,
    pub(super) at: &'a str,
    pub(super) ty: ParsedType,
    pub(super) default: Option<(String, &'a str)>,
}

/// `default (value)` if present, with where the value starts.
fn default_clause(i: &str) -> PResult<'_, Option<(String, &str)>> {
    let (r, _) = ws(i)?;
    let Ok((r, _)) = kw("default").parse(r) else {
        return Ok((i, None));
    };
    let (r, _) = sym(r, '(', "\"(\" after default")?;
    let (r, _) = ws(r)?;
    let at = r;
    let (r, value) = if r.starts_with(['\'', '"']) {
        quoted(r)?
    } else {
        let bare = |c: char| !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | ';' | '\'' | '"');
        match take_while1::<_, _, PErr>(bare).parse(r) {
            Ok((r, v)) => (r, v.to_owned()),
            Err(_) => return expected(r, "a default value"),
        }
    };
    let (r, _) = sym(r, ')', "\")\" after the default value")?;
    Ok((r, Some((value, at))))
}

/// `f1 type [default (x)], f2 type ...;` (after `fields:`).
fn field_list(mut i: &str) -> PResult<'_, Vec<RawField<'_>>> {
    let mut fields = Vec::new();
    loop {
        let (r, _) = ws(i)?;
        let at = r;
        let Ok((r, name)) = ident(r) else {
            return expected(r, "a field name");
        };
        let (r, _) = ws(r)?;
        let (r, ty) = field_type(r)?;
        let (r, default) = default_clause(r)?;
        fields.push(RawField {
            name,
            at,
            ty,
            default,
        });
        let (r, _) = ws(r)?;
        if let Ok((r, _)) = ch::<_, PErr>(',').parse(r) {
            i = r;
        } else if let Ok((r, _)) = ch::<_, PErr>(';').parse(r) {
            return Ok((r, fields));
        } else {
            return expected(r, &format!("\",\" or \";\" after field {name}"));
        }
    }
}

/// `a, b;` (after `key:`): the names and where each starts.
fn key_list(mut i: &str) -> PResult<'_, Vec<(&str, &str)>> {
    let mut names = Vec::new();
    loop {
        let (at, _) = ws(i)?;
        let Ok((r, name)) = ident(at) else {
            return expected(at, "a key field name");
        };
        names.push((name, at));
        let (r, _) = ws(r)?;
        if let Ok((r, _)) = ch::<_, PErr>(',').parse(r) {
            i = r;
        } else if let Ok((r, _)) = ch::<_, PErr>(';').parse(r) {
            return Ok((r, names));
        } else {
            return expected(r, &format!("\",\" or \";\" after key field {name}"));
        }
    }
}

/// The declaration keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DeclKind {
    Organization,
    Key,
    ByteOrder,
    Charset,
    Trim,
    DtEpoch,
    Fields,
}

impl DeclKind {
    const ALL: [DeclKind; 7] = [
        DeclKind::Organization,
        DeclKind::Key,
        DeclKind::ByteOrder,
        DeclKind::Charset,
        DeclKind::Trim,
        DeclKind::DtEpoch,
        DeclKind::Fields,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            DeclKind::Organization => "organization",
            DeclKind::Key => "key",
            DeclKind::ByteOrder => "byte_order",
            DeclKind::Charset => "charset",
            DeclKind::Trim => "trim",
            DeclKind::DtEpoch => "dt_epoch",
            DeclKind::Fields => "fields",
        }
    }
}

/// One declaration's value.
#[derive(Debug)]
pub(super) enum Decl<'a> {
    Organization(Organization),
    Key(Vec<(&'a str, &'a str)>),
    ByteOrder(ByteOrder),
    Charset(Charset),
    Trim(bool),
    DtEpoch(DateTime),
    Fields(Vec<RawField<'a>>),
}

/// The declarations in order (keyword, position, value) and where `end` is.
#[derive(Debug)]
pub(super) struct Syntax<'a> {
    pub(super) decls: Vec<(DeclKind, &'a str, Decl<'a>)>,
    pub(super) end_at: &'a str,
}

fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
}

/// The value of a declaration and its `;` (after `kind:`).
fn declaration(kind: DeclKind, i: &str) -> PResult<'_, Decl<'_>> {
    match kind {
        DeclKind::Fields => return field_list(i).map(|(r, f)| (r, Decl::Fields(f))),
        DeclKind::Key => return key_list(i).map(|(r, k)| (r, Decl::Key(k))),
        _ => {}
    }
    let what = format!("a value for {}", kind.name());
    let (r, (value, at)) = word(i, is_value_char, &what)?;
    let lower = value.to_ascii_lowercase();
    let (decl, problem, expect) = match kind {
        DeclKind::Organization => (
            Organization::from_name(value).map(Decl::Organization),
            "unknown organization",
            "fixed, relative, sequential or indexed",
        ),
        DeclKind::ByteOrder => (
            match lower.as_str() {
                "big" => Some(Decl::ByteOrder(ByteOrder::Big)),
                "little" => Some(Decl::ByteOrder(ByteOrder::Little)),
                _ => None,
            },
            "unknown byte_order",
            "big or little",
        ),
        DeclKind::Charset => (
            Charset::from_name(value).map(Decl::Charset),
            "unknown charset",
            "iso-8859-1, latin1, utf-8 or ascii",
        ),
        DeclKind::Trim => (
            match lower.as_str() {
                "right" => Some(Decl::Trim(true)),
                "none" => Some(Decl::Trim(false)),
                _ => None,
            },
            "unknown trim",
            "right or none",
        ),
        DeclKind::DtEpoch => (
            (value.len() == 10)
                .then(|| DateTime::parse(value))
                .flatten()
                .map(Decl::DtEpoch),
            "invalid dt_epoch",
            "a date YYYY-MM-DD",
        ),
        DeclKind::Fields | DeclKind::Key => (None, "unexpected", "a list"),
    };
    let Some(decl) = decl else {
        return fail(at, format!("{problem} {value:?} (expected {expect})"));
    };
    let what = format!("\";\" after {}: {value}", kind.name());
    let (r, _) = sym(r, ';', &what)?;
    Ok((r, decl))
}

/// The declarations up to `end;` and the end of the text.
pub(super) fn syntax(text: &str) -> PResult<'_, Syntax<'_>> {
    let (mut i, _) = ws(text)?;
    let mut decls = Vec::new();
    loop {
        if i.is_empty() {
            let eof = &text[text.trim_end().len()..];
            return fail(eof, "missing \"end;\" at the end of the layout".to_owned());
        }
        let at = i;
        let Ok((r, name)) = ident(i) else {
            return expected(
                i,
                "a declaration (organization, key, byte_order, charset, trim, dt_epoch, fields) or \"end;\"",
            );
        };
        if name.eq_ignore_ascii_case("end") {
            let (r, _) = sym(r, ';', "\";\" after end")?;
            let (r, _) = ws(r)?;
            if !r.is_empty() {
                return fail(r, format!("unexpected text after \"end;\": {}", found(r)));
            }
            return Ok((r, Syntax { decls, end_at: at }));
        }
        let Some(kind) = DeclKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
        else {
            return fail(
                at,
                format!(
                    "unknown declaration {name:?} (expected organization, key, byte_order, \
                     charset, trim, dt_epoch, fields or end)"
                ),
            );
        };
        let what = format!("\":\" after {}", kind.name());
        let (r, _) = sym(r, ':', &what)?;
        let (r, decl) = declaration(kind, r)?;
        decls.push((kind, at, decl));
        i = ws(r)?.0;
    }
}
