//! `drx sync FILES` and `drx refresh` (docs/DR.md, "Delta resync"): on
//! the primary host, bring the standby's replica of each file to the
//! primary's content without copying it whole, while mirroring goes on.
//!
//! A transfer session connects to the standby's listening address
//! (`[mirror] peer`, else `tcp_host:tcp_port`, with the link's TLS) as role
//! *transfer* (docs/PROTOCOL.md). For each file:
//!
//! 1. it asks for the replica's block digests (`SumsRequest`) and hashes
//!    its own file meanwhile (blake3, 16 bytes per block; the block size
//!    follows the file's size: [`block_size_for_sync`]);
//! 2. it sends the blocks whose digests differ (all of them when the
//!    standby has no replica), and then `BlocksEnd` with the file's
//!    length and `from_seq`, the primary journal's last seq read *before*
//!    the blocks were read. That read is taken when the journal shows no
//!    transaction open before it and none begun during it (an aborted
//!    transaction is undone without a journal entry), and taken again
//!    otherwise, for at most [`SyncOptions::settle`];
//! 3. the standby writes the blocks in order with the stream, cuts the
//!    replica to the length, replays its own journal's entries of the file
//!    after `from_seq`, fsyncs, and answers `Synced`.
//!
//! A sync cut short (the process killed) leaves a replica that differs in
//! places: run it again, it compares again and sends only what differs.

use crate::error::LinkError;
use crate::link::{self, FrameReader, WriteHalf};
use crate::protocol::{
    BlockSum, Blocks, BlocksEnd, MAX_BLOCKS_DATA, MAX_SUMS, Message, Reason, SUM_LEN, Sums,
    SumsRequest, Synced, block_count,
};
use crate::repair_server::OpenTransactions;
use crate::settings::PrimarySettings;
use drx_config::{Config, FileRecordType};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// About this many blocks per file (rsync's sqrt rule would give 32 KiB
/// blocks for 1 GiB; 16,384 keeps the digests at 256 KiB whatever the
/// size).
pub const TARGET_BLOCKS: u64 = 16_384;
/// The smallest block chosen by [`block_size_for_sync`].
pub const MIN_SYNC_BLOCK: u32 = 4 * 1024;
/// The largest block chosen by [`block_size_for_sync`].
pub const MAX_SYNC_BLOCK: u32 = 64 * 1024 * 1024;
/// How long a file's read waits for a moment without an open transaction
/// on the primary, by default.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(10);
/// Bytes read at a time while hashing: small enough that a read's copy is
/// still in the core's cache when it is hashed (8 MiB reads measured 15 %
/// slower on 1 GiB; docs/PERFORMANCE.md, "Delta resync").
const READ_CHUNK: usize = 256 * 1024;

/// The block size of a file of `len` bytes: a power of two near
/// `len / 16,384`, from 4 KiB to 64 MiB (1 GiB: 64 KiB blocks, 16,384 of
/// them).
pub fn block_size_for_sync(len: u64) -> u32 {
    let target = len.div_ceil(TARGET_BLOCKS).max(u64::from(MIN_SYNC_BLOCK));
    let size = target
        .checked_next_power_of_two()
        .unwrap_or(u64::from(MAX_SYNC_BLOCK));
    u32::try_from(size.min(u64::from(MAX_SYNC_BLOCK))).unwrap_or(MAX_SYNC_BLOCK)
}

/// The first 16 bytes of `block`'s blake3 hash.
fn block_sum(block: &[u8]) -> BlockSum {
    let mut sum = [0; SUM_LEN];
    sum.copy_from_slice(&blake3::hash(block).as_bytes()[..SUM_LEN]);
    sum
}

/// The first 16 bytes of the hash of what `hasher` was given.
fn hasher_sum(hasher: &blake3::Hasher) -> BlockSum {
    let mut sum = [0; SUM_LEN];
    sum.copy_from_slice(&hasher.finalize().as_bytes()[..SUM_LEN]);
    sum
}

