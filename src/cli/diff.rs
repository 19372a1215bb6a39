//! `radial diff RUN_A RUN_B`: parameters and results of two runs compared.

use std::path::PathBuf;

use crate::pipeline::runs::read_run_record;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run id (or prefix) in the store, or a run record path.
    pub run_a: String,
    pub run_b: String,
    /// The store holding the runs.
    #[arg(long, default_value = ".radial")]
    pub store: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let a = read_run_record(&args.run_a, &args.store)?;
    let b = read_run_record(&args.run_b, &args.store)?;
    let (text, _) = crate::pipeline::inspect::diff_runs(&a, &b);
    crate::cli::out::print(&text)?;
    Ok(())
}
