//! One case in, one [`FeatureSet`] out: the processing chain, then every
//! requested feature family. Used by `radial extract` and the pipeline.

use rayon::prelude::*;

use crate::features::{FamilyInput, FeatureSet, compute_family};
use crate::image::Volume;
use crate::processing::{self, Discretised, ExtractionSettings, Family, RoiImage};
use crate::{Error, Result};

/// The chain's products for one case, before the families run.
pub struct PreparedCase {
    /// The IBSI diagnostic values, in processing order.
    pub diagnostics: FeatureSet,
    pub roi: RoiImage,
    /// Present when a requested family needs it.
    pub discretised: Option<Discretised>,
}

/// Validates the settings and runs interpolation, re-segmentation and (if a
/// requested family needs it) discretisation.
pub fn prepare_case(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    settings: &ExtractionSettings,
) -> Result<PreparedCase> {
    settings.validate()?;
    let mut diagnostics = FeatureSet::new();
    let roi = processing::prepare(image, mask, settings, &mut diagnostics)?;
    let discretised = if settings.families.iter().any(|f| f.needs_discretisation()) {
        Some(processing::discretise(
            &roi,
            &settings.discretisation,
            &settings.resegmentation,
        )?)
    } else {
        None
    };
    Ok(PreparedCase {
        diagnostics,
        roi,
        discretised,
    })
}

/// Runs every requested family (in parallel), returning one result per
/// family in the order of `settings.families`, whatever the scheduling.
pub fn compute_families(
    case: &PreparedCase,
    settings: &ExtractionSettings,
) -> Vec<(Family, Result<FeatureSet>)> {
    let input = FamilyInput {
        roi: &case.roi,
        discretised: case.discretised.as_ref(),
        settings,
    };
    settings
        .families
        .par_iter()
        .map(|&family| {
            let mut out = FeatureSet::new();
            let result = compute_family(family, &input, &mut out).map(|()| out);
            (family, result)
        })
        .collect()
}

/// The chain and all requested families: diagnostics first, then each
/// family's features in the order of `settings.families`. The first family
/// that fails makes the whole case fail, with the family named.
pub fn extract_case(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    settings: &ExtractionSettings,
) -> Result<FeatureSet> {
    let case = prepare_case(image, mask, settings)?;
    let mut out = case.diagnostics.clone();
    for (family, result) in compute_families(&case, settings) {
        match result {
            Ok(values) => out.extend(values),
            Err(e) => {
                return Err(Error::data(format!(
                    "feature family {}: {e}",
                    family_name(family)
                )));
            }
        }
    }
    if !settings.filters.is_empty() {
        out.extend(filtered_features(image, &case, settings)?);
    }
    Ok(out)
}

/// The name of a family as written in settings files (`local_intensity`).
pub fn family_name(family: Family) -> String {
    serde_json::to_value(family)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{family:?}"))
}

/// IBSI chapter 2: the features of each filter's response map. The whole
/// image is interpolated as the chain does (only the ROI's surroundings are
/// kept by [`prepare_case`]) and filtered; each response map is cropped to
/// the case's ROI box, and its families read it inside the intensity mask
/// re-segmented on the unfiltered intensities. Names are prefixed with the
/// filter's name.
pub fn filtered_features(
    image: &Volume<f32>,
    case: &PreparedCase,
    settings: &ExtractionSettings,
) -> Result<FeatureSet> {
    filtered_features_with(image, case, settings, &mut ResponseMaps::default())
}

/// The response maps of one image, each computed once: a caller extracting
/// several feature sets of the same case (a recipe's sources: statistics
/// and texture of `log_s1`) passes the same `ResponseMaps` to each
/// [`filtered_features_with`]. Maps are kept cropped to their ROI box; the
/// interpolated whole image is kept for the last interpolation only.
#[derive(Default)]
pub struct ResponseMaps {
    /// The whole image on the grid of one interpolation (its key).
    whole: Option<(String, ndarray::Array3<f64>, crate::image::Geometry)>,
    /// Cropped response maps by (interpolation, filter, box).
    maps: Vec<(String, ndarray::Array3<f32>)>,
    filter_runs: usize,
}

impl ResponseMaps {
    /// How many response maps were computed (each filter run once).
    pub fn filter_runs(&self) -> usize {
        self.filter_runs
    }

    /// The response map of `filter` on the image interpolated by
    /// `interpolation`, cropped to the box of `case`'s ROI.
    fn cropped(
        &mut self,
        image: &Volume<f32>,
        interpolation: Option<&processing::InterpolationSettings>,
        filter: &crate::filters::FilterSettings,
        case: &PreparedCase,
    ) -> ndarray::Array3<f32> {
        let interpolation_key = serde_json::to_string(&interpolation).expect("settings serialise");
        let roi_geometry = case.roi.image.geometry;
        let [nx, ny, nz] = case.roi.image.dims();
        let key = serde_json::to_string(&(
            &interpolation_key,
            filter,
            roi_geometry.origin,
            [nx, ny, nz],
        ))
        .expect("settings serialise");
        if let Some((_, map)) = self.maps.iter().find(|(k, _)| *k == key) {
            return map.clone();
        }
        if self
            .whole
            .as_ref()
            .is_none_or(|(k, _, _)| *k != interpolation_key)
        {
            // Dropped first: two whole images are never held at once.
            self.whole = None;
            let (data, geometry) = interpolated_whole_image_f64(image, interpolation);
            self.whole = Some((interpolation_key, data, geometry));
        }
        let (_, data, geometry) = self.whole.as_ref().expect("just interpolated");
        // Where the ROI box of the case starts on the whole grid.
        let start = geometry
            .physical_to_index(roi_geometry.origin)
            .map(|v| v.round().max(0.0) as usize);
        let response = crate::filters::apply_f64(data, geometry.spacing, filter);
        self.filter_runs += 1;
        let cropped = response
            .slice(ndarray::s![
                start[2]..start[2] + nz,
                start[1]..start[1] + ny,
                start[0]..start[0] + nx
            ])
            .mapv(|v| v as f32);
        self.maps.push((key, cropped.clone()));
        cropped
    }
}

