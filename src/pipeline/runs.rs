//! Run records: `.radial/runs/<run-id>.json`, one per run, with everything
//! needed to tell what was computed from what (and by which radial).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::execute::{RunOutcome, TaskRecord, TaskStatus};
use super::lock::{
    CaseInputs, LockFile, LockStage, LockTask, case_inputs, normalise, portable_path,
};
use super::plan::Plan;
use super::stages::Scope;
use super::store::Store;
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRef {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageRecord {
    pub id: String,
    pub kind: String,
    pub version: u32,
    pub scope: Scope,
    pub inputs: Vec<String>,
    pub params: Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    pub run: usize,
    pub cached: usize,
    pub failed: usize,
}

impl Counts {
    pub fn add(&mut self, status: TaskStatus) {
        match status {
            TaskStatus::Run => self.run += 1,
            TaskStatus::Cached => self.cached += 1,
            TaskStatus::Failed | TaskStatus::Skipped => self.failed += 1,
            TaskStatus::NotStarted => {}
        }
    }
}

/// Paths in a record are portable ([`portable_path`]): the pipeline's
/// relative to the store directory holding the record, the others relative
/// to the pipeline's directory (case files to the manifest's), whenever they
/// lie under the same root.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    /// `--name`, or for a sweep `NAME-k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `--set` overrides of an experiment, in order (empty: the
    /// pipeline as written, which also wrote the lock).
    #[serde(default)]
    pub overrides: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepRecord>,
    pub radial_version: String,
    pub host: String,
    pub started_unix: f64,
    pub seconds: f64,
    pub pipeline: PipelineRef,
    pub manifest: FileRef,
    pub store: String,
    pub output_dir: String,
    /// Per case: the image and mask read (as in a lock file).
    #[serde(default)]
    pub inputs: BTreeMap<String, CaseInputs>,
    pub stages: Vec<StageRecord>,
    pub tasks: Vec<TaskRecord>,
    /// Materialised files per cohort stage.
    pub outputs: BTreeMap<String, Vec<String>>,
    pub totals: Counts,
    /// Headline metrics of the stages that report them (evaluate: AUC with
    /// its interval, accuracy, ...), by stage id.
    #[serde(default)]
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// Corrupt store objects found during the run and healed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub healed: Vec<String>,
}

/// A run's place in a sweep.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepRecord {
    /// Shared by every run of the sweep.
    pub id: String,
    /// 1-based position in the grid.
    pub index: usize,
    pub count: usize,
    /// The swept parameters (`stage.param`) and this run's values.
    pub values: BTreeMap<String, Value>,
}

/// The small per-run summary `radial runs` reads
/// (`.radial/runs/index/<run-id>.json`), so listing hundreds of runs never
/// parses their full records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub started_unix: f64,
    pub seconds: f64,
    pub pipeline: PipelineRef,
    pub overrides: Vec<String>,
    #[serde(default)]
    pub sweep: Option<SweepRecord>,
    pub totals: Counts,
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    pub output_dir: String,
}

impl RunSummary {
    pub fn of(r: &RunRecord) -> RunSummary {
        RunSummary {
            run_id: r.run_id.clone(),
            name: r.name.clone(),
            started_unix: r.started_unix,
            seconds: r.seconds,
            pipeline: r.pipeline.clone(),
            overrides: r.overrides.clone(),
            sweep: r.sweep.clone(),
            totals: r.totals.clone(),
            metrics: r.metrics.clone(),
            output_dir: r.output_dir.clone(),
        }
    }
}

impl RunRecord {
    /// The pipeline file, resolved against the store holding the record.
    pub fn pipeline_path(&self, store: &Path) -> PathBuf {
        normalise(&store.join(&self.pipeline.path))
    }

    /// A path of the record (manifest, store, output), resolved against the
    /// pipeline's directory.
    pub fn resolve(&self, store: &Path, recorded: &str) -> PathBuf {
        let pipeline = self.pipeline_path(store);
        let base = pipeline.parent().unwrap_or(Path::new(""));
        normalise(&base.join(recorded))
    }

