//! Tokens: the parse error type, whitespace and comments, names,
//! keywords, numbers and strings.

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, tag_no_case, take_until, take_while, take_while1},
    character::complete::{char as ch, digit1, satisfy},
    combinator::{not, recognize},
    error::{ErrorKind, ParseError},
    multi::many0_count,
    sequence::{pair, terminated},
};

/// A parse error: where (the remaining input) and what.
#[derive(Debug)]
pub(super) struct PErr<'a> {
    pub(super) at: &'a str,
    pub(super) message: Option<String>,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PErr {
            at: input,
            message: None,
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(super) type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

/// A committed error at `at`.
pub(super) fn fail<'a, T>(at: &'a str, message: String) -> PResult<'a, T> {
    Err(nom::Err::Failure(PErr {
        at,
        message: Some(message),
    }))
}

/// `expected WHAT, found "..."` at `at`.
pub(super) fn expected<'a, T>(at: &'a str, what: &str) -> PResult<'a, T> {
    fail(at, format!("expected {what}, found {}", found(at)))
}

/// The text at `at` up to the next `,`, `;` or line end, quoted.
pub(super) fn found(at: &str) -> String {
    const MAX_CHARS: usize = 40;
    if at.is_empty() {
        return "end of input".to_owned();
    }
    let end = at.find([',', ';', '\n', '\r']).unwrap_or(at.len());
    let mut s = at[..end].trim_end();
    if s.is_empty() {
        s = &at[..at.chars().next().map_or(0, char::len_utf8)];
    }
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

// ---------------------------------------------------------------- tokens

fn comment(i: &str) -> PResult<'_, ()> {
    let (rest, _) = tag("/*").parse(i)?;
    match take_until::<_, _, PErr>("*/").parse(rest) {
        Ok((rest, _)) => Ok((&rest[2..], ())),
        Err(_) => fail(i, "unterminated comment: \"/*\" without \"*/\"".to_owned()),
    }
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// Whitespace and comments, possibly none.
pub(super) fn ws(i: &str) -> PResult<'_, ()> {
    let (i, _) = many0_count(alt((take_while1(is_space).map(|_| ()), comment))).parse(i)?;
    Ok((i, ()))
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

pub(super) fn ident(i: &str) -> PResult<'_, &str> {
    recognize(pair(satisfy(is_ident_start), take_while(is_ident_char))).parse(i)
}

/// A keyword, any case, not followed by a name character.
pub(super) fn kw<'a>(
    word: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = PErr<'a>> {
    terminated(tag_no_case(word), not(satisfy(is_ident_char)))
}

/// One of two spellings of a keyword.
pub(super) fn kw2<'a>(
    long: &'static str,
    short: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = PErr<'a>> {
    alt((kw(long), kw(short)))
}

/// Whitespace, then `c`, else `expected WHAT`.
pub(super) fn sym<'a>(i: &'a str, c: char, what: &str) -> PResult<'a, ()> {
    let (i, _) = ws(i)?;
    match ch::<_, PErr>(c).parse(i) {
        Ok((r, _)) => Ok((r, ())),
        Err(_) => expected(i, what),
    }
}

/// Whitespace, then `(` if there is one (else `i` unchanged).
pub(super) fn open_paren(i: &str) -> PResult<'_, bool> {
    let (r, _) = ws(i)?;
    match ch::<_, PErr>('(').parse(r) {
        Ok((r, _)) => Ok((r, true)),
        Err(_) => Ok((i, false)),
    }
}

/// Whitespace, then an unsigned number and where it starts.
pub(super) fn number<'a>(i: &'a str, what: &str) -> PResult<'a, (u64, &'a str)> {
    let (i, _) = ws(i)?;
    match digit1::<_, PErr>(i) {
        Ok((r, digits)) => match digits.parse::<u64>() {
            Ok(n) => Ok((r, (n, i))),
            Err(_) => fail(i, format!("number {digits} is too large")),
        },
        Err(_) => expected(i, what),
    }
}

/// Whitespace, then a word made of `pred` characters, else `expected WHAT`.
pub(super) fn word<'a>(
    i: &'a str,
    pred: fn(char) -> bool,
    what: &str,
) -> PResult<'a, (&'a str, &'a str)> {
    let (i, _) = ws(i)?;
    match take_while1::<_, _, PErr>(pred).parse(i) {
        Ok((r, w)) => Ok((r, (w, i))),
        Err(_) => expected(i, what),
    }
}

/// A quoted string (`'...'` or `"..."`), a doubled quote standing for one.
pub(super) fn quoted(i: &str) -> PResult<'_, String> {
    let Some(q) = i.chars().next().filter(|&c| c == '\'' || c == '"') else {
        return expected(i, "a quoted string");
    };
    let mut out = String::new();
    let mut rest = &i[1..];
    loop {
        let Some(p) = rest.find(q) else {
            return fail(i, format!("unterminated string: {q} without a closing {q}"));
        };
        out.push_str(&rest[..p]);
        rest = &rest[p + 1..];
        match rest.strip_prefix(q) {
            Some(r) => {
                out.push(q);
                rest = r;
            }
            None => return Ok((rest, out)),
        }
    }
}