/// [`filtered_features`] with response maps shared through `maps`.
pub fn filtered_features_with(
    image: &Volume<f32>,
    case: &PreparedCase,
    settings: &ExtractionSettings,
    maps: &mut ResponseMaps,
) -> Result<FeatureSet> {
    let mut out = FeatureSet::new();
    for named in &settings.filters {
        let cropped = maps.cropped(image, settings.interpolation.as_ref(), &named.filter, case);
        let roi = RoiImage {
            image: Volume::new(cropped, case.roi.image.geometry),
            morph_mask: case.roi.morph_mask.clone(),
            int_mask: case.roi.int_mask.clone(),
        };
        let map_settings = ExtractionSettings {
            families: named.families.clone(),
            discretisation: named.discretisation.clone(),
            texture: settings.texture.clone(),
            ivh: settings.ivh.clone(),
            ..ExtractionSettings::default()
        };
        // Response maps have no re-segmentation range: a fixed bin size
        // needs its own `min`.
        let discretised = if named.families.iter().any(|f| f.needs_discretisation()) {
            Some(processing::discretise(
                &roi,
                &named.discretisation,
                &processing::ResegmentationSettings::default(),
            )?)
        } else {
            None
        };
        let map_case = PreparedCase {
            diagnostics: FeatureSet::new(),
            roi,
            discretised,
        };
        for (family, result) in compute_families(&map_case, &map_settings) {
            let values = result.map_err(|e| {
                Error::data(format!(
                    "filter {}, feature family {}: {e}",
                    named.name,
                    family_name(family)
                ))
            })?;
            for (name, value) in values.values {
                out.push(format!("{}_{name}", named.name), value);
            }
        }
    }
    Ok(out)
}

/// [`interpolated_whole_image`] widened to `f64` for filtering: the same
/// values (stored as `f32` first), converted in place, without an `f32`
/// copy of the volume.
pub fn interpolated_whole_image_f64(
    image: &Volume<f32>,
    interpolation: Option<&processing::InterpolationSettings>,
) -> (ndarray::Array3<f64>, crate::image::Geometry) {
    let Some(s) = interpolation else {
        return (image.data.mapv(f64::from), image.geometry);
    };
    let (mut values, geometry) = interpolated_values(image, s);
    values.mapv_inplace(|v| f64::from(stored(v, s)));
    (values, geometry)
}

/// The whole image resampled by `s`, before rounding, and its grid.
fn interpolated_values(
    image: &Volume<f32>,
    s: &processing::InterpolationSettings,
) -> (ndarray::Array3<f64>, crate::image::Geometry) {
    let map = processing::interpolate::GridMap::new(
        &image.geometry,
        image.dims(),
        s.spacing,
        s.in_plane_only,
    );
    let d = map.dims();
    let values = processing::interpolate::resample_box(
        &image.data,
        f64::from,
        &map,
        [(0, d[0]), (0, d[1]), (0, d[2])],
        s.image,
    );
    (values, map.geometry)
}

/// An interpolated value as the chain stores it.
fn stored(v: f64, s: &processing::InterpolationSettings) -> f32 {
    if s.round_intensities {
        v.round() as f32
    } else {
        v as f32
    }
}

/// The whole image on the interpolated grid (the original image when there
/// is no interpolation), rounded as the chain rounds.
pub fn interpolated_whole_image(
    image: &Volume<f32>,
    interpolation: Option<&processing::InterpolationSettings>,
) -> Volume<f32> {
    let Some(s) = interpolation else {
        return image.clone();
    };
    let (values, geometry) = interpolated_values(image, s);
    Volume::new(values.mapv(|v| stored(v, s)), geometry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;
    use ndarray::Array3;

    #[test]
    fn diagnostics_come_first_and_families_in_order() {
        let data = Array3::from_shape_fn((4, 5, 6), |(k, j, i)| (1 + (i + j + k) % 4) as f32);
        let image = Volume::new(data, Geometry::new([1.0; 3], [0.0; 3]));
        let mask = image.map(|_| true);
        let settings = ExtractionSettings {
            families: vec![Family::Statistics, Family::Morphology],
            ..ExtractionSettings::default()
        };
        let case = prepare_case(&image, &mask, &settings).unwrap();
        assert!(case.discretised.is_none());
        assert_eq!(
            case.diagnostics.get("int_mask_vox_count_reseg_roi"),
            Some(120.0)
        );
        let results = compute_families(&case, &settings);
        assert_eq!(
            results.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
            vec![Family::Statistics, Family::Morphology]
        );
        assert_eq!(family_name(Family::LocalIntensity), "local_intensity");
    }
}
