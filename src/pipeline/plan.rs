//! Planning: a pipeline file, its overrides and its manifest become a
//! validated list of stages in dependency order, which expands to a DAG of
//! tasks (one per case for per-case stages, one for a cohort stage).
//! Every check here runs before any task does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use super::manifest::Manifest;
use super::spec::{Origin, PipelineSpec, StageSpec, located};
use super::stages::{Registry, Scope, StageKind};
use crate::{Error, Result};

/// Overrides of the pipeline's own settings (the command-line options).
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `STAGE.PARAM=VALUE`, applied in order.
    pub overrides: Vec<String>,
    pub manifest: Option<PathBuf>,
    pub store: Option<PathBuf>,
    pub out: Option<PathBuf>,
    /// The run's name (`--name`); validated like a stage id.
    pub name: Option<String>,
}

pub struct PlannedStage {
    pub id: String,
    pub kind: Arc<dyn StageKind>,
    /// Canonical parameters (declared keys only, defaults filled in).
    pub params: Value,
    /// Indices (into [`Plan::stages`]) of the input stages, in declared order.
    pub inputs: Vec<usize>,
    pub scope: Scope,
    /// Files the kind declared ([`StageKind::input_files`]) and their
    /// content hashes.
    pub files: Vec<(PathBuf, String)>,
    /// A phased `load`'s (image, mask) content hashes per case: they enter
    /// its task keys in place of the default image's
    /// ([`super::stages::phase`]).
    pub case_files: Option<Vec<(String, String)>>,
}

impl PlannedStage {
    pub fn params_text(&self) -> String {
        super::hash::canonical_json(&self.params)
    }
}

pub struct Plan {
    pub spec: PipelineSpec,
    pub manifest: Manifest,
    /// Stages in a dependency order (inputs before readers).
    pub stages: Vec<PlannedStage>,
    pub store_dir: PathBuf,
    pub output_dir: PathBuf,
    /// `PIPELINE.lock`: the pipeline file name with the extension `.lock`.
    pub lock_path: PathBuf,
    /// The `--set` overrides as given. With any, the run is an experiment:
    /// recorded under `.radial/runs/`, its files under
    /// `<output>/<name or run id>/`, and the lock left alone (the lock
    /// describes the pipeline file as written).
    pub overrides: Vec<String>,
    pub run_name: Option<String>,
    /// This plan's point of a sweep.
    pub sweep: Option<super::sweep::SweepPoint>,
}

/// One node of the task graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskId {
    pub stage: usize,
    /// Index into the manifest's cases; `None` for a cohort task.
    pub case: Option<usize>,
}

