//! Reading entries in seq order, across segments, while a writer appends.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::entry::EntryRef;
use crate::error::JournalError;
use crate::frame::{self, Beyond, Frame, FrameBuf};
use crate::payload;
use crate::segment::{self, HEADER_LEN};

/// Reads a journal's entries in seq order from a given seq, across
/// segments, while a writer (in this or another process) appends.
///
/// At the end of the written data [`next`](Reader::next) answers
/// `Ok(None)`; call it again later to see new entries and new segments
/// (tailing). A frame that is still being written at the end of the newest
/// segment is "not yet", not an error. A damaged frame followed by valid
/// ones, or in a sealed segment, is `JournalError::Corrupt`, and the reader
/// never returns anything after it.
///
/// Reads go through one reusable 1 MiB buffer: no allocation and no system
/// call per entry in steady state.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    seg: Option<OpenSegment>,
    frames: FrameBuf,
    /// The seq of the next entry to return.
    next_seq: u64,
    /// The seq of the next frame in the current segment.
    cursor_seq: u64,
    /// The current segment has a successor: its end is final.
    sealed: bool,
}

#[derive(Debug)]
struct OpenSegment {
    path: PathBuf,
    file: File,
    first_seq: u64,
}

/// Where a frame to return lies.
struct Found {
    offset: u64,
    payload: std::ops::Range<usize>,
}

impl Reader {
    /// A reader of the journal in `dir` whose first entry will be
    /// `from_seq` (0 is taken as 1). `JournalError::Gone` if retention
    /// removed that entry; a `from_seq` beyond the end is fine: the reader
    /// waits for it.
    pub fn open(dir: &Path, from_seq: u64) -> Result<Reader, JournalError> {
        let mut reader = Reader {
            dir: dir.to_path_buf(),
            seg: None,
            frames: FrameBuf::new(),
            next_seq: from_seq.max(1),
            cursor_seq: 0,
            sealed: false,
        };
        reader.enter_first()?;
        Ok(reader)
    }

    /// The seq of the entry the next call to [`next`](Reader::next) will
    /// return.
    pub fn position(&self) -> u64 {
        self.next_seq
    }

