//! Execution: every task's key is computed from its inputs' output hashes;
//! a key found in the action cache is not run (and its output not even
//! read). Tasks that run hold their key's file lock, so concurrent runs on
//! one store compute each task once. Per-case chains run in parallel
//! (rayon); cohort stages run after them, in dependency order.
//!
//! Results are collected in plan order whatever the scheduling, so records
//! and outputs do not depend on the thread count.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::filehash::FileHashes;
use super::key::{InputOutputs, task_key};
use super::plan::{Plan, PlannedStage};
use super::stages::{InputData, Scope, TaskData};
use super::store::Store;
use crate::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads (default: all cores).
    pub jobs: Option<usize>,
    /// Keep running the other cases after a task fails.
    pub keep_going: bool,
    /// Draw progress bars on standard error.
    pub progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Run,
    Cached,
    Failed,
    /// Not run because an input failed.
    Skipped,
    /// Not started because the run stopped at a failure.
    NotStarted,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskRecord {
    pub stage: String,
    /// `None` for a cohort task.
    pub case: Option<String>,
    pub key: Option<String>,
    pub output: Option<String>,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub seconds: f64,
}

impl TaskRecord {
    fn new(stage: &str, case: Option<&str>) -> Self {
        TaskRecord {
            stage: stage.to_string(),
            case: case.map(str::to_string),
            key: None,
            output: None,
            status: TaskStatus::NotStarted,
            error: None,
            seconds: 0.0,
        }
    }

    pub fn ok(&self) -> bool {
        self.output.is_some()
    }
}

/// What a run did, before it is written as a record.
pub struct RunOutcome {
    pub run_id: String,
    pub started_unix: f64,
    pub seconds: f64,
    /// Plan order, then manifest order within a stage.
    pub tasks: Vec<TaskRecord>,
    /// Materialised files per stage (plan order).
    pub outputs: Vec<Vec<PathBuf>>,
    /// Input file hashes per case (image, mask), when a stage reads them.
    pub input_hashes: Vec<Option<(String, String)>>,
    /// Input files whose content had to be read to hash them (0 when every
    /// file's stamp was unchanged).
    pub files_hashed: usize,
    pub record_path: PathBuf,
}

impl RunOutcome {
    pub fn failed(&self) -> Vec<&TaskRecord> {
        self.tasks
            .iter()
            .filter(|t| matches!(t.status, TaskStatus::Failed | TaskStatus::Skipped))
            .collect()
    }
}

/// Content hashes of every case's image and mask (cached by file stamp),
/// checked against the manifest's `*_sha256` columns. Fails before any
/// task runs.
pub fn hash_case_files(plan: &Plan, hashes: &FileHashes) -> Result<Vec<Option<(String, String)>>> {
    if !plan.stages.iter().any(|s| s.kind.reads_case_files()) {
        return Ok(vec![None; plan.manifest.cases.len()]);
    }
    plan.manifest
        .cases
        .par_iter()
        .map(|case| {
            let image = hashes.hash(&case.image)?;
            let mask = hashes.hash(&case.mask)?;
            for (what, path, got, want) in [
                ("image", &case.image, &image, &case.image_sha256),
                ("mask", &case.mask, &mask, &case.mask_sha256),
            ] {
                if let Some(want) = want
                    && want != got
                {
                    return Err(Error::format(
                        path,
                        format!(
                            "case `{}`: the {what}'s content no longer matches the manifest's {what}_sha256 (recorded {want}, found {got})",
                            case.case_id
                        ),
                    ));
                }
            }
            Ok(Some((image, mask)))
        })
        .collect()
}

struct Executor<'a> {
    plan: &'a Plan,
    store: &'a Store,
    input_hashes: &'a [Option<(String, String)>],
    abort: AtomicBool,
    keep_going: bool,
    bars: Vec<ProgressBar>,
}

