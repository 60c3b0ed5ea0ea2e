//! The standby's side of a transfer session (`drx sync`, `drx refresh`;
//! docs/PROTOCOL.md, "Transfer sessions"; docs/DR.md, "Delta resync").
//!
//! A transfer sender connects beside the streaming primary (it is not
//! subject to `Busy`), proves itself first, and for each file asks for the
//! replica's block digests (`SumsRequest` → `Sums`, computed here on a
//! blocking thread while the sender hashes its own file), then sends the
//! blocks that differ (`Blocks`) and `BlocksEnd`.
//!
//! The blocks are written **inside the applier thread** ([`Incoming`],
//! through [`Command::Transfer`]), so that they are ordered with the
//! stream's entries. At `BlocksEnd` the replica is cut to the primary's
//! length and the standby journal's entries of the file after `from_seq`
//! (the primary's last seq before it read the file), up to what the
//! applier has applied, are replayed over it: each effect sets bytes, so
//! the replica ends equal to the primary's file as of the applied seq
//! (docs/DR.md). The entries of a transaction are replayed at its commit,
//! as the replica applies them; those of one still open are applied at
//! its commit anyway, and an aborted one's never. A `Create`, `Rename` or
//! `DeleteFile` of the file in that range gives up on the file (`Synced`
//! says why: run the sync again).
//!
//! Log shipping over the link (`drx ship --to-standby`) uses it too: a
//! shipped file offered, sent from where an earlier transfer was cut, and
//! applied by the applier thread (`shipping/receive.rs`).
//!
//! The equalizer (`drx equalize`, docs/DR.md, "Equalizer") uses the same
//! session for files no journal entry names: its `BlocksEnd` carries
//! `from_seq` [`crate::equalizer::NO_REPLAY`] (nothing is replayed), and
//! it asks for a directory's matching files (`ListRequest` → `Listing`)
//! and stamps or removes a replica file (`TouchFile` → `Touched`). A file
//! of an equalize record with a `destination_dir` (and no include record)
//! is kept in that directory under the home.

use crate::applier::Command;
use crate::delta_sync::file_sums;
use crate::error::LinkError;
use crate::link::{self, FrameReader, WriteHalf};
use crate::protocol::transfer::{ListRequest, Listing, TouchFile, Touched};
use crate::protocol::{
    BlocksEnd, Hello, Message, Nonce, PROTOCOL_VERSION, Reason, Role, ShipHave, Sums, SumsRequest,
    Synced, Transcript,
};
use crate::replica::Replica;
use crate::settings::StandbySettings;
use crate::shipping::receive;
use crate::shutdown::Shutdown;
use drx_journal::{Effect, Reader};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Each transfer session's number, for the applier's per-session state.
static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// What a transfer session asks of the applier thread.
#[derive(Debug)]
pub(crate) enum TransferCommand {
    /// Write `data` at `offset` of the replica file `path`.
    Blocks {
        session: u64,
        path: PathBuf,
        offset: u64,
        data: Vec<u8>,
    },
    /// The last blocks of `end.file` were sent: cut, replay, sync, answer.
    End {
        session: u64,
        path: PathBuf,
        end: BlocksEnd,
        reply: oneshot::Sender<Synced>,
    },
    /// The session ended: forget what it left.
    Forget { session: u64 },
}

/// One replica file being received.
#[derive(Debug)]
struct Receiving {
    file: Option<File>,
    blocks: u64,
    bytes: u64,
    /// The first write that failed: the file is given up at its end.
    error: Option<String>,
}

/// The applier thread's transfers under way, per session and file.
#[derive(Debug, Default)]
pub(crate) struct Incoming {
    files: HashMap<(u64, PathBuf), Receiving>,
}

fn open_replica(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
}

impl Incoming {
    /// Writes one `Blocks` (an error is kept for the file's end).
    pub(crate) fn blocks(&mut self, session: u64, path: PathBuf, offset: u64, data: &[u8]) {
        let receiving = self
            .files
            .entry((session, path.clone()))
            .or_insert(Receiving {
                file: None,
                blocks: 0,
                bytes: 0,
                error: None,
            });
        if receiving.error.is_some() {
            return;
        }
        if receiving.file.is_none() {
            match open_replica(&path) {
                Ok(f) => receiving.file = Some(f),
                Err(e) => {
                    receiving.error = Some(format!("{}: {e}", path.display()));
                    return;
                }
            }
        }
        if let Some(file) = &receiving.file {
            match file.write_all_at(data, offset) {
                Ok(()) => {
                    receiving.blocks += 1;
                    receiving.bytes += data.len() as u64;
                }
                Err(e) => {
                    receiving.error = Some(format!(
                        "{}: writing {} bytes at {offset}: {e}",
                        path.display(),
                        data.len()
                    ));
                }
            }
        }
    }

