//! A feed file (CSV, XML) with a sidecar checkpoint.
//!
//! Data is appended and fsynced first; then the checkpoint file
//! (`<data>.ckpt`: the last applied seq, the resume seq and the confirmed
//! byte length) is replaced atomically. On open, anything past the confirmed
//! length — a batch cut short by a crash, or the closing footer of a clean
//! end — is cut off, so the feed continues exactly where its checkpoint says.
//!
//! A feed only ever cuts a file that starts with its own header: a file that
//! does not (another program's file, or a feed written with another layout,
//! delimiter or root element) is an error, never truncated or appended to.
//! After a failed write or commit the feed refuses further work: what is on
//! disk past the checkpoint is unknown, and reopening cuts it.

use crate::sink::io;
use crate::{Checkpoint, SinkError};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &str = "drx-feed-checkpoint 1";

#[derive(Debug)]
pub(crate) struct FileFeed {
    data_path: PathBuf,
    ckpt_path: PathBuf,
    out: BufWriter<File>,
    /// Bytes written so far (confirmed or not), the footer excluded.
    written_len: u64,
    stored: Option<Checkpoint>,
    pending: Option<Checkpoint>,
    footer: Vec<u8>,
    /// Whether the footer is on disk past `written_len` (after `finish`).
    footer_written: bool,
    /// Set when a write or commit failed: the feed must be reopened.
    broken: bool,
}

