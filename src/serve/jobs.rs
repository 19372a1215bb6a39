//! The job store: every accepted job is a directory `DATA/jobs/<id>/` with
//! its inputs, its state `job.json` (rewritten atomically at each change)
//! and, once finished, `result.json` and `preview.png`. A job directory is
//! assembled under `DATA/incoming/` and renamed into place, so a crash
//! leaves either a whole job or none. On start the store reads every job
//! back: finished ones keep their results, queued ones are queued again
//! (oldest first), one that was running is queued to rerun, or failed with
//! the reason when it was already interrupted before.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::io::atomic::write_bytes;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// Why a job failed: the HTTP status its result answers with and a detail
/// naming the input and the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    pub status: u16,
    pub detail: String,
}

/// A job as stored in `job.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    /// Key id of the submitter: only it (and admins) see the job.
    pub owner: String,
    pub model: String,
    pub model_sha256: String,
    pub status: Status,
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub finished_ms: Option<u64>,
    pub error: Option<JobError>,
    pub transaction_id: Option<String>,
    pub case_id: String,
    pub label: i64,
    pub roi: Option<String>,
    /// Input paths relative to the job's `inputs/` directory.
    pub image: String,
    pub mask: String,
    pub image_sha256: String,
    pub mask_sha256: String,
    /// How many times a worker started this job (a restart after a crash
    /// while running increments it).
    pub attempts: u32,
}

/// A job interrupted this many times while running fails instead of rerunning.
pub const MAX_ATTEMPTS: u32 = 2;

/// Why a job was not accepted.
#[derive(Debug)]
pub enum Refusal {
    QueueFull { queued: usize },
    Duplicate { existing: String },
    Storage(Error),
}

struct Inner {
    jobs: HashMap<String, JobRecord>,
    queue: VecDeque<String>,
    shutdown: bool,
}

pub struct JobStore {
    /// `DATA/server.lock`, held exclusively while the store is open: a
    /// second server on the same directory would delete the first one's
    /// uploads in flight and run its jobs again.
    _owner: std::fs::File,
    root: PathBuf,
    incoming: PathBuf,
    queue_limit: usize,
    inner: Mutex<Inner>,
    work: Condvar,
    /// Bumped at every state change; `Prefer: wait` requests watch it.
    changed: tokio::sync::watch::Sender<u64>,
}

/// What the store found on disk when it opened.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub finished: usize,
    pub requeued: usize,
    pub rerun: usize,
    pub failed_interrupted: usize,
}

/// Locks `DATA/server.lock` for this process (released when it exits, even
/// by `kill -9`), or says which process holds it.
fn take_ownership(data: &Path) -> Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let path = data.join("server.lock");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(Error::setting(
                "--data",
                format!(
                    "{} is in use by another radial serve{}: give each server its own --data directory",
                    data.display(),
                    match holder.trim() {
                        "" => String::new(),
                        pid => format!(" (pid {pid})"),
                    }
                ),
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    // The holder's pid, for the message above (informative only: the lock
    // is what decides).
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()))
        .and_then(|()| file.flush());
    Ok(file)
}