    /// Ends one file: cuts it to the primary's length, replays the
    /// standby journal's entries of the file in `(from_seq, applied]`,
    /// fsyncs it. The journal must be readable up to `applied` (flushed).
    pub(crate) fn end(
        &mut self,
        session: u64,
        path: PathBuf,
        end: &BlocksEnd,
        journal: &Path,
        applied: u64,
    ) -> Synced {
        let receiving = self.files.remove(&(session, path.clone()));
        let (blocks, bytes) = receiving.as_ref().map_or((0, 0), |r| (r.blocks, r.bytes));
        let mut synced = Synced {
            process: end.process.clone(),
            file: end.file.clone(),
            blocks,
            bytes,
            replayed: 0,
            failed: None,
        };
        let finished = (|| -> Result<u64, String> {
            if let Some(error) = receiving.as_ref().and_then(|r| r.error.clone()) {
                return Err(error);
            }
            let file = match receiving.and_then(|r| r.file) {
                Some(file) => file,
                None => open_replica(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            };
            let io_error = |e: io::Error| format!("{}: {e}", path.display());
            file.set_len(end.len).map_err(io_error)?;
            let replayed = replay(&file, &end.file, journal, end.from_seq, applied)?;
            file.sync_all().map_err(io_error)?;
            Ok(replayed)
        })();
        match finished {
            Ok(replayed) => {
                synced.replayed = replayed;
                tracing::info!(
                    file = %end.file,
                    blocks,
                    bytes,
                    replayed,
                    from_seq = end.from_seq,
                    applied,
                    "delta resync: replica written"
                );
            }
            Err(text) => {
                tracing::error!(file = %end.file, %text, "delta resync: given up");
                synced.failed = Some(text);
            }
        }
        synced
    }

    /// Forgets a session's files (it ended without their `BlocksEnd`).
    pub(crate) fn forget(&mut self, session: u64) {
        self.files.retain(|(s, _), _| *s != session);
    }
}

/// A byte effect held until its transaction's commit.
enum Held {
    Write(u64, Vec<u8>),
    Truncate(u64),
}

fn apply_held(file: &File, held: &Held) -> io::Result<()> {
    match held {
        Held::Write(offset, data) => file.write_all_at(data, *offset),
        Held::Truncate(len) => file.set_len(*len),
    }
}

/// Replays the journal's entries of `name` in `(from_seq, applied]` over
/// `file`; returns how many effects were applied.
fn replay(
    file: &File,
    name: &str,
    journal: &Path,
    from_seq: u64,
    applied: u64,
) -> Result<u64, String> {
    if from_seq >= applied {
        return Ok(0);
    }
    let mut reader = Reader::open(journal, from_seq + 1).map_err(|e| {
        format!(
            "the standby journal from seq {}: {e}; run the sync again",
            from_seq + 1
        )
    })?;
    let io_error = |e: io::Error| format!("replaying over the replica of {name}: {e}");
    // The effects on the file of each transaction not yet ended.
    let mut held: BTreeMap<u64, Vec<Held>> = BTreeMap::new();
    let mut replayed = 0u64;
    while let Some(e) = reader.next().map_err(|e| e.to_string())? {
        if e.seq > applied {
            break;
        }
        match e.effect {
            Effect::BeginTxn => {
                held.insert(e.txn, Vec::new());
                continue;
            }
            Effect::CommitTxn => {
                for h in held.remove(&e.txn).unwrap_or_default() {
                    apply_held(file, &h).map_err(io_error)?;
                    replayed += 1;
                }
                continue;
            }
            Effect::AbortTxn => {
                held.remove(&e.txn);
                continue;
            }
            _ => {}
        }
        let renamed_here = matches!(e.effect, Effect::Rename { to } if to == name);
        if e.file != name && !renamed_here {
            continue;
        }
        let effect = match e.effect {
            Effect::Write { offset, data } => Held::Write(offset, data.to_vec()),
            Effect::Truncate { len } => Held::Truncate(len),
            Effect::Create { .. } | Effect::DeleteFile | Effect::Rename { .. } => {
                return Err(format!(
                    "the file was created, renamed or deleted at seq {} while it was being synced; run the sync again",
                    e.seq
                ));
            }
            _ => continue,
        };
        if e.txn == 0 {
            apply_held(file, &effect).map_err(io_error)?;
            replayed += 1;
        } else {
            held.entry(e.txn).or_default().push(effect);
        }
    }
    Ok(replayed)
}

/// Where the replica of `process`'s `file` is, its directory created,
/// checked to lie inside a replica root once symbolic links are resolved,
/// and not itself a symbolic link.
fn replica_path(settings: &StandbySettings, process: &str, file: &str) -> Result<PathBuf, String> {
    let equalized = crate::equalizer::destination(
        &settings.replica.files,
        &settings.replica.home,
        process,
        file,
    )?;
    let path = match equalized {
        Some(path) => path,
        None => Replica::map_path(&settings.replica, process, file)
            .map_err(|e| format!("{file}: {e}"))?,
    };
    let parent = path
        .parent()
        .ok_or_else(|| format!("{}: no directory", path.display()))?;
    fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let real = fs::canonicalize(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let inside = settings
        .replica
        .roots
        .iter()
        .filter_map(|r| fs::canonicalize(r).ok())
        .any(|root| real.starts_with(root));
    if !inside {
        return Err(format!(
            "{}: outside every replica root once links are resolved",
            path.display()
        ));
    }
    if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "{}: a symbolic link; the standby does not write through it",
            path.display()
        ));
    }
    Ok(path)
}