impl FileFeed {
    /// Opens the feed at `data_path`, cutting any unconfirmed tail; a new
    /// feed starts with `header`, and a clean end writes `footer`.
    pub fn open(data_path: PathBuf, header: &[u8], footer: &[u8]) -> Result<FileFeed, SinkError> {
        if let Some(dir) = data_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut ckpt_path = data_path.clone().into_os_string();
        ckpt_path.push(".ckpt");
        let ckpt_path = PathBuf::from(ckpt_path);
        let (stored, confirmed_len) = match std::fs::read_to_string(&ckpt_path) {
            Ok(text) => parse_checkpoint(&ckpt_path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, 0),
            Err(e) => return Err(io(&ckpt_path)(e)),
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&data_path)
            .map_err(io(&data_path))?;
        let len = file.metadata().map_err(io(&data_path))?.len();
        if len < confirmed_len {
            return Err(SinkError::Checkpoint {
                path: ckpt_path,
                message: format!(
                    "confirms {confirmed_len} bytes of {} but the file has only {len}: the feed was changed behind drx's back",
                    data_path.display()
                ),
            });
        }
        if stored.is_some() && confirmed_len < header.len() as u64 {
            return Err(SinkError::Checkpoint {
                path: ckpt_path,
                message: format!(
                    "confirms {confirmed_len} bytes of {}, less than its {}-byte header",
                    data_path.display(),
                    header.len()
                ),
            });
        }
        // What the file must start with: the whole header when some of it is
        // confirmed, else (a crash before the first commit) a part of it.
        let check = if confirmed_len > 0 {
            header.len()
        } else {
            header.len().min(len as usize)
        };
        let mut start = vec![0; check];
        file.read_exact(&mut start).map_err(io(&data_path))?;
        if start != header[..check] {
            return Err(SinkError::Config(format!(
                "{}: does not start with the header this sink writes{}: it is not this sink's feed, or the layout, \
                 delimiter or root element changed; move it away (with its .ckpt) to start a new feed",
                data_path.display(),
                if stored.is_some() {
                    ""
                } else {
                    " and has no checkpoint"
                },
            )));
        }
        if len > confirmed_len {
            tracing::info!(file = %data_path.display(), cut = len - confirmed_len, "cutting the unconfirmed tail");
            file.set_len(confirmed_len).map_err(io(&data_path))?;
        }
        file.seek(SeekFrom::Start(confirmed_len))
            .map_err(io(&data_path))?;
        let mut feed = FileFeed {
            out: BufWriter::with_capacity(1 << 20, file),
            data_path,
            ckpt_path,
            written_len: confirmed_len,
            stored,
            pending: None,
            footer: footer.to_vec(),
            footer_written: false,
            broken: false,
        };
        if confirmed_len == 0 {
            feed.write(header)?;
        }
        Ok(feed)
    }

    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.stored
    }

    fn check_usable(&self) -> Result<(), SinkError> {
        if self.broken {
            return Err(SinkError::Checkpoint {
                path: self.ckpt_path.clone(),
                message: format!(
                    "an earlier write to {} failed; reopen the sink to continue from its checkpoint",
                    self.data_path.display()
                ),
            });
        }
        Ok(())
    }

    /// Runs `f`; a failure leaves the feed broken.
    fn guard<T>(
        &mut self,
        f: impl FnOnce(&mut FileFeed) -> Result<T, SinkError>,
    ) -> Result<T, SinkError> {
        self.check_usable()?;
        let r = f(self);
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.guard(|feed| {
            if feed.footer_written {
                // Written after a finish: the footer goes, and comes back at the next finish.
                feed.out.flush().map_err(io(&feed.data_path))?;
                let file = feed.out.get_mut();
                file.set_len(feed.written_len)
                    .map_err(io(&feed.data_path))?;
                file.seek(SeekFrom::Start(feed.written_len))
                    .map_err(io(&feed.data_path))?;
                feed.footer_written = false;
            }
            feed.out.write_all(bytes).map_err(io(&feed.data_path))?;
            feed.written_len += bytes.len() as u64;
            Ok(())
        })
    }

    /// The checkpoint to store at the next commit.
    pub fn set_pending(&mut self, checkpoint: Checkpoint) {
        self.pending = Some(checkpoint);
    }

    /// Data fsynced, then the checkpoint replaced atomically.
    pub fn commit(&mut self) -> Result<(), SinkError> {
        self.guard(|feed| {
            // The pending checkpoint stays until it is stored, so that a
            // failed commit is never mistaken for a done one.
            let Some(checkpoint) = feed.pending else {
                return Ok(());
            };
            feed.out.flush().map_err(io(&feed.data_path))?;
            feed.out
                .get_ref()
                .sync_data()
                .map_err(io(&feed.data_path))?;
            let text = format!(
                "{MAGIC}\napplied {}\nresume {}\nlength {}\n",
                checkpoint.applied, checkpoint.resume, feed.written_len
            );
            let mut tmp = feed.ckpt_path.clone().into_os_string();
            tmp.push(".tmp");
            let tmp = PathBuf::from(tmp);
            {
                let mut f = File::create(&tmp).map_err(io(&tmp))?;
                f.write_all(text.as_bytes()).map_err(io(&tmp))?;
                f.sync_all().map_err(io(&tmp))?;
            }
            std::fs::rename(&tmp, &feed.ckpt_path).map_err(io(&feed.ckpt_path))?;
            let dir = match feed.ckpt_path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io(dir))?;
            feed.stored = Some(checkpoint);
            feed.pending = None;
            Ok(())
        })
    }

    /// Commits, then writes the footer (outside the confirmed length, so
    /// that a reopen cuts it and continues the feed). Finishing twice writes
    /// one footer.
    pub fn finish(&mut self) -> Result<(), SinkError> {
        self.commit()?;
        self.guard(|feed| {
            if !feed.footer_written {
                feed.out
                    .write_all(&feed.footer)
                    .map_err(io(&feed.data_path))?;
                feed.footer_written = true;
            }
            feed.out.flush().map_err(io(&feed.data_path))?;
            feed.out.get_ref().sync_data().map_err(io(&feed.data_path))
        })
    }
}

fn parse_checkpoint(path: &Path, text: &str) -> Result<(Option<Checkpoint>, u64), SinkError> {
    let bad = |message: String| SinkError::Checkpoint {
        path: path.to_owned(),
        message,
    };
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(bad(format!("line 1: expected `{MAGIC}`")));
    }
    let mut field = |n: usize, name: &str| -> Result<u64, SinkError> {
        let line = lines.next().unwrap_or("");
        line.strip_prefix(name)
            .filter(|v| v.starts_with(' '))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| {
                bad(format!(
                    "line {n}: expected `{name} <number>`, found `{line}`"
                ))
            })
    };
    let applied = field(2, "applied")?;
    let resume = field(3, "resume")?;
    let length = field(4, "length")?;
    Ok((Some(Checkpoint { applied, resume }), length))
}
