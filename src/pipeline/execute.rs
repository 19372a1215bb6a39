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
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::filehash::FileHashes;
use super::key::{InputOutputs, task_key};
use super::plan::{Plan, PlannedStage};
use super::stages::{InputData, Scope, TaskData};
use super::store::{CorruptObject, Store};
use crate::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads (default: all cores).
    pub jobs: Option<usize>,
    /// Keep running the other cases after a task fails.
    pub keep_going: bool,
    /// Draw progress bars on standard error.
    pub progress: bool,
    /// Adopt the outputs of tasks another executor ran instead of
    /// computing them here (the last pass of a Slurm run).
    pub adopt: Option<Arc<Adoption>>,
    /// When the run started, if before this call (the run record's duration).
    pub since: Option<(std::time::SystemTime, Instant)>,
}

/// Tasks that workers elsewhere ran (or failed): the pass that follows them
/// takes their outputs from the store and never computes those tasks itself.
#[derive(Debug, Default)]
pub struct Adoption {
    /// The workers' records, by (stage id, task label: the case id, with
    /// its variant for a per-variant task; `None` for a cohort task).
    pub records: std::collections::HashMap<(String, Option<String>), TaskRecord>,
    /// Whether cohort tasks are computed in this pass (`--cohort-local`, or
    /// the cohort job itself) rather than adopted.
    pub compute_cohort: bool,
}

impl Adoption {
    fn applies_to(&self, stage: &PlannedStage) -> bool {
        stage.scope == Scope::PerCase || !self.compute_cohort
    }

    fn worker_record(&self, record: &TaskRecord) -> Option<&TaskRecord> {
        self.records.get(&(record.stage.clone(), record.label()))
    }

    /// Why an adopted task has no output in the store: the worker's error.
    fn failure(&self, record: &TaskRecord) -> String {
        self.worker_record(record)
            .and_then(|r| r.error.clone())
            .unwrap_or_else(|| format!("{}: failed without a message", task_who(record)))
    }
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
    /// The variant of a per-variant task (downstream of a `perturb` stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<u32>,
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
            variant: None,
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

    /// How locks and records name the task: the case id, `case_id~v03` for
    /// a per-variant task, `None` for a cohort task.
    pub fn label(&self) -> Option<String> {
        self.case
            .as_deref()
            .map(|c| super::plan::task_label(c, self.variant))
    }
}

/// What a run did, before it is written as a record.
pub struct RunOutcome {
    pub run_id: String,
    pub started_unix: f64,
    pub seconds: f64,
    /// Plan order, then manifest order (then variant order) within a stage.
    pub tasks: Vec<TaskRecord>,
    /// Materialised files per stage (plan order).
    pub outputs: Vec<Vec<PathBuf>>,
    /// Input file hashes per case (image, mask), when a stage reads them.
    pub input_hashes: Vec<Option<(String, String)>>,
    /// Input files whose content had to be read to hash them (0 when every
    /// file's stamp was unchanged).
    pub files_hashed: usize,
    /// Where the cohort outputs were written.
    pub output_dir: PathBuf,
    /// The sweep this run belongs to (its first run id without the suffix).
    pub sweep_id: Option<String>,
    /// Corrupt objects found in the store and the tasks recomputed for them.
    pub healed: Vec<String>,
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
    hash_some_case_files(plan, hashes, |_| true)
}

