//! The Slurm executor: bundles become elements of job arrays (one `sbatch`
//! per array, throttled so that at most `max_jobs` elements of the run's
//! arrays run at once), each element running `radial worker` on its
//! bundle's task file; the driver polls `squeue` / `scontrol show job`,
//! adopts results as they land in the shared store, resubmits elements
//! whose job died for a reason outside the task (cancelled, node failure,
//! preemption, time limit) up to `retries` times, and cancels its jobs on
//! Ctrl-C. Everything a job needs and leaves lives under
//! `<store>/slurm/<run>/`, so a driver killed with `kill -9` loses nothing:
//! the next run finds the finished tasks in the store and submits the rest.

pub mod client;
mod preflight;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::execute::{TaskRecord, TaskStatus};
use super::executor::{Bundle, TaskExecutor, TaskFile, TaskResult, Work};
use crate::{Error, Result};

pub use preflight::{check_tools, preflight};

/// The Slurm settings (command line, or `executor:` in a config file).
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// Extra `sbatch` options, e.g. `--mem=4G`, `--time=01:00:00`.
    pub options: Vec<String>,
    /// Array elements that may run at once (`%N`).
    pub max_jobs: usize,
    /// Resubmissions of an element whose job died outside its tasks.
    pub retries: u32,
    /// Seconds between two looks at the queue.
    pub poll: Duration,
    /// How long the store check job may take to run.
    pub preflight_timeout: Duration,
    /// CPUs per array element (`--cpus-per-task`; the worker's threads).
    pub cpus_per_task: usize,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        SlurmOptions {
            partition: None,
            options: Vec::new(),
            max_jobs: 100,
            retries: 2,
            poll: Duration::from_millis(500),
            preflight_timeout: Duration::from_secs(300),
            cpus_per_task: 1,
        }
    }
}

/// Set by Ctrl-C / SIGTERM while a Slurm run is in progress.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Catches SIGINT and SIGTERM for the rest of the process: the driver then
/// cancels its jobs instead of dying with them queued.
pub fn catch_interrupts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = ready_tx.send(());
                return;
            };
            rt.block_on(async move {
                let Ok(mut term) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                else {
                    let _ = ready_tx.send(());
                    return;
                };
                let ctrl_c = tokio::signal::ctrl_c();
                let _ = ready_tx.send(());
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
                INTERRUPTED.store(true, Ordering::SeqCst);
            });
        });
        let _ = ready_rx.recv_timeout(Duration::from_secs(2));
    });
}

/// One bundle's life in the queue.
struct Element {
    bundle: usize,
    attempt: u32,
    /// `JOB_INDEX` once submitted.
    job: Option<String>,
    dir: PathBuf,
    index: usize,
    /// When the job was first seen gone without a result (NFS may show
    /// the result a little later).
    gone_since: Option<Instant>,
}

impl Element {
    fn task_file(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.index))
    }
    fn result_file(&self) -> PathBuf {
        self.dir.join(format!("{}.result.json", self.index))
    }
    fn log_file(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.index))
    }
}

/// How long a job may be gone from the queue before its missing result
/// counts as lost (a shared filesystem may show files late).
const RESULT_GRACE: Duration = Duration::from_secs(15);

pub struct SlurmExecutor {
    pub options: SlurmOptions,
    /// `<store>/slurm/<run>/`: task files, scripts, job logs, results.
    pub run_dir: PathBuf,
    /// The job name of every job of this run (how `squeue` finds them).
    pub job_name: String,
    /// The radial binary the nodes run.
    pub binary: PathBuf,
    pub max_array: usize,
    /// Arrays submitted, for the summary (and the one-sbatch-per-array check).
    pub sbatch_calls: usize,
    submissions: usize,
    /// Every array submitted: its job id and its current `%N` throttle.
    arrays: Vec<SubmittedArray>,
    /// Whether raising a throttle failed once (warned, not repeated).
    throttle_warned: bool,
}

struct SubmittedArray {
    job: String,
    throttle: usize,
}

