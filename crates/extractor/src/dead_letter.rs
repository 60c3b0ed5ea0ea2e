//! The dead-letter file: entries whose records could not be decoded, one
//! JSON object a line, when the bad-record policy is `dead-letter`.

use crate::ExtractError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One entry whose record could not be decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeadEntry<'a> {
    pub seq: u64,
    pub txn: u64,
    pub op: &'a str,
    pub file: &'a str,
    pub error: &'a str,
    pub before: Option<&'a [u8]>,
    pub after: Option<&'a [u8]>,
}

/// `<dir>/file.NNN.dead.jsonl`, opened on the first bad record.
#[derive(Debug)]
pub(crate) struct DeadLetters {
    path: PathBuf,
    file: Option<File>,
    pub count: u64,
}

impl DeadLetters {
    pub fn new(dir: &Path, file_id: u16) -> DeadLetters {
        DeadLetters {
            path: dir.join(format!("file.{file_id}.dead.jsonl")),
            file: None,
            count: 0,
        }
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> ExtractError + '_ {
        |source| ExtractError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends one bad entry and makes it durable before the sink moves past it.
    pub fn write(&mut self, dead: &DeadEntry<'_>) -> Result<(), ExtractError> {
        let DeadEntry {
            seq,
            txn,
            op,
            file,
            error,
            before,
            after,
        } = *dead;
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(self.io())?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(self.io())?;
            self.file = Some(f);
        }
        let line = serde_json::json!({
            "seq": seq,
            "txn": txn,
            "op": op,
            "file": file,
            "error": error,
            "before_hex": before.map(hex),
            "after_hex": after.map(hex),
        });
        let mut text = line.to_string();
        text.push('\n');
        let path = self.path.clone();
        let io = |source| ExtractError::Io {
            path: path.clone(),
            source,
        };
        if let Some(f) = self.file.as_mut() {
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_data().map_err(io)?;
        }
        self.count += 1;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
