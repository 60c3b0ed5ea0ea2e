//! `drx io --script OPS.jsonl`: record operations written as JSON, one per
//! line. See docs/IO_SCRIPT.md.
//!
//! A line is first parsed as JSON (syntax errors point at the offending
//! character), then its members are located in the line's text, so that
//! every later error points at the member at fault, and numbers in field
//! values keep their exact text (a decimal field gets `12345678901234567.89`
//! digit for digit, never through a float).

mod line;
mod values;

use crate::{Capture, CaptureError, CapturedFile, FileSpec, Org, Target, load_layout};
use drx_config::Config;
use drx_layouts::Layout;
use line::{At, OpLine, col};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
pub use values::encode;
use values::{decode_hex, encode_members, key_bytes};

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
        let mut last_line = 0;
        for (n, line) in input.lines().enumerate() {
            let line_no = n + 1;
            last_line = line_no;
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
        // The end of the script closes its files (a mirrored primary
        // journals their size and record count for the standby to check).
        let before = capture.journal().last_seq();
        let mut open: Vec<(PathBuf, CapturedFile)> = self.files.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, file) in open {
            if let Err(e) = capture.close_file(file) {
                return Err(ScriptError {
                    script: name.to_owned(),
                    line: last_line,
                    col: 1,
                    message: format!("closing {}: {e}", path.display()),
                });
            }
        }
        summary.journaled += capture.journal().last_seq().saturating_sub(before);
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

fn absolute(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    drx_config::absolute(&cwd, path)
}