/// Serves one transfer session whose `Hello` (role transfer) was just
/// read, on a standby (not a fence). `position` is the standby's (epoch,
/// durable seq) for its own `Hello`.
pub(crate) async fn serve(
    reader: &mut FrameReader,
    write: &mut WriteHalf,
    settings: &StandbySettings,
    commands: &mpsc::Sender<Command>,
    theirs: Hello,
    position: (u64, u64),
    shutdown: &mut Shutdown,
) -> Result<(), LinkError> {
    let peer = reader.peer();
    let timeout = settings.heartbeats.handshake_timeout;
    let handshake = handshake(reader, write, settings, &theirs, position);
    match tokio::time::timeout(timeout, handshake).await {
        Ok(done) => done?,
        Err(_) => {
            return Err(LinkError::Timeout(format!(
                "{peer}: the transfer handshake did not complete within {timeout:?}"
            )));
        }
    }
    reader.streaming();
    let session = SESSIONS.fetch_add(1, Ordering::Relaxed);
    tracing::info!(%peer, node = %theirs.node_id, "a transfer session (drx sync) connected");
    let result = tokio::select! {
        res = transfers(reader, write, settings, commands, session) => res,
        _ = shutdown.recv() => {
            let text = "the standby is shutting down".to_owned();
            let bye = Message::Goodbye { reason: Reason::Shutdown, text };
            let _ = link::write_message(write, peer, &bye).await;
            Ok(())
        }
    };
    let _ = commands
        .send(Command::Transfer(TransferCommand::Forget { session }))
        .await;
    result
}

async fn handshake(
    reader: &mut FrameReader,
    write: &mut WriteHalf,
    settings: &StandbySettings,
    theirs: &Hello,
    (epoch, durable): (u64, u64),
) -> Result<(), LinkError> {
    let peer = reader.peer();
    let nonce = Nonce::random()?;
    if theirs.nonce == nonce {
        let text = "the Hello carries this node's own nonce".to_owned();
        return Err(refuse(write, peer, Reason::WrongSecret, text).await);
    }
    let dir = settings.journal.dir.clone();
    let history = tokio::task::spawn_blocking(move || drx_journal::epoch_history(&dir))
        .await
        .map_err(|e| LinkError::Stopped(format!("reading the epoch history: {e}")))??;
    let ours = Hello {
        version: PROTOCOL_VERSION,
        role: Role::Standby,
        node_id: settings.node_id.clone(),
        epoch,
        last_seq: durable,
        nonce,
        history: crate::primary::newest(history),
    };
    link::write_message(write, peer, &Message::Hello(ours.clone())).await?;
    let proof = match reader.next_handshake_message().await {
        Ok(Message::Proof(proof)) => proof,
        Ok(other) => {
            let text = format!("expected Proof, got {}", other.kind());
            return Err(refuse(write, peer, Reason::ProtocolViolation, text).await);
        }
        Err(e) => {
            return Err(link::farewell_error(write, peer, link::Farewell::Refused, e).await);
        }
    };
    let transcript = match Transcript::new(theirs, &ours, reader.channel_binding()) {
        Ok(t) => t,
        Err(e) => return Err(refuse(write, peer, Reason::ProtocolViolation, e.to_string()).await),
    };
    if transcript
        .verify(&settings.secret, Role::Transfer, &proof)
        .is_err()
    {
        let text = "the transfer's proof does not verify".to_owned();
        return Err(refuse(write, peer, Reason::WrongSecret, text).await);
    }
    if let Some(expected) = &settings.primary_node_id
        && *expected != theirs.node_id
    {
        let text = format!("this standby mirrors {expected}, not {}", theirs.node_id);
        return Err(refuse(write, peer, Reason::UnknownNode, text).await);
    }
    let proof = transcript.proof(&settings.secret, Role::Standby);
    link::write_message(write, peer, &Message::Proof(proof)).await
}

