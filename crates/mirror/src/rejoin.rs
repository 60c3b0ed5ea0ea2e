//! `drx rejoin` (failback, docs/DR.md): a former primary becomes the
//! standby of the node promoted in its place.
//!
//! 1. It connects to the promoted node (`[mirror] peer`, where its primary
//!    server used to connect; the promoted node's standby server fences
//!    there), as a standby, and learns its epoch history.
//! 2. The two histories share every entry up to some seq; the entries this
//!    node appended after it were never received there. They are written
//!    to a report (`<home>/rejoin/rolled-back-<from>-<to>.jsonl`), never
//!    dropped silently.
//! 3. Every file the journal names is brought to the promoted node's
//!    current bytes — the blocks whose digests differ from its copy's
//!    (`SumsRequest` → `Sums` first), or all of it —: not only the ranges the
//!    diverged entries (and the transactions open at the shared seq, which
//!    the promotion aborted) wrote, because an application killed between
//!    an operation's file I/O and its entry leaves bytes no entry
//!    describes. (The promoted node's entries from the shared seq on are
//!    then replayed over them, which gives its files exactly: every effect
//!    sets bytes.)
//! 4. The journal is cut back to the shared seq, the replica state starts
//!    over there, and the role becomes standby.
//!
//! The steps after the report are recorded in `<journal>/rejoin/state`
//! before they begin: a rejoin cut short is finished by running it again
//! (`tests/dr_crash.rs` crashes it after each step, `crash_point.rs`).

use crate::crash_point::{
    REJOIN_PLAN, REJOIN_REPAIR, REJOIN_REPLICA, REJOIN_REPORT, REJOIN_ROLE, REJOIN_TRUNCATE,
    crash_point,
};
use crate::delta_sync::{block_size_for_sync, file_sums};
use crate::error::LinkError;
use crate::link::{self, FrameReader};
use crate::protocol::{Message, Reason, RepairRequest, RepairWant, Role, SumsRequest, TO_THE_END};
use crate::replica::Replica;
use crate::settings::{PrimarySettings, StandbySettings};
use drx_config::Config;
use drx_journal::{Effect, EntryRef, NodeRole, Reader, Writer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A file keeps at most this many ranges; more are asked for whole.
const MAX_RANGES: usize = 1024;

/// What a rejoin did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejoined {
    /// The promoted node.
    pub peer: String,
    /// Its epoch.
    pub peer_epoch: u64,
    /// The last seq both journals share.
    pub shared: u64,
    /// This node's entries after it: rolled back.
    pub rolled_back: u64,
    /// Where they were written.
    pub report: Option<PathBuf>,
    /// Files whose ranges were overwritten with the promoted node's bytes.
    pub repaired_files: usize,
    /// Bytes received.
    pub repaired_bytes: u64,
    /// How long it took, in milliseconds.
    pub took_ms: u128,
}

impl fmt::Display for Rejoined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rejoined {} (epoch {}) as its standby: the journals share seqs 1 to {}; ",
            self.peer, self.peer_epoch, self.shared
        )?;
        match &self.report {
            Some(report) => write!(
                f,
                "{} entries of this node after them were rolled back, listed in {}",
                self.rolled_back,
                report.display()
            )?,
            None => write!(f, "nothing to roll back")?,
        }
        write!(
            f,
            "; {} file(s) repaired from {} ({} bytes); took {} ms. Start this node's standby server, then {}'s primary server.",
            self.repaired_files, self.peer, self.repaired_bytes, self.took_ms, self.peer
        )
    }
}

/// The plan of a rejoin, recorded before the journal is touched.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Plan {
    shared: u64,
    rolled_back: u64,
    report: Option<PathBuf>,
    wants: Vec<Want>,
}

/// The ranges of one file to ask for (a [`RepairWant`] that can be saved).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Want {
    process: String,
    file: String,
    /// `(offset, length)`; a length of [`TO_THE_END`] to the end.
    ranges: Vec<(u64, u64)>,
}

fn state_path(journal: &Path) -> PathBuf {
    journal.join("rejoin").join("state")
}