/// The length and block digests of the file at `path` (`None`: no such
/// file); `progress` is told the bytes hashed as it goes.
pub(crate) fn file_sums(
    path: &Path,
    block_size: u32,
    progress: &dyn Fn(u64),
) -> io::Result<Option<(u64, Vec<BlockSum>)>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let block = block_size as usize;
    let count = block_count(len, block_size).ok_or_else(|| {
        io::Error::other(format!(
            "{len} bytes make more than {MAX_SUMS} blocks of {block_size}"
        ))
    })?;
    let mut sums = Vec::with_capacity(count);
    let mut buf = vec![0; READ_CHUNK];
    // A block bigger than a read is hashed across reads.
    let mut hasher = blake3::Hasher::new();
    let mut in_block = 0;
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left).map_or(READ_CHUNK, |l| l.min(READ_CHUNK));
        let mut got = 0;
        while got < want {
            match file.read(&mut buf[got..want]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if got == 0 {
            // Cut while being read: the blocks past here are missing.
            break;
        }
        let mut rest = &buf[..got];
        while !rest.is_empty() {
            if in_block == 0 && rest.len() >= block {
                sums.push(block_sum(&rest[..block]));
                rest = &rest[block..];
                continue;
            }
            let take = (block - in_block).min(rest.len());
            hasher.update(&rest[..take]);
            in_block += take;
            rest = &rest[take..];
            if in_block == block {
                sums.push(hasher_sum(&hasher));
                hasher.reset();
                in_block = 0;
            }
        }
        left -= got as u64;
        progress(got as u64);
        if got < want {
            break;
        }
    }
    if in_block > 0 {
        sums.push(hasher_sum(&hasher));
    }
    Ok(Some((len, sums)))
}

/// What a sync shows while it works (a progress bar on a terminal).
pub trait SyncProgress: Send + Sync {
    /// A new phase of `file`: `what` is "comparing" or "sending", over
    /// `total` bytes.
    fn phase(&self, file: &str, what: &str, total: u64);
    /// `bytes` more of the phase are done.
    fn advance(&self, bytes: u64);
    /// The phase is over.
    fn done(&self);
}

/// How [`sync`] works.
#[derive(Clone)]
pub struct SyncOptions {
    /// The block size (`None`: [`block_size_for_sync`] of each file).
    pub block_size: Option<u32>,
    /// How long a file's read may wait for a moment without an open
    /// transaction on the primary.
    pub settle: Duration,
    /// Told how the work goes.
    pub progress: Option<Arc<dyn SyncProgress>>,
    /// A pause after each `Blocks` sent (tests: to interrupt a sync
    /// mid-way).
    pub pace: Duration,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            block_size: None,
            settle: DEFAULT_SETTLE,
            progress: None,
            pace: Duration::ZERO,
        }
    }
}

impl fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncOptions")
            .field("block_size", &self.block_size)
            .field("settle", &self.settle)
            .field("pace", &self.pace)
            .finish_non_exhaustive()
    }
}

/// What the sync of one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSynced {
    /// The file, as the journal names it.
    pub file: String,
    /// Its length on the primary when it was hashed.
    pub len: u64,
    /// The replica's length before (`None`: the standby had none).
    pub replica_len: Option<u64>,
    /// The block size.
    pub block_size: u32,
    /// Blocks of the primary's file.
    pub blocks: u64,
    /// Blocks that differed (or that only one side had), sent.
    pub differing: u64,
    /// Bytes of file data sent (the last time, if the read was taken
    /// again).
    pub bytes_sent: u64,
    /// The standby journal's entries replayed over the blocks.
    pub replayed: u64,
    /// How long the file took, in milliseconds.
    pub took_ms: u128,
    /// `Some`: the replica was not brought to the primary's content (why).
    pub failed: Option<String>,
}

/// Bytes for a person: `10.4 MB`, `1.07 GB` (powers of 1000).
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1e3 {
        format!("{n} B")
    } else if n < 1e6 {
        format!("{:.1} kB", n / 1e3)
    } else if n < 1e9 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.2} GB", n / 1e9)
    }
}

