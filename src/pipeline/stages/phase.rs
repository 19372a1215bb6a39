//! Phases at planning: which phase of a multi-phase manifest each stage's
//! outputs belong to, checked before any task runs.
//!
//! A `load` with `params: {phase: portal}` reads that phase's files; every
//! per-case stage downstream of it belongs to the same phase (a stage
//! reading two phases is an error, apart from `derive`, whose feature names
//! say which phases they compare). The phase is a property of the pipeline's
//! graph, known here, so the planner hands it to the stages that name
//! features by it instead of carrying it through every image artifact:
//!
//! - `collect` gets `input_phases` (input stage id → phase) and prefixes each
//!   input's features with its phase (`portal_glcm_contrast_3D_avg`);
//! - `derive` gets `input_phases` (one per input, in order) and pairs the
//!   features of the phases it compares.
//!
//! A filter stage whose id ends with its chain's phase (`log_s2_portal`)
//! names its features without it: the planner adds `input_renames`
//! (`log_s2_portal_` → `log_s2_`) to the readers, so that the column is
//! `portal_log_s2_stat_mean` and `derive` pairs it with the arterial
//! chain's `log_s2_arterial` features.
//!
//! These parameters are added only when some input has a phase, so the keys
//! of single-phase pipelines do not change. Each phased `load` also gets the
//! content hashes of its phase's files per case ([`PlannedStage::case_files`]):
//! they enter its task key in place of the default image's, so editing one
//! phase's image reruns that phase's chain and nothing else.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::pipeline::filehash::FileHashes;
use crate::pipeline::manifest::Manifest;
use crate::pipeline::plan::PlannedStage;
use crate::pipeline::spec::{Origin, PipelineSpec, located};
use crate::{Error, Result};

/// The parameter the planner adds to `collect` and `derive` stages.
pub const INPUT_PHASES: &str = "input_phases";
/// The feature-name rewrites of phase-suffixed filter stages ([`renamed`]).
pub const INPUT_RENAMES: &str = "input_renames";

/// The phase a `load` stage's canonical parameters name.
pub fn load_phase(stage: &PlannedStage) -> Option<&str> {
    if stage.kind.name() != "load" {
        return None;
    }
    stage.params.get("phase").and_then(Value::as_str)
}

/// Where a stage's parameter was written (the stage when it was not).
fn origin_of(spec: &PipelineSpec, stage: &str, param: &str) -> Origin {
    let st = spec
        .stages
        .iter()
        .find(|s| s.id == stage)
        .expect("planned stages come from the spec");
    st.params
        .iter()
        .rev()
        .find(|p| p.name == param)
        .map(|p| p.origin.clone())
        .unwrap_or_else(|| st.origin.clone())
}

fn phase_list(manifest: &Manifest) -> String {
    if manifest.phases.is_empty() {
        "none: it has no image.<phase> columns".to_string()
    } else {
        manifest.phases.join(", ")
    }
}

