//! The promoted node's side of `drx rejoin` (docs/DR.md, "Failback"): a
//! former primary connects to the promoted node's standby server (which
//! only fences) as a *standby*, proves itself, and asks for the current
//! bytes of the file ranges its diverged entries wrote (`RepairRequest`);
//! this side answers with `Repair` messages, the last one marked.
//!
//! The bytes are read while the applications may write. That is sound for
//! what the rejoining node does next — replay this node's entries from the
//! shared history on over them — as long as no transaction that is later
//! aborted was under way during the read (an abort is undone in the file
//! without a journal entry). So the read is taken when the journal shows
//! no transaction open before it and none begun during it, and tried again
//! otherwise, for at most [`SETTLE_TIME`].
//!
//! Before its `RepairRequest`, the rejoining node may ask for the block
//! digests of files it would otherwise fetch whole (`SumsRequest` →
//! `Sums`, read the same way), so that it fetches only the blocks that
//! differ from its copy.

use crate::delta_sync::{block_size_for_sync, file_sums};
use crate::error::LinkError;
use crate::link::{self, FrameReader, WriteHalf};
use crate::protocol::{
    Hello, MAX_REPAIR_DATA, Message, Nonce, PROTOCOL_VERSION, Reason, Repair, RepairRequest, Role,
    Sums, SumsRequest, TO_THE_END, Transcript, block_count,
};
use crate::replica::Replica;
use crate::settings::StandbySettings;
use drx_journal::{Effect, Reader};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a read waits for the applications' transactions to leave it a
/// quiet moment.
pub(crate) const SETTLE_TIME: Duration = Duration::from_secs(10);

/// Serves one rejoining node whose `Hello` (role standby) was just read.
/// `ours` is this node's `Hello` as a primary (already built); it is sent
/// here.
pub(crate) async fn serve_rejoiner(
    reader: &mut FrameReader,
    write: &mut WriteHalf,
    settings: &StandbySettings,
    theirs: Hello,
    ours: Hello,
) -> Result<(), LinkError> {
    let peer = reader.peer();
    link::write_message(write, peer, &Message::Hello(ours.clone())).await?;
    let transcript = Transcript::new(&ours, &theirs, reader.channel_binding())?;
    let proof = match reader.next_handshake_message().await? {
        Message::Proof(proof) => proof,
        other => {
            let text = format!("expected Proof, got {}", other.kind());
            return Err(refuse(write, peer, Reason::ProtocolViolation, text).await);
        }
    };
    if transcript
        .verify(&settings.secret, Role::Standby, &proof)
        .is_err()
    {
        let text = "the rejoining node's proof does not verify".to_owned();
        return Err(refuse(write, peer, Reason::WrongSecret, text).await);
    }
    if let Some(expected) = &settings.primary_node_id
        && *expected != theirs.node_id
    {
        let text = format!("this node rejoins {expected} only, not {}", theirs.node_id);
        return Err(refuse(write, peer, Reason::UnknownNode, text).await);
    }
    // Proven: the request may come in a frame of any size.
    reader.streaming();
    let ours_proof = transcript.proof(&settings.secret, Role::Primary);
    link::write_message(write, peer, &Message::Proof(ours_proof)).await?;
    // Block digests of whole files first, if asked (`SumsRequest` →
    // `Sums`), then the ranges.
    let request = loop {
        match reader.next_handshake_message().await? {
            Message::RepairRequest(r) => break r,
            Message::SumsRequest(asked) => {
                let journal = settings.journal.dir.clone();
                let replica = settings.replica.clone();
                let answer = tokio::task::spawn_blocking(move || {
                    settled(&journal, || file_digests(&replica, &asked))
                })
                .await
                .map_err(|e| LinkError::Stopped(format!("computing block digests: {e}")))?;
                match answer {
                    Ok(sums) => link::write_message(write, peer, &Message::Sums(sums)).await?,
                    Err(text) => return Err(refuse(write, peer, Reason::CannotResume, text).await),
                }
            }
            other => {
                let text = format!("expected RepairRequest, got {}", other.kind());
                return Err(refuse(write, peer, Reason::ProtocolViolation, text).await);
            }
        }
    };
    tracing::info!(
        node = %theirs.node_id,
        files = request.files.len(),
        "a former primary rejoins: reading the ranges it asks for"
    );
    let journal = settings.journal.dir.clone();
    let replica = settings.replica.clone();
    let answer =
        tokio::task::spawn_blocking(move || settled(&journal, || read_all(&replica, &request)))
            .await
            .map_err(|e| LinkError::Stopped(format!("reading the repair: {e}")))?;
    let repairs = match answer {
        Ok(repairs) => repairs,
        Err(text) => return Err(refuse(write, peer, Reason::CannotResume, text).await),
    };
    let bytes: usize = repairs.iter().map(|r| r.data.len()).sum();
    for repair in &repairs {
        link::write_message(write, peer, &Message::Repair(repair.clone())).await?;
    }
    tracing::info!(
        node = %theirs.node_id,
        messages = repairs.len(),
        bytes,
        "repair sent"
    );
    // The other side closes once it has the last one.
    let _ = tokio::time::timeout(Duration::from_secs(5), reader.next_frame()).await;
    Ok(())
}