/// [`hash_case_files`] for the cases `wanted` selects (`None` for the
/// others): a worker hashes only the cases it runs.
pub fn hash_some_case_files(
    plan: &Plan,
    hashes: &FileHashes,
    wanted: impl Fn(usize) -> bool + Sync,
) -> Result<Vec<Option<(String, String)>>> {
    if !plan.stages.iter().any(|s| s.kind.reads_case_files()) {
        return Ok(vec![None; plan.manifest.cases.len()]);
    }
    plan.manifest
        .cases
        .par_iter()
        .enumerate()
        .map(|(c, case)| {
            if !wanted(c) {
                return Ok(None);
            }
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

/// Why a task could not read its inputs: one of them is a corrupt object.
#[derive(Debug, Clone)]
pub struct CorruptInput {
    /// Position of the input stage in the stage's `inputs`.
    pub input: usize,
    /// The case whose item it is (`*` for a cohort output).
    pub case_id: String,
    /// The item's variant, when the input stage runs per variant.
    pub variant: Option<u32>,
    pub object: CorruptObject,
}

/// How many times a task may heal a corrupt input before it fails.
const MAX_HEALS: usize = 4;

struct Executor<'a> {
    /// One plan per experiment (one for a plain run, the grid for a sweep);
    /// they differ only in parameters, so stage indices are shared.
    plans: &'a [Plan],
    store: &'a Store,
    input_hashes: &'a [Option<(String, String)>],
    abort: AtomicBool,
    keep_going: bool,
    bars: Vec<ProgressBar>,
    /// Per-case stage indices, in plan order.
    per_case: Vec<usize>,
    /// Corrupt objects found and healed, per experiment.
    healed: Vec<Mutex<Vec<String>>>,
    /// Outputs to adopt instead of computing (see [`Adoption`]).
    adopt: Option<Arc<Adoption>>,
}

impl Executor<'_> {
    /// Looks the key up; on a miss, takes the task lock, looks again (another
    /// process may have finished it meanwhile), then computes and stores.
    /// A corrupt input is handed back to the caller, which heals it and
    /// calls again; the record is then left untouched.
    fn run_task<'d>(
        &self,
        stage: &PlannedStage,
        record: &mut TaskRecord,
        key: String,
        data: impl FnOnce() -> Result<std::result::Result<TaskData<'d>, CorruptInput>>,
    ) -> std::result::Result<(), CorruptInput> {
        let start = Instant::now();
        if let Some(adopt) = self.adopt.as_deref().filter(|a| a.applies_to(stage)) {
            self.adopt_task(adopt, record, key);
            return Ok(());
        }
        let mut corrupt = None;
        let outcome = (|| -> Result<(String, TaskStatus)> {
            if let Some(h) = self.store.action(&key) {
                return Ok((h, TaskStatus::Cached));
            }
            let _lock = self.store.lock_task(&key)?;
            if let Some(h) = self.store.action(&key) {
                return Ok((h, TaskStatus::Cached));
            }
            let data = match data()? {
                Ok(d) => d,
                Err(c) => {
                    corrupt = Some(c);
                    return Ok((String::new(), TaskStatus::NotStarted));
                }
            };
            let bytes = stage.kind.run(&data, &stage.params)?;
            let hash = self.store.put_object(&bytes)?;
            self.store.set_action(&key, &hash)?;
            Ok((hash, TaskStatus::Run))
        })();
        if let Some(c) = corrupt {
            return Err(c);
        }
        record.key = Some(key);
        record.seconds += start.elapsed().as_secs_f64();
        match outcome {
            Ok((hash, status)) => {
                record.output = Some(hash);
                record.status = status;
                record.error = None;
            }
            Err(e) => {
                record.error = Some(format!("{}: {e}", task_who(record)));
                record.output = None;
                record.status = TaskStatus::Failed;
                if !self.keep_going {
                    self.abort.store(true, Ordering::SeqCst);
                }
            }
        }
        Ok(())
    }

    /// Takes a task's output from the store, where a worker put it; the
    /// record says `run` when the worker computed it, `cached` when it was
    /// there before, and carries the worker's error when it is missing.
    fn adopt_task(&self, adopt: &Adoption, record: &mut TaskRecord, key: String) {
        let worker = adopt
            .worker_record(record)
            .filter(|w| w.key.as_deref() == Some(key.as_str()));
        match self.store.action(&key) {
            Some(hash) => {
                record.output = Some(hash);
                record.error = None;
                match worker.filter(|w| w.status == TaskStatus::Run) {
                    Some(w) => {
                        record.status = TaskStatus::Run;
                        record.seconds = w.seconds;
                    }
                    None => record.status = TaskStatus::Cached,
                }
            }
            // No worker ran it: the run stopped before (a failure without
            // --keep-going, or an interruption).
            None if adopt.worker_record(record).is_none() => {
                record.output = None;
                record.status = TaskStatus::NotStarted;
            }
            None => {
                record.error = Some(adopt.failure(record));
                record.output = None;
                record.status = TaskStatus::Failed;
                if !self.keep_going {
                    self.abort.store(true, Ordering::SeqCst);
                }
            }
        }
        record.key = Some(key);
    }

    /// Says (on standard error and in the run record) that an object was
    /// corrupt and which task is recomputed to restore it.
    fn report_corrupt(&self, e: usize, producer: &TaskRecord, bad: &CorruptObject) {
        let msg = format!(
            "object {} (output of {}, task key {}) is corrupt: its content hashes to {}; recomputing that task",
            bad.hash,
            task_who(producer),
            producer.key.as_deref().unwrap_or("?"),
            bad.found
        );
        eprintln!("warning: {msg}");
        self.healed[e].lock().unwrap().push(msg);
    }

    /// The per-case stages of one case of experiment `e`: per stage (in the
    /// order of `per_case`) its task, or its tasks in variant order for a
    /// per-variant stage. The stages that are not per variant run first, in
    /// plan order; then the variants of each `perturb` stage run in
    /// parallel, each its chain of stages in plan order. A variant's
    /// records depend only on its inputs, so the result is the same
    /// whatever the thread count.
    fn run_case(&self, e: usize, c: usize) -> Vec<Vec<TaskRecord>> {
        let plan = &self.plans[e];
        let case_id = plan.manifest.cases[c].case_id.as_str();
        let n = self.per_case.len();
        let group_of = |k: usize| plan.stages[self.per_case[k]].variants.map(|v| v.perturb);
        // Per-variant stages hold placeholders here: nothing outside their
        // variant chain reads them.
        let mut view: Vec<TaskRecord> = self
            .per_case
            .iter()
            .map(|&s| TaskRecord::new(&plan.stages[s].id, Some(case_id)))
            .collect();
        for k in (0..n).filter(|&k| group_of(k).is_none()) {
            let rec = self.case_task(e, c, None, k, &mut view[..k]);
            self.bars[self.per_case[k]].inc(1);
            view[k] = rec;
        }
        let mut out: Vec<Vec<TaskRecord>> = (0..n)
            .map(|k| match group_of(k) {
                None => vec![view[k].clone()],
                Some(_) => Vec::new(),
            })
            .collect();
        let mut groups: Vec<usize> = (0..n).filter_map(group_of).collect();
        groups.dedup();
        for g in groups {
            let ks: Vec<usize> = (0..n).filter(|&k| group_of(k) == Some(g)).collect();
            let count = plan.stages[g].variant_count() as u32;
            let per_variant: Vec<Vec<TaskRecord>> = (0..count)
                .into_par_iter()
                .map(|v| {
                    let mut chain = view.clone();
                    for &k in &ks {
                        let rec = self.case_task(e, c, Some(v), k, &mut chain[..k]);
                        self.bars[self.per_case[k]].inc(1);
                        chain[k] = rec;
                    }
                    ks.iter().map(|&k| chain[k].clone()).collect()
                })
                .collect();
            for records in per_variant {
                for (j, rec) in records.into_iter().enumerate() {
                    out[ks[j]].push(rec);
                }
            }
        }
        out
    }

    /// Task `k` (index into `per_case`) of case `c` in the chain of variant
    /// `v` (ignored by a stage that is not per variant), given the records
    /// of the tasks before it in that chain (which it may recompute to heal
    /// a corrupt input).
    fn case_task(
        &self,
        e: usize,
        c: usize,
        v: Option<u32>,
        k: usize,
        records: &mut [TaskRecord],
    ) -> TaskRecord {
        let plan = &self.plans[e];
        let s = self.per_case[k];
        let case = &plan.manifest.cases[c];
        let stage = &plan.stages[s];
        let variant = stage.variants.and(v);
        let mut rec = TaskRecord::new(&stage.id, Some(&case.case_id));
        rec.variant = variant;
        let position = |i: usize| {
            self.per_case
                .iter()
                .position(|&p| p == i)
                .expect("per-case input")
        };
        for heal in 0..=MAX_HEALS {
            let inputs: Vec<&TaskRecord> = stage
                .inputs
                .iter()
                .map(|&i| &records[position(i)])
                .collect();
            if let Some(bad) = inputs.iter().find(|r| !r.ok()) {
                rec.status = if bad.status == TaskStatus::NotStarted {
                    TaskStatus::NotStarted
                } else {
                    TaskStatus::Skipped
                };
                rec.error = (rec.status == TaskStatus::Skipped)
                    .then(|| format!("{}: input stage `{}` failed", task_who(&rec), bad.stage));
                return rec;
            }
            if self.abort.load(Ordering::SeqCst) {
                rec.status = TaskStatus::NotStarted;
                return rec;
            }
            let items: InputOutputs = inputs
                .iter()
                .map(|r| vec![(case.case_id.clone(), r.output.clone().unwrap_or_default())])
                .collect();
            let key = task_key(
                plan,
                s,
                Some(c),
                variant,
                self.input_hashes[c].as_ref(),
                &items,
                &[],
            );
            let bad = match self.run_task(stage, &mut rec, key, || {
                task_data(plan, self.store, s, Some(c), variant, &items)
            }) {
                Ok(()) => return rec,
                Err(bad) => bad,
            };
            let j = position(stage.inputs[bad.input]);
            self.report_corrupt(e, &records[j], &bad.object);
            if heal == MAX_HEALS {
                break;
            }
            let fresh = self.case_task(e, c, v, j, &mut records[..j]);
            records[j] = fresh;
        }
        rec.status = TaskStatus::Failed;
        rec.error = Some(format!(
            "{}: an input object stays corrupt after {MAX_HEALS} recomputations",
            task_who(&rec)
        ));
        if !self.keep_going {
            self.abort.store(true, Ordering::SeqCst);
        }
        rec
    }

    /// A cohort task over the cases whose inputs all succeeded (all cases
    /// unless `--keep-going` let some fail). `by_stage` holds the records
    /// of experiment `e` so far; a corrupt input's task is recomputed there.
    fn run_cohort(&self, e: usize, s: usize, by_stage: &mut [Vec<TaskRecord>]) -> TaskRecord {
        let plan = &self.plans[e];
        let stage = &plan.stages[s];
        let mut rec = TaskRecord::new(&stage.id, None);
        let n = plan.manifest.cases.len();
        for heal in 0..=MAX_HEALS {
            let case_ok = |c: usize| {
                stage.inputs.iter().all(|&i| {
                    let nv = plan.stages[i].variant_count();
                    plan.stages[i].scope == Scope::Cohort
                        || by_stage[i][c * nv..(c + 1) * nv].iter().all(TaskRecord::ok)
                })
            };
            let included: Vec<usize> = (0..n).filter(|&c| case_ok(c)).collect();
            let failed_input = stage.inputs.iter().find(|&&i| {
                let recs = &by_stage[i];
                recs.is_empty() || (plan.stages[i].scope == Scope::Cohort && !recs[0].ok())
            });
            if self.abort.load(Ordering::SeqCst) {
                rec.status = TaskStatus::NotStarted;
                return rec;
            } else if let Some(&i) = failed_input {
                rec.status = TaskStatus::Skipped;
                rec.error = Some(format!(
                    "stage `{}`: input stage `{}` failed",
                    stage.id, plan.stages[i].id
                ));
                return rec;
            } else if (included.is_empty() && n > 0) || (included.len() < n && !self.keep_going) {
                rec.status = TaskStatus::Skipped;
                rec.error = Some(format!(
                    "stage `{}`: {} of {n} cases failed upstream",
                    stage.id,
                    n - included.len()
                ));
                return rec;
            }
            let items = cohort_inputs(plan, s, &included, |i, t| {
                by_stage[i][t].output.clone().unwrap_or_default()
            });
            let key = task_key(plan, s, None, None, None, &items, &included);
            let bad = match self.run_task(stage, &mut rec, key, || {
                task_data(plan, self.store, s, None, None, &items)
            }) {
                Ok(()) => return rec,
                Err(bad) => bad,
            };
            let i = stage.inputs[bad.input];
            match plan.stages[i].scope {
                Scope::Cohort => {
                    self.report_corrupt(e, &by_stage[i][0], &bad.object);
                    if heal < MAX_HEALS {
                        by_stage[i][0] = self.run_cohort(e, i, by_stage);
                    }
                }
                Scope::PerCase => {
                    let c = plan
                        .manifest
                        .cases
                        .iter()
                        .position(|x| x.case_id == bad.case_id)
                        .expect("an input item names a case of the manifest");
                    let t = c * plan.stages[i].variant_count() + bad.variant.unwrap_or(0) as usize;
                    self.report_corrupt(e, &by_stage[i][t], &bad.object);
                    if heal < MAX_HEALS {
                        self.heal_case_chain(e, c, bad.variant, i, by_stage);
                    }
                }
            }
        }
        rec.status = TaskStatus::Failed;
        rec.error = Some(format!(
            "{}: an input object stays corrupt after {MAX_HEALS} recomputations",
            task_who(&rec)
        ));
        if !self.keep_going {
            self.abort.store(true, Ordering::SeqCst);
        }
        rec
    }

    /// Recomputes per-case stage `i` of case `c` (variant `v` of a
    /// per-variant stage) inside `by_stage`.
    fn heal_case_chain(
        &self,
        e: usize,
        c: usize,
        v: Option<u32>,
        i: usize,
        by_stage: &mut [Vec<TaskRecord>],
    ) {
        let plan = &self.plans[e];
        let group = plan.stages[i].variants.map(|g| g.perturb);
        // Where stage `p`'s task of this chain is in `by_stage[p]`; `None`
        // for the stages of another `perturb` stage's variants.
        let slot = |p: usize| match plan.stages[p].variants {
            None => Some(c),
            Some(g) if Some(g.perturb) == group => {
                Some(c * g.count as usize + v.unwrap_or(0) as usize)
            }
            Some(_) => None,
        };
        let mut chain: Vec<TaskRecord> = self
            .per_case
            .iter()
            .map(|&p| match slot(p) {
                Some(t) => by_stage[p][t].clone(),
                None => TaskRecord::new(&plan.stages[p].id, None),
            })
            .collect();
        let k = self
            .per_case
            .iter()
            .position(|&p| p == i)
            .expect("per-case stage");
        let fresh = self.case_task(e, c, v, k, &mut chain[..k]);
        chain[k] = fresh;
        for (j, rec) in chain.into_iter().enumerate().take(k + 1) {
            let p = self.per_case[j];
            if let Some(t) = slot(p) {
                by_stage[p][t] = rec;
            }
        }
    }
}

