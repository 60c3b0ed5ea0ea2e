//! What a writer does on open: verify every segment, cut a torn tail off
//! the newest one, and find where to resume.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::appender::{OpenEnd, now_us};
use crate::error::JournalError;
use crate::frame::{self, Beyond, Frame, FrameBuf};
use crate::payload;
use crate::segment::{self, HEADER_LEN, Header};

/// What a scan of one segment's frames found.
struct Scan {
    /// Offset just after the last valid frame.
    end: u64,
    /// The seq after the last valid entry.
    next_seq: u64,
    /// The first invalid frame, if the valid ones do not reach the end of
    /// the file: its offset and what is wrong with it.
    bad: Option<(u64, &'static str)>,
}

/// Finds (or creates) the open end of the journal in `dir`. Reads every
/// segment once: sealed segments must be whole and their seqs contiguous.
pub(crate) fn open_end(dir: &Path, epoch: u64, sync: bool) -> Result<OpenEnd, JournalError> {
    segment::remove_temporaries(dir)?;
    let segments = segment::list(dir)?;
    let Some(((last_first, last_path), sealed)) = segments.split_last() else {
        let header = Header {
            epoch,
            first_seq: 1,
            created_us: now_us(),
        };
        let (file, path) = segment::create(dir, &header, sync)?;
        return Ok(OpenEnd {
            file,
            path,
            len: HEADER_LEN as u64,
            last_seq: 0,
            dir_dirty: true,
        });
    };
    let mut frames = FrameBuf::new();
    let mut expect = None;
    for (first, path) in sealed {
        check_follows(path, *first, expect)?;
        let mut file = File::open(path).map_err(JournalError::io(path))?;
        if segment::read_header(&mut file, path, *first)?.is_none() {
            return Err(JournalError::BadHeader {
                segment: path.clone(),
                reason: "sealed segment shorter than a header".into(),
            });
        }
        let scan = scan(&mut file, path, *first, &mut frames)?;
        if let Some((offset, reason)) = scan.bad {
            return Err(JournalError::corrupt(
                path,
                offset,
                format!("{reason} (in a sealed segment: corruption, not a torn tail)"),
            ));
        }
        expect = Some(scan.next_seq);
    }
    check_follows(last_path, *last_first, expect)?;
    recover_newest(last_path, *last_first, epoch, &mut frames)
}

/// Checks a segment starts where the previous one ended.
fn check_follows(path: &Path, first: u64, expect: Option<u64>) -> Result<(), JournalError> {
    match expect {
        Some(expect) if expect != first => Err(JournalError::corrupt(
            path,
            0,
            format!(
                "sequence gap: the previous segment ends before seq {expect} but this one starts at seq {first}"
            ),
        )),
        _ => Ok(()),
    }
}

/// Reads the frames of a segment whose header was just read, checking
/// each decodes and has the next seq.
fn scan(
    file: &mut File,
    path: &Path,
    first_seq: u64,
    frames: &mut FrameBuf,
) -> Result<Scan, JournalError> {
    frames
        .reset(file, HEADER_LEN as u64)
        .map_err(JournalError::io(path))?;
    let mut next_seq = first_seq;
    loop {
        let (end, bad) = match frames.next_frame(file).map_err(JournalError::io(path))? {
            Frame::Valid { offset, payload } => {
                let entry = payload::decode(&frames.bytes()[payload]).map_err(|reason| {
                    JournalError::corrupt(path, offset, format!("undecodable entry: {reason}"))
                })?;
                if entry.seq != next_seq {
                    return Err(JournalError::corrupt(
                        path,
                        offset,
                        format!(
                            "sequence break: expected seq {next_seq}, found {}",
                            entry.seq
                        ),
                    ));
                }
                next_seq += 1;
                continue;
            }
            Frame::End { offset } => (offset, None),
            Frame::Partial { offset } => (offset, Some((offset, "incomplete frame"))),
            Frame::Bad { offset, reason } => (offset, Some((offset, reason))),
        };
        return Ok(Scan { end, next_seq, bad });
    }
}

/// Scans the newest segment, truncating a torn tail.
fn recover_newest(
    path: &Path,
    first_seq: u64,
    epoch: u64,
    frames: &mut FrameBuf,
) -> Result<OpenEnd, JournalError> {
    let io = JournalError::io(path);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(JournalError::io(path))?;
    if segment::read_header(&mut file, path, first_seq)?.is_none() {
        // Its creation was torn by a crash: it holds no entry. Write it anew.
        let header = Header {
            epoch,
            first_seq,
            created_us: now_us(),
        };
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(&header.encode()))
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        return Ok(OpenEnd {
            file,
            path: path.to_path_buf(),
            len: HEADER_LEN as u64,
            last_seq: first_seq.saturating_sub(1),
            dir_dirty: false,
        });
    }
    let scan = scan(&mut file, path, first_seq, frames)?;
    if let Some((offset, reason)) = scan.bad {
        cut_tail(&mut file, path, offset, reason)?;
    }
    file.seek(SeekFrom::Start(scan.end)).map_err(io)?;
    Ok(OpenEnd {
        file,
        path: path.to_path_buf(),
        len: scan.end,
        last_seq: scan.next_seq.saturating_sub(1),
        dir_dirty: false,
    })
}

/// A bad frame at `offset` in the newest segment: a torn tail if nothing
/// valid follows it (then the file is cut there), else corruption.
fn cut_tail(file: &mut File, path: &Path, offset: u64, reason: &str) -> Result<(), JournalError> {
    match frame::beyond_bad_frame(file, offset).map_err(JournalError::io(path))? {
        Beyond::Nothing => {}
        Beyond::ValidFrames => {
            return Err(JournalError::corrupt(
                path,
                offset,
                format!("{reason} (followed by valid frames: corruption, not a torn tail)"),
            ));
        }
        Beyond::NowValid => {
            return Err(JournalError::corrupt(
                path,
                offset,
                "the segment changed while the writer recovered it (is another writer running without the lock?)",
            ));
        }
    }
    file.set_len(offset)
        .and_then(|()| file.sync_all())
        .map_err(JournalError::io(path))
}