/// Checks every stage's phase against the manifest and the graph, and adds
/// `input_phases` to `collect` and `derive` stages that read phased chains.
/// `stages` are in dependency order.
pub fn plan_phases(
    spec: &PipelineSpec,
    stages: &mut [PlannedStage],
    manifest: &Manifest,
) -> Result<()> {
    let has_manifest = !manifest.path.as_os_str().is_empty();
    // The phase of each stage's outputs (`None`: unphased, or a cohort stage).
    let mut phase_of: Vec<Option<String>> = vec![None; stages.len()];
    // The `filter` stage upstream of each per-case stage, if any.
    let mut filter_of: Vec<Option<String>> = vec![None; stages.len()];
    for s in 0..stages.len() {
        let stage = &stages[s];
        if stage.kind.name() == "load" {
            match load_phase(stage) {
                Some(phase) if has_manifest && manifest.phase_index(phase).is_none() => {
                    return Err(located(
                        &origin_of(spec, &stage.id, "phase"),
                        format!(
                            "stage `{}` (kind `load`): parameter `phase`: the manifest {} has no phase `{phase}` (its phases: {})",
                            stage.id,
                            manifest.path.display(),
                            phase_list(manifest)
                        ),
                    ));
                }
                None if has_manifest && !manifest.has_default_image => {
                    return Err(located(
                        &stage_origin(spec, &stage.id),
                        format!(
                            "stage `{}` (kind `load`) has no `phase` and the manifest {} has no `image` column: set `params: {{phase: ...}}` (its phases: {})",
                            stage.id,
                            manifest.path.display(),
                            phase_list(manifest)
                        ),
                    ));
                }
                _ => {}
            }
            phase_of[s] = load_phase(stage).map(str::to_string);
            continue;
        }
        let input_phases: Vec<Option<String>> =
            stage.inputs.iter().map(|&i| phase_of[i].clone()).collect();
        let phased = input_phases.iter().any(Option::is_some);
        filter_of[s] = if stage.kind.name() == "filter" {
            Some(stage.id.clone())
        } else {
            stage.inputs.first().and_then(|&i| filter_of[i].clone())
        };
        let renames = filter_renames(stages, &stage.inputs, &phase_of, &filter_of);
        let renames_param = |stage: &mut PlannedStage| -> Result<()> {
            if renames.is_empty() {
                return Ok(());
            }
            add_param(spec, stage, INPUT_RENAMES, Value::Object(renames.clone()))
        };
        match stage.kind.name() {
            "collect" if phased => {
                let map: BTreeMap<String, Value> = stage
                    .inputs
                    .iter()
                    .zip(&input_phases)
                    .filter_map(|(&i, p)| {
                        p.as_ref()
                            .map(|p| (stages[i].id.clone(), Value::String(p.clone())))
                    })
                    .collect();
                add_param(
                    spec,
                    &mut stages[s],
                    INPUT_PHASES,
                    Value::Object(map.into_iter().collect()),
                )?;
                renames_param(&mut stages[s])?;
            }
            "derive" => {
                check_derive_phases(spec, &stages[s], stages, &input_phases)?;
                let list = input_phases
                    .iter()
                    .map(|p| p.clone().map_or(Value::Null, Value::String))
                    .collect();
                add_param(spec, &mut stages[s], INPUT_PHASES, Value::Array(list))?;
                renames_param(&mut stages[s])?;
            }
            _ if stage.scope == super::Scope::PerCase && !input_phases.is_empty() => {
                // Every input of a per-case stage belongs to one phase.
                let first = &input_phases[0];
                if let Some(k) = input_phases.iter().position(|p| p != first) {
                    let name = |p: &Option<String>| match p {
                        Some(p) => format!("phase `{p}`"),
                        None => "no phase".to_string(),
                    };
                    return Err(located(
                        &stage_origin(spec, &stage.id),
                        format!(
                            "stage `{}` reads `{}` ({}) and `{}` ({}): the stages of one chain belong to one phase (a `derive` stage compares phases)",
                            stage.id,
                            stages[stage.inputs[0]].id,
                            name(first),
                            stages[stage.inputs[k]].id,
                            name(&input_phases[k])
                        ),
                    ));
                }
                phase_of[s] = first.clone();
            }
            _ => {}
        }
    }
    Ok(())
}

fn stage_origin(spec: &PipelineSpec, stage: &str) -> Origin {
    spec.stages
        .iter()
        .find(|s| s.id == stage)
        .expect("planned stages come from the spec")
        .origin
        .clone()
}

/// Adds a planner parameter; a user may not set it.
fn add_param(
    spec: &PipelineSpec,
    stage: &mut PlannedStage,
    name: &str,
    value: Value,
) -> Result<()> {
    let written = spec
        .stages
        .iter()
        .find(|s| s.id == stage.id)
        .is_some_and(|s| s.params.iter().any(|p| p.name == name));
    if written {
        return Err(located(
            &origin_of(spec, &stage.id, name),
            format!(
                "stage `{}`: `{name}` is set by the planner from the pipeline's `load` phases, not in the pipeline",
                stage.id
            ),
        ));
    }
    if let Some(params) = stage.params.as_object_mut() {
        params.insert(name.to_string(), value);
    }
    Ok(())
}

