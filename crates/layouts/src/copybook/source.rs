//! Copybook source lines: fixed-format areas and indicators, or free format.

/// How copybook text is laid out on its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceFormat {
    /// Fixed (reference) format: columns 1–6 are the sequence area and
    /// columns 73 on are the identification area (both ignored); column 7
    /// is the indicator: `*` or `/` comment, `-` continuation of a literal,
    /// `D` debug line (ignored, as without `WITH DEBUGGING MODE`). As
    /// Cobrix does, a column 7 holding anything else (e.g. the `0` of a
    /// level number typed one column early) is read as code.
    #[default]
    Fixed,
    /// Free format: the whole line is code; `*>` starts a comment to the
    /// end of the line and a line whose first non-blank is `*` is a comment.
    Free,
}

/// What a line is, from its indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineKind {
    /// Code (indicator blank or absent).
    Code,
    /// Continuation of the previous line's literal.
    Continuation,
    /// Comment or debug line: ignored.
    Ignored,
}

/// One source line's code area.
#[derive(Debug)]
pub(super) struct SrcLine<'a> {
    /// 1-based line number.
    pub(super) line: u32,
    /// 1-based column (in characters) of the first character of `text`.
    pub(super) col: u32,
    pub(super) kind: LineKind,
    /// The code area.
    pub(super) text: &'a str,
}

/// Byte index of the `n`th character of `s` (or `s.len()`).
fn char_pos(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

/// Splits `text` into lines and cuts out each line's code area.
pub(super) fn lines(text: &str, format: SourceFormat) -> Vec<SrcLine<'_>> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        match format {
            SourceFormat::Fixed => {
                let start = char_pos(raw, 6);
                let rest = &raw[start..];
                let mut chars = rest.chars();
                let indicator = chars.next();
                let next = chars.next();
                let (kind, skip) = match indicator {
                    None => (LineKind::Ignored, 0),
                    Some('*' | '/') => (LineKind::Ignored, 1),
                    Some('-') => (LineKind::Continuation, 1),
                    Some('D' | 'd') if next.is_none_or(|c| c == ' ' || c == '\t') => {
                        (LineKind::Ignored, 1)
                    }
                    Some(' ' | '\t') => (LineKind::Code, 1),
                    Some(_) => (LineKind::Code, 0),
                };
                let code_start = char_pos(rest, skip);
                // Column 73 on is the identification area.
                let code = &rest[code_start..];
                let max = 72 - 6 - skip;
                let code = &code[..char_pos(code, max)];
                out.push(SrcLine {
                    line,
                    col: 7 + u32::try_from(skip).unwrap_or(0),
                    kind,
                    text: code,
                });
            }
            SourceFormat::Free => {
                let code = raw.find("*>").map_or(raw, |i| &raw[..i]);
                let kind = if code.trim_start().starts_with('*') {
                    LineKind::Ignored
                } else {
                    LineKind::Code
                };
                out.push(SrcLine {
                    line,
                    col: 1,
                    kind,
                    text: code,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_areas_and_indicators() {
        let first = format!("{:<72}SEQ12345", "000100 01 A.");
        let text = [
            first.as_str(),
            "000200*comment",
            "000300-    'x'.",
            "      01 B.",
            "      D  debug",
        ]
        .join("\n");
        let l = lines(&text, SourceFormat::Fixed);
        assert_eq!(l[0].kind, LineKind::Code);
        assert_eq!(l[0].text.trim(), "01 A.");
        assert_eq!(l[0].col, 8);
        assert_eq!(l[1].kind, LineKind::Ignored);
        assert_eq!(l[2].kind, LineKind::Continuation);
        assert_eq!(l[3].kind, LineKind::Code);
        assert_eq!(l[3].col, 7);
        assert_eq!(l[3].text, "01 B.");
        assert_eq!(l[4].kind, LineKind::Ignored);
    }

    #[test]
    fn free_comments() {
        let l = lines("01 A. *> note\n* all comment", SourceFormat::Free);
        assert_eq!(l[0].text, "01 A. ");
        assert_eq!(l[1].kind, LineKind::Ignored);
    }
}
