//! `radial convert`: any supported image to NIfTI, or a region of interest
//! (an RTSTRUCT ROI, or one label of a label map) to a uint8 0/1 NIfTI mask
//! on the image's grid. Outputs are written atomically.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::inspect::load_image;
use crate::image::{Volume, select_label};
use crate::io::dicom;
use crate::io::{RoiChoice, load_case, nifti};

/// Convert any supported image (or an RTSTRUCT ROI) to NIfTI.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input image (.nii, .nii.gz, .nrrd, .nhdr) or DICOM series directory.
    pub input: PathBuf,
    /// Output NIfTI file (.nii or .nii.gz). Images are written as float32.
    pub output: PathBuf,
    /// RTSTRUCT or DICOM-SEG file: write the mask of --roi (an ROI name, or
    /// a segment label) on INPUT's grid.
    #[arg(long, requires = "roi")]
    pub rtstruct: Option<PathBuf>,
    /// Name of the ROI (RTSTRUCT) or label of the segment (DICOM-SEG).
    #[arg(long, requires = "rtstruct")]
    pub roi: Option<String>,
    /// INPUT is a label map: write the mask of this label.
    #[arg(long, conflicts_with = "rtstruct")]
    pub label: Option<i64>,
    /// For a DICOM directory with several series: the SeriesInstanceUID to read.
    #[arg(long)]
    pub series: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    check_output_name(&args.output)?;
    let series = args.series.as_deref();
    let (image, roi_mask) = match (&args.rtstruct, &args.roi) {
        (Some(mask), Some(roi)) => {
            // The same reader as extract: SEG or RTSTRUCT (checked against
            // a series' frame of reference), with the same messages.
            let (image, roi_mask) = load_case(&args.input, series, mask, RoiChoice::Named(roi))?;
            let what = if dicom::seg::is_segmentation(mask) {
                format!("segment {roi:?} of {}", mask.display())
            } else {
                format!("ROI {roi:?} of {}", mask.display())
            };
            (image, Some((what, roi_mask)))
        }
        _ => (load_image(&args.input, series)?, None),
    };
    let (what, count) = if let Some((what, mask)) = roi_mask {
        (what, write_mask(&args.output, &mask)?)
    } else if let Some(label) = args.label {
        let mask = select_label(&image.volume, label)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
        (format!("label {label}"), write_mask(&args.output, &mask)?)
    } else {
        nifti::write(&args.output, &image.volume)?;
        ("image".to_string(), image.volume.voxel_count())
    };
    let [x, y, z] = image.volume.dims();
    crate::outln!(
        "wrote {} ({what}: {count} voxels on a {x} x {y} x {z} grid)",
        args.output.display()
    )?;
    Ok(())
}

/// Writes a binary mask as uint8 0/1; returns its number of voxels set.
fn write_mask(path: &Path, mask: &Volume<bool>) -> anyhow::Result<usize> {
    let bytes = mask.map(|&b| b as u8);
    nifti::write(path, &bytes)?;
    Ok(mask.data.iter().filter(|&&b| b).count())
}

fn check_output_name(path: &Path) -> anyhow::Result<()> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
        bail!(
            "{}: the output must be a NIfTI file ending in .nii or .nii.gz",
            path.display()
        );
    }
    Ok(())
}
