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
    let mut expected = None;
    let target = &args.plan.pipeline;
    // Anything but an existing YAML file is a run record (path or id).
    let is_record = target.extension().is_some_and(|e| e == "json") || !target.exists();
    if is_record {
        // A run: re-plan its pipeline with its manifest, store and parameters.
        let store = args
            .plan
            .store
            .clone()
            .unwrap_or_else(|| PathBuf::from(".radial"));
        let record = read_run_record(&target.to_string_lossy(), &store)?;
        plan_args.pipeline = PathBuf::from(&record.pipeline.path);
        plan_args
            .manifest
            .get_or_insert(PathBuf::from(&record.manifest.path));
        plan_args.store.get_or_insert(PathBuf::from(&record.store));
        let mut sets = Vec::new();
        for st in &record.stages {
            if let Some(map) = st.params.as_object() {
                for (k, v) in map {
                    sets.push(format!("{}.{k}={v}", st.id));
                }
            }
        }
        sets.append(&mut plan_args.set);
        plan_args.set = sets;
        expected = Some(
            record
                .tasks
                .iter()
                .filter_map(|t| {
                    Some((
                        (t.stage.clone(), t.case.clone().unwrap_or("*".into())),
                        t.output.clone()?,
                    ))
                })
                .collect(),
        );
    }
    let plan = plan_args.plan()?;
    let report = audit(
        &plan,
        &AuditOptions {
            sample: args.sample,
            seed: args.seed,
            expected,
        },
    )?;
    print!("{}", report.text());
    if !report.ok() {
        anyhow::bail!("audit found differences");
    }
    Ok(())
}
