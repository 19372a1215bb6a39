//! The `radial` command line. One file per subcommand, each with its `Args`
//! and a `run` function; this module only dispatches.

pub mod audit;
pub mod bench;
pub mod convert;
pub mod dag;
pub mod demo;
pub mod diff;
pub mod evaluate;
pub mod executor;
pub mod extract;
pub mod extract_pyradiomics;
pub mod filter;
pub mod gc;
pub mod inspect;
pub mod out;
pub mod predict;
pub mod promote;
pub mod run;
pub mod runs;
pub mod serve;
pub mod status;
pub mod synth;
pub mod worker;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "radial",
    version,
    about = "Radiomics features (IBSI) and reproducible pipelines"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the example study on a synthetic cohort (synthesised on first use).
    Demo(demo::Args),
    /// Show an image's grid, datatype and intensity range, or a mask's labels.
    Inspect(inspect::Args),
    /// Convert any supported image (or an RTSTRUCT ROI) to NIfTI.
    Convert(convert::Args),
    /// Extract IBSI features of one case into a one-row table.
    Extract(extract::Args),
    /// Write the response map of an image to one IBSI chapter 2 filter.
    Filter(filter::Args),
    /// Run a pipeline: compute what changed, reuse what did not.
    Run(run::Args),
    /// Say which tasks a run would compute and why.
    Status(status::Args),
    /// Print a pipeline's graph (text or Graphviz dot).
    Dag(dag::Args),
    /// List recorded runs and experiments with their metrics, newest first.
    Runs(runs::Args),
    /// Write an experiment's overrides into its pipeline file and update its lock.
    Promote(promote::Args),
    /// Compare the parameters and results of two runs.
    Diff(diff::Args),
    /// Verify stored results against their hashes, the lock and a recomputation.
    Audit(audit::Args),
    /// Remove store objects no lock file or recent run refers to.
    Gc(gc::Args),
    /// Cross-validate a learning protocol on a feature table; write metrics, report and model.
    Evaluate(evaluate::Args),
    /// Score new cases with a model written by `radial evaluate`.
    Predict(predict::Args),
    /// Write a synthetic liver lesion cohort (NIfTI images, masks, manifest).
    Synth(synth::Args),
    /// Serve models over HTTP: the diagnostic service, its page and API.
    Serve(serve::Args),
    /// Benchmark whole-process extraction: wall time, ROI voxels/s, peak memory.
    Bench(bench::Args),
    /// Run the tasks a `radial run --executor slurm` driver listed (one cluster job).
    Worker(worker::Args),
}

/// Runs the command line; the binary maps an error to exit status 1.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Extract(args) => extract::run(args),
        Command::Filter(args) => filter::run(args),
        Command::Run(args) => run::run(args),
        Command::Status(args) => status::run(args),
        Command::Dag(args) => dag::run(args),
        Command::Runs(args) => runs::run(args),
        Command::Promote(args) => promote::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Gc(args) => gc::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Worker(args) => worker::run(args),
    }
}
