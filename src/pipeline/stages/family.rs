//! One stage kind per IBSI feature family (kind name = family name, e.g.
//! `glcm`). Texture families take [`TextureSettings`], `ivh` its own
//! [`DiscretisationSettings`], the others no parameters.
//!
//! A family reading a `filter` stage (directly, or through a `discretise`
//! stage reading one) computes its features on the response map and names
//! them `<filter stage id>_<feature>` (`log_s2_stat_mean`), as extraction
//! settings' `filters:` do; features of the unfiltered image carry no prefix.

use serde_json::Value;

use super::{NoParams, Scope, StageKind, TaskData, canonical, one_input_of, typed};
use crate::features::{FamilyInput, FeatureSet, compute_family};
use crate::pipeline::artifact::{DiscretisedArtifact, RoiArtifact, encode_features};
use crate::processing::{DiscretisationSettings, ExtractionSettings, Family, TextureSettings};
use crate::{Error, Result};

pub struct FamilyStage {
    family: Family,
    name: String,
}

impl FamilyStage {
    pub fn new(family: Family) -> Self {
        let name = serde_json::to_value(family)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{family:?}").to_lowercase());
        FamilyStage { family, name }
    }

    fn is_texture(&self) -> bool {
        self.family.needs_discretisation() && self.family != Family::Histogram
    }
}

impl StageKind for FamilyStage {
    fn name(&self) -> &str {
        &self.name
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        if self.family.needs_discretisation() {
            one_input_of(input_kinds, &["discretise"])
        } else {
            one_input_of(input_kinds, &["resample", "resegment", "filter"])
        }
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        if self.is_texture() {
            canonical::<TextureSettings>(params)
        } else if self.family == Family::Ivh {
            super::canonical_checked(params, |d: &DiscretisationSettings| d.validate("ivh"))
        } else {
            canonical::<NoParams>(params)
        }
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let mut settings = ExtractionSettings {
            families: vec![self.family],
            ..ExtractionSettings::default()
        };
        let bad = |e: String| Error::setting("params", e);
        if self.is_texture() {
            settings.texture = typed(params).map_err(bad)?;
        } else if self.family == Family::Ivh {
            settings.ivh = typed(params).map_err(bad)?;
        }
        let (kind, bytes) = task.only_input()?;
        let mut prefix = (kind == "filter").then(|| task.inputs[0].stage_id.clone());
        let mut out = FeatureSet::new();
        if self.family.needs_discretisation() {
            let d = DiscretisedArtifact::decode(bytes)?;
            prefix = d.filter.clone();
            settings.resegmentation = d.roi.resegmentation.clone();
            settings.discretisation = d.settings.clone();
            let input = FamilyInput {
                roi: &d.roi.roi,
                discretised: Some(&d.discretised),
                settings: &settings,
            };
            compute_family(self.family, &input, &mut out)?;
        } else {
            let r = RoiArtifact::decode(bytes)?;
            settings.resegmentation = r.resegmentation.clone();
            let input = FamilyInput {
                roi: &r.roi,
                discretised: None,
                settings: &settings,
            };
            compute_family(self.family, &input, &mut out)?;
        }
        if let Some(prefix) = prefix {
            out.values
                .iter_mut()
                .for_each(|(name, _)| *name = format!("{prefix}_{name}"));
        }
        Ok(encode_features(&out))
    }
}
