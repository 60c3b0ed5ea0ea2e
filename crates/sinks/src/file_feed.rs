//! A feed file (CSV, XML) with a sidecar checkpoint.
//!
//! Data is appended and fsynced first; then the checkpoint file
//! (`<data>.ckpt`: the last applied seq, the resume seq and the confirmed
//! byte length) is replaced atomically. On open, anything past the confirmed
//! length — a batch cut short by a crash, or the closing footer of a clean
//! end — is cut off, so the feed continues exactly where its checkpoint says.

use crate::sink::io;
use crate::{Checkpoint, SinkError};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

const MAGIC: &str = "drx-feed-checkpoint 1";

#[derive(Debug)]
pub(crate) struct FileFeed {
    data_path: PathBuf,
    ckpt_path: PathBuf,
    out: BufWriter<File>,
    /// Bytes of the data file covered by the stored checkpoint.
    confirmed_len: u64,
    /// Bytes written so far (confirmed or not).
    written_len: u64,
    stored: Option<Checkpoint>,
    pending: Option<Checkpoint>,
    footer: Vec<u8>,
}

impl FileFeed {
    /// Opens the feed at `data_path`, cutting any unconfirmed tail; a new
    /// feed starts with `header`, and a clean end writes `footer`.
    pub fn open(data_path: PathBuf, header: &[u8], footer: &[u8]) -> Result<FileFeed, SinkError> {
        if let Some(dir) = data_path.parent() {
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
        let file = OpenOptions::new()
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
        if len > confirmed_len {
            tracing::info!(file = %data_path.display(), cut = len - confirmed_len, "cutting the unconfirmed tail");
            file.set_len(confirmed_len).map_err(io(&data_path))?;
        }
        let mut file = file;
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(confirmed_len)).map_err(io(&data_path))?;
        let mut feed = FileFeed {
            out: BufWriter::with_capacity(1 << 20, file),
            data_path,
            ckpt_path,
            confirmed_len,
            written_len: confirmed_len,
            stored,
            pending: None,
            footer: footer.to_vec(),
        };
        if confirmed_len == 0 {
            feed.write(header)?;
        }
        Ok(feed)
    }

    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.stored
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.out.write_all(bytes).map_err(io(&self.data_path))?;
        self.written_len += bytes.len() as u64;
        Ok(())
    }

    /// The checkpoint to store at the next commit.
    pub fn set_pending(&mut self, checkpoint: Checkpoint) {
        self.pending = Some(checkpoint);
    }

    /// Data fsynced, then the checkpoint replaced atomically.
    pub fn commit(&mut self) -> Result<(), SinkError> {
        let Some(checkpoint) = self.pending.take() else {
            return Ok(());
        };
        self.out.flush().map_err(io(&self.data_path))?;
        self.out.get_ref().sync_data().map_err(io(&self.data_path))?;
        let text = format!(
            "{MAGIC}\napplied {}\nresume {}\nlength {}\n",
            checkpoint.applied, checkpoint.resume, self.written_len
        );
        let mut tmp = self.ckpt_path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(text.as_bytes()).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, &self.ckpt_path).map_err(io(&self.ckpt_path))?;
        if let Some(dir) = self.ckpt_path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
        }
        self.confirmed_len = self.written_len;
        self.stored = Some(checkpoint);
        Ok(())
    }

    /// Commits, then writes the footer (outside the confirmed length).
    pub fn finish(&mut self) -> Result<(), SinkError> {
        self.commit()?;
        let footer = std::mem::take(&mut self.footer);
        self.out.write_all(&footer).map_err(io(&self.data_path))?;
        self.out.flush().map_err(io(&self.data_path))?;
        self.out.get_ref().sync_data().map_err(io(&self.data_path))?;
        self.written_len += footer.len() as u64;
        self.footer = footer;
        // A second finish must not write the footer again.
        self.confirmed_len = self.written_len;
        self.footer.clear();
        Ok(())
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
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| bad(format!("line {n}: expected `{name} <number>`, found `{line}`")))
    };
    let applied = field(2, "applied")?;
    let resume = field(3, "resume")?;
    let length = field(4, "length")?;
    Ok((Some(Checkpoint { applied, resume }), length))
}
