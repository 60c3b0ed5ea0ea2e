//! From a journal path to a replica path, confined to the replica roots.
//!
//! The mapping is lexical ([`PathMap::map`]): the Files Table record that
//! selects the journal path gives the directory (`destination_dir`, the
//! file keeping its name); without one, the journal path is placed under
//! the first replica root (`/prod/data/a.dat` → `<root>/prod/data/a.dat`),
//! its first component (the primary's "system") replaced by the
//! `substitute_system_name` when there is one (`<root>/<name>/data/a.dat`).
//! A path with a `..` component (in the journal path or in the
//! `destination_dir`), or outside every root, is refused.
//!
//! The file system is consulted only when a file is opened
//! ([`Root::parent_dir`]): the directories are walked down from the
//! canonical root, one component at a time, so that a symbolic link is
//! followed only if what it leads to is inside the root, and the replica
//! file itself is never a link ([`check_file`]).

use super::config::ReplicaConfig;
use super::error::{Refusal, ReplicaError};
use drx_config::{FilesTable, normalize};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// A replica file: the index of its root, and its path below the root
/// (normal components only, at least one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    pub root: usize,
    pub rel: PathBuf,
}

/// A replica root, as configured (normalized) and as the file system
/// resolves it.
#[derive(Debug)]
pub(crate) struct Root {
    pub lexical: PathBuf,
    pub canonical: PathBuf,
}

/// Why a target could not be resolved on disk.
#[derive(Debug)]
pub(crate) enum ResolveError {
    Refused(Refusal),
    Io(PathBuf, io::Error),
}

/// Mapped journal paths kept at most; the cache is emptied past this.
const CACHE_LIMIT: usize = 1 << 16;

/// The path mapping of a replica.
#[derive(Debug)]
pub(crate) struct PathMap {
    roots: Vec<Root>,
    files: FilesTable,
    home: PathBuf,
    substitute: Option<String>,
    /// Journal path → (the process it was mapped for, the outcome).
    cache: HashMap<String, (String, Result<Target, Refusal>)>,
}

impl PathMap {
    /// Creates the roots that do not exist yet and resolves them.
    pub fn new(config: &ReplicaConfig) -> Result<PathMap, ReplicaError> {
        if config.roots.is_empty() {
            return Err(ReplicaError::Config(
                "no replica roots: the standby may write nowhere ([mirror] replica_roots)".into(),
            ));
        }
        if let Some(name) = &config.substitute_system_name {
            let mut components = Path::new(name).components();
            if !matches!(
                (components.next(), components.next()),
                (Some(Component::Normal(_)), None)
            ) {
                return Err(ReplicaError::Config(format!(
                    "substitute_system_name {name:?} must be one plain name"
                )));
            }
        }
        let mut roots = Vec::with_capacity(config.roots.len());
        for root in &config.roots {
            if !root.is_absolute() {
                return Err(ReplicaError::Config(format!(
                    "replica root {} is not absolute",
                    root.display()
                )));
            }
            let lexical = normalize(root);
            fs::create_dir_all(&lexical).map_err(ReplicaError::io(0, &lexical))?;
            let canonical = fs::canonicalize(&lexical).map_err(ReplicaError::io(0, &lexical))?;
            roots.push(Root { lexical, canonical });
        }
        Ok(PathMap {
            roots,
            files: config.files.clone(),
            home: config.home.clone(),
            substitute: config.substitute_system_name.clone(),
            cache: HashMap::new(),
        })
    }

    pub fn roots(&self) -> &[Root] {
        &self.roots
    }

    pub fn root(&self, target: &Target) -> &Root {
        &self.roots[target.root]
    }

    /// The replica path of a target, as configured (before symbolic links
    /// inside the root are resolved).
    pub fn path(&self, target: &Target) -> PathBuf {
        self.roots[target.root].lexical.join(&target.rel)
    }

    /// Maps the journal path of an entry of `process`.
    pub fn map(&mut self, process: &str, journal_path: &str) -> Result<Target, Refusal> {
        if let Some((p, outcome)) = self.cache.get(journal_path)
            && p == process
        {
            return outcome.clone();
        }
        let outcome = self.map_uncached(process, journal_path);
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(
            journal_path.to_owned(),
            (process.to_owned(), outcome.clone()),
        );
        outcome
    }

