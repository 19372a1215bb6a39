//! Content hashes of input files, remembered by (path, size, mtime, inode,
//! ctime) so that an unchanged cohort is never re-read: a cached run only
//! stats. The inode change time (ctime) is in the stamp because a user can
//! set a file's modification time back (`touch -d`) but not its ctime: any
//! write, and any change of the mtime itself, moves the ctime forward.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::hash::sha256_file;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Stamp {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    ctime_ns: i128,
}

fn stamp(path: &Path) -> Result<Stamp> {
    let md = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !md.is_file() {
        return Err(Error::format(path, "not a regular file"));
    }
    let mtime_ns = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(-1);
    #[cfg(unix)]
    let (inode, ctime_ns) = {
        use std::os::unix::fs::MetadataExt;
        (
            md.ino(),
            i128::from(md.ctime()) * 1_000_000_000 + i128::from(md.ctime_nsec()),
        )
    };
    #[cfg(not(unix))]
    let (inode, ctime_ns) = (0, -1);
    Ok(Stamp {
        size: md.len(),
        mtime_ns,
        inode,
        ctime_ns,
    })
}

/// The cache, loaded from and saved to one TSV file in the store.
pub struct FileHashes {
    file: PathBuf,
    entries: Mutex<HashMap<PathBuf, (Stamp, String)>>,
    changed: Mutex<bool>,
    /// Number of files actually read (hashed) by this instance.
    pub reads: std::sync::atomic::AtomicUsize,
}

impl FileHashes {
    pub fn load(file: &Path) -> FileHashes {
        let mut entries = HashMap::new();
        for line in std::fs::read_to_string(file).unwrap_or_default().lines() {
            let f: Vec<&str> = line.split('\t').collect();
            // Lines of the older format (without ctime) are dropped: those
            // files are hashed once more.
            if let [size, mtime, inode, ctime, hash, path] = f[..]
                && let (Ok(size), Ok(mtime_ns), Ok(inode), Ok(ctime_ns)) =
                    (size.parse(), mtime.parse(), inode.parse(), ctime.parse())
            {
                entries.insert(
                    PathBuf::from(path),
                    (
                        Stamp {
                            size,
                            mtime_ns,
                            inode,
                            ctime_ns,
                        },
                        hash.to_string(),
                    ),
                );
            }
        }
        FileHashes {
            file: file.to_path_buf(),
            entries: Mutex::new(entries),
            changed: Mutex::new(false),
            reads: Default::default(),
        }
    }

    /// SHA-256 of a file's content, read only when its stamp changed. A
    /// directory (a DICOM series) hashes as the sorted list of its files'
    /// names and content hashes, each file cached on its own stamp.
    pub fn hash(&self, path: &Path) -> Result<String> {
        let abs = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
        if abs.is_dir() {
            return self.hash_directory(&abs);
        }
        let st = stamp(&abs)?;
        if let Some((s, h)) = self.entries.lock().unwrap().get(&abs)
            && *s == st
        {
            return Ok(h.clone());
        }
        let h = sha256_file(&abs)?;
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.entries.lock().unwrap().insert(abs, (st, h.clone()));
        *self.changed.lock().unwrap() = true;
        Ok(h)
    }

    fn hash_directory(&self, dir: &Path) -> Result<String> {
        let files = crate::io::sorted_files(dir)?;
        let mut listing = String::new();
        for file in &files {
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            listing.push_str(&format!("{name}\0{}\n", self.hash(file)?));
        }
        Ok(super::hash::sha256_hex(listing.as_bytes()))
    }

    /// Writes the cache back when it changed (atomically; with concurrent
    /// runs the last writer wins, which only costs a re-hash later).
    pub fn save(&self) -> Result<()> {
        if !*self.changed.lock().unwrap() {
            return Ok(());
        }
        let entries = self.entries.lock().unwrap();
        let mut lines: Vec<String> = entries
            .iter()
            .filter(|(p, _)| !p.to_string_lossy().contains(['\t', '\n']))
            .map(|(p, (s, h))| {
                format!(
                    "{}\t{}\t{}\t{}\t{h}\t{}",
                    s.size,
                    s.mtime_ns,
                    s.inode,
                    s.ctime_ns,
                    p.display()
                )
            })
            .collect();
        lines.sort();
        lines.push(String::new());
        crate::io::atomic::write_bytes(&self.file, lines.join("\n").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rehashes_only_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.bin");
        std::fs::write(&f, b"one").unwrap();
        let cache_file = dir.path().join("cache.tsv");
        let c = FileHashes::load(&cache_file);
        let h1 = c.hash(&f).unwrap();
        c.save().unwrap();
        let c = FileHashes::load(&cache_file);
        assert_eq!(c.hash(&f).unwrap(), h1);
        assert_eq!(c.reads.load(std::sync::atomic::Ordering::Relaxed), 0);
        std::fs::write(&f, b"two!").unwrap();
        assert_ne!(c.hash(&f).unwrap(), h1);
        assert_eq!(c.reads.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn an_in_place_edit_with_size_and_mtime_restored_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.bin");
        std::fs::write(&f, b"one").unwrap();
        let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
        let cache_file = dir.path().join("cache.tsv");
        let c = FileHashes::load(&cache_file);
        let h1 = c.hash(&f).unwrap();
        c.save().unwrap();
        // Let the clock move so that the new ctime differs from the old one.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, b"two").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().modified().unwrap(), mtime);
        let c = FileHashes::load(&cache_file);
        assert_ne!(c.hash(&f).unwrap(), h1, "same size and mtime, new content");
    }
}
