//! `radial demo`: the whole study on a synthetic cohort, from nothing but
//! the binary. Synthesises the cohort if missing, writes the embedded
//! example pipeline beside it, runs it, prints the metrics and the report.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::run::{self as run_cmd, PlanArgs};
use crate::learn::Evaluation;
use crate::synth::{CohortSettings, MANIFEST_FILE, write_cohort};

/// The example pipeline, embedded so the demo runs outside a checkout too.
pub const EXAMPLE_PIPELINE: &str = include_str!("../../pipelines/example-liver.yaml");
const PIPELINE_FILE: &str = "example-liver.yaml";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Working directory of the demo (cohort, store, results).
    #[arg(long, default_value = "radial-demo")]
    pub dir: PathBuf,
    /// Cases to synthesise when the cohort does not exist yet.
    #[arg(long, default_value_t = 60)]
    pub cases: usize,
    /// Override a stage parameter, as in `radial run` (e.g. discretise.bin_width=10).
    #[arg(long = "set", value_name = "STAGE.PARAM=VALUE")]
    pub set: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cohort = args.dir.join("cases");
    let manifest = cohort.join(MANIFEST_FILE);
    if !manifest.exists() {
        eprintln!(
            "synthesising {} cases in {} ...",
            args.cases,
            cohort.display()
        );
        write_cohort(
            &cohort,
            &CohortSettings {
                cases: args.cases,
                seed: 1,
                null_labels: false,
            },
        )
        .with_context(|| format!("cannot synthesise the cohort in {}", cohort.display()))?;
    }
    let pipeline = args.dir.join(PIPELINE_FILE);
    write_if_changed(&pipeline, EXAMPLE_PIPELINE.as_bytes())?;
    let out = args.dir.join("results");
    let outcomes = run_cmd::run_outcomes(run_cmd::Args {
        plan: PlanArgs {
            pipeline,
            set: args.set,
            manifest: Some(manifest),
            store: Some(args.dir.join(".radial")),
            out: Some(out.clone()),
        },
        jobs: args.jobs,
        keep_going: false,
        json: false,
        experiment: Default::default(),
        executor: Default::default(),
    })?;
    // With --set the run is an experiment, its files under results/<run id>/.
    let out = outcomes.first().map_or(out, |o| o.output_dir.clone());
    print_metrics(&out)?;
    Ok(())
}

/// Rewriting an unchanged file would only churn its mtime.
fn write_if_changed(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    crate::io::atomic::write_bytes(path, bytes)?;
    Ok(())
}

fn print_metrics(out: &Path) -> anyhow::Result<()> {
    let metrics = out.join("evaluate.metrics.json");
    let text = std::fs::read_to_string(&metrics)
        .with_context(|| format!("cannot read {}", metrics.display()))?;
    let evaluation: Evaluation = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an evaluation", metrics.display()))?;
    let s = &evaluation.summary;
    let p = &evaluation.pooled;
    crate::outln!()?;
    crate::outln!(
        "{} cases ({} heterogeneous), {}-fold cross-validation repeated {} times:",
        evaluation.cohort.n_cases,
        evaluation.cohort.n_positive,
        evaluation.protocol.folds,
        evaluation.protocol.repeats
    )?;
    crate::outln!(
        "  AUC (mean over folds)   {:.3} ± {:.3}",
        s.auc_mean,
        s.auc_sd
    )?;
    crate::outln!(
        "  AUC (pooled, 95% CI)    {:.3} [{:.3}, {:.3}]",
        p.auc.value,
        p.auc.lower,
        p.auc.upper
    )?;
    crate::outln!("  balanced accuracy       {:.3}", s.balanced_accuracy_mean)?;
    crate::outln!("  sensitivity             {:.3}", s.sensitivity_mean)?;
    crate::outln!("  specificity             {:.3}", s.specificity_mean)?;
    crate::outln!("report:  {}", out.join("report.html").display())?;
    crate::outln!("metrics: {}", metrics.display())?;
    Ok(())
}