/// Makes this node (a former primary, typically fenced off) the standby of
/// the promoted node at `[mirror] peer`.
pub async fn rejoin(config: &Config) -> Result<Rejoined, LinkError> {
    let started = Instant::now();
    let primary = PrimarySettings::from_config(config)?;
    let standby = StandbySettings::from_config(config)?;
    let journal = config.journal.dir.clone();
    let dir = journal.clone();
    let (role, unfinished) = blocking(move || {
        let role = drx_journal::node_role(&dir)?;
        let unfinished = read_plan(&dir)?;
        Ok((role, unfinished))
    })
    .await?;
    if role == Some(NodeRole::Standby) && unfinished.is_none() {
        return Err(LinkError::Config(
            "this node is already a standby: nothing to rejoin".into(),
        ));
    }
    // No application, no server: the journal is ours while we look at it.
    let dir = journal.clone();
    let config_journal = standby.journal.clone();
    let (epoch, last, history) = blocking(move || {
        let writer = Writer::open(config_journal)?;
        let found = (
            writer.epoch(),
            writer.last_seq(),
            drx_journal::epoch_history(&dir)?,
        );
        writer.close()?;
        Ok(found)
    })
    .await?;
    let (mut reader, mut write, theirs) = crate::session::open(
        &primary,
        Role::Standby,
        Role::Primary,
        epoch,
        last,
        crate::primary::newest(history.clone()),
    )
    .await?;
    let plan = match unfinished {
        Some(plan) => plan,
        None => {
            let shared =
                drx_journal::shared_history(&history, last, &theirs.history, theirs.last_seq);
            let home = config.home.clone();
            let dir = journal.clone();
            let plan = blocking(move || make_plan(&dir, &home, shared, last)).await?;
            crash_point(REJOIN_PLAN);
            plan
        }
    };
    let peer = reader.peer();
    // Both proven: the answers may come in frames of any size.
    reader.streaming();
    let mut request = RepairRequest::default();
    for want in &plan.wants {
        let whole = want.ranges == [(0, TO_THE_END)];
        let ranges = if whole {
            differing_blocks(&mut reader, &mut write, want).await?
        } else {
            want.ranges.clone()
        };
        request.files.push(RepairWant {
            process: want.process.clone(),
            file: want.file.clone(),
            ranges,
        });
    }
    link::write_message(&mut write, peer, &Message::RepairRequest(request)).await?;
    let (repaired_files, repaired_bytes) = receive_repairs(&mut reader).await?;
    crash_point(REJOIN_REPAIR);
    link::write_message(
        &mut write,
        peer,
        &Message::Goodbye {
            reason: Reason::Shutdown,
            text: "repaired".into(),
        },
    )
    .await?;
    let dir = journal.clone();
    let replica = standby.replica.clone();
    let shared = plan.shared;
    blocking(move || {
        drx_journal::truncate_after(&dir, shared)?;
        crash_point(REJOIN_TRUNCATE);
        Replica::start_over_at(&replica, shared)?;
        crash_point(REJOIN_REPLICA);
        drx_journal::set_node_role(&dir, &NodeRole::Standby)?;
        crash_point(REJOIN_ROLE);
        let state = state_path(&dir);
        match fs::remove_file(&state) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LinkError::io(format!("removing {}", state.display()))(e)),
        }
    })
    .await?;
    let rejoined = Rejoined {
        peer: theirs.node_id.clone(),
        peer_epoch: theirs.epoch,
        shared: plan.shared,
        rolled_back: plan.rolled_back,
        report: plan.report.clone(),
        repaired_files,
        repaired_bytes,
        took_ms: started.elapsed().as_millis(),
    };
    tracing::warn!("{rejoined}");
    Ok(rejoined)
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, LinkError> + Send + 'static,
) -> Result<T, LinkError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| LinkError::Stopped(format!("rejoin: {e}")))?
}

