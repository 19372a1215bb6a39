//! `radial gc`: removes store objects no lock file or recent run refers to,
//! and the Slurm job directories of runs older than the kept ones.

use std::path::PathBuf;

use crate::pipeline::gc::{GcOptions, gc};
use crate::pipeline::store::Store;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store directory.
    #[arg(long, default_value = ".radial")]
    pub store: PathBuf,
    /// Objects of runs younger than this many days are kept (and their Slurm job directories).
    #[arg(long, default_value_t = 30.0)]
    pub keep_days: f64,
    /// Report what would be removed without removing it.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.store.join("objects").is_dir() {
        anyhow::bail!("{} is not a radial store", args.store.display());
    }
    let store = Store::open(&args.store)?;
    let r = gc(
        &store,
        &GcOptions {
            keep_days: args.keep_days,
            dry_run: args.dry_run,
        },
    )?;
    crate::outln!(
        "{}{} object(s) removed ({} bytes), {} kept, {} action(s), {} temporary file(s) and {} Slurm job director(ies) removed",
        if args.dry_run { "dry run: " } else { "" },
        r.objects_removed,
        r.bytes_removed,
        r.objects_kept,
        r.actions_removed,
        r.temporaries_removed,
        r.job_dirs_removed
    )?;
    Ok(())
}
