//! Executors: where the tasks of a plan run. The planner stays local; an
//! executor receives bundles of ready tasks and hands back their records,
//! their outputs being in the store. [`LocalExecutor`] runs bundles on this
//! machine's threads, the Slurm executor ([`super::slurm`]) as job arrays;
//! both run a bundle with [`run_bundle`], the code of the local run, so
//! keys, locks and outputs are the same wherever a task ran.
//!
//! [`execute_with`] drives one: it submits the per-case chains that are not
//! all cached, then the cohort stages, then adopts everything in a last
//! local pass ([`super::execute::execute_many`] with an [`Adoption`]) that
//! writes the run record, the lock file and the cohort outputs exactly as a
//! local run does, computing nothing the workers were given.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use super::execute::{Adoption, RunOptions, RunOutcome, TaskRecord, TaskStatus, run_bundle};
use super::filehash::FileHashes;
use super::plan::{Plan, PlanOptions};
use super::stages::{Registry, Scope};
use super::store::Store;
use crate::{Error, Result};

/// What one worker runs, in order: the per-case chains of some cases, then
/// (with `cohort`) the cohort stages over the whole cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Indices into the manifest's cases.
    pub cases: Vec<usize>,
    pub cohort: bool,
}

/// The run an executor works for.
pub struct Work<'a> {
    pub plan: &'a Plan,
    /// The pipeline file and the options it was planned with (workers plan
    /// it again from these).
    pub pipeline: &'a Path,
    pub plan_options: &'a PlanOptions,
    pub store: &'a Store,
    /// (image, mask) content hashes per case, as the driver found them.
    pub input_hashes: &'a [Option<(String, String)>],
    pub keep_going: bool,
}

/// Runs bundles of ready tasks: every input of a bundle's tasks is in the
/// store or produced earlier in the same bundle.
pub trait TaskExecutor {
    /// Runs `bundles` and returns the record of every task they ran (failed
    /// ones with their error), calling `done` for each as it arrives.
    fn run(
        &mut self,
        work: &Work,
        bundles: &[Bundle],
        done: &(dyn Fn(&TaskRecord) + Sync),
    ) -> Result<Vec<TaskRecord>>;
}

/// Runs bundles in parallel on this machine.
pub struct LocalExecutor {
    /// Worker threads (default: all cores).
    pub jobs: Option<usize>,
}

impl TaskExecutor for LocalExecutor {
    fn run(
        &mut self,
        work: &Work,
        bundles: &[Bundle],
        done: &(dyn Fn(&TaskRecord) + Sync),
    ) -> Result<Vec<TaskRecord>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs.unwrap_or(0))
            .build()
            .map_err(|e| Error::setting("--jobs", e.to_string()))?;
        let records: Vec<Vec<TaskRecord>> = pool.install(|| {
            bundles
                .par_iter()
                .map(|b| {
                    let recs = run_one_bundle(
                        work.plan,
                        work.store,
                        work.input_hashes,
                        b,
                        work.keep_going,
                    );
                    recs.iter().for_each(done);
                    recs
                })
                .collect()
        });
        Ok(records.into_iter().flatten().collect())
    }
}

/// One bundle as a worker runs it: a cohort bundle adopts the per-case
/// outputs (a case that failed upstream is left out under `--keep-going`,
/// never recomputed here).
pub fn run_one_bundle(
    plan: &Plan,
    store: &Store,
    input_hashes: &[Option<(String, String)>],
    bundle: &Bundle,
    keep_going: bool,
) -> Vec<TaskRecord> {
    let adopt = bundle.cohort.then(|| {
        Arc::new(Adoption {
            records: Default::default(),
            compute_cohort: true,
        })
    });
    run_bundle(
        plan,
        store,
        input_hashes,
        &bundle.cases,
        bundle.cohort,
        keep_going,
        adopt,
    )
}

/// Which per-case chains and whether the cohort stages have work, from the
/// store as it is now.
pub struct Pending {
    /// Cases with at least one per-case task not in the store.
    pub cases: Vec<usize>,
    /// Per-case tasks (of those cases' chains) and cohort tasks already cached.
    pub cached_tasks: usize,
    /// Whether every cohort task is in the store.
    pub cohort_cached: bool,
    pub cohort_stages: usize,
    pub per_case_stages: usize,
}