/// `case `c`, stage `s``, `case `c`, variant v, stage `s`` or `stage `s``,
/// for messages.
fn task_who(record: &TaskRecord) -> String {
    match (&record.case, record.variant) {
        (Some(c), None) => format!("case `{c}`, stage `{}`", record.stage),
        (Some(c), Some(v)) => format!("case `{c}`, variant {v}, stage `{}`", record.stage),
        (None, _) => format!("stage `{}`", record.stage),
    }
}

/// The input items of cohort stage `s` over the `included` cases;
/// `output(stage, task)` gives the output of a stage's task (its index in
/// [`Plan::tasks_of`]: the case, or `case · variants + variant` for a
/// per-variant stage; 0 for a cohort stage). A per-variant input's items
/// are named `case_id~v03` ([`super::plan::task_label`]), in case then
/// variant order.
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
            Scope::PerCase => {
                let nv = plan.stages[i].variant_count();
                included
                    .iter()
                    .flat_map(|&c| {
                        let id = &plan.manifest.cases[c].case_id;
                        (0..nv).map(move |v| match plan.stages[i].variants {
                            Some(_) => (super::plan::task_label(id, Some(v as u32)), c * nv + v),
                            None => (id.clone(), c),
                        })
                    })
                    .map(|(name, t)| (name, output(i, t)))
                    .collect()
            }
        })
        .collect()
}