/// The ranges of a file wanted whole that differ from the promoted
/// node's copy: its block digests (`SumsRequest` → `Sums`) against this
/// copy's, in the block size it answers with. The whole file when this
/// node has no copy, the promoted node has none, or too many ranges differ.
async fn differing_blocks(
    reader: &mut FrameReader,
    write: &mut crate::link::WriteHalf,
    want: &Want,
) -> Result<Vec<(u64, u64)>, LinkError> {
    let whole = vec![(0, TO_THE_END)];
    let path = PathBuf::from(&want.file);
    let ours_len = match fs::metadata(&path) {
        Ok(meta) if meta.len() > 0 => meta.len(),
        _ => return Ok(whole),
    };
    let asked = SumsRequest {
        process: want.process.clone(),
        file: want.file.clone(),
        block_size: block_size_for_sync(ours_len),
    };
    link::write_message(write, reader.peer(), &Message::SumsRequest(asked)).await?;
    let theirs = match reader.next_handshake_message().await? {
        Message::Sums(sums) if sums.file == want.file => sums,
        other => {
            return Err(LinkError::Stopped(format!(
                "expected the Sums of {}, got {}",
                want.file,
                other.kind()
            )));
        }
    };
    let Some(theirs_len) = theirs.len else {
        return Ok(whole);
    };
    let block_size = theirs.block_size;
    let hashed = path.clone();
    let Some((ours_len, ours)) = blocking(move || {
        file_sums(&hashed, block_size, &|_| {})
            .map_err(LinkError::io(format!("hashing {}", hashed.display())))
    })
    .await?
    else {
        return Ok(whole);
    };
    let size = u64::from(block_size);
    let common = ours_len.min(theirs_len);
    // Blocks whole on both sides, and a last short one when the lengths
    // agree; past them, everything when they do not.
    let mut compared = usize::try_from(common / size).unwrap_or(usize::MAX);
    if ours_len == theirs_len && common % size != 0 {
        compared += 1;
    }
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for (i, (a, b)) in ours.iter().zip(&theirs.sums).take(compared).enumerate() {
        if a == b {
            continue;
        }
        let at = i as u64 * size;
        match ranges.last_mut() {
            Some((start, len)) if *start + *len == at => *len += size,
            _ => ranges.push((at, size)),
        }
    }
    if ours_len != theirs_len {
        ranges.push((compared as u64 * size, TO_THE_END));
    }
    if ranges.len() > MAX_RANGES {
        return Ok(whole);
    }
    tracing::info!(
        file = %want.file,
        block_size,
        differing = ranges.len(),
        "rejoin: block digests compared"
    );
    Ok(ranges)
}

/// Writes every `Repair` received to this node's files, until the last;
/// returns the files and bytes repaired.
async fn receive_repairs(reader: &mut FrameReader) -> Result<(usize, u64), LinkError> {
    let mut files: BTreeMap<String, File> = BTreeMap::new();
    let mut bytes = 0u64;
    loop {
        let repair = match reader.next_handshake_message().await? {
            Message::Repair(r) => r,
            other => {
                return Err(LinkError::Stopped(format!(
                    "expected Repair, got {}",
                    other.kind()
                )));
            }
        };
        if repair.last {
            break;
        }
        bytes += repair.data.len() as u64;
        let path = PathBuf::from(&repair.file);
        let io_err = |what: &str| LinkError::io(format!("{what} {}", path.display()));
        match repair.len {
            None => {
                files.remove(&repair.file);
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("removing")(e)),
                }
            }
            Some(len) => {
                if !files.contains_key(&repair.file) {
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent).map_err(io_err("creating the directory of"))?;
                    }
                    let file = OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .read(true)
                        .write(true)
                        .open(&path)
                        .map_err(io_err("opening"))?;
                    file.set_len(len).map_err(io_err("setting the length of"))?;
                    files.insert(repair.file.clone(), file);
                }
                if let Some(file) = files.get_mut(&repair.file)
                    && !repair.data.is_empty()
                {
                    file.seek(SeekFrom::Start(repair.offset))
                        .and_then(|_| file.write_all(&repair.data))
                        .map_err(io_err("writing"))?;
                }
            }
        }
    }
    let repaired = files.len();
    for (name, file) in files {
        file.sync_all()
            .map_err(LinkError::io(format!("syncing {name}")))?;
    }
    Ok((repaired, bytes))
}

