//! `radial run PIPELINE`: runs what changed, reuses what did not.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;

use crate::pipeline::execute::execute_many;
use crate::pipeline::runs::Counts;
use crate::pipeline::sweep;
use crate::pipeline::{Plan, PlanOptions, Registry, RunOptions, RunOutcome};

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
            name: None,
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
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    #[command(flatten)]
    pub executor: super::executor::ExecutorArgs,
}

/// Experiments: a run with `--set` or `--sweep` is recorded under
/// `.radial/runs/` with its overrides, writes its files under
/// `<output>/<name or run id>/` and leaves the pipeline's lock alone.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ExperimentArgs {
    /// Name of the run (letters, digits, '-', '_', '.'); a sweep's runs are NAME-1, NAME-2, ...
    #[arg(long)]
    pub name: Option<String>,
    /// Run the grid of experiments: STAGE.PARAM=V1,V2,... (repeatable; values are YAML, e.g. [1,1,1],[2,2,2]).
    #[arg(long = "sweep", value_name = "STAGE.PARAM=V1,V2,...")]
    pub sweep: Vec<String>,
    /// The largest sweep grid accepted.
    #[arg(long, default_value_t = crate::pipeline::sweep::DEFAULT_MAX_EXPERIMENTS)]
    pub max_experiments: usize,
}

/// The most worker threads accepted: more than a few per core only adds
/// overhead (and `--jobs 100000` would spend minutes creating threads).
pub fn max_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_mul(4)
        .max(64)
}

/// Checks `--jobs` against its bounds.
pub fn check_jobs(jobs: Option<usize>) -> anyhow::Result<()> {
    match jobs {
        Some(0) => anyhow::bail!("--jobs must be at least 1"),
        Some(n) if n > max_jobs() => anyhow::bail!(
            "--jobs {n} is more than this machine can use (at most {}: four per core, at least 64)",
            max_jobs()
        ),
        _ => Ok(()),
    }
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
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    overrides: Vec<String>,
    output_dir: String,
    stages: Vec<StageSummary>,
    totals: Counts,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    run_outcomes(args).map(|_| ())
}

/// Plans every experiment (a sweep's whole grid) before running anything.
fn plans(args: &Args) -> anyhow::Result<Vec<Plan>> {
    let mut opts = args.plan.options();
    opts.name = args.experiment.name.clone();
    let registry = Registry::standard();
    let pipeline = &args.plan.pipeline;
    if args.experiment.sweep.is_empty() {
        let plan = Plan::new(pipeline, &opts, &registry)
            .with_context(|| format!("cannot plan {}", pipeline.display()))?;
        return Ok(vec![plan]);
    }
    let axes = args
        .experiment
        .sweep
        .iter()
        .map(|a| sweep::parse_axis(a))
        .collect::<crate::Result<Vec<_>>>()?;
    let plans = sweep::plan_sweep(
        pipeline,
        &opts,
        &axes,
        args.experiment.max_experiments,
        &registry,
    )
    .with_context(|| format!("cannot plan the sweep of {}", pipeline.display()))?;
    Ok(plans)
}

/// Runs and prints the summary; the outcomes (one per experiment) for
/// callers that show more (the demo).
pub fn run_outcomes(args: Args) -> anyhow::Result<Vec<RunOutcome>> {
    check_jobs(args.jobs)?;
    let settings = args.executor.settings()?;
    let plans = plans(&args)?;
    let opts = RunOptions {
        jobs: args.jobs,
        keep_going: args.keep_going,
        progress: std::io::stderr().is_terminal(),
        ..Default::default()
    };
    let outcomes = match settings.kind {
        super::executor::ExecutorKind::Local => execute_many(&plans, &opts)?,
        super::executor::ExecutorKind::Slurm => {
            let mut base = args.plan.options();
            base.name = args.experiment.name.clone();
            let outcomes =
                super::executor::run_slurm(&settings, &plans, &args.plan.pipeline, &base, &opts)?;
            if outcomes.is_empty() {
                // --plan-only: the submission plan was printed.
                return Ok(Vec::new());
            }
            outcomes
        }
    };
    let mut failed_total = 0;
    let mut not_started_total = 0;
    let mut summaries = Vec::new();
    for (plan, outcome) in plans.iter().zip(&outcomes) {
        let (summary, failed, not_started) = summarise(plan, outcome, args.json)?;
        failed_total += failed;
        not_started_total += not_started;
        summaries.push(summary);
    }
    if args.json {
        if summaries.len() == 1 {
            crate::outln!("{}", serde_json::to_string(&summaries[0])?)?;
        } else {
            crate::outln!("{}", serde_json::to_string(&summaries)?)?;
        }
    } else if plans.len() > 1 {
        let computed: usize = outcomes
            .iter()
            .flat_map(|o| &o.tasks)
            .filter(|t| t.status == crate::pipeline::TaskStatus::Run)
            .count();
        crate::outln!(
            "sweep of {} experiments: {computed} task(s) computed in all (compare them with `radial runs {}`)",
            plans.len(),
            args.plan.pipeline.display()
        )?;
    }
    if failed_total > 0 {
        anyhow::bail!(
            "{failed_total} task(s) failed{}",
            if not_started_total > 0 {
                format!(", {not_started_total} not started (use --keep-going)")
            } else {
                String::new()
            }
        );
    }
    Ok(outcomes)
}

/// One run's summary, printed unless `json`; with its failed and
/// not-started task counts.
fn summarise(
    plan: &Plan,
    outcome: &RunOutcome,
    json: bool,
) -> crate::Result<(Summary, usize, usize)> {
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
        name: plan.run_name.clone(),
        overrides: plan.overrides.clone(),
        output_dir: outcome.output_dir.display().to_string(),
        stages,
        totals,
    };
    for t in outcome.failed() {
        if let Some(e) = &t.error {
            eprintln!("failed: {e}");
        }
    }
    if !json {
        if plan.is_experiment() {
            crate::outln!(
                "experiment {}{}: {}",
                outcome.run_id,
                plan.run_name
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                plan.overrides.join(" ")
            )?;
        }
        for s in &summary.stages {
            crate::outln!(
                "{:<20} run {:>5}  cached {:>5}  failed {:>5}",
                s.id,
                s.run,
                s.cached,
                s.failed
            )?;
            for o in &s.outputs {
                crate::outln!("{:<20}   -> {o}", "")?;
            }
        }
        let t = &summary.totals;
        crate::outln!(
            "run {}: {} run, {} cached, {} failed in {:.2} s (record {})",
            summary.run_id,
            t.run,
            t.cached,
            t.failed,
            outcome.seconds,
            outcome.record_path.display()
        )?;
        if !outcome.healed.is_empty() {
            crate::outln!(
                "{} corrupt store object(s) found and recomputed (see the warnings above)",
                outcome.healed.len()
            )?;
        }
    }
    let failed = outcome.failed().len();
    let not_started = outcome
        .tasks
        .iter()
        .filter(|t| t.status == crate::pipeline::TaskStatus::NotStarted)
        .count();
    Ok((summary, failed, not_started))
}