pub fn pending(plan: &Plan, store: &Store, input_hashes: &[Option<(String, String)>]) -> Pending {
    let resolved = super::inspect::resolve(plan, store, input_hashes);
    let per_case: Vec<usize> = (0..plan.stages.len())
        .filter(|&s| plan.stages[s].scope == Scope::PerCase)
        .collect();
    let n = plan.manifest.cases.len();
    let cases: Vec<usize> = (0..n)
        .filter(|&c| {
            per_case.iter().any(|&s| {
                let nv = plan.stages[s].variant_count();
                resolved[s][c * nv..(c + 1) * nv]
                    .iter()
                    .any(|r| r.cached.is_none())
            })
        })
        .collect();
    let cached_tasks = resolved
        .iter()
        .flatten()
        .filter(|r| r.cached.is_some())
        .count();
    let cohort_cached = (0..plan.stages.len())
        .filter(|&s| plan.stages[s].scope == Scope::Cohort)
        .all(|s| resolved[s][0].cached.is_some());
    Pending {
        cases,
        cached_tasks,
        cohort_cached,
        cohort_stages: plan.stages.len() - per_case.len(),
        per_case_stages: per_case.len(),
    }
}

/// Groups cases into bundles of `size` cases each (the last may be smaller).
pub fn case_bundles(cases: &[usize], size: usize) -> Vec<Bundle> {
    cases
        .chunks(size.max(1))
        .map(|chunk| Bundle {
            cases: chunk.to_vec(),
            cohort: false,
        })
        .collect()
}

/// How many cases one bundle (one cluster job) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleSize {
    /// As many as asked (`--bundle N`).
    Fixed(usize),
    /// Chosen from the work: every job pays the scheduler's start-up cost
    /// (seconds), so one case per job wastes most of a small cluster's time
    /// on scheduling, while one huge job per slot leaves slots idle at the
    /// end. About [`AUTO_BUNDLE_WAVES`] jobs per slot that can run at once
    /// balances the two.
    Auto {
        /// Jobs that can run at once: the throttle, or the partition's CPUs
        /// divided by the CPUs per task when that is smaller.
        slots: usize,
    },
}

/// Jobs per concurrently running slot that an automatic bundle size aims at.
pub const AUTO_BUNDLE_WAVES: usize = 4;

impl BundleSize {
    /// Cases per bundle for `cases` cases to run.
    pub fn cases_per_bundle(self, cases: usize) -> usize {
        match self {
            BundleSize::Fixed(n) => n.max(1),
            BundleSize::Auto { slots } => cases.div_ceil(AUTO_BUNDLE_WAVES * slots.max(1)).max(1),
        }
    }
}

/// How [`execute_with`] groups and places the work.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Cases per bundle.
    pub bundle: BundleSize,
    /// Run the cohort stages in the driver instead of through the executor.
    pub cohort_local: bool,
}

/// Runs a plan through an executor (see the module comment).
pub fn execute_with(
    plan: &Plan,
    pipeline: &Path,
    plan_options: &PlanOptions,
    opts: &RunOptions,
    placement: &Placement,
    executor: &mut dyn TaskExecutor,
) -> Result<RunOutcome> {
    refuse_variants(plan)?;
    let since = opts
        .since
        .unwrap_or_else(|| (std::time::SystemTime::now(), Instant::now()));
    let store = Store::open(&plan.store_dir)?;
    let _shared = store.lock_shared()?;
    let hashes = FileHashes::load(&store.root.join("file-hashes.tsv"));
    let input_hashes = super::execute::hash_case_files(plan, &hashes)?;
    hashes.save()?;
    let work = Work {
        plan,
        pipeline,
        plan_options,
        store: &store,
        input_hashes: &input_hashes,
        keep_going: opts.keep_going,
    };
    let todo = pending(plan, &store, &input_hashes);
    let (_multi, bars) = super::execute::progress_bars(plan, 1, opts.progress);
    for (s, bar) in bars.iter().enumerate() {
        if plan.stages[s].scope == Scope::PerCase {
            bar.inc((plan.manifest.cases.len() - todo.cases.len()) as u64);
        }
    }
    let done = |r: &TaskRecord| {
        if let Some(s) = plan.stage_index(&r.stage) {
            bars[s].inc(1);
        }
    };
    let mut records = executor.run(
        &work,
        &case_bundles(
            &todo.cases,
            placement.bundle.cases_per_bundle(todo.cases.len()),
        ),
        &done,
    )?;
    let failed = records
        .iter()
        .any(|r| matches!(r.status, TaskStatus::Failed | TaskStatus::Skipped));
    let cohort_todo = todo.cohort_stages > 0
        && !placement.cohort_local
        && (opts.keep_going || !failed)
        && !pending(plan, &store, &input_hashes).cohort_cached;
    if cohort_todo {
        let cohort = Bundle {
            cases: Vec::new(),
            cohort: true,
        };
        let cohort_records = executor.run(&work, std::slice::from_ref(&cohort), &done)?;
        records.extend(cohort_records);
    }
    for bar in &bars {
        bar.finish_and_clear();
    }
    let adoption = Adoption {
        records: records
            .into_iter()
            .map(|r| ((r.stage.clone(), r.label()), r))
            .collect(),
        compute_cohort: placement.cohort_local,
    };
    let mut last = opts.clone();
    last.adopt = Some(Arc::new(adoption));
    last.since = Some(since);
    // The bars above counted every task; the adopting pass is quick.
    last.progress = false;
    super::execute::execute(plan, &last)
}