impl fmt::Display for FileSynced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.failed {
            return write!(f, "{}: NOT synced: {why}", self.file);
        }
        match self.replica_len {
            None => write!(
                f,
                "{}: full copy: the standby has no replica; {} blocks of {}, {} sent",
                self.file,
                self.blocks,
                human_bytes(u64::from(self.block_size)),
                human_bytes(self.bytes_sent)
            )?,
            Some(_) => {
                let pct = if self.blocks == 0 {
                    0.0
                } else {
                    self.differing as f64 * 100.0 / self.blocks as f64
                };
                write!(
                    f,
                    "{}: delta: {} of {} blocks ({pct:.1} %) differ, {} sent instead of {}",
                    self.file,
                    self.differing,
                    self.blocks,
                    human_bytes(self.bytes_sent),
                    human_bytes(self.len)
                )?;
            }
        }
        write!(
            f,
            "; {} entries replayed on the standby; took {:.2} s",
            self.replayed,
            self.took_ms as f64 / 1000.0
        )
    }
}

/// What a sync (or a refresh) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The standby's node id.
    pub peer: String,
    /// Each file, in the order asked.
    pub files: Vec<FileSynced>,
    /// How long it all took, in milliseconds.
    pub took_ms: u128,
}

impl SyncReport {
    /// Files not brought to the primary's content.
    pub fn failures(&self) -> usize {
        self.files.iter().filter(|f| f.failed.is_some()).count()
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in &self.files {
            writeln!(f, "{file}")?;
        }
        let sent: u64 = self.files.iter().map(|f| f.bytes_sent).sum();
        let len: u64 = self.files.iter().map(|f| f.len).sum();
        write!(
            f,
            "{} file(s) synced to {} ({} failed): {} sent for {}; took {:.2} s",
            self.files.len() - self.failures(),
            self.peer,
            self.failures(),
            human_bytes(sent),
            human_bytes(len),
            self.took_ms as f64 / 1000.0
        )
    }
}

/// A file to sync: its path here, its journal name and a process the
/// Files Table selects it for.
#[derive(Debug, Clone)]
struct Target {
    path: PathBuf,
    name: String,
    process: String,
}

fn target(config: &Config, file: &Path) -> Result<Target, LinkError> {
    let cwd = std::env::current_dir().map_err(LinkError::io("the current directory"))?;
    let path = drx_config::absolute(&cwd, file);
    let process = config
        .files
        .records()
        .filter(|r| r.record_type == FileRecordType::Include)
        .find(|r| config.files.select(&r.process_name, &path).is_some())
        .map(|r| r.process_name.clone())
        .ok_or_else(|| {
            LinkError::Config(format!(
                "{}: not a critical file (no include record of the Files Table selects it)",
                path.display()
            ))
        })?;
    if !path.is_file() {
        return Err(LinkError::Config(format!(
            "{}: no such file on the primary",
            path.display()
        )));
    }
    Ok(Target {
        name: path.display().to_string(),
        path,
        process,
    })
}

/// `drx refresh`: [`sync`] of every critical file that exists
/// (`Config::existing_critical_files`), while mirroring continues.
pub async fn refresh(config: &Config, options: &SyncOptions) -> Result<SyncReport, LinkError> {
    sync(config, &config.existing_critical_files(), options).await
}

/// `drx sync FILES`: brings the standby's replica of each file to this
/// primary's content, sending only the blocks that differ.
pub async fn sync(
    config: &Config,
    files: &[PathBuf],
    options: &SyncOptions,
) -> Result<SyncReport, LinkError> {
    let started = Instant::now();
    let targets = files
        .iter()
        .map(|f| target(config, f))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = PrimarySettings::from_config(config)?;
    let journal = settings.journal_dir.clone();
    let txns = blocking(move || Ok(OpenTransactions::new(&journal)?)).await?;
    let txns = Arc::new(Mutex::new(txns));
    let (mut reader, mut write, theirs) = crate::session::open_transfer(&settings).await?;
    let mut report = SyncReport {
        peer: theirs.node_id.clone(),
        files: Vec::new(),
        took_ms: 0,
    };
    for target in targets {
        let synced = sync_file(&mut reader, &mut write, &target, options, &txns).await?;
        tracing::info!("{synced}");
        report.files.push(synced);
    }
    let peer = reader.peer();
    let bye = Message::Goodbye {
        reason: Reason::Shutdown,
        text: "synced".into(),
    };
    let _ = link::write_message(&mut write, peer, &bye).await;
    report.took_ms = started.elapsed().as_millis();
    Ok(report)
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, LinkError> + Send + 'static,
) -> Result<T, LinkError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| LinkError::Stopped(format!("sync: {e}")))?
}

