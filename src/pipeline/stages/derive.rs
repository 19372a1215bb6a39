//! `derive`: features computed from the features of other phases of the same
//! case (multi-phase CT: how much a lesion enhances or washes out between
//! the arterial and the portal phase).
//!
//! A per-case stage. Its inputs are feature stages of phased chains (each
//! chain starts at a `load` with a `phase`); for every pair `[A, B]` of
//! `pairs`, every operation of `ops` and every feature present in both
//! phases (or each one of `features`), it writes
//!
//! - `delta_A_minus_B_<f>` = a − b,
//! - `relative_A_vs_B_<f>` = (a − b) / |b|,
//! - `ratio_A_over_B_<f>` = a / b,
//!
//! in the order pairs, then operations, then features (as phase A lists
//! them). Where `b` is 0 (or a result is not finite), the value is NaN:
//! an empty cell of the collected table, never an infinity.
//!
//! Why per case, not on the collected table: each value reads one case's
//! features only, so a task per case is cached like the families (editing
//! one case's arterial image reruns that case's derive, not the cohort's),
//! involves no fitting that a cross-validation fold would have to contain,
//! and its output is a feature set that `collect` joins like any family's.
//! The planner tells the stage which phase each input belongs to
//! (`input_phases`, [`super::phase`]) and checks the `pairs` against them.

use std::collections::HashMap;

use serde_json::Value;

use super::{Scope, StageKind, TaskData, typed};
use crate::features::FeatureSet;
use crate::pipeline::artifact::{decode_features, encode_features};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeriveOp {
    /// a − b
    Delta,
    /// (a − b) / |b|
    Relative,
    /// a / b
    Ratio,
}

impl DeriveOp {
    /// The feature name of `feature` compared between phases `a` and `b`.
    pub fn name(self, a: &str, b: &str, feature: &str) -> String {
        match self {
            DeriveOp::Delta => format!("delta_{a}_minus_{b}_{feature}"),
            DeriveOp::Relative => format!("relative_{a}_vs_{b}_{feature}"),
            DeriveOp::Ratio => format!("ratio_{a}_over_{b}_{feature}"),
        }
    }