    /// The next entry, or `Ok(None)` if it is not written yet. The entry
    /// borrows the reader's buffer until the next call.
    #[allow(clippy::should_implement_trait)] // lending: Iterator cannot express it
    pub fn next(&mut self) -> Result<Option<EntryRef<'_>>, JournalError> {
        let Some(found) = self.advance()? else {
            return Ok(None);
        };
        let bytes = &self.frames.bytes()[found.payload];
        match payload::decode(bytes) {
            Ok(entry) => {
                self.cursor_seq += 1;
                self.next_seq = self.cursor_seq;
                Ok(Some(entry))
            }
            Err(reason) => Err(JournalError::corrupt(
                self.seg.as_ref().map_or(&self.dir, |s| &s.path),
                found.offset,
                format!("undecodable entry: {reason}"),
            )),
        }
    }

    /// Moves to the frame of `next_seq`, skipping (but checking) earlier
    /// ones and crossing segment ends.
    fn advance(&mut self) -> Result<Option<Found>, JournalError> {
        loop {
            if self.seg.is_none() && !self.enter_first()? {
                return Ok(None);
            }
            let Some(seg) = self.seg.as_mut() else {
                return Ok(None);
            };
            let path = &seg.path;
            let frame = self
                .frames
                .next_frame(&mut seg.file)
                .map_err(JournalError::io(path))?;
            match frame {
                Frame::Valid { offset, payload } => {
                    let bytes = &self.frames.bytes()[payload.clone()];
                    let seq = payload::peek_seq(bytes);
                    if seq != Some(self.cursor_seq) {
                        return Err(JournalError::corrupt(
                            path,
                            offset,
                            format!(
                                "sequence break: expected seq {}, found {}",
                                self.cursor_seq,
                                seq.map_or_else(|| "none".to_string(), |s| s.to_string())
                            ),
                        ));
                    }
                    if self.cursor_seq >= self.next_seq {
                        return Ok(Some(Found { offset, payload }));
                    }
                    // Before the start: check it, skip it.
                    if let Err(reason) = payload::decode(bytes) {
                        return Err(JournalError::corrupt(
                            path,
                            offset,
                            format!("undecodable entry: {reason}"),
                        ));
                    }
                    self.cursor_seq += 1;
                }
                Frame::End { offset } => {
                    if !self.sealed {
                        if !self.successor_exists()? {
                            return Ok(None);
                        }
                        // The writer finished this segment before creating
                        // the next: read once more to its final end.
                        self.sealed = true;
                        continue;
                    }
                    if !self.enter_successor(offset)? {
                        return Ok(None);
                    }
                }
                Frame::Partial { offset } => {
                    if !self.bad_frame(offset, "incomplete frame")? {
                        return Ok(None);
                    }
                }
                Frame::Bad { offset, reason } => {
                    if !self.bad_frame(offset, reason)? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Handles a frame that is incomplete or invalid. In the newest segment
    /// with nothing valid after it, it may be a frame being written (or a
    /// torn tail the next writer will cut): `Ok(false)`, wait. If the
    /// segment turns out to have a successor, `Ok(true)`: read it again.
    /// Otherwise it is corruption.
    fn bad_frame(&mut self, offset: u64, reason: &str) -> Result<bool, JournalError> {
        if !self.sealed && self.successor_exists()? {
            self.sealed = true;
            self.reset(offset)?;
            return Ok(true);
        }
        let Some(seg) = self.seg.as_mut() else {
            return Ok(false);
        };
        let beyond =
            frame::beyond_bad_frame(&mut seg.file, offset).map_err(JournalError::io(&seg.path))?;
        let path = seg.path.clone();
        self.reset(offset)?;
        if beyond == Beyond::NowValid {
            // It was being written when first read.
            return Ok(true);
        }
        if self.sealed {
            Err(JournalError::corrupt(
                &path,
                offset,
                format!("{reason} (in a sealed segment: corruption, not a torn tail)"),
            ))
        } else if beyond == Beyond::ValidFrames {
            Err(JournalError::corrupt(
                &path,
                offset,
                format!("{reason} (followed by valid frames: corruption, not a torn tail)"),
            ))
        } else {
            Ok(false)
        }
    }

    /// Drops buffered bytes and rereads the current segment from `offset`.
    fn reset(&mut self, offset: u64) -> Result<(), JournalError> {
        if let Some(seg) = self.seg.as_mut() {
            self.frames
                .reset(&mut seg.file, offset)
                .map_err(JournalError::io(&seg.path))?;
        }
        Ok(())
    }

    /// Enters the segment holding `next_seq`. `Ok(false)` if there is none
    /// yet (empty journal, or a newest segment whose header is not there).
    fn enter_first(&mut self) -> Result<bool, JournalError> {
        let segments = segment::list(&self.dir)?;
        let Some(&(oldest, _)) = segments.first() else {
            return Ok(false);
        };
        if self.next_seq < oldest {
            return Err(JournalError::Gone {
                requested: self.next_seq,
                oldest,
            });
        }
        let Some(index) = segments.iter().rposition(|(f, _)| *f <= self.next_seq) else {
            return Ok(false);
        };
        let (first, path) = &segments[index];
        let newest = index + 1 == segments.len();
        self.enter(path, *first, newest)
    }

    /// Enters the segment after the current one, which ended at `end`.
    /// `Ok(false)` if its header is not there yet.
    fn enter_successor(&mut self, end: u64) -> Result<bool, JournalError> {
        let path = segment::path(&self.dir, self.cursor_seq);
        let current_first = self.seg.as_ref().map_or(0, |s| s.first_seq);
        if self.cursor_seq > current_first && path.try_exists().map_err(JournalError::io(&path))? {
            let newest = !segment::list(&self.dir)?
                .iter()
                .any(|(f, _)| *f > self.cursor_seq);
            return self.enter(&path, self.cursor_seq, newest);
        }
        let segments = segment::list(&self.dir)?;
        let next_first = segments
            .iter()
            .map(|(f, _)| *f)
            .find(|f| *f > self.cursor_seq)
            .unwrap_or(self.cursor_seq);
        let current = self.seg.as_ref().map_or(&self.dir, |s| &s.path);
        if !current.try_exists().map_err(JournalError::io(current))? {
            // Retention removed the segments under us.
            return Err(JournalError::Gone {
                requested: self.next_seq,
                oldest: segments.first().map_or(self.cursor_seq, |(f, _)| *f),
            });
        }
        Err(JournalError::corrupt(
            current,
            end,
            format!(
                "sequence gap: this segment ends before seq {} but the next segment starts at seq {next_first}",
                self.cursor_seq
            ),
        ))
    }

    /// Opens the segment at `path` starting at `first` and reads from its
    /// first frame. `Ok(false)` if it is the newest and its header is not
    /// complete (a creation torn by a crash, which the next writer redoes).
    fn enter(&mut self, path: &Path, first: u64, newest: bool) -> Result<bool, JournalError> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            // Removed by retention since it was listed: look again next time.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(JournalError::io(path)(e)),
        };
        match segment::read_header(&mut file, path, first)? {
            Some(_) => {}
            None if newest => return Ok(false),
            None => {
                return Err(JournalError::BadHeader {
                    segment: path.to_path_buf(),
                    reason: "sealed segment shorter than a header".into(),
                });
            }
        }
        self.frames
            .reset(&mut file, HEADER_LEN as u64)
            .map_err(JournalError::io(path))?;
        self.seg = Some(OpenSegment {
            path: path.to_path_buf(),
            file,
            first_seq: first,
        });
        self.cursor_seq = first;
        self.sealed = false;
        Ok(true)
    }

    /// Whether a segment after the current one exists.
    fn successor_exists(&self) -> Result<bool, JournalError> {
        let Some(seg) = &self.seg else {
            return Ok(false);
        };
        if self.cursor_seq > seg.first_seq {
            let next = segment::path(&self.dir, self.cursor_seq);
            if next.try_exists().map_err(JournalError::io(&next))? {
                return Ok(true);
            }
        }
        Ok(segment::list(&self.dir)?
            .iter()
            .any(|(f, _)| *f > seg.first_seq))
    }
}

/// The seq of the last entry in the journal in `dir` (0 if empty), read
/// from the newest segment's valid frames without taking the writer lock.
pub fn last_seq(dir: &Path) -> Result<u64, JournalError> {
    let Some(&(first, _)) = segment::list(dir)?.last() else {
        return Ok(0);
    };
    let mut reader = Reader::open(dir, first)?;
    let mut last = first.saturating_sub(1);
    while let Some(entry) = reader.next()? {
        last = entry.seq;
    }
    Ok(last)
}
