//! `radial run --executor slurm ...`: the executor options, the `executor:`
//! block of a config file (`--config FILE`), and the Slurm run and its
//! `--plan-only` submission plan.
//!
//! The executor is not part of the pipeline file on purpose: where a
//! pipeline runs does not change its results, so it stays out of the file
//! whose hash the runs record.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::pipeline::executor::{BundleSize, Placement, case_bundles, execute_with, pending};
use crate::pipeline::filehash::FileHashes;
use crate::pipeline::slurm::{SlurmExecutor, SlurmOptions, catch_interrupts, client, preflight};
use crate::pipeline::store::Store;
use crate::pipeline::{Plan, PlanOptions, RunOptions, RunOutcome};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutorKind {
    /// This machine's cores.
    Local,
    /// Job arrays on a Slurm cluster (the store on a filesystem the nodes share).
    Slurm,
}

/// Where `radial run` executes its tasks.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ExecutorArgs {
    /// Where tasks run (default: local, or `kind` under `executor:` in --config).
    #[arg(long, value_enum)]
    pub executor: Option<ExecutorKind>,
    /// A YAML file with an `executor:` block (kind, partition, options, max_jobs, bundle, cohort_local, retries, cpus_per_task, poll_seconds, preflight_timeout); options given here win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Slurm partition (default: the cluster's default partition).
    #[arg(long)]
    pub slurm_partition: Option<String>,
    /// An extra sbatch option, e.g. --slurm-option=--mem=4G (repeatable).
    #[arg(
        long = "slurm-option",
        value_name = "OPTION",
        allow_hyphen_values = true
    )]
    pub slurm_option: Vec<String>,
    /// Array elements running at once (the array's %N throttle; default 100).
    #[arg(long)]
    pub max_jobs: Option<usize>,
    /// Cases per array element (default: chosen so that about 4 jobs run per
    /// slot that can run at once, the smaller of --max-jobs and the
    /// partition's CPUs per --cpus-per-task).
    #[arg(long)]
    pub bundle: Option<usize>,
    /// Run the cohort stages in the driver instead of as a job.
    #[arg(long)]
    pub cohort_local: bool,
    /// Resubmissions of a job that died outside its tasks (cancelled, node failure, preemption, time limit; default 2).
    #[arg(long)]
    pub retries: Option<u32>,
    /// Print the submission plan (jobs, arrays, sbatch calls) and submit nothing.
    #[arg(long)]
    pub plan_only: bool,
}

#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    executor: ExecutorConfig,
}

#[derive(serde::Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
struct ExecutorConfig {
    kind: Option<ExecutorKind>,
    partition: Option<String>,
    #[serde(default)]
    options: Vec<String>,
    max_jobs: Option<usize>,
    bundle: Option<usize>,
    cohort_local: Option<bool>,
    retries: Option<u32>,
    cpus_per_task: Option<usize>,
    poll_seconds: Option<f64>,
    preflight_timeout: Option<u64>,
}

fn read_config(path: &Path) -> anyhow::Result<ExecutorConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: ConfigFile = serde_saphyr::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: {}",
            path.display(),
            crate::error::yaml_message(&e.to_string())
        )
    })?;
    Ok(file.executor)
}

/// The executor settings: the command line over the config file over the defaults.
pub struct Settings {
    pub kind: ExecutorKind,
    pub slurm: SlurmOptions,
    pub placement: Placement,
    pub plan_only: bool,
}