fn read_plan(journal: &Path) -> Result<Option<Plan>, LinkError> {
    let path = state_path(journal);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| LinkError::Config(format!("{}: not a rejoin plan: {e}", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LinkError::io(format!("reading {}", path.display()))(e)),
    }
}

/// Reports this node's entries after `shared`, finds what they (and the
/// transactions open at `shared`) wrote, and records the plan durably.
fn make_plan(journal: &Path, home: &Path, shared: u64, last: u64) -> Result<Plan, LinkError> {
    let mut ranges = Ranges::default();
    // Transactions open at `shared`: their earlier entries count too.
    let mut open: BTreeMap<u64, Vec<(String, String, Touch)>> = BTreeMap::new();
    let first = match Reader::open(journal, 1) {
        Err(drx_journal::JournalError::Gone { oldest, .. }) => oldest,
        Err(e) => return Err(e.into()),
        Ok(_) => 1,
    };
    let mut reader = Reader::open(journal, first)?;
    let mut report: Option<(PathBuf, io::BufWriter<File>)> = None;
    let mut rolled_back = 0u64;
    // Every file the journal names, with a process it was written by: an
    // application killed between an operation's file I/O and its entry
    // leaves bytes no entry describes, so each is repaired whole.
    let mut journaled: BTreeMap<String, String> = BTreeMap::new();
    while let Some(e) = reader.next()? {
        if !e.file.is_empty() && touch(&e).is_some() {
            journaled.insert(e.file.to_owned(), e.process.to_owned());
        }
        if let Effect::Rename { to } = e.effect {
            journaled.insert(to.to_owned(), e.process.to_owned());
        }
        if e.seq <= shared {
            match e.effect {
                Effect::BeginTxn => {
                    open.insert(e.txn, Vec::new());
                }
                Effect::CommitTxn | Effect::AbortTxn => {
                    open.remove(&e.txn);
                }
                _ => {
                    if let (Some(list), Some(touch)) = (open.get_mut(&e.txn), touch(&e)) {
                        list.push((e.process.to_owned(), e.file.to_owned(), touch));
                    }
                }
            }
            continue;
        }
        if report.is_none() {
            let dir = home.join("rejoin");
            fs::create_dir_all(&dir)
                .map_err(LinkError::io(format!("creating {}", dir.display())))?;
            let path = dir.join(format!("rolled-back-{}-{last}.jsonl", shared + 1));
            let file = File::create(&path)
                .map_err(LinkError::io(format!("creating {}", path.display())))?;
            report = Some((path, io::BufWriter::new(file)));
        }
        if let Some((path, out)) = report.as_mut() {
            writeln!(out, "{}", report_line(&e))
                .map_err(LinkError::io(format!("writing {}", path.display())))?;
        }
        rolled_back += 1;
        if let Some(t) = touch(&e) {
            ranges.add(e.process, e.file, t);
        }
        if let Effect::Rename { to } = e.effect {
            ranges.add(e.process, to, Touch::Whole);
        }
    }
    for (process, file, t) in open.into_values().flatten() {
        ranges.add(&process, &file, t);
    }
    for (file, process) in &journaled {
        ranges.add(process, file, Touch::Whole);
    }
    let report = match report {
        Some((path, out)) => {
            let file = out.into_inner().map_err(|e| {
                LinkError::io(format!("writing {}", path.display()))(e.into_error())
            })?;
            file.sync_all()
                .map_err(LinkError::io(format!("syncing {}", path.display())))?;
            Some(path)
        }
        None => None,
    };
    crash_point(REJOIN_REPORT);
    let plan = Plan {
        shared,
        rolled_back,
        report,
        wants: ranges.into_wants(),
    };
    let path = state_path(journal);
    let io_err = |what: &str| LinkError::io(format!("{what} {}", path.display()));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err("creating the directory of"))?;
    }
    let text = serde_json::to_string(&plan).map_err(|e| LinkError::Stopped(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io_err("creating"))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_err("writing"))?;
    fs::rename(&tmp, &path).map_err(io_err("renaming"))?;
    Ok(plan)
}

/// What an entry wrote.
#[derive(Debug, Clone, Copy)]
enum Touch {
    Range(u64, u64),
    Whole,
}

