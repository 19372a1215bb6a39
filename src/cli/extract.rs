//! `radial extract`: IBSI features of one case (image + ROI) as a one-row
//! table: `case_id`, then one column per feature (IBSI tag), diagnostics
//! first, in a stable order. CSV on stdout unless `--out` names a `.csv` or
//! `.json` file, which is written atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::extract::extract_case;
use crate::features::FeatureSet;
use crate::image::Volume;
use crate::processing::ExtractionSettings;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Image: NIfTI, NRRD or a DICOM series directory.
    #[arg(long, required_unless_present = "batch")]
    pub image: Option<PathBuf>,
    /// Mask: a label map on the image grid, or an RTSTRUCT file (with --roi).
    #[arg(long, required_unless_present = "batch")]
    pub mask: Option<PathBuf>,
    /// Label of the ROI in a label-map mask (default 1; with --pyradiomics,
    /// the parameter file's `label`, else 1).
    #[arg(long)]
    pub label: Option<i64>,
    /// Name of the ROI in an RTSTRUCT mask (or the label of a DICOM-SEG segment).
    #[arg(long)]
    pub roi: Option<String>,
    /// For an image directory with several DICOM series: the
    /// SeriesInstanceUID of the one to read.
    #[arg(long)]
    pub series: Option<String>,
    /// Extraction settings (YAML).
    #[arg(
        long,
        required_unless_present = "pyradiomics",
        conflicts_with = "pyradiomics"
    )]
    pub settings: Option<PathBuf>,
    /// PyRadiomics mode: a PyRadiomics parameter file; columns and values
    /// follow PyRadiomics 3.0.1 (see README, "PyRadiomics mode").
    #[arg(long)]
    pub pyradiomics: Option<PathBuf>,
    /// With --pyradiomics: PyRadiomics' batch CSV (columns Image, Mask,
    /// optional Label, others carried through); one row per case.
    #[arg(long, requires = "pyradiomics", conflicts_with_all = ["image", "mask", "roi", "series", "case_id"])]
    pub batch: Option<PathBuf>,
    /// Case identifier (default: the image file name without extension).
    #[arg(long)]
    pub case_id: Option<String>,
    /// Output table (.csv or .json); CSV on stdout when absent or `-`, and
    /// CSV to a device or FIFO such as /dev/stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.pyradiomics.is_some() {
        return super::extract_pyradiomics::run(&args);
    }
    let (Some(settings), Some(image_path), Some(mask_path)) =
        (&args.settings, &args.image, &args.mask)
    else {
        bail!("--settings, --image and --mask are required (or --pyradiomics)");
    };
    let settings = ExtractionSettings::from_yaml_file(settings)?;
    let (image, mask) = load_case(
        image_path,
        args.series.as_deref(),
        mask_path,
        args.label.unwrap_or(1),
        args.roi.as_deref(),
    )?;
    let case_id = args
        .case_id
        .clone()
        .unwrap_or_else(|| file_stem(image_path));
    let features = extract_case(&image, &mask, &settings)
        .with_context(|| format!("case {case_id} ({})", image_path.display()))?;
    let out = crate::cli::out::TableOut::choose(args.out.as_deref())?;
    let text = if out.json() {
        to_json(&case_id, &features)
    } else {
        to_csv(&case_id, &features)
    };
    out.write(&text)?;
    Ok(())
}

/// The image (`series`: one series of a DICOM directory) and the binary
/// ROI, from a label map (`label`) or an RTSTRUCT or SEG (`roi`).
pub fn load_case(
    image: &Path,
    series: Option<&str>,
    mask: &Path,
    label: i64,
    roi: Option<&str>,
) -> anyhow::Result<(Volume<f32>, Volume<bool>)> {
    Ok(crate::predict::load_case(image, series, mask, label, roi)?)
}

/// The file name without its extensions (`case1.nii.gz` → `case1`).
pub fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    for ext in [".nii.gz", ".nii", ".nrrd", ".nhdr"] {
        if lower.ends_with(ext) {
            return name[..name.len() - ext.len()].to_string();
        }
    }
    name
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Header and one row; values in Rust's shortest round-trip form.
pub fn to_csv(case_id: &str, features: &FeatureSet) -> String {
    let mut header = vec!["case_id".to_string()];
    let mut row = vec![csv_field(case_id)];
    for (name, value) in &features.values {
        header.push(csv_field(name));
        row.push(value.to_string());
    }
    format!("{}\n{}\n", header.join(","), row.join(","))
}

/// One JSON object: `case_id`, then the features in order (NaN as null).
pub fn to_json(case_id: &str, features: &FeatureSet) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut parts = vec![format!("  {}: {}", quote("case_id"), quote(case_id))];
    for (name, value) in &features.values {
        let v = serde_json::Number::from_f64(*value)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "null".to_string());
        parts.push(format!("  {}: {v}", quote(name)));
    }
    format!("{{\n{}\n}}\n", parts.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_keep_the_order() {
        let mut f = FeatureSet::new();
        f.push("b_first", 1.5);
        f.push("a_second", f64::NAN);
        assert_eq!(
            to_csv("x,1", &f),
            "case_id,b_first,a_second\n\"x,1\",1.5,NaN\n"
        );
        let j = to_json("c", &f);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["b_first"], 1.5);
        assert!(v["a_second"].is_null());
        assert!(j.find("b_first").unwrap() < j.find("a_second").unwrap());
        assert_eq!(file_stem(Path::new("/a/case1.nii.gz")), "case1");
    }
}
