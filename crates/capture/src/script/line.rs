//! One line of a script: parsed as JSON, then its members located in the
//! text, so that every error points at the member at fault.

use super::OPS;
use serde_json::Value;
use std::path::PathBuf;

/// An error at a column of the line.
#[derive(Debug)]
pub(crate) struct At {
    pub col: usize,
    pub message: String,
}

/// One member of a JSON object, as written in the line.
#[derive(Debug)]
pub(crate) struct Member<'a> {
    /// The key, unescaped.
    pub key: String,
    /// The byte index of the key's opening quote.
    pub key_at: usize,
    /// The value's text.
    pub raw: &'a str,
    /// The byte index of the value.
    pub at: usize,
}

/// A parsed script line: its op and members.
#[derive(Debug)]
pub(crate) struct OpLine<'a> {
    pub text: &'a str,
    /// The byte index of the object's `{`.
    pub open: usize,
    pub op: &'static str,
    pub members: Vec<Member<'a>>,
}

impl<'a> OpLine<'a> {
    pub fn parse(text: &'a str) -> Result<OpLine<'a>, At> {
        let value: Value = serde_json::from_str(text).map_err(|e| syntax_error(text, &e))?;
        let open = text.len() - text.trim_start().len();
        if !value.is_object() {
            return Err(At {
                col: col(text, open),
                message: r#"an operation is a JSON object, like {"op":"begin"}"#.into(),
            });
        }
        let members = members(text, open);
        no_duplicates(text, &members)?;
        let mut line = OpLine {
            text,
            open,
            op: "",
            members,
        };
        let name = line
            .string("op")?
            .ok_or_else(|| line.at(None, "missing field `op`".into()))?;
        let Some((op, fields)) = OPS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = OPS.iter().map(|(n, _)| *n).collect();
            return Err(line.at(
                Some("op"),
                format!("unknown op `{name}` (expected {})", names.join(", ")),
            ));
        };
        if let Some(m) = line
            .members
            .iter()
            .find(|m| m.key != "op" && !fields.contains(&m.key.as_str()))
        {
            let expected = if fields.is_empty() {
                "it takes no fields".to_owned()
            } else {
                format!("expected {}", fields.join(", "))
            };
            return Err(At {
                col: col(text, m.key_at),
                message: format!("unknown field `{}` for op `{name}` ({expected})", m.key),
            });
        }
        line.op = op;
        Ok(line)
    }

    pub fn member(&self, name: &str) -> Option<&Member<'a>> {
        self.members.iter().find(|m| m.key == name)
    }

    /// An error at the value of member `name`, or at the `{` when `name` is
    /// `None` or absent.
    pub fn at(&self, name: Option<&str>, message: String) -> At {
        let at = name
            .and_then(|n| self.member(n))
            .map_or(self.open, |m| m.at);
        At {
            col: col(self.text, at),
            message,
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, At> {
        let Some(m) = self.member(name) else {
            return Ok(None);
        };
        match serde_json::from_str::<Value>(m.raw) {
            Ok(Value::String(s)) => Ok(Some(s)),
            _ => Err(self.at(
                Some(name),
                format!("`{name}`: expected a string, found {}", m.raw),
            )),
        }
    }

    pub fn path(&self, name: &str) -> Result<Option<PathBuf>, At> {
        Ok(self.string(name)?.map(PathBuf::from))
    }

    pub fn required_path(&self, name: &str) -> Result<PathBuf, At> {
        self.path(name)?
            .ok_or_else(|| self.at(None, format!("missing field `{name}`")))
    }

    pub fn number<T: std::str::FromStr>(&self, name: &str, what: &str) -> Result<Option<T>, At> {
        let Some(m) = self.member(name) else {
            return Ok(None);
        };
        m.raw.parse().map(Some).map_err(|_| {
            self.at(
                Some(name),
                format!("`{name}`: expected {what}, found {}", m.raw),
            )
        })
    }

    pub fn object(&self, name: &str) -> Result<Option<Vec<Member<'a>>>, At> {
        let Some(m) = self.member(name) else {
            return Ok(None);
        };
        if !m.raw.starts_with('{') {
            return Err(self.at(
                Some(name),
                format!(
                    "`{name}`: expected an object of field values, found {}",
                    m.raw
                ),
            ));
        }
        let members = members(self.text, m.at);
        no_duplicates(self.text, &members)?;
        Ok(Some(members))
    }
}