/// This node's `Hello` for a rejoining node: as the primary it now is.
pub(crate) fn primary_hello(
    settings: &StandbySettings,
    epoch: u64,
    last_seq: u64,
    history: Vec<drx_journal::EpochStart>,
) -> Result<Hello, LinkError> {
    Ok(Hello {
        version: PROTOCOL_VERSION,
        role: Role::Primary,
        node_id: settings.node_id.clone(),
        epoch,
        last_seq,
        nonce: Nonce::random()?,
        history,
    })
}

async fn refuse(
    write: &mut WriteHalf,
    peer: std::net::SocketAddr,
    reason: Reason,
    text: String,
) -> LinkError {
    link::farewell(write, peer, link::Farewell::Refused, reason, text).await
}

/// The transactions open after the entries of `reader` read so far, kept
/// up to date as it reads on: a read of a file taken while none is open,
/// and none begins, sees no byte of a transaction that may later be
/// aborted (an abort is undone without a journal entry). Also the delta
/// resync's (`delta_sync.rs`).
pub(crate) struct OpenTransactions {
    reader: Reader,
    open: BTreeSet<u64>,
    /// The seq of the last entry read (0: none).
    last: u64,
    /// A `BeginTxn` was read since [`OpenTransactions::begun_since`] was
    /// last asked.
    begun: bool,
}

impl OpenTransactions {
    /// From the oldest entry the journal still holds (retention keeps
    /// the transactions a consumer has not passed; an older one is over).
    pub(crate) fn new(journal: &Path) -> Result<OpenTransactions, drx_journal::JournalError> {
        let reader = match Reader::open(journal, 1) {
            Err(drx_journal::JournalError::Gone { oldest, .. }) => Reader::open(journal, oldest)?,
            other => other?,
        };
        Ok(OpenTransactions {
            last: reader.position().saturating_sub(1),
            reader,
            open: BTreeSet::new(),
            begun: false,
        })
    }