/// Per-variant tasks (downstream of a `perturb` stage) run on this machine
/// only: a worker's bundle and its result records are per case, and have
/// not been extended to variants yet. Refused before anything is submitted.
pub fn refuse_variants(plan: &Plan) -> Result<()> {
    match plan
        .stages
        .iter()
        .find(|s| s.kind.variants(&s.params).is_some())
    {
        Some(s) => Err(Error::setting(
            "--executor",
            format!(
                "stage `{}` (kind `{}`) fans cases out into variants, which run only with the local executor so far: run without `--executor slurm`",
                s.id,
                s.kind.name()
            ),
        )),
        None => Ok(()),
    }
}

/// The list of tasks a worker runs (`radial worker --tasks FILE`): enough to
/// plan the pipeline again on a node and check that it is the one the
/// driver planned.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TaskFile {
    pub version: u32,
    /// Absolute path of the pipeline file.
    pub pipeline: PathBuf,
    /// The pipeline's source hash when the driver planned it.
    pub pipeline_sha256: String,
    pub overrides: Vec<String>,
    /// Absolute path of the manifest given on the command line, if any.
    pub manifest: Option<PathBuf>,
    pub keep_going: bool,
    /// The cases whose per-case chains to run, with the input hashes the
    /// driver found (image, mask).
    pub cases: Vec<TaskCase>,
    /// Run the cohort stages after the cases.
    pub cohort: bool,
    /// For the cohort stages: every case's input hashes as the driver found
    /// them (the per-case keys they adopt depend on them).
    #[serde(default)]
    pub cohort_inputs: Vec<TaskCase>,
    /// Where the worker writes its records (JSON, atomically).
    pub result: PathBuf,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TaskCase {
    pub case_id: String,
    pub inputs: Option<(String, String)>,
}

/// What a worker writes when it has run its tasks.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TaskResult {
    pub records: Vec<TaskRecord>,
    pub seconds: f64,
    pub host: String,
}

pub const TASK_FILE_VERSION: u32 = 1;

