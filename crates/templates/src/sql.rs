//! SQL templates (`template.NNN.i/.u/.d`) compiled into prepared statements.
//!
//! Every value placeholder becomes a bound parameter: an unquoted `@field@`
//! binds the field's typed value, a quoted literal that holds placeholders
//! (`'@err_name@'`, `'code @err_number@'`) binds the literal's text with the
//! values filled in. No data value can change the statement.

use crate::placeholder::{Slot, placeholder_at};
use crate::{Change, RenderError, TemplateError};
use drx_layouts::{Layout, Value};
use std::ops::Range;

/// The SQL dialect a statement is written for: placeholders and identifier
/// quoting differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `?` and `"ident"`.
    Sqlite,
    /// PostgreSQL: `$1` and `"ident"`.
    Postgres,
    /// MySQL / MariaDB: `?` and `` `ident` ``.
    MySql,
    /// ODBC: `?` and `"ident"`.
    Odbc,
}

impl Dialect {
    /// Appends `name` quoted as an identifier; a dotted name is quoted part by part.
    pub fn quote_identifier(self, name: &str, out: &mut String) {
        let quote = if self == Dialect::MySql { '`' } else { '"' };
        for (i, part) in name.split('.').enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push(quote);
            for c in part.chars() {
                if c == quote {
                    out.push(quote);
                }
                out.push(c);
            }
            out.push(quote);
        }
    }

    fn push_marker(self, n: usize, out: &mut String) {
        if self == Dialect::Postgres {
            out.push('$');
            out.push_str(itoa::Buffer::new().format(n));
        } else {
            out.push('?');
        }
    }
}

/// Where a bound parameter's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// A field of the change's image (after for insert/update, before for delete), typed.
    Field(usize),
    /// A key field of the record's identifying image (`@drms_index_info@`), typed.
    KeyField(usize),
    /// A quoted literal with placeholders: its text with the values filled in.
    Text(Vec<TextPart>),
    /// The journal sequence number.
    Seq,
    /// The source transaction id.
    Txn,
    /// The extractor file id.
    FileId,
    /// `insert`, `update` or `delete`.
    Op,
}

/// A part of a quoted literal with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextPart {
    /// Literal text (quote escapes already undone).
    Literal(String),
    /// A field's canonical text.
    Field(usize),
    /// The sequence number.
    Seq,
    /// The transaction id.
    Txn,
    /// The file id.
    FileId,
    /// The operation.
    Op,
    /// The target table's name.
    File,
}

/// One part of a statement's text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SqlPiece {
    Text(String),
    /// `@drms_file@`: the table, quoted for the dialect.
    Table,
    /// A column name, quoted for the dialect.
    Column(String),
    /// The next parameter marker.
    Marker,
}

/// A bound value, ready for a driver. Text is a range into the caller's
/// text buffer so that binding a record allocates nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text: `buffer[range]`, UTF-8.
    Text(Range<usize>),
}

/// A compiled SQL template.
#[derive(Debug, Clone)]
pub struct SqlTemplate {
    name: String,
    pieces: Vec<SqlPiece>,
    params: Vec<Param>,
}

#[derive(Clone, Copy, PartialEq)]
enum Lex {
    Normal,
    Quoted,
    /// A quoted identifier, closed by this byte (`"` or a MySQL backtick).
    Ident(u8),
    LineComment,
    BlockComment,
}

impl SqlTemplate {
    /// Compiles the text of a template against its layout. `name` names the
    /// template in errors (`templates/template.200.i`).
    pub fn compile(name: &str, text: &str, layout: &Layout) -> Result<SqlTemplate, TemplateError> {
        let mut c = Compiler {
            name,
            text,
            layout,
            pieces: Vec::new(),
            params: Vec::new(),
            sql: String::new(),
        };
        c.run()?;
        let trimmed = c.pieces.iter().all(|p| match p {
            SqlPiece::Text(t) => t.trim().trim_matches(';').trim().is_empty(),
            _ => false,
        });
        if trimmed {
            return Err(TemplateError::at(name, text, 0, "the template is empty"));
        }
        Ok(SqlTemplate {
            name: name.to_owned(),
            pieces: c.pieces,
            params: c.params,
        })
    }

