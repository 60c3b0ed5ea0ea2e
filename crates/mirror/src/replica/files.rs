//! The replica files: opened on demand (parents created on the fly) and
//! kept open, written, truncated, renamed and deleted, and fsynced together
//! with the directories whose entries changed.
//!
//! No lock is taken on a replica file: readers (reports, `drx verify`, an
//! extract) read while apply goes on.

use super::error::Refusal;
use super::path_map::{PathMap, ResolveError, Target, check_file};
use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// Why an effect could not be applied to a replica file.
#[derive(Debug)]
pub(crate) enum FileError {
    Refused(Refusal),
    /// A rename whose source (and target) the replica does not have.
    NotOnReplica(PathBuf),
    Io(PathBuf, io::Error),
}

impl From<ResolveError> for FileError {
    fn from(e: ResolveError) -> FileError {
        match e {
            ResolveError::Refused(r) => FileError::Refused(r),
            ResolveError::Io(p, e) => FileError::Io(p, e),
        }
    }
}

/// How a rename went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Renamed {
    /// The file was renamed.
    Done,
    /// The source is gone and the target is there: done before (a replay).
    AlreadyDone,
}

#[derive(Debug)]
struct Handle {
    file: File,
    /// The real path (the parent directory resolved).
    real: PathBuf,
    /// Written since its last fsync.
    dirty: bool,
}

/// The open replica files and what awaits an fsync.
#[derive(Debug)]
pub(crate) struct ReplicaFiles {
    handles: HashMap<Target, Handle>,
    /// Directories whose entries changed since the last sync.
    dirty_dirs: BTreeSet<PathBuf>,
    max_open: usize,
}

impl ReplicaFiles {
    pub fn new(max_open: usize) -> ReplicaFiles {
        ReplicaFiles {
            handles: HashMap::new(),
            dirty_dirs: BTreeSet::new(),
            max_open: max_open.max(1),
        }
    }

    /// Whether anything awaits an fsync.
    pub fn is_dirty(&self) -> bool {
        !self.dirty_dirs.is_empty() || self.handles.values().any(|h| h.dirty)
    }

    /// The real directory holding `target` (created with its parents when
    /// `create`), or `None` when it is missing and not to be created. The
    /// directories are walked again at each call (a file is opened once and
    /// kept open), so that one replaced by a link out of the root since is
    /// seen.
    fn parent(
        &mut self,
        map: &PathMap,
        target: &Target,
        create: bool,
    ) -> Result<Option<PathBuf>, FileError> {
        let mut created = Vec::new();
        let found = map
            .root(target)
            .parent_dir(&target.rel, create, &mut created);
        for dir in created {
            // The new directory's entry is in its parent.
            if let Some(parent) = dir.parent() {
                self.dirty_dirs.insert(parent.to_owned());
            }
        }
        Ok(found?)
    }

    /// The real path of `target` (its parent created when `create`) and
    /// whether the file exists.
    fn locate(
        &mut self,
        map: &PathMap,
        target: &Target,
        create: bool,
    ) -> Result<Option<(PathBuf, bool)>, FileError> {
        let Some(dir) = self.parent(map, target, create)? else {
            return Ok(None);
        };
        let real = match target.rel.file_name() {
            Some(name) => dir.join(name),
            None => return Err(FileError::Refused(Refusal::NoFileName)),
        };
        let exists = check_file(&real)?;
        Ok(Some((real, exists)))
    }

    /// The open handle of `target`, the file created (empty) when missing,
    /// or emptied when `truncate`.
    fn handle(
        &mut self,
        map: &PathMap,
        target: &Target,
        truncate: bool,
    ) -> Result<&mut Handle, FileError> {
        if self.handles.contains_key(target) {
            let handle = self
                .handles
                .get_mut(target)
                .ok_or(FileError::Refused(Refusal::NoFileName))?;
            if truncate {
                handle
                    .file
                    .set_len(0)
                    .map_err(|e| FileError::Io(handle.real.clone(), e))?;
                handle.dirty = true;
            }
            return Ok(handle);
        }
        let opened = self.open(map, target, truncate)?;
        self.make_room(target)?;
        Ok(self.handles.entry(target.clone()).or_insert(opened))
    }