/// A per-variant item's case id and variant, from its label.
fn split_label(label: &str) -> (String, Option<u32>) {
    match label
        .rsplit_once("~v")
        .and_then(|(c, v)| v.parse().ok().map(|v| (c, v)))
    {
        Some((c, v)) => (c.to_string(), Some(v)),
        None => (label.to_string(), None),
    }
}

/// Reads a task's inputs from the store, each checked against its hash;
/// the first corrupt one is returned instead of the data.
pub fn task_data<'p>(
    plan: &'p Plan,
    store: &Store,
    s: usize,
    case: Option<usize>,
    variant: Option<u32>,
    inputs: &InputOutputs,
) -> Result<std::result::Result<TaskData<'p>, CorruptInput>> {
    let stage = &plan.stages[s];
    let mut data = Vec::new();
    for (pos, (&i, items)) in stage.inputs.iter().zip(inputs).enumerate() {
        let per_variant = plan.stages[i].variants.is_some();
        let read = items
            .par_iter()
            .map(|(c, h)| Ok((c.clone(), store.read_verified(h)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut ok = Vec::with_capacity(read.len());
        let mut variants = Vec::new();
        for (c, r) in read {
            // A cohort task's per-variant items are labelled `case~vNN`.
            let (c, v) = match (per_variant, case) {
                (true, None) => split_label(&c),
                (true, Some(_)) => (c, variant),
                (false, _) => (c, None),
            };
            match r {
                Ok(bytes) => {
                    ok.push((c, Arc::new(bytes)));
                    variants.extend(v);
                }
                Err(object) => {
                    return Ok(Err(CorruptInput {
                        input: pos,
                        case_id: c,
                        variant: v,
                        object,
                    }));
                }
            }
        }
        data.push(InputData {
            stage_id: plan.stages[i].id.clone(),
            kind: plan.stages[i].acts_as.clone(),
            items: ok,
            variants: per_variant.then_some(variants),
        });
    }
    Ok(Ok(TaskData {
        case: case.map(|c| &plan.manifest.cases[c]),
        variant,
        manifest: &plan.manifest,
        inputs: data,
        files: &stage.files,
    }))
}

/// Indices of the per-case stages of a plan, in plan order.
fn per_case_stages(plan: &Plan) -> Vec<usize> {
    (0..plan.stages.len())
        .filter(|&s| plan.stages[s].scope == Scope::PerCase)
        .collect()
}

/// Runs part of a plan exactly as [`execute`] would (same keys, locks,
/// cache look-ups, healing), without records, lock file or outputs: the
/// per-case chains of `cases` (in parallel on the current rayon pool), then
/// with `cohort` every cohort stage over the per-case outputs of the whole
/// cohort (which must be in the store or adopted; see [`Adoption`]).
/// Returns the records of the tasks it was asked for, in plan order.
pub fn run_bundle(
    plan: &Plan,
    store: &Store,
    input_hashes: &[Option<(String, String)>],
    cases: &[usize],
    cohort: bool,
    keep_going: bool,
    adopt: Option<Arc<Adoption>>,
) -> Vec<TaskRecord> {
    let exec = Executor {
        plans: std::slice::from_ref(plan),
        store,
        input_hashes,
        abort: AtomicBool::new(false),
        keep_going,
        bars: plan.stages.iter().map(|_| ProgressBar::hidden()).collect(),
        per_case: per_case_stages(plan),
        healed: vec![Mutex::new(Vec::new())],
        adopt,
    };
    let mut records: Vec<TaskRecord> = cases
        .par_iter()
        .map(|&c| exec.run_case(0, c))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    if cohort {
        let n = plan.manifest.cases.len();
        let chains: Vec<Vec<Vec<TaskRecord>>> = (0..n)
            .into_par_iter()
            .map(|c| exec.run_case(0, c))
            .collect();
        let mut by_stage: Vec<Vec<TaskRecord>> = vec![Vec::new(); plan.stages.len()];
        for chain in chains {
            for (k, recs) in chain.into_iter().enumerate() {
                by_stage[exec.per_case[k]].extend(recs);
            }
        }
        for s in 0..plan.stages.len() {
            if plan.stages[s].scope == Scope::Cohort {
                let rec = exec.run_cohort(0, s, &mut by_stage);
                by_stage[s].push(rec.clone());
                records.push(rec);
            }
        }
    }
    records
}

/// One bar per stage, counting the tasks of every experiment (a sweep has
/// one display for its whole grid).
pub(crate) fn progress_bars(
    plan: &Plan,
    experiments: usize,
    show: bool,
) -> (MultiProgress, Vec<ProgressBar>) {
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
            let bar = multi.add(ProgressBar::new(
                (plan.tasks_of(s).len() * experiments) as u64,
            ));
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
/// outputs, writes the run record and (for the pipeline as written, not an
/// experiment) the lock file.
pub fn execute(plan: &Plan, opts: &RunOptions) -> Result<RunOutcome> {
    let mut v = execute_many(std::slice::from_ref(plan), opts)?;
    Ok(v.pop().expect("one outcome per plan"))
}

/// Runs several plans of one pipeline that differ only in parameters (the
/// experiments of a sweep) as one DAG: input files are hashed once, each
/// case's chains of every experiment run on one worker one after the other,
/// so a task shared by several experiments (same key) is computed once and
/// found cached by the others; cohort stages of the experiments run in
/// parallel. One outcome per plan, in order.
pub fn execute_many(plans: &[Plan], opts: &RunOptions) -> Result<Vec<RunOutcome>> {
    let Some(first) = plans.first() else {
        return Ok(Vec::new());
    };
    let (started, clock) = opts
        .since
        .unwrap_or_else(|| (std::time::SystemTime::now(), Instant::now()));
    let base_id = new_run_id(started);
    let run_ids: Vec<String> = if plans.len() == 1 {
        vec![base_id.clone()]
    } else {
        (1..=plans.len())
            .map(|k| format!("{base_id}-{k}"))
            .collect()
    };
    let store = Store::open(&first.store_dir)?;
    let _shared = store.lock_shared()?;
    let hashes = FileHashes::load(&store.root.join("file-hashes.tsv"));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::setting("--jobs", e.to_string()))?;
    let input_hashes = pool.install(|| hash_case_files(first, &hashes))?;
    hashes.save()?;
    let (_multi, bars) = progress_bars(first, plans.len(), opts.progress);
    let exec = Executor {
        plans,
        store: &store,
        input_hashes: &input_hashes,
        abort: AtomicBool::new(false),
        keep_going: opts.keep_going,
        bars,
        per_case: per_case_stages(first),
        healed: plans.iter().map(|_| Mutex::new(Vec::new())).collect(),
        adopt: opts.adopt.clone(),
    };
    let n_cases = first.manifest.cases.len();
    // Per case, every experiment's chain in turn: what a later experiment
    // shares with an earlier one is a cache hit on the same worker.
    let chains: Vec<Vec<Vec<Vec<TaskRecord>>>> = pool.install(|| {
        (0..n_cases)
            .into_par_iter()
            .map(|c| (0..plans.len()).map(|e| exec.run_case(e, c)).collect())
            .collect()
    });
    let mut by_stage: Vec<Vec<Vec<TaskRecord>>> =
        vec![vec![Vec::new(); first.stages.len()]; plans.len()];
    for per_exp in chains {
        for (e, chain) in per_exp.into_iter().enumerate() {
            for (k, recs) in chain.into_iter().enumerate() {
                by_stage[e][exec.per_case[k]].extend(recs);
            }
        }
    }
    let cohort: Vec<usize> = (0..first.stages.len())
        .filter(|&s| first.stages[s].scope == Scope::Cohort)
        .collect();
    let results: Vec<Result<RunOutcome>> = pool.install(|| {
        by_stage
            .into_par_iter()
            .enumerate()
            .map(|(e, mut stages)| {
                for &s in &cohort {
                    let rec = exec.run_cohort(e, s, &mut stages);
                    exec.bars[s].inc(1);
                    stages[s].push(rec);
                }
                let plan = &plans[e];
                let output_dir = plan.run_output_dir(&run_ids[e]);
                let outputs = materialise_run(&exec, e, &mut stages, &output_dir, &run_ids[e])?;
                let mut outcome = RunOutcome {
                    run_id: run_ids[e].clone(),
                    sweep_id: plan.sweep.as_ref().map(|_| base_id.clone()),
                    started_unix: started
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(0.0),
                    seconds: clock.elapsed().as_secs_f64(),
                    tasks: stages.into_iter().flatten().collect(),
                    outputs,
                    output_dir,
                    input_hashes: input_hashes.clone(),
                    files_hashed: hashes.reads.load(Ordering::Relaxed),
                    healed: std::mem::take(&mut *exec.healed[e].lock().unwrap()),
                    record_path: store.runs_dir(),
                };
                outcome.record_path = super::runs::write_run_record(plan, &store, &outcome)?;
                Ok(outcome)
            })
            .collect()
    });
    for bar in &exec.bars {
        bar.finish();
    }
    results.into_iter().collect()
}

/// Writes the files a person opens for one run, all under the output
/// directory's lock, so that two runs sharing a directory never mix their
/// files: whichever writes last, every file comes from it (with the lock
/// file of a run of the pipeline as written). A stage output that turns out
/// corrupt when read is recomputed first. Returns the files per stage.
fn materialise_run(
    exec: &Executor,
    e: usize,
    by_stage: &mut [Vec<TaskRecord>],
    dir: &Path,
    run_id: &str,
) -> Result<Vec<Vec<PathBuf>>> {
    let plan = &exec.plans[e];
    let mut outputs = vec![Vec::new(); plan.stages.len()];
    let wants_files =
        plan.stages.iter().enumerate().any(|(s, st)| {
            st.scope == Scope::Cohort && by_stage[s].first().is_some_and(|r| r.ok())
        });
    let _guard = if wants_files {
        std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, err))?;
        Some(lock_output_dir(dir)?)
    } else {
        None
    };
    for s in 0..plan.stages.len() {
        if plan.stages[s].scope != Scope::Cohort {
            continue;
        }
        for heal in 0..=MAX_HEALS {
            let Some(hash) = by_stage[s].first().and_then(|r| r.output.clone()) else {
                break;
            };
            match materialise(plan, exec.store, s, &hash, dir) {
                Ok(Ok(files)) => {
                    outputs[s] = files;
                    break;
                }
                Ok(Err(bad)) => {
                    exec.report_corrupt(e, &by_stage[s][0], &bad);
                    if heal < MAX_HEALS {
                        by_stage[s][0] = exec.run_cohort(e, s, by_stage);
                    }
                }
                Err(err) => {
                    let rec = &mut by_stage[s][0];
                    rec.status = TaskStatus::Failed;
                    rec.error = Some(format!("stage `{}`: writing its outputs: {err}", rec.stage));
                    rec.output = None;
                    break;
                }
            }
        }
    }
    if !plan.is_experiment() {
        let tasks: Vec<TaskRecord> = by_stage.iter().flatten().cloned().collect();
        super::lock::write_lock(plan, exec.store, &tasks, exec.input_hashes)?;
    }
    if wants_files {
        crate::io::atomic::write_bytes(&dir.join(".radial-run"), format!("{run_id}\n").as_bytes())?;
    }
    Ok(outputs)
}