    /// The template's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters, in marker order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The statement text for `dialect`, with `table` for `@drms_file@`.
    pub fn sql(&self, dialect: Dialect, table: &str) -> String {
        let mut out = String::new();
        let mut n = 0;
        for piece in &self.pieces {
            match piece {
                SqlPiece::Text(t) => out.push_str(t),
                SqlPiece::Table => dialect.quote_identifier(table, &mut out),
                SqlPiece::Column(c) => dialect.quote_identifier(c, &mut out),
                SqlPiece::Marker => {
                    n += 1;
                    dialect.push_marker(n, &mut out);
                }
            }
        }
        out.trim().trim_end_matches(';').trim_end().to_owned()
    }

    /// Computes the parameter values for `change`: one [`Bound`] per
    /// parameter is appended to `out`, and text values to `text` as UTF-8
    /// (what drivers bind); the ranges point into `text`. Nothing is
    /// cleared, so that the values of many changes can share the buffers.
    pub fn bind(
        &self,
        change: &Change<'_>,
        table: &str,
        text: &mut Vec<u8>,
        out: &mut Vec<Bound>,
    ) -> Result<(), RenderError> {
        let mut num = itoa::Buffer::new();
        for param in &self.params {
            let start = text.len();
            let bound = match param {
                Param::Field(i) => typed(change.require_image()?.get(*i)?, text)?,
                Param::KeyField(i) => typed(change.require_key_image()?.get(*i)?, text)?,
                Param::Seq => Bound::Int(change.seq as i64),
                Param::Txn => Bound::Int(change.txn as i64),
                Param::FileId => Bound::Int(i64::from(change.file_id)),
                Param::Op => {
                    text.extend_from_slice(change.op.as_str().as_bytes());
                    Bound::Text(start..text.len())
                }
                Param::Text(parts) => {
                    for part in parts {
                        let piece: &str = match part {
                            TextPart::Literal(s) => s,
                            TextPart::Field(i) => {
                                change.require_image()?.get(*i)?.write_utf8(text)?;
                                continue;
                            }
                            TextPart::Seq => num.format(change.seq),
                            TextPart::Txn => num.format(change.txn),
                            TextPart::FileId => num.format(change.file_id),
                            TextPart::Op => change.op.as_str(),
                            TextPart::File => table,
                        };
                        text.extend_from_slice(piece.as_bytes());
                    }
                    Bound::Text(start..text.len())
                }
            };
            out.push(bound);
        }
        Ok(())
    }
}

/// The bound form of a field value in an unquoted position.
fn typed(value: Value<'_>, text: &mut Vec<u8>) -> Result<Bound, RenderError> {
    Ok(match value {
        Value::Null => Bound::Null,
        Value::Int(i) => Bound::Int(i),
        Value::Float(f) => Bound::Float(f),
        Value::Bits { value, bits } if bits < 64 => Bound::Int(value as i64),
        other => {
            let start = text.len();
            other.write_utf8(text)?;
            Bound::Text(start..text.len())
        }
    })
}

struct Compiler<'a> {
    name: &'a str,
    text: &'a str,
    layout: &'a Layout,
    pieces: Vec<SqlPiece>,
    params: Vec<Param>,
    /// Literal SQL not yet pushed as a piece.
    sql: String,
}

