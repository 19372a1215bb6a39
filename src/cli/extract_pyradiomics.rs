//! `radial extract --pyradiomics PARAMS.yaml`: PyRadiomics mode, one case
//! (`--image/--mask`) or PyRadiomics' batch CSV (`--batch`). A batch runs its
//! cases in parallel and writes one row per case in file order: the batch's
//! own columns, then the features; a case that fails keeps its row, with its
//! error in the last column (`error`), and the others go on. The exit status
//! is non-zero when any case failed (after the table is written).

use std::path::Path;

use anyhow::{Context, bail};
use rayon::prelude::*;

use super::extract::Args;
use crate::compat::pyradiomics::batch::{self, quote};
use crate::compat::pyradiomics::{self, Params, Row};

pub fn run(args: &Args) -> anyhow::Result<()> {
    let params_path = args.pyradiomics.as_deref().expect("--pyradiomics given");
    let params = pyradiomics::params::read(params_path)?;
    pyradiomics::extract::check_supported(&params)
        .with_context(|| format!("{}", params_path.display()))?;
    if let Some(batch_path) = &args.batch {
        return run_batch(batch_path, args.label, &params, args.out.as_deref());
    }
    let (Some(image), Some(mask)) = (&args.image, &args.mask) else {
        bail!("--pyradiomics needs --image and --mask, or --batch");
    };
    if args.roi.is_some() || args.series.is_some() {
        bail!(
            "--roi and --series are not available with --pyradiomics (PyRadiomics reads label maps)"
        );
    }
    let row = pyradiomics::extract_files(image, mask, args.label, &params)
        .with_context(|| format!("case {} (mask {})", image.display(), mask.display()))?;
    let header: Vec<String> = row.iter().map(|(n, _)| n.clone()).collect();
    let cells: Vec<String> = row.iter().map(|(_, c)| c.render()).collect();
    write(args.out.as_deref(), &header, &[cells])
}

fn run_batch(
    path: &Path,
    label: Option<i64>,
    params: &Params,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let cases = batch::read(path)?;
    if cases.is_empty() {
        bail!("{}: no case in the batch", path.display());
    }
    let results: Vec<Result<Row, String>> = cases
        .par_iter()
        .map(|c| {
            pyradiomics::extract_files(&c.image, &c.mask, c.label.or(label), params)
                .map_err(|e| format!("line {}: {e}", c.line))
        })
        .collect();
    let mut header: Vec<String> = cases[0].columns.iter().map(|(n, _)| n.clone()).collect();
    let features: Vec<String> = results
        .iter()
        .find_map(|r| r.as_ref().ok())
        .map(|row| row.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    header.extend(features.iter().cloned());
    header.push("error".to_string());
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for (case, result) in cases.iter().zip(&results) {
        let mut cells: Vec<String> = case.columns.iter().map(|(_, v)| v.clone()).collect();
        match result {
            Ok(row) => {
                cells.extend(row.iter().map(|(_, c)| c.render()));
                cells.push(String::new());
            }
            Err(e) => {
                cells.extend(features.iter().map(|_| String::new()));
                cells.push(e.clone());
                failed.push(e.clone());
            }
        }
        rows.push(cells);
    }
    write(out, &header, &rows)?;
    if !failed.is_empty() {
        for e in &failed {
            eprintln!("{}: {e}", path.display());
        }
        bail!(
            "{} of {} cases failed (their rows carry the error)",
            failed.len(),
            cases.len()
        );
    }
    Ok(())
}

fn write(out: Option<&Path>, header: &[String], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let out = crate::cli::out::TableOut::choose(out)?;
    let text = if out.json() {
        // Written by hand so that each object keeps PyRadiomics' column order.
        let value = |v: &String| match v.parse::<f64>() {
            Ok(x) if x.is_finite() => x.to_string(),
            _ => serde_json::Value::String(v.clone()).to_string(),
        };
        let records: Vec<String> = rows
            .iter()
            .map(|r| {
                let fields: Vec<String> = header
                    .iter()
                    .zip(r)
                    .map(|(h, v)| {
                        format!("    {}: {}", serde_json::Value::String(h.clone()), value(v))
                    })
                    .collect();
                format!("  {{\n{}\n  }}", fields.join(",\n"))
            })
            .collect();
        format!("[\n{}\n]\n", records.join(",\n"))
    } else {
        let mut text = header
            .iter()
            .map(|h| quote(h))
            .collect::<Vec<_>>()
            .join(",")
            + "\n";
        for r in rows {
            text += &(r.iter().map(|v| quote(v)).collect::<Vec<_>>().join(",") + "\n");
        }
        text
    };
    out.write(&text)?;
    Ok(())
}
