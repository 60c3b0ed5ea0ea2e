use std::path::{Component, Path, PathBuf};

/// Removes `.` and resolves `..` lexically, without touching the file system
/// (the file may not exist yet).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` made absolute against `base` (when relative) and normalized.
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        normalize(path)
    } else {
        normalize(&base.join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(
            absolute(Path::new("/home"), Path::new("x/../y.data")),
            PathBuf::from("/home/y.data")
        );
        assert_eq!(
            absolute(Path::new("/home"), Path::new("/abs/f")),
            PathBuf::from("/abs/f")
        );
    }
}
