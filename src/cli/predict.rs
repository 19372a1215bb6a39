//! `radial predict`: score new cases with a model written by `radial evaluate`
//! or a pipeline's `train` stage, from a feature table or from an image and
//! its mask (through the extraction recipe recorded with the model).

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::learn::ModelArtifact;
use crate::learn::model::CaseBatch;
use crate::pipeline::manifest::Case;

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
    /// The case's batch (centre, scanner) for a model that harmonises with
    /// ComBat: one of the batches it was trained on, or any with
    /// `unseen_batch: pooled`. With --features the batch is read from the
    /// table's batch column instead.
    #[arg(long, requires = "image")]
    pub batch: Option<String>,
    /// A ComBat covariate of the case, NAME=VALUE (repeatable; with --batch).
    #[arg(long, requires = "batch", value_parser = parse_covariate)]
    pub covariate: Vec<(String, f64)>,
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
                    case,
                    manifest_batch(&model, &manifest, case)?.as_ref(),
                )?);
                progress.inc(1);
            }
            progress.finish_and_clear();
            predictions
        }
        (None, None, Some(image), Some(mask)) => {
            let case = Case {
                case_id: args
                    .case_id
                    .clone()
                    .unwrap_or_else(|| super::extract::file_stem(image)),
                image: image.clone(),
                mask: mask.clone(),
                label: args.label,
                roi: args.roi.clone(),
                series: args.series.clone(),
                image_sha256: None,
                mask_sha256: None,
                outcomes: Vec::new(),
            };
            let batch = args.batch.as_ref().map(|b| CaseBatch {
                batch: b.clone(),
                covariates: args.covariate.iter().cloned().collect(),
            });
            vec![score_case(&model, &case, batch.as_ref())?]
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

/// Extracts one case (the manifest's description of it) as the model's
/// recipe says and scores it; QC warnings go to standard error, errors name
/// the case and its image.
fn score_case(
    model: &ModelArtifact,
    case: &Case,
    batch: Option<&CaseBatch>,
) -> anyhow::Result<crate::learn::model::Prediction> {
    let case_id = &case.case_id;
    let context = || format!("case {case_id} ({})", case.image.display());
    let (image_volume, roi) = super::extract::load_case(
        &case.image,
        case.series.as_deref(),
        &case.mask,
        case.label,
        case.roi.as_deref(),
    )
    .with_context(context)?;
    let scored = crate::predict::predict_case_in_batch(model, case_id, &image_volume, &roi, batch)
        .with_context(context)?;
    for warning in &scored.qc.warnings {
        eprintln!("warning: case {case_id}: {warning}");
    }
    Ok(scored.prediction)
}

/// The batch and covariates of a manifest case, from the columns the
/// model's ComBat step names (none when the model does not harmonise).
fn manifest_batch(
    model: &ModelArtifact,
    manifest: &crate::pipeline::manifest::Manifest,
    case: &Case,
) -> anyhow::Result<Option<CaseBatch>> {
    let Some(spec) = model.combat_spec() else {
        return Ok(None);
    };
    let column = |name: &str| -> anyhow::Result<&str> {
        let i = manifest
            .outcome_columns
            .iter()
            .position(|c| c == name)
            .with_context(|| {
                format!(
                    "{}: the model harmonises with ComBat by column `{name}`, which the manifest lacks",
                    manifest.path.display()
                )
            })?;
        Ok(case.outcomes[i].as_str())
    };
    let mut covariates = std::collections::BTreeMap::new();
    for name in &spec.covariates {
        let text = column(name)?;
        let value = text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let value = value.with_context(|| {
            format!(
                "{}: case {}: covariate `{name}` is `{text}`, not a finite number",
                manifest.path.display(),
                case.case_id
            )
        })?;
        covariates.insert(name.clone(), value);
    }
    Ok(Some(CaseBatch {
        batch: column(&spec.batch)?.to_string(),
        covariates,
    }))
}

fn parse_covariate(text: &str) -> Result<(String, f64), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((name.trim().to_string(), v)),
        _ => Err(format!(
            "covariate `{name}`: `{value}` is not a finite number"
        )),
    }
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
