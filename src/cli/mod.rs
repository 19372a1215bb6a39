//! The `radial` command line. One file per subcommand, each with its `Args`
//! and a `run` function; this module only dispatches.

pub mod convert;
pub mod extract;
pub mod inspect;
pub mod synth;

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
    /// Write a synthetic liver lesion cohort (NIfTI images, masks, manifest).
    Synth(synth::Args),
}

/// Runs the command line; the binary maps an error to exit status 1.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Extract(args) => extract::run(args),
        Command::Synth(args) => synth::run(args),
    }
}