/// The throttle each array should have so that the run's running elements
/// never exceed `max_jobs`: an array may use what the unfinished elements
/// of the arrays submitted before it leave free. Throttles are only ever
/// raised (lowering one would not stop elements already running), and an
/// array with nothing left keeps its own.
pub fn raised_throttles(max_jobs: usize, unfinished: &[usize], current: &[usize]) -> Vec<usize> {
    let mut earlier = 0usize;
    unfinished
        .iter()
        .zip(current)
        .map(|(&left, &now)| {
            let free = max_jobs.saturating_sub(earlier);
            earlier += left;
            if left > 0 {
                now.max(free.min(left))
            } else {
                now
            }
        })
        .collect()
}

impl SlurmExecutor {
    pub fn new(options: SlurmOptions, store_root: &Path, run_id: &str) -> Result<SlurmExecutor> {
        check_tools()?;
        let binary = std::env::current_exe().map_err(|e| Error::io("radial", e))?;
        let run_dir = std::path::absolute(store_root.join("slurm").join(run_id))
            .map_err(|e| Error::io(store_root, e))?;
        std::fs::create_dir_all(&run_dir).map_err(|e| Error::io(&run_dir, e))?;
        Ok(SlurmExecutor {
            max_array: client::max_array_size()?.max(1),
            job_name: format!("radial-{run_id}"),
            options,
            run_dir,
            binary,
            sbatch_calls: 0,
            submissions: 0,
            arrays: Vec::new(),
            throttle_warned: false,
        })
    }

    /// The `sbatch` options every job of the run gets.
    fn common_args(&self) -> Vec<String> {
        let mut args = vec![format!("--job-name={}", self.job_name)];
        if let Some(p) = &self.options.partition {
            args.push(format!("--partition={p}"));
        }
        args.push(format!("--cpus-per-task={}", self.options.cpus_per_task));
        args.extend(self.options.options.iter().cloned());
        args
    }

    /// Writes the task files of `elements` into a new submission directory
    /// and submits them as one array, at most `throttle` running at once.
    fn submit(
        &mut self,
        work: &Work,
        bundles: &[Bundle],
        elements: &mut [&mut Element],
        throttle: usize,
    ) -> Result<()> {
        self.submissions += 1;
        let dir = self.run_dir.join(format!("array-{:04}", self.submissions));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        for (i, el) in elements.iter_mut().enumerate() {
            el.dir = dir.clone();
            el.index = i;
            el.gone_since = None;
            let file = TaskFile::new(work, &bundles[el.bundle], el.result_file())?;
            let json = serde_json::to_vec_pretty(&file).map_err(|e| Error::data(e.to_string()))?;
            crate::io::atomic::write_bytes(&el.task_file(), &json)?;
        }
        let store =
            std::path::absolute(&work.store.root).map_err(|e| Error::io(&work.store.root, e))?;
        let script = dir.join("job.sh");
        let text = format!(
            "#!/bin/sh\n# One element of a radial job array: runs the bundle listed in $SLURM_ARRAY_TASK_ID.json.\nexec {} worker --store {} --jobs {} --tasks {}/\"$SLURM_ARRAY_TASK_ID\".json\n",
            shell_quote(&self.binary),
            shell_quote(&store),
            self.options.cpus_per_task,
            shell_quote(&dir),
        );
        crate::io::atomic::write_bytes(&script, text.as_bytes())?;
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut args = self.common_args();
        let throttle = throttle.clamp(1, elements.len());
        args.push(format!("--array=0-{}%{throttle}", elements.len() - 1));
        args.push(format!("--output={}/%a.log", dir.display()));
        args.push(format!("--chdir={}", cwd.display()));
        args.push(script.display().to_string());
        let job = client::sbatch(&args)?;
        self.sbatch_calls += 1;
        for el in elements.iter_mut() {
            el.job = Some(format!("{job}_{}", el.index));
        }
        self.arrays.push(SubmittedArray { job, throttle });
        Ok(())
    }

