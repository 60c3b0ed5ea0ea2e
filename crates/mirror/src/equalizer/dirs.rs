//! The directories a star-name in the directory part of an equalize
//! record's `source_path` matches on the primary (`apps/*/conf/*.cfg`):
//! walked component by component from the pattern's star-free base, each
//! star-named component matched with [`star_match`] against the entries
//! of the directories reached so far. Bounded: a directory reached below
//! the base is never a symbolic link (a link is not followed), and at most
//! a limit of directories is visited.

use super::{has_star, star_match};
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The most directories one record's directory pattern may visit.
pub const MAX_DIRS_VISITED: usize = 10_000;

/// The star-free leading directories of `pattern` (an absolute,
/// normalized directory path) and the components after them.
pub(crate) fn split_base(pattern: &Path) -> (PathBuf, Vec<String>) {
    let mut base = PathBuf::new();
    let mut rest = Vec::new();
    for component in pattern.components() {
        let text = component.as_os_str().to_string_lossy().into_owned();
        if rest.is_empty() && !(matches!(component, Component::Normal(_)) && has_star(&text)) {
            base.push(component.as_os_str());
        } else {
            rest.push(text);
        }
    }
    (base, rest)
}

/// The existing directories that the directory pattern `pattern` (an
/// absolute, normalized path, stars in its components) matches, sorted;
/// an error past `limit` directories visited.
pub(crate) fn expand_dirs(pattern: &Path, limit: usize) -> Result<Vec<PathBuf>, String> {
    let (base, rest) = split_base(pattern);
    if !fs::metadata(&base).is_ok_and(|m| m.is_dir()) {
        return Ok(Vec::new());
    }
    let mut visited = 1usize;
    let mut reached = vec![base];
    for component in &rest {
        let mut next = Vec::new();
        for dir in &reached {
            if has_star(component) {
                let entries = match fs::read_dir(dir) {
                    Ok(entries) => entries,
                    Err(e) if gone(&e) => continue,
                    Err(e) => return Err(format!("{}: {e}", dir.display())),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
                    // The entry's own type: a symbolic link is not a directory.
                    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                    let name = entry.file_name();
                    if is_dir && star_match(component, &name.to_string_lossy()) {
                        visited += 1;
                        if visited > limit {
                            return Err(too_many(pattern, limit));
                        }
                        next.push(dir.join(name));
                    }
                }
            } else {
                let path = dir.join(OsStr::new(component));
                let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
                if is_dir {
                    visited += 1;
                    if visited > limit {
                        return Err(too_many(pattern, limit));
                    }
                    next.push(path);
                }
            }
        }
        reached = next;
        if reached.is_empty() {
            break;
        }
    }
    reached.sort();
    Ok(reached)
}

fn gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn too_many(pattern: &Path, limit: usize) -> String {
    format!(
        "the directory star-name {} matches more than {limit} directories; narrow it",
        pattern.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(paths: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for p in paths {
            fs::create_dir_all(dir.path().join(p)).unwrap();
        }
        dir
    }

    fn names(root: &Path, dirs: &[PathBuf]) -> Vec<String> {
        dirs.iter()
            .map(|d| d.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn the_base_is_the_star_free_start() {
        let (base, rest) = split_base(Path::new("/srv/apps/*/conf"));
        assert_eq!(base, Path::new("/srv/apps"));
        assert_eq!(rest, vec!["*", "conf"]);
        let (base, rest) = split_base(Path::new("/srv/a?p/x"));
        assert_eq!(base, Path::new("/srv"));
        assert_eq!(rest, vec!["a?p", "x"]);
        let (base, rest) = split_base(Path::new("/srv/conf"));
        assert_eq!(base, Path::new("/srv/conf"));
        assert!(rest.is_empty());
    }

    #[test]
    fn star_names_per_component_match_only_existing_directories() {
        let t = tree(&[
            "apps/one/conf",
            "apps/two/conf",
            "apps/three/etc",
            "apps/four/conf/deeper",
            "apps/x/y/conf",
            "other/one/conf",
        ]);
        // A file named like a matching directory is not one.
        fs::write(t.path().join("apps/five"), "a file").unwrap();
        fs::write(t.path().join("apps/three/conf"), "a file").unwrap();
        let root = t.path();
        let got = expand_dirs(&root.join("apps/*/conf"), MAX_DIRS_VISITED).unwrap();
        assert_eq!(
            names(root, &got),
            vec!["apps/four/conf", "apps/one/conf", "apps/two/conf"]
        );
        let got = expand_dirs(&root.join("*/one/conf"), MAX_DIRS_VISITED).unwrap();
        assert_eq!(names(root, &got), vec!["apps/one/conf", "other/one/conf"]);
        let got = expand_dirs(&root.join("apps/t??"), MAX_DIRS_VISITED).unwrap();
        assert_eq!(names(root, &got), vec!["apps/two"]);
        let got = expand_dirs(&root.join("apps/*/*"), MAX_DIRS_VISITED).unwrap();
        assert_eq!(
            names(root, &got),
            vec![
                "apps/four/conf",
                "apps/one/conf",
                "apps/three/etc",
                "apps/two/conf",
                "apps/x/y"
            ]
        );
        // No match, a missing base.
        assert!(
            expand_dirs(&root.join("apps/*/nothing"), MAX_DIRS_VISITED)
                .unwrap()
                .is_empty()
        );
        assert!(
            expand_dirs(&root.join("missing/*/conf"), MAX_DIRS_VISITED)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn symbolic_links_to_directories_are_not_followed() {
        let t = tree(&["apps/one/conf", "elsewhere/conf"]);
        let root = t.path();
        std::os::unix::fs::symlink(root.join("elsewhere"), root.join("apps/link")).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere/conf"), root.join("apps/one/lconf"))
            .unwrap();
        // A loop: followed, it would never end.
        std::os::unix::fs::symlink(root.join("apps"), root.join("apps/one/loop")).unwrap();
        let got = expand_dirs(&root.join("apps/*/conf"), MAX_DIRS_VISITED).unwrap();
        assert_eq!(names(root, &got), vec!["apps/one/conf"]);
        let got = expand_dirs(&root.join("apps/one/*"), MAX_DIRS_VISITED).unwrap();
        assert_eq!(names(root, &got), vec!["apps/one/conf"]);
        // Named literally after a star: not followed either.
        let got = expand_dirs(&root.join("apps/*/lconf"), MAX_DIRS_VISITED).unwrap();
        assert!(got.is_empty(), "{got:?}");
        let got = expand_dirs(&root.join("apps/*/loop/*"), MAX_DIRS_VISITED).unwrap();
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn too_many_directories_is_an_error() {
        let t = tree(&["d/a/x", "d/b/x", "d/c/x"]);
        let root = t.path();
        // The base, 3 matches of '*', 3 of 'x': 7 visited.
        assert_eq!(expand_dirs(&root.join("d/*/x"), 7).unwrap().len(), 3);
        let err = expand_dirs(&root.join("d/*/x"), 6).unwrap_err();
        assert!(err.contains("matches more than 6 directories"), "{err}");
        assert!(err.contains("d/*/x"), "{err}");
    }
}
