//! `drx verify [FILES] [--timeout SECS]`: compares the primary's critical
//! files with the standby's replicas at the same journal seq, while the
//! application goes on writing.
//!
//! 1. Full checksums (size, records, blake3 per block and of the whole
//!    file) are appended to the journal as `Checksum` entries: by a
//!    capture session of its own when no application holds the journal,
//!    else by the application's session, asked through the mailbox
//!    `<journal>/verify/requests/` (served at its next operation).
//! 2. The primary server streams them to the standby, which compares its
//!    replica as it applies each one and sends the result back; the
//!    primary appends it to `<journal>/verify/results.jsonl`.
//! 3. `drx verify` waits for those results and prints one line per file.
//!
//! Exit status: 0 when every file is identical, 1 when any differs (or is
//! missing, or could not be checked), 2 when a result did not come in time.

use anyhow::{Context, Result, bail};
use drx_capture::{Capture, CaptureError, ChecksumRequest, ChecksumTicket, PostedRequest};
use drx_config::Config;
use drx_journal::JournalError;
use drx_mirror::{LinkState, Role, Verdict, Verified};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How often the results file is read while waiting.
const POLL: Duration = Duration::from_millis(100);
/// A status file older than this belongs to a server that is not running
/// (a running server writes it every second).
const STALE_STATUS: Duration = Duration::from_secs(5);
/// The process name of `drx verify`'s own capture session.
const PROCESS: &str = "drx_verify";

/// Exit status: every file identical.
pub const IDENTICAL: u8 = 0;
/// Exit status: some file differs, is missing or could not be checked.
pub const DIFFERS: u8 = 1;
/// Exit status: a result did not come in time.
pub const TIMED_OUT: u8 = 2;

/// Runs `drx verify` on the primary home `home`; returns the exit status.
pub fn run(home: &Path, files: &[PathBuf], timeout: Duration, process: Option<&str>) -> Result<u8> {
    let config = Config::load(home)?;
    if !drx_capture::is_mirrored(&config) {
        bail!(
            "{}: not a mirrored primary ([mirror] names no secret_env or secret_file), so there is no standby to compare with",
            home.display()
        );
    }
    let cwd = std::env::current_dir().context("the current directory")?;
    let files: Vec<PathBuf> = if files.is_empty() {
        config.existing_critical_files()
    } else {
        files
            .iter()
            .map(|f| drx_config::absolute(&cwd, f))
            .collect()
    };
    if files.is_empty() {
        bail!("no critical file of the Files Table exists; name the files to verify");
    }
    let journal = config.journal.dir.clone();
    // Results are looked for only after what the file holds now.
    let mut offset =
        std::fs::metadata(drx_mirror::verify_results_path(&journal)).map_or(0, |m| m.len());
    let deadline = Instant::now() + timeout;
    let tickets = match checksums(&config, &files, process, timeout)? {
        Some(tickets) => tickets,
        None => {
            eprintln!(
                "drx verify: timed out after {} s: an application holds the journal and did not take the request (it serves requests at its next operation on a file)",
                timeout.as_secs()
            );
            return Ok(TIMED_OUT);
        }
    };
    let mut status = IDENTICAL;
    let mut waiting: HashMap<u64, String> = HashMap::new();
    for t in &tickets {
        match (t.seq, &t.error) {
            (Some(seq), _) => {
                waiting.insert(seq, t.path.clone());
            }
            (None, error) => {
                println!(
                    "{}: NOT CHECKED ({})",
                    t.path,
                    error.as_deref().unwrap_or("no checksum")
                );
                status = DIFFERS;
            }
        }
    }
    let mut results: HashMap<u64, Verified> = HashMap::new();
    while results.len() < waiting.len() && Instant::now() < deadline {
        let (found, next) =
            drx_mirror::read_verify_results(&journal, offset).with_context(|| {
                drx_mirror::verify_results_path(&journal)
                    .display()
                    .to_string()
            })?;
        offset = next;
        for r in found {
            if waiting.contains_key(&r.seq) {
                results.insert(r.seq, r);
            }
        }
        if results.len() < waiting.len() {
            std::thread::sleep(POLL);
        }
    }
    for t in &tickets {
        let Some(seq) = t.seq else { continue };
        match results.get(&seq) {
            Some(r) => {
                println!("{}: {r}", t.path);
                if r.verdict != Verdict::Identical {
                    status = status.max(DIFFERS);
                }
            }
            None => println!("{}: no result (checksum at seq {seq})", t.path),
        }
    }
    if results.len() < waiting.len() {
        let first = waiting
            .keys()
            .filter(|s| !results.contains_key(s))
            .min()
            .copied()
            .unwrap_or(0);
        eprintln!(
            "drx verify: timed out after {} s waiting for the standby's results: {}",
            timeout.as_secs(),
            diagnose(home, first)
        );
        return Ok(TIMED_OUT);
    }
    Ok(status)
}

/// Appends the checksums: by a session of its own when the journal is
/// free, else through the mailbox (and by a session of its own after all
/// if the application ends before it takes the request). `None`: the
/// request was not answered in time.
fn checksums(
    config: &Config,
    files: &[PathBuf],
    process: Option<&str>,
    timeout: Duration,
) -> Result<Option<Vec<ChecksumTicket>>> {
    let own = |mut capture: Capture| -> Result<Vec<ChecksumTicket>> {
        let tickets = capture.checksum_files(files, process);
        capture.close()?;
        Ok(tickets?)
    };
    let open = || match Capture::open_waiting(config, process.unwrap_or(PROCESS), Duration::ZERO) {
        Ok(capture) => Ok(Some(capture)),
        Err(CaptureError::Journal(JournalError::Locked { .. })) => Ok(None),
        Err(e) => Err(e),
    };
    if let Some(capture) = open()? {
        return own(capture).map(Some);
    }
    let request = ChecksumRequest {
        files: files.to_vec(),
        process: process.map(str::to_owned),
    };
    let posted = PostedRequest::post(&config.journal.dir, &request)?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(tickets) = posted.answer()? {
            return Ok(Some(tickets));
        }
        // The application may have ended without taking it. Holding the
        // journal, this process knows nobody else serves the mailbox.
        if let Some(capture) = open()? {
            if posted.withdraw() {
                return own(capture).map(Some);
            }
            capture.close()?;
            if let Some(tickets) = posted.answer()? {
                return Ok(Some(tickets));
            }
        }
        if Instant::now() >= deadline {
            posted.withdraw();
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

/// Why a result did not come: the primary server's status file says
/// whether it runs and is connected.
fn diagnose(home: &Path, seq: u64) -> String {
    let path = home.join("status").join("primary.json");
    let age = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    let primary = drx_mirror::read_status(home)
        .ok()
        .and_then(|all| all.into_iter().find(|s| s.role == Role::Primary));
    match (primary, age) {
        (Some(s), Some(age)) if age <= STALE_STATUS => {
            if s.state != LinkState::Streaming {
                format!(
                    "the primary server is not connected to the standby (state {:?}{})",
                    s.state,
                    s.last_error
                        .map(|e| format!(", last error: {e}"))
                        .unwrap_or_default()
                )
            } else if s.last_sent_seq < seq {
                format!(
                    "the primary server has not sent seq {seq} yet (sent up to {})",
                    s.last_sent_seq
                )
            } else {
                format!(
                    "the standby did not answer for seq {seq} (acknowledged up to {})",
                    s.last_acked_seq
                )
            }
        }
        _ => "the primary server is not running (start `drx mirror primary`)".to_owned(),
    }
}
