//! `radial gc`: removes objects that no registered lock file and no recent
//! run record refers to, the actions pointing at them, temporaries left
//! by killed processes, and the job directories (`slurm/<run>/`: task
//! files, job logs, results) of Slurm runs older than the kept runs. It holds the store's exclusive lock, which every
//! run holds shared, so it never deletes under a running pipeline.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::lock::read_lock;
use super::runs::{list_runs, read_run_record};
use super::store::{Store, files_under};
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Run records younger than this keep their objects.
    pub keep_days: f64,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GcReport {
    pub objects_kept: usize,
    pub objects_removed: usize,
    pub bytes_removed: u64,
    pub actions_removed: usize,
    pub temporaries_removed: usize,
    /// `slurm/<run>/` job directories removed.
    pub job_dirs_removed: usize,
}

pub fn gc(store: &Store, opts: &GcOptions) -> Result<GcReport> {
    let _exclusive = store.lock_exclusive()?;
    let mut live: HashSet<String> = HashSet::new();
    for lock_path in store.registered_lock_files() {
        // A lock file that cannot be read refers to nothing any more.
        if let Ok(Some(lock)) = read_lock(&lock_path) {
            for st in lock.stages.values() {
                live.extend(st.tasks.values().map(|t| t.output.clone()));
            }
        }
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let cutoff = now.as_secs_f64() - opts.keep_days * 86_400.0;
    for path in list_runs(&store.root) {
        let record = read_run_record(&path.to_string_lossy(), &store.root)?;
        if record.started_unix >= cutoff {
            live.extend(record.tasks.iter().filter_map(|t| t.output.clone()));
        }
    }
    let mut report = GcReport::default();
    let remove = |p: &std::path::Path| -> Result<()> {
        if opts.dry_run {
            Ok(())
        } else {
            std::fs::remove_file(p).map_err(|e| Error::io(p, e))
        }
    };
    for hash in store.object_hashes()? {
        if live.contains(&hash) {
            report.objects_kept += 1;
            continue;
        }
        let p = store.object_path(&hash);
        report.bytes_removed += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        remove(&p)?;
        report.objects_removed += 1;
    }
    for (_, output, path) in store.actions()? {
        if !live.contains(&output) {
            remove(&path)?;
            report.actions_removed += 1;
        }
    }
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for dir in ["objects", "actions"] {
        for p in files_under(&store.root.join(dir))? {
            let is_tmp = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".tmp-"));
            let old = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
            if is_tmp && old {
                remove(&p)?;
                report.temporaries_removed += 1;
            }
        }
    }
    report.job_dirs_removed = remove_old_job_dirs(store, cutoff, opts.dry_run)?;
    Ok(report)
}

/// Removes the job directories of Slurm runs that started before `cutoff`
/// (Unix seconds): the run's record says when, or, for a driver killed
/// before it wrote one, the directory's modification time. Their logs are
/// kept as long as the run's objects, for the same audits.
fn remove_old_job_dirs(store: &Store, cutoff: f64, dry_run: bool) -> Result<usize> {
    let root = store.root.join("slurm");
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(&root, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let dir = entry.map_err(|e| Error::io(&root, e))?.path();
        if !dir.is_dir() {
            continue;
        }
        let run_id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let record = store.runs_dir().join(format!("{run_id}.json"));
        let started = match read_run_record(&record.to_string_lossy(), &store.root) {
            Ok(r) => r.started_unix,
            Err(_) => std::fs::metadata(&dir)
                .and_then(|m| m.modified())
                .map(|t| {
                    t.duration_since(SystemTime::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs_f64()
                })
                .map_err(|e| Error::io(&dir, e))?,
        };
        if started < cutoff {
            if !dry_run {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            removed += 1;
        }
    }
    Ok(removed)
}
