//! `radial run PIPELINE`: runs what changed, reuses what did not.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;

use crate::pipeline::runs::Counts;
use crate::pipeline::{Plan, PlanOptions, Registry, RunOptions, execute};

/// The options shared by the commands that plan a pipeline.
#[derive(clap::Args, Debug, Clone)]
pub struct PlanArgs {
    /// The pipeline file (YAML).
    pub pipeline: PathBuf,
    /// Override a stage parameter: STAGE.PARAM=VALUE (VALUE is YAML).
    #[arg(long = "set", value_name = "STAGE.PARAM=VALUE")]
    pub set: Vec<String>,
    /// Data manifest (overrides the pipeline's).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Store directory (default: .radial beside the pipeline).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Output directory (default: results/<pipeline name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl PlanArgs {
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            overrides: self.set.clone(),
            manifest: self.manifest.clone(),
            store: self.store.clone(),
            out: self.out.clone(),
        }
    }

    pub fn plan(&self) -> anyhow::Result<Plan> {
        Plan::new(&self.pipeline, &self.options(), &Registry::standard())
            .with_context(|| format!("cannot plan {}", self.pipeline.display()))
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Keep running the other cases when one fails.
    #[arg(long)]
    pub keep_going: bool,
    /// Print a JSON summary on standard output.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct StageSummary {
    id: String,
    run: usize,
    cached: usize,
    failed: usize,
    outputs: Vec<String>,
}

#[derive(serde::Serialize)]
struct Summary {
    run_id: String,
    stages: Vec<StageSummary>,
    totals: Counts,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let plan = args.plan.plan()?;
    if args.jobs == Some(0) {
        anyhow::bail!("--jobs must be at least 1");
    }
    let outcome = execute(
        &plan,
        &RunOptions {
            jobs: args.jobs,
            keep_going: args.keep_going,
            progress: std::io::stderr().is_terminal(),
        },
    )?;
    let mut totals = Counts::default();
    let stages: Vec<StageSummary> = plan
        .stages
        .iter()
        .enumerate()
        .map(|(s, st)| {
            let mut c = Counts::default();
            for t in outcome.tasks.iter().filter(|t| t.stage == st.id) {
                c.add(t.status);
                totals.add(t.status);
            }
            StageSummary {
                id: st.id.clone(),
                run: c.run,
                cached: c.cached,
                failed: c.failed,
                outputs: crate::pipeline::execute::display_paths(&outcome.outputs[s]),
            }
        })
        .collect();
    let summary = Summary {
        run_id: outcome.run_id.clone(),
        stages,
        totals,
    };
    for t in outcome.failed() {
        if let Some(e) = &t.error {
            eprintln!("failed: {e}");
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        for s in &summary.stages {
            println!(
                "{:<20} run {:>5}  cached {:>5}  failed {:>5}",
                s.id, s.run, s.cached, s.failed
            );
            for o in &s.outputs {
                println!("{:<20}   -> {o}", "");
            }
        }
        let t = &summary.totals;
        println!(
            "run {}: {} run, {} cached, {} failed in {:.2} s (record {})",
            summary.run_id,
            t.run,
            t.cached,
            t.failed,
            outcome.seconds,
            outcome.record_path.display()
        );
    }
    let failed = outcome.failed().len();
    let not_started = outcome
        .tasks
        .iter()
        .filter(|t| t.status == crate::pipeline::TaskStatus::NotStarted)
        .count();
    if failed > 0 {
        anyhow::bail!(
            "{failed} task(s) failed{}",
            if not_started > 0 {
                format!(", {not_started} not started (use --keep-going)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
