//! `drx io --script OPS.jsonl`: record operations written as JSON, one per
//! line. See docs/IO_SCRIPT.md.
//!
//! A line is first parsed as JSON (syntax errors point at the offending
//! character), then its members are located in the line's text, so that
//! every later error points at the member at fault, and numbers in field
//! values keep their exact text (a decimal field gets `12345678901234567.89`
//! digit for digit, never through a float).

use crate::{Capture, CaptureError, CapturedFile, FileSpec, Org, Target, load_layout};
use drx_config::Config;
use drx_layouts::Layout;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A script line that failed: `script:line:col: message`. Lines before it
/// were applied and journaled; nothing after it was. A transaction open at
/// the failure is aborted (its changes undone), and the message says so.
#[derive(Debug, thiserror::Error)]
#[error("{script}:{line}:{col}: {message}")]
pub struct ScriptError {
    /// The script's display name.
    pub script: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What went wrong.
    pub message: String,
}

/// What a script did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScriptSummary {
    /// Operations run.
    pub operations: u64,
    /// Journal entries appended.
    pub journaled: u64,
}

const SPEC_FIELDS: &[&str] = &["file", "organization", "file_id", "layout", "record_len"];

/// Every op and the fields it takes (besides `op`).
const OPS: &[(&str, &[&str])] = &[
    ("create", SPEC_FIELDS),
    ("open", SPEC_FIELDS),
    ("write", &["file", "recno", "record", "hex"]),
    ("rewrite", &["file", "recno", "key", "record", "hex"]),
    ("delete", &["file", "recno", "key"]),
    ("truncate", &["file", "records"]),
    ("rename", &["file", "to"]),
    ("copy", &["file", "to"]),
    ("delete_file", &["file"]),
    ("begin", &[]),
    ("commit", &[]),
    ("abort", &[]),
];

/// An error at a column of the line.
#[derive(Debug)]
struct At {
    col: usize,
    message: String,
}

/// One member of a JSON object, as written in the line.
#[derive(Debug)]
struct Member<'a> {
    /// The key, unescaped.
    key: String,
    /// The byte index of the key's opening quote.
    key_at: usize,
    /// The value's text.
    raw: &'a str,
    /// The byte index of the value.
    at: usize,
}

/// A parsed script line: its op and members.
#[derive(Debug)]
struct OpLine<'a> {
    text: &'a str,
    /// The byte index of the object's `{`.
    open: usize,
    op: &'static str,
    members: Vec<Member<'a>>,
}