impl TaskFile {
    pub fn new(work: &Work, bundle: &Bundle, result: PathBuf) -> Result<TaskFile> {
        let abs = |p: &Path| std::path::absolute(p).map_err(|e| Error::io(p, e));
        Ok(TaskFile {
            version: TASK_FILE_VERSION,
            pipeline: abs(work.pipeline)?,
            pipeline_sha256: work.plan.spec.source_sha256.clone(),
            overrides: work.plan_options.overrides.clone(),
            manifest: match &work.plan_options.manifest {
                Some(m) if !m.as_os_str().is_empty() => Some(abs(m)?),
                _ => None,
            },
            keep_going: work.keep_going,
            cases: bundle
                .cases
                .iter()
                .map(|&c| TaskCase {
                    case_id: work.plan.manifest.cases[c].case_id.clone(),
                    inputs: work.input_hashes[c].clone(),
                })
                .collect(),
            cohort: bundle.cohort,
            cohort_inputs: if bundle.cohort {
                (0..work.plan.manifest.cases.len())
                    .map(|c| TaskCase {
                        case_id: work.plan.manifest.cases[c].case_id.clone(),
                        inputs: work.input_hashes[c].clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            result,
        })
    }

    pub fn read(path: &Path) -> Result<TaskFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: TaskFile = serde_json::from_str(&text)
            .map_err(|e| Error::format(path, format!("not a radial task file: {e}")))?;
        if file.version != TASK_FILE_VERSION {
            return Err(Error::format(
                path,
                format!(
                    "task file version {} (this radial reads version {TASK_FILE_VERSION}): the nodes run another radial than the driver",
                    file.version
                ),
            ));
        }
        Ok(file)
    }
}

/// `radial worker`: plans the pipeline again, checks it and the listed
/// cases' input files against what the driver saw, runs the tasks as the
/// local executor would and writes their records to the task file's result.
pub fn run_worker(
    tasks_path: &Path,
    store_dir: &Path,
    jobs: Option<usize>,
    registry: &Registry,
) -> Result<TaskResult> {
    let start = Instant::now();
    let tasks = TaskFile::read(tasks_path)?;
    let opts = PlanOptions {
        overrides: tasks.overrides.clone(),
        manifest: tasks.manifest.clone(),
        store: Some(store_dir.to_path_buf()),
        out: None,
        name: None,
    };
    let plan = Plan::new(&tasks.pipeline, &opts, registry)?;
    if plan.spec.source_sha256 != tasks.pipeline_sha256 {
        return Err(Error::format(
            &tasks.pipeline,
            "the pipeline changed since the driver planned it; run `radial run` again",
        ));
    }
    let index: std::collections::HashMap<&str, usize> = plan
        .manifest
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.case_id.as_str(), i))
        .collect();
    let cases: Vec<usize> = tasks
        .cases
        .iter()
        .map(|tc| {
            index.get(tc.case_id.as_str()).copied().ok_or_else(|| {
                Error::format(
                    &plan.manifest.path,
                    format!("case `{}` is no longer in the manifest", tc.case_id),
                )
            })
        })
        .collect::<Result<_>>()?;
    let store = Store::open(store_dir)?;
    let _shared = store.lock_shared()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::setting("--jobs", e.to_string()))?;
    let records = pool.install(|| -> Result<Vec<TaskRecord>> {
        // The store's stamp cache is read, never written: the nodes must not
        // race on file-hashes.tsv (the driver keeps it).
        let hashes = FileHashes::load(&store.root.join("file-hashes.tsv"));
        let wanted: std::collections::HashSet<usize> = cases.iter().copied().collect();
        let input_hashes = super::execute::hash_some_case_files(&plan, &hashes, |c| {
            tasks.cohort || wanted.contains(&c)
        })?;
        let checked = tasks.cases.iter().chain(&tasks.cohort_inputs);
        for tc in checked {
            let c = *index.get(tc.case_id.as_str()).ok_or_else(|| {
                Error::format(
                    &plan.manifest.path,
                    format!("case `{}` is no longer in the manifest", tc.case_id),
                )
            })?;
            if input_hashes[c] != tc.inputs {
                let case = &plan.manifest.cases[c];
                return Err(Error::format(
                    &case.image,
                    format!(
                        "case `{}`: the image or mask ({}) changed since the driver hashed it; run `radial run` again",
                        case.case_id,
                        case.mask.display()
                    ),
                ));
            }
        }
        let bundle = Bundle {
            cases: cases.clone(),
            cohort: tasks.cohort,
        };
        Ok(run_one_bundle(
            &plan,
            &store,
            &input_hashes,
            &bundle,
            tasks.keep_going,
        ))
    })?;
    let result = TaskResult {
        records,
        seconds: start.elapsed().as_secs_f64(),
        host: hostname(),
    };
    let json = serde_json::to_vec(&result).map_err(|e| Error::data(e.to_string()))?;
    crate::io::atomic::write_bytes(&tasks.result, &json)?;
    Ok(result)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_automatic_bundle_gives_each_slot_about_four_jobs() {
        let auto = |slots| BundleSize::Auto { slots };
        // 200 cases on a 2-CPU partition: 8 jobs of 25 cases.
        assert_eq!(auto(2).cases_per_bundle(200), 25);
        // A large cluster with the default throttle of 100: 25 cases per job.
        assert_eq!(auto(100).cases_per_bundle(10_000), 25);
        // Fewer cases than slots: one case per job, never zero.
        assert_eq!(auto(100).cases_per_bundle(3), 1);
        assert_eq!(auto(0).cases_per_bundle(0), 1);
        assert_eq!(BundleSize::Fixed(7).cases_per_bundle(200), 7);
        assert_eq!(BundleSize::Fixed(0).cases_per_bundle(200), 1);
    }
}
