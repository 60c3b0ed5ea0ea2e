//! Checksums for the standby: on a mirrored primary (`[mirror]` has a
//! `secret_env` or `secret_file`), the capture appends a `Checksum` entry
//! (docs/JOURNAL_FORMAT.md) when a critical file is opened
//! (`check_file_at_open`) or closed (`check_file_at_close`) — the cheap
//! form: size and record count — and every `check_file_interval` minutes,
//! checked at the next operation on the file — the full form: blake3 per
//! block and of the whole file. The standby compares its replica with it
//! at the same seq.
//!
//! The capture is the journal's only writer, so a file read between two
//! operations is exactly the state as of the journal's last seq. A
//! checksum is never taken inside a transaction (the standby applies a
//! transaction at its commit): one due then is taken right after the
//! commit or abort.
//!
//! `drx verify` asks for full checksums. When no application holds the
//! journal it opens a capture session itself ([`Capture::checksum_files`]);
//! else it drops a request into the mailbox `<journal>/verify/requests/`,
//! which the application's session serves at its next operation (looked
//! at no more than once a second; an `Instant` comparison per operation)
//! and answers in `<journal>/verify/answers/` with the seqs it appended
//! ([`request_checksums`]).

use crate::error::io;
use crate::{Capture, CaptureError, FileSpec, RecordFile, load_layout};
use drx_config::Config;
use drx_journal::{ChecksumReason, FileChecksum, FileOrganization, NewEntry, Writer, digest_file};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the mailbox is looked at, at most.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often [`request_checksums`] looks for its answer.
const ANSWER_POLL: Duration = Duration::from_millis(20);

/// The directory of `drx verify`'s mailbox and results, in the journal
/// directory.
pub fn verify_dir(journal_dir: &Path) -> PathBuf {
    journal_dir.join("verify")
}

fn requests_dir(journal_dir: &Path) -> PathBuf {
    verify_dir(journal_dir).join("requests")
}

fn answers_dir(journal_dir: &Path) -> PathBuf {
    verify_dir(journal_dir).join("answers")
}

/// A request for full checksums (`<journal>/verify/requests/<id>.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChecksumRequest {
    /// The files, absolute.
    pub files: Vec<PathBuf>,
    /// The process to journal them under (default: the session's).
    #[serde(default)]
    pub process: Option<String>,
}

/// One file's checksum as appended, or why it was not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChecksumTicket {
    /// The file, as journaled (absolute).
    pub path: String,
    /// The seq of its `Checksum` entry.
    pub seq: Option<u64>,
    /// Why there is none.
    pub error: Option<String>,
}

/// The answer to a [`ChecksumRequest`] (`<journal>/verify/answers/<id>.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ChecksumAnswer {
    tickets: Vec<ChecksumTicket>,
}

/// What a mirrored primary's session checks, and when.
#[derive(Debug)]
pub(crate) struct Checks {
    at_open: bool,
    at_close: bool,
    /// Full checksums this often (`check_file_interval` minutes).
    interval: Option<Duration>,
    layouts_dir: PathBuf,
    journal_dir: PathBuf,
    /// When the mailbox is next looked at.
    next_poll: Instant,
    /// Checks due when the open transaction ends.
    deferred: Vec<Deferred>,
}

/// A check due when the open transaction ends.
#[derive(Debug)]
struct Deferred {
    path: PathBuf,
    journal_path: String,
    spec: FileSpec,
    reason: ChecksumReason,
}

impl Checks {
    /// The checks of `config`: `None` unless the home is a mirrored
    /// primary (then no checksum entry is ever appended).
    pub(crate) fn from_config(config: &Config) -> Option<Checks> {
        if !is_mirrored(config) || config.global_settings.disable_drms {
            return None;
        }
        let g = &config.global_settings;
        Some(Checks {
            at_open: g.check_file_at_open,
            at_close: g.check_file_at_close,
            interval: (g.check_file_interval > 0)
                .then(|| Duration::from_secs(60 * u64::from(g.check_file_interval))),
            layouts_dir: config.extractor.layouts_dir.clone(),
            journal_dir: config.journal.dir.clone(),
            next_poll: Instant::now(),
            deferred: Vec::new(),
        })
    }

