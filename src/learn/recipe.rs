//! How a model's input features are computed from an image and a mask. A
//! model trained by a pipeline records the chain behind each feature family
//! it was trained on (interpolation, re-segmentation, discretisation, family
//! settings); `radial evaluate --extraction-settings` records the settings
//! file given to `radial extract`. `radial predict --image --mask` replays
//! the recipe, so a new case is scored on features computed exactly as the
//! training cohort's were.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::extract::{
    PreparedCase, ResponseMaps, compute_families, family_name, filtered_features_with, prepare_case,
};
use crate::features::FeatureSet;
use crate::image::Volume;
use crate::processing::ExtractionSettings;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractionRecipe {
    /// Where the feature columns came from, in table order.
    pub sources: Vec<FeatureSource>,
}

/// Families computed with one chain of settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSource {
    /// Written before each feature name with a dot (`glcm_d2.cm_energy_3D_avg`),
    /// as `collect` with `prefix_stage_id` does; absent: bare IBSI tags.
    #[serde(default)]
    pub prefix: Option<String>,
    pub settings: ExtractionSettings,
}

impl ExtractionRecipe {
    /// The recipe of `radial extract --settings`: every requested family,
    /// bare tags, diagnostics included.
    pub fn from_settings(settings: ExtractionSettings) -> Self {
        ExtractionRecipe {
            sources: vec![FeatureSource {
                prefix: None,
                settings,
            }],
        }
    }

    /// Every feature of every source (the diagnostic values of each chain
    /// too, unprefixed). Sources that share a processing chain share one
    /// run of it; sources that share a filter (the same filter settings on
    /// the same interpolation) share its response map.
    pub fn extract(&self, image: &Volume<f32>, mask: &Volume<bool>) -> Result<FeatureSet> {
        self.extract_with(image, mask, &mut ResponseMaps::default())
    }

    /// [`ExtractionRecipe::extract`] with the response maps kept in `maps`.
    fn extract_with(
        &self,
        image: &Volume<f32>,
        mask: &Volume<bool>,
        maps: &mut ResponseMaps,
    ) -> Result<FeatureSet> {
        // Each distinct chain runs once, for the union of its sources' families.
        let mut chains: Vec<(String, ExtractionSettings)> = Vec::new();
        for source in &self.sources {
            let key = chain_key(&source.settings);
            match chains.iter_mut().find(|(k, _)| *k == key) {
                Some((_, all)) => all
                    .families
                    .extend(source.settings.families.iter().copied()),
                None => chains.push((key, source.settings.clone())),
            }
        }
        let mut prepared: HashMap<String, PreparedCase> = HashMap::new();
        let mut out = FeatureSet::new();
        for (key, all) in chains {
            let case = prepare_case(image, mask, &all)?;
            // Diagnostics of the first chain only: later chains repeat the tags.
            for (name, v) in &case.diagnostics.values {
                if out.get(name).is_none() {
                    out.push(name.clone(), *v);
                }
            }
            prepared.insert(key, case);
        }
        for source in &self.sources {
            let case = &prepared[&chain_key(&source.settings)];
            let mut values = Vec::new();
            for (family, result) in compute_families(case, &source.settings) {
                let set = result.map_err(|e| {
                    Error::data(format!("feature family {}: {e}", family_name(family)))
                })?;
                values.extend(set.values);
            }
            // Response-map features (`filters:`), named after their filter.
            if !source.settings.filters.is_empty() {
                values.extend(filtered_features_with(image, case, &source.settings, maps)?.values);
            }
            for (name, v) in values {
                match &source.prefix {
                    Some(p) => out.push(format!("{p}.{name}"), v),
                    None => out.push(name, v),
                }
            }
        }
        Ok(out)
    }
}

