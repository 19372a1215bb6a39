//! `radial bench`: whole-process benchmarks of feature extraction.
//!
//! Each run of a scenario is a fresh child process of this binary (the
//! hidden `--child` flag), so that its peak resident memory is its own. The
//! child reads the files, extracts every family, and prints one JSON line:
//! wall time, peak RSS (VmHWM), ROI voxels, feature count and any error.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::processing::ExtractionSettings;

/// Scenario names, in the default order.
const SCENARIOS: [&str; 4] = [
    "ct-config-c",
    "ct-config-e",
    "ct-config-c-no-texture",
    "lung2",
];

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Scenarios:
  ct-config-c  IBSI CT phantom, settings pipelines/ibsi/config-c.yaml, all families
  ct-config-e  IBSI CT phantom, settings pipelines/ibsi/config-e.yaml, all families
  ct-config-c-no-texture  the same with pipelines/bench/config-c-no-texture.yaml:
               morphology, local intensity, statistics, histogram, IVH
  lung2        PyRadiomics lung2 (label 1), settings pipelines/bench/lung2.yaml
Data come from $RADIAL_DATA_DIR (default ../shared/data). Every run is a fresh
process: reported are the median, min and max wall time of the whole job
(read files -> features), the ROI voxels per second at the median, and the
largest peak resident memory (VmHWM) over the runs.")]
pub struct Args {
    /// Scenarios to run (default: all).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(SCENARIOS))]
    pub scenarios: Vec<String>,
    /// Runs per scenario.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Worker threads of each run (RAYON_NUM_THREADS); default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Directory of the settings files.
    #[arg(long, default_value = "pipelines")]
    pub pipelines: PathBuf,
    /// Run one scenario in this process and print its JSON measurement.
    #[arg(long, hide = true)]
    pub child: bool,
}

/// What one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub scenario: String,
    pub wall_s: f64,
    pub load_s: f64,
    pub peak_rss_kb: u64,
    pub roi_voxels: usize,
    pub features: usize,
    /// Why the extraction failed (the load measurements stay valid).
    pub error: Option<String>,
}

/// Summary of the runs of one scenario.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub runs: usize,
    pub wall_median_s: f64,
    pub wall_min_s: f64,
    pub wall_max_s: f64,
    pub load_median_s: f64,
    pub roi_voxels: usize,
    pub roi_voxels_per_s: f64,
    pub peak_rss_mb: f64,
    pub features: usize,
    pub error: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let scenarios: Vec<String> = if args.scenarios.is_empty() {
        SCENARIOS.iter().map(|s| s.to_string()).collect()
    } else {
        args.scenarios.clone()
    };
    if args.child {
        let [scenario] = scenarios.as_slice() else {
            bail!("--child runs exactly one scenario");
        };
        let measured = run_child(scenario, &args.pipelines)?;
        crate::outln!("{}", serde_json::to_string(&measured)?)?;
        return Ok(());
    }
    let mut summaries = Vec::new();
    for scenario in &scenarios {
        let runs = (0..args.repeat)
            .map(|_| spawn_child(scenario, &args))
            .collect::<anyhow::Result<Vec<Run>>>()?;
        summaries.push(summarise(scenario, &runs));
    }
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&summaries)?)?;
    } else {
        print_table(&summaries)?;
    }
    Ok(())
}