/// The standby's answers in a transfer session.
enum Answer {
    Sums(Sums),
    Synced(Synced),
}

async fn answer(reader: &mut FrameReader) -> Result<Answer, LinkError> {
    let Some(frame) = reader.next_frame().await? else {
        return Err(LinkError::Closed);
    };
    match Message::decode(&frame)? {
        Some((Message::Sums(s), _)) => Ok(Answer::Sums(s)),
        Some((Message::Synced(s), _)) => Ok(Answer::Synced(s)),
        Some((Message::Goodbye { reason, text }, _)) => Err(LinkError::Goodbye { reason, text }),
        Some((Message::Refused { reason, text }, _)) => Err(LinkError::Refused { reason, text }),
        Some((Message::Heartbeat { .. }, _)) => Box::pin(answer(reader)).await,
        Some((other, _)) => Err(LinkError::Ended {
            reason: Reason::ProtocolViolation,
            text: format!("unexpected {} in a transfer session", other.kind()),
        }),
        None => Err(LinkError::Closed),
    }
}

/// What the reading thread hands the session.
enum Out {
    Blocks {
        offset: u64,
        data: Vec<u8>,
    },
    /// All sent, read when no transaction was under way.
    End {
        len: u64,
        from_seq: u64,
        sent: u64,
    },
    /// The read is taken again (a transaction was under way).
    Again,
    Failed(String),
}

/// The byte ranges to send: the differing blocks (runs of them merged)
/// and everything past the compared length, within `len`.
fn ranges(differ: &[bool], block_size: u32, compared: u64, len: u64) -> Vec<(u64, u64)> {
    let block = u64::from(block_size);
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut push = |start: u64, end: u64| {
        let end = end.min(len);
        if start >= end {
            return;
        }
        match out.last_mut() {
            Some((s, l)) if *s + *l == start => *l += end - start,
            _ => out.push((start, end - start)),
        }
    };
    for (i, &d) in differ.iter().enumerate() {
        if d {
            let start = i as u64 * block;
            push(start, start + block);
        }
    }
    // Past the blocks compared (the file grew since it was hashed).
    let tail = compared.div_ceil(block) * block;
    push(tail.min(compared), len);
    out
}

/// What the reading thread reads.
struct ReadJob {
    path: PathBuf,
    /// Per block compared: whether it differs.
    differ: Vec<bool>,
    block_size: u32,
    /// The length compared.
    compared: u64,
    txns: Arc<Mutex<OpenTransactions>>,
    settle: Duration,
}