    fn map_uncached(&self, process: &str, journal_path: &str) -> Result<Target, Refusal> {
        let path = Path::new(journal_path);
        if has_parent_dir(path) {
            return Err(Refusal::ParentDir);
        }
        if !path.is_absolute() {
            return Err(Refusal::NotAbsolute);
        }
        let path = normalize(path);
        let name = path.file_name().ok_or(Refusal::NoFileName)?;
        let destination = self
            .files
            .select(process, &path)
            .and_then(|record| record.destination_dir.as_ref())
            .filter(|dir| !dir.as_os_str().is_empty());
        let mapped = match (destination, &self.substitute) {
            (Some(dir), _) => {
                if has_parent_dir(dir) {
                    return Err(Refusal::ParentDir);
                }
                normalize(&self.home.join(dir)).join(name)
            }
            (None, Some(system)) => {
                let mut names = path.components().filter_map(|c| match c {
                    Component::Normal(n) => Some(n),
                    _ => None,
                });
                let first = names.next();
                let rest: PathBuf = names.collect();
                let mut mapped = self.roots[0].lexical.join(system);
                if rest.as_os_str().is_empty() {
                    // A file right under `/`: it keeps its name.
                    mapped.extend(first);
                } else {
                    mapped.push(rest);
                }
                mapped
            }
            (None, None) => {
                let below: PathBuf = path
                    .components()
                    .filter(|c| matches!(c, Component::Normal(_)))
                    .collect();
                self.roots[0].lexical.join(below)
            }
        };
        let mapped = normalize(&mapped);
        // The innermost root that holds it.
        let mut best: Option<Target> = None;
        for (i, root) in self.roots.iter().enumerate() {
            for prefix in [&root.lexical, &root.canonical] {
                let Ok(rel) = mapped.strip_prefix(prefix) else {
                    continue;
                };
                let deeper = best
                    .as_ref()
                    .is_none_or(|b| rel.components().count() < b.rel.components().count());
                if !rel.as_os_str().is_empty() && deeper {
                    best = Some(Target {
                        root: i,
                        rel: rel.to_owned(),
                    });
                }
            }
        }
        best.ok_or(Refusal::OutsideRoots(mapped))
    }
}

fn has_parent_dir(path: &Path) -> bool {
    path.components().any(|c| c == Component::ParentDir)
}

impl Root {
    /// The real directory that holds the file `rel`, walked down from the
    /// canonical root one component at a time: a symbolic link is followed
    /// only when it leads to a directory inside the root. Missing
    /// directories are created when `create` is set (each pushed onto
    /// `created`); otherwise a missing one gives `Ok(None)`.
    pub fn parent_dir(
        &self,
        rel: &Path,
        create: bool,
        created: &mut Vec<PathBuf>,
    ) -> Result<Option<PathBuf>, ResolveError> {
        let mut dir = self.canonical.clone();
        let Some(parent) = rel.parent() else {
            return Ok(Some(dir));
        };
        for component in parent.components() {
            let Component::Normal(name) = component else {
                return Err(ResolveError::Refused(Refusal::ParentDir));
            };
            let next = dir.join(name);
            match fs::symlink_metadata(&next) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let out = || ResolveError::Refused(Refusal::SymlinkOutOfRoot(next.clone()));
                    let real = fs::canonicalize(&next).map_err(|_| out())?;
                    if !real.starts_with(&self.canonical) {
                        return Err(out());
                    }
                    if !real.is_dir() {
                        return Err(ResolveError::Refused(Refusal::NotADirectory(next)));
                    }
                    dir = real;
                }
                Ok(meta) if meta.is_dir() => dir = next,
                Ok(_) => return Err(ResolveError::Refused(Refusal::NotADirectory(next))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if !create {
                        return Ok(None);
                    }
                    match fs::create_dir(&next) {
                        Ok(()) => created.push(next.clone()),
                        // Made by someone else meanwhile: look again.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            if !fs::symlink_metadata(&next).is_ok_and(|m| m.is_dir()) {
                                return Err(ResolveError::Refused(Refusal::NotADirectory(next)));
                            }
                        }
                        Err(e) => return Err(ResolveError::Io(next, e)),
                    }
                    dir = next;
                }
                Err(e) => return Err(ResolveError::Io(next, e)),
            }
        }
        Ok(Some(dir))
    }
}

