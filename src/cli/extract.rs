//! `radial extract` (not implemented yet).

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(args: Args) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("`radial extract` is not implemented yet")
}
