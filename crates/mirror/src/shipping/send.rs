//! `drx ship --to-standby`: log shipping over the mirror connection
//! (docs/LOG_SHIPPING.md, "Over the mirror connection"). On the primary,
//! a transfer session to the standby's listening address (as `drx sync`
//! opens) learns the standby's durable seq from its `Hello`, then sends,
//! oldest first, every finished segment holding a later seq, as the same
//! shipped-segment file `drx ship --to DIR` writes: `ShipOffer`, the
//! bytes from where the standby's copy of an earlier, cut transfer ends
//! (`ShipHave`), `ShipEnd`. The standby server verifies the file whole
//! and applies it through its own apply before it answers `ShipApplied`
//! with its durable seq.
//!
//! Exactly once and in order: what to send follows from the standby's
//! durable seq, and the standby applies only the entries past it. The
//! journal consumer [`SHIP_STANDBY_CONSUMER`] follows the standby's
//! durable seq, so that retention keeps what it has not applied.

use crate::error::LinkError;
use crate::link::{self, FrameReader, WriteHalf};
use crate::protocol::{
    MAX_SHIP_DATA, Message, MessageKind, Reason, ShipApplied, ShipData, ShipEnd, ShipHave,
    ShipOffer,
};
use crate::settings::PrimarySettings;
use crate::shipping::error::ShippingError;
use crate::shipping::manifest::{self, Manifest};
use crate::shipping::seal::{SealOutcome, seal};
use crate::shipping::ship::read_finished;
use crate::shipping::shipped_segment;
use drx_config::Config;
use drx_journal::{SegmentFile, register_consumer, set_consumer_position};

/// The journal consumer whose position is the standby's durable seq as
/// `drx ship --to-standby` last heard it.
pub const SHIP_STANDBY_CONSUMER: &str = "ship-standby";

/// Bytes of a shipped file per `ShipData`: what a cut transfer keeps is
/// a whole number of these.
const SHIP_CHUNK: usize = 64 * 1024;
const _: () = assert!(SHIP_CHUNK <= MAX_SHIP_DATA);

/// How `drx ship --to-standby` ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipToStandbyOptions {
    /// Seal the current segment first, if no writer holds the journal.
    pub seal: bool,
    /// The zstd compression level.
    pub level: i32,
}

/// One shipped segment the standby applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSegment {
    /// Its manifest.
    pub manifest: Manifest,
    /// Bytes of the shipped file sent in this run.
    pub sent: u64,
    /// Bytes the standby held already from an earlier, cut transfer.
    pub resumed: u64,
    /// Its entries the standby applied (those past its durable seq).
    pub applied: u64,
    /// The standby's durable seq afterwards.
    pub durable: u64,
}

/// What a run of [`ship_to_standby`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipToStandbyReport {
    /// The standby's node id.
    pub peer: String,
    /// What `--seal` did.
    pub seal: SealOutcome,
    /// The standby's durable seq before.
    pub from_seq: u64,
    /// The standby's durable seq after.
    pub durable: u64,
    /// The segments sent and applied, oldest first.
    pub sent: Vec<SentSegment>,
    /// The segment still being appended to, not shipped: its first seq
    /// and the seq of its last entry (below the first when it is empty).
    pub open_segment: Option<(u64, u64)>,
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, ShippingError> + Send + 'static,
) -> Result<T, ShippingError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| ShippingError::Link(LinkError::Stopped(format!("a blocking task: {e}"))))?
}

/// Ships every finished segment the standby has not applied to it, over a
/// transfer session; calls `each` after each one is applied there.
pub async fn ship_to_standby(
    config: &Config,
    options: &ShipToStandbyOptions,
    mut each: impl FnMut(&SentSegment),
) -> Result<ShipToStandbyReport, ShippingError> {
    let settings = PrimarySettings::from_config(config)?;
    let dir = config.journal.dir.clone();
    if !dir.is_dir() {
        return Err(ShippingError::NoJournal { dir });
    }
    let seal_it = options.seal;
    let journal = dir.clone();
    let sealed = blocking(move || {
        let sealed = if seal_it {
            seal(&journal)?
        } else {
            SealOutcome::NotAsked
        };
        register_consumer(&journal, SHIP_STANDBY_CONSUMER)?;
        Ok(sealed)
    })
    .await?;
    let (mut reader, mut write, theirs) = crate::session::open_transfer(&settings).await?;
    let mut report = ShipToStandbyReport {
        peer: theirs.node_id.clone(),
        seal: sealed,
        from_seq: theirs.last_seq,
        durable: theirs.last_seq,
        sent: Vec::new(),
        open_segment: None,
    };
    let journal = dir.clone();
    let segments = blocking(move || Ok(drx_journal::segment_files(&journal)?)).await?;
    // The finished segments holding seqs past the standby's, each with
    // the next one's first seq.
    let todo: Vec<(SegmentFile, u64)> = segments
        .windows(2)
        .filter(|pair| {
            let last = pair[1].first_seq.saturating_sub(1);
            last > report.durable && last >= pair[0].first_seq
        })
        .map(|pair| (pair[0].clone(), pair[1].first_seq))
        .collect();
    if let Some((first, _)) = todo.first()
        && first.first_seq > report.durable + 1
    {
        return Err(ShippingError::StandbyGap {
            from: report.durable + 1,
            to: first.first_seq - 1,
            dir,
        });
    }
    // The next file is read and compressed while the standby applies the
    // one before.
    let level = options.level;
    let mut preparing = todo.first().map(|t| prepare(t.clone(), level));
    for (i, (_, next_first)) in todo.iter().enumerate() {
        let last = next_first.saturating_sub(1);
        let Some(task) = preparing.take() else {
            break;
        };
        let (manifest, file) = task
            .await
            .map_err(|e| ShippingError::Link(LinkError::Stopped(format!("compressing: {e}"))))??;
        preparing = todo.get(i + 1).map(|t| prepare(t.clone(), level));
        if last <= report.durable {
            // The stream brought it meanwhile.
            continue;
        }
        let mut sent = send_file(&mut reader, &mut write, &manifest, &file).await?;
        if sent.1.failed.is_some() && sent.0.resumed > 0 {
            // What the standby kept from a cut transfer did not verify
            // with the rest (it removed it): send the file whole once.
            tracing::warn!(file = %manifest.file_name(), "the standby's partial copy did not verify; sending it whole");
            sent = send_file(&mut reader, &mut write, &manifest, &file).await?;
        }
        let (mut segment_sent, applied) = sent;
        if let Some(text) = applied.failed {
            return Err(ShippingError::NotApplied {
                name: manifest.file_name(),
                peer: report.peer,
                text,
            });
        }
        segment_sent.applied = applied.entries;
        segment_sent.durable = applied.durable;
        report.durable = applied.durable;
        let journal = dir.clone();
        let position = applied.durable.min(last);
        blocking(move || {
            Ok(set_consumer_position(
                &journal,
                SHIP_STANDBY_CONSUMER,
                position,
            )?)
        })
        .await?;
        each(&segment_sent);
        report.sent.push(segment_sent);
    }
    let peer = reader.peer();
    let bye = Message::Goodbye {
        reason: Reason::Shutdown,
        text: "shipped".into(),
    };
    let _ = link::write_message(&mut write, peer, &bye).await;
    if let Some(newest) = segments.last() {
        let journal = dir.clone();
        let last = blocking(move || Ok(drx_journal::last_seq(&journal)?)).await?;
        report.open_segment = Some((newest.first_seq, last.max(newest.first_seq - 1)));
    }
    Ok(report)
}

