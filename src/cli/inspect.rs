//! `radial inspect`: what an image file holds (grid, datatype, intensities,
//! and the labels of a label map), for a person or as JSON.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::image::{LabelCount, Volume, label_counts};
use crate::io::{Format, LoadedImage, detect_format};

const JSON_KEYS: &str = "\
JSON keys (--json prints one object; keys are stable):
  path        the input path
  format      \"nifti\", \"nrrd\" or \"dicom-series\"
  datatype    stored type: int8..int64, uint8..uint64, float32, float64
  dimensions  [x, y, z] voxel counts
  voxels      total number of voxels
  spacing     [x, y, z] voxel size in mm
  origin      [x, y, z] LPS position of the centre of voxel (0, 0, 0), mm
  direction   [[x axis], [y axis], [z axis]] unit LPS vectors of the index axes
  intensity   {\"min\", \"max\", \"mean\"} after any rescale slope/intercept
  label_map   true when the image is (or, with --mask, is declared) a label map
  labels      [{\"label\", \"voxels\"}] of each non-zero label, or null";

/// Show an image's grid, datatype and intensity range, or a mask's labels.
#[derive(clap::Args, Debug)]
#[command(after_help = JSON_KEYS)]
pub struct Args {
    /// Image file (.nii, .nii.gz, .nrrd, .nhdr) or DICOM series directory.
    pub path: PathBuf,
    /// Print one JSON object instead of aligned text.
    #[arg(long)]
    pub json: bool,
    /// The image is a label map: list its labels even if there are many.
    #[arg(long)]
    pub mask: bool,
    /// For a DICOM directory with several series: the SeriesInstanceUID to read.
    #[arg(long)]
    pub series: Option<String>,
}

/// Images with only integer values and at most this many distinct values
/// are taken for label maps.
const MAX_AUTO_LABELS: usize = 16;

#[derive(Serialize, Debug)]
struct Intensity {
    min: f64,
    max: f64,
    mean: f64,
}

#[derive(Serialize, Debug)]
struct Report {
    path: String,
    format: &'static str,
    datatype: String,
    dimensions: [usize; 3],
    voxels: usize,
    spacing: [f64; 3],
    origin: [f64; 3],
    direction: [[f64; 3]; 3],
    intensity: Intensity,
    label_map: bool,
    labels: Option<Vec<LabelCount>>,
}

/// Reads an image, or the selected series of a DICOM directory.
pub(crate) fn load_image(path: &Path, series: Option<&str>) -> anyhow::Result<LoadedImage> {
    Ok(crate::io::read_image_in(path, series)?)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let format = match detect_format(&args.path)? {
        Format::Nifti => "nifti",
        Format::Nrrd => "nrrd",
        Format::DicomSeries => "dicom-series",
    };
    let image = load_image(&args.path, args.series.as_deref())?;
    let report = describe(&image, format, args.mask)?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        crate::cli::out::print(&as_text(&report))?;
    }
    Ok(())
}

fn describe(image: &LoadedImage, format: &'static str, mask: bool) -> anyhow::Result<Report> {
    let v = &image.volume;
    let label_map = mask || looks_like_label_map(v);
    let labels = if label_map {
        Some(label_counts(v).map_err(|e| anyhow::anyhow!("{}: {e}", image.path.display()))?)
    } else {
        None
    };
    let g = v.geometry;
    Ok(Report {
        path: image.path.display().to_string(),
        format,
        datatype: image.datatype.clone(),
        dimensions: v.dims(),
        voxels: v.voxel_count(),
        spacing: g.spacing,
        origin: g.origin,
        direction: g.direction,
        intensity: intensity(v),
        label_map,
        labels,
    })
}

/// Min, max and mean, summed in f64 in storage order (deterministic).
fn intensity(v: &Volume<f32>) -> Intensity {
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for &x in v.data.iter() {
        let x = x as f64;
        min = min.min(x);
        max = max.max(x);
        sum += x;
    }
    Intensity {
        min,
        max,
        mean: sum / v.voxel_count().max(1) as f64,
    }
}

fn looks_like_label_map(v: &Volume<f32>) -> bool {
    let mut distinct: Vec<f32> = Vec::new();
    for &x in v.data.iter() {
        if x.fract() != 0.0 {
            return false;
        }
        if !distinct.contains(&x) {
            if distinct.len() == MAX_AUTO_LABELS {
                return false;
            }
            distinct.push(x);
        }
    }
    true
}

fn vector(v: &[f64; 3]) -> String {
    format!("{} {} {}", short(v[0]), short(v[1]), short(v[2]))
}

/// Six significant decimals without trailing zeros.
fn short(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn as_text(r: &Report) -> String {
    let mut lines: Vec<(&str, String)> = vec![
        ("path", r.path.clone()),
        ("format", r.format.to_string()),
        ("datatype", r.datatype.clone()),
        (
            "dimensions",
            format!(
                "{} x {} x {} (x, y, z), {} voxels",
                r.dimensions[0], r.dimensions[1], r.dimensions[2], r.voxels
            ),
        ),
        ("spacing", format!("{} mm", vector(&r.spacing))),
        ("origin", format!("{} mm (LPS)", vector(&r.origin))),
        (
            "direction",
            r.direction
                .iter()
                .map(|d| format!("[{}]", vector(d)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (
            "intensity",
            format!(
                "min {}, max {}, mean {}",
                short(r.intensity.min),
                short(r.intensity.max),
                short(r.intensity.mean)
            ),
        ),
    ];
    if let Some(labels) = &r.labels {
        let text = if labels.is_empty() {
            "none (all voxels are 0)".to_string()
        } else {
            labels
                .iter()
                .map(|l| format!("{}: {} voxels", l.label, l.voxels))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(("labels", text));
    }
    lines
        .into_iter()
        .map(|(k, v)| format!("{:<12}{v}\n", format!("{k}:")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;
    use ndarray::Array3;

    #[test]
    fn label_maps_are_recognised_and_described() {
        let mut a = Array3::<f32>::zeros((2, 2, 2));
        a[[0, 0, 0]] = 3.0;
        a[[1, 1, 1]] = 3.0;
        let v = Volume::new(a.clone(), Geometry::new([1.0, 1.0, 2.5], [0.0; 3]));
        assert!(looks_like_label_map(&v));
        let img = LoadedImage {
            volume: v,
            datatype: "uint8".into(),
            path: "m.nii".into(),
        };
        let r = describe(&img, "nifti", false).unwrap();
        assert_eq!(r.intensity.mean, 0.75);
        let text = as_text(&r);
        assert!(text.contains("labels:     3: 2 voxels"), "{text}");
        assert!(text.contains("spacing:    1 1 2.5 mm"), "{text}");
        a[[0, 1, 0]] = 0.5;
        assert!(!looks_like_label_map(&Volume::new(
            a,
            Geometry::new([1.0; 3], [0.0; 3])
        )));
    }
}
