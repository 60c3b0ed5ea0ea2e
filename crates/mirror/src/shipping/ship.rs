//! `drx ship`: on the primary, every finished journal segment not yet
//! shipped is checked, compressed and written to the shipping directory,
//! oldest first; the journal consumer [`SHIP_CONSUMER`] then records its
//! last seq, so that retention never removes a segment before it is
//! shipped and a second run ships nothing new.

use crate::shipping::error::ShippingError;
use crate::shipping::manifest;
use crate::shipping::seal::{SealOutcome, seal};
use crate::shipping::shipped_segment::{self, ShippedSegment};
use drx_journal::{consumer_position, register_consumer, set_consumer_position};
use std::path::PathBuf;

/// The journal consumer whose position is the last shipped seq.
pub const SHIP_CONSUMER: &str = "ship";
/// The zstd level segments are compressed at by default.
pub const DEFAULT_SHIP_LEVEL: i32 = 3;

/// What to ship, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipOptions {
    /// The primary's journal (`[journal] dir`).
    pub journal_dir: PathBuf,
    /// The shipping directory (created if needed).
    pub to: PathBuf,
    /// Seal the current segment first, if no writer holds the journal.
    pub seal: bool,
    /// The zstd compression level.
    pub level: i32,
}

impl ShipOptions {
    /// Ships the finished segments of `journal_dir` to `to`, without
    /// sealing, at [`DEFAULT_SHIP_LEVEL`].
    pub fn new(journal_dir: impl Into<PathBuf>, to: impl Into<PathBuf>) -> ShipOptions {
        ShipOptions {
            journal_dir: journal_dir.into(),
            to: to.into(),
            seal: false,
            level: DEFAULT_SHIP_LEVEL,
        }
    }
}

/// What a run of [`ship`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipReport {
    /// The segments written to the shipping directory, oldest first.
    pub shipped: Vec<ShippedSegment>,
    /// Segments found already shipped there (a crash after the file's
    /// rename, before the consumer's position): recorded, not rewritten.
    pub already_shipped: Vec<ShippedSegment>,
    /// What `--seal` did.
    pub seal: SealOutcome,
    /// The segment still being appended to, not shipped: its first seq
    /// and the seq of its last entry (below the first when it is empty).
    pub open_segment: Option<(u64, u64)>,
    /// Seqs never shipped that the journal no longer holds (retention
    /// removed them before the consumer `ship` existed): a standby cannot
    /// apply past them from shipped segments.
    pub lost: Option<(u64, u64)>,
    /// The consumer's position after the run: the last shipped seq.
    pub position: u64,
}

/// Ships every finished segment of the journal not shipped yet; calls
/// `each` after each one is durable in the shipping directory.
pub fn ship(
    options: &ShipOptions,
    mut each: impl FnMut(&ShippedSegment),
) -> Result<ShipReport, ShippingError> {
    let dir = &options.journal_dir;
    if !dir.is_dir() {
        return Err(ShippingError::NoJournal { dir: dir.clone() });
    }
    std::fs::create_dir_all(&options.to).map_err(ShippingError::io(&options.to))?;
    let _lock = lock(&options.to)?;
    let seal = if options.seal {
        seal(dir)?
    } else {
        SealOutcome::NotAsked
    };
    register_consumer(dir, SHIP_CONSUMER)?;
    let mut position = consumer_position(dir, SHIP_CONSUMER)?.unwrap_or(0);
    let segments = drx_journal::segment_files(dir)?;
    let mut report = ShipReport {
        shipped: Vec::new(),
        already_shipped: Vec::new(),
        seal,
        open_segment: None,
        lost: None,
        position,
    };
    for pair in segments.windows(2) {
        let (segment, next) = (&pair[0], &pair[1]);
        let last = next.first_seq.saturating_sub(1);
        if last <= position || last < segment.first_seq {
            continue;
        }
        if segment.first_seq > position + 1 && report.lost.is_none() {
            report.lost = Some((position + 1, segment.first_seq - 1));
        }
        let (raw, scanned) = read_finished(segment, next.first_seq)?;
        let path = &segment.path;
        let target = options
            .to
            .join(manifest::file_name(segment.first_seq, last));
        let existing = shipped_segment::read_manifest(&target)?
            .filter(|m| m.raw_blake3 == *blake3::hash(&raw).as_bytes());
        match existing {
            Some(manifest) => report.already_shipped.push(ShippedSegment {
                path: target,
                manifest,
            }),
            None => {
                let (manifest, compressed) = shipped_segment::compress(
                    &raw,
                    &scanned,
                    segment.first_seq,
                    options.level,
                    path,
                )?;
                let path = shipped_segment::write(&options.to, &manifest, &compressed)?;
                let shipped = ShippedSegment { path, manifest };
                each(&shipped);
                report.shipped.push(shipped);
            }
        }
        set_consumer_position(dir, SHIP_CONSUMER, last)?;
        position = last;
    }
    report.position = position;
    if let Some(newest) = segments.last() {
        let last = drx_journal::last_seq(dir)?;
        report.open_segment = Some((newest.first_seq, last.max(newest.first_seq - 1)));
    }
    Ok(report)
}

/// Reads a finished segment of the journal whole and checks it as a
/// sealed one whose entries end right before `next_first`, the next
/// segment's first seq: its bytes and their scan.
pub(crate) fn read_finished(
    segment: &drx_journal::SegmentFile,
    next_first: u64,
) -> Result<(Vec<u8>, drx_journal::SegmentScan), ShippingError> {
    let path = &segment.path;
    let raw = std::fs::read(path).map_err(ShippingError::io(path))?;
    let scanned =
        drx_journal::scan_segment(&raw, segment.first_seq).map_err(|reason| bad(path, reason))?;
    let last = next_first.saturating_sub(1);
    if scanned.last_seq() != Some(last) {
        return Err(bad(
            path,
            format!(
                "its entries end at seq {} but the next segment starts at seq {next_first}",
                scanned.last_seq().unwrap_or(segment.first_seq - 1),
            ),
        ));
    }
    Ok((raw, scanned))
}

/// The lock file of a shipping directory: one `drx ship` at a time.
const LOCK_FILE: &str = ".ship.lock";

/// Takes the shipping directory's lock (released when the file closes,
/// also when the process dies), or fails naming it.
fn lock(dir: &std::path::Path) -> Result<std::fs::File, ShippingError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(ShippingError::io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ShippingError::Io {
            source: std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "locked: another drx ship is writing to this directory",
            ),
            path,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(ShippingError::io(&path)(e)),
    }
}

fn bad(path: &std::path::Path, reason: String) -> ShippingError {
    ShippingError::BadSegment {
        path: path.to_path_buf(),
        reason,
    }
}