async fn refuse(
    write: &mut WriteHalf,
    peer: std::net::SocketAddr,
    reason: Reason,
    text: String,
) -> LinkError {
    link::farewell(write, peer, link::Farewell::Refused, reason, text).await
}

/// Answers the session's requests until it says goodbye.
async fn transfers(
    reader: &mut FrameReader,
    write: &mut WriteHalf,
    settings: &StandbySettings,
    commands: &mpsc::Sender<Command>,
    session: u64,
) -> Result<(), LinkError> {
    let peer = reader.peer();
    let stopped = || LinkError::Stopped("the standby's apply has stopped".into());
    // The replica path of each file named in this session.
    let mut paths: HashMap<(String, String), PathBuf> = HashMap::new();
    // The shipped file being received (`drx ship --to-standby`).
    let mut shipping: Option<receive::Receiving> = None;
    loop {
        let Some(frame) = reader.next_frame().await? else {
            return Ok(());
        };
        let message = match Message::decode(&frame) {
            Ok(Some((message, _))) => message,
            Ok(None) => return Err(LinkError::Closed),
            Err(e) => {
                let text = e.to_string();
                let bye = Message::Goodbye {
                    reason: e.reason(),
                    text,
                };
                let _ = link::write_message(write, peer, &bye).await;
                return Err(LinkError::Decode(e));
            }
        };
        let key = |process: &str, file: &str| (process.to_owned(), file.to_owned());
        let mut path_of = |process: &str, file: &str| -> Result<PathBuf, String> {
            if let Some(path) = paths.get(&key(process, file)) {
                return Ok(path.clone());
            }
            let path = replica_path(settings, process, file)?;
            paths.insert(key(process, file), path.clone());
            Ok(path)
        };
        match message {
            Message::SumsRequest(request) => {
                let path = match path_of(&request.process, &request.file) {
                    Ok(path) => path,
                    Err(text) => return Err(goodbye(write, peer, Reason::CannotResume, text).await),
                };
                let SumsRequest {
                    process,
                    file,
                    block_size,
                } = request;
                let computed = tokio::task::spawn_blocking(move || {
                    file_sums(&path, block_size, &|_| {})
                        .map_err(|e| format!("{}: {e}", path.display()))
                })
                .await
                .map_err(|e| LinkError::Stopped(format!("computing block digests: {e}")))?;
                let (len, sums) = match computed {
                    Ok(Some((len, sums))) => (Some(len), sums),
                    Ok(None) => (None, Vec::new()),
                    Err(text) => return Err(goodbye(write, peer, Reason::CannotResume, text).await),
                };
                let answer = Sums {
                    process,
                    file,
                    len,
                    block_size,
                    sums,
                };
                link::write_message(write, peer, &Message::Sums(answer)).await?;
            }
            Message::Blocks(blocks) => {
                let path = match path_of(&blocks.process, &blocks.file) {
                    Ok(path) => path,
                    Err(text) => return Err(goodbye(write, peer, Reason::CannotResume, text).await),
                };
                let command = TransferCommand::Blocks {
                    session,
                    path,
                    offset: blocks.offset,
                    data: blocks.data,
                };
                commands
                    .send(Command::Transfer(command))
                    .await
                    .map_err(|_| stopped())?;
            }
            Message::BlocksEnd(end) => {
                let path = match path_of(&end.process, &end.file) {
                    Ok(path) => path,
                    Err(text) => return Err(goodbye(write, peer, Reason::CannotResume, text).await),
                };
                let (reply, answer) = oneshot::channel();
                let command = TransferCommand::End {
                    session,
                    path,
                    end,
                    reply,
                };
                commands
                    .send(Command::Transfer(command))
                    .await
                    .map_err(|_| stopped())?;
                let synced = answer.await.map_err(|_| stopped())?;
                link::write_message(write, peer, &Message::Synced(synced)).await?;
            }
            Message::ListRequest(request) => {
                let listing = match list(settings, request).await {
                    Ok(listing) => listing,
                    Err(text) => return Err(goodbye(write, peer, Reason::CannotResume, text).await),
                };
                link::write_message(write, peer, &Message::Listing(listing)).await?;
            }
            Message::TouchFile(touch) => {
                let touched = touch_file(settings, touch).await;
                link::write_message(write, peer, &Message::Touched(touched)).await?;
            }
            Message::ShipOffer(offer) => {
                let receiving = match receive::offer(&settings.journal.dir, &offer).await {
                    Ok(receiving) => receiving,
                    Err(text) => return Err(goodbye(write, peer, Reason::CannotResume, text).await),
                };
                let have = ShipHave {
                    name: offer.name,
                    have: receiving.have(),
                };
                shipping = Some(receiving);
                link::write_message(write, peer, &Message::ShipHave(have)).await?;
            }
            Message::ShipData(data) => {
                let received = match shipping.as_mut() {
                    Some(receiving) => receive::data(receiving, data).await,
                    None => Err("ShipData without a ShipOffer".to_owned()),
                };
                if let Err(text) = received {
                    return Err(goodbye(write, peer, Reason::ProtocolViolation, text).await);
                }
            }
            Message::ShipEnd(end) => {
                let Some(receiving) = shipping.take() else {
                    let text = "ShipEnd without a ShipOffer".to_owned();
                    return Err(goodbye(write, peer, Reason::ProtocolViolation, text).await);
                };
                let applied = receive::end(receiving, &end, commands).await?;
                link::write_message(write, peer, &Message::ShipApplied(applied)).await?;
            }
            Message::Goodbye { reason, text } => {
                return if reason == Reason::Shutdown {
                    Ok(())
                } else {
                    Err(LinkError::Goodbye { reason, text })
                };
            }
            other => {
                let text = format!("unexpected {} in a transfer session", other.kind());
                return Err(goodbye(write, peer, Reason::ProtocolViolation, text).await);
            }
        }
    }
}

