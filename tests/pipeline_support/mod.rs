//! Fixtures for the pipeline tests: tiny NIfTI cohorts, manifests,
//! pipeline files, and test-only stage kinds injected through the registry.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array3;
use radial::image::{Geometry, Volume};
use radial::pipeline::artifact::{CaseImage, decode_features, encode_features};
use radial::pipeline::stages::{Registry, Scope, StageKind, TaskData, canonical, typed};
use radial::pipeline::{Plan, PlanOptions, RunOptions, RunOutcome, TaskStatus};
use serde_json::Value;

/// Writes case `i`'s image (different for every `i`) and mask (label 1).
pub fn write_case(dir: &Path, i: usize) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let image = dir.join(format!("images/case{i:03}.nii"));
    let mask = dir.join(format!("images/case{i:03}_mask.nii"));
    let g = Geometry::new([1.0, 1.0, 2.0], [0.0; 3]);
    let data = Array3::from_shape_fn((2, 3, 4), |(k, j, x)| {
        (((k * 12 + j * 4 + x + i) % 5) + 5 * (i / 5)) as f32
    });
    radial::io::nifti::write(&image, &Volume::new(data, g)).unwrap();
    let m = Array3::from_shape_fn((2, 3, 4), |(_, j, _)| if j > 0 { 1.0f32 } else { 0.0 });
    radial::io::nifti::write(&mask, &Volume::new(m, g)).unwrap();
    (image, mask)
}

/// A cohort of `n` cases with a `phenotype` outcome; returns the manifest path.
pub fn write_cohort(dir: &Path, n: usize) -> PathBuf {
    let mut csv = String::from("case_id,image,mask,label,phenotype\n");
    for i in 0..n {
        write_case(dir, i);
        csv.push_str(&format!(
            "case{i:03},images/case{i:03}.nii,images/case{i:03}_mask.nii,1,{}\n",
            i % 2
        ));
    }
    let p = dir.join("manifest.csv");
    std::fs::write(&p, csv).unwrap();
    p
}

pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The test pipeline: load → stat; load → disc{width} → tex; collect(stat, tex).
pub const TEST_PIPELINE: &str = "\
name: test
manifest: manifest.csv
stages:
  - id: load
    kind: load
  - id: stat
    kind: t_stat
    inputs: [load]
  - id: disc
    kind: t_disc
    inputs: [load]
    params: {width: 1}
  - id: tex
    kind: t_tex
    inputs: [disc]
  - id: table
    kind: collect
    inputs: [stat, tex]
";

/// Counts the computations of every test kind (across threads).
#[derive(Default)]
pub struct Counters {
    pub runs: AtomicUsize,
}

/// What a test kind computes from its single input and its parameters.
pub type Body = fn(&[u8], &Value) -> radial::Result<Vec<(String, f64)>>;

/// A test kind with an optional failure for one case and an optional delay.
pub struct TestKind {
    pub name: &'static str,
    pub version: u32,
    pub counters: Arc<Counters>,
    pub delay_ms: u64,
    pub fail_case: Option<String>,
    pub body: Body,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscParams {
    width: f64,
}

fn roi_values(bytes: &[u8]) -> radial::Result<Vec<f32>> {
    let c = CaseImage::decode(bytes)?;
    Ok(c.image
        .data
        .iter()
        .zip(c.mask.data.iter())
        .filter(|(_, m)| **m)
        .map(|(v, _)| *v)
        .collect())
}

fn stat(bytes: &[u8], _: &Value) -> radial::Result<Vec<(String, f64)>> {
    let v = roi_values(bytes)?;
    Ok(vec![(
        "t_mean".into(),
        v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64,
    )])
}

fn disc(bytes: &[u8], p: &Value) -> radial::Result<Vec<(String, f64)>> {
    let width = p["width"].as_f64().unwrap_or(1.0);
    Ok(roi_values(bytes)?
        .iter()
        .enumerate()
        .map(|(i, &x)| (format!("l{i}"), (x as f64 / width).floor()))
        .collect())
}

fn tex(bytes: &[u8], _: &Value) -> radial::Result<Vec<(String, f64)>> {
    let f = decode_features(bytes)?;
    let weighted: f64 = f
        .values
        .iter()
        .enumerate()
        .map(|(i, (_, v))| (i + 1) as f64 * v)
        .sum();
    Ok(vec![("t_levels_weighted".into(), weighted)])
}

impl StageKind for TestKind {
    fn name(&self) -> &str {
        self.name
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> Result<(), String> {
        if input_kinds.len() == 1 {
            Ok(())
        } else {
            Err("expects one input".into())
        }
    }
    fn canonical_params(&self, params: &Value) -> Result<Value, String> {
        if self.name == "t_disc" {
            canonical::<DiscParams>(params)
        } else {
            canonical::<NoParams>(params)
        }
    }
    fn run(&self, task: &TaskData, params: &Value) -> radial::Result<Vec<u8>> {
        self.counters.runs.fetch_add(1, Ordering::SeqCst);
        if self.name == "t_disc" {
            let _: DiscParams = typed(params).map_err(radial::Error::data)?;
        }
        if let (Some(bad), Some(case)) = (&self.fail_case, task.case)
            && *bad == case.case_id
        {
            return Err(radial::Error::data("deliberate test failure"));
        }
        std::thread::sleep(std::time::Duration::from_millis(self.delay_ms));
        let (_, bytes) = task.only_input()?;
        Ok(encode_features(&radial::features::FeatureSet {
            values: (self.body)(bytes, params)?,
        }))
    }
}

/// The standard registry plus the test kinds.
pub fn registry(counters: &Arc<Counters>, delay_ms: u64, fail_case: Option<&str>) -> Registry {
    let mut r = Registry::standard();
    for (name, body) in [("t_stat", stat as Body), ("t_disc", disc), ("t_tex", tex)] {
        r = r.with_kind(Arc::new(TestKind {
            name,
            version: 1,
            counters: counters.clone(),
            delay_ms,
            fail_case: fail_case.map(str::to_string),
            body,
        }));
    }
    r
}

pub fn plan(pipeline: &Path, overrides: &[&str], registry: &Registry) -> radial::Result<Plan> {
    let opts = PlanOptions {
        overrides: overrides.iter().map(|s| s.to_string()).collect(),
        out: Some(pipeline.parent().unwrap().join("results")),
        ..Default::default()
    };
    Plan::new(pipeline, &opts, registry)
}

pub fn run(pipeline: &Path, overrides: &[&str], registry: &Registry) -> RunOutcome {
    let p = plan(pipeline, overrides, registry).unwrap();
    radial::pipeline::execute(&p, &RunOptions::default()).unwrap()
}

/// (run, cached, failed) of one stage.
pub fn counts(outcome: &RunOutcome, stage: &str) -> (usize, usize, usize) {
    let of = |s: TaskStatus| {
        outcome
            .tasks
            .iter()
            .filter(|t| t.stage == stage && t.status == s)
            .count()
    };
    (
        of(TaskStatus::Run),
        of(TaskStatus::Cached),
        of(TaskStatus::Failed) + of(TaskStatus::Skipped),
    )
}
