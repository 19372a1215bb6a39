//! Writes that never leave a half-written file under the final name: write
//! to a temporary file in the same directory, flush it to disk, then rename.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

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

/// Runs `write` on a temporary path, then renames the result onto `target`.
/// On error the temporary file is removed and `target` is untouched.
pub fn write_via_temporary(target: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let tmp = temporary_path(target);
    let outcome = write(&tmp).and_then(|()| {
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

/// Writes `bytes` to `target` atomically.
pub fn write_bytes(target: &Path, bytes: &[u8]) -> Result<()> {
    write_via_temporary(target, |tmp| {
        let mut f = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(tmp, e))
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
}