    /// Sets the interval (tests: a sub-minute interval).
    pub(crate) fn set_interval(&mut self, interval: Option<Duration>) {
        self.interval = interval;
    }
}

/// Whether `config`'s home is a mirrored primary: `[mirror]` names a
/// shared secret.
pub fn is_mirrored(config: &Config) -> bool {
    config.mirror.secret_env.is_some() || config.mirror.secret_file.is_some()
}

/// The organization code and record length the journal knows a spec by.
fn spec_codes(spec: &FileSpec) -> (FileOrganization, u32) {
    (
        spec.organization.journal(),
        u32::try_from(spec.record_len).unwrap_or(0),
    )
}

/// Appends one checksum of the file at `path`, journaled as
/// `journal_path` of `process`: the full form when `full`, else the cheap
/// one. Returns its seq.
#[allow(clippy::too_many_arguments)]
fn append_checksum(
    journal: &mut Writer,
    process: &str,
    journal_path: &str,
    path: &Path,
    reason: ChecksumReason,
    (organization, record_len): (FileOrganization, u32),
    records: Option<u64>,
    full: bool,
) -> Result<u64, CaptureError> {
    let checksum = if full {
        let file = File::open(path).map_err(io(path))?;
        let digests = digest_file(&file, |_| {}).map_err(io(path))?;
        FileChecksum::full(reason, organization, record_len, records, digests)
    } else {
        let size = std::fs::metadata(path).map_err(io(path))?.len();
        FileChecksum::cheap(reason, organization, record_len, size, records)
    };
    let body = checksum.encode()?;
    Ok(journal.append(&NewEntry {
        txn: 0,
        process,
        file: journal_path,
        effect: body.effect(),
        record: None,
    })?)
}

impl Capture {
    /// The checksum of `f` at open or close (cheap form), now or — inside
    /// a transaction — when it ends. Nothing unless mirrored and enabled.
    pub(crate) fn check_open_or_close(
        &mut self,
        f: &mut crate::CapturedFile,
        reason: ChecksumReason,
    ) -> Result<(), CaptureError> {
        let in_txn = self.in_transaction();
        let Some(checks) = &mut self.checks else {
            return Ok(());
        };
        let enabled = match reason {
            ChecksumReason::Open => checks.at_open,
            ChecksumReason::Close => checks.at_close,
            ChecksumReason::Interval | ChecksumReason::Verify => true,
        };
        let Some(journal_path) = f.journal_path.clone().filter(|_| enabled) else {
            return Ok(());
        };
        f.checked_at = Instant::now();
        if in_txn {
            checks.deferred.push(Deferred {
                path: f.file.path().to_owned(),
                journal_path,
                spec: f.file.spec().clone(),
                reason,
            });
            return Ok(());
        }
        self.prepare(f)?;
        let codes = spec_codes(f.file.spec());
        append_checksum(
            &mut self.journal,
            &self.process,
            &journal_path,
            f.file.path(),
            reason,
            codes,
            Some(f.file.len()),
            false,
        )?;
        Ok(())
    }

    /// Before an operation on `f` (outside a transaction): the interval
    /// checksum when due, and the mailbox when a second has passed.
    pub(crate) fn before_op(&mut self, f: &mut crate::CapturedFile) -> Result<(), CaptureError> {
        let Some(checks) = &self.checks else {
            return Ok(());
        };
        if self.in_transaction() {
            return Ok(());
        }
        let now = Instant::now();
        if let (Some(every), Some(journal_path)) = (checks.interval, &f.journal_path)
            && now.duration_since(f.checked_at) >= every
        {
            let journal_path = journal_path.clone();
            f.checked_at = now;
            self.prepare(f)?;
            let codes = spec_codes(f.file.spec());
            append_checksum(
                &mut self.journal,
                &self.process,
                &journal_path,
                f.file.path(),
                ChecksumReason::Interval,
                codes,
                Some(f.file.len()),
                true,
            )?;
        }
        self.poll_mailbox(now)
    }