fn spawn_child(scenario: &str, args: &Args) -> anyhow::Result<Run> {
    let exe = std::env::current_exe().context("cannot locate the radial binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(["bench", "--child", scenario, "--pipelines"])
        .arg(&args.pipelines);
    if let Some(n) = args.threads {
        cmd.env("RAYON_NUM_THREADS", n.to_string());
    }
    let out = cmd.output().context("cannot start a benchmark run")?;
    if !out.status.success() {
        bail!(
            "scenario {scenario}: the run failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim())
        .with_context(|| format!("scenario {scenario}: unreadable run report {text:?}"))
}

/// The files and settings of a scenario.
struct Case {
    image: PathBuf,
    mask: PathBuf,
    label: i64,
    settings: PathBuf,
}

fn case(scenario: &str, pipelines: &Path) -> anyhow::Result<Case> {
    let data = crate::data::reference_data_dir();
    let ct = data.join("ibsi/ct_phantom");
    let samples = data.join("pyradiomics-samples");
    Ok(match scenario {
        "ct-config-c" | "ct-config-e" => Case {
            image: ct.join("image.nii.gz"),
            mask: ct.join("mask.nii.gz"),
            label: 1,
            settings: pipelines.join(format!("ibsi/config-{}.yaml", &scenario[10..])),
        },
        "ct-config-c-no-texture" => Case {
            image: ct.join("image.nii.gz"),
            mask: ct.join("mask.nii.gz"),
            label: 1,
            settings: pipelines.join("bench/config-c-no-texture.yaml"),
        },
        "lung2" => Case {
            image: samples.join("lung2_image.nrrd"),
            mask: samples.join("lung2_label.nrrd"),
            label: 1,
            settings: pipelines.join("bench/lung2.yaml"),
        },
        other => bail!(
            "unknown scenario {other:?} (known: {})",
            SCENARIOS.join(", ")
        ),
    })
}

/// The whole job of one run, measured from the start of this process's work.
fn run_child(scenario: &str, pipelines: &Path) -> anyhow::Result<Run> {
    let start = Instant::now();
    let case = case(scenario, pipelines)?;
    // The same reading and validation as `radial extract --settings`.
    let settings = ExtractionSettings::from_yaml_file(&case.settings)?;
    // The same loading and extraction as `radial extract`.
    let (image, roi) = crate::io::read_case(&case.image, &case.mask, case.label)?;
    let load_s = start.elapsed().as_secs_f64();
    let roi_voxels = roi.data.iter().filter(|&&b| b).count();
    let extracted = crate::extract::extract_case(&image.volume, &roi, &settings);
    let wall_s = start.elapsed().as_secs_f64();
    let (features, error) = match extracted {
        Ok(f) => (f.len(), None),
        Err(e) => (0, Some(e.to_string())),
    };
    Ok(Run {
        scenario: scenario.to_string(),
        wall_s,
        load_s,
        peak_rss_kb: peak_rss_kb()?,
        roi_voxels,
        features,
        error,
    })
}

/// Peak resident set size of this process (VmHWM), in kB.
fn peak_rss_kb() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("cannot read /proc/self/status (peak memory is measured on Linux only)")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmHWM line in /proc/self/status")
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v
}

fn summarise(scenario: &str, runs: &[Run]) -> Summary {
    let wall = sorted(runs.iter().map(|r| r.wall_s));
    let load = sorted(runs.iter().map(|r| r.load_s));
    let wall_median_s = median(&wall);
    let roi_voxels = runs[0].roi_voxels;
    Summary {
        scenario: scenario.to_string(),
        runs: runs.len(),
        wall_median_s,
        wall_min_s: wall[0],
        wall_max_s: wall[wall.len() - 1],
        load_median_s: median(&load),
        roi_voxels,
        roi_voxels_per_s: roi_voxels as f64 / wall_median_s,
        peak_rss_mb: runs.iter().map(|r| r.peak_rss_kb).max().unwrap_or(0) as f64 / 1024.0,
        features: runs[0].features,
        error: runs.iter().find_map(|r| r.error.clone()),
    }
}

fn print_table(summaries: &[Summary]) -> crate::Result<()> {
    crate::outln!(
        "{:<12} {:>4} {:>10} {:>10} {:>10} {:>9} {:>10} {:>12} {:>9} {:>8}",
        "scenario",
        "runs",
        "median s",
        "min s",
        "max s",
        "load s",
        "ROI vox",
        "ROI vox/s",
        "peak MB",
        "features"
    )?;
    for s in summaries {
        crate::outln!(
            "{:<12} {:>4} {:>10.3} {:>10.3} {:>10.3} {:>9.3} {:>10} {:>12.0} {:>9.1} {:>8}",
            s.scenario,
            s.runs,
            s.wall_median_s,
            s.wall_min_s,
            s.wall_max_s,
            s.load_median_s,
            s.roi_voxels,
            s.roi_voxels_per_s,
            s.peak_rss_mb,
            s.features
        )?;
        if let Some(e) = &s.error {
            crate::outln!("  {}: extraction failed: {e}", s.scenario)?;
        }
    }
    Ok(())
}
