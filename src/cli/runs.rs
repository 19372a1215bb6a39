//! `radial runs [PIPELINE]`: the recorded runs, newest first, with their
//! overrides and headline metrics (like `dvc exp show`); `--html` writes a
//! comparison page with the sweeps plotted.

use std::path::PathBuf;

use anyhow::Context;

use crate::pipeline::compare;
use crate::pipeline::runs::read_summaries;
use crate::pipeline::spec::PipelineSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only the runs of this pipeline (its store is then .radial beside it).
    pub pipeline: Option<PathBuf>,
    /// The store holding the runs (default: .radial beside PIPELINE, else ./.radial).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The metric to show (and plot): STAGE.METRIC, e.g. evaluate.auc.
    #[arg(long)]
    pub metric: Option<String>,
    /// Print the rows as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the rows as CSV.
    #[arg(long)]
    pub csv: bool,
    /// Also write a self-contained HTML comparison page here.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
    /// Show at most this many runs (newest first).
    #[arg(long)]
    pub limit: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let metric = args
        .metric
        .as_deref()
        .map(compare::parse_metric)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let (store, pipeline_name) = match &args.pipeline {
        Some(p) => {
            let spec = PipelineSpec::read(p)
                .with_context(|| format!("cannot read the pipeline {}", p.display()))?;
            let store = args
                .store
                .clone()
                .or_else(|| spec.store.clone())
                .unwrap_or_else(|| {
                    p.parent()
                        .unwrap_or(std::path::Path::new(""))
                        .join(".radial")
                });
            (store, Some(spec.name))
        }
        None => (
            args.store
                .clone()
                .unwrap_or_else(|| PathBuf::from(".radial")),
            None,
        ),
    };
    if !store.join("runs").is_dir() {
        anyhow::bail!("{} is not a radial store (no runs/ in it)", store.display());
    }
    let mut runs = read_summaries(&store);
    if let Some(name) = &pipeline_name {
        runs.retain(|r| &r.pipeline.name == name);
    }
    compare::sort_newest_first(&mut runs);
    if let Some(n) = args.limit {
        runs.truncate(n);
    }
    let cols = compare::columns(&runs, metric.as_ref());
    if let Some(m) = &metric
        && !runs.is_empty()
        && !runs.iter().any(|r| {
            r.metrics
                .get(&m.stage)
                .is_some_and(|x| x.contains_key(&m.metric))
        })
    {
        let known: Vec<String> = compare::columns(&runs, None)
            .iter()
            .map(|c| c.title())
            .collect();
        anyhow::bail!(
            "no run recorded the metric `{}` (metrics: {})",
            m.title(),
            crate::error::none_or_joined(&known)
        );
    }
    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&compare::json(&runs, &cols))?
        )?;
    } else if args.csv {
        crate::cli::out::print(&compare::csv(&runs, &cols))?;
    } else if runs.is_empty() {
        crate::outln!("no runs recorded in {}", store.display())?;
    } else {
        crate::cli::out::print(&compare::text(&runs, &cols))?;
    }
    if let Some(out) = &args.html {
        let plotted = metric
            .clone()
            .or_else(|| cols.first().cloned())
            .unwrap_or(compare::Column {
                stage: "evaluate".into(),
                metric: "auc".into(),
            });
        crate::io::atomic::write_bytes(out, compare::html(&runs, &cols, &plotted).as_bytes())?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
