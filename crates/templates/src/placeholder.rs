//! The guide's `@name@` placeholders.

use crate::TemplateError;
use drx_layouts::Layout;

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A field of the record, by index in the layout.
    Field(usize),
    /// `@drms_file@`: the target (table name for SQL, file path for XML).
    File,
    /// `@drms_index_info@`: the record's key.
    IndexInfo,
    /// `@drms_seq@`: the journal sequence number.
    Seq,
    /// `@drms_txn@`: the source transaction id (0: none).
    Txn,
    /// `@drms_op@`: insert, update or delete.
    Op,
    /// `@drms_file_id@`: the extractor file id.
    FileId,
}

/// A placeholder found in a template: what it is, and where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placeholder {
    pub slot: Slot,
    /// Byte offset just past the closing `@`.
    pub end: usize,
}

/// Finds the placeholder starting at `at` (which holds `@`), if any.
///
/// `@name@` with `name` an identifier is a placeholder; any other `@` is
/// literal text (`user@example.com` stays as written). `@@` is a literal `@`.
pub(crate) fn placeholder_at(
    file: &str,
    text: &str,
    at: usize,
    layout: &Layout,
) -> Result<Option<Placeholder>, TemplateError> {
    let rest = &text[at + 1..];
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$')
        .count();
    if len == 0 || rest.as_bytes().get(len) != Some(&b'@') {
        return Ok(None);
    }
    let name = &rest[..len];
    if name.as_bytes()[0].is_ascii_digit() {
        return Ok(None);
    }
    let slot = match name {
        "drms_file" => Slot::File,
        "drms_index_info" => Slot::IndexInfo,
        "drms_seq" => Slot::Seq,
        "drms_txn" => Slot::Txn,
        "drms_op" => Slot::Op,
        "drms_file_id" => Slot::FileId,
        _ => match layout.field_index(name) {
            Some(index) => Slot::Field(index),
            None => {
                return Err(TemplateError::at(
                    file,
                    text,
                    at,
                    format!(
                        "placeholder @{name}@ names no field of layout {} (fields: {})",
                        layout.name(),
                        field_list(layout)
                    ),
                ));
            }
        },
    };
    if slot == Slot::IndexInfo && layout.key_fields().is_empty() {
        return Err(TemplateError::at(
            file,
            text,
            at,
            format!(
                "@drms_index_info@ needs a key: layout {} declares none (add `key: field;`)",
                layout.name()
            ),
        ));
    }
    Ok(Some(Placeholder {
        slot,
        end: at + len + 2,
    }))
}

fn field_list(layout: &Layout) -> String {
    let names: Vec<&str> = layout.fields().iter().map(|f| f.name.as_str()).collect();
    names.join(", ")
}

/// A template split into literal text and placeholders.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Text(String),
    Slot(Slot),
}

/// Splits a text template (XML or plain text) into pieces.
pub(crate) fn split(file: &str, text: &str, layout: &Layout) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while let Some(rel) = text[i..].find('@') {
        let at = i + rel;
        literal.push_str(&text[i..at]);
        if text[at + 1..].starts_with('@') {
            literal.push('@');
            i = at + 2;
            continue;
        }
        match placeholder_at(file, text, at, layout)? {
            Some(p) => {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Slot(p.slot));
                i = p.end;
            }
            None => {
                literal.push('@');
                i = at + 1;
            }
        }
    }
    literal.push_str(&text[i..]);
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}