impl Compiler<'_> {
    fn flush(&mut self) {
        if !self.sql.is_empty() {
            self.pieces
                .push(SqlPiece::Text(std::mem::take(&mut self.sql)));
        }
    }

    fn param(&mut self, param: Param) {
        self.flush();
        self.pieces.push(SqlPiece::Marker);
        self.params.push(param);
    }

    fn run(&mut self) -> Result<(), TemplateError> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut state = Lex::Normal;
        let mut i = 0;
        // The quoted literal being read: its start and parts.
        let mut literal_start = 0;
        let mut parts: Vec<TextPart> = Vec::new();
        let mut has_slot = false;
        while i < bytes.len() {
            let b = bytes[i];
            match state {
                Lex::Normal => match b {
                    b'\'' => {
                        state = Lex::Quoted;
                        literal_start = i;
                        parts.clear();
                        has_slot = false;
                        i += 1;
                    }
                    b'"' | b'`' => {
                        state = Lex::Ident(b);
                        self.sql.push(char::from(b));
                        i += 1;
                    }
                    b'@' if bytes.get(i + 1) == Some(&b'@') => {
                        self.sql.push('@');
                        i += 2;
                    }
                    b'-' if bytes.get(i + 1) == Some(&b'-') => {
                        state = Lex::LineComment;
                        self.sql.push_str("--");
                        i += 2;
                    }
                    b'/' if bytes.get(i + 1) == Some(&b'*') => {
                        state = Lex::BlockComment;
                        self.sql.push_str("/*");
                        i += 2;
                    }
                    b'@' => match placeholder_at(self.name, text, i, self.layout)? {
                        Some(p) => {
                            self.unquoted(p.slot);
                            i = p.end;
                        }
                        None => {
                            self.sql.push('@');
                            i += 1;
                        }
                    },
                    _ => {
                        let end = next_special(bytes, i + 1);
                        self.sql.push_str(&text[i..end]);
                        i = end;
                    }
                },
                Lex::Quoted => match b {
                    b'\'' if bytes.get(i + 1) == Some(&b'\'') => {
                        push_literal(&mut parts, "'");
                        i += 2;
                    }
                    b'\'' => {
                        state = Lex::Normal;
                        i += 1;
                        if has_slot {
                            self.param(Param::Text(std::mem::take(&mut parts)));
                        } else {
                            // Written back with `@@` made `@`, quotes doubled again.
                            self.sql.push('\'');
                            for part in parts.drain(..) {
                                if let TextPart::Literal(l) = part {
                                    self.sql.push_str(&l.replace('\'', "''"));
                                }
                            }
                            self.sql.push('\'');
                        }
                    }
                    b'@' if bytes.get(i + 1) == Some(&b'@') => {
                        push_literal(&mut parts, "@");
                        i += 2;
                    }
                    b'@' => match placeholder_at(self.name, text, i, self.layout)? {
                        Some(p) => {
                            has_slot = true;
                            parts.push(match p.slot {
                                Slot::Field(f) => TextPart::Field(f),
                                Slot::Seq => TextPart::Seq,
                                Slot::Txn => TextPart::Txn,
                                Slot::FileId => TextPart::FileId,
                                Slot::Op => TextPart::Op,
                                Slot::File => TextPart::File,
                                Slot::IndexInfo => {
                                    return Err(TemplateError::at(
                                        self.name,
                                        text,
                                        i,
                                        "@drms_index_info@ cannot stand inside a quoted literal",
                                    ));
                                }
                            });
                            i = p.end;
                        }
                        None => {
                            push_literal(&mut parts, "@");
                            i += 1;
                        }
                    },
                    _ => {
                        let end = text[i..].find(['\'', '@']).map_or(text.len(), |r| i + r);
                        push_literal(&mut parts, &text[i..end]);
                        i = end;
                    }
                },
                Lex::Ident(close) => {
                    if b == b'@' && placeholder_at(self.name, text, i, self.layout)?.is_some() {
                        return Err(TemplateError::at(
                            self.name,
                            text,
                            i,
                            "a placeholder cannot stand inside a quoted identifier; write @drms_file@ without quotes",
                        ));
                    }
                    if b == close {
                        state = Lex::Normal;
                    }
                    let end = text.ceil_char_boundary(i + 1);
                    self.sql.push_str(&text[i..end]);
                    i = end;
                }
                Lex::LineComment => {
                    let end = text[i..].find('\n').map_or(text.len(), |r| i + r);
                    self.sql.push_str(&text[i..end]);
                    i = end;
                    state = Lex::Normal;
                }
                Lex::BlockComment => {
                    let end = text[i..].find("*/").map_or(text.len(), |r| i + r + 2);
                    self.sql.push_str(&text[i..end]);
                    i = end;
                    state = Lex::Normal;
                }
            }
        }
        match state {
            Lex::Quoted => Err(TemplateError::at(
                self.name,
                text,
                literal_start,
                "unterminated quoted literal",
            )),
            Lex::Ident(close) => Err(TemplateError::at(
                self.name,
                text,
                text.rfind(char::from(close)).unwrap_or(0),
                "unterminated quoted identifier",
            )),
            _ => {
                self.flush();
                Ok(())
            }
        }
    }

    fn unquoted(&mut self, slot: Slot) {
        match slot {
            Slot::Field(f) => self.param(Param::Field(f)),
            Slot::Seq => self.param(Param::Seq),
            Slot::Txn => self.param(Param::Txn),
            Slot::FileId => self.param(Param::FileId),
            Slot::Op => self.param(Param::Op),
            Slot::File => {
                self.flush();
                self.pieces.push(SqlPiece::Table);
            }
            Slot::IndexInfo => {
                let keys = self.layout.key_fields().to_vec();
                for (n, key) in keys.into_iter().enumerate() {
                    self.flush();
                    if n > 0 {
                        self.pieces.push(SqlPiece::Text(" and ".into()));
                    }
                    let column = self.layout.fields()[key].name.clone();
                    self.pieces.push(SqlPiece::Column(column));
                    self.pieces.push(SqlPiece::Text(" = ".into()));
                    self.param(Param::KeyField(key));
                }
            }
        }
    }
}