impl JobStore {
    /// Opens (creating) `DATA/jobs` and reads every job back; fails if
    /// another server has the directory open.
    pub fn open(data: &Path, queue_limit: usize) -> Result<(Self, Recovery)> {
        let owner = take_ownership(data)?;
        let root = data.join("jobs");
        let incoming = data.join("incoming");
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        // Uploads that were never accepted: nothing refers to them.
        if incoming.exists() {
            std::fs::remove_dir_all(&incoming).map_err(|e| Error::io(&incoming, e))?;
        }
        std::fs::create_dir_all(&incoming).map_err(|e| Error::io(&incoming, e))?;
        let mut recovery = Recovery::default();
        let mut jobs = HashMap::new();
        let mut queued: Vec<(u64, String)> = Vec::new();
        for entry in std::fs::read_dir(&root).map_err(|e| Error::io(&root, e))? {
            let dir = entry.map_err(|e| Error::io(&root, e))?.path();
            let state = dir.join("job.json");
            if !state.is_file() {
                continue;
            }
            let bytes = std::fs::read(&state).map_err(|e| Error::io(&state, e))?;
            let mut job: JobRecord = serde_json::from_slice(&bytes)
                .map_err(|e| Error::format(&state, format!("not a job state: {e}")))?;
            match job.status {
                Status::Running if job.attempts >= MAX_ATTEMPTS => {
                    job.status = Status::Failed;
                    job.finished_ms = Some(super::time::now_ms());
                    job.error = Some(JobError {
                        status: 500,
                        detail: format!(
                            "the server stopped while this job was running, {} times; \
                             it is not retried again",
                            job.attempts
                        ),
                    });
                    write_state(&dir, &job)?;
                    recovery.failed_interrupted += 1;
                }
                Status::Running => {
                    job.status = Status::Queued;
                    job.started_ms = None;
                    write_state(&dir, &job)?;
                    queued.push((job.created_ms, job.id.clone()));
                    recovery.rerun += 1;
                }
                Status::Queued => {
                    queued.push((job.created_ms, job.id.clone()));
                    recovery.requeued += 1;
                }
                _ => recovery.finished += 1,
            }
            jobs.insert(job.id.clone(), job);
        }
        queued.sort();
        let (changed, _) = tokio::sync::watch::channel(0);
        let store = JobStore {
            _owner: owner,
            root,
            incoming,
            queue_limit,
            inner: Mutex::new(Inner {
                jobs,
                queue: queued.into_iter().map(|(_, id)| id).collect(),
                shutdown: false,
            }),
            work: Condvar::new(),
            changed,
        };
        Ok((store, recovery))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// A fresh directory under `DATA/incoming` for one upload.
    pub fn staging_dir(&self, id: &str) -> PathBuf {
        self.incoming.join(id)
    }

    pub fn job_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    pub fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn queue_full(&self) -> bool {
        self.queued() >= self.queue_limit
    }

    pub fn get(&self, id: &str) -> Option<(JobRecord, Option<usize>)> {
        let inner = self.lock();
        let job = inner.jobs.get(id)?.clone();
        let position = inner.queue.iter().position(|q| q == id);
        Some((job, position))
    }

    /// Jobs visible to a filter, newest first.
    pub fn list(&self, visible: impl Fn(&JobRecord) -> bool) -> Vec<(JobRecord, Option<usize>)> {
        let inner = self.lock();
        let mut out: Vec<_> = inner
            .jobs
            .values()
            .filter(|j| visible(j))
            .map(|j| (j.clone(), inner.queue.iter().position(|q| *q == j.id)))
            .collect();
        out.sort_by(|a, b| (b.0.created_ms, &b.0.id).cmp(&(a.0.created_ms, &a.0.id)));
        out
    }

    /// The job of `owner` with this transaction id, if any.
    pub fn find_transaction(&self, owner: &str, transaction_id: &str) -> Option<String> {
        let inner = self.lock();
        find_transaction(&inner, owner, transaction_id)
    }

    /// Accepts a job whose inputs are in `staging/inputs`: writes its state,
    /// moves the directory into place and queues it, or refuses (full queue,
    /// repeated transaction id) leaving nothing behind.
    pub fn accept(&self, staging: &Path, job: JobRecord) -> std::result::Result<(), Refusal> {
        let mut inner = self.lock();
        if let Some(tx) = &job.transaction_id
            && let Some(existing) = find_transaction(&inner, &job.owner, tx)
        {
            return Err(Refusal::Duplicate { existing });
        }
        if inner.queue.len() >= self.queue_limit {
            return Err(Refusal::QueueFull {
                queued: inner.queue.len(),
            });
        }
        write_state(staging, &job).map_err(Refusal::Storage)?;
        let target = self.job_dir(&job.id);
        std::fs::rename(staging, &target).map_err(|e| Refusal::Storage(Error::io(&target, e)))?;
        sync_dir(&self.root);
        inner.queue.push_back(job.id.clone());
        inner.jobs.insert(job.id.clone(), job);
        drop(inner);
        self.work.notify_one();
        self.notify();
        Ok(())
    }

    /// Blocks until a job is queued, marks it running and returns it; `None`
    /// once the store shuts down.
    pub fn next(&self) -> Option<JobRecord> {
        let mut inner = self.lock();
        loop {
            if inner.shutdown {
                return None;
            }
            if let Some(id) = inner.queue.pop_front() {
                let dir = self.job_dir(&id);
                let job = inner.jobs.get_mut(&id).expect("queued jobs are known");
                job.status = Status::Running;
                job.started_ms = Some(super::time::now_ms());
                job.attempts += 1;
                let job = job.clone();
                if let Err(e) = write_state(&dir, &job) {
                    eprintln!("radial serve: job {id}: {e}");
                }
                drop(inner);
                self.notify();
                return Some(job);
            }
            inner = self.work.wait(inner).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Records the outcome of a run of `job`; ignored (returns false) when
    /// the job is no longer running (cancelled or timed out meanwhile).
    pub fn finish(&self, id: &str, outcome: std::result::Result<(), JobError>) -> bool {
        let mut inner = self.lock();
        let Some(job) = inner.jobs.get_mut(id) else {
            return false;
        };
        if job.status != Status::Running {
            return false;
        }
        job.finished_ms = Some(super::time::now_ms());
        match outcome {
            Ok(()) => job.status = Status::Succeeded,
            Err(e) => {
                job.status = Status::Failed;
                job.error = Some(e);
            }
        }
        let job = job.clone();
        if let Err(e) = write_state(&self.job_dir(id), &job) {
            eprintln!("radial serve: job {id}: {e}");
        }
        drop(inner);
        self.notify();
        true
    }

    /// Cancels a queued or running job and deletes its inputs; a finished
    /// job is returned unchanged (`Err`, boxed: a record is large).
    pub fn cancel(&self, id: &str) -> std::result::Result<JobRecord, Box<JobRecord>> {
        let mut inner = self.lock();
        inner.queue.retain(|q| q != id);
        let dir = self.job_dir(id);
        let job = inner
            .jobs
            .get_mut(id)
            .expect("caller checked the job exists");
        if job.status.is_final() {
            return Err(Box::new(job.clone()));
        }
        job.status = Status::Cancelled;
        job.finished_ms = Some(super::time::now_ms());
        let job = job.clone();
        if let Err(e) = write_state(&dir, &job) {
            eprintln!("radial serve: job {id}: {e}");
        }
        let _ = std::fs::remove_dir_all(dir.join("inputs"));
        drop(inner);
        self.notify();
        Ok(job)
    }

    /// Deletes finished jobs (inputs, results, state) older than `retention_ms`.
    pub fn sweep(&self, retention_ms: u64) -> usize {
        let now = super::time::now_ms();
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .jobs
            .values()
            .filter(|j| j.status.is_final())
            .filter(|j| j.finished_ms.unwrap_or(j.created_ms) + retention_ms <= now)
            .map(|j| j.id.clone())
            .collect();
        for id in &expired {
            // Remove the state first: a crash midway leaves no job whose
            // results are gone.
            let dir = self.job_dir(id);
            let _ = std::fs::remove_file(dir.join("job.json"));
            let _ = std::fs::remove_dir_all(&dir);
            inner.jobs.remove(id);
        }
        expired.len()
    }

    /// Wakes the workers so that they return.
    pub fn shutdown(&self) {
        self.lock().shutdown = true;
        self.work.notify_all();
    }
}

fn find_transaction(inner: &Inner, owner: &str, transaction_id: &str) -> Option<String> {
    inner
        .jobs
        .values()
        .find(|j| j.owner == owner && j.transaction_id.as_deref() == Some(transaction_id))
        .map(|j| j.id.clone())
}

fn write_state(dir: &Path, job: &JobRecord) -> Result<()> {
    let json = serde_json::to_vec_pretty(job).expect("job serialises");
    write_bytes(&dir.join("job.json"), &json)
}

/// Flushes a directory entry change (a rename) to disk.
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, created_ms: u64) -> JobRecord {
        JobRecord {
            id: id.into(),
            owner: "k".into(),
            model: "m".into(),
            model_sha256: "00".into(),
            status: Status::Queued,
            created_ms,
            started_ms: None,
            finished_ms: None,
            error: None,
            transaction_id: Some(format!("tx-{id}")),
            case_id: "c".into(),
            label: 1,
            roi: None,
            image: "image.nii.gz".into(),
            mask: "mask.nii.gz".into(),
            image_sha256: "aa".into(),
            mask_sha256: "bb".into(),
            attempts: 0,
        }
    }

    fn submit(store: &JobStore, id: &str, t: u64) -> std::result::Result<(), Refusal> {
        let staging = store.staging_dir(id);
        std::fs::create_dir_all(staging.join("inputs")).unwrap();
        store.accept(&staging, record(id, t))
    }

    #[test]
    fn reopening_recovers_every_job() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let (store, _) = JobStore::open(tmp.path(), 10).unwrap();
            for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
                submit(&store, id, i as u64).unwrap();
            }
            assert!(matches!(
                submit(&store, "a", 9),
                Err(Refusal::Duplicate { existing }) if existing == "a"
            ));
            let a = store.next().unwrap();
            assert!(store.finish(&a.id, Ok(())));
            let b = store.next().unwrap();
            assert_eq!(b.id, "b");
            // b is "running" when the process dies; c, d queued.
        }
        let (store, recovery) = JobStore::open(tmp.path(), 10).unwrap();
        assert_eq!(
            recovery,
            Recovery {
                finished: 1,
                requeued: 2,
                rerun: 1,
                failed_interrupted: 0
            }
        );
        // Oldest first: b (rerun), c, d.
        let order: Vec<String> = (0..3).map(|_| store.next().unwrap().id).collect();
        assert_eq!(order, ["b", "c", "d"]);
        assert_eq!(store.get("b").unwrap().0.attempts, 2);
        drop(store);
        // b was interrupted twice: it fails with the reason.
        let (store, recovery) = JobStore::open(tmp.path(), 10).unwrap();
        assert_eq!(recovery.failed_interrupted, 1);
        let b = store.get("b").unwrap().0;
        assert_eq!(b.status, Status::Failed);
        assert!(
            b.error
                .unwrap()
                .detail
                .contains("stopped while this job was running")
        );
    }

    #[test]
    fn full_queue_and_cancel() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = JobStore::open(tmp.path(), 2).unwrap();
        // One server per data directory: a second open is refused while the
        // first holds it.
        let second = JobStore::open(tmp.path(), 2)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            second.contains("is in use by another radial serve")
                && second.contains(&format!("pid {}", std::process::id())),
            "{second}"
        );
        submit(&store, "a", 0).unwrap();
        submit(&store, "b", 1).unwrap();
        assert!(matches!(
            submit(&store, "c", 2),
            Err(Refusal::QueueFull { queued: 2 })
        ));
        assert_eq!(store.get("b").unwrap().1, Some(1));
        let cancelled = store.cancel("a").unwrap();
        assert_eq!(cancelled.status, Status::Cancelled);
        assert!(!store.job_dir("a").join("inputs").exists());
        assert_eq!(store.get("b").unwrap().1, Some(0));
        assert!(store.cancel("a").is_err());
        assert_eq!(store.sweep(0), 1);
        assert!(store.get("a").is_none() && !store.job_dir("a").exists());
    }
}
