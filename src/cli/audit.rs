//! `radial audit PIPELINE|RUN`: verifies stored objects, inputs against the
//! lock, and recomputes tasks in a scratch store. Non-zero exit on any
//! difference.

use std::path::PathBuf;

use crate::pipeline::audit::{AuditOptions, audit};
use crate::pipeline::runs::read_run_record;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub plan: super::run::PlanArgs,
    /// Recompute N sampled tasks instead of all.
    #[arg(long)]
    pub sample: Option<usize>,
    /// Seed of the sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut plan_args = args.plan.clone();
    let mut reference = None;
    let mut reference_name = None;
    let target = &args.plan.pipeline;
    // Anything but an existing YAML file is a run record (path, id or name).
    let is_record = target.extension().is_some_and(|e| e == "json") || !target.exists();
    if is_record {
        // A run: re-plan its pipeline with its recorded overrides, manifest
        // and store, and compare with the record instead of the lock.
        let store = args
            .plan
            .store
            .clone()
            .unwrap_or_else(|| PathBuf::from(".radial"));
        let record = read_run_record(&target.to_string_lossy(), &store)?;
        let store = record_store(&target.to_string_lossy(), &store);
        plan_args.pipeline = record.pipeline_path(&store);
        if !record.manifest.path.is_empty() {
            plan_args
                .manifest
                .get_or_insert(record.resolve(&store, &record.manifest.path));
        }
        plan_args.store.get_or_insert(store.clone());
        let mut sets = record.overrides.clone();
        sets.append(&mut plan_args.set);
        plan_args.set = sets;
        reference_name = Some(format!("run {}", record.run_id));
        reference = Some(record.as_lock());
    }
    let plan = plan_args.plan()?;
    let report = audit(
        &plan,
        &AuditOptions {
            sample: args.sample,
            seed: args.seed,
            reference,
            reference_name,
        },
    )?;
    crate::cli::out::print(&report.text())?;
    if !report.ok() {
        anyhow::bail!("audit found differences");
    }
    Ok(())
}

/// The store a record belongs to: the one holding the file when given as a
/// path (`STORE/runs/ID.json`), else the store searched.
pub fn record_store(run: &str, store: &std::path::Path) -> PathBuf {
    let p = std::path::Path::new(run);
    if p.is_file()
        && let Some(runs) = p.parent()
        && let Some(root) = runs.parent()
    {
        return if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root.to_path_buf()
        };
    }
    store.to_path_buf()
}
