//! The IBSI chapter 1 feature families. Each family is a module with one
//! entry point of the same shape, [`FamilyInput`] in, named values out, so
//! that `extract` and the pipeline stages dispatch on [`Family`] alone.
//!
//! Feature names are the IBSI tags (`morph_volume`, `cm_joint_max_3D_avg`).

pub mod descriptive;
pub mod histogram;
pub mod ivh;
pub mod local_intensity;
pub mod morphology;
pub mod statistics;
pub mod texture;

use crate::processing::{Discretised, ExtractionSettings, Family, RoiImage};
use crate::{Error, Result};

/// Named feature values of one case, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureSet {
    pub values: Vec<(String, f64)>,
}

impl FeatureSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, name: impl Into<String>, value: f64) {
        self.values.push((name.into(), value));
    }

    pub fn extend(&mut self, other: FeatureSet) {
        self.values.extend(other.values);
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|(n, _)| n.as_str())
    }
}

/// Everything a family may read. `discretised` is present whenever the
/// family needs it ([`Family::needs_discretisation`]).
pub struct FamilyInput<'a> {
    pub roi: &'a RoiImage,
    pub discretised: Option<&'a Discretised>,
    pub settings: &'a ExtractionSettings,
}

impl FamilyInput<'_> {
    /// The discretised image, or an error naming the family that needed it.
    pub fn require_discretised(&self, family: Family) -> Result<&Discretised> {
        self.discretised.ok_or_else(|| {
            Error::setting(
                "discretisation",
                format!("the {family:?} family needs a discretised image"),
            )
        })
    }
}

/// Computes one family.
pub fn compute_family(family: Family, input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    match family {
        Family::Morphology => morphology::compute(input, out),
        Family::LocalIntensity => local_intensity::compute(input, out),
        Family::Statistics => statistics::compute(input, out),
        Family::Histogram => histogram::compute(input, out),
        Family::Ivh => ivh::compute(input, out),
        Family::Glcm => texture::glcm::compute(input, out),
        Family::Glrlm => texture::glrlm::compute(input, out),
        Family::Glszm => texture::glszm::compute(input, out),
        Family::Gldzm => texture::gldzm::compute(input, out),
        Family::Ngtdm => texture::ngtdm::compute(input, out),
        Family::Ngldm => texture::ngldm::compute(input, out),
    }
}