/// An exclusive lock on an output directory, held while a run writes its
/// files there (released on drop, or by the OS if the process dies).
fn lock_output_dir(dir: &Path) -> Result<std::fs::File> {
    let p = dir.join(".radial-output.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, e))?;
    file.lock().map_err(|e| Error::io(&p, e))?;
    Ok(file)
}

/// Writes a cohort stage's files into `dir`, unless the files there already
/// come from the same object and still hold the bytes written (a sidecar
/// remembers the object and each file's hash), so a hand-edited or deleted
/// result is restored by the next run.
fn materialise(
    plan: &Plan,
    store: &Store,
    s: usize,
    hash: &str,
    dir: &Path,
) -> Result<std::result::Result<Vec<PathBuf>, CorruptObject>> {
    let stage = &plan.stages[s];
    let sidecar = dir.join(format!(".{}.source", stage.id));
    if let Ok(text) = std::fs::read_to_string(&sidecar) {
        let mut lines = text.lines();
        if lines.next() == Some(hash) {
            let recorded: Vec<(PathBuf, &str)> = lines
                .filter_map(|l| l.split_once('\t'))
                .map(|(h, p)| (PathBuf::from(p), h))
                .collect();
            let intact = !recorded.is_empty()
                && recorded
                    .iter()
                    .all(|(f, h)| super::hash::sha256_file(f).is_ok_and(|now| now == *h));
            if intact {
                return Ok(Ok(recorded.into_iter().map(|(f, _)| f).collect()));
            }
        }
    }
    let bytes = match store.read_verified(hash)? {
        Ok(b) => b,
        Err(bad) => return Ok(Err(bad)),
    };
    let files = stage.kind.materialise(&stage.id, &bytes, dir)?;
    let mut text = format!("{hash}\n");
    for f in &files {
        text.push_str(&format!(
            "{}\t{}\n",
            super::hash::sha256_file(f)?,
            f.display()
        ));
    }
    crate::io::atomic::write_bytes(&sidecar, text.as_bytes())?;
    Ok(Ok(files))
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
