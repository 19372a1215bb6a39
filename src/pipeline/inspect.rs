//! What `radial status`, `radial dag` and `radial diff` show: which tasks
//! would run and why, the graph, and the differences between two runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::execute::{cohort_inputs, hash_case_files};
use super::filehash::FileHashes;
use super::key::{InputOutputs, task_key};
use super::lock::{LockFile, read_lock};
use super::plan::Plan;
use super::runs::RunRecord;
use super::stages::Scope;
use super::store::Store;
use crate::Result;

/// A task's key and cached output as far as they can be known without
/// running anything: the key is unknown when an input would rerun.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub key: Option<String>,
    pub cached: Option<String>,
    pub inputs: InputOutputs,
}

/// Resolves every task of a plan against a store (per stage, in the order
/// of [`Plan::tasks_of`]: per case and variant, or one entry for a cohort
/// stage).
pub fn resolve(
    plan: &Plan,
    store: &Store,
    files: &[Option<(String, String)>],
) -> Vec<Vec<Resolved>> {
    let mut by_stage: Vec<Vec<Resolved>> = Vec::with_capacity(plan.stages.len());
    let n = plan.manifest.cases.len();
    for (s, stage) in plan.stages.iter().enumerate() {
        let resolved = match stage.scope {
            Scope::PerCase => plan
                .tasks_of(s)
                .into_iter()
                .map(|t| {
                    let c = t.case.expect("per-case task");
                    let inputs: Option<InputOutputs> = stage
                        .inputs
                        .iter()
                        .map(|&i| {
                            by_stage[i][input_task(plan, i, c, t.variant)]
                                .cached
                                .clone()
                                .map(|h| vec![(plan.manifest.cases[c].case_id.clone(), h)])
                        })
                        .collect();
                    resolved_task(store, inputs, |inputs| {
                        task_key(plan, s, Some(c), t.variant, files[c].as_ref(), inputs, &[])
                    })
                })
                .collect(),
            Scope::Cohort => {
                let all: Vec<usize> = (0..n).collect();
                let known = stage
                    .inputs
                    .iter()
                    .all(|&i| by_stage[i].iter().all(|r| r.cached.is_some()));
                let inputs = known.then(|| {
                    cohort_inputs(plan, s, &all, |i, t| {
                        by_stage[i][t].cached.clone().unwrap_or_default()
                    })
                });
                vec![resolved_task(store, inputs, |inputs| {
                    task_key(plan, s, None, None, None, inputs, &all)
                })]
            }
        };
        by_stage.push(resolved);
    }
    by_stage
}

/// The index (in [`Plan::tasks_of`]) of the task of input stage `i` that
/// the task of case `c`, variant `variant` reads: the same variant of a
/// per-variant input, the case's task of another per-case input, the one
/// task of a cohort input.
pub fn input_task(plan: &Plan, i: usize, c: usize, variant: Option<u32>) -> usize {
    let input = &plan.stages[i];
    match (input.scope, input.variants) {
        (Scope::Cohort, _) => 0,
        (Scope::PerCase, None) => c,
        (Scope::PerCase, Some(v)) => c * v.count as usize + variant.unwrap_or(0) as usize,
    }
}

fn resolved_task(
    store: &Store,
    inputs: Option<InputOutputs>,
    key: impl FnOnce(&InputOutputs) -> String,
) -> Resolved {
    match inputs {
        Some(inputs) => {
            let key = key(&inputs);
            Resolved {
                cached: store.action(&key),
                key: Some(key),
                inputs,
            }
        }
        None => Resolved {
            key: None,
            cached: None,
            inputs: Vec::new(),
        },
    }
}

/// Flattens JSON into `dotted.path → value` for readable differences.
pub fn flatten(value: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &p, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// `name: old → new` for every parameter that differs.
pub fn param_changes(old: &Value, new: &Value) -> Vec<String> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten(old, "", &mut a);
    flatten(new, "", &mut b);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let show = |m: &BTreeMap<String, String>| {
                m.get(k).cloned().unwrap_or_else(|| "(absent)".into())
            };
            format!("parameter {k}: {} → {}", show(&a), show(&b))
        })
        .collect()
}