/// The 1-based column, in characters, of the character at byte `at` of
/// `text` (one past the last character when `at` is at or past the end).
pub(crate) fn col(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.chars().count() + 1;
    }
    text.char_indices().filter(|(i, _)| *i <= at).count().max(1)
}

/// A JSON syntax error at its character; serde_json counts bytes and points
/// at the last byte it read (the last character, at the end of the line).
fn syntax_error(text: &str, e: &serde_json::Error) -> At {
    let col = if e.is_eof() {
        text.chars().count() + 1
    } else {
        col(text, e.column().saturating_sub(1))
    };
    let mut message = e.to_string();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    At { col, message }
}

fn no_duplicates(text: &str, members: &[Member<'_>]) -> Result<(), At> {
    for (i, m) in members.iter().enumerate() {
        if members[..i].iter().any(|o| o.key == m.key) {
            return Err(At {
                col: col(text, m.key_at),
                message: format!("field `{}` given twice", m.key),
            });
        }
    }
    Ok(())
}

/// The members of the JSON object whose `{` is at byte `start` of `text`
/// (text serde_json has already checked).
fn members(text: &str, start: usize) -> Vec<Member<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = start + 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            break;
        }
        let key_at = i;
        let key_end = skip_string(b, i);
        let key = text
            .get(key_at..key_end)
            .and_then(|k| serde_json::from_str::<String>(k).ok())
            .unwrap_or_default();
        i = skip_ws(b, key_end) + 1; // the `:`
        let at = skip_ws(b, i);
        let end = skip_value(b, at);
        out.push(Member {
            key,
            key_at,
            raw: text.get(at..end).unwrap_or_default(),
            at,
        });
        i = skip_ws(b, end);
        if b.get(i) != Some(&b',') {
            break;
        }
        i += 1;
    }
    out
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// From the opening quote at `i` to just past the closing one.
fn skip_string(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while let Some(&c) = b.get(j) {
        match c {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// From the value's first byte at `i` to just past its last.
fn skip_value(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = skip_string(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                j += 1;
            }
            j
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters() {
        let text = "a\u{e9}b";
        assert_eq!(col(text, 0), 1);
        assert_eq!(col(text, 1), 2);
        assert_eq!(col(text, 2), 2, "inside the é");
        assert_eq!(col(text, 3), 3);
        assert_eq!(col(text, 4), 4, "past the end");
        assert_eq!(col("", 0), 1);
    }

    #[test]
    fn members_are_found_with_their_positions() {
        let text = r#" { "a" : "x\"}," , "b":[1,{"c":"]"}], "d\u0041":-1.5e3,"e":{"f":{}} } "#;
        let m = members(text, 1);
        let got: Vec<(&str, &str, usize, usize)> = m
            .iter()
            .map(|m| (m.key.as_str(), m.raw, m.key_at, m.at))
            .collect();
        assert_eq!(
            got,
            [
                ("a", r#""x\"},""#, 3, 9),
                ("b", r#"[1,{"c":"]"}]"#, 19, 23),
                ("dA", "-1.5e3", 38, 48),
                ("e", r#"{"f":{}}"#, 55, 59),
            ]
        );
        assert!(members("{}", 0).is_empty());
        assert!(members("{ }", 0).is_empty());
    }

    #[test]
    fn syntax_errors_lose_serde_positions() {
        let text = "{\"a\":1,}";
        let e = serde_json::from_str::<Value>(text).expect_err("bad JSON");
        let at = syntax_error(text, &e);
        assert_eq!((at.col, at.message.as_str()), (8, "trailing comma"));
    }
}