/// Whether the replica file `path` exists; a symbolic link, a directory or
/// a special file there is refused.
pub(crate) fn check_file(path: &Path) -> Result<bool, ResolveError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(ResolveError::Refused(Refusal::Symlink(path.to_owned())))
        }
        Ok(meta) if meta.is_file() => Ok(true),
        Ok(_) => Err(ResolveError::Refused(Refusal::NotAFile(path.to_owned()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ResolveError::Io(path.to_owned(), e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use drx_config::Config;

    fn map_with(toml: &str) -> (tempfile::TempDir, PathMap, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let home = fs::canonicalize(dir.path()).unwrap();
        let config = Config::parse("drx.toml", toml, &home).unwrap();
        let map = PathMap::new(&ReplicaConfig::from_config(&config)).unwrap();
        (dir, map, home)
    }

    #[test]
    fn without_destination_the_path_goes_under_the_first_root() {
        let (_d, mut map, home) = map_with(
            "[mirror]\nreplica_roots = [\"r1\", \"r2\"]\n[[files]]\nsource_path = \"/data/*\"\n",
        );
        let t = map.map("p", "/data/a.dat").unwrap();
        assert_eq!(t.root, 0);
        assert_eq!(map.path(&t), home.join("r1/data/a.dat"));
        // `.` components are dropped; the mapping does not depend on them.
        let t = map.map("p", "/data/./b.dat").unwrap();
        assert_eq!(map.path(&t), home.join("r1/data/b.dat"));
    }

    #[test]
    fn destination_dir_takes_the_file_name() {
        let (_d, mut map, home) = map_with(
            "[mirror]\nreplica_roots = [\"r1\", \"r2\"]\n\
             [[files]]\nprocess_name = \"app\"\nsource_path = \"/data/*.dat\"\ndestination_dir = \"r2/mirrored\"\n\
             [[files]]\nsource_path = \"/data/*\"\n",
        );
        let t = map.map("app", "/data/a.dat").unwrap();
        assert_eq!((t.root, map.path(&t)), (1, home.join("r2/mirrored/a.dat")));
        // Another process is selected by the second record: no destination.
        let t = map.map("other", "/data/a.dat").unwrap();
        assert_eq!(map.path(&t), home.join("r1/data/a.dat"));
        // The cache keeps the process apart.
        let t = map.map("app", "/data/a.dat").unwrap();
        assert_eq!(map.path(&t), home.join("r2/mirrored/a.dat"));
    }

    #[test]
    fn the_system_name_is_substituted() {
        let (_d, mut map, home) = map_with(
            "[global_settings]\nsubstitute_system_name = \"dr\"\n[mirror]\nreplica_roots = [\"r\"]\n\
             [[files]]\nsource_path = \"/prod/x/*\"\ndestination_dir = \"r/x\"\n",
        );
        let t = map.map("p", "/prod/data/a.dat").unwrap();
        assert_eq!(map.path(&t), home.join("r/dr/data/a.dat"));
        let t = map.map("p", "/top.dat").unwrap();
        assert_eq!(map.path(&t), home.join("r/dr/top.dat"));
        // A destination_dir wins over the substitution.
        let t = map.map("p", "/prod/x/b.dat").unwrap();
        assert_eq!(map.path(&t), home.join("r/x/b.dat"));
    }

    #[test]
    fn a_bad_system_name_is_a_config_error() {
        let (_d, map, home) = map_with("[mirror]\nreplica_roots = [\"r\"]\n");
        drop(map);
        for bad in ["a/b", "..", "/x", ""] {
            let config = ReplicaConfig {
                roots: vec![home.join("r")],
                state_dir: home.join("s"),
                files: FilesTable::default(),
                home: home.clone(),
                substitute_system_name: Some(bad.into()),
                max_open_files: 1,
            };
            assert!(
                matches!(PathMap::new(&config), Err(ReplicaError::Config(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn escapes_are_refused() {
        let (_d, mut map, _home) = map_with(
            "[mirror]\nreplica_roots = [\"r1\"]\n\
             [[files]]\nsource_path = \"/up/*\"\ndestination_dir = \"r1/../elsewhere\"\n\
             [[files]]\nsource_path = \"/abs/*\"\ndestination_dir = \"/tmp/outside-every-root\"\n",
        );
        assert_eq!(map.map("p", "../x"), Err(Refusal::ParentDir));
        assert_eq!(map.map("p", "/data/../../etc/x"), Err(Refusal::ParentDir));
        assert_eq!(map.map("p", "relative/x"), Err(Refusal::NotAbsolute));
        assert_eq!(map.map("p", "/"), Err(Refusal::NoFileName));
        assert_eq!(map.map("p", ""), Err(Refusal::NotAbsolute));
        assert_eq!(map.map("p", "/up/a"), Err(Refusal::ParentDir));
        assert!(matches!(
            map.map("p", "/abs/a"),
            Err(Refusal::OutsideRoots(p)) if p == Path::new("/tmp/outside-every-root/a")
        ));
    }

    #[test]
    fn symlinks_out_of_the_root_are_not_followed() {
        let (d, map, home) = map_with("[mirror]\nreplica_roots = [\"r1\"]\n");
        let outside = home.join("outside");
        fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, home.join("r1/out")).unwrap();
        std::os::unix::fs::symlink(home.join("r1/in"), home.join("r1/alias")).unwrap();
        fs::create_dir(home.join("r1/in")).unwrap();
        let root = &map.roots()[0];
        let mut created = Vec::new();
        assert!(matches!(
            root.parent_dir(Path::new("out/sub/f"), true, &mut created),
            Err(ResolveError::Refused(Refusal::SymlinkOutOfRoot(_)))
        ));
        assert!(created.is_empty());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        // A link inside the root is followed.
        let dir = root
            .parent_dir(Path::new("alias/sub/f"), true, &mut created)
            .unwrap();
        assert_eq!(dir, Some(home.join("r1/in/sub")));
        assert_eq!(created, vec![home.join("r1/in/sub")]);
        // Without `create`, a missing directory is just missing.
        assert!(
            root.parent_dir(Path::new("nope/f"), false, &mut created)
                .unwrap()
                .is_none()
        );
        std::os::unix::fs::symlink(outside.join("f"), home.join("r1/in/link")).unwrap();
        assert!(matches!(
            check_file(&home.join("r1/in/link")),
            Err(ResolveError::Refused(Refusal::Symlink(_)))
        ));
        drop(d);
    }
}