/// The reading thread: takes the read when the journal shows no
/// transaction under way, sends the ranges, and `End`.
fn read_ranges(job: &ReadJob, tx: &mpsc::Sender<Out>) {
    let ReadJob {
        path,
        differ,
        block_size,
        compared,
        txns,
        settle,
    } = job;
    let (block_size, compared, settle) = (*block_size, *compared, *settle);
    let fail = |text: String| {
        let _ = tx.blocking_send(Out::Failed(text));
    };
    let Ok(mut txns) = txns.lock() else {
        return fail("the journal's transactions are not readable".into());
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let deadline = Instant::now() + settle;
    loop {
        if let Err(e) = txns.catch_up() {
            return fail(e.to_string());
        }
        if txns.quiet() {
            txns.begun_since();
            let from_seq = txns.last_seq();
            let len = match file.metadata() {
                Ok(m) => m.len(),
                Err(e) => return fail(format!("{}: {e}", path.display())),
            };
            let mut sent = 0u64;
            for (start, length) in ranges(differ, block_size, compared, len) {
                let mut at = start;
                while at < start + length {
                    let n = usize::try_from(start + length - at)
                        .map_or(MAX_BLOCKS_DATA, |n| n.min(MAX_BLOCKS_DATA));
                    let mut data = vec![0; n];
                    match read_at(&file, &mut data, at) {
                        Ok(got) => data.truncate(got),
                        Err(e) => return fail(format!("{}: {e}", path.display())),
                    }
                    if data.is_empty() {
                        break;
                    }
                    let got = data.len() as u64;
                    if tx.blocking_send(Out::Blocks { offset: at, data }).is_err() {
                        return;
                    }
                    sent += got;
                    at += got;
                }
            }
            if let Err(e) = txns.catch_up() {
                return fail(e.to_string());
            }
            if !txns.begun_since() && txns.quiet() {
                let _ = tx.blocking_send(Out::End {
                    len,
                    from_seq,
                    sent,
                });
                return;
            }
            if tx.blocking_send(Out::Again).is_err() {
                return;
            }
        }
        if Instant::now() >= deadline {
            return fail(format!(
                "no moment without an open transaction on the primary within {settle:?}; run the sync again"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads up to `buf.len()` bytes at `offset` (fewer at the end of file).
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

async fn sync_file(
    reader: &mut FrameReader,
    write: &mut WriteHalf,
    target: &Target,
    options: &SyncOptions,
    txns: &Arc<Mutex<OpenTransactions>>,
) -> Result<FileSynced, LinkError> {
    let started = Instant::now();
    let peer = reader.peer();
    let len_now = std::fs::metadata(&target.path)
        .map_err(LinkError::io(format!("{}", target.path.display())))?
        .len();
    let block_size = options
        .block_size
        .unwrap_or_else(|| block_size_for_sync(len_now));
    if block_count(len_now, block_size).is_none() {
        return Err(LinkError::Config(format!(
            "{}: {len_now} bytes make more than {MAX_SUMS} blocks of {block_size}; choose a larger --block-size",
            target.name
        )));
    }
    let progress = options.progress.clone();
    if let Some(p) = &progress {
        p.phase(&target.name, "comparing", len_now);
    }
    // Both sides hash at once.
    let path = target.path.clone();
    let hashing = {
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || {
            let advance = |n: u64| {
                if let Some(p) = &progress {
                    p.advance(n);
                }
            };
            file_sums(&path, block_size, &advance)
        })
    };
    let request = Message::SumsRequest(SumsRequest {
        process: target.process.clone(),
        file: target.name.clone(),
        block_size,
    });
    link::write_message(write, peer, &request).await?;
    let theirs = match answer(reader).await? {
        Answer::Sums(s) if s.file == target.name && s.block_size == block_size => s,
        _ => {
            return Err(LinkError::Ended {
                reason: Reason::ProtocolViolation,
                text: format!("expected the Sums of {}", target.name),
            });
        }
    };
    let ours = hashing
        .await
        .map_err(|e| LinkError::Stopped(format!("hashing: {e}")))?
        .map_err(LinkError::io(format!("hashing {}", target.path.display())))?;
    if let Some(p) = &progress {
        p.done();
    }
    let Some((len, sums)) = ours else {
        return Err(LinkError::Config(format!(
            "{}: no such file on the primary",
            target.path.display()
        )));
    };
    let differ: Vec<bool> = sums
        .iter()
        .enumerate()
        .map(|(i, s)| theirs.len.is_none() || theirs.sums.get(i) != Some(s))
        .collect();
    let differing = differ.iter().filter(|&&d| d).count() as u64;
    let want = ranges(&differ, block_size, len, len);
    let to_send: u64 = want.iter().map(|(_, l)| l).sum();
    if let Some(p) = &progress {
        p.phase(&target.name, "sending", to_send);
    }
    // The reading thread reads and hands over the blocks; this task sends
    // them.
    let (tx, mut rx) = mpsc::channel(8);
    let job = ReadJob {
        path: target.path.clone(),
        differ,
        block_size,
        compared: len,
        txns: Arc::clone(txns),
        settle: options.settle,
    };
    let thread = std::thread::Builder::new()
        .name("drx-sync-read".into())
        .spawn(move || read_ranges(&job, &tx))
        .map_err(LinkError::io("starting the sync's reading thread"))?;
    let mut failed = None;
    let mut sent = 0;
    while let Some(out) = rx.recv().await {
        match out {
            Out::Blocks { offset, data } => {
                let n = data.len() as u64;
                let blocks = Message::Blocks(Blocks {
                    process: target.process.clone(),
                    file: target.name.clone(),
                    offset,
                    data,
                });
                link::write_message(write, peer, &blocks).await?;
                if let Some(p) = &progress {
                    p.advance(n);
                }
                if !options.pace.is_zero() {
                    tokio::time::sleep(options.pace).await;
                }
            }
            Out::Again => {
                tracing::info!(file = %target.name, "a transaction was under way during the read: reading again");
            }
            Out::Failed(text) => failed = Some(text),
            Out::End {
                len,
                from_seq,
                sent: bytes,
            } => {
                sent = bytes;
                let end = Message::BlocksEnd(BlocksEnd {
                    process: target.process.clone(),
                    file: target.name.clone(),
                    len,
                    from_seq,
                });
                link::write_message(write, peer, &end).await?;
            }
        }
    }
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    if let Some(p) = &progress {
        p.done();
    }
    let mut synced = FileSynced {
        file: target.name.clone(),
        len,
        replica_len: theirs.len,
        block_size,
        blocks: sums.len() as u64,
        differing,
        bytes_sent: sent,
        replayed: 0,
        took_ms: 0,
        failed,
    };
    if synced.failed.is_none() {
        match answer(reader).await? {
            Answer::Synced(s) if s.file == target.name => {
                synced.replayed = s.replayed;
                synced.failed = s.failed;
            }
            _ => {
                return Err(LinkError::Ended {
                    reason: Reason::ProtocolViolation,
                    text: format!("expected Synced for {}", target.name),
                });
            }
        }
    }
    synced.took_ms = started.elapsed().as_millis();
    Ok(synced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// The digests computed block by block from the whole file in memory.
    fn expected(data: &[u8], block_size: u32) -> Vec<BlockSum> {
        data.chunks(block_size as usize).map(block_sum).collect()
    }

    #[test]
    fn digests_match_whole_block_hashes_whatever_the_block_and_read_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // Three reads and a ragged tail.
        let len = 3 * READ_CHUNK + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let read_chunk = READ_CHUNK as u32;
        for block_size in [
            4096,
            read_chunk / 2,
            read_chunk,
            read_chunk + 4096,
            2 * read_chunk,
            8 * read_chunk,
        ] {
            let told = Cell::new(0u64);
            let (got_len, sums) = file_sums(&path, block_size, &|n| told.set(told.get() + n))
                .unwrap()
                .unwrap();
            assert_eq!(got_len, len as u64);
            assert_eq!(told.get(), len as u64, "block size {block_size}");
            assert_eq!(sums, expected(&data, block_size), "block size {block_size}");
        }
    }

    #[test]
    fn an_empty_file_has_no_blocks_and_a_missing_one_no_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(
            file_sums(&path, 4096, &|_| {}).unwrap(),
            Some((0, Vec::new()))
        );
        assert_eq!(
            file_sums(&dir.path().join("none"), 4096, &|_| {}).unwrap(),
            None
        );
    }

    #[test]
    fn block_sizes_follow_the_file_size() {
        assert_eq!(block_size_for_sync(0), MIN_SYNC_BLOCK);
        assert_eq!(block_size_for_sync(10 << 20), MIN_SYNC_BLOCK);
        assert_eq!(block_size_for_sync(1 << 30), 64 * 1024);
        assert_eq!(block_size_for_sync((1 << 30) + 1), 128 * 1024);
        assert_eq!(block_size_for_sync(u64::MAX), MAX_SYNC_BLOCK);
    }
}