/// One task of `radial status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskState {
    pub stage: String,
    pub case: Option<String>,
    pub would_run: bool,
    pub reasons: Vec<String>,
}

/// Which tasks a run would compute, and why, compared with the lock file.
pub fn status(plan: &Plan) -> Result<Vec<TaskState>> {
    let store = Store::open(&plan.store_dir)?;
    let hashes = FileHashes::load(&store.root.join("file-hashes.tsv"));
    let files = hash_case_files(plan, &hashes)?;
    hashes.save()?;
    let lock = read_lock(&plan.lock_path)?;
    let resolved = resolve(plan, &store, &files);
    let mut out = Vec::new();
    for (s, stage) in plan.stages.iter().enumerate() {
        let locked = lock.as_ref().and_then(|l| l.stages.get(&stage.id));
        let mut stage_reasons = Vec::new();
        match locked {
            None => stage_reasons.push(if lock.is_none() {
                "never run (no lock file)".to_string()
            } else {
                "new stage".to_string()
            }),
            Some(l) => {
                if l.kind != stage.kind.name() {
                    stage_reasons.push(format!("kind changed: {} → {}", l.kind, stage.kind.name()));
                } else if l.version != stage.kind.version() {
                    stage_reasons.push(format!(
                        "code version of `{}` changed: {} → {}",
                        l.kind,
                        l.version,
                        stage.kind.version()
                    ));
                }
                stage_reasons.extend(param_changes(&l.params, &stage.params));
            }
        }
        let tasks = plan.tasks_of(s);
        for (r, t) in resolved[s].iter().zip(&tasks) {
            let case = t.case;
            let case_id =
                case.map(|c| super::plan::task_label(&plan.manifest.cases[c].case_id, t.variant));
            if r.cached.is_some() {
                out.push(TaskState {
                    stage: stage.id.clone(),
                    case: case_id,
                    would_run: false,
                    reasons: vec!["cached".into()],
                });
                continue;
            }
            let mut reasons = stage_reasons.clone();
            let lock_task = locked.and_then(|l| l.tasks.get(case_id.as_deref().unwrap_or("*")));
            if let Some(c) = case {
                let cid = &plan.manifest.cases[c].case_id;
                let in_lock = lock.as_ref().is_some_and(|l| {
                    l.inputs.contains_key(cid)
                        || l.stages.values().any(|st| st.tasks.contains_key(cid))
                });
                if lock.is_some() && !in_lock {
                    reasons.push("new case".into());
                }
                if stage.kind.reads_case_files()
                    && let (Some(l), Some((img, msk))) = (lock.as_ref(), &files[c])
                    && let Some(prev) = l.inputs.get(cid)
                {
                    if prev.image.sha256 != *img {
                        reasons.push(format!(
                            "changed input file {}",
                            plan.manifest.cases[c].image.display()
                        ));
                    }
                    if prev.mask.sha256 != *msk {
                        reasons.push(format!(
                            "changed input file {}",
                            plan.manifest.cases[c].mask.display()
                        ));
                    }
                }
            } else if let Some(l) = &lock {
                let now: Vec<&str> = plan
                    .manifest
                    .cases
                    .iter()
                    .map(|c| c.case_id.as_str())
                    .collect();
                let added = now.iter().filter(|c| !l.inputs.contains_key(**c)).count();
                if added > 0 && !l.inputs.is_empty() {
                    reasons.push(format!("{added} new case(s) in the cohort"));
                }
            }
            for &i in &stage.inputs {
                let idx = input_task(plan, i, case.unwrap_or(0), t.variant);
                if resolved[i].get(idx).is_some_and(|r| r.cached.is_none()) {
                    reasons.push(format!(
                        "input stage `{}` would run (this task is skipped if its output comes out unchanged)",
                        plan.stages[i].id
                    ));
                }
            }
            if reasons.is_empty() {
                reasons.push(match (lock_task, &r.key) {
                    (Some(t), Some(key)) if t.key == *key => "output missing from the store".into(),
                    (Some(_), Some(_)) => "inputs changed since the lock".into(),
                    _ => "not in the store".into(),
                });
            }
            out.push(TaskState {
                stage: stage.id.clone(),
                case: case_id,
                would_run: true,
                reasons,
            });
        }
    }
    Ok(out)
}