    /// The seq of the last entry read: after [`OpenTransactions::catch_up`],
    /// the journal's last seq.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last
    }

    /// No transaction is open after the entries read.
    pub(crate) fn quiet(&self) -> bool {
        self.open.is_empty()
    }

    /// Reads on to the journal's end.
    pub(crate) fn catch_up(&mut self) -> Result<(), drx_journal::JournalError> {
        while let Some(e) = self.reader.next()? {
            self.last = e.seq;
            match e.effect {
                Effect::BeginTxn => {
                    self.open.insert(e.txn);
                    self.begun = true;
                }
                Effect::CommitTxn | Effect::AbortTxn => {
                    self.open.remove(&e.txn);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether a `BeginTxn` was read since the last call.
    pub(crate) fn begun_since(&mut self) -> bool {
        std::mem::take(&mut self.begun)
    }
}

/// Runs `read` (of the files) when no transaction is under way; an error
/// text (for the rejoining node) when none came within [`SETTLE_TIME`] or
/// `read` failed.
fn settled<T>(journal: &Path, mut read: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    let deadline = Instant::now() + SETTLE_TIME;
    let mut txns = OpenTransactions::new(journal).map_err(|e| e.to_string())?;
    loop {
        txns.catch_up().map_err(|e| e.to_string())?;
        let quiet_before = txns.open.is_empty();
        txns.begun_since();
        let read = read()?;
        txns.catch_up().map_err(|e| e.to_string())?;
        if quiet_before && !txns.begun_since() && txns.open.is_empty() {
            return Ok(read);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no moment without an open transaction on the new primary within {SETTLE_TIME:?}; run drx rejoin again"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The block digests of the file a rejoining node asks about, read now,
/// in blocks of the size asked for, or larger when the file here is too
/// long for one `Sums` in those (the rejoining node hashes its copy in the
/// size answered).
fn file_digests(
    replica: &crate::replica::ReplicaConfig,
    asked: &SumsRequest,
) -> Result<Sums, String> {
    let path = Replica::map_path(replica, &asked.process, &asked.file)
        .map_err(|e| format!("{}: {e}", asked.file))?;
    let len = match std::fs::metadata(&path) {
        Ok(meta) => Some(meta.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let block_size = match len {
        Some(len) if block_count(len, asked.block_size).is_none() => {
            asked.block_size.max(block_size_for_sync(len))
        }
        _ => asked.block_size,
    };
    let found =
        file_sums(&path, block_size, &|_| {}).map_err(|e| format!("{}: {e}", path.display()))?;
    let (len, sums) = match found {
        Some((len, sums)) => (Some(len), sums),
        None => (None, Vec::new()),
    };
    Ok(Sums {
        process: asked.process.clone(),
        file: asked.file.clone(),
        len,
        block_size,
        sums,
    })
}

/// The answer to `request`, read now; the last message is marked.
fn read_all(
    replica: &crate::replica::ReplicaConfig,
    request: &RepairRequest,
) -> Result<Vec<Repair>, String> {
    let mut out = Vec::new();
    for want in &request.files {
        let path = Replica::map_path(replica, &want.process, &want.file)
            .map_err(|e| format!("{}: {e}", want.file))?;
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                out.push(Repair {
                    process: want.process.clone(),
                    file: want.file.clone(),
                    len: None,
                    offset: 0,
                    data: Vec::new(),
                    last: false,
                });
                continue;
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let io_error = |e: io::Error| format!("{}: {e}", path.display());
        let len = file.metadata().map_err(io_error)?.len();
        // The file's length, even when no range lies within it.
        out.push(Repair {
            process: want.process.clone(),
            file: want.file.clone(),
            len: Some(len),
            offset: 0,
            data: Vec::new(),
            last: false,
        });
        for &(offset, want_len) in &want.ranges {
            let end = if want_len == TO_THE_END {
                len
            } else {
                offset.saturating_add(want_len).min(len)
            };
            let mut at = offset;
            while at < end {
                let n =
                    usize::try_from(end - at).map_or(MAX_REPAIR_DATA, |n| n.min(MAX_REPAIR_DATA));
                let mut data = vec![0; n];
                file.seek(SeekFrom::Start(at)).map_err(io_error)?;
                file.read_exact(&mut data).map_err(io_error)?;
                out.push(Repair {
                    process: want.process.clone(),
                    file: want.file.clone(),
                    len: Some(len),
                    offset: at,
                    data,
                    last: false,
                });
                at += n as u64;
            }
        }
    }
    out.push(Repair {
        process: String::new(),
        file: String::new(),
        len: None,
        offset: 0,
        data: Vec::new(),
        last: true,
    });
    Ok(out)
}
