//! Tokens of copybook code: words, literals and separator periods.

use super::source::{LineKind, SrcLine};

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokKind {
    /// A character-string (name, keyword, number, PIC string), as written.
    Word(String),
    /// A quoted literal, without its quotes (doubled quotes undone).
    Lit(String),
    /// The separator period that ends an entry.
    Period,
}

/// A token and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) kind: TokKind,
    pub(super) line: u32,
    pub(super) col: u32,
}

/// Whitespace for the lexer: blanks, tabs and control characters (a
/// copybook may end with a DOS end-of-file `^Z`).
fn is_space(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// Splits the code areas into tokens. A literal left open at the end of a
/// line continues after the first quote of the next continuation line.
/// `,` and `;` separators are dropped. Never fails: unterminated literals
/// end at the end of the text and the parser reports what follows.
pub(super) fn tokenize(lines: &[SrcLine<'_>]) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    // Index in `out` of a literal still open, and its quote.
    let mut open: Option<(usize, char)> = None;
    for l in lines {
        if l.kind == LineKind::Ignored {
            continue;
        }
        let chars: Vec<char> = l.text.chars().collect();
        let mut i = 0;
        if let Some((idx, q)) = open {
            if l.kind == LineKind::Continuation {
                // Continue after the first quote of this line.
                if let Some(p) = chars.iter().position(|&c| c == q) {
                    let (text, end, closed) = read_literal(&chars, p + 1, q);
                    if let Some(Token {
                        kind: TokKind::Lit(s),
                        ..
                    }) = out.get_mut(idx)
                    {
                        s.push_str(&text);
                    }
                    i = end;
                    if closed {
                        open = None;
                    }
                } else {
                    open = None;
                }
            } else {
                open = None;
            }
        }
        while i < chars.len() {
            let c = chars[i];
            if is_space(c) {
                i += 1;
                continue;
            }
            let col = l.col + u32::try_from(i).unwrap_or(0);
            let at = |kind| Token {
                kind,
                line: l.line,
                col,
            };
            if c == '"' || c == '\'' {
                let (text, end, closed) = read_literal(&chars, i + 1, c);
                if !closed {
                    open = Some((out.len(), c));
                }
                out.push(at(TokKind::Lit(text)));
                i = end;
                continue;
            }
            // A hex or national literal: X'..', N"..", ...
            if matches!(c.to_ascii_uppercase(), 'X' | 'N' | 'G' | 'Z' | 'B' | 'U')
                && matches!(chars.get(i + 1), Some('"' | '\''))
            {
                let q = chars[i + 1];
                let (text, end, closed) = read_literal(&chars, i + 2, q);
                if !closed {
                    open = Some((out.len(), q));
                }
                out.push(at(TokKind::Lit(text)));
                i = end;
                continue;
            }
            let start = i;
            while i < chars.len() && !is_space(chars[i]) {
                i += 1;
            }
            let mut word: String = chars[start..i].iter().collect();
            let mut period = None;
            if word.len() > 1 && word.ends_with('.') {
                word.pop();
                period = Some(col + u32::try_from(i - start - 1).unwrap_or(0));
            }
            match word.as_str() {
                "." => out.push(at(TokKind::Period)),
                "," | ";" => {}
                _ => {
                    let w = word
                        .strip_suffix([',', ';'])
                        .filter(|w| !w.is_empty())
                        .unwrap_or(&word);
                    out.push(at(TokKind::Word(w.to_owned())));
                }
            }
            if let Some(pcol) = period {
                out.push(Token {
                    kind: TokKind::Period,
                    line: l.line,
                    col: pcol,
                });
            }
        }
    }
    out
}

/// Reads a literal from `chars[i..]` up to quote `q` (a doubled quote is
/// one quote). Returns the text, the index after it and whether it closed.
fn read_literal(chars: &[char], mut i: usize, q: char) -> (String, usize, bool) {
    let mut s = String::new();
    while i < chars.len() {
        if chars[i] == q {
            if chars.get(i + 1) == Some(&q) {
                s.push(q);
                i += 2;
                continue;
            }
            return (s, i + 1, true);
        }
        s.push(chars[i]);
        i += 1;
    }
    (s, i, false)
}

#[cfg(test)]
mod tests {
    use super::super::source::{SourceFormat, lines};
    use super::*;

    fn kinds(text: &str) -> Vec<TokKind> {
        tokenize(&lines(text, SourceFormat::Fixed))
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn w(s: &str) -> TokKind {
        TokKind::Word(s.to_owned())
    }

    #[test]
    fn words_and_periods() {
        assert_eq!(
            kinds("       05 A PIC 9(8).9(2)."),
            vec![w("05"), w("A"), w("PIC"), w("9(8).9(2)"), TokKind::Period]
        );
        let t = tokenize(&lines("       05 A PIC X.", SourceFormat::Fixed));
        assert_eq!((t[3].line, t[3].col), (1, 17));
        assert_eq!((t[4].line, t[4].col), (1, 18));
    }

    #[test]
    fn literals_and_continuation() {
        let text = [
            "       05 A PIC X(80) VALUE 'AB''C",
            "      -    'DEF'.",
            "       88 B VALUES 'X', X'00'.",
        ]
        .join("\n");
        assert_eq!(
            kinds(&text),
            vec![
                w("05"),
                w("A"),
                w("PIC"),
                w("X(80)"),
                w("VALUE"),
                TokKind::Lit("AB'CDEF".to_owned()),
                TokKind::Period,
                w("88"),
                w("B"),
                w("VALUES"),
                TokKind::Lit("X".to_owned()),
                TokKind::Lit("00".to_owned()),
                TokKind::Period,
            ]
        );
    }
}
