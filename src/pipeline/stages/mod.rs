//! Stage kinds and their registry. A kind declares its parameters (a typed
//! struct, unknown keys rejected), its implementation version, its scope
//! (one task per case, or one per cohort), which inputs it accepts, and how
//! it turns input bytes into output bytes.
//!
//! Adding a kind is one file here plus one line in [`Registry::standard`].

mod collect;
mod derive;
mod family;
mod filter;
mod image;
mod learn;
mod perturb;
pub mod phase;
mod pyradiomics;
pub mod stability;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::manifest::{Case, Manifest};
use crate::{Error, Result};

pub use collect::{Collect, Table};

/// How many tasks a stage expands to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One task per manifest case.
    PerCase,
    /// One task for the whole cohort.
    Cohort,
}

/// The outputs of one input stage, as seen by a task: one item for a
/// per-case task, one per case (manifest order) for a cohort task.
pub struct InputData {
    pub stage_id: String,
    pub kind: String,
    pub items: Vec<(String, Arc<Vec<u8>>)>,
    /// The variant of each item when the input stage runs per variant
    /// (downstream of a `perturb` stage); `None` otherwise.
    pub variants: Option<Vec<u32>>,
}

/// Everything a task reads.
pub struct TaskData<'a> {
    /// The case of a per-case task.
    pub case: Option<&'a Case>,
    /// The variant of a per-variant task (downstream of a `perturb` stage).
    pub variant: Option<u32>,
    pub manifest: &'a Manifest,
    pub inputs: Vec<InputData>,
    /// The files the stage declared ([`StageKind::input_files`]) with their
    /// content hashes.
    pub files: &'a [(PathBuf, String)],
}

impl TaskData<'_> {
    /// The single item of the single input (per-case stages with one input).
    pub fn only_input(&self) -> Result<(&str, &[u8])> {
        match self.inputs.as_slice() {
            [one] if one.items.len() == 1 => Ok((&one.kind, &one.items[0].1)),
            _ => Err(Error::data("the stage expects exactly one input")),
        }
    }
}

/// One stage kind.
pub trait StageKind: Send + Sync {
    fn name(&self) -> &str;
    /// Bumped whenever the kind's output for the same inputs may change.
    fn version(&self) -> u32;
    fn scope(&self) -> Scope;
    /// Whether tasks read the case's image and mask files (their content
    /// hashes then enter the task key).
    fn reads_case_files(&self) -> bool {
        false
    }
    /// For a kind that fans each case out into variants of its input
    /// (`perturb`): how many. Its output has the form of its input's, and
    /// every per-case stage downstream runs once per variant.
    fn variants(&self, _params: &Value) -> Option<u32> {
        None
    }
    /// Files a task reads that are not stage outputs (e.g. an existing
    /// feature table), resolved against the pipeline file's directory `base`.
    /// Their content hashes enter the task key.
    fn input_files(
        &self,
        _params: &Value,
        _base: &Path,
    ) -> std::result::Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }
    /// Checks the input stages' kinds; the message says what is accepted.
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String>;
    /// Validates the parameters and returns their canonical form (every
    /// declared parameter present, defaults filled in).
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String>;
    /// Checks the canonical parameters against the input stages (their ids
    /// and kinds, in declared order), for conflicts that neither sees alone
    /// (e.g. a parameter naming an input stage); runs at planning, before
    /// any task.
    fn check_params_with_inputs(
        &self,
        _params: &Value,
        _input_ids: &[&str],
        _input_kinds: &[&str],
    ) -> std::result::Result<(), String> {
        Ok(())
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>>;
    /// Whether [`StageKind::headline_metrics`] can say anything (saves
    /// reading the outputs of the other stages).
    fn reports_metrics(&self) -> bool {
        false
    }
    /// The numbers a comparison of runs shows for this stage's output
    /// (`radial runs`): e.g. an evaluation's AUC with its interval.
    fn headline_metrics(&self, _output: &[u8]) -> Option<BTreeMap<String, f64>> {
        None
    }
    /// Writes the files a person opens (cohort outputs) into `dir`, named
    /// after the stage id; returns their paths.
    fn materialise(&self, _stage_id: &str, _output: &[u8], _dir: &Path) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
}