    /// The record as a lock file: what `radial audit RUN` compares with.
    pub fn as_lock(&self) -> LockFile {
        let mut stages: BTreeMap<String, LockStage> = self
            .stages
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    LockStage {
                        kind: s.kind.clone(),
                        version: s.version,
                        inputs: s.inputs.clone(),
                        params: s.params.clone(),
                        files: Vec::new(),
                        tasks: BTreeMap::new(),
                    },
                )
            })
            .collect();
        for t in &self.tasks {
            if let (Some(key), Some(output), Some(st)) =
                (&t.key, &t.output, stages.get_mut(&t.stage))
            {
                st.tasks.insert(
                    t.label().unwrap_or_else(|| "*".into()),
                    LockTask {
                        key: key.clone(),
                        output: output.clone(),
                    },
                );
            }
        }
        LockFile {
            radial_lock: super::lock::LOCK_FORMAT,
            pipeline: self.pipeline.name.clone(),
            manifest: self.manifest.clone(),
            inputs: self.inputs.clone(),
            stages,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineRef {
    pub name: String,
    pub path: String,
    /// SHA-256 of the pipeline file (and its includes).
    pub sha256: String,
}

pub fn stage_records(plan: &Plan) -> Vec<StageRecord> {
    plan.stages
        .iter()
        .map(|s| StageRecord {
            id: s.id.clone(),
            kind: s.kind.name().to_string(),
            version: s.kind.version(),
            scope: s.scope,
            inputs: s
                .inputs
                .iter()
                .map(|&i| plan.stages[i].id.clone())
                .collect(),
            params: s.params.clone(),
        })
        .collect()
}

/// The manifest by path (relative to `base` when under the same root) and
/// content hash.
pub fn manifest_ref(plan: &Plan, base: &Path) -> Result<FileRef> {
    if plan.manifest.path.as_os_str().is_empty() {
        // A pipeline without a manifest (it starts from a feature table).
        return Ok(FileRef {
            path: String::new(),
            sha256: String::new(),
        });
    }
    Ok(FileRef {
        path: portable_path(&plan.manifest.path, base),
        sha256: super::hash::sha256_file(&plan.manifest.path)?,
    })
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

pub fn write_run_record(plan: &Plan, store: &Store, outcome: &RunOutcome) -> Result<PathBuf> {
    let mut totals = Counts::default();
    outcome.tasks.iter().for_each(|t| totals.add(t.status));
    let pipeline_dir = plan.spec.path.parent().unwrap_or(Path::new(""));
    let mut metrics = BTreeMap::new();
    for t in outcome.tasks.iter().filter(|t| t.case.is_none()) {
        let (Some(stage), Some(hash)) = (
            plan.stages.iter().find(|s| s.id == t.stage),
            t.output.as_deref(),
        ) else {
            continue;
        };
        if !stage.kind.reports_metrics() {
            continue;
        }
        if let Some(m) = store
            .read_object(hash)
            .ok()
            .and_then(|b| stage.kind.headline_metrics(&b))
        {
            metrics.insert(t.stage.clone(), m);
        }
    }
    let record = RunRecord {
        run_id: outcome.run_id.clone(),
        name: plan.run_name.clone(),
        overrides: plan.overrides.clone(),
        sweep: plan.sweep.as_ref().map(|p| SweepRecord {
            id: outcome.sweep_id.clone().unwrap_or_default(),
            index: p.index,
            count: p.count,
            values: p.values.clone(),
        }),
        radial_version: crate::VERSION.to_string(),
        host: host_name(),
        started_unix: outcome.started_unix,
        seconds: outcome.seconds,
        pipeline: PipelineRef {
            name: plan.spec.name.clone(),
            path: portable_path(&plan.spec.path, &store.root),
            sha256: plan.spec.source_sha256.clone(),
        },
        manifest: manifest_ref(plan, pipeline_dir)?,
        store: portable_path(&store.root, pipeline_dir),
        output_dir: portable_path(&outcome.output_dir, pipeline_dir),
        inputs: case_inputs(plan, &outcome.input_hashes),
        stages: stage_records(plan),
        tasks: outcome.tasks.clone(),
        outputs: plan
            .stages
            .iter()
            .zip(&outcome.outputs)
            .filter(|(_, o)| !o.is_empty())
            .map(|(s, o)| {
                (
                    s.id.clone(),
                    o.iter().map(|p| portable_path(p, pipeline_dir)).collect(),
                )
            })
            .collect(),
        totals,
        metrics,
        healed: outcome.healed.clone(),
    };
    let path = store.runs_dir().join(format!("{}.json", outcome.run_id));
    crate::io::atomic::write_streamed(&path, |w| {
        serde_json::to_writer_pretty(w, &record).map_err(std::io::Error::other)
    })?;
    write_summary(store, &RunSummary::of(&record))?;
    Ok(path)
}

/// Writes a run's entry of the index `radial runs` reads.
pub fn write_summary(store: &Store, summary: &RunSummary) -> Result<()> {
    let path = index_dir(&store.root).join(format!("{}.json", summary.run_id));
    let text = serde_json::to_string(summary).map_err(|e| Error::data(e.to_string()))?;
    crate::io::atomic::write_bytes(&path, text.as_bytes())
}

pub fn index_dir(store: &Path) -> PathBuf {
    store.join("runs").join("index")
}

/// Reads a run record given as a path or as a run id (looked up in `store`).
pub fn read_run_record(run: &str, store: &Path) -> Result<RunRecord> {
    let as_path = Path::new(run);
    let path = if as_path.is_file() {
        as_path.to_path_buf()
    } else {
        let runs_dir = store.join("runs");
        if !runs_dir.is_dir() {
            // Neither a file nor a store to look in: say both, and how to
            // name the store (it sits beside the pipeline file by default).
            return Err(Error::setting(
                "run",
                format!(
                    "`{run}` is not a file, and there is no run store at {} to look it up in; give the store with --store DIR (by default the .radial directory beside the pipeline file) or the record's path (STORE/runs/ID.json)",
                    store.display()
                ),
            ));
        }
        let candidates: Vec<PathBuf> = std::fs::read_dir(&runs_dir)
            .map_err(|e| Error::io(&runs_dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(run) && n.ends_with(".json"))
            })
            .collect();
        let by_name = || {
            // A run's --name (the newest run of that name).
            let mut named: Vec<RunSummary> = read_summaries(store)
                .into_iter()
                .filter(|s| s.name.as_deref() == Some(run))
                .collect();
            named.sort_by(|a, b| a.run_id.cmp(&b.run_id));
            named
                .pop()
                .map(|s| store.join("runs").join(format!("{}.json", s.run_id)))
        };
        match candidates.as_slice() {
            [one] => one.clone(),
            [] if by_name().is_some() => by_name().expect("checked"),
            [] => {
                return Err(Error::setting(
                    "run",
                    format!("no run `{run}` in {}", store.join("runs").display()),
                ));
            }
            _ => return Err(Error::setting("run", format!("`{run}` names several runs"))),
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::format(&path, format!("not a run record: {e}")))
}

/// Every run's summary (the index), in no particular order. A run recorded
/// before the index existed is read from its full record.
pub fn read_summaries(store: &Path) -> Vec<RunSummary> {
    let mut have = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir(index_dir(store)) {
        for entry in dir.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "json")
                && let Ok(text) = std::fs::read_to_string(&p)
                && let Ok(s) = serde_json::from_str::<RunSummary>(&text)
            {
                have.insert(s.run_id.clone());
                out.push(s);
            }
        }
    }
    for p in list_runs(store) {
        let id = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if have.contains(&id) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&p)
            && let Ok(r) = serde_json::from_str::<RunRecord>(&text)
        {
            out.push(RunSummary::of(&r));
        }
    }
    out
}

/// All run records of a store, oldest first.
pub fn list_runs(store: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(store.join("runs"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"));
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_without_a_store_to_look_in_says_how_to_name_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_run_record("20260101T000000", &dir.path().join(".radial"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`20260101T000000` is not a file"), "{e}");
        assert!(e.contains("--store"), "{e}");
    }
}
