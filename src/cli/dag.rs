//! `radial dag PIPELINE`: the stage graph as text or Graphviz dot.

use super::run::PlanArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Graphviz dot instead of text.
    #[arg(long)]
    pub dot: bool,
    /// With --dot: one node per task instead of per stage.
    #[arg(long)]
    pub tasks: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let plan = args.plan.plan()?;
    if args.dot {
        crate::cli::out::print(&crate::pipeline::inspect::dag_dot(&plan, args.tasks))?;
    } else {
        crate::cli::out::print(&crate::pipeline::inspect::dag_text(&plan))?;
    }
    Ok(())
}