impl Executor<'_> {
    /// Looks the key up; on a miss, takes the task lock, looks again (another
    /// process may have finished it meanwhile), then computes and stores.
    fn run_task<'d>(
        &self,
        stage: &PlannedStage,
        record: &mut TaskRecord,
        key: String,
        data: impl FnOnce() -> Result<TaskData<'d>>,
    ) {
        let start = Instant::now();
        let outcome = (|| -> Result<(String, TaskStatus)> {
            if let Some(h) = self.store.action(&key) {
                return Ok((h, TaskStatus::Cached));
            }
            let _lock = self.store.lock_task(&key)?;
            if let Some(h) = self.store.action(&key) {
                return Ok((h, TaskStatus::Cached));
            }
            let data = data()?;
            let bytes = stage.kind.run(&data, &stage.params)?;
            let hash = self.store.put_object(&bytes)?;
            self.store.set_action(&key, &hash)?;
            Ok((hash, TaskStatus::Run))
        })();
        record.key = Some(key);
        record.seconds = start.elapsed().as_secs_f64();
        match outcome {
            Ok((hash, status)) => {
                record.output = Some(hash);
                record.status = status;
            }
            Err(e) => {
                let who = match &record.case {
                    Some(c) => format!("case `{c}`, stage `{}`", record.stage),
                    None => format!("stage `{}`", record.stage),
                };
                record.error = Some(format!("{who}: {e}"));
                record.status = TaskStatus::Failed;
                if !self.keep_going {
                    self.abort.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// The per-case stages of one case, in plan order.
    fn run_case(&self, c: usize, per_case: &[usize]) -> Vec<TaskRecord> {
        let plan = self.plan;
        let case = &plan.manifest.cases[c];
        let mut records: Vec<TaskRecord> = Vec::with_capacity(per_case.len());
        for &s in per_case {
            let stage = &plan.stages[s];
            let mut rec = TaskRecord::new(&stage.id, Some(&case.case_id));
            let inputs: Vec<&TaskRecord> = stage
                .inputs
                .iter()
                .map(|i| {
                    &records[per_case
                        .iter()
                        .position(|p| p == i)
                        .expect("per-case input")]
                })
                .collect();
            if let Some(bad) = inputs.iter().find(|r| !r.ok()) {
                rec.status = if bad.status == TaskStatus::NotStarted {
                    TaskStatus::NotStarted
                } else {
                    TaskStatus::Skipped
                };
                rec.error = (rec.status == TaskStatus::Skipped).then(|| {
                    format!(
                        "case `{}`, stage `{}`: input stage `{}` failed",
                        case.case_id, stage.id, bad.stage
                    )
                });
            } else if self.abort.load(Ordering::SeqCst) {
                rec.status = TaskStatus::NotStarted;
            } else {
                let items: InputOutputs = inputs
                    .iter()
                    .map(|r| vec![(case.case_id.clone(), r.output.clone().unwrap_or_default())])
                    .collect();
                let key = task_key(plan, s, Some(c), self.input_hashes[c].as_ref(), &items, &[]);
                self.run_task(stage, &mut rec, key, || {
                    task_data(plan, self.store, s, Some(c), &items)
                });
            }
            self.bars[s].inc(1);
            records.push(rec);
        }
        records
    }

    /// A cohort task over the cases whose inputs all succeeded (all cases
    /// unless `--keep-going` let some fail).
    fn run_cohort(&self, s: usize, by_stage: &[Vec<TaskRecord>]) -> TaskRecord {
        let plan = self.plan;
        let stage = &plan.stages[s];
        let mut rec = TaskRecord::new(&stage.id, None);
        let n = plan.manifest.cases.len();
        let case_ok = |c: usize| {
            stage
                .inputs
                .iter()
                .all(|&i| plan.stages[i].scope == Scope::Cohort || by_stage[i][c].ok())
        };
        let included: Vec<usize> = (0..n).filter(|&c| case_ok(c)).collect();
        let failed_input = stage.inputs.iter().find(|&&i| {
            let recs = &by_stage[i];
            recs.is_empty() || (plan.stages[i].scope == Scope::Cohort && !recs[0].ok())
        });
        if self.abort.load(Ordering::SeqCst) {
            rec.status = TaskStatus::NotStarted;
        } else if let Some(&i) = failed_input {
            rec.status = TaskStatus::Skipped;
            rec.error = Some(format!(
                "stage `{}`: input stage `{}` failed",
                stage.id, plan.stages[i].id
            ));
        } else if included.is_empty() || (included.len() < n && !self.keep_going) {
            rec.status = TaskStatus::Skipped;
            rec.error = Some(format!(
                "stage `{}`: {} of {n} cases failed upstream",
                stage.id,
                n - included.len()
            ));
        } else {
            let items = cohort_inputs(plan, s, &included, |i, c| {
                by_stage[i][c].output.clone().unwrap_or_default()
            });
            let key = task_key(plan, s, None, None, &items, &included);
            self.run_task(stage, &mut rec, key, || {
                task_data(plan, self.store, s, None, &items)
            });
        }
        self.bars[s].inc(1);
        rec
    }
}

/// The input items of cohort stage `s` over the `included` cases;
/// `output(stage, case)` gives a per-case output (case 0 for a cohort stage).
pub fn cohort_inputs(
    plan: &Plan,
    s: usize,
    included: &[usize],
    output: impl Fn(usize, usize) -> String,
) -> InputOutputs {
    plan.stages[s]
        .inputs
        .iter()
        .map(|&i| match plan.stages[i].scope {
            Scope::Cohort => vec![("*".to_string(), output(i, 0))],
            Scope::PerCase => included
                .iter()
                .map(|&c| (plan.manifest.cases[c].case_id.clone(), output(i, c)))
                .collect(),
        })
        .collect()
}

/// Reads a task's inputs from the store.
pub fn task_data<'p>(
    plan: &'p Plan,
    store: &Store,
    s: usize,
    case: Option<usize>,
    inputs: &InputOutputs,
) -> Result<TaskData<'p>> {
    let stage = &plan.stages[s];
    let mut data = Vec::new();
    for (&i, items) in stage.inputs.iter().zip(inputs) {
        let items = items
            .par_iter()
            .map(|(c, h)| Ok((c.clone(), Arc::new(store.read_object(h)?))))
            .collect::<Result<Vec<_>>>()?;
        data.push(InputData {
            stage_id: plan.stages[i].id.clone(),
            kind: plan.stages[i].kind.name().to_string(),
            items,
        });
    }
    Ok(TaskData {
        case: case.map(|c| &plan.manifest.cases[c]),
        manifest: &plan.manifest,
        inputs: data,
        files: &stage.files,
    })
}

fn progress_bars(plan: &Plan, show: bool) -> (MultiProgress, Vec<ProgressBar>) {
    let multi = MultiProgress::with_draw_target(if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let width = plan.stages.iter().map(|s| s.id.len()).max().unwrap_or(0);
    let style = ProgressStyle::with_template(&format!(
        "{{prefix:>{width}}} [{{bar:30}}] {{pos}}/{{len}} ETA {{eta}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bars = plan
        .stages
        .iter()
        .enumerate()
        .map(|(s, st)| {
            let bar = multi.add(ProgressBar::new(plan.tasks_of(s).len() as u64));
            bar.set_style(style.clone());
            bar.set_prefix(st.id.clone());
            bar
        })
        .collect();
    (multi, bars)
}

/// A sortable, file-name-safe run id: UTC time and process id.
pub fn new_run_id(now: std::time::SystemTime) -> String {
    let d = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (y, mo, day, h, mi, s) = civil_time(d.as_secs() as i64);
    format!(
        "{y:04}{mo:02}{day:02}T{h:02}{mi:02}{s:02}.{:03}Z-{}",
        d.subsec_millis(),
        std::process::id()
    )
}

/// (year, month, day, hour, minute, second) of a Unix time, UTC.
pub fn civil_time(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// Runs a planned pipeline: hashes inputs, executes, materialises cohort
/// outputs, writes the run record and the lock file.
pub fn execute(plan: &Plan, opts: &RunOptions) -> Result<RunOutcome> {
    let started = std::time::SystemTime::now();
    let clock = Instant::now();
    let run_id = new_run_id(started);
    let store = Store::open(&plan.store_dir)?;
    let _shared = store.lock_shared()?;
    let hashes = FileHashes::load(&store.root.join("file-hashes.tsv"));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::setting("--jobs", e.to_string()))?;
    let input_hashes = pool.install(|| hash_case_files(plan, &hashes))?;
    hashes.save()?;
    let (_multi, bars) = progress_bars(plan, opts.progress);
    let exec = Executor {
        plan,
        store: &store,
        input_hashes: &input_hashes,
        abort: AtomicBool::new(false),
        keep_going: opts.keep_going,
        bars,
    };
    let per_case: Vec<usize> = (0..plan.stages.len())
        .filter(|&s| plan.stages[s].scope == Scope::PerCase)
        .collect();
    let chains: Vec<Vec<TaskRecord>> = pool.install(|| {
        (0..plan.manifest.cases.len())
            .into_par_iter()
            .map(|c| exec.run_case(c, &per_case))
            .collect()
    });
    let mut by_stage: Vec<Vec<TaskRecord>> = vec![Vec::new(); plan.stages.len()];
    for chain in chains {
        for (k, rec) in chain.into_iter().enumerate() {
            by_stage[per_case[k]].push(rec);
        }
    }
    let mut outputs = vec![Vec::new(); plan.stages.len()];
    for s in 0..plan.stages.len() {
        if plan.stages[s].scope != Scope::Cohort {
            continue;
        }
        let rec = pool.install(|| exec.run_cohort(s, &by_stage));
        if let Some(hash) = &rec.output {
            match materialise(plan, &store, s, hash) {
                Ok(files) => outputs[s] = files,
                Err(e) => {
                    let mut rec = rec.clone();
                    rec.status = TaskStatus::Failed;
                    rec.error = Some(format!("stage `{}`: writing its outputs: {e}", rec.stage));
                    rec.output = None;
                    by_stage[s].push(rec);
                    continue;
                }
            }
        }
        by_stage[s].push(rec);
    }
    for bar in &exec.bars {
        bar.finish();
    }
    let outcome = RunOutcome {
        run_id,
        started_unix: started
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        seconds: 0.0,
        tasks: by_stage.into_iter().flatten().collect(),
        outputs,
        input_hashes,
        files_hashed: hashes.reads.load(Ordering::Relaxed),
        record_path: store.runs_dir(),
    };
    let mut outcome = outcome;
    outcome.seconds = clock.elapsed().as_secs_f64();
    outcome.record_path = super::runs::write_run_record(plan, &store, &outcome)?;
    super::lock::write_lock(plan, &store, &outcome)?;
    Ok(outcome)
}

/// Writes a cohort stage's files into the output directory, unless the
/// files there already come from the same object (a sidecar remembers it).
fn materialise(plan: &Plan, store: &Store, s: usize, hash: &str) -> Result<Vec<PathBuf>> {
    let stage = &plan.stages[s];
    let dir = &plan.output_dir;
    let sidecar = dir.join(format!(".{}.source", stage.id));
    if let Ok(text) = std::fs::read_to_string(&sidecar) {
        let mut lines = text.lines();
        if lines.next() == Some(hash) {
            let files: Vec<PathBuf> = lines.map(PathBuf::from).collect();
            if files.iter().all(|f| f.is_file()) {
                return Ok(files);
            }
        }
    }
    let bytes = store.read_object(hash)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let files = stage.kind.materialise(&stage.id, &bytes, dir)?;
    let mut text = format!("{hash}\n");
    for f in &files {
        text.push_str(&format!("{}\n", f.display()));
    }
    crate::io::atomic::write_bytes(&sidecar, text.as_bytes())?;
    Ok(files)
}

/// The output paths of a stage as strings (for summaries).
pub fn display_paths(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p: &PathBuf| Path::new(p).display().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time_matches_known_dates() {
        assert_eq!(civil_time(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_time(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil_time(1_795_791_723), (2026, 11, 27, 15, 2, 3));
    }
}
