//! `drx io --script OPS.jsonl`: record operations written as JSON, one per
//! line. See docs/IO_SCRIPT.md.

use crate::{Capture, CaptureError, CapturedFile, FileSpec, Org, Target, load_layout};
use drx_config::Config;
use drx_layouts::Layout;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A script line that failed: `script:line:col: message`. Lines before it
/// were applied and journaled; nothing after it was.
#[derive(Debug, thiserror::Error)]
#[error("{script}:{line}:{col}: {message}")]
pub struct ScriptError {
    /// The script's display name.
    pub script: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
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

/// One operation of a script.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Op {
    Create {
        file: PathBuf,
        #[serde(flatten)]
        spec: SpecArgs,
    },
    Open {
        file: PathBuf,
        #[serde(flatten)]
        spec: SpecArgs,
    },
    Write {
        file: PathBuf,
        #[serde(default)]
        recno: Option<u64>,
        #[serde(default)]
        record: Option<Map<String, Value>>,
        #[serde(default)]
        hex: Option<String>,
    },
    Rewrite {
        file: PathBuf,
        #[serde(default)]
        recno: Option<u64>,
        #[serde(default)]
        key: Option<Map<String, Value>>,
        #[serde(default)]
        record: Option<Map<String, Value>>,
        #[serde(default)]
        hex: Option<String>,
    },
    Delete {
        file: PathBuf,
        #[serde(default)]
        recno: Option<u64>,
        #[serde(default)]
        key: Option<Map<String, Value>>,
    },
    Truncate {
        file: PathBuf,
        #[serde(default)]
        records: u64,
    },
    Rename {
        file: PathBuf,
        to: PathBuf,
    },
    Copy {
        file: PathBuf,
        to: PathBuf,
    },
    DeleteFile {
        file: PathBuf,
    },
    Begin,
    Commit,
    Abort,
}

#[derive(Debug, Default, Deserialize)]
struct SpecArgs {
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    file_id: Option<u16>,
    #[serde(default)]
    layout: Option<PathBuf>,
    #[serde(default)]
    record_len: Option<usize>,
}

/// Runs the operations of a script.
#[derive(Debug)]
pub struct Script<'c> {
    config: &'c Config,
    files: HashMap<PathBuf, CapturedFile>,
    layouts: HashMap<u16, Arc<Layout>>,
}

