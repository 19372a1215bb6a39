//! The Slurm client commands (`sbatch`, `squeue`, `scontrol`, `scancel`,
//! `sinfo`), each run with a timeout: they retry for minutes when no
//! controller answers, and a driver must say so instead of hanging.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How long a client command may take before the controller is declared
/// unreachable: 20 s, or `$RADIAL_SLURM_CLIENT_TIMEOUT` seconds.
pub fn client_timeout() -> Duration {
    std::env::var("RADIAL_SLURM_CLIENT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(Duration::from_secs(20), Duration::from_secs)
}

/// What a command printed, when it exited.
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The full path of `tool` on the PATH, if any.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Runs `tool args` and waits at most `timeout`; a command still running
/// then is killed and reported as a controller that does not answer.
pub fn run(tool: &str, args: &[String], timeout: Duration) -> Result<Output> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::setting(
                "executor",
                format!("cannot run `{tool}`: {e} (are the Slurm client commands on the PATH?)"),
            )
        })?;
    // The pipes are drained on threads so that a verbose command cannot
    // block on a full pipe while we wait for it.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::setting(
                    "executor",
                    format!(
                        "the Slurm controller does not answer: `{tool} {}` took more than {} s (check that slurmctld runs and that SLURM_CONF names its configuration; `scontrol ping` tells)",
                        args.join(" "),
                        timeout.as_secs()
                    ),
                ));
            }
            Err(e) => {
                return Err(Error::setting(
                    "executor",
                    format!("waiting for `{tool}`: {e}"),
                ));
            }
        }
    };
    Ok(Output {
        success: status.success(),
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    })
}

/// [`run`], failing with the command's own message when it exits non-zero.
pub fn run_ok(tool: &str, args: &[String]) -> Result<String> {
    let out = run(tool, args, client_timeout())?;
    if !out.success && out.stderr.contains("Unable to contact slurm controller") {
        return Err(Error::setting(
            "executor",
            format!(
                "the Slurm controller does not answer (`{tool}`: {}): check that slurmctld runs and that SLURM_CONF names its configuration; `scontrol ping` tells",
                out.stderr.trim()
            ),
        ));
    }
    if !out.success {
        return Err(Error::setting(
            "executor",
            format!("`{tool} {}` failed: {}", args.join(" "), out.stderr.trim()),
        ));
    }
    Ok(out.stdout)
}

/// Submits a batch script; returns the job id (`--parsable` prints
/// `id[;cluster]`).
pub fn sbatch(args: &[String]) -> Result<String> {
    let mut all = vec!["--parsable".to_string()];
    all.extend_from_slice(args);
    let out = run_ok("sbatch", &all)?;
    let id = out.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::setting(
            "executor",
            format!("sbatch printed no job id: `{}`", out.trim()),
        ));
    }
    Ok(id)
}

/// The ids (`JOB` or `JOB_INDEX`) of the queued or running jobs named
/// `name`, array elements one per line.
pub fn queued(name: &str) -> Result<Vec<String>> {
    let out = run_ok(
        "squeue",
        &[
            "--noheader".into(),
            "--array".into(),
            format!("--name={name}"),
            "--format=%i %T".into(),
        ],
    )?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// A finished (or running) job's state and reason from `scontrol show job`
/// (kept by the controller for MinJobAge); `None` when it is no longer known.
pub fn job_state(id: &str) -> Result<Option<(String, String)>> {
    let out = run(
        "scontrol",
        &["show".into(), "job".into(), id.into()],
        client_timeout(),
    )?;
    if !out.success {
        return Ok(None);
    }
    let field = |name: &str| {
        out.stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .map(str::to_string)
    };
    Ok(field("JobState=").map(|s| (s, field("Reason=").unwrap_or_default())))
}

/// Changes how many elements of array `job` may run at once.
pub fn set_array_throttle(job: &str, throttle: usize) -> Result<()> {
    run_ok(
        "scontrol",
        &[
            "update".into(),
            format!("JobId={job}"),
            format!("ArrayTaskThrottle={throttle}"),
        ],
    )
    .map(|_| ())
}

/// Cancels jobs (array ids cancel every element).
pub fn scancel(ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    run_ok("scancel", ids).map(|_| ())
}

/// The partitions `sinfo` lists (the default without its `*`), and which is
/// the default.
pub fn partitions() -> Result<(Vec<String>, Option<String>)> {
    let out = run_ok("sinfo", &["--noheader".into(), "--format=%P".into()])?;
    let mut names = Vec::new();
    let mut default = None;
    for line in out.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let name = line.trim_end_matches('*').to_string();
        if line.ends_with('*') {
            default = Some(name.clone());
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok((names, default))
}

/// The CPUs of a partition (the default one when `None`), summed over its
/// nodes: `sinfo`'s `%C` is allocated/idle/other/total per line.
pub fn partition_cpus(partition: Option<&str>) -> Result<usize> {
    let mut args = vec!["--noheader".to_string(), "--format=%C".to_string()];
    if let Some(p) = partition {
        args.push(format!("--partition={p}"));
    }
    let out = run_ok("sinfo", &args)?;
    Ok(out
        .lines()
        .filter_map(|l| l.trim().rsplit('/').next()?.parse::<usize>().ok())
        .sum())
}

/// The controller's MaxArraySize (the largest array index + 1).
pub fn max_array_size() -> Result<usize> {
    let out = run_ok("scontrol", &["show".into(), "config".into()])?;
    Ok(out
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "MaxArraySize").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(1001))
}