    fn open(
        &mut self,
        map: &PathMap,
        target: &Target,
        truncate: bool,
    ) -> Result<Handle, FileError> {
        let Some((real, exists)) = self.locate(map, target, true)? else {
            return Err(FileError::Io(
                map.path(target),
                io::Error::from(io::ErrorKind::NotFound),
            ));
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(truncate)
            .open(&real)
            .map_err(|e| FileError::Io(real.clone(), e))?;
        if !exists && let Some(dir) = real.parent() {
            self.dirty_dirs.insert(dir.to_owned());
        }
        Ok(Handle {
            file,
            real,
            dirty: truncate || !exists,
        })
    }

    /// Closes a handle (fsynced first when written) if no room is left for
    /// another besides `keep`.
    fn make_room(&mut self, keep: &Target) -> Result<(), FileError> {
        if self.handles.len() < self.max_open {
            return Ok(());
        }
        let Some(victim) = self.handles.keys().find(|t| *t != keep).cloned() else {
            return Ok(());
        };
        if let Some(handle) = self.handles.remove(&victim)
            && handle.dirty
        {
            handle
                .file
                .sync_data()
                .map_err(|e| FileError::Io(handle.real.clone(), e))?;
        }
        Ok(())
    }

    /// `target` opened for reading by its path (what a reader of the
    /// replica sees: not an open handle, whose file may have been removed
    /// or replaced behind the standby's back), or `None` when the replica
    /// does not have it. Nothing is created. Writes are positioned writes
    /// without a buffer, so everything applied is there.
    pub fn open_for_reading(
        &mut self,
        map: &PathMap,
        target: &Target,
    ) -> Result<Option<File>, FileError> {
        match self.locate(map, target, false)? {
            Some((real, true)) => File::open(&real)
                .map(Some)
                .map_err(|e| FileError::Io(real, e)),
            _ => Ok(None),
        }
    }

    /// Creates `target`, or empties it.
    pub fn create(&mut self, map: &PathMap, target: &Target) -> Result<(), FileError> {
        self.handle(map, target, true).map(|_| ())
    }

    /// Writes `data` at `offset` (the file created when missing).
    pub fn write(
        &mut self,
        map: &PathMap,
        target: &Target,
        offset: u64,
        data: &[u8],
    ) -> Result<(), FileError> {
        let handle = self.handle(map, target, false)?;
        handle
            .file
            .write_all_at(data, offset)
            .map_err(|e| FileError::Io(handle.real.clone(), e))?;
        handle.dirty = true;
        Ok(())
    }

    /// Cuts or zero-extends `target` to `len` bytes (created when missing).
    pub fn truncate(&mut self, map: &PathMap, target: &Target, len: u64) -> Result<(), FileError> {
        let handle = self.handle(map, target, false)?;
        handle
            .file
            .set_len(len)
            .map_err(|e| FileError::Io(handle.real.clone(), e))?;
        handle.dirty = true;
        Ok(())
    }

    /// Renames `from` to `to`, replacing `to`. A missing source with the
    /// target present was renamed before (a replay after a crash).
    pub fn rename(
        &mut self,
        map: &PathMap,
        from: &Target,
        to: &Target,
    ) -> Result<Renamed, FileError> {
        let source = self.locate(map, from, false)?;
        let Some((to_real, to_exists)) = self.locate(map, to, true)? else {
            return Err(FileError::Io(
                map.path(to),
                io::Error::from(io::ErrorKind::NotFound),
            ));
        };
        let from_real = match source {
            Some((real, true)) => real,
            Some((real, false)) if !to_exists => return Err(FileError::NotOnReplica(real)),
            None if !to_exists => return Err(FileError::NotOnReplica(map.path(from))),
            _ => {
                // A handle left under the old name would write to the target.
                self.handles.remove(from);
                return Ok(Renamed::AlreadyDone);
            }
        };
        if from_real == to_real {
            return Ok(Renamed::Done);
        }
        fs::rename(&from_real, &to_real).map_err(|e| FileError::Io(from_real.clone(), e))?;
        self.handles.remove(to);
        if let Some(mut handle) = self.handles.remove(from) {
            handle.real = to_real.clone();
            self.handles.insert(to.clone(), handle);
        }
        for path in [&from_real, &to_real] {
            if let Some(dir) = path.parent() {
                self.dirty_dirs.insert(dir.to_owned());
            }
        }
        Ok(Renamed::Done)
    }

    /// Deletes `target`; a file already gone is no error.
    pub fn delete(&mut self, map: &PathMap, target: &Target) -> Result<(), FileError> {
        self.handles.remove(target);
        let Some((real, exists)) = self.locate(map, target, false)? else {
            return Ok(());
        };
        if !exists {
            return Ok(());
        }
        match fs::remove_file(&real) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(FileError::Io(real, e)),
        }
        if let Some(dir) = real.parent() {
            self.dirty_dirs.insert(dir.to_owned());
        }
        Ok(())
    }

    /// Fsyncs every file written and every directory changed since the
    /// last sync.
    pub fn sync(&mut self) -> Result<(), (PathBuf, io::Error)> {
        for handle in self.handles.values_mut().filter(|h| h.dirty) {
            handle
                .file
                .sync_data()
                .map_err(|e| (handle.real.clone(), e))?;
            handle.dirty = false;
        }
        while let Some(dir) = self.dirty_dirs.first().cloned() {
            match File::open(&dir).and_then(|d| d.sync_all()) {
                Ok(()) => {}
                // Gone since (a directory is never removed by the replica).
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err((dir, e)),
            }
            self.dirty_dirs.remove(&dir);
        }
        Ok(())
    }
}
