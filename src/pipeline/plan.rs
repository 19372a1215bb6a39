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
    /// The kind whose output form this stage's output has: its own, except
    /// for a kind that fans cases out into variants of its input (`perturb`
    /// reading `load` gives `load`'s form). Readers check their inputs
    /// against it.
    pub acts_as: String,
    /// Per-case stages downstream of a `perturb` stage (and the `perturb`
    /// stage itself) run once per (case, variant).
    pub variants: Option<Variants>,
}

/// The variants a per-case stage runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variants {
    /// The `perturb` stage they come from (index into [`Plan::stages`]).
    pub perturb: usize,
    pub count: u32,
}

impl PlannedStage {
    pub fn params_text(&self) -> String {
        super::hash::canonical_json(&self.params)
    }

    /// Tasks per case: the variant count, 1 when the stage is not per
    /// variant.
    pub fn variant_count(&self) -> usize {
        self.variants.map_or(1, |v| v.count as usize)
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
    /// The variant of a per-variant task.
    pub variant: Option<u32>,
}

/// How a task is named where a case id alone would be ambiguous:
/// `case_id~v03` for variant 3, the case id otherwise.
pub fn task_label(case_id: &str, variant: Option<u32>) -> String {
    match variant {
        Some(v) => format!("{case_id}~v{v:02}"),
        None => case_id.to_string(),
    }
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
        plan_variants(&spec, &mut stages)?;
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

    /// The tasks of a stage: per case (per variant within a case), or one.
    pub fn tasks_of(&self, stage: usize) -> Vec<TaskId> {
        let st = &self.stages[stage];
        match st.scope {
            Scope::PerCase => (0..self.manifest.cases.len())
                .flat_map(|c| {
                    let variants: Vec<Option<u32>> = match st.variants {
                        Some(v) => (0..v.count).map(Some).collect(),
                        None => vec![None],
                    };
                    variants.into_iter().map(move |variant| TaskId {
                        stage,
                        case: Some(c),
                        variant,
                    })
                })
                .collect(),
            Scope::Cohort => vec![TaskId {
                stage,
                case: None,
                variant: None,
            }],
        }
    }

    /// Whether any stage runs per variant.
    pub fn has_variants(&self) -> bool {
        self.stages.iter().any(|s| s.variants.is_some())
    }

    /// A readable task name: `stage/case_id`, `stage/case_id~v03` or `stage`.
    pub fn task_name(&self, t: TaskId) -> String {
        match t.case {
            Some(c) => format!(
                "{}/{}",
                self.stages[t.stage].id,
                task_label(&self.manifest.cases[c].case_id, t.variant)
            ),
            None => self.stages[t.stage].id.clone(),
        }
    }

    /// The task DAG: an edge from each input task to the task reading it.
    /// A per-variant task reads the same variant of a per-variant input and
    /// its case's task of any other per-case input.
    pub fn task_graph(&self) -> DiGraph<TaskId, ()> {
        let mut g = DiGraph::new();
        let mut nodes: Vec<Vec<NodeIndex>> = Vec::new();
        for s in 0..self.stages.len() {
            let tasks = self.tasks_of(s);
            let ids: Vec<NodeIndex> = tasks.iter().map(|&t| g.add_node(t)).collect();
            for &i in &self.stages[s].inputs {
                let nv = self.stages[i].variant_count();
                for (k, &n) in ids.iter().enumerate() {
                    match (self.stages[i].scope, self.stages[s].scope) {
                        (Scope::PerCase, Scope::PerCase) => {
                            let t = tasks[k];
                            let c = t.case.expect("per-case task");
                            let v = match self.stages[i].variants {
                                Some(_) => t.variant.unwrap_or(0) as usize,
                                None => 0,
                            };
                            g.add_edge(nodes[i][c * nv + v], n, ());
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
                        crate::error::none_or_joined(&columns)
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
    // The output form of each stage (see [`PlannedStage::acts_as`]).
    let mut acts_as: Vec<String> = spec.stages.iter().map(|s| s.kind.clone()).collect();
    for &s in &order {
        let st = &spec.stages[s];
        let kind = &kinds[s];
        let input_kinds: Vec<&str> = inputs[s].iter().map(|&i| acts_as[i].as_str()).collect();
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
        let input_ids: Vec<&str> = inputs[s]
            .iter()
            .map(|&i| spec.stages[i].id.as_str())
            .collect();
        kind.check_params_with_inputs(&params, &input_ids, &input_kinds)
            .map_err(|m| {
                located(
                    &st.origin,
                    format!("stage `{}` (kind `{}`) {m}", st.id, st.kind),
                )
            })?;
        if kind.variants(&params).is_some()
            && let Some(&first) = inputs[s].first()
        {
            acts_as[s] = acts_as[first].clone();
        }
        planned_pos[s] = planned.len();
        planned.push(PlannedStage {
            id: st.id.clone(),
            kind: kind.clone(),
            params,
            inputs: inputs[s].clone(),
            scope: kind.scope(),
            files: Vec::new(),
            case_files: None,
            acts_as: acts_as[s].clone(),
            variants: None,
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

/// Which stages run per variant, checked before any task runs: a stage
/// whose kind fans out (`perturb`) and every per-case stage downstream of
/// it. Perturbations do not nest, a per-case stage reads the variants of at
/// most one `perturb` stage (its other per-case inputs are shared by all
/// variants of a case), and of the cohort stages only `collect` reads
/// per-variant stages (one row per case and variant). `stages` are in
/// dependency order.
fn plan_variants(spec: &PipelineSpec, stages: &mut [PlannedStage]) -> Result<()> {
    let origin = |id: &str| {
        spec.stages
            .iter()
            .find(|s| s.id == id)
            .expect("planned stages come from the spec")
            .origin
            .clone()
    };
    for s in 0..stages.len() {
        let stage = &stages[s];
        let from: Vec<(usize, Variants)> = stage
            .inputs
            .iter()
            .filter_map(|&i| stages[i].variants.map(|v| (i, v)))
            .collect();
        if let Some(&(i, v)) = from.iter().find(|(_, v)| v.perturb != from[0].1.perturb) {
            return Err(located(
                &origin(&stage.id),
                format!(
                    "stage `{}` reads `{}` (variants of `{}`) and `{}` (variants of `{}`): a stage reads the variants of one `perturb` stage",
                    stage.id,
                    stages[from[0].0].id,
                    stages[from[0].1.perturb].id,
                    stages[i].id,
                    stages[v.perturb].id
                ),
            ));
        }
        if let Some(count) = stage.kind.variants(&stage.params) {
            if let Some(&(i, v)) = from.first() {
                return Err(located(
                    &origin(&stage.id),
                    format!(
                        "stage `{}` (kind `{}`) reads `{}`, which already runs per variant of `{}`: perturbations do not nest (list them in one `perturb` stage)",
                        stage.id,
                        stage.kind.name(),
                        stages[i].id,
                        stages[v.perturb].id
                    ),
                ));
            }
            stages[s].variants = Some(Variants { perturb: s, count });
            continue;
        }
        let Some(&(i, v)) = from.first() else {
            continue;
        };
        match stage.scope {
            Scope::PerCase => stages[s].variants = Some(v),
            Scope::Cohort if stage.kind.name() == "collect" => {}
            Scope::Cohort => {
                return Err(located(
                    &origin(&stage.id),
                    format!(
                        "stage `{}` (kind `{}`) reads `{}`, which runs per variant of `{}`: only `collect` gathers variants (one row per case and variant)",
                        stage.id,
                        stage.kind.name(),
                        stages[i].id,
                        stages[v.perturb].id
                    ),
                ));
            }
        }
    }
    Ok(())
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