/// The feature-name prefixes to rewrite, by input stage id: a filter
/// stage's id that ends with its chain's phase (`log_s2_portal` in the
/// portal chain) names its features without that suffix
/// (`log_s2_stat_mean`), since the phase prefix says it
/// (`portal_log_s2_stat_mean`) and `derive` pairs the phases' features by
/// name. Each entry is `[from, to]`.
fn filter_renames(
    stages: &[PlannedStage],
    inputs: &[usize],
    phase_of: &[Option<String>],
    filter_of: &[Option<String>],
) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for &i in inputs {
        if let (Some(phase), Some(filter)) = (&phase_of[i], &filter_of[i])
            && let Some(short) = filter.strip_suffix(&format!("_{phase}"))
            && !short.is_empty()
        {
            out.insert(
                stages[i].id.clone(),
                serde_json::json!([format!("{filter}_"), format!("{short}_")]),
            );
        }
    }
    out
}

/// Rewrites a feature name by the planner's `[from, to]` prefix rule.
pub fn renamed(name: String, rule: Option<&[String; 2]>) -> String {
    match rule {
        Some([from, to]) => match name.strip_prefix(from.as_str()) {
            Some(rest) => format!("{to}{rest}"),
            None => name,
        },
        None => name,
    }
}

/// The phases a `derive` stage compares must be phases of its inputs.
fn check_derive_phases(
    spec: &PipelineSpec,
    stage: &PlannedStage,
    stages: &[PlannedStage],
    input_phases: &[Option<String>],
) -> Result<()> {
    let have: Vec<&str> = {
        let mut v: Vec<&str> = input_phases.iter().flatten().map(String::as_str).collect();
        v.sort();
        v.dedup();
        v
    };
    if let Some(k) = input_phases.iter().position(Option::is_none) {
        return Err(located(
            &stage_origin(spec, &stage.id),
            format!(
                "stage `{}` (kind `derive`): input `{}` has no phase (derive compares the features of phased chains: `load` with `params: {{phase: ...}}`)",
                stage.id, stages[stage.inputs[k]].id
            ),
        ));
    }
    let pairs = stage
        .params
        .get("pairs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for phase in pairs
        .iter()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
    {
        if !have.contains(&phase) {
            return Err(located(
                &origin_of(spec, &stage.id, "pairs"),
                format!(
                    "stage `{}` (kind `derive`): parameter `pairs`: no input has phase `{phase}` (the inputs' phases: {})",
                    stage.id,
                    crate::error::none_or_joined(&have)
                ),
            ));
        }
    }
    Ok(())
}

/// Hashes the files of each phased `load`'s phase for every case (through
/// the store's stamp cache), checks them against the manifest's
/// `*_sha256.<phase>` columns and stores them in
/// [`PlannedStage::case_files`]. A missing file is an error naming the case
/// and the phase.
pub fn hash_phase_files(
    stages: &mut [PlannedStage],
    manifest: &Manifest,
    hashes: &FileHashes,
) -> Result<()> {
    let mut done: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for stage in stages.iter_mut() {
        let Some(phase) = load_phase(stage).map(str::to_string) else {
            continue;
        };
        if !done.contains_key(&phase) {
            let mut per_case = Vec::with_capacity(manifest.cases.len());
            for (c, case) in manifest.cases.iter().enumerate() {
                let files = manifest
                    .phase_files_of(c, &phase)
                    .ok_or_else(|| Error::data(format!("the manifest has no phase `{phase}`")))?;
                let mask = files.mask_of(case);
                let mut got = Vec::with_capacity(2);
                for (what, path, want) in [
                    (
                        "image",
                        files.image.as_path(),
                        files.image_sha256.as_deref(),
                    ),
                    ("mask", mask, files.mask_sha256_of(case)),
                ] {
                    if std::fs::metadata(path).is_err() {
                        return Err(Error::format(
                            &manifest.path,
                            format!(
                                "case `{}`, phase `{phase}`: {what} file {} does not exist",
                                case.case_id,
                                path.display()
                            ),
                        ));
                    }
                    let sha = hashes.hash(path)?;
                    if let Some(want) = want
                        && want != sha
                    {
                        return Err(Error::format(
                            path,
                            format!(
                                "case `{}`, phase `{phase}`: the {what}'s content no longer matches the manifest's recorded SHA-256 (recorded {want}, found {sha})",
                                case.case_id
                            ),
                        ));
                    }
                    got.push(sha);
                }
                per_case.push((got[0].clone(), got[1].clone()));
            }
            done.insert(phase.clone(), per_case);
        }
        stage.case_files = Some(done[&phase].clone());
    }
    Ok(())
}