/// Deserialises parameters into the kind's struct (unknown keys rejected by
/// the struct) and serialises them back: the canonical form.
pub fn canonical<P: Serialize + DeserializeOwned>(
    params: &Value,
) -> std::result::Result<Value, String> {
    let p: P = typed(params)?;
    serde_json::to_value(&p).map_err(|e| e.to_string())
}

/// [`canonical`], then the settings' own value checks (a negative bin
/// width, an empty range), so they fail at planning, before any task runs.
pub fn canonical_checked<P: Serialize + DeserializeOwned>(
    params: &Value,
    check: impl FnOnce(&P) -> crate::Result<()>,
) -> std::result::Result<Value, String> {
    let p: P = typed(params)?;
    check(&p).map_err(|e| e.to_string())?;
    serde_json::to_value(&p).map_err(|e| e.to_string())
}

pub fn typed<P: DeserializeOwned>(params: &Value) -> std::result::Result<P, String> {
    serde_json::from_value(params.clone()).map_err(|e| e.to_string())
}

/// A stage with no parameters.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The kinds whose outputs are images, not feature rows.
const IMAGE_KINDS: [&str; 5] = ["load", "resample", "resegment", "filter", "discretise"];

/// Checks that there are at least `min` inputs and that all of them give
/// feature rows (no image stage); `expected` says what the stage wants.
pub fn feature_inputs(
    input_kinds: &[&str],
    min: usize,
    expected: &str,
) -> std::result::Result<(), String> {
    if input_kinds.len() < min || input_kinds.iter().any(|k| IMAGE_KINDS.contains(k)) {
        return Err(format!(
            "expects {expected} (got: {})",
            crate::error::none_or_joined(input_kinds)
        ));
    }
    Ok(())
}

/// Checks that `input_kinds` is exactly one of `accepted`.
pub fn one_input_of(input_kinds: &[&str], accepted: &[&str]) -> std::result::Result<(), String> {
    match input_kinds {
        [one] if accepted.contains(one) => Ok(()),
        _ => Err(format!(
            "expects exactly one input stage of kind {} (got: {})",
            accepted.join(" or "),
            crate::error::none_or_joined(input_kinds)
        )),
    }
}

/// The stage kinds a pipeline may use, by name.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<String, Arc<dyn StageKind>>,
}

impl Registry {
    pub fn empty() -> Self {
        Self::default()
    }

    /// The production kinds.
    pub fn standard() -> Self {
        let mut r = Registry::empty()
            .with_kind(Arc::new(image::Load))
            .with_kind(Arc::new(image::Resample))
            .with_kind(Arc::new(image::Resegment))
            .with_kind(Arc::new(image::Discretise))
            .with_kind(Arc::new(filter::Filter))
            .with_kind(Arc::new(Collect))
            .with_kind(Arc::new(derive::Derive))
            .with_kind(Arc::new(learn::TableStage))
            .with_kind(Arc::new(learn::Select))
            .with_kind(Arc::new(learn::Evaluate))
            .with_kind(Arc::new(learn::Train))
            .with_kind(Arc::new(learn::Report))
            .with_kind(Arc::new(pyradiomics::PyRadiomicsStage))
            .with_kind(Arc::new(perturb::Perturb))
            .with_kind(Arc::new(stability::Stability));
        for family in crate::processing::Family::all() {
            r = r.with_kind(Arc::new(family::FamilyStage::new(family)));
        }
        r
    }

    /// Adds (or replaces) a kind.
    pub fn with_kind(mut self, kind: Arc<dyn StageKind>) -> Self {
        self.kinds.insert(kind.name().to_string(), kind);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn StageKind>> {
        self.kinds.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }
}
