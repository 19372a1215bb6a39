//! `radial predict`: score new cases with a model written by `radial evaluate`.

use std::fmt::Write;
use std::path::PathBuf;

use crate::learn::ModelArtifact;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model artifact (`<id>.model.json`).
    pub model: PathBuf,
    /// Feature table (CSV or Parquet) with the model's input features by name.
    #[arg(long)]
    pub features: PathBuf,
    /// Column of case ids in the feature table.
    #[arg(long, default_value = "case_id")]
    pub id_column: String,
    /// Output CSV (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = ModelArtifact::load(&args.model)?;
    let predictions = model.predict_file(&args.features, &args.id_column)?;
    let mut csv = String::from("case_id,score,probability,predicted\n");
    for p in &predictions {
        let _ = writeln!(
            csv,
            "{},{},{},{}",
            quote(&p.case_id),
            p.score,
            p.probability,
            quote(&p.predicted)
        );
    }
    match &args.out {
        Some(path) => crate::io::atomic::write_bytes(path, csv.as_bytes())?,
        None => print!("{csv}"),
    }
    Ok(())
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
