//! `radial predict`: score new cases with a model written by `radial evaluate`
//! or a pipeline's `train` stage, from a feature table or from an image and
//! its mask (through the extraction recipe recorded with the model).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::learn::ModelArtifact;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model artifact (`<id>.model.json`).
    pub model: PathBuf,
    /// Feature table (CSV or Parquet) with the model's input features by name.
    #[arg(long, required_unless_present_any = ["image", "manifest"], conflicts_with_all = ["image", "mask", "manifest"])]
    pub features: Option<PathBuf>,
    /// A data manifest (`case_id,image,mask[,label,roi,series]`, paths
    /// relative to it): every case is extracted as recorded in the model and
    /// scored, one after the other, rows in manifest order.
    #[arg(long, conflicts_with_all = ["image", "mask"])]
    pub manifest: Option<PathBuf>,
    /// Column of case ids in the feature table.
    #[arg(long, default_value = "case_id")]
    pub id_column: String,
    /// Image of one new case (any format radial reads): its features are
    /// extracted as recorded in the model.
    #[arg(long, requires = "mask")]
    pub image: Option<PathBuf>,
    /// The case's label map, or an RTSTRUCT with --roi.
    #[arg(long, requires = "image")]
    pub mask: Option<PathBuf>,
    /// Label of the ROI in the mask.
    #[arg(long, default_value_t = 1)]
    pub label: i64,
    /// ROI name when --mask is an RTSTRUCT.
    #[arg(long)]
    pub roi: Option<String>,
    /// For an image directory with several DICOM series: the
    /// SeriesInstanceUID of the one to read.
    #[arg(long, requires = "image")]
    pub series: Option<String>,
    /// Case id of the output row (default: the image's file name stem).
    #[arg(long)]
    pub case_id: Option<String>,
    /// Output CSV (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = ModelArtifact::load(&args.model)?;
    let predictions = match (&args.features, &args.manifest, &args.image, &args.mask) {
        (Some(table), _, _, _) => model.predict_file(table, &args.id_column)?,
        (None, Some(manifest), _, _) => {
            let manifest = crate::pipeline::manifest::Manifest::read(manifest)?;
            // Drawn only on a terminal (indicatif hides it otherwise).
            let progress =
                indicatif::ProgressBar::new(manifest.cases.len() as u64).with_message("scoring");
            let mut predictions = Vec::with_capacity(manifest.cases.len());
            for case in &manifest.cases {
                predictions.push(score_case(
                    &model,
                    &case.case_id,
                    &case.image,
                    case.series.as_deref(),
                    &case.mask,
                    case.label,
                    case.roi.as_deref(),
                )?);
                progress.inc(1);
            }
            progress.finish_and_clear();
            predictions
        }
        (None, None, Some(image), Some(mask)) => {
            let case_id = args
                .case_id
                .clone()
                .unwrap_or_else(|| super::extract::file_stem(image));
            vec![score_case(
                &model,
                &case_id,
                image,
                args.series.as_deref(),
                mask,
                args.label,
                args.roi.as_deref(),
            )?]
        }
        _ => anyhow::bail!(
            "give --features TABLE, --manifest CASES.csv, or --image IMAGE --mask MASK"
        ),
    };
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
        None => crate::cli::out::print(&csv)?,
    }
    Ok(())
}

/// Extracts one case as the model's recipe says and scores it; QC warnings
/// go to standard error, errors name the case and its image.
fn score_case(
    model: &ModelArtifact,
    case_id: &str,
    image: &Path,
    series: Option<&str>,
    mask: &Path,
    label: i64,
    roi: Option<&str>,
) -> anyhow::Result<crate::learn::model::Prediction> {
    let context = || format!("case {case_id} ({})", image.display());
    let (image_volume, roi) =
        super::extract::load_case(image, series, mask, label, roi).with_context(context)?;
    let scored =
        crate::predict::predict_case(model, case_id, &image_volume, &roi).with_context(context)?;
    for warning in &scored.qc.warnings {
        eprintln!("warning: case {case_id}: {warning}");
    }
    Ok(scored.prediction)
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
