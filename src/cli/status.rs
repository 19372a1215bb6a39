//! `radial status PIPELINE`: which tasks a run would compute, and why.

use super::run::PlanArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Print every task's state as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let plan = args.plan.plan()?;
    let states = crate::pipeline::inspect::status(&plan)?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&states)?)?;
    } else {
        crate::cli::out::print(&crate::pipeline::inspect::status_text(&plan, &states))?;
    }
    Ok(())
}
