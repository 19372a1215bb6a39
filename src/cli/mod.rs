//! The `radial` command line. One file per subcommand, each with its `Args`
//! and a `run` function; this module only dispatches.

pub mod convert;
pub mod evaluate;
pub mod extract;
pub mod inspect;
pub mod predict;

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
    /// Show an image's grid, datatype and intensity range, or a mask's labels.
    Inspect(inspect::Args),
    /// Convert any supported image (or an RTSTRUCT ROI) to NIfTI.
    Convert(convert::Args),
    /// Extract IBSI features of one case into a one-row table.
    Extract(extract::Args),
    /// Cross-validate a learning protocol on a feature table; write metrics, report and model.
    Evaluate(evaluate::Args),
    /// Score new cases with a model written by `radial evaluate`.
    Predict(predict::Args),
}

/// Runs the command line; the binary maps an error to exit status 1.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Extract(args) => extract::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
    }
}
