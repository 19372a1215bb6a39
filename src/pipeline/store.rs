//! The store (`.radial/`): content-addressed objects, the action cache
//! (task key → output hash), per-task file locks, run records, and the
//! input-file hash cache. Every write is a temporary file renamed into
//! place, so a killed process leaves either the old state or the new one.
//!
//! ```text
//! .radial/objects/ab/abcdef…   output bytes, named by their SHA-256
//! .radial/actions/12/1234…     the output hash of task key 1234…
//! .radial/locks/1234….lock     held while task 1234… computes
//! .radial/runs/<run-id>.json   run records
//! .radial/file-hashes.tsv      (path, size, mtime, inode) → SHA-256
//! .radial/locks.list           lock files written with this store (for gc)
//! .radial/corrupt/             objects whose content did not match their name
//! ```
//!
//! Reads made for a running task are verified ([`Store::read_verified`]): an
//! object whose bytes no longer hash to its name is moved to `corrupt/`, so
//! the action pointing at it becomes a miss and the task that made it is
//! recomputed, healing the store.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::hash::{is_sha256_hex, sha256_hex};
use crate::io::atomic::write_bytes;
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
    /// Objects whose bytes this process has hashed (written, or read and
    /// checked): a later read in the same process is not hashed again.
    verified: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// An object whose content does not hash to its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptObject {
    pub hash: String,
    /// What the content hashed to.
    pub found: String,
}

/// A held task lock; released on drop (and by the OS if the process dies).
pub struct TaskLock {
    _file: File,
}

fn sharded(dir: &Path, hash: &str) -> PathBuf {
    dir.join(&hash[..2]).join(hash)
}