    /// After a commit or abort: the checks deferred by the transaction,
    /// and the mailbox when due.
    pub(crate) fn after_txn(&mut self) -> Result<(), CaptureError> {
        let Some(checks) = &mut self.checks else {
            return Ok(());
        };
        for d in std::mem::take(&mut checks.deferred) {
            if !d.path.exists() {
                continue;
            }
            // The handle may be gone (closed): count what is on disk now.
            let records = RecordFile::open_read_only(&d.path, d.spec.clone())
                .ok()
                .map(|f| f.len());
            append_checksum(
                &mut self.journal,
                &self.process,
                &d.journal_path,
                &d.path,
                d.reason,
                spec_codes(&d.spec),
                records,
                false,
            )?;
        }
        self.poll_mailbox(Instant::now())
    }

    /// Serves the mailbox's requests if a second has passed since it was
    /// last looked at (and no transaction is open).
    pub(crate) fn poll_mailbox(&mut self, now: Instant) -> Result<(), CaptureError> {
        let in_txn = self.in_transaction();
        let Some(checks) = &mut self.checks else {
            return Ok(());
        };
        if now < checks.next_poll || in_txn {
            return Ok(());
        }
        checks.next_poll = now + POLL_EVERY;
        let dir = requests_dir(&checks.journal_dir);
        let answers = answers_dir(&checks.journal_dir);
        let Ok(listing) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        let mut requests: Vec<PathBuf> = listing
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        requests.sort();
        for request in requests {
            let tickets = match std::fs::read(&request)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    serde_json::from_slice::<ChecksumRequest>(&b).map_err(|e| e.to_string())
                }) {
                Ok(r) => self.checksum_files(&r.files, r.process.as_deref())?,
                Err(e) => vec![ChecksumTicket {
                    path: request.display().to_string(),
                    seq: None,
                    error: Some(format!("unreadable request: {e}")),
                }],
            };
            // Written to the OS before the answer says the seqs exist.
            self.journal.flush()?;
            let Some(name) = request.file_name() else {
                continue;
            };
            let answer = serde_json::to_vec(&ChecksumAnswer { tickets })
                .map_err(|e| invalid(&request, e.to_string()))?;
            write_atomically(&answers, &answers.join(name), &answer)?;
            let _ = std::fs::remove_file(&request);
        }
        Ok(())
    }

    /// Appends a full checksum of each file (absolute, or taken against
    /// the current directory), journaled under `process` (default: the
    /// process the Files Table selects each file for, this session's when
    /// it is one of them); returns a ticket per file, in order. A file
    /// that is missing or not critical gets a ticket with its error. Must
    /// not be called inside a transaction.
    ///
    /// Records are counted with the spec of the file's layout
    /// (`extractor_file_id` in the Files Table), if it has one.
    pub fn checksum_files(
        &mut self,
        files: &[PathBuf],
        process: Option<&str>,
    ) -> Result<Vec<ChecksumTicket>, CaptureError> {
        if self.in_transaction() {
            return Err(CaptureError::Transaction(
                "checksums cannot be taken inside a transaction",
            ));
        }
        let mut tickets = Vec::with_capacity(files.len());
        for path in files {
            let absolute = crate::capture::absolute(path)?;
            let journal_path = absolute.display().to_string();
            let ticket = |seq: Option<u64>, error: Option<String>| ChecksumTicket {
                path: journal_path.clone(),
                seq,
                error,
            };
            let Some(process) = self.checksum_process(&absolute, process) else {
                tickets.push(ticket(
                    None,
                    Some(
                        "not a critical file (no include record of the Files Table selects it)"
                            .into(),
                    ),
                ));
                continue;
            };
            if !absolute.is_file() {
                tickets.push(ticket(None, Some("no such file".into())));
                continue;
            }
            let spec = self.spec_of(&absolute);
            let (codes, records) = match &spec {
                Some(spec) => (
                    spec_codes(spec),
                    RecordFile::open_read_only(&absolute, spec.clone())
                        .ok()
                        .map(|f| f.len()),
                ),
                None => ((FileOrganization::Unknown, 0), None),
            };
            match append_checksum(
                &mut self.journal,
                &process,
                &journal_path,
                &absolute,
                ChecksumReason::Verify,
                codes,
                records,
                true,
            ) {
                Ok(seq) => tickets.push(ticket(Some(seq), None)),
                Err(e @ CaptureError::Journal(_)) => return Err(e),
                Err(e) => tickets.push(ticket(None, Some(e.to_string()))),
            }
        }
        Ok(tickets)
    }

    /// The process to journal a checksum of `path` under, if the file is
    /// critical: `wanted` if the Files Table selects it for that process;
    /// else this session's process; else the process pattern of the first
    /// include record that selects it.
    fn checksum_process(&self, path: &Path, wanted: Option<&str>) -> Option<String> {
        if self.disabled {
            return None;
        }
        if let Some(p) = wanted {
            return self.files.select(p, path).map(|_| p.to_owned());
        }
        if self.files.select(&self.process, path).is_some() {
            return Some(self.process.clone());
        }
        self.files
            .records()
            .filter(|r| r.record_type == drx_config::FileRecordType::Include)
            .find(|r| self.files.select(&r.process_name, path).is_some())
            .map(|r| r.process_name.clone())
    }

    /// The spec of `path`'s layout, when the Files Table maps it to one
    /// (in a mirrored session).
    fn spec_of(&self, path: &Path) -> Option<FileSpec> {
        let dir = &self.checks.as_ref()?.layouts_dir;
        let id = self.files.file_id_of(path)?;
        load_layout(dir, id).ok().map(FileSpec::from_layout)
    }

    /// Sets the `check_file_interval` of a mirrored session (tests).
    #[doc(hidden)]
    pub fn set_check_interval(&mut self, interval: Option<Duration>) {
        if let Some(checks) = &mut self.checks {
            checks.set_interval(interval);
        }
    }
}