impl Plan {
    pub fn new(pipeline: &Path, opts: &PlanOptions, registry: &Registry) -> Result<Plan> {
        let mut spec = PipelineSpec::read(pipeline)?;
        if let Some(name) = &opts.name {
            super::spec::check_name(name)
                .map_err(|m| Error::setting("--name", format!("`{name}`: {m}")))?;
        }
        for o in &opts.overrides {
            spec.apply_override(o)?;
        }
        let mut stages = resolve_stages(&spec, registry)?;
        let manifest_path = opts
            .manifest
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| spec.manifest.clone());
        let manifest = match manifest_path {
            Some(path) => Manifest::read(&path)?,
            None => no_manifest(&spec, &stages)?,
        };
        if stages.iter().any(|s| s.kind.reads_case_files()) {
            check_case_files(&manifest)?;
        }
        super::stages::phase::plan_phases(&spec, &mut stages, &manifest)?;
        check_outcome_columns(&spec, &stages, &manifest)?;
        let base = pipeline.parent().unwrap_or(Path::new(""));
        let store_dir = opts
            .store
            .clone()
            .or_else(|| spec.store.clone())
            .unwrap_or_else(|| base.join(".radial"));
        hash_declared_files(&spec, &mut stages, &manifest, base, &store_dir)?;
        let output_dir = opts
            .out
            .clone()
            .or_else(|| spec.output.clone())
            .unwrap_or_else(|| Path::new("results").join(&spec.name));
        Ok(Plan {
            lock_path: pipeline.with_extension("lock"),
            spec,
            manifest,
            stages,
            store_dir,
            output_dir,
            overrides: opts.overrides.clone(),
            run_name: opts.name.clone(),
            sweep: None,
        })
    }

    /// Whether the run differs from the pipeline file as written.
    pub fn is_experiment(&self) -> bool {
        !self.overrides.is_empty() || self.sweep.is_some()
    }

    /// Where run `run_id` writes its cohort outputs: the output directory
    /// for the pipeline as written, `<output>/<name or run id>/` for an
    /// experiment.
    pub fn run_output_dir(&self, run_id: &str) -> PathBuf {
        if self.is_experiment() {
            self.output_dir
                .join(self.run_name.as_deref().unwrap_or(run_id))
        } else {
            self.output_dir.clone()
        }
    }

    pub fn stage_index(&self, id: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id == id)
    }

    /// The tasks of a stage.
    pub fn tasks_of(&self, stage: usize) -> Vec<TaskId> {
        match self.stages[stage].scope {
            Scope::PerCase => (0..self.manifest.cases.len())
                .map(|c| TaskId {
                    stage,
                    case: Some(c),
                })
                .collect(),
            Scope::Cohort => vec![TaskId { stage, case: None }],
        }
    }

    /// A readable task name: `stage/case_id` or `stage`.
    pub fn task_name(&self, t: TaskId) -> String {
        match t.case {
            Some(c) => format!(
                "{}/{}",
                self.stages[t.stage].id, self.manifest.cases[c].case_id
            ),
            None => self.stages[t.stage].id.clone(),
        }
    }

    /// The task DAG: an edge from each input task to the task reading it.
    pub fn task_graph(&self) -> DiGraph<TaskId, ()> {
        let mut g = DiGraph::new();
        let mut nodes: Vec<Vec<NodeIndex>> = Vec::new();
        for s in 0..self.stages.len() {
            let ids: Vec<NodeIndex> = self
                .tasks_of(s)
                .into_iter()
                .map(|t| g.add_node(t))
                .collect();
            for &i in &self.stages[s].inputs {
                for (k, &n) in ids.iter().enumerate() {
                    match (self.stages[i].scope, self.stages[s].scope) {
                        (Scope::PerCase, Scope::PerCase) => {
                            g.add_edge(nodes[i][k], n, ());
                        }
                        _ => {
                            for &m in &nodes[i] {
                                g.add_edge(m, n, ());
                            }
                        }
                    }
                }
            }
            nodes.push(ids);
        }
        g
    }
}

/// The empty cohort of a pipeline without a manifest; only cohort stages
/// (e.g. from a feature table) can run then.
fn no_manifest(spec: &PipelineSpec, stages: &[PlannedStage]) -> Result<Manifest> {
    if let Some(s) = stages.iter().find(|s| s.scope == Scope::PerCase) {
        return Err(Error::format(
            &spec.path,
            format!(
                "stage `{}` (kind `{}`) runs once per case: the pipeline needs a `manifest`",
                s.id,
                s.kind.name()
            ),
        ));
    }
    Ok(Manifest::default())
}

/// Resolves the files each kind declares and hashes them (through the
/// store's stamp cache, so an unchanged file is not re-read): a missing file
/// is an error before any task runs.
fn hash_declared_files(
    spec: &PipelineSpec,
    stages: &mut [PlannedStage],
    manifest: &Manifest,
    base: &Path,
    store_dir: &Path,
) -> Result<()> {
    let mut cache: Option<super::filehash::FileHashes> = None;
    if stages
        .iter()
        .any(|s| super::stages::phase::load_phase(s).is_some())
    {
        let hashes = cache.get_or_insert_with(|| {
            super::filehash::FileHashes::load(&store_dir.join("file-hashes.tsv"))
        });
        super::stages::phase::hash_phase_files(stages, manifest, hashes)?;
    }
    for stage in stages.iter_mut() {
        let origin = &spec
            .stages
            .iter()
            .find(|s| s.id == stage.id)
            .expect("planned stages come from the spec")
            .origin;
        let files = stage
            .kind
            .input_files(&stage.params, base)
            .map_err(|m| located(origin, format!("stage `{}`: {m}", stage.id)))?;
        for path in files {
            if !path.is_file() {
                return Err(located(
                    origin,
                    format!(
                        "stage `{}`: file {} does not exist",
                        stage.id,
                        path.display()
                    ),
                ));
            }
            let hashes = cache.get_or_insert_with(|| {
                super::filehash::FileHashes::load(&store_dir.join("file-hashes.tsv"))
            });
            let sha = hashes.hash(&path)?;
            stage.files.push((path, sha));
        }
    }
    if let Some(hashes) = cache
        && store_dir.is_dir()
    {
        hashes.save()?;
    }
    Ok(())
}