impl Store {
    /// Opens (creating if needed) a store directory.
    pub fn open(root: &Path) -> Result<Store> {
        for sub in ["objects", "actions", "locks", "runs"] {
            let d = root.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        Ok(Store {
            root: root.to_path_buf(),
            verified: Default::default(),
        })
    }

    pub fn object_path(&self, hash: &str) -> PathBuf {
        sharded(&self.root.join("objects"), hash)
    }

    fn action_path(&self, key: &str) -> PathBuf {
        sharded(&self.root.join("actions"), key)
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    pub fn has_object(&self, hash: &str) -> bool {
        is_sha256_hex(hash) && self.object_path(hash).is_file()
    }

    pub fn read_object(&self, hash: &str) -> Result<Vec<u8>> {
        if !is_sha256_hex(hash) {
            return Err(Error::data(format!("`{hash}` is not an object hash")));
        }
        let p = self.object_path(hash);
        std::fs::read(&p).map_err(|e| Error::io(&p, e))
    }

    /// Reads an object and checks its content against its name, once per
    /// process: an object this process wrote (its name was computed from
    /// the bytes written) or already checked is not hashed again, so a
    /// first run, where every object read was just written, pays almost
    /// nothing. A corrupt object is moved out of `objects/` (to
    /// `corrupt/`, kept for inspection) and reported as [`CorruptObject`];
    /// the caller recomputes the task that made it.
    pub fn read_verified(&self, hash: &str) -> Result<std::result::Result<Vec<u8>, CorruptObject>> {
        let bytes = self.read_object(hash)?;
        if self.verified.lock().unwrap().contains(hash) {
            return Ok(Ok(bytes));
        }
        let found = sha256_hex(&bytes);
        if found == hash {
            self.verified.lock().unwrap().insert(found);
            return Ok(Ok(bytes));
        }
        self.quarantine(hash);
        Ok(Err(CorruptObject {
            hash: hash.to_string(),
            found,
        }))
    }

    /// Moves a corrupt object aside (removing it when the move fails), so
    /// that it is no longer found under its name.
    fn quarantine(&self, hash: &str) {
        let from = self.object_path(hash);
        let dir = self.root.join("corrupt");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let to = dir.join(format!("{hash}-{}-{nanos}", std::process::id()));
        let moved = std::fs::create_dir_all(&dir).is_ok() && std::fs::rename(&from, &to).is_ok();
        if !moved {
            let _ = std::fs::remove_file(&from);
        }
    }

    /// Stores bytes under their hash (no write when already present).
    pub fn put_object(&self, bytes: &[u8]) -> Result<String> {
        let hash = sha256_hex(bytes);
        let p = self.object_path(&hash);
        if !p.is_file() {
            write_bytes(&p, bytes)?;
            self.verified.lock().unwrap().insert(hash.clone());
        }
        Ok(hash)
    }

    /// The cached output hash of a task, when both the action and its
    /// object are present.
    pub fn action(&self, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.action_path(key)).ok()?;
        let hash = text.trim();
        self.has_object(hash).then(|| hash.to_string())
    }

    pub fn set_action(&self, key: &str, output_hash: &str) -> Result<()> {
        write_bytes(
            &self.action_path(key),
            format!("{output_hash}\n").as_bytes(),
        )
    }

    /// Blocks until this process holds the lock of task `key`.
    pub fn lock_task(&self, key: &str) -> Result<TaskLock> {
        let p = self.root.join("locks").join(format!("{key}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| Error::io(&p, e))?;
        file.lock().map_err(|e| Error::io(&p, e))?;
        Ok(TaskLock { _file: file })
    }

    fn store_lock_file(&self) -> Result<File> {
        let p = self.root.join("store.lock");
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| Error::io(&p, e))
    }

    /// Held (shared) by every run for its whole duration.
    pub fn lock_shared(&self) -> Result<TaskLock> {
        let file = self.store_lock_file()?;
        file.lock_shared()
            .map_err(|e| Error::io(self.root.join("store.lock"), e))?;
        Ok(TaskLock { _file: file })
    }

    /// Held by gc: no run is in progress while it is held.
    pub fn lock_exclusive(&self) -> Result<TaskLock> {
        let file = self.store_lock_file()?;
        file.lock()
            .map_err(|e| Error::io(self.root.join("store.lock"), e))?;
        Ok(TaskLock { _file: file })
    }

    /// Every object hash present, in sorted order.
    pub fn object_hashes(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for path in files_under(&self.root.join("objects"))? {
            if let Some(name) = path.file_name().and_then(|n| n.to_str())
                && is_sha256_hex(name)
            {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every (task key, output hash) in the action cache.
    pub fn actions(&self) -> Result<Vec<(String, String, PathBuf)>> {
        let mut out = Vec::new();
        for path in files_under(&self.root.join("actions"))? {
            if let Some(name) = path.file_name().and_then(|n| n.to_str())
                && is_sha256_hex(name)
            {
                let hash = std::fs::read_to_string(&path).unwrap_or_default();
                out.push((name.to_string(), hash.trim().to_string(), path));
            }
        }
        Ok(out)
    }

    /// Remembers a lock file that refers to this store (read by gc).
    pub fn register_lock_file(&self, lock: &Path) -> Result<()> {
        let list = self.root.join("locks.list");
        let lock = std::path::absolute(lock).map_err(|e| Error::io(lock, e))?;
        let text = std::fs::read_to_string(&list).unwrap_or_default();
        let line = lock.to_string_lossy();
        if text.lines().any(|l| l == line) {
            return Ok(());
        }
        write_bytes(&list, format!("{text}{line}\n").as_bytes())
    }

    pub fn registered_lock_files(&self) -> Vec<PathBuf> {
        std::fs::read_to_string(self.root.join("locks.list"))
            .unwrap_or_default()
            .lines()
            .map(PathBuf::from)
            .collect()
    }
}

/// Regular files under `dir`, two levels deep at most (the sharded layout).
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_content_addressed_and_actions_need_their_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let h = store.put_object(b"abc").unwrap();
        assert_eq!(h, sha256_hex(b"abc"));
        assert_eq!(store.read_object(&h).unwrap(), b"abc");
        let key = sha256_hex(b"key");
        assert_eq!(store.action(&key), None);
        store.set_action(&key, &h).unwrap();
        assert_eq!(store.action(&key), Some(h.clone()));
        std::fs::remove_file(store.object_path(&h)).unwrap();
        assert_eq!(
            store.action(&key),
            None,
            "an action without its object is a miss"
        );
        assert!(store.read_object("../../etc/passwd").is_err());
    }

    #[test]
    fn a_corrupt_object_is_reported_and_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let h = store.put_object(b"good bytes").unwrap();
        assert_eq!(store.read_verified(&h).unwrap().unwrap(), b"good bytes");
        let key = sha256_hex(b"key");
        store.set_action(&key, &h).unwrap();
        std::fs::write(store.object_path(&h), b"bad bytes!").unwrap();
        assert_eq!(
            store.read_verified(&h).unwrap().unwrap(),
            b"bad bytes!",
            "what this process wrote and checked is not hashed again"
        );
        // Another process (a fresh handle) checks it.
        let store = Store::open(dir.path()).unwrap();
        let bad = store.read_verified(&h).unwrap().unwrap_err();
        assert_eq!(bad.hash, h);
        assert_eq!(bad.found, sha256_hex(b"bad bytes!"));
        assert!(!store.object_path(&h).exists());
        assert_eq!(store.action(&key), None, "the action is now a miss");
        assert_eq!(
            std::fs::read_dir(dir.path().join("corrupt"))
                .unwrap()
                .count(),
            1
        );
    }
}
