//! The primary's record of the standby's replica comparisons: each
//! `Verified` it receives becomes one JSON line of
//! `<journal>/verify/results.jsonl`, which `drx verify` reads.

use crate::protocol::{Verdict, Verified};
use crate::status::StatusBoard;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One line of the results file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Line {
    /// When the primary received it, microseconds since 1970-01-01T00:00:00Z.
    received_us: i64,
    #[serde(flatten)]
    result: Verified,
}

/// The results file of the journal `journal_dir`.
pub fn verify_results_path(journal_dir: &Path) -> PathBuf {
    journal_dir.join("verify").join("results.jsonl")
}

/// Appends `result` to the results file of `journal_dir` (created with
/// its directory), as one line written at once.
pub fn append_verify_result(journal_dir: &Path, result: &Verified) -> io::Result<()> {
    let path = verify_results_path(journal_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let line = Line {
        received_us: crate::link::now_us(),
        result: result.clone(),
    };
    let mut text = serde_json::to_vec(&line).map_err(io::Error::other)?;
    text.push(b'\n');
    let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
    file.write_all(&text)
}

/// The results in the results file of `journal_dir` from byte `from` on,
/// oldest first, and the offset after the last whole line read (to read
/// on from there later). No file: none. A line that does not parse (a
/// write torn by a crash) is skipped.
pub fn read_verify_results(journal_dir: &Path, from: u64) -> io::Result<(Vec<Verified>, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(verify_results_path(journal_dir)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), from)),
        Err(e) => return Err(e),
    };
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    // Only whole lines: the last one may still be being written.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut out = Vec::new();
    for line in bytes[..whole].split(|&b| b == b'\n') {
        if let Ok(l) = serde_json::from_slice::<Line>(line) {
            out.push(l.result);
        }
    }
    Ok((out, from + whole as u64))
}

/// The primary received `result`: logged (an error when the replica is not
/// identical), counted, and appended to the results file.
pub(crate) async fn record_verified(journal_dir: &Path, status: &StatusBoard, result: Verified) {
    if result.verdict == Verdict::Identical {
        tracing::info!(seq = result.seq, path = %result.path, "the standby verified the replica: {result}");
    } else {
        tracing::error!(seq = result.seq, path = %result.path, "the standby's replica: {result}");
    }
    let mismatch = u64::from(result.verdict != Verdict::Identical);
    status.update(|s| {
        s.counters.verified += 1;
        s.counters.verify_mismatches += mismatch;
    });
    let dir = journal_dir.to_owned();
    let written = tokio::task::spawn_blocking(move || append_verify_result(&dir, &result)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot record a verification result"),
        Err(e) => tracing::warn!(error = %e, "cannot record a verification result"),
    }
}
