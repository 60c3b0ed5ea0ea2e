//! Field values of a script, encoded through a layout.

use super::line::{At, Member, OpLine, col};
use drx_layouts::Layout;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The key bytes of a `key` object: every key field, and only key fields.
pub(crate) fn key_bytes(
    layout: &Layout,
    l: &OpLine<'_>,
    fields: &[Member<'_>],
) -> Result<Vec<u8>, At> {
    let names: Vec<&str> = layout
        .key_fields()
        .iter()
        .filter_map(|&i| layout.fields().get(i).map(|f| f.name.as_str()))
        .collect();
    if names.is_empty() {
        return Err(l.at(Some("key"), "the file's layout declares no key".into()));
    }
    if let Some(m) = fields.iter().find(|m| !names.contains(&m.key.as_str())) {
        return Err(At {
            col: col(l.text, m.key_at),
            message: format!(
                "`{}` is not a key field (the key: {})",
                m.key,
                names.join(", ")
            ),
        });
    }
    if let Some(name) = names.iter().find(|n| !fields.iter().any(|m| m.key == **n)) {
        return Err(l.at(Some("key"), format!("key field `{name}` missing")));
    }
    let record = encode_members(layout, l.text, fields, l.at(Some("key"), String::new()).col)?;
    let mut key = Vec::new();
    layout
        .key_bytes(&record, &mut key)
        .map_err(|e| l.at(Some("key"), e.to_string()))?;
    Ok(key)
}

/// Encodes the members of a `record` or `key` object through `layout`;
/// errors point at the member at fault (else at `object_col`).
pub(crate) fn encode_members(
    layout: &Layout,
    text: &str,
    fields: &[Member<'_>],
    object_col: usize,
) -> Result<Vec<u8>, At> {
    let mut texts: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(fields.len());
    for m in fields {
        let value = match m.raw.as_bytes().first() {
            Some(b'"') => match serde_json::from_str::<String>(m.raw) {
                Ok(s) => Cow::Owned(s),
                Err(e) => {
                    return Err(At {
                        col: col(text, m.at),
                        message: format!("field {}: {e}", m.key),
                    });
                }
            },
            Some(b'{' | b'[') => {
                return Err(At {
                    col: col(text, m.at),
                    message: format!(
                        "field {}: expected a string, number, boolean or null, found {}",
                        m.key, m.raw
                    ),
                });
            }
            _ => match m.raw {
                "true" => Cow::Borrowed("1"),
                "false" => Cow::Borrowed("0"),
                "null" => Cow::Borrowed(""),
                // A number: its text exactly as written.
                number => Cow::Borrowed(number),
            },
        };
        texts.push((m.key.as_str(), value));
    }
    layout
        .encode(texts.iter().map(|(k, v)| (*k, v.as_ref())))
        .map_err(|e| {
            let col = fields
                .iter()
                .find(|m| m.key == e.field)
                .map_or(object_col, |m| {
                    if layout.field_index(&m.key).is_some() {
                        col(text, m.at)
                    } else {
                        col(text, m.key_at)
                    }
                });
            At {
                col,
                message: e.to_string(),
            }
        })
}

/// Encodes JSON field values through `layout`: strings as they are,
/// numbers as their JSON text, booleans as `1` / `0`, null as an empty
/// text. Arrays and objects are errors.
pub fn encode(layout: &Layout, fields: &Map<String, Value>) -> Result<Vec<u8>, String> {
    let mut texts: Vec<(&str, String)> = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
            Value::Null => String::new(),
            Value::Number(n) => n.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(format!(
                    "field {k}: expected a string, number, boolean or null, found {v}"
                ));
            }
        };
        texts.push((k.as_str(), text));
    }
    layout
        .encode(texts.iter().map(|(k, v)| (*k, v.as_str())))
        .map_err(|e| e.to_string())
}

pub(crate) fn decode_hex(h: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = h.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if let Some(c) = h
        .chars()
        .find(|c| !c.is_ascii_hexdigit() && !c.is_ascii_whitespace())
    {
        return Err(format!("`{c}` is not a hex digit"));
    }
    if !digits.len().is_multiple_of(2) {
        return Err("hex has an odd number of digits".into());
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1]))
        .collect())
}

/// The value of an ASCII hex digit (checked by the caller).
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.wrapping_sub(b'A').wrapping_add(10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_spaces_and_both_cases() {
        assert_eq!(decode_hex("00 Ff\t7a"), Ok(vec![0, 255, 0x7a]));
        assert_eq!(decode_hex(""), Ok(vec![]));
        assert_eq!(
            decode_hex("abc"),
            Err("hex has an odd number of digits".into())
        );
        assert_eq!(decode_hex("0g"), Err("`g` is not a hex digit".into()));
        assert_eq!(
            decode_hex("a\u{e9}0"),
            Err("`\u{e9}` is not a hex digit".into())
        );
    }

    #[test]
    fn encode_turns_json_values_into_texts() {
        let layout = Layout::parse("t", "fields: n fixed bin(15), f bit(1), s char(2);\nend;")
            .expect("layout");
        let fields: Map<String, Value> =
            serde_json::from_str(r#"{"n":-2,"f":true,"s":null}"#).expect("JSON");
        assert_eq!(
            encode(&layout, &fields),
            Ok(vec![0xff, 0xfe, 0x80, b' ', b' '])
        );
        let fields: Map<String, Value> = serde_json::from_str(r#"{"s":["x"]}"#).expect("JSON");
        assert_eq!(
            encode(&layout, &fields),
            Err(r#"field s: expected a string, number, boolean or null, found ["x"]"#.into())
        );
    }
}