    /// The value; NaN where it would be infinite or undefined (b = 0).
    pub fn apply(self, a: f64, b: f64) -> f64 {
        let v = match self {
            DeriveOp::Delta => a - b,
            DeriveOp::Relative if b == 0.0 => f64::NAN,
            DeriveOp::Relative => (a - b) / b.abs(),
            DeriveOp::Ratio if b == 0.0 => f64::NAN,
            DeriveOp::Ratio => a / b,
        };
        if v.is_finite() { v } else { f64::NAN }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveParams {
    /// Pairs of phases `[A, B]`: A compared with B.
    pub pairs: Vec<[String; 2]>,
    /// The operations, in output order.
    pub ops: Vec<DeriveOp>,
    /// The features to compare (names as the family stages give them,
    /// without the phase); absent: every feature present in both phases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Set by the planner: the phase of each input, in input order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_phases: Option<Vec<String>>,
    /// Set by the planner: feature-name prefixes of phase-suffixed filter
    /// stages to rewrite, `[from, to]` by input stage ([`super::phase::renamed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_renames: Option<std::collections::BTreeMap<String, [String; 2]>>,
}

impl DeriveParams {
    fn check(&self) -> std::result::Result<(), String> {
        if self.pairs.is_empty() {
            return Err("`pairs` lists no pair of phases (e.g. [[arterial, portal]])".into());
        }
        for [a, b] in &self.pairs {
            for phase in [a, b] {
                crate::pipeline::manifest::check_phase_name(phase)
                    .map_err(|m| format!("`pairs`: {m}"))?;
            }
            if a == b {
                return Err(format!("`pairs`: [{a}, {b}] compares a phase with itself"));
            }
        }
        if self.ops.is_empty() {
            return Err("`ops` lists no operation (delta, relative, ratio)".into());
        }
        if let Some(features) = &self.features {
            if features.is_empty() {
                return Err(
                    "`features` is empty: list the features to compare, or leave it out for every feature present in both phases"
                        .into(),
                );
            }
            if let Some(f) = features.iter().find(|f| f.is_empty()) {
                return Err(format!("`features`: an empty feature name ({f:?})"));
            }
        }
        Ok(())
    }
}

pub struct Derive;

impl StageKind for Derive {
    fn name(&self) -> &str {
        "derive"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        super::feature_inputs(
            input_kinds,
            2,
            "two or more feature-family input stages of different phases",
        )
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        let p: DeriveParams = typed(params)?;
        p.check()?;
        serde_json::to_value(&p).map_err(|e| e.to_string())
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let p: DeriveParams = typed(params).map_err(|e| Error::setting("params", e))?;
        let phases = p.input_phases.as_deref().unwrap_or_default();
        if phases.len() != task.inputs.len() {
            return Err(Error::data(
                "derive: the planner did not record the phases of the inputs",
            ));
        }
        let case_id = task.case.map_or("?", |c| c.case_id.as_str());
        let by_phase = features_by_phase(task, phases, p.input_renames.as_ref(), case_id)?;
        Ok(encode_features(&derive(&p, &by_phase, case_id)?))
    }
}

/// The features of one phase: names in input order, values by name.
#[derive(Default)]
struct PhaseFeatures {
    names: Vec<String>,
    values: HashMap<String, (f64, String)>,
}

fn features_by_phase(
    task: &TaskData,
    phases: &[String],
    renames: Option<&std::collections::BTreeMap<String, [String; 2]>>,
    case_id: &str,
) -> Result<HashMap<String, PhaseFeatures>> {
    let mut by_phase: HashMap<String, PhaseFeatures> = HashMap::new();
    for (input, phase) in task.inputs.iter().zip(phases) {
        let (_, bytes) = input
            .items
            .first()
            .ok_or_else(|| Error::data("derive: an input has no output"))?;
        let features = decode_features(bytes).map_err(|e| {
            Error::data(format!("case `{case_id}`, stage `{}`: {e}", input.stage_id))
        })?;
        let entry = by_phase.entry(phase.clone()).or_default();
        let rename = renames.and_then(|m| m.get(&input.stage_id));
        for (name, v) in features.values {
            let name = super::phase::renamed(name, rename);
            if let Some((_, first)) = entry
                .values
                .insert(name.clone(), (v, input.stage_id.clone()))
            {
                return Err(Error::data(format!(
                    "case `{case_id}`: feature `{name}` of phase `{phase}` comes from stage `{first}` and from stage `{}`",
                    input.stage_id
                )));
            }
            entry.names.push(name);
        }
    }
    Ok(by_phase)
}

/// The derived features of one case.
fn derive(
    p: &DeriveParams,
    by_phase: &HashMap<String, PhaseFeatures>,
    case_id: &str,
) -> Result<FeatureSet> {
    let mut out = FeatureSet::new();
    let empty = PhaseFeatures::default();
    for [a, b] in &p.pairs {
        let (fa, fb) = (
            by_phase.get(a).unwrap_or(&empty),
            by_phase.get(b).unwrap_or(&empty),
        );
        let names: Vec<&String> = match &p.features {
            Some(list) => {
                for f in list {
                    for (phase, feats) in [(a, fa), (b, fb)] {
                        if !feats.values.contains_key(f) {
                            return Err(Error::setting(
                                "features",
                                format!(
                                    "case `{case_id}`: phase `{phase}` has no feature `{f}` among its inputs"
                                ),
                            ));
                        }
                    }
                }
                list.iter().collect()
            }
            None => fa
                .names
                .iter()
                .filter(|n| fb.values.contains_key(*n))
                .collect(),
        };
        if names.is_empty() {
            return Err(Error::data(format!(
                "case `{case_id}`: phases `{a}` and `{b}` have no feature in common (derive pairs features by name)"
            )));
        }
        for &op in &p.ops {
            for f in &names {
                let (va, _) = fa.values[*f];
                let (vb, _) = fb.values[*f];
                out.push(op.name(a, b, f), op.apply(va, vb));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_by_zero_is_nan_never_infinite() {
        assert_eq!(DeriveOp::Delta.apply(3.0, 5.0), -2.0);
        assert_eq!(DeriveOp::Relative.apply(3.0, -4.0), 1.75);
        assert_eq!(DeriveOp::Ratio.apply(3.0, -4.0), -0.75);
        assert!(DeriveOp::Relative.apply(3.0, 0.0).is_nan());
        assert!(DeriveOp::Ratio.apply(0.0, 0.0).is_nan());
        assert!(DeriveOp::Ratio.apply(1e308, 1e-308).is_nan());
    }

    #[test]
    fn bad_params_name_the_setting() {
        let bad = |v: Value| Derive.canonical_params(&v).unwrap_err();
        let e = bad(serde_json::json!({"pairs": [], "ops": ["delta"]}));
        assert!(e.contains("`pairs`"), "{e}");
        let e = bad(serde_json::json!({"pairs": [["a", "b"]], "ops": ["sum"]}));
        assert!(e.contains("unknown variant `sum`"), "{e}");
        let e = bad(serde_json::json!({"pairs": [["a", "b"]], "ops": ["delta"], "features": []}));
        assert!(e.contains("`features` is empty"), "{e}");
        let e = bad(serde_json::json!({"pairs": [["a", "a"]], "ops": ["delta"]}));
        assert!(e.contains("itself"), "{e}");
        let ok = Derive
            .canonical_params(&serde_json::json!({"pairs": [["a", "b"]], "ops": ["ratio"]}))
            .unwrap();
        assert_eq!(
            ok,
            serde_json::json!({"pairs": [["a", "b"]], "ops": ["ratio"]})
        );
    }
}
