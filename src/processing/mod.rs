//! The IBSI image processing chain (reference manual, chapter 2): interpolation,
//! re-segmentation, discretisation. Each step is a function with its own
//! settings; [`prepare`] runs the chain for feature extraction.

pub mod crop;
pub mod diagnostics;
pub mod discretise;
pub mod interpolate;
pub mod resegment;
pub mod settings;

use ndarray::Array3;

use crop::{bounding_box, grow, margin_voxels};
use diagnostics::IntensityStats;
use interpolate::{GridMap, IndexBox, resample_box, resample_full};

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
///
/// Only the part of the new grid around the ROI is interpolated; it equals
/// the same part of the whole interpolated image. The `*_interp_img`
/// diagnostics describe the whole interpolated image, for which one extra
/// pass over the image is made.
pub fn resample(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    settings: Option<&InterpolationSettings>,
    diagnostics: &mut FeatureSet,
) -> Result<RoiImage> {
    if image.dims() != mask.dims() {
        return Err(Error::data(format!(
            "image and mask grids differ: {:?} vs {:?} voxels",
            image.dims(),
            mask.dims()
        )));
    }
    let dims = image.dims();
    let init_stats = IntensityStats::of(image.data.iter().map(|&v| f64::from(v)));
    diagnostics::push_image(
        diagnostics,
        "init_img",
        dims,
        image.geometry.spacing,
        init_stats,
    );
    diagnostics::push_roi(
        diagnostics,
        "init_roi",
        dims,
        &image.data,
        &mask.data,
        &mask.data,
    );
    let Some(roi_box) = bounding_box(&mask.data) else {
        return Err(Error::data("the ROI mask is empty"));
    };
    let (roi, grid_dims) = match settings {
        None => {
            diagnostics::push_image(
                diagnostics,
                "interp_img",
                dims,
                image.geometry.spacing,
                init_stats,
            );
            (crop_original(image, mask, roi_box), dims)
        }
        Some(settings) => {
            settings.validate()?;
            interpolate_around_roi(image, mask, roi_box, settings, diagnostics)?
        }
    };
    diagnostics::push_roi(
        diagnostics,
        "interp_roi",
        grid_dims,
        &roi.image.data,
        &roi.int_mask,
        &roi.morph_mask,
    );
    Ok(roi)
}

/// No interpolation: the original voxels around the ROI.
fn crop_original(image: &Volume<f32>, mask: &Volume<bool>, roi_box: IndexBox) -> RoiImage {
    let b = grow(roi_box, margin_voxels(image.geometry.spacing), image.dims());
    let m = crop::crop(&mask.data, b);
    RoiImage {
        image: cropped_volume(crop::crop(&image.data, b), &image.geometry, b),
        morph_mask: m.clone(),
        int_mask: m,
    }
}

fn cropped_volume(data: Array3<f32>, grid: &crate::image::Geometry, b: IndexBox) -> Volume<f32> {
    let mut geometry = *grid;
    geometry.origin = grid.index_to_physical([b[0].0 as f64, b[1].0 as f64, b[2].0 as f64]);
    Volume::new(data, geometry)
}

/// Interpolates the mask on the part of the new grid it can reach, then the
/// image on the ROI's bounding box plus margin. Returns the ROI image and
/// the dimensions of the whole new grid.
fn interpolate_around_roi(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    roi_box: IndexBox,
    settings: &InterpolationSettings,
    diagnostics: &mut FeatureSet,
) -> Result<(RoiImage, [usize; 3])> {
    let map = GridMap::new(
        &image.geometry,
        image.dims(),
        settings.spacing,
        settings.in_plane_only,
    );
    let new_dims = map.dims();
    let margin = margin_voxels(map.geometry.spacing);

    // New-grid samples that can receive a non-zero mask value.
    let reach = settings.mask.support() as f64 + 1.0;
    let mut candidates: IndexBox = [(0, 0); 3];
    for a in 0..3 {
        let axis = map.axes[a];
        let lo = (roi_box[a].0 as f64 - reach - axis.start) / axis.step;
        let hi = ((roi_box[a].1 - 1) as f64 + reach - axis.start) / axis.step;
        let lo = lo.ceil().max(0.0) as usize;
        let hi = (hi.floor().max(0.0) as usize + 1).min(axis.n_new);
        candidates[a] = (lo.min(hi), hi);
    }
    let search = grow(candidates, margin, new_dims);
    let mask_values = resample_box(&mask.data.mapv(|m| f64::from(u8::from(m))), &map, search, settings.mask);
    let threshold = settings.partial_volume_threshold;
    let search_mask = mask_values.mapv(|v| v >= threshold);
    let Some(local) = bounding_box(&search_mask) else {
        return Err(Error::data(format!(
            "no voxel of the interpolated ROI reaches the partial volume threshold {threshold}"
        )));
    };
    let mut roi_new: IndexBox = local;
    for a in 0..3 {
        roi_new[a] = (local[a].0 + search[a].0, local[a].1 + search[a].0);
    }
    let keep = grow(roi_new, margin, new_dims);
    let mut within_search = keep;
    for a in 0..3 {
        within_search[a] = (keep[a].0 - search[a].0, keep[a].1 - search[a].0);
    }
    let roi_mask = crop::crop(&search_mask, within_search);

    let old = image.data.mapv(f64::from);
    let finish = |v: f64| {
        if settings.round_intensities {
            v.round() as f32
        } else {
            v as f32
        }
    };
    let values = resample_box(&old, &map, keep, settings.image).mapv(finish);
    let whole = resample_full(image, &map, settings.image);
    diagnostics::push_image(
        diagnostics,
        "interp_img",
        new_dims,
        map.geometry.spacing,
        IntensityStats::of(whole.iter().map(|&v| f64::from(finish(v)))),
    );
    Ok((
        RoiImage {
            image: cropped_volume(values, &map.geometry, keep),
            morph_mask: roi_mask.clone(),
            int_mask: roi_mask,
        },
        new_dims,
    ))
}

/// Step 2, re-segmentation (IBSI 2.5): restricts the intensity mask to a
/// range and/or removes outliers; the morphological mask is unchanged. Adds
/// the `*_reseg_roi` diagnostics. An intensity mask left empty is an error.
pub fn resegment(
    mut roi: RoiImage,
    settings: &ResegmentationSettings,
    diagnostics: &mut FeatureSet,
) -> Result<RoiImage> {
    settings.validate()?;
    resegment::resegment_mask(&roi.image.data, &mut roi.int_mask, settings)?;
    // Re-segmentation keeps the grid: report the dimensions `resample` gave.
    let own = roi.image.dims();
    let mut grid_dims = own;
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        if let Some(v) = diagnostics.get(&format!("int_mask_dim_{axis}_interp_roi")) {
            grid_dims[a] = v as usize;
        }
    }
    diagnostics::push_roi(
        diagnostics,
        "reseg_roi",
        grid_dims,
        &roi.image.data,
        &roi.int_mask,
        &roi.morph_mask,
    );
    Ok(roi)
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
    let (levels, n_levels) = discretise::discretise_values(
        &roi.image.data,
        &roi.int_mask,
        settings,
        resegmentation,
        "discretisation",
    )?;
    Ok(Discretised {
        levels,
        n_levels,
        spacing: roi.image.geometry.spacing,
    })
}
