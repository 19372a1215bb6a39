//! Checks before any task is submitted, each failing with the fix: the
//! client commands are on the PATH, the controller answers, the partition
//! exists, and a job on that partition can write into the store (the
//! nodes share its filesystem).

use std::path::Path;
use std::time::{Duration, Instant};

use super::{SlurmOptions, client};
use crate::{Error, Result};

fn fail(message: String) -> Error {
    Error::setting("executor", message)
}

/// The client commands are on the PATH.
pub fn check_tools() -> Result<()> {
    for tool in ["sbatch", "squeue", "scontrol", "scancel", "sinfo"] {
        if client::find_on_path(tool).is_none() {
            return Err(fail(format!(
                "no `{tool}` on the PATH: the Slurm executor needs the Slurm client commands (run radial on a login node of the cluster, or install them: apt-get install slurm-client); without a cluster use --executor local"
            )));
        }
    }
    Ok(())
}

pub fn preflight(options: &SlurmOptions, run_dir: &Path, job_name: &str) -> Result<()> {
    check_tools()?;
    let (partitions, default) = client::partitions()?;
    match &options.partition {
        Some(p) if !partitions.contains(p) => {
            return Err(fail(format!(
                "unknown partition `{p}` (this cluster has: {}): fix --slurm-partition (or `partition:` under `executor:`)",
                partitions.join(", ")
            )));
        }
        None if default.is_none() => {
            return Err(fail(format!(
                "this cluster has no default partition: name one with --slurm-partition (partitions: {})",
                partitions.join(", ")
            )));
        }
        _ => {}
    }
    check_store_visible(options, run_dir, job_name)
}

/// Submits a job that writes a marker into the run directory (inside the
/// store) and waits for it: a store the nodes cannot see fails here, not
/// after thousands of jobs.
fn check_store_visible(options: &SlurmOptions, run_dir: &Path, job_name: &str) -> Result<()> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let nonce = format!("{}-{nanos}", std::process::id());
    let marker = run_dir.join("node-marker");
    let mut args = vec![
        format!("--job-name={job_name}-check"),
        "--output=/dev/null".to_string(),
        "--cpus-per-task=1".to_string(),
    ];
    if let Some(p) = &options.partition {
        args.push(format!("--partition={p}"));
    }
    args.extend(options.options.iter().cloned());
    args.push(format!(
        "--wrap=echo {nonce} > '{}'",
        marker.display().to_string().replace('\'', "'\\''")
    ));
    let job = client::sbatch(&args)?;
    let start = Instant::now();
    loop {
        if std::fs::read_to_string(&marker).is_ok_and(|t| t.trim() == nonce) {
            let _ = std::fs::remove_file(&marker);
            return Ok(());
        }
        let state = client::job_state(&job)?;
        let finished = state.as_ref().is_none_or(|(s, _)| {
            !matches!(
                s.as_str(),
                "PENDING" | "RUNNING" | "COMPLETING" | "CONFIGURING"
            )
        });
        // A finished job's marker may take a moment to show on a shared filesystem.
        if finished && start.elapsed() > Duration::from_secs(2) {
            let settle = Instant::now();
            while settle.elapsed() < Duration::from_secs(10) {
                if std::fs::read_to_string(&marker).is_ok_and(|t| t.trim() == nonce) {
                    let _ = std::fs::remove_file(&marker);
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let (s, reason) = state.unwrap_or_default();
            return Err(fail(format!(
                "the store is not visible from the compute nodes: job {job} ({s}, {reason}) could not write {} (put the store on a filesystem the nodes share and that the job's user can write, e.g. --store /shared/project/.radial, and run radial from there)",
                marker.display()
            )));
        }
        if start.elapsed() > options.preflight_timeout {
            let _ = client::scancel(std::slice::from_ref(&job));
            return Err(fail(format!(
                "the store check job {job} did not run within {} s (is the partition busy or down? `squeue -j {job}` says why); raise `preflight_timeout` under `executor:` or try another partition",
                options.preflight_timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