fn touch(e: &EntryRef<'_>) -> Option<Touch> {
    match e.effect {
        Effect::Write { offset, data } => Some(Touch::Range(offset, data.len() as u64)),
        Effect::Truncate { len } => Some(Touch::Range(len, TO_THE_END)),
        Effect::Create { .. } | Effect::DeleteFile | Effect::Rename { .. } => Some(Touch::Whole),
        _ => None,
    }
}

/// A file as its entries name it: `(process, file)`.
type FileKey = (String, String);

/// The ranges to ask for, per file; `None`: the whole file.
#[derive(Default)]
struct Ranges {
    files: BTreeMap<FileKey, Option<BTreeSet<(u64, u64)>>>,
}

impl Ranges {
    fn add(&mut self, process: &str, file: &str, touch: Touch) {
        if file.is_empty() {
            return;
        }
        let slot = self
            .files
            .entry((process.to_owned(), file.to_owned()))
            .or_insert_with(|| Some(BTreeSet::new()));
        match (slot.as_mut(), touch) {
            (Some(set), Touch::Range(offset, len)) if set.len() < MAX_RANGES => {
                set.insert((offset, len));
            }
            _ => *slot = None,
        }
    }

    /// Merged ranges, each file once (a `None` file whole).
    fn into_wants(self) -> Vec<Want> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for ((process, file), set) in self.files {
            if !seen.insert(file.clone()) {
                continue;
            }
            let ranges = match set {
                None => vec![(0, TO_THE_END)],
                Some(set) => merge(set),
            };
            out.push(Want {
                process,
                file,
                ranges,
            });
        }
        out
    }
}

/// Sorted, overlapping or touching ranges merged.
fn merge(set: BTreeSet<(u64, u64)>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (offset, len) in set {
        let end = offset.saturating_add(len);
        if let Some(last) = out.last_mut() {
            let last_end = last.0.saturating_add(last.1);
            if offset <= last_end {
                if end > last_end {
                    last.1 = if end == u64::MAX {
                        TO_THE_END
                    } else {
                        end - last.0
                    };
                }
                continue;
            }
        }
        out.push((offset, len));
    }
    out
}

/// One line of the report: the entry, its byte effect and record meaning.
fn report_line(e: &EntryRef<'_>) -> String {
    let hex = drx_journal::to_hex;
    let mut v = serde_json::json!({
        "seq": e.seq,
        "epoch": e.epoch,
        "txn": e.txn,
        "timestamp_us": e.timestamp_us,
        "process": e.process,
        "file": e.file,
    });
    let effect = match e.effect {
        Effect::None => serde_json::json!({"kind": "none"}),
        Effect::Create { record_len, .. } => {
            serde_json::json!({"kind": "create", "record_len": record_len})
        }
        Effect::Write { offset, data } => {
            serde_json::json!({"kind": "write", "offset": offset, "data": hex(data)})
        }
        Effect::Truncate { len } => serde_json::json!({"kind": "truncate", "len": len}),
        Effect::Rename { to } => serde_json::json!({"kind": "rename", "to": to}),
        Effect::DeleteFile => serde_json::json!({"kind": "delete_file"}),
        Effect::BeginTxn => serde_json::json!({"kind": "begin"}),
        Effect::CommitTxn => serde_json::json!({"kind": "commit"}),
        Effect::AbortTxn => serde_json::json!({"kind": "abort"}),
        Effect::Checksum(_) => serde_json::json!({"kind": "checksum"}),
    };
    v["effect"] = effect;
    if let Some(r) = &e.record {
        let locator = match r.locator {
            drx_journal::Locator::None => serde_json::Value::Null,
            drx_journal::Locator::RecNo(n) => serde_json::json!({"recno": n}),
            drx_journal::Locator::Key(k) => serde_json::json!({"key": hex(k)}),
        };
        v["record"] = serde_json::json!({
            "op": format!("{:?}", r.op).to_lowercase(),
            "locator": locator,
            "before": r.before.map(hex),
            "after": r.after.map(hex),
        });
    }
    v.to_string()
}
