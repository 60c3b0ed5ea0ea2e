//! Field types: `fixed bin`, `char [varying]`, `bit`, `float bin`, `fixed dec`.

use nom::Parser;
use nom::character::complete::char as ch;

use super::token::{PErr, PResult, expected, fail, kw, kw2, number, open_paren, sym, ws};
use crate::FieldType;

/// The largest `n` of `char(n)` (a varying length is 2 bytes).
const MAX_CHAR: u64 = 65_535;

const TYPES: &str = "a type (fixed bin, char, bit, float bin, fixed dec)";

/// A parsed type; `bin31` marks `fixed bin(31)` (a date-time if `dt_`).
#[derive(Debug, Clone, Copy)]
pub(super) struct ParsedType {
    pub(super) ty: FieldType,
    pub(super) bin31: bool,
}

impl From<FieldType> for ParsedType {
    fn from(ty: FieldType) -> Self {
        ParsedType { ty, bin31: false }
    }
}

pub(super) fn field_type(i: &str) -> PResult<'_, ParsedType> {
    if let Ok((r, _)) = kw("fixed").parse(i) {
        let (r, _) = ws(r)?;
        if let Ok((r, _)) = kw2("binary", "bin").parse(r) {
            return binary(r);
        }
        if let Ok((r, _)) = kw2("decimal", "dec").parse(r) {
            return decimal(r);
        }
        return expected(r, "bin or dec after fixed");
    }
    if let Ok((r, _)) = kw2("binary", "bin").parse(i) {
        return binary(r);
    }
    if let Ok((r, _)) = kw2("decimal", "dec").parse(i) {
        return decimal(r);
    }
    if let Ok((r, _)) = kw2("character", "char").parse(i) {
        return character(r);
    }
    if let Ok((r, _)) = kw("bit").parse(i) {
        return bit(r);
    }
    if let Ok((r, _)) = kw("float").parse(i) {
        let (r, _) = ws(r)?;
        if let Ok((r, _)) = kw2("binary", "bin").parse(r) {
            return float(r);
        }
        return expected(r, "bin after float");
    }
    expected(i, TYPES)
}

/// `[(p)]` after `fixed bin`; no precision means 15.
fn binary(i: &str) -> PResult<'_, ParsedType> {
    let (i, open) = open_paren(i)?;
    if !open {
        return Ok((i, FieldType::Binary { bytes: 2 }.into()));
    }
    let (i, (p, at)) = number(i, "a precision")?;
    let (i, _) = sym(i, ')', "\")\"")?;
    let bytes = match p {
        1..=7 => 1,
        8..=15 => 2,
        16..=31 => 4,
        32..=63 => 8,
        _ => return fail(at, format!("fixed bin({p}): precision must be 1 to 63")),
    };
    let ty = FieldType::Binary { bytes };
    Ok((i, ParsedType { ty, bin31: p == 31 }))
}

/// `(p[,q])` after `fixed dec`.
fn decimal(i: &str) -> PResult<'_, ParsedType> {
    let (i, _) = sym(i, '(', "\"(\" and a precision after dec")?;
    let (i, (p, p_at)) = number(i, "a precision")?;
    let (i, _) = ws(i)?;
    let (i, q) = match ch::<_, PErr>(',').parse(i) {
        Ok((r, _)) => {
            let (r, q) = number(r, "a scale")?;
            (r, Some(q))
        }
        Err(_) => (i, None),
    };
    let (i, _) = sym(i, ')', "\")\"")?;
    let precision = match u8::try_from(p) {
        Ok(p @ 1..=crate::decimal::MAX_PRECISION) => p,
        _ => {
            return fail(
                p_at,
                format!(
                    "fixed dec({p}): precision must be 1 to {}",
                    crate::decimal::MAX_PRECISION
                ),
            );
        }
    };
    let scale = match q {
        None => 0,
        Some((q, q_at)) => match u8::try_from(q) {
            Ok(q) if q <= precision => q,
            _ => {
                return fail(
                    q_at,
                    format!("fixed dec({p},{q}): scale must be 0 to the precision {p}"),
                );
            }
        },
    };
    Ok((i, FieldType::Decimal { precision, scale }.into()))
}

/// `(n) [varying|var]` after `char`.
pub(super) fn character(i: &str) -> PResult<'_, ParsedType> {
    let (i, _) = sym(i, '(', "\"(\" and a length after char")?;
    let (i, (n, at)) = number(i, "a length")?;
    let (i, _) = sym(i, ')', "\")\"")?;
    if !(1..=MAX_CHAR).contains(&n) {
        return fail(at, format!("char({n}): length must be 1 to {MAX_CHAR}"));
    }
    // n <= 65535 fits usize
    let n = n as usize;
    let (r, _) = ws(i)?;
    if let Ok((r, _)) = kw2("varying", "var").parse(r) {
        return Ok((r, FieldType::VarChar { max: n }.into()));
    }
    Ok((i, FieldType::Char { len: n }.into()))
}

/// `[(n)]` after `bit`; no length means 1.
fn bit(i: &str) -> PResult<'_, ParsedType> {
    let (i, open) = open_paren(i)?;
    if !open {
        return Ok((i, FieldType::Bit { bits: 1 }.into()));
    }
    let (i, (n, at)) = number(i, "a length")?;
    let (i, _) = sym(i, ')', "\")\"")?;
    match u32::try_from(n) {
        Ok(bits @ 1..=64) => Ok((i, FieldType::Bit { bits }.into())),
        _ => fail(at, format!("bit({n}): length must be 1 to 64 bits")),
    }
}

/// `[(p)]` after `float bin`; no precision means 53.
fn float(i: &str) -> PResult<'_, ParsedType> {
    let (i, open) = open_paren(i)?;
    if !open {
        return Ok((i, FieldType::Float { bytes: 8 }.into()));
    }
    let (i, (p, at)) = number(i, "a precision")?;
    let (i, _) = sym(i, ')', "\")\"")?;
    let bytes = match p {
        1..=24 => 4,
        25..=53 => 8,
        _ => return fail(at, format!("float bin({p}): precision must be 1 to 53")),
    };
    Ok((i, FieldType::Float { bytes }.into()))
}
