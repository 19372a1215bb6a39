//! The IBSI image processing chain (reference manual, chapter 2): interpolation,
//! re-segmentation, discretisation. Each step is a function with its own
//! settings; [`prepare`] runs the chain for feature extraction.

pub mod crop;
pub mod diagnostics;
pub mod discretise;
pub mod estimate;
pub mod interpolate;
pub mod perturb;
pub mod resegment;
pub mod settings;

use ndarray::Array3;

use crop::{bounding_box, grow, margin_voxels};
use diagnostics::IntensityStats;
use interpolate::{GridMap, IndexBox, resample_box, resampled_stats};

use crate::features::FeatureSet;
use crate::image::{Volume, precision};
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
    check_interpolation_memory(settings, image.dims()[2], new_dims, roi_box, &map)?;
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
    let mask_values = resample_box(
        &mask.data,
        |m| f64::from(u8::from(m)),
        &map,
        search,
        settings.mask,
    );
    let threshold = settings.partial_volume_threshold;
    // A mask value a rounding error below the threshold (0.5 computed as
    // 0.49999999999999994 halfway between an inside and an outside slice)
    // reaches it: see image::precision.
    let search_mask = mask_values.mapv(|v| precision::reaches(v, threshold));
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

    let finish = |v: f64| {
        if settings.round_intensities {
            precision::round_half_away(v) as f32
        } else {
            v as f32
        }
    };
    let values = resample_box(&image.data, f64::from, &map, keep, settings.image).mapv(finish);
    diagnostics::push_image(
        diagnostics,
        "interp_img",
        new_dims,
        map.geometry.spacing,
        resampled_stats(image, &map, settings.image, |v| f64::from(finish(v))),
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

/// Refuses a spacing whose grid cannot fit in memory, before allocating
/// (and before any voxel count is computed in integers that could
/// overflow): the whole-image statistics pass holds each old z plane on the
/// new x-y grid twice (planes, then the stacked block), and the ROI part
/// (the ROI's extent on the new grid plus the local-intensity margin) holds
/// mask values, thresholded mask and image values (f64 and f32).
fn check_interpolation_memory(
    settings: &InterpolationSettings,
    nz_old: usize,
    new_dims: [usize; 3],
    roi_box: IndexBox,
    map: &GridMap,
) -> Result<()> {
    let plane = new_dims[0] as f64 * new_dims[1] as f64;
    let stats = 2.0 * 8.0 * nz_old as f64 * plane;
    let radius = crop::local_intensity_radius_mm();
    let mut roi_voxels = 1.0;
    for a in 0..3 {
        let extent = (roi_box[a].1 - roi_box[a].0) as f64 / map.axes[a].step;
        let margin = radius / map.geometry.spacing[a] + 2.0;
        roi_voxels *= (extent + 2.0 * margin + 2.0).min(new_dims[a] as f64);
    }
    estimate::check(
        "interpolation.spacing",
        &format!(
            "a {} x {} x {} voxel grid (spacing {:?} mm)",
            new_dims[0], new_dims[1], new_dims[2], settings.spacing
        ),
        stats + 23.0 * roi_voxels,
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    /// A 20 x 18 x 12 image (intensity = 10·k + j + i) with a small block ROI.
    fn case() -> (Volume<f32>, Volume<bool>) {
        let g = Geometry::new([1.0, 1.0, 1.5], [-3.0, 4.0, 10.0]);
        let img = Volume::new(
            Array3::from_shape_fn((12, 18, 20), |(k, j, i)| (10 * k + j + i) as f32),
            g,
        );
        let mask = Volume::new(
            Array3::from_shape_fn((12, 18, 20), |(k, j, i)| {
                (5..9).contains(&i) && (6..10).contains(&j) && (4..7).contains(&k)
            }),
            g,
        );
        (img, mask)
    }

    #[test]
    fn no_interpolation_crops_with_margin_and_keeps_positions() {
        let (img, mask) = case();
        let mut d = FeatureSet::new();
        let roi = resample(&img, &mask, None, &mut d).unwrap();
        // Margin: ceil(6.2/1)+1 = 8 in x, y (clipped to the image), ceil(6.2/1.5)+1 = 6 in z:
        // x 0..17, y 0..18, z 0..12.
        assert_eq!(roi.image.dims(), [17, 18, 12]);
        let origin = img.geometry.index_to_physical([0.0, 0.0, 0.0]);
        assert_eq!(roi.image.geometry.origin, origin);
        assert_eq!(roi.morph_mask.iter().filter(|&&m| m).count(), 48);
        assert_eq!(d.get("img_dim_x_interp_img"), Some(20.0));
        assert_eq!(d.get("int_mask_bb_dim_z_interp_roi"), Some(3.0));
        assert_eq!(d.get("mean_int_init_img"), d.get("mean_int_interp_img"));
    }

    #[test]
    fn cropped_interpolation_equals_the_whole_image_interpolation() {
        let (img, mask) = case();
        for interp in [
            Interpolator::Nearest,
            Interpolator::Linear,
            Interpolator::Cubic,
        ] {
            let settings = InterpolationSettings {
                spacing: [0.7, 0.8, 0.9],
                in_plane_only: false,
                image: interp,
                mask: Interpolator::Linear,
                partial_volume_threshold: 0.5,
                round_intensities: false,
            };
            let mut d = FeatureSet::new();
            let roi = resample(&img, &mask, Some(&settings), &mut d).unwrap();
            let map = GridMap::new(&img.geometry, img.dims(), settings.spacing, false);
            let whole = interpolate::resample_full(&img, &map, interp);
            let offset = map.geometry.physical_to_index(roi.image.geometry.origin);
            let off = offset.map(|v| v.round() as usize);
            for a in 0..3 {
                assert!((offset[a] - off[a] as f64).abs() < 1e-9);
            }
            for ((k, j, i), &v) in roi.image.data.indexed_iter() {
                let w = whole[[k + off[2], j + off[1], i + off[0]]] as f32;
                assert!((v - w).abs() < 1e-4, "{interp:?}: {v} vs {w}");
            }
            // The ROI is inside the crop with the margin on every side.
            let b = crop::bounding_box(&roi.morph_mask).unwrap();
            let m = margin_voxels(settings.spacing);
            let dims = roi.image.dims();
            for a in 0..3 {
                // Margin kept unless the crop reaches the edge of the new grid.
                assert!(b[a].0 >= m[a] || off[a] == 0);
                assert!(dims[a] - b[a].1 >= m[a] || off[a] + dims[a] == map.dims()[a]);
            }
            assert_eq!(d.get("img_dim_x_interp_img"), Some(map.dims()[0] as f64));
            assert_eq!(d.get("vox_dim_z_interp_img"), Some(0.9));
        }
    }

    #[test]
    fn a_spacing_a_rounding_error_off_gives_the_same_roi() {
        // Slices 3 mm apart resampled to 2 mm: new planes fall halfway
        // between old ones, where the interpolated mask is exactly the
        // partial-volume threshold 0.5 in exact arithmetic (in x as well).
        // Exact arithmetic keeps 22 voxels: 10 with x, y inside (z from
        // 0.83 to 0.5) and 12 with x halfway and z inside. A slice step
        // computed from DICOM positions (2.9999999999998486) must not
        // change that.
        let (img, mask) = case();
        let settings = InterpolationSettings {
            spacing: [2.0, 2.0, 2.0],
            in_plane_only: false,
            image: Interpolator::Linear,
            mask: Interpolator::Linear,
            partial_volume_threshold: 0.5,
            round_intensities: true,
        };
        for z in [3.0, 2.9999999999998486, 3.0000000000001] {
            let g = Geometry::new([1.0, 1.0, z], [0.0; 3]);
            let img = Volume::new(img.data.clone(), g);
            let mask = Volume::new(mask.data.clone(), g);
            let mut d = FeatureSet::new();
            let roi = resample(&img, &mask, Some(&settings), &mut d).unwrap();
            assert_eq!(roi.morph_mask.iter().filter(|&&m| m).count(), 22, "z {z}");
            assert_eq!(d.get("img_dim_z_interp_img"), Some(18.0), "z {z}");
        }
    }

    #[test]
    fn in_plane_interpolation_keeps_the_slices() {
        let (img, mask) = case();
        let settings = InterpolationSettings {
            spacing: [2.0, 2.0, 0.0],
            in_plane_only: true,
            image: Interpolator::Linear,
            mask: Interpolator::Linear,
            partial_volume_threshold: 0.5,
            round_intensities: true,
        };
        let mut d = FeatureSet::new();
        let roi = resample(&img, &mask, Some(&settings), &mut d).unwrap();
        assert_eq!(roi.image.geometry.spacing, [2.0, 2.0, 1.5]);
        assert_eq!(d.get("img_dim_z_interp_img"), Some(12.0));
        assert_eq!(d.get("img_dim_x_interp_img"), Some(10.0));
        assert!(roi.image.data.iter().all(|v| v.fract() == 0.0));
        assert_eq!(d.get("int_mask_bb_dim_z_interp_roi"), Some(3.0));
    }

    #[test]
    fn resegment_and_discretise_follow_the_settings() {
        let (img, mask) = case();
        let mut d = FeatureSet::new();
        let roi = resample(&img, &mask, None, &mut d).unwrap();
        let reseg = ResegmentationSettings {
            range: Some([Some(60.0), None]),
            outlier_sigma: None,
        };
        let roi = resegment(roi, &reseg, &mut d).unwrap();
        // k = 4 gives 40 + j + i in 51..=57: below 60, dropped; k = 5, 6 kept.
        assert_eq!(d.get("int_mask_vox_count_reseg_roi"), Some(32.0));
        assert_eq!(d.get("morph_mask_vox_count_reseg_roi"), Some(48.0));
        assert_eq!(d.get("int_mask_dim_x_reseg_roi"), Some(20.0));
        let disc = discretise(
            &roi,
            &DiscretisationSettings::FixedBinSize {
                bin_width: 5.0,
                min: None,
            },
            &reseg,
        )
        .unwrap();
        // Intensities 61..=77 from 60 in bins of 5: levels 1..=4.
        assert_eq!(disc.n_levels, 4);
        assert_eq!(disc.levels.iter().filter(|&&l| l > 0).count(), 32);
        let empty = ResegmentationSettings {
            range: Some([Some(1000.0), None]),
            outlier_sigma: None,
        };
        let e = resegment(roi, &empty, &mut d).unwrap_err().to_string();
        assert!(e.contains("resegmentation.range"), "{e}");
    }
}