impl<'c> Script<'c> {
    /// A runner that finds layouts through `config`.
    pub fn new(config: &'c Config) -> Script<'c> {
        Script {
            config,
            files: HashMap::new(),
            layouts: HashMap::new(),
        }
    }

    /// Runs every line of `input`; `name` names the script in errors.
    pub fn run(
        &mut self,
        capture: &mut Capture,
        name: &str,
        input: impl BufRead,
    ) -> Result<ScriptSummary, ScriptError> {
        let mut summary = ScriptSummary::default();
        for (n, line) in input.lines().enumerate() {
            let err = |col: usize, message: String| ScriptError {
                script: name.to_owned(),
                line: n + 1,
                col,
                message,
            };
            let line = line.map_err(|e| err(1, e.to_string()))?;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let op: Op = serde_json::from_str(trimmed).map_err(|e| {
                let indent = line.len() - line.trim_start().len();
                err(e.column() + indent, e.to_string())
            })?;
            let seq = self.apply(capture, op).map_err(|e| err(1, e))?;
            summary.operations += 1;
            if seq > 0 {
                summary.journaled += 1;
            }
        }
        Ok(summary)
    }

    fn layout(&mut self, id: u16) -> Result<Arc<Layout>, String> {
        if let Some(l) = self.layouts.get(&id) {
            return Ok(l.clone());
        }
        let layout = load_layout(&self.config.extractor.layouts_dir, id).map_err(|e| e.to_string())?;
        self.layouts.insert(id, layout.clone());
        Ok(layout)
    }

    /// The spec of `file` from the op's arguments, else from the Files
    /// Table's file id and its layout.
    fn spec(&mut self, file: &Path, args: SpecArgs) -> Result<FileSpec, String> {
        let layout = match (&args.layout, args.file_id) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                Some(Arc::new(Layout::parse(&path.display().to_string(), &text).map_err(|e| e.to_string())?))
            }
            (None, Some(id)) => Some(self.layout(id)?),
            (None, None) => match self.config.files.file_id_of(&absolute(file)) {
                Some(id) => Some(self.layout(id)?),
                None => None,
            },
        };
        let organization = match &args.organization {
            Some(name) => Some(Org::parse(name).ok_or_else(|| {
                format!("unknown organization `{name}` (fixed, relative, sequential, indexed)")
            })?),
            None => None,
        };
        match (layout, args.record_len) {
            (Some(layout), _) => {
                let mut spec = FileSpec::from_layout(layout);
                if let Some(o) = organization {
                    spec.organization = o;
                }
                Ok(spec)
            }
            (None, Some(record_len)) => Ok(FileSpec {
                organization: organization.unwrap_or(Org::Fixed),
                record_len,
                layout: None,
            }),
            (None, None) => Err(format!(
                "{}: no layout: give file_id, layout or record_len, or map the file to an extractor_file_id",
                file.display()
            )),
        }
    }

    fn file(&mut self, capture: &mut Capture, path: &Path) -> Result<&mut CapturedFile, String> {
        if !self.files.contains_key(path) {
            let spec = self.spec(path, SpecArgs::default())?;
            let f = capture.open_file(path, spec).map_err(|e| e.to_string())?;
            self.files.insert(path.to_owned(), f);
        }
        self.files
            .get_mut(path)
            .ok_or_else(|| format!("{}: not open", path.display()))
    }

    fn record(&mut self, capture: &mut Capture, path: &Path, record: Option<Map<String, Value>>, hex: Option<String>) -> Result<Vec<u8>, String> {
        match (record, hex) {
            (Some(_), Some(_)) => Err("give `record` or `hex`, not both".into()),
            (None, Some(h)) => decode_hex(&h),
            (Some(fields), None) => {
                let layout = self
                    .file(capture, path)?
                    .file()
                    .spec()
                    .layout
                    .clone()
                    .ok_or_else(|| format!("{}: fields need a layout; give `hex`", path.display()))?;
                encode(&layout, &fields)
            }
            (None, None) => Err("missing `record` (field values) or `hex` (raw bytes)".into()),
        }
    }

    fn target(&mut self, capture: &mut Capture, path: &Path, recno: Option<u64>, key: Option<Map<String, Value>>) -> Result<Vec<u8>, String> {
        match (recno, key) {
            (Some(_), Some(_)) => Err("give `recno` or `key`, not both".into()),
            (None, Some(fields)) => {
                let layout = self
                    .file(capture, path)?
                    .file()
                    .spec()
                    .layout
                    .clone()
                    .ok_or_else(|| format!("{}: a key needs a layout", path.display()))?;
                let record = encode(&layout, &fields)?;
                let mut key = Vec::new();
                layout.key_bytes(&record, &mut key).map_err(|e| e.to_string())?;
                Ok(key)
            }
            _ => Err("missing `recno` or `key`".into()),
        }
    }

    fn apply(&mut self, capture: &mut Capture, op: Op) -> Result<u64, String> {
        let e = |e: CaptureError| e.to_string();
        match op {
            Op::Create { file, spec } => {
                let spec = self.spec(&file, spec)?;
                let f = capture.create(&file, spec).map_err(e)?;
                let critical = f.is_critical();
                self.files.insert(file, f);
                Ok(u64::from(critical))
            }
            Op::Open { file, spec } => {
                let spec = self.spec(&file, spec)?;
                let f = capture.open_file(&file, spec).map_err(e)?;
                self.files.insert(file, f);
                Ok(0)
            }
            Op::Write { file, recno, record, hex } => {
                let bytes = self.record(capture, &file, record, hex)?;
                let f = self.file(capture, &file)?;
                capture.write(f, &bytes, recno).map_err(e)
            }
            Op::Rewrite { file, recno, key, record, hex } => {
                let bytes = self.record(capture, &file, record, hex)?;
                if let Some(n) = recno.filter(|_| key.is_none()) {
                    let f = self.file(capture, &file)?;
                    return capture.rewrite(f, Target::RecNo(n), &bytes).map_err(e);
                }
                let key = match key {
                    Some(k) => self.target(capture, &file, None, Some(k))?,
                    None => {
                        // The key of the new record itself.
                        let f = self.file(capture, &file)?;
                        let layout = f.file().spec().layout.clone().ok_or("missing `recno` or `key`")?;
                        let mut key = Vec::new();
                        layout.key_bytes(&bytes, &mut key).map_err(|e| e.to_string())?;
                        key
                    }
                };
                let f = self.file(capture, &file)?;
                capture.rewrite(f, Target::Key(&key), &bytes).map_err(e)
            }
            Op::Delete { file, recno, key } => {
                if let (Some(n), None) = (recno, &key) {
                    let f = self.file(capture, &file)?;
                    return capture.delete(f, Target::RecNo(n)).map_err(e);
                }
                let key = self.target(capture, &file, recno, key)?;
                let f = self.file(capture, &file)?;
                capture.delete(f, Target::Key(&key)).map_err(e)
            }
            Op::Truncate { file, records } => {
                let f = self.file(capture, &file)?;
                capture.truncate(f, records).map_err(e)
            }
            Op::Rename { file, to } => {
                self.files.remove(&file);
                capture.rename(&file, &to).map_err(e).map(|()| 1)
            }
            Op::Copy { file, to } => capture.copy(&file, &to).map_err(e).map(|()| 1),
            Op::DeleteFile { file } => {
                self.files.remove(&file);
                capture.delete_file(&file).map_err(e).map(|()| 1)
            }
            Op::Begin => capture.begin().map_err(e),
            Op::Commit => capture.commit().map_err(e),
            Op::Abort => capture.abort().map_err(e),
        }
    }
}

/// Encodes JSON field values through `layout`.
pub fn encode(layout: &Layout, fields: &Map<String, Value>) -> Result<Vec<u8>, String> {
    let texts: Vec<(&str, String)> = fields
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.as_str(), text)
        })
        .collect();
    layout
        .encode(texts.iter().map(|(k, v)| (*k, v.as_str())))
        .map_err(|e| e.to_string())
}

fn decode_hex(h: &str) -> Result<Vec<u8>, String> {
    let h: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    if h.len() % 2 != 0 {
        return Err("hex has an odd number of digits".into());
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).map_err(|_| format!("bad hex digits `{}`", &h[i..i + 2])))
        .collect()
}

fn absolute(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    drx_config::absolute(&cwd, path)
}
