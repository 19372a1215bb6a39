//! `radial promote RUN`: makes an experiment the pipeline as written. Its
//! overrides are written into the pipeline file (only the text of those
//! parameters changes), then the pipeline is run, which finds every task
//! cached and writes its lock and results, for the user to commit.

use std::path::PathBuf;

use anyhow::Context;

use crate::pipeline::runs::read_run_record;
use crate::pipeline::spec::PipelineSpec;
use crate::pipeline::{Plan, PlanOptions, Registry, RunOptions, execute};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The experiment: run id (or prefix), name, or record path.
    pub run: String,
    /// The pipeline to promote into (default: the run's own); refused when
    /// the run belongs to another pipeline.
    #[arg(long)]
    pub pipeline: Option<PathBuf>,
    /// The store holding the run (default: .radial beside --pipeline, else ./.radial).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Only edit the pipeline file; do not run it to update its lock.
    #[arg(long)]
    pub no_run: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = args.store.clone().unwrap_or_else(|| match &args.pipeline {
        Some(p) => p
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join(".radial"),
        None => PathBuf::from(".radial"),
    });
    let record = read_run_record(&args.run, &store)?;
    let store = super::audit::record_store(&args.run, &store);
    let recorded = record.pipeline_path(&store);
    let pipeline = args.pipeline.clone().unwrap_or_else(|| recorded.clone());
    let spec = PipelineSpec::read(&pipeline)
        .with_context(|| format!("cannot read the pipeline {}", pipeline.display()))?;
    if spec.name != record.pipeline.name {
        anyhow::bail!(
            "refused: run {} is a run of pipeline `{}` ({}), not of `{}` ({})",
            record.run_id,
            record.pipeline.name,
            recorded.display(),
            spec.name,
            pipeline.display()
        );
    }
    if spec.source_sha256 != record.pipeline.sha256 {
        anyhow::bail!(
            "refused: {} changed since run {} (its content hashed to {}, now {}); \
             promoting would overwrite those changes with settings chosen against another file: \
             rerun the experiment on the current file, then promote that run",
            pipeline.display(),
            record.run_id,
            record.pipeline.sha256,
            spec.source_sha256
        );
    }
    if record.overrides.is_empty() {
        anyhow::bail!(
            "refused: run {} ran the pipeline as written (no --set or --sweep overrides): nothing to promote",
            record.run_id
        );
    }
    let text = crate::pipeline::promote::promoted_text(&pipeline, &record.overrides)
        .with_context(|| format!("cannot promote run {}", record.run_id))?;
    crate::io::atomic::write_bytes(&pipeline, text.as_bytes())?;
    crate::outln!(
        "{}: wrote {}",
        pipeline.display(),
        record.overrides.join(" ")
    )?;
    if args.no_run {
        return Ok(());
    }
    // The manifest and output directory the experiment used (its files
    // went to <output>/<run>/).
    let same_file = |a: &std::path::Path, b: &std::path::Path| {
        std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
    };
    let manifest = (!record.manifest.path.is_empty())
        .then(|| record.resolve(&store, &record.manifest.path))
        .filter(|m| !spec.manifest.as_ref().is_some_and(|s| same_file(s, m)));
    let out = record
        .resolve(&store, &record.output_dir)
        .parent()
        .map(std::path::Path::to_path_buf);
    let plan = Plan::new(
        &pipeline,
        &PlanOptions {
            manifest,
            store: Some(store.clone()),
            out,
            ..Default::default()
        },
        &Registry::standard(),
    )
    .with_context(|| format!("cannot plan {}", pipeline.display()))?;
    let outcome = execute(&plan, &RunOptions::default())?;
    let failed = outcome.failed().len();
    if failed > 0 {
        anyhow::bail!("{failed} task(s) failed while updating the lock");
    }
    let computed = outcome
        .tasks
        .iter()
        .filter(|t| t.status == crate::pipeline::TaskStatus::Run)
        .count();
    crate::outln!(
        "{}: updated ({} task(s) computed, {} cached; run {})",
        plan.lock_path.display(),
        computed,
        outcome.tasks.len() - computed,
        outcome.run_id
    )?;
    Ok(())
}