/// Status as text: per stage the counts, then each distinct reason with the
/// number of tasks it applies to (and a few of their cases).
pub fn status_text(plan: &Plan, states: &[TaskState]) -> String {
    let mut s = String::new();
    for stage in &plan.stages {
        let tasks: Vec<&TaskState> = states.iter().filter(|t| t.stage == stage.id).collect();
        let run = tasks.iter().filter(|t| t.would_run).count();
        let _ = writeln!(
            s,
            "{}: {run} to run, {} cached",
            stage.id,
            tasks.len() - run
        );
        let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for t in tasks.iter().filter(|t| t.would_run) {
            for r in &t.reasons {
                reasons
                    .entry(r)
                    .or_default()
                    .push(t.case.as_deref().unwrap_or("*"));
            }
        }
        for (reason, cases) in reasons {
            let some: Vec<&str> = cases.iter().take(5).copied().collect();
            let more = if cases.len() > 5 {
                format!(", … {} more", cases.len() - 5)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "  {reason} [{} task(s): {}{more}]",
                cases.len(),
                some.join(", ")
            );
        }
    }
    s
}

/// The stage graph as text.
pub fn dag_text(plan: &Plan) -> String {
    let graph = plan.task_graph();
    let mut s = format!(
        "pipeline {} ({} cases, {} tasks, {} dependencies)\n",
        plan.spec.name,
        plan.manifest.cases.len(),
        graph.node_count(),
        graph.edge_count()
    );
    for st in &plan.stages {
        let scope = match (st.scope, st.variants) {
            (Scope::PerCase, Some(v)) => format!(
                "per case ×{} × {} variants of `{}`",
                plan.manifest.cases.len(),
                v.count,
                plan.stages[v.perturb].id
            ),
            (Scope::PerCase, None) => format!("per case ×{}", plan.manifest.cases.len()),
            (Scope::Cohort, _) => "cohort".into(),
        };
        let inputs: Vec<&str> = st
            .inputs
            .iter()
            .map(|&i| plan.stages[i].id.as_str())
            .collect();
        let _ = write!(
            s,
            "{} [{} v{}, {scope}]",
            st.id,
            st.kind.name(),
            st.kind.version()
        );
        if !inputs.is_empty() {
            let _ = write!(s, " <- {}", inputs.join(", "));
        }
        s.push('\n');
    }
    s
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The stage graph (or, with `tasks`, the task graph) in Graphviz dot.
pub fn dag_dot(plan: &Plan, tasks: bool) -> String {
    let mut s = format!(
        "digraph {} {{\n  rankdir=LR;\n  node [shape=box];\n",
        dot_id(&plan.spec.name)
    );
    if tasks {
        let g = plan.task_graph();
        for n in g.node_indices() {
            let _ = writeln!(s, "  {};", dot_id(&plan.task_name(g[n])));
        }
        for e in g.edge_indices() {
            if let Some((a, b)) = g.edge_endpoints(e) {
                let _ = writeln!(
                    s,
                    "  {} -> {};",
                    dot_id(&plan.task_name(g[a])),
                    dot_id(&plan.task_name(g[b]))
                );
            }
        }
    } else {
        for st in &plan.stages {
            let count = plan.tasks_of(plan.stage_index(&st.id).unwrap_or(0)).len();
            let _ = writeln!(
                s,
                "  {} [label={}];",
                dot_id(&st.id),
                dot_id(&format!("{}\n{} ×{count}", st.id, st.kind.name()))
            );
            for &i in &st.inputs {
                let _ = writeln!(s, "  {} -> {};", dot_id(&plan.stages[i].id), dot_id(&st.id));
            }
        }
    }
    s.push_str("}\n");
    s
}

/// `radial diff`: settings and result differences between two runs.
/// Returns the report and whether anything differs.
pub fn diff_runs(a: &RunRecord, b: &RunRecord) -> (String, bool) {
    let mut s = format!("run A: {}\nrun B: {}\n", a.run_id, b.run_id);
    let mut differs = false;
    let mut line = |s: &mut String, text: String| {
        differs = true;
        let _ = writeln!(s, "{text}");
    };
    if a.pipeline.sha256 != b.pipeline.sha256 {
        line(
            &mut s,
            format!(
                "pipeline file changed ({} → {})",
                a.pipeline.path, b.pipeline.path
            ),
        );
    }
    if a.manifest.sha256 != b.manifest.sha256 {
        line(
            &mut s,
            format!(
                "manifest changed ({} → {})",
                a.manifest.path, b.manifest.path
            ),
        );
    }
    if a.radial_version != b.radial_version {
        line(
            &mut s,
            format!("radial version {} → {}", a.radial_version, b.radial_version),
        );
    }
    let stages_a: BTreeMap<&str, _> = a.stages.iter().map(|s| (s.id.as_str(), s)).collect();
    let stages_b: BTreeMap<&str, _> = b.stages.iter().map(|s| (s.id.as_str(), s)).collect();
    let outputs = |r: &RunRecord| -> BTreeMap<(String, String), String> {
        r.tasks
            .iter()
            .filter_map(|t| {
                Some((
                    (t.stage.clone(), t.case.clone().unwrap_or("*".into())),
                    t.output.clone()?,
                ))
            })
            .collect()
    };
    let (out_a, out_b) = (outputs(a), outputs(b));
    let mut ids: Vec<&str> = stages_a.keys().chain(stages_b.keys()).copied().collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        match (stages_a.get(id), stages_b.get(id)) {
            (Some(_), None) => line(&mut s, format!("stage {id}: only in run A")),
            (None, Some(_)) => line(&mut s, format!("stage {id}: only in run B")),
            (Some(x), Some(y)) => {
                let mut notes = Vec::new();
                if x.kind != y.kind || x.version != y.version {
                    notes.push(format!(
                        "kind {} v{} → {} v{}",
                        x.kind, x.version, y.kind, y.version
                    ));
                }
                notes.extend(param_changes(&x.params, &y.params));
                let cases = |m: &BTreeMap<(String, String), String>| -> BTreeMap<String, String> {
                    m.iter()
                        .filter(|((st, _), _)| st == id)
                        .map(|((_, c), h)| (c.clone(), h.clone()))
                        .collect()
                };
                let (ca, cb) = (cases(&out_a), cases(&out_b));
                let changed: Vec<&String> = ca
                    .iter()
                    .filter(|(c, h)| cb.get(*c).is_some_and(|g| g != *h))
                    .map(|(c, _)| c)
                    .collect();
                let only_a = ca.keys().filter(|c| !cb.contains_key(*c)).count();
                let only_b = cb.keys().filter(|c| !ca.contains_key(*c)).count();
                if !changed.is_empty() {
                    let some: Vec<&str> = changed.iter().take(5).map(|c| c.as_str()).collect();
                    notes.push(format!(
                        "{} output(s) differ ({})",
                        changed.len(),
                        some.join(", ")
                    ));
                }
                if only_a > 0 {
                    notes.push(format!("{only_a} output(s) only in run A"));
                }
                if only_b > 0 {
                    notes.push(format!("{only_b} output(s) only in run B"));
                }
                if !notes.is_empty() {
                    line(&mut s, format!("stage {id}:\n  {}", notes.join("\n  ")));
                }
            }
            (None, None) => {}
        }
    }
    if !differs {
        s.push_str("no differences in settings or results\n");
    }
    (s, differs)
}

/// The lock file of a plan, if any (re-exported for the CLI).
pub fn plan_lock(plan: &Plan) -> Result<Option<LockFile>> {
    read_lock(&plan.lock_path)
}