impl ExecutorArgs {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let config = match &self.config {
            Some(p) => read_config(p)?,
            None => ExecutorConfig::default(),
        };
        let defaults = SlurmOptions::default();
        let mut options = config.options;
        options.extend(self.slurm_option.iter().cloned());
        let mut slurm = SlurmOptions {
            partition: self.slurm_partition.clone().or(config.partition),
            options,
            max_jobs: self
                .max_jobs
                .or(config.max_jobs)
                .unwrap_or(defaults.max_jobs),
            retries: self.retries.or(config.retries).unwrap_or(defaults.retries),
            cpus_per_task: config.cpus_per_task.unwrap_or(defaults.cpus_per_task),
            ..defaults
        };
        if let Some(s) = config.poll_seconds {
            if !(s > 0.0 && s <= 600.0) {
                bail!("executor.poll_seconds must be in (0, 600], not {s}");
            }
            slurm.poll = Duration::from_secs_f64(s);
        }
        if let Some(s) = config.preflight_timeout {
            slurm.preflight_timeout = Duration::from_secs(s);
        }
        let fixed_bundle = self.bundle.or(config.bundle);
        for (name, v) in [
            ("--max-jobs", slurm.max_jobs),
            ("--bundle", fixed_bundle.unwrap_or(1)),
            ("cpus_per_task", slurm.cpus_per_task),
        ] {
            if v == 0 {
                bail!("{name} must be at least 1");
            }
        }
        let kind = self.executor.or(config.kind).unwrap_or(ExecutorKind::Local);
        let bundle = match fixed_bundle {
            Some(n) => BundleSize::Fixed(n),
            None => BundleSize::Auto {
                slots: auto_slots(kind, &slurm),
            },
        };
        if kind == ExecutorKind::Local && self.plan_only {
            bail!("--plan-only prints a Slurm submission plan: use it with --executor slurm");
        }
        Ok(Settings {
            kind,
            slurm,
            placement: Placement {
                bundle,
                cohort_local: self.cohort_local || config.cohort_local.unwrap_or(false),
            },
            plan_only: self.plan_only,
        })
    }
}

/// Jobs that can run at once, for the automatic bundle size: the throttle,
/// or the partition's CPUs per task when the cluster says it has fewer.
fn auto_slots(kind: ExecutorKind, slurm: &SlurmOptions) -> usize {
    let throttle = slurm.max_jobs.max(1);
    if kind != ExecutorKind::Slurm || client::find_on_path("sinfo").is_none() {
        return throttle;
    }
    match client::partition_cpus(slurm.partition.as_deref()) {
        Ok(cpus) if cpus > 0 => throttle.min((cpus / slurm.cpus_per_task.max(1)).max(1)),
        _ => throttle,
    }
}

/// Runs the plans (one, or a sweep's grid) on Slurm, one outcome per plan
/// started; none for `--plan-only` (the submission plans are printed).
pub fn run_slurm(
    settings: &Settings,
    plans: &[Plan],
    pipeline: &Path,
    base_options: &PlanOptions,
    opts: &RunOptions,
) -> anyhow::Result<Vec<RunOutcome>> {
    for plan in plans {
        crate::pipeline::executor::refuse_variants(plan)?;
    }
    if settings.plan_only {
        for (k, plan) in plans.iter().enumerate() {
            if plans.len() > 1 {
                crate::outln!(
                    "experiment {}/{}: {}",
                    k + 1,
                    plans.len(),
                    plan.overrides.join(" ")
                )?;
            }
            print_plan(settings, plan)?;
        }
        return Ok(Vec::new());
    }
    catch_interrupts();
    // A sweep's experiments run one after the other: each submits only the
    // tasks the store lacks, so what an experiment shares with an earlier
    // one (the chain before the swept stage) is computed once.
    let mut outcomes = Vec::with_capacity(plans.len());
    for (k, plan) in plans.iter().enumerate() {
        // The workers plan the pipeline again from these options: they must
        // carry this experiment's overrides, not only the command line's.
        let plan_options = PlanOptions {
            overrides: plan.overrides.clone(),
            name: plan.run_name.clone(),
            ..base_options.clone()
        };
        let outcome = run_slurm_plan(settings, plan, pipeline, &plan_options, opts, k == 0)?;
        let failed = !outcome.failed().is_empty();
        outcomes.push(outcome);
        if failed && !opts.keep_going && k + 1 < plans.len() {
            eprintln!(
                "experiment {} failed: the {} later experiment(s) of the sweep were not started (use --keep-going)",
                k + 1,
                plans.len() - k - 1
            );
            break;
        }
    }
    Ok(outcomes)
}