/// The settings that determine the prepared case (not the family settings).
fn chain_key(s: &ExtractionSettings) -> String {
    serde_json::to_string(&(&s.interpolation, &s.resegmentation, &s.discretisation))
        .expect("settings serialise")
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;

    use super::*;
    use crate::extract::extract_case;
    use crate::image::Geometry;
    use crate::processing::Family;

    fn case() -> (Volume<f32>, Volume<bool>) {
        let image = Array3::from_shape_fn((6, 9, 10), |(k, j, i)| {
            ((i * 7 + j * 3 + k * 5) % 11) as f32
        });
        let mask = Array3::from_shape_fn((6, 9, 10), |(k, j, i)| {
            (1..5).contains(&k) && (2..7).contains(&j) && (2..8).contains(&i)
        });
        let g = Geometry::new([1.0, 1.0, 2.0], [0.0; 3]);
        (Volume::new(image, g), Volume::new(mask, g))
    }

    #[test]
    fn one_source_reproduces_radial_extract() {
        let (image, mask) = case();
        let settings = ExtractionSettings::from_yaml_str(
            "discretisation: {method: fixed_bin_number, bins: 4}\nfamilies: [statistics, glcm]",
            "t.yaml",
        )
        .unwrap();
        let expected = extract_case(&image, &mask, &settings).unwrap();
        let got = ExtractionRecipe::from_settings(settings)
            .extract(&image, &mask)
            .unwrap();
        assert_eq!(got, expected);
    }

    /// Two sources reading one filter (statistics and GLCM of `log_s1`,
    /// as two filter stages would record them) share one response map, and
    /// their features are those each source gives on its own.
    #[test]
    fn sources_on_one_filter_compute_it_once_with_the_same_features() {
        let (image, mask) = case();
        let source = |prefix: &str, families: &str, bins: &str| {
            let yaml = format!(
                "interpolation: {{spacing: [1.5, 1.5, 1.5], image: cubic, mask: linear}}\n\
                 families: []\n\
                 filters:\n  - name: log_s1\n    families: {families}\n    {bins}\n    \
                 filter: {{kind: log, sigma: 1.0, cutoff: 3, dimensions: 3, boundary: mirror}}\n"
            );
            FeatureSource {
                prefix: Some(prefix.into()),
                settings: ExtractionSettings::from_yaml_str(&yaml, "t.yaml").unwrap(),
            }
        };
        let recipe = ExtractionRecipe {
            sources: vec![
                source("stat", "[statistics]", ""),
                source(
                    "glcm",
                    "[glcm]",
                    "discretisation: {method: fixed_bin_number, bins: 8}",
                ),
            ],
        };
        let mut maps = ResponseMaps::default();
        let got = recipe.extract_with(&image, &mask, &mut maps).unwrap();
        assert_eq!(maps.filter_runs(), 1, "one filter, one response map");
        // Each source on its own (its own maps): the same values, to the bit.
        let mut expected = FeatureSet::new();
        let mut runs = 0;
        for source in &recipe.sources {
            let mut own = ResponseMaps::default();
            let alone = ExtractionRecipe {
                sources: vec![source.clone()],
            }
            .extract_with(&image, &mask, &mut own)
            .unwrap();
            runs += own.filter_runs();
            for (name, v) in alone.values {
                if expected.get(&name).is_none() {
                    expected.push(name, v);
                }
            }
        }
        assert_eq!(runs, 2);
        assert!(got.get("stat.log_s1_stat_mean").is_some());
        assert!(got.get("glcm.log_s1_cm_joint_max_3D_avg").is_some());
        assert_eq!(got.values.len(), expected.values.len());
        for (name, v) in &got.values {
            let e = expected
                .get(name)
                .unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(v.to_bits(), e.to_bits(), "{name}");
        }
    }

    #[test]
    fn prefixed_sources_with_different_chains() {
        let (image, mask) = case();
        let source = |prefix: &str, bins: u32| FeatureSource {
            prefix: Some(prefix.into()),
            settings: ExtractionSettings {
                families: vec![Family::Glcm],
                discretisation: serde_saphyr::from_str(&format!(
                    "{{method: fixed_bin_number, bins: {bins}}}"
                ))
                .unwrap(),
                ..ExtractionSettings::default()
            },
        };
        let recipe = ExtractionRecipe {
            sources: vec![source("b4", 4), source("b8", 8)],
        };
        let got = recipe.extract(&image, &mask).unwrap();
        let a = got.get("b4.cm_joint_max_3D_avg").unwrap();
        let b = got.get("b8.cm_joint_max_3D_avg").unwrap();
        assert_ne!(a, b, "different bin counts give different GLCMs");
        assert!(got.get("cm_joint_max_3D_avg").is_none());
    }
}