async fn goodbye(
    write: &mut WriteHalf,
    peer: std::net::SocketAddr,
    reason: Reason,
    text: String,
) -> LinkError {
    link::farewell(write, peer, link::Farewell::Goodbye, reason, text).await
}

/// Lists the files of a `ListRequest`'s mapped directory whose names
/// match its star-name (none when the directory does not exist).
async fn list(settings: &StandbySettings, request: ListRequest) -> Result<Listing, String> {
    // The directory maps as a file of it would (the pattern as its name).
    let probe = format!("{}/{}", request.dir.trim_end_matches('/'), request.pattern);
    let path = replica_path(settings, &request.process, &probe)?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{}: no directory", path.display()))?;
    let pattern = request.pattern.clone();
    let files = tokio::task::spawn_blocking(move || crate::equalizer::list_dir(&dir, &pattern))
        .await
        .map_err(|e| format!("listing: {e}"))??;
    Ok(Listing {
        process: request.process,
        dir: request.dir,
        files,
    })
}

/// Stamps a replica file's modification time, or removes it.
async fn touch_file(settings: &StandbySettings, touch: TouchFile) -> Touched {
    let done = match replica_path(settings, &touch.process, &touch.file) {
        Ok(path) => {
            let what = touch.touch;
            tokio::task::spawn_blocking(move || crate::equalizer::touch(&path, what))
                .await
                .map_err(|e| format!("touching: {e}"))
                .and_then(|r| r)
        }
        Err(text) => Err(text),
    };
    if let Err(text) = &done {
        tracing::error!(file = %touch.file, %text, "equalizer: not done");
    }
    Touched {
        process: touch.process,
        file: touch.file,
        failed: done.err(),
    }
}