/// Reads the finished `segment` (the next one starting at `next_first`),
/// checks and compresses it on a blocking thread: its manifest and the
/// shipped file's bytes.
fn prepare(
    (segment, next_first): (SegmentFile, u64),
    level: i32,
) -> tokio::task::JoinHandle<Result<(Manifest, Vec<u8>), ShippingError>> {
    tokio::task::spawn_blocking(move || {
        let (raw, scanned) = read_finished(&segment, next_first)?;
        let (manifest, compressed) =
            shipped_segment::compress(&raw, &scanned, segment.first_seq, level, &segment.path)?;
        let mut file = Vec::with_capacity(manifest::PREFIX_LEN + compressed.len());
        file.extend_from_slice(&manifest.encode());
        file.extend_from_slice(&compressed);
        Ok((manifest, file))
    })
}

/// Offers one shipped file, sends what the standby does not hold, and
/// reads its answer.
async fn send_file(
    reader: &mut FrameReader,
    write: &mut WriteHalf,
    manifest: &Manifest,
    file: &[u8],
) -> Result<(SentSegment, ShipApplied), ShippingError> {
    let peer = reader.peer();
    let name = manifest.file_name();
    let offer = ShipOffer {
        name: name.clone(),
        len: file.len() as u64,
    };
    link::write_message(write, peer, &Message::ShipOffer(offer)).await?;
    let have = match answer(reader).await? {
        Message::ShipHave(ShipHave { name: n, have }) if n == name => have,
        other => return Err(unexpected("ShipHave", &name, other.kind())),
    };
    let from = usize::try_from(have).unwrap_or(usize::MAX).min(file.len());
    let mut offset = from;
    for chunk in file[from..].chunks(SHIP_CHUNK) {
        let data = ShipData {
            name: name.clone(),
            offset: offset as u64,
            data: chunk.to_vec(),
        };
        link::write_message(write, peer, &Message::ShipData(data)).await?;
        offset += chunk.len();
    }
    let end = ShipEnd { name: name.clone() };
    link::write_message(write, peer, &Message::ShipEnd(end)).await?;
    let applied = match answer(reader).await? {
        Message::ShipApplied(applied) if applied.name == name => applied,
        other => return Err(unexpected("ShipApplied", &name, other.kind())),
    };
    let sent = SentSegment {
        manifest: manifest.clone(),
        sent: (file.len() - from) as u64,
        resumed: from as u64,
        applied: 0,
        durable: 0,
    };
    Ok((sent, applied))
}

fn unexpected(what: &str, name: &str, got: MessageKind) -> ShippingError {
    ShippingError::Link(LinkError::Ended {
        reason: Reason::ProtocolViolation,
        text: format!("expected {what} for {name}, got {got}"),
    })
}

/// The standby's next message (a `Goodbye` is its error).
async fn answer(reader: &mut FrameReader) -> Result<Message<'static>, ShippingError> {
    let Some(frame) = reader.next_frame().await? else {
        return Err(ShippingError::Link(LinkError::Closed));
    };
    let message = match Message::decode(&frame).map_err(LinkError::Decode)? {
        Some((message, _)) => message,
        None => return Err(ShippingError::Link(LinkError::Closed)),
    };
    match message {
        Message::Goodbye { reason, text } => {
            Err(ShippingError::Link(LinkError::Goodbye { reason, text }))
        }
        Message::ShipHave(_) | Message::ShipApplied(_) => message
            .into_owned()
            .ok_or_else(|| unexpected("a shipping answer", "", MessageKind::Entries)),
        other => Err(unexpected("a shipping answer", "", other.kind())),
    }
}
