//! Copying a critical file while applications write it, and reading
//! ranges of it again after an abort.

use super::footprint::Footprint;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;

/// How the copy reads (a test slows it down to widen the window in which
/// applications write).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Bytes per read (at least 1).
    pub chunk: usize,
    /// A pause after each read.
    pub pause: Duration,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            chunk: CHUNK,
            pause: Duration::ZERO,
        }
    }
}

/// A file being backed up: where it is, and its copy.
#[derive(Debug)]
pub(crate) struct CopiedFile {
    /// The original, as the journal names it.
    pub journal_path: String,
    /// The original.
    pub source: PathBuf,
    /// The copy.
    pub copy: PathBuf,
    /// The copy's length.
    pub len: u64,
}

/// What a re-read read.
#[derive(Debug, Default)]
pub(crate) struct Reread {
    /// The bytes read, and the last byte of the length seen (an aborted
    /// transaction that extended the file wrote it).
    pub read: Footprint,
    /// Ranges read.
    pub ranges: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Copies `source` to `copy` (created), `pace.chunk` bytes at a time up to
/// the end of the file as it is when the reads reach it. `None` when the
/// source does not exist (any more).
pub(crate) fn copy_file(source: &Path, copy: &Path, pace: Pace) -> io::Result<Option<u64>> {
    let src = match File::open(source) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let dst = File::create(copy)?;
    let mut buf = vec![0u8; pace.chunk.max(1)];
    let mut at = 0u64;
    loop {
        let n = src.read_at(&mut buf, at)?;
        if n == 0 {
            break;
        }
        dst.write_all_at(&buf[..n], at)?;
        at += n as u64;
        if !pace.pause.is_zero() {
            std::thread::sleep(pace.pause);
        }
    }
    dst.set_len(at)?;
    Ok(Some(at))
}

/// Reads again into the copy the bytes of `file` that `footprint` covers,
/// as the source is now. The copy keeps its length unless the source is
/// shorter now (it takes the source's length), or the footprint covers
/// the whole file (it takes the source's length and all its bytes). Bytes
/// the source gained past the copy's end are not read: the journal range
/// holds the writes that put them there. A source gone meanwhile (deleted,
/// which the journal says) leaves the copy as it is.
pub(crate) fn reread(file: &mut CopiedFile, footprint: &Footprint) -> io::Result<Reread> {
    let src = match File::open(&file.source) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Reread::default()),
        Err(e) => return Err(e),
    };
    let dst = OpenOptions::new().write(true).open(&file.copy)?;
    let now = src.metadata()?.len();
    let len = if footprint.is_whole() {
        now
    } else {
        now.min(file.len)
    };
    let mut wanted = Footprint::default();
    for (s, e) in footprint.within(len) {
        wanted.add(s, e);
    }
    let mut out = Reread::default();
    let mut buf = vec![0u8; CHUNK];
    for &(start, end) in wanted.ranges() {
        let mut at = start;
        while at < end {
            let want = usize::try_from(end - at).map_or(CHUNK, |n| n.min(CHUNK));
            let n = src.read_at(&mut buf[..want], at)?;
            if n == 0 {
                // Cut meanwhile: the journal has the truncate, and the
                // next round reads the whole file again.
                out.read.merge(&Footprint::whole());
                break;
            }
            dst.write_all_at(&buf[..n], at)?;
            at += n as u64;
        }
        out.read.add(start, at);
        out.ranges += 1;
        out.bytes += at - start;
    }
    // A length taken from the source is a read of its last byte (a
    // transaction that extended the file wrote it).
    if len != file.len && len > 0 {
        out.read.add(len - 1, len);
    }
    dst.set_len(len)?;
    file.len = len;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reread_restores_ranges_and_length() {
        let dir = tempfile::tempdir().unwrap();
        let (src, cp) = (dir.path().join("src"), dir.path().join("copy"));
        std::fs::write(&src, b"0123456789ABCDEF").unwrap();
        assert_eq!(
            copy_file(
                &src,
                &cp,
                Pace {
                    chunk: 3,
                    ..Pace::default()
                }
            )
            .unwrap(),
            Some(16)
        );
        assert_eq!(std::fs::read(&cp).unwrap(), b"0123456789ABCDEF");
        // The source is changed back (an undo) and shortened.
        std::fs::write(&src, b"01234xx789AB").unwrap();
        let mut f = CopiedFile {
            journal_path: src.display().to_string(),
            source: src.clone(),
            copy: cp.clone(),
            len: 16,
        };
        let mut fp = Footprint::default();
        fp.add(5, 7);
        fp.add(14, 20);
        let r = reread(&mut f, &fp).unwrap();
        assert_eq!(std::fs::read(&cp).unwrap(), b"01234xx789AB");
        assert_eq!((r.ranges, r.bytes, f.len), (1, 2, 12));
        assert!(r.read.overlaps(&{
            let mut last = Footprint::default();
            last.add(11, 12);
            last
        }));
        assert_eq!(
            copy_file(&dir.path().join("none"), &cp, Pace::default()).unwrap(),
            None
        );
        // Grown since: the growth is not read, the copy keeps its length.
        std::fs::write(&src, b"0123456789ABCDEFGHIJ").unwrap();
        std::fs::write(&cp, b"0123456789ABCDEF").unwrap();
        f.len = 16;
        let mut fp = Footprint::default();
        fp.add(3, 30);
        let r = reread(&mut f, &fp).unwrap();
        assert_eq!(std::fs::read(&cp).unwrap(), b"0123456789ABCDEF");
        assert_eq!((r.bytes, f.len), (13, 16));
        // A whole footprint takes the source as it is.
        let r = reread(&mut f, &Footprint::whole()).unwrap();
        assert_eq!(std::fs::read(&cp).unwrap(), b"0123456789ABCDEFGHIJ");
        assert_eq!((r.bytes, f.len), (20, 20));
    }
}
