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
use std::sync::{Arc, Condvar, Mutex};

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
    /// Makes commits durable in the background.
    syncer: Syncer,
    /// Changes between commits, and changes since the last one.
    commit_every: u64,
    since_commit: u64,
}

impl FileFeed {
    /// Opens the feed at `data_path`, cutting any unconfirmed tail; a new
    /// feed starts with `header`, and a clean end writes `footer`.
    pub fn open(
        commit_every: u64,
        data_path: PathBuf,
        header: &[u8],
        footer: &[u8],
    ) -> Result<FileFeed, SinkError> {
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
        let syncer = Syncer::start(
            file.try_clone().map_err(io(&data_path))?,
            data_path.clone(),
            ckpt_path.clone(),
        );
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
            syncer,
            commit_every: commit_every.max(1),
            since_commit: 0,
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

    /// Records that `changes` more changes were written up to `checkpoint`;
    /// every `commit_every` changes the feed commits (durable in the
    /// background while the next batches render).
    pub fn applied(&mut self, checkpoint: Checkpoint, changes: u64) -> Result<(), SinkError> {
        self.set_pending(checkpoint);
        self.since_commit += changes;
        if self.since_commit >= self.commit_every {
            self.commit()?;
        }
        Ok(())
    }

    /// The checkpoint to store at the next commit.
    pub fn set_pending(&mut self, checkpoint: Checkpoint) {
        self.pending = Some(checkpoint);
    }

    /// Hands the pending checkpoint to the background syncer, which fsyncs
    /// the data written so far and then replaces the checkpoint file
    /// atomically; rendering goes on meanwhile. A newer commit supersedes one
    /// the syncer has not started. An earlier background failure is returned
    /// here (and the feed must be reopened).
    pub fn commit(&mut self) -> Result<(), SinkError> {
        self.guard(|feed| {
            feed.syncer.check()?;
            let Some(checkpoint) = feed.pending else {
                return Ok(());
            };
            feed.out.flush().map_err(io(&feed.data_path))?;
            feed.syncer.submit(Job {
                checkpoint,
                length: feed.written_len,
            });
            feed.stored = Some(checkpoint);
            feed.pending = None;
            feed.since_commit = 0;
            Ok(())
        })
    }

    /// Commits and waits until every commit is durable.
    pub fn commit_and_wait(&mut self) -> Result<(), SinkError> {
        self.commit()?;
        self.guard(|feed| feed.syncer.wait())
    }

    /// Commits, then writes the footer (outside the confirmed length, so
    /// that a reopen cuts it and continues the feed). Finishing twice writes
    /// one footer.
    pub fn finish(&mut self) -> Result<(), SinkError> {
        self.commit_and_wait()?;
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

/// A checkpoint to make durable, with the data length it covers.
#[derive(Debug, Clone, Copy)]
struct Job {
    checkpoint: Checkpoint,
    length: u64,
}

#[derive(Debug, Default)]
struct SyncState {
    /// The newest job not started yet.
    job: Option<Job>,
    /// A job is being made durable.
    busy: bool,
    /// The failure of a background sync: path, kind, message.
    error: Option<(PathBuf, std::io::ErrorKind, String)>,
    /// The feed is closing: finish the jobs, then end.
    stop: bool,
}

type Shared = Arc<(Mutex<SyncState>, Condvar)>;

/// The background thread that makes commits durable: fsync the data, then
/// write the checkpoint file (tmp + fsync + rename + directory fsync). Its
/// channel, `shared`, is owned by the feed; the thread only takes jobs and
/// reports errors. Dropping the syncer finishes the queued job and joins.
#[derive(Debug)]
struct Syncer {
    shared: Shared,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Syncer {
    fn start(data: File, data_path: PathBuf, ckpt_path: PathBuf) -> Syncer {
        let shared: Shared = Arc::default();
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("drx-feed-sync".into())
            .spawn(move || sync_loop(&theirs, &data, &data_path, &ckpt_path))
            .ok();
        Syncer { shared, thread }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        // A poisoned lock means the syncer panicked: its state is still plain data.
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn error(state: &SyncState) -> Result<(), SinkError> {
        match &state.error {
            Some((path, kind, message)) => Err(SinkError::Io {
                path: path.clone(),
                source: std::io::Error::new(*kind, message.clone()),
            }),
            None => Ok(()),
        }
    }

    fn check(&self) -> Result<(), SinkError> {
        Syncer::error(&self.lock())
    }

    fn submit(&self, job: Job) {
        self.lock().job = Some(job);
        self.shared.1.notify_all();
    }

    /// Waits until no job is queued or running.
    fn wait(&self) -> Result<(), SinkError> {
        if self.thread.is_none() {
            return Err(SinkError::Config(
                "the feed's sync thread could not start".into(),
            ));
        }
        let mut state = self.lock();
        while state.job.is_some() || state.busy {
            state = self.shared.1.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        Syncer::error(&state)
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.lock().stop = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn sync_loop(shared: &Shared, data: &File, data_path: &Path, ckpt_path: &Path) {
    let (lock, signal) = &**shared;
    loop {
        let job = {
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            while state.job.is_none() && !state.stop {
                state = signal.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            match state.job.take() {
                Some(job) if state.error.is_none() => {
                    state.busy = true;
                    job
                }
                _ => {
                    signal.notify_all();
                    if state.stop {
                        return;
                    }
                    continue;
                }
            }
        };
        let result = make_durable(job, data, data_path, ckpt_path);
        let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
        state.busy = false;
        if let Err((path, e)) = result {
            state.error = Some((path, e.kind(), e.to_string()));
        }
        signal.notify_all();
    }
}

fn make_durable(
    job: Job,
    data: &File,
    data_path: &Path,
    ckpt_path: &Path,
) -> Result<(), (PathBuf, std::io::Error)> {
    fn at(p: &Path) -> impl FnOnce(std::io::Error) -> (PathBuf, std::io::Error) + '_ {
        move |e| (p.to_owned(), e)
    }
    data.sync_data().map_err(at(data_path))?;
    let text = format!(
        "{MAGIC}\napplied {}\nresume {}\nlength {}\n",
        job.checkpoint.applied, job.checkpoint.resume, job.length
    );
    let mut tmp = ckpt_path.to_owned().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp).map_err(at(&tmp))?;
        f.write_all(text.as_bytes()).map_err(at(&tmp))?;
        f.sync_all().map_err(at(&tmp))?;
    }
    std::fs::rename(&tmp, ckpt_path).map_err(at(ckpt_path))?;
    let dir = match ckpt_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
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
