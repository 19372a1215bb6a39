//! The IBSI image processing chain (reference manual, chapter 2): interpolation,
//! re-segmentation, discretisation. Each step is a function with its own
//! settings; [`prepare`] runs the chain for feature extraction.

pub mod settings;

use ndarray::Array3;

use crate::features::FeatureSet;
use crate::image::Volume;
use crate::{Error, Result};
pub use settings::*;

/// What the feature families read: the processed image cropped around the
/// ROI (with a margin, because local intensity looks beyond the ROI), and the
/// two masks IBSI keeps apart.
#[derive(Debug, Clone)]
pub struct RoiImage {
    /// Intensities after interpolation (and rounding); shape `[nz, ny, nx]`.
    pub image: Volume<f32>,
    /// The ROI as segmented (after interpolation): morphology reads this one.
    pub morph_mask: Array3<bool>,
    /// The ROI after re-segmentation: intensity and texture features read this one.
    pub int_mask: Array3<bool>,
}

/// Grey levels of the intensity-mask voxels: `levels[[k, j, i]]` is in
/// `1..=n_levels` inside the intensity mask and 0 outside it.
#[derive(Debug, Clone)]
pub struct Discretised {
    pub levels: Array3<u32>,
    /// Ng: the number of grey levels of the discretisation (for FBS, the
    /// highest level present).
    pub n_levels: u32,
    /// Voxel spacing (x, y, z) in mm.
    pub spacing: [f64; 3],
}

/// Step 1, interpolation (IBSI 2.4): resamples image and mask to the grid of
/// `settings` (none: the original grid), thresholds the mask at the partial
/// volume threshold, rounds intensities if asked, and crops both around the
/// ROI with a margin wide enough for local intensity. On return both masks
/// are the interpolated ROI. Adds the `*_init_img`, `*_init_roi`,
/// `*_interp_img` and `*_interp_roi` diagnostics.
pub fn resample(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    settings: Option<&InterpolationSettings>,
    diagnostics: &mut FeatureSet,
) -> Result<RoiImage> {
    let _ = (image, mask, settings, diagnostics);
    Err(Error::data("interpolation is not implemented yet"))
}

/// Step 2, re-segmentation (IBSI 2.5): restricts the intensity mask to a
/// range and/or removes outliers; the morphological mask is unchanged. Adds
/// the `*_reseg_roi` diagnostics. An intensity mask left empty is an error.
pub fn resegment(
    roi: RoiImage,
    settings: &ResegmentationSettings,
    diagnostics: &mut FeatureSet,
) -> Result<RoiImage> {
    let _ = (roi, settings, diagnostics);
    Err(Error::data("re-segmentation is not implemented yet"))
}

/// Steps 1 and 2 for feature extraction.
pub fn prepare(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    settings: &ExtractionSettings,
    diagnostics: &mut FeatureSet,
) -> Result<RoiImage> {
    let roi = resample(image, mask, settings.interpolation.as_ref(), diagnostics)?;
    resegment(roi, &settings.resegmentation, diagnostics)
}

/// Step 3, discretisation (IBSI 2.6) of the intensity-mask voxels of `roi`.
/// For a fixed bin size without an explicit `min`, the first bin starts at
/// the lower bound of the re-segmentation range.
pub fn discretise(
    roi: &RoiImage,
    settings: &DiscretisationSettings,
    resegmentation: &ResegmentationSettings,
) -> Result<Discretised> {
    let _ = (roi, settings, resegmentation);
    Err(Error::data("discretisation is not implemented yet"))
}