impl<'a> OpLine<'a> {
    fn parse(text: &'a str) -> Result<OpLine<'a>, At> {
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

    fn member(&self, name: &str) -> Option<&Member<'a>> {
        self.members.iter().find(|m| m.key == name)
    }

    /// An error at the value of member `name`, or at the `{` when `name` is
    /// `None` or absent.
    fn at(&self, name: Option<&str>, message: String) -> At {
        let at = name
            .and_then(|n| self.member(n))
            .map_or(self.open, |m| m.at);
        At {
            col: col(self.text, at),
            message,
        }
    }

    fn string(&self, name: &str) -> Result<Option<String>, At> {
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

    fn path(&self, name: &str) -> Result<Option<PathBuf>, At> {
        Ok(self.string(name)?.map(PathBuf::from))
    }

    fn required_path(&self, name: &str) -> Result<PathBuf, At> {
        self.path(name)?
            .ok_or_else(|| self.at(None, format!("missing field `{name}`")))
    }

    fn number<T: std::str::FromStr>(&self, name: &str, what: &str) -> Result<Option<T>, At> {
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

    fn object(&self, name: &str) -> Result<Option<Vec<Member<'a>>>, At> {
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

/// Runs the operations of a script.
#[derive(Debug)]
pub struct Script<'c> {
    config: &'c Config,
    /// The open files, by absolute path.
    files: HashMap<PathBuf, CapturedFile>,
    layouts: HashMap<u16, Arc<Layout>>,
    /// The line and column of the open transaction's `begin`.
    begun_at: Option<(usize, usize)>,
}

impl<'c> Script<'c> {
    /// A runner that finds layouts through `config`.
    pub fn new(config: &'c Config) -> Script<'c> {
        Script {
            config,
            files: HashMap::new(),
            layouts: HashMap::new(),
            begun_at: None,
        }
    }

    /// Runs every line of `input`; `name` names the script in errors.
    ///
    /// Stops at the first line that fails. A transaction still open then,
    /// or at the end of the script, is aborted, and that is an error too.
    pub fn run(
        &mut self,
        capture: &mut Capture,
        name: &str,
        input: impl BufRead,
    ) -> Result<ScriptSummary, ScriptError> {
        let mut summary = ScriptSummary::default();
        for (n, line) in input.lines().enumerate() {
            let line_no = n + 1;
            let line = line.map_err(|e| {
                self.fail(
                    capture,
                    name,
                    line_no,
                    At {
                        col: 1,
                        message: e.to_string(),
                    },
                )
            })?;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let before = capture.journal().last_seq();
            let result = OpLine::parse(&line).and_then(|op| self.apply(capture, &op, line_no));
            summary.journaled += capture.journal().last_seq().saturating_sub(before);
            match result {
                Ok(()) => summary.operations += 1,
                Err(at) => return Err(self.fail(capture, name, line_no, at)),
            }
        }
        if let Some((line, col)) = self.begun_at.take() {
            let message = match capture.abort() {
                Ok(_) => "the transaction begun here was not committed by the end of the script; it was aborted".to_owned(),
                Err(e) => format!("the transaction begun here was not committed by the end of the script, and aborting it failed: {e}"),
            };
            return Err(ScriptError {
                script: name.to_owned(),
                line,
                col,
                message,
            });
        }
        Ok(summary)
    }

    /// The error for line `line`; aborts an open transaction first.
    fn fail(&mut self, capture: &mut Capture, name: &str, line: usize, at: At) -> ScriptError {
        let mut message = at.message;
        if capture.in_transaction() {
            let begun = self
                .begun_at
                .take()
                .map(|(l, _)| format!(" (begun at line {l})"))
                .unwrap_or_default();
            match capture.abort() {
                Ok(_) => message += &format!("; the open transaction{begun} was aborted"),
                Err(e) => message += &format!("; aborting the open transaction{begun} failed: {e}"),
            }
        }
        ScriptError {
            script: name.to_owned(),
            line,
            col: at.col,
            message,
        }
    }

    fn layout(&mut self, id: u16) -> Result<Arc<Layout>, String> {
        if let Some(l) = self.layouts.get(&id) {
            return Ok(l.clone());
        }
        let layout =
            load_layout(&self.config.extractor.layouts_dir, id).map_err(|e| e.to_string())?;
        self.layouts.insert(id, layout.clone());
        Ok(layout)
    }

    /// The spec of `file` from the op's members, else from the Files
    /// Table's file id and its layout.
    fn spec(&mut self, l: &OpLine<'_>, file: &Path) -> Result<FileSpec, At> {
        let organization = match l.string("organization")? {
            Some(name) => Some(Org::parse(&name).ok_or_else(|| {
                l.at(
                    Some("organization"),
                    format!("unknown organization `{name}` (fixed, relative, sequential, indexed)"),
                )
            })?),
            None => None,
        };
        let record_len: Option<usize> = l.number(
            "record_len",
            "a record length in bytes (an unsigned integer)",
        )?;
        let file_id: Option<u16> = l.number("file_id", "a file id from 0 to 65535")?;
        let layout = match (l.path("layout")?, file_id) {
            (Some(_), Some(_)) => {
                return Err(l.at(
                    Some("file_id"),
                    "give `layout` or `file_id`, not both".into(),
                ));
            }
            (Some(path), None) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| l.at(Some("layout"), format!("{}: {e}", path.display())))?;
                let layout = Layout::parse(&path.display().to_string(), &text)
                    .map_err(|e| l.at(Some("layout"), e.to_string()))?;
                Some(Arc::new(layout))
            }
            (None, Some(id)) => Some(self.layout(id).map_err(|e| l.at(Some("file_id"), e))?),
            (None, None) => match self.config.files.file_id_of(&absolute(file)) {
                Some(id) => Some(self.layout(id).map_err(|e| l.at(Some("file"), e))?),
                None => None,
            },
        };
        match (layout, record_len) {
            (Some(layout), record_len) => {
                let mut spec = FileSpec::from_layout(layout);
                if let Some(o) = organization {
                    spec.organization = o;
                }
                if let Some(n) = record_len {
                    let fits = n == spec.record_len
                        || (spec.organization == Org::Sequential && n > spec.record_len);
                    if !fits {
                        return Err(l.at(
                            Some("record_len"),
                            format!(
                                "record_len {n} differs from the layout's record length {}",
                                spec.record_len
                            ),
                        ));
                    }
                    spec.record_len = n;
                }
                Ok(spec)
            }
            (None, Some(record_len)) => Ok(FileSpec {
                organization: organization.unwrap_or(Org::Fixed),
                record_len,
                layout: None,
            }),
            (None, None) => Err(l.at(
                Some("file"),
                format!(
                    "{}: no layout: give file_id, layout or record_len, or map the file to an extractor_file_id in the Files Table",
                    file.display()
                ),
            )),
        }
    }

    /// The open file at `path`, opened now (with the Files Table's spec)
    /// if the script has not opened it yet.
    fn file(
        &mut self,
        capture: &mut Capture,
        l: &OpLine<'_>,
        path: &Path,
    ) -> Result<&mut CapturedFile, At> {
        let key = absolute(path);
        if !self.files.contains_key(&key) {
            let spec = self.spec(l, path)?;
            let f = capture
                .open_file(path, spec)
                .map_err(|e| l.at(Some("file"), e.to_string()))?;
            self.files.insert(key.clone(), f);
        }
        self.files
            .get_mut(&key)
            .ok_or_else(|| l.at(Some("file"), format!("{}: not open", path.display())))
    }

    /// The record bytes of a write or rewrite: `record` or `hex`.
    fn record(
        &mut self,
        capture: &mut Capture,
        l: &OpLine<'_>,
        path: &Path,
    ) -> Result<Vec<u8>, At> {
        match (l.object("record")?, l.string("hex")?) {
            (Some(_), Some(_)) => Err(l.at(Some("hex"), "give `record` or `hex`, not both".into())),
            (None, Some(h)) => decode_hex(&h).map_err(|e| l.at(Some("hex"), e)),
            (Some(fields), None) => {
                let layout = layout_of(self.file(capture, l, path)?).ok_or_else(|| {
                    l.at(
                        Some("record"),
                        format!("{}: fields need a layout; give `hex`", path.display()),
                    )
                })?;
                encode_members(
                    &layout,
                    l.text,
                    &fields,
                    l.at(Some("record"), String::new()).col,
                )
            }
            (None, None) => Err(l.at(
                None,
                "missing `record` (field values) or `hex` (raw bytes)".into(),
            )),
        }
    }

    /// The record a rewrite or delete addresses: `recno`, or `key`, or
    /// (rewrites of indexed files) the key of the new record.
    fn target(
        &mut self,
        capture: &mut Capture,
        l: &OpLine<'_>,
        path: &Path,
        record: Option<&[u8]>,
    ) -> Result<OwnedTarget, At> {
        let recno: Option<u64> = l.number("recno", "a record number (an unsigned integer)")?;
        let key = l.object("key")?;
        match (recno, key) {
            (Some(_), Some(_)) => Err(l.at(Some("key"), "give `recno` or `key`, not both".into())),
            (Some(n), None) => Ok(OwnedTarget::RecNo(n)),
            (None, Some(fields)) => {
                let layout = layout_of(self.file(capture, l, path)?).ok_or_else(|| {
                    l.at(
                        Some("key"),
                        format!("{}: a key needs a layout", path.display()),
                    )
                })?;
                key_bytes(&layout, l, &fields).map(OwnedTarget::Key)
            }
            (None, None) => {
                let f = self.file(capture, l, path)?;
                let missing = || l.at(None, "missing `recno` or `key`".into());
                let (Some(record), Org::Indexed) = (record, f.file().spec().organization) else {
                    return Err(missing());
                };
                let layout = layout_of(f).ok_or_else(missing)?;
                let mut key = Vec::new();
                layout
                    .key_bytes(record, &mut key)
                    .map_err(|e| l.at(Some("record"), e.to_string()))?;
                Ok(OwnedTarget::Key(key))
            }
        }
    }

    fn apply(&mut self, capture: &mut Capture, l: &OpLine<'_>, line_no: usize) -> Result<(), At> {
        let fail = |e: CaptureError| l.at(None, e.to_string());
        match l.op {
            "create" | "open" => {
                let file = l.required_path("file")?;
                let spec = self.spec(l, &file)?;
                let f = if l.op == "create" {
                    capture.create(&file, spec)
                } else {
                    capture.open_file(&file, spec)
                }
                .map_err(|e| l.at(Some("file"), e.to_string()))?;
                self.files.insert(absolute(&file), f);
            }
            "write" => {
                let file = l.required_path("file")?;
                let recno: Option<u64> =
                    l.number("recno", "a record number (an unsigned integer)")?;
                let bytes = self.record(capture, l, &file)?;
                let f = self.file(capture, l, &file)?;
                capture.write(f, &bytes, recno).map_err(fail)?;
            }
            "rewrite" => {
                let file = l.required_path("file")?;
                let bytes = self.record(capture, l, &file)?;
                let target = self.target(capture, l, &file, Some(&bytes))?;
                let f = self.file(capture, l, &file)?;
                capture
                    .rewrite(f, target.as_target(), &bytes)
                    .map_err(fail)?;
            }
            "delete" => {
                let file = l.required_path("file")?;
                let target = self.target(capture, l, &file, None)?;
                let f = self.file(capture, l, &file)?;
                capture.delete(f, target.as_target()).map_err(fail)?;
            }
            "truncate" => {
                let file = l.required_path("file")?;
                let records: Option<u64> =
                    l.number("records", "a record count (an unsigned integer)")?;
                let f = self.file(capture, l, &file)?;
                capture.truncate(f, records.unwrap_or(0)).map_err(fail)?;
            }
            "rename" | "copy" => {
                let file = l.required_path("file")?;
                let to = l.required_path("to")?;
                // A handle on the destination would now describe a replaced
                // file (or write into an unlinked one): drop it.
                self.files.remove(&absolute(&to));
                if l.op == "rename" {
                    self.files.remove(&absolute(&file));
                    capture.rename(&file, &to).map_err(fail)?;
                } else {
                    capture.copy(&file, &to).map_err(fail)?;
                }
            }
            "delete_file" => {
                let file = l.required_path("file")?;
                self.files.remove(&absolute(&file));
                capture.delete_file(&file).map_err(fail)?;
            }
            "begin" => {
                capture.begin().map_err(fail)?;
                self.begun_at = Some((line_no, col(l.text, l.open)));
            }
            "commit" => {
                capture.commit().map_err(fail)?;
                self.begun_at = None;
            }
            "abort" => {
                capture.abort().map_err(fail)?;
                self.begun_at = None;
            }
            other => return Err(l.at(Some("op"), format!("unknown op `{other}`"))),
        }
        Ok(())
    }
}

/// A [`Target`] that owns its key.
#[derive(Debug)]
enum OwnedTarget {
    RecNo(u64),
    Key(Vec<u8>),
}

impl OwnedTarget {
    fn as_target(&self) -> Target<'_> {
        match self {
            OwnedTarget::RecNo(n) => Target::RecNo(*n),
            OwnedTarget::Key(k) => Target::Key(k),
        }
    }
}

fn layout_of(f: &CapturedFile) -> Option<Arc<Layout>> {
    f.file().spec().layout.clone()
}

/// The key bytes of a `key` object: every key field, and only key fields.
fn key_bytes(layout: &Layout, l: &OpLine<'_>, fields: &[Member<'_>]) -> Result<Vec<u8>, At> {
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
fn encode_members(
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

fn decode_hex(h: &str) -> Result<Vec<u8>, String> {
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

fn absolute(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    drx_config::absolute(&cwd, path)
}

/// The 1-based column, in characters, of the character at byte `at` of
/// `text` (one past the last character when `at` is at or past the end).
fn col(text: &str, at: usize) -> usize {
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
    fn syntax_errors_lose_serde_positions() {
        let text = "{\"a\":1,}";
        let e = serde_json::from_str::<Value>(text).expect_err("bad JSON");
        let at = syntax_error(text, &e);
        assert_eq!((at.col, at.message.as_str()), (8, "trailing comma"));
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