fn invalid(path: &Path, message: String) -> CaptureError {
    CaptureError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
    }
}

/// Writes `bytes` to `path` (in `dir`, created) through a temporary file
/// and a rename, so that a reader sees all of it or nothing.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), CaptureError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// A request posted to the mailbox ([`PostedRequest::post`]), waiting
/// for the application that holds the journal to answer it.
#[derive(Debug)]
pub struct PostedRequest {
    request: PathBuf,
    answer: PathBuf,
}

impl PostedRequest {
    /// Posts `request` to the mailbox of the journal `journal_dir`.
    pub fn post(
        journal_dir: &Path,
        request: &ChecksumRequest,
    ) -> Result<PostedRequest, CaptureError> {
        let requests = requests_dir(journal_dir);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{nanos}-{}.json", std::process::id());
        let bytes = serde_json::to_vec(request).map_err(|e| invalid(&requests, e.to_string()))?;
        let posted = PostedRequest {
            request: requests.join(&name),
            answer: answers_dir(journal_dir).join(&name),
        };
        write_atomically(&requests, &posted.request, &bytes)?;
        Ok(posted)
    }

    /// The answer, once the application has written it (it is then
    /// removed from the mailbox).
    pub fn answer(&self) -> Result<Option<Vec<ChecksumTicket>>, CaptureError> {
        match std::fs::read(&self.answer) {
            Ok(bytes) => {
                let _ = std::fs::remove_file(&self.answer);
                let answer: ChecksumAnswer = serde_json::from_slice(&bytes)
                    .map_err(|e| invalid(&self.answer, e.to_string()))?;
                Ok(Some(answer.tickets))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&self.answer)(e)),
        }
    }

    /// Takes the request back: true if it was still in the mailbox. Only
    /// the session holding the journal serves the mailbox, so a caller
    /// that holds the journal itself knows that nobody is serving it.
    pub fn withdraw(&self) -> bool {
        std::fs::remove_file(&self.request).is_ok()
    }
}

/// Asks the application that holds the journal of `journal_dir` for full
/// checksums through the mailbox, and waits up to `timeout` for its answer
/// (it serves the mailbox at its next operation). `None` when no answer
/// came in time (the request is withdrawn; one taken meanwhile gets as
/// long again).
pub fn request_checksums(
    journal_dir: &Path,
    request: &ChecksumRequest,
    timeout: Duration,
) -> Result<Option<Vec<ChecksumTicket>>, CaptureError> {
    let posted = PostedRequest::post(journal_dir, request)?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(tickets) = posted.answer()? {
            return Ok(Some(tickets));
        }
        let now = Instant::now();
        if now >= deadline && (posted.withdraw() || now >= deadline + timeout) {
            return Ok(None);
        }
        std::thread::sleep(ANSWER_POLL);
    }
}