    /// Raises the throttles of later arrays as earlier ones finish (see
    /// [`raised_throttles`]). A failed `scontrol update` only slows the run
    /// down: it is reported once and the run goes on.
    fn raise_throttles(&mut self, elements: &[Element], finished: &[bool]) {
        let unfinished: Vec<usize> = self
            .arrays
            .iter()
            .map(|a| {
                let prefix = format!("{}_", a.job);
                elements
                    .iter()
                    .zip(finished)
                    .filter(|(e, f)| !**f && e.job.as_ref().is_some_and(|j| j.starts_with(&prefix)))
                    .count()
            })
            .collect();
        let current: Vec<usize> = self.arrays.iter().map(|a| a.throttle).collect();
        let wanted = raised_throttles(self.options.max_jobs.max(1), &unfinished, &current);
        for (array, want) in self.arrays.iter_mut().zip(wanted) {
            if want == array.throttle {
                continue;
            }
            match client::set_array_throttle(&array.job, want) {
                Ok(()) => array.throttle = want,
                Err(e) if !self.throttle_warned => {
                    eprintln!(
                        "warning: cannot raise the throttle of array {}: {e}",
                        array.job
                    );
                    self.throttle_warned = true;
                }
                Err(_) => {}
            }
        }
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// The last lines of a job log, indented, for a failure message.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let tail = &all[all.len().saturating_sub(lines)..];
    if tail.is_empty() {
        return format!("\n    (job log {} is empty or missing)", path.display());
    }
    let mut s = format!("\n    job log {}, last lines:", path.display());
    for l in tail {
        s.push_str("\n    | ");
        s.push_str(l);
    }
    s
}

/// Job states where the job died for a reason outside its tasks: the
/// element is resubmitted.
fn retryable(state: &str) -> bool {
    matches!(
        state,
        "CANCELLED" | "TIMEOUT" | "NODE_FAIL" | "PREEMPTED" | "BOOT_FAIL" | "DEADLINE"
    )
}

/// Records saying that every case of a bundle failed at its first stage
/// (the stages after it are then skipped by the adopting pass).
fn lost_records(work: &Work, bundle: &Bundle, why: &str) -> Vec<TaskRecord> {
    let plan = work.plan;
    let first = plan
        .stages
        .iter()
        .find(|s| (s.scope == super::stages::Scope::Cohort) == bundle.cohort);
    let Some(first) = first else {
        return Vec::new();
    };
    let record = |case: Option<String>| TaskRecord {
        stage: first.id.clone(),
        error: Some(match &case {
            Some(c) => format!("case `{c}`, stage `{}`: {why}", first.id),
            None => format!("stage `{}`: {why}", first.id),
        }),
        case,
        variant: None,
        key: None,
        output: None,
        status: TaskStatus::Failed,
        seconds: 0.0,
    };
    if bundle.cohort {
        return vec![record(None)];
    }
    bundle
        .cases
        .iter()
        .map(|&c| record(Some(plan.manifest.cases[c].case_id.clone())))
        .collect()
}

impl TaskExecutor for SlurmExecutor {
    fn run(
        &mut self,
        work: &Work,
        bundles: &[Bundle],
        done: &(dyn Fn(&TaskRecord) + Sync),
    ) -> Result<Vec<TaskRecord>> {
        let mut elements: Vec<Element> = (0..bundles.len())
            .map(|b| Element {
                bundle: b,
                attempt: 0,
                job: None,
                dir: PathBuf::new(),
                index: 0,
                gone_since: None,
            })
            .collect();
        let mut records = Vec::new();
        let mut finished = vec![false; elements.len()];
        let mut stop = false;
        loop {
            if INTERRUPTED.load(Ordering::SeqCst) {
                let _ = client::scancel(&[format!("--name={}", self.job_name)]);
                return Err(Error::data(format!(
                    "interrupted: the jobs of this run ({}) were cancelled; `radial run` again adopts what finished",
                    self.job_name
                )));
            }
            // Submit what waits, one array at a time, while fewer than
            // max_jobs elements of earlier arrays are unfinished; the new
            // array may run what they leave free.
            let active = (0..elements.len())
                .filter(|&i| !finished[i] && elements[i].job.is_some())
                .count();
            let max_jobs = self.options.max_jobs.max(1);
            if !stop && active < max_jobs {
                let mut waiting: Vec<&mut Element> = elements
                    .iter_mut()
                    .enumerate()
                    .filter(|(i, e)| !finished[*i] && e.job.is_none())
                    .map(|(_, e)| e)
                    .take(self.max_array)
                    .collect();
                if !waiting.is_empty() {
                    self.submit(work, bundles, &mut waiting, max_jobs - active)?;
                }
            }
            if finished.iter().all(|&f| f) {
                break;
            }
            if stop && (0..elements.len()).all(|i| finished[i] || elements[i].job.is_none()) {
                break;
            }
            std::thread::sleep(self.options.poll);
            let queued: std::collections::HashSet<String> =
                client::queued(&self.job_name)?.into_iter().collect();
            for i in 0..elements.len() {
                let el = &mut elements[i];
                let Some(job) = el.job.clone() else { continue };
                if finished[i] || queued.contains(&job) {
                    continue;
                }
                let bundle = &bundles[el.bundle];
                if let Some(result) = read_result(&el.result_file()) {
                    let failed = result
                        .records
                        .iter()
                        .any(|r| r.status == TaskStatus::Failed);
                    let tail = failed.then(|| log_tail(&el.log_file(), 15));
                    for mut r in result.records {
                        if r.status == TaskStatus::Failed
                            && let (Some(e), Some(t)) = (&mut r.error, &tail)
                        {
                            e.push_str(&format!(" (job {job}){t}"));
                        }
                        done(&r);
                        records.push(r);
                    }
                    finished[i] = true;
                    if failed && !work.keep_going {
                        stop = true;
                    }
                    continue;
                }
                let (state, reason) = client::job_state(&job)?.unwrap_or_else(|| {
                    (
                        "CANCELLED".to_string(),
                        "no longer known to the controller".to_string(),
                    )
                });
                let still_there = matches!(
                    state.as_str(),
                    "PENDING" | "RUNNING" | "COMPLETING" | "CONFIGURING" | "SUSPENDED" | "REQUEUED"
                );
                // The worker writes its result before it exits; a shared
                // filesystem may show it a little after the job is gone.
                let result_may_come = matches!(state.as_str(), "COMPLETED" | "FAILED")
                    && el.gone_since.get_or_insert_with(Instant::now).elapsed() < RESULT_GRACE;
                if still_there || result_may_come {
                    continue;
                }
                if retryable(&state) && el.attempt < self.options.retries && !stop {
                    eprintln!(
                        "warning: job {job} ended {state} ({reason}); resubmitting its bundle (attempt {} of {})",
                        el.attempt + 2,
                        self.options.retries + 1
                    );
                    el.attempt += 1;
                    el.job = None;
                    continue;
                }
                let why = format!(
                    "job {job} ended {state} ({reason}) after {} attempt(s) without a result{}",
                    el.attempt + 1,
                    log_tail(&el.log_file(), 15)
                );
                for r in lost_records(work, bundle, &why) {
                    done(&r);
                    records.push(r);
                }
                finished[i] = true;
                if !work.keep_going {
                    stop = true;
                }
            }
            if !stop {
                self.raise_throttles(&elements, &finished);
            }
            if stop {
                // Without --keep-going a failure ends the run: cancel the rest.
                let _ = client::scancel(&[format!("--name={}", self.job_name)]);
                for i in 0..elements.len() {
                    if !finished[i]
                        && elements[i].job.is_some()
                        && read_result(&elements[i].result_file()).is_none()
                    {
                        finished[i] = true;
                    }
                }
            }
        }
        Ok(records)
    }
}

fn read_result(path: &Path) -> Option<TaskResult> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::raised_throttles;

    #[test]
    fn later_arrays_get_what_earlier_ones_leave_free_and_never_less() {
        // max 4: array 0 has 3 unfinished, so array 1 (submitted with %1)
        // may rise to 1 only; once array 0 is down to 1, array 1 gets 3.
        assert_eq!(raised_throttles(4, &[3, 5], &[4, 1]), vec![4, 1]);
        assert_eq!(raised_throttles(4, &[1, 5], &[4, 1]), vec![4, 3]);
        // Never lowered, never above what is left, finished arrays untouched.
        assert_eq!(raised_throttles(4, &[4, 5], &[4, 3]), vec![4, 3]);
        assert_eq!(raised_throttles(4, &[0, 2], &[4, 1]), vec![4, 2]);
        // The running total never exceeds max_jobs: each array's throttle
        // is bounded by what the unfinished elements before it leave.
        let t = raised_throttles(6, &[2, 3, 4], &[6, 1, 1]);
        assert_eq!(t, vec![6, 3, 1]);
    }
}
