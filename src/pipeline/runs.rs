//! Run records: `.radial/runs/<run-id>.json`, one per run, with everything
//! needed to tell what was computed from what (and by which radial).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::execute::{RunOutcome, TaskRecord, TaskStatus, display_paths};
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub radial_version: String,
    pub host: String,
    pub started_unix: f64,
    pub seconds: f64,
    pub pipeline: PipelineRef,
    pub manifest: FileRef,
    pub store: String,
    pub output_dir: String,
    pub stages: Vec<StageRecord>,
    pub tasks: Vec<TaskRecord>,
    /// Materialised files per cohort stage.
    pub outputs: BTreeMap<String, Vec<String>>,
    pub totals: Counts,
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

pub fn manifest_ref(plan: &Plan) -> Result<FileRef> {
    if plan.manifest.path.as_os_str().is_empty() {
        // A pipeline without a manifest (it starts from a feature table).
        return Ok(FileRef {
            path: String::new(),
            sha256: String::new(),
        });
    }
    Ok(FileRef {
        path: plan.manifest.path.display().to_string(),
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
    let record = RunRecord {
        run_id: outcome.run_id.clone(),
        radial_version: crate::VERSION.to_string(),
        host: host_name(),
        started_unix: outcome.started_unix,
        seconds: outcome.seconds,
        pipeline: PipelineRef {
            name: plan.spec.name.clone(),
            path: plan.spec.path.display().to_string(),
            sha256: plan.spec.source_sha256.clone(),
        },
        manifest: manifest_ref(plan)?,
        store: store.root.display().to_string(),
        output_dir: plan.output_dir.display().to_string(),
        stages: stage_records(plan),
        tasks: outcome.tasks.clone(),
        outputs: plan
            .stages
            .iter()
            .zip(&outcome.outputs)
            .filter(|(_, o)| !o.is_empty())
            .map(|(s, o)| (s.id.clone(), display_paths(o)))
            .collect(),
        totals,
    };
    let path = store.runs_dir().join(format!("{}.json", outcome.run_id));
    let text = serde_json::to_string_pretty(&record).map_err(|e| Error::data(e.to_string()))?;
    crate::io::atomic::write_bytes(&path, text.as_bytes())?;
    Ok(path)
}

/// Reads a run record given as a path or as a run id (looked up in `store`).
pub fn read_run_record(run: &str, store: &Path) -> Result<RunRecord> {
    let as_path = Path::new(run);
    let path = if as_path.is_file() {
        as_path.to_path_buf()
    } else {
        let candidates: Vec<PathBuf> = std::fs::read_dir(store.join("runs"))
            .map_err(|e| Error::io(store.join("runs"), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(run) && n.ends_with(".json"))
            })
            .collect();
        match candidates.as_slice() {
            [one] => one.clone(),
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

/// All run records of a store, oldest first.
pub fn list_runs(store: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(store.join("runs"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "json"));
    v.sort();
    v
}
