//! Writes that never leave a half-written file under the final name, and
//! never replace anything that is not a regular file.
//!
//! A regular file (or a new path) is written to a temporary file in the same
//! directory, flushed to disk, then renamed onto the target. A symbolic link
//! to a regular file keeps its link: the file it points to is replaced. Any
//! other kind of target — a character device (`/dev/null`, `/dev/full`), a
//! FIFO, a socket, `/dev/stdout` and the other descriptor aliases — is
//! written directly: renaming over it would destroy a device node or a pipe
//! another process reads, so it receives the bytes like any Unix tool's
//! output would.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// How a target path is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination {
    /// Temporary file then rename onto this path (the target itself, or the
    /// regular file a symbolic link resolves to).
    Replace(PathBuf),
    /// Written in place: not a regular file.
    Direct,
}

/// Decides how `target` is written, from what is at the path now.
fn destination(target: &Path) -> Result<Destination> {
    if is_descriptor_alias(target) {
        return Ok(Destination::Direct);
    }
    match std::fs::metadata(target) {
        Ok(meta) if meta.is_file() => {
            let is_link = std::fs::symlink_metadata(target).is_ok_and(|m| m.is_symlink());
            if is_link {
                let resolved = std::fs::canonicalize(target).map_err(|e| Error::io(target, e))?;
                Ok(Destination::Replace(resolved))
            } else {
                Ok(Destination::Replace(target.to_path_buf()))
            }
        }
        Ok(meta) if meta.is_dir() => Err(Error::io(
            target,
            std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory, not a file to write",
            ),
        )),
        Ok(_) => Ok(Destination::Direct),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(Destination::Replace(resolve_dangling_link(target)?))
        }
        // Not inspectable (e.g. a parent without search permission): the
        // write below reports the real error with the path.
        Err(_) => Ok(Destination::Replace(target.to_path_buf())),
    }
}

/// Paths that name an open descriptor of this process (`/dev/stdout`,
/// `/dev/fd/1`, `/proc/self/fd/1`): their link target may be a pipe or a
/// terminal with no path of its own, and is always written in place.
fn is_descriptor_alias(path: &Path) -> bool {
    let s = path.to_string_lossy();
    matches!(s.as_ref(), "/dev/stdout" | "/dev/stderr")
        || s.starts_with("/dev/fd/")
        || s.starts_with("/proc/self/fd/")
        || (s.starts_with("/proc/") && s.contains("/fd/"))
}

/// For a symbolic link whose target does not exist yet, the path the link
/// points to (so the link survives and the new file appears where it
/// points); any other missing path is returned unchanged.
fn resolve_dangling_link(target: &Path) -> Result<PathBuf> {
    let mut path = target.to_path_buf();
    // The kernel's own limit on nested links.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_symlink() => {
                let next = std::fs::read_link(&path).map_err(|e| Error::io(&path, e))?;
                path = match path.parent() {
                    Some(parent) if next.is_relative() => parent.join(next),
                    _ => next,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(Error::io(
        target,
        std::io::Error::other("too many levels of symbolic links"),
    ))
}

/// A temporary path beside `target`, unique to this process and call. It
/// keeps `target`'s file name as a suffix, so writers that choose their
/// encoding from the extension (`.nii.gz`) behave as for the target.
pub fn temporary_path(target: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".tmp-{}-{n}-{name}", std::process::id()))
}

/// Runs `write` on the path the bytes should go to: for a regular file or a
/// new path, a temporary file then renamed onto the target (on error the
/// temporary file is removed and the target is untouched); for anything
/// else (a device, a FIFO, `/dev/stdout`), the target itself.
pub fn write_via_temporary(target: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    match destination(target)? {
        Destination::Direct => write(target),
        Destination::Replace(file) => replace_regular_file(&file, write),
    }
}

fn replace_regular_file(target: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    // A replaced file keeps its permissions (a report shared read-only stays so).
    let permissions = std::fs::metadata(target).ok().map(|m| m.permissions());
    let tmp = temporary_path(target);
    let outcome = write(&tmp).and_then(|()| {
        if let Some(p) = permissions {
            std::fs::set_permissions(&tmp, p).map_err(|e| Error::io(&tmp, e))?;
        }
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, target).map_err(|e| Error::io(target, e))
    });
    if outcome.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    outcome
}

/// Writes what `write` streams to `target` atomically, through a buffer, so
/// that a large output (the run record of a 250,000-task run is 73 MB) is
/// never held in memory whole.
pub fn write_streamed(
    target: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_via_temporary(target, |path| {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut w = std::io::BufWriter::new(file);
        write(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| Error::io(path, e))
    })
}

/// Writes `bytes` to `target` atomically (in place when it is not a regular file).
pub fn write_bytes(target: &Path, bytes: &[u8]) -> Result<()> {
    write_via_temporary(target, |path| {
        let mut f = File::create(path).map_err(|e| Error::io(path, e))?;
        f.write_all(bytes)
            .and_then(|()| f.flush())
            .map_err(|e| Error::io(path, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_target_untouched_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        write_bytes(&target, b"first").unwrap();
        let err = write_via_temporary(&target, |tmp| {
            std::fs::write(tmp, b"partial").unwrap();
            Err(Error::data("interrupted"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn devices_fifos_and_descriptor_aliases_are_written_in_place() {
        assert_eq!(
            destination(Path::new("/dev/null")).unwrap(),
            Destination::Direct
        );
        assert_eq!(
            destination(Path::new("/dev/stdout")).unwrap(),
            Destination::Direct
        );
        assert_eq!(
            destination(Path::new("/proc/self/fd/1")).unwrap(),
            Destination::Direct
        );
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.csv");
        assert_eq!(destination(&new).unwrap(), Destination::Replace(new));
    }

    #[test]
    fn a_symlink_survives_and_its_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("real.csv");
        let link = dir.path().join("link.csv");
        std::fs::write(&file, b"old").unwrap();
        std::os::unix::fs::symlink("real.csv", &link).unwrap();
        write_bytes(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        // A dangling link: the file appears where it points.
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink("later.csv", &dangling).unwrap();
        write_bytes(&dangling, b"x").unwrap();
        assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
        assert_eq!(std::fs::read(dir.path().join("later.csv")).unwrap(), b"x");
    }

    #[test]
    fn a_directory_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_bytes(dir.path(), b"x").unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }
}
