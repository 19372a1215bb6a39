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
    Ok(out)
}

/// The name of a family as written in settings files (`local_intensity`).
pub fn family_name(family: Family) -> String {
    serde_json::to_value(family)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{family:?}"))
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