/// One plan through the Slurm executor; `check_store` runs the preflight
/// (tools, partition, a job writing into the store) first.
fn run_slurm_plan(
    settings: &Settings,
    plan: &Plan,
    pipeline: &Path,
    plan_options: &PlanOptions,
    opts: &RunOptions,
    check_store: bool,
) -> anyhow::Result<RunOutcome> {
    let store = Store::open(&plan.store_dir)?;
    // The run's id names its record and its job directory alike.
    let since = (std::time::SystemTime::now(), std::time::Instant::now());
    let run_id = crate::pipeline::execute::new_run_id(since.0);
    let mut opts = opts.clone();
    opts.since = Some(since);
    let mut exec = SlurmExecutor::new(settings.slurm.clone(), &store.root, &run_id)
        .context("cannot use Slurm")?;
    if check_store {
        preflight(&settings.slurm, &exec.run_dir, &exec.job_name).context("cannot use Slurm")?;
    }
    let outcome = execute_with(
        plan,
        pipeline,
        plan_options,
        &opts,
        &settings.placement,
        &mut exec,
    )?;
    eprintln!(
        "slurm: {} array(s) submitted with {} sbatch call(s); job files and logs in {}",
        exec.sbatch_calls,
        exec.sbatch_calls,
        exec.run_dir.display()
    );
    Ok(outcome)
}

/// The submission plan: what a Slurm run would submit now, given the store.
fn print_plan(settings: &Settings, plan: &Plan) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let store = Store::open(&plan.store_dir)?;
    let hashes = FileHashes::load(&store.root.join("file-hashes.tsv"));
    let input_hashes = crate::pipeline::execute::hash_case_files(plan, &hashes)?;
    hashes.save()?;
    let todo = pending(plan, &store, &input_hashes);
    let per_bundle = settings.placement.bundle.cases_per_bundle(todo.cases.len());
    let bundles = case_bundles(&todo.cases, per_bundle);
    // The array size limit of the cluster when one answers; Slurm's default otherwise.
    let (max_array, source) =
        match client::find_on_path("scontrol").map(|_| client::max_array_size()) {
            Some(Ok(n)) => (n.max(1), "the cluster's MaxArraySize"),
            _ => (1001, "Slurm's default MaxArraySize; no cluster answered"),
        };
    let arrays = bundles.len().div_ceil(max_array);
    let n = plan.manifest.cases.len();
    let total = n * todo.per_case_stages + todo.cohort_stages;
    let cohort_jobs = usize::from(
        todo.cohort_stages > 0
            && !settings.placement.cohort_local
            && !(todo.cases.is_empty() && todo.cohort_cached),
    );
    crate::outln!(
        "plan: {n} case(s) x {} per-case stage(s) + {} cohort stage(s) = {total} task(s); {} already in the store",
        todo.per_case_stages,
        todo.cohort_stages,
        todo.cached_tasks
    )?;
    crate::outln!(
        "cases to submit: {} in {} bundle(s) of up to {} case(s){} ({} task(s) per job at most)",
        todo.cases.len(),
        bundles.len(),
        per_bundle,
        match settings.placement.bundle {
            BundleSize::Fixed(_) => String::new(),
            BundleSize::Auto { slots } =>
                format!(", chosen for {slots} job(s) at once (set --bundle to override)"),
        },
        per_bundle * todo.per_case_stages
    )?;
    crate::outln!(
        "arrays: {arrays} of at most {max_array} element(s) ({source}); at most {} element(s) running at once",
        settings.slurm.max_jobs
    )?;
    crate::outln!(
        "cohort stages: {}",
        if todo.cohort_stages == 0 {
            "none".to_string()
        } else if cohort_jobs == 0 && !settings.placement.cohort_local {
            "in the store already".to_string()
        } else if settings.placement.cohort_local {
            "run in the driver (--cohort-local)".to_string()
        } else {
            "1 job after the arrays".to_string()
        }
    )?;
    crate::outln!(
        "sbatch calls: {} ({arrays} array(s) + {cohort_jobs} cohort job + 1 store check job); jobs: {}",
        arrays + cohort_jobs + 1,
        bundles.len() + cohort_jobs + 1
    )?;
    crate::outln!(
        "inputs hashed and the store resolved in {:.2} s (nothing submitted)",
        start.elapsed().as_secs_f64()
    )?;
    Ok(())
}