/// Outcome columns named by stage parameters must exist before any task
/// runs: a `collect` stage's `outcomes` in the manifest, and the
/// `label_column` of a stage reading a `collect` table among the columns
/// that table will have.
fn check_outcome_columns(
    spec: &PipelineSpec,
    stages: &[PlannedStage],
    manifest: &Manifest,
) -> Result<()> {
    let origin_of = |stage: &PlannedStage, param: &str| {
        let st = spec
            .stages
            .iter()
            .find(|s| s.id == stage.id)
            .expect("planned stages come from the spec");
        st.params
            .iter()
            .rev()
            .find(|p| p.name == param)
            .map(|p| p.origin.clone())
            .unwrap_or_else(|| st.origin.clone())
    };
    let has_manifest = !manifest.path.as_os_str().is_empty();
    let columns_of = |collect: &PlannedStage| -> Vec<String> {
        match collect.params.get("outcomes").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            None => manifest.outcome_columns.clone(),
        }
    };
    for stage in stages {
        if stage.kind.name() == "collect" && has_manifest {
            for col in columns_of(stage) {
                if !manifest.outcome_columns.contains(&col) {
                    return Err(located(
                        &origin_of(stage, "outcomes"),
                        format!(
                            "stage `{}`: the manifest {} has no outcome column `{col}` (columns: {})",
                            stage.id,
                            manifest.path.display(),
                            manifest.outcome_columns.join(", ")
                        ),
                    ));
                }
            }
        }
        let Some(label) = stage.params.get("label_column").and_then(Value::as_str) else {
            continue;
        };
        for &i in &stage.inputs {
            let input = &stages[i];
            if input.kind.name() != "collect" || !has_manifest {
                continue;
            }
            let columns = columns_of(input);
            if !columns.iter().any(|c| c == label) {
                return Err(located(
                    &origin_of(stage, "label_column"),
                    format!(
                        "stage `{}`: label_column `{label}` is not a column of the table collected by `{}` (outcome columns: {})",
                        stage.id,
                        input.id,
                        if columns.is_empty() {
                            "none".to_string()
                        } else {
                            columns.join(", ")
                        }
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Every image and mask path must exist before a task starts.
fn check_case_files(manifest: &Manifest) -> Result<()> {
    let mut problems = Vec::new();
    for case in &manifest.cases {
        for (what, p) in [("image", &case.image), ("mask", &case.mask)] {
            if std::fs::metadata(p).is_err() {
                problems.push(format!(
                    "case `{}`: {what} file {} does not exist",
                    case.case_id,
                    p.display()
                ));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let n = problems.len();
    problems.truncate(10);
    if n > 10 {
        problems.push(format!("... and {} more", n - 10));
    }
    Err(Error::format(&manifest.path, problems.join("\n  ")))
}

fn resolve_stages(spec: &PipelineSpec, registry: &Registry) -> Result<Vec<PlannedStage>> {
    let index = |id: &str| spec.stages.iter().position(|s| s.id == id);
    // Kinds and input references.
    let mut kinds = Vec::new();
    let mut inputs = Vec::new();
    for s in &spec.stages {
        let kind = registry.get(&s.kind).ok_or_else(|| {
            located(
                &s.kind_origin,
                format!(
                    "stage `{}`: unknown kind `{}` (known: {})",
                    s.id,
                    s.kind,
                    registry.names().join(", ")
                ),
            )
        })?;
        kinds.push(kind.clone());
        let mut ins = Vec::new();
        for (name, origin) in &s.inputs {
            let i = index(name).ok_or_else(|| {
                located(
                    origin,
                    format!(
                        "stage `{}` reads from `{name}`, which is not a stage of this pipeline",
                        s.id
                    ),
                )
            })?;
            if ins.contains(&i) {
                return Err(located(
                    origin,
                    format!("stage `{}` lists input `{name}` twice", s.id),
                ));
            }
            ins.push(i);
        }
        inputs.push(ins);
    }
    // Cycles.
    let mut g = DiGraph::<usize, ()>::new();
    let nodes: Vec<NodeIndex> = (0..spec.stages.len()).map(|i| g.add_node(i)).collect();
    for (s, ins) in inputs.iter().enumerate() {
        for &i in ins {
            g.add_edge(nodes[i], nodes[s], ());
        }
    }
    let order = petgraph::algo::toposort(&g, None).map_err(|cycle| {
        let s = g[cycle.node_id()];
        let scc = petgraph::algo::kosaraju_scc(&g)
            .into_iter()
            .find(|c| c.contains(&cycle.node_id()))
            .unwrap_or_default();
        let mut members: Vec<usize> = scc.iter().map(|&n| g[n]).collect();
        members.sort();
        let names: Vec<&str> = members
            .iter()
            .map(|&m| spec.stages[m].id.as_str())
            .collect();
        located(
            &spec.stages[s].origin,
            format!(
                "stages form a cycle: {} read from each other",
                names.join(", ")
            ),
        )
    })?;
    let order: Vec<usize> = order.into_iter().map(|n| g[n]).collect();
    // Inputs per kind, scope rules, parameters.
    let mut planned_pos = vec![0; spec.stages.len()];
    let mut planned = Vec::new();
    for &s in &order {
        let st = &spec.stages[s];
        let kind = &kinds[s];
        let input_kinds: Vec<&str> = inputs[s]
            .iter()
            .map(|&i| spec.stages[i].kind.as_str())
            .collect();
        kind.check_inputs(&input_kinds).map_err(|m| {
            located(
                &st.origin,
                format!("stage `{}` (kind `{}`) {m}", st.id, st.kind),
            )
        })?;
        if kind.scope() == Scope::PerCase
            && let Some(&c) = inputs[s]
                .iter()
                .find(|&&i| kinds[i].scope() == Scope::Cohort)
        {
            return Err(located(
                &st.origin,
                format!(
                    "per-case stage `{}` cannot read the cohort stage `{}`",
                    st.id, spec.stages[c].id
                ),
            ));
        }
        let params = validate_params(st, kind.as_ref())?;
        kind.check_params_with_inputs(&params, &input_kinds)
            .map_err(|m| {
                located(
                    &st.origin,
                    format!("stage `{}` (kind `{}`) {m}", st.id, st.kind),
                )
            })?;
        planned_pos[s] = planned.len();
        planned.push(PlannedStage {
            id: st.id.clone(),
            kind: kind.clone(),
            params,
            inputs: inputs[s].clone(),
            scope: kind.scope(),
            files: Vec::new(),
            case_files: None,
        });
    }
    for p in &mut planned {
        for i in &mut p.inputs {
            *i = planned_pos[*i];
        }
    }
    for t in 0..planned.len() {
        if planned[t].kind.name() == "train"
            && let Some(recipe) = super::recipe::extraction_recipe(&planned, t)
        {
            let recipe = serde_json::to_value(recipe).expect("settings serialise");
            if let Some(params) = planned[t].params.as_object_mut() {
                params.insert(super::recipe::EXTRACTION_PARAM.to_string(), recipe);
            }
        }
    }
    Ok(planned)
}

/// Validates a stage's parameters against its kind; an error points at the
/// parameter responsible when one can be singled out.
fn validate_params(stage: &StageSpec, kind: &dyn StageKind) -> Result<Value> {
    let all = stage.params_object();
    let message = match kind.canonical_params(&all) {
        Ok(v) => return Ok(v),
        Err(m) => m,
    };
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field") || message.starts_with("unknown variant"));
    let culprit = stage
        .params
        .iter()
        .rev()
        .find(|p| Some(p.name.as_str()) == named)
        .or_else(|| {
            // The parameter whose removal changes the error is the one at fault.
            stage.params.iter().rev().find(|p| {
                let mut without = all.clone();
                without.as_object_mut().map(|m| m.remove(&p.name));
                kind.canonical_params(&without).err().as_deref() != Some(message.as_str())
            })
        });
    let what = format!(
        "stage `{}` (kind `{}`): parameters: {message}",
        stage.id, stage.kind
    );
    Err(match culprit {
        Some(p) => match &p.origin {
            Origin::Override(_) if message.starts_with("unknown field") => located(
                &p.origin,
                format!(
                    "stage `{}` (kind `{}`) has no parameter `{}`: {message}",
                    stage.id, stage.kind, p.name
                ),
            ),
            _ => located(&p.origin, format!("parameter `{}`: {what}", p.name)),
        },
        None => located(&stage.origin, what),
    })
}
