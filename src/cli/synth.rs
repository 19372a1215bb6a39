//! `radial synth`: writes a synthetic liver lesion cohort (see [`crate::synth`]).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use crate::synth::{CohortSettings, MANIFEST_FILE, Phenotype, phenotype_names, write_cohort_with};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of cases.
    #[arg(long)]
    pub cases: usize,
    /// Directory of the cohort (created if needed; only the files the
    /// generator writes are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the generator: the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write phenotype labels drawn independently of the images (leakage checks).
    #[arg(long)]
    pub null: bool,
    /// Spread the cases over N centres whose scanners differ in noise
    /// level, sharpness and HU offset; adds a `centre` column to the manifest.
    /// Without `--phases`, the phenotypes then differ in the lesion's
    /// attenuation (1: enhancing, 20 HU above 0: hypoenhancing), texture
    /// being drawn independently of them, so that the scanners shift the
    /// features that carry the class (`--centres 1`: no scanner effect).
    #[arg(long)]
    pub centres: Option<usize>,
    /// A multi-phase contrast CT cohort: one image per phase (e.g.
    /// `arterial,portal,delayed`; known: native, arterial, portal, delayed),
    /// one shared mask, manifest columns `image.<phase>`. The phenotypes
    /// then differ in their enhancement pattern (1: arterial enhancement
    /// and washout, 0: progressive), not in texture.
    #[arg(long, value_delimiter = ',')]
    pub phases: Option<Vec<String>>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let settings = CohortSettings {
        cases: args.cases,
        seed: args.seed,
        null_labels: args.null,
    };
    let start = Instant::now();
    let records = write_cohort_with(&args.out, &settings, args.centres, args.phases.as_deref())
        .with_context(|| format!("cannot synthesise the cohort in {}", args.out.display()))?;
    let heterogeneous = records
        .iter()
        .filter(|r| r.label == Phenotype::Heterogeneous.label())
        .count();
    let names = phenotype_names(args.phases.is_some(), args.centres.is_some());
    crate::outln!(
        "synthesised {} cases (phenotype 0 {}: {}, 1 {}: {}{}{}{}) with seed {} in {:.2} s",
        records.len(),
        names[0],
        records.len() - heterogeneous,
        names[1],
        heterogeneous,
        if args.null {
            "; labels drawn independently of the images"
        } else {
            ""
        },
        args.centres
            .map(|n| format!("; {n} centres"))
            .unwrap_or_default(),
        args.phases
            .as_ref()
            .map(|p| format!("; phases {}", p.join(", ")))
            .unwrap_or_default(),
        args.seed,
        start.elapsed().as_secs_f64()
    )?;
    crate::outln!("manifest: {}", args.out.join(MANIFEST_FILE).display())?;
    Ok(())
}
