//! `radial worker --store DIR --tasks FILE`: runs the tasks a driver listed
//! (one job of a Slurm array) exactly as the local executor would, and
//! writes their records where the task file says.

use std::path::PathBuf;

use anyhow::Context;

use crate::pipeline::Registry;
use crate::pipeline::TaskStatus;
use crate::pipeline::executor::run_worker;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store (shared with the driver).
    #[arg(long)]
    pub store: PathBuf,
    /// The task file the driver wrote.
    #[arg(long)]
    pub tasks: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    crate::cli::run::check_jobs(args.jobs)?;
    let result = run_worker(&args.tasks, &args.store, args.jobs, &Registry::standard())
        .with_context(|| format!("worker for {}", args.tasks.display()))?;
    let count = |s: TaskStatus| result.records.iter().filter(|r| r.status == s).count();
    for r in &result.records {
        if let Some(e) = &r.error {
            eprintln!("failed: {e}");
        }
    }
    eprintln!(
        "worker on {}: {} task(s): {} run, {} cached, {} failed, {} skipped in {:.2} s",
        result.host,
        result.records.len(),
        count(TaskStatus::Run),
        count(TaskStatus::Cached),
        count(TaskStatus::Failed),
        count(TaskStatus::Skipped),
        result.seconds
    );
    if count(TaskStatus::Failed) > 0 {
        anyhow::bail!("{} task(s) failed", count(TaskStatus::Failed));
    }
    Ok(())
}