fn push_literal(parts: &mut Vec<TextPart>, s: &str) {
    if let Some(TextPart::Literal(last)) = parts.last_mut() {
        last.push_str(s);
    } else {
        parts.push(TextPart::Literal(s.to_owned()));
    }
}

/// The next byte at or after `from` where the lexer must look closely.
fn next_special(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| matches!(b, b'\'' | b'"' | b'`' | b'-' | b'/' | b'@'))
        .map_or(bytes.len(), |p| from + p)
}

impl SqlTemplate {
    /// The template used for `op` when no file gives one: every field by
    /// (quoted) name, the key for update and delete. `None` when the op needs
    /// a key and the layout declares none.
    pub fn default_for(op: crate::ChangeOp, layout: &Layout) -> Option<SqlTemplate> {
        use SqlPiece::{Column, Marker, Table, Text};
        let fields = layout.fields();
        let mut pieces = Vec::new();
        let mut params = Vec::new();
        let key = layout.key_fields();
        match op {
            crate::ChangeOp::Insert => {
                pieces.extend([Text("insert into ".into()), Table, Text(" (".into())]);
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        pieces.push(Text(", ".into()));
                    }
                    pieces.push(Column(f.name.clone()));
                }
                pieces.push(Text(") values (".into()));
                for i in 0..fields.len() {
                    if i > 0 {
                        pieces.push(Text(", ".into()));
                    }
                    pieces.push(Marker);
                    params.push(Param::Field(i));
                }
                pieces.push(Text(")".into()));
            }
            crate::ChangeOp::Update | crate::ChangeOp::Delete if !key.is_empty() => {
                if op == crate::ChangeOp::Update {
                    pieces.extend([Text("update ".into()), Table, Text(" set ".into())]);
                    for (i, f) in fields.iter().enumerate() {
                        if i > 0 {
                            pieces.push(Text(", ".into()));
                        }
                        pieces.extend([Column(f.name.clone()), Text(" = ".into()), Marker]);
                        params.push(Param::Field(i));
                    }
                } else {
                    pieces.extend([Text("delete from ".into()), Table]);
                }
                pieces.push(Text(" where ".into()));
                for (n, k) in key.iter().enumerate() {
                    if n > 0 {
                        pieces.push(Text(" and ".into()));
                    }
                    pieces.extend([Column(fields[*k].name.clone()), Text(" = ".into()), Marker]);
                    params.push(Param::KeyField(*k));
                }
            }
            _ => return None,
        }
        Some(SqlTemplate {
            name: format!("(default {} template of {})", op.as_str(), layout.name()),
            pieces,
            params,
        })
    }
}
