//! `radial filter`: the response map of an image to one IBSI chapter 2
//! filter, written as float32 NIfTI on the image's grid.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::extract::interpolated_whole_image;
use crate::filters::{FilterSettings, apply};
use crate::processing::{InterpolationSettings, Interpolator};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Image: NIfTI, NRRD or a DICOM series directory.
    #[arg(long)]
    pub image: PathBuf,
    /// Filter settings (YAML: `kind: log`, `sigma: 1.5`, ...).
    #[arg(long)]
    pub settings: PathBuf,
    /// Output response map (.nii or .nii.gz), written atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// Resample the image first (tricubic spline, IBSI grid alignment) to
    /// this voxel spacing in mm, given as X,Y,Z; the map is on the new grid.
    #[arg(long, value_delimiter = ',')]
    pub spacing: Option<Vec<f64>>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let name = args.out.to_string_lossy().to_ascii_lowercase();
    if !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
        bail!(
            "--out {}: expected a .nii or .nii.gz file name",
            args.out.display()
        );
    }
    let settings = FilterSettings::from_yaml_file(&args.settings)?;
    let image = crate::io::read_image(&args.image)?;
    let volume = match &args.spacing {
        None => image.volume,
        Some(spacing) => {
            if spacing.len() != 3 {
                bail!(
                    "--spacing: expected three values X,Y,Z in mm, got {}",
                    spacing.len()
                );
            }
            let interpolation = InterpolationSettings {
                spacing: [spacing[0], spacing[1], spacing[2]],
                in_plane_only: false,
                image: Interpolator::Cubic,
                mask: Interpolator::Linear,
                partial_volume_threshold: 0.5,
                round_intensities: false,
            };
            interpolation
                .validate()
                .map_err(|e| anyhow::anyhow!("--spacing: {e}"))?;
            interpolated_whole_image(&image.volume, Some(&interpolation))
        }
    };
    let map = apply(&volume, &settings);
    crate::io::nifti::write(&args.out, &map)
        .with_context(|| format!("writing the response map {}", args.out.display()))?;
    Ok(())
}
