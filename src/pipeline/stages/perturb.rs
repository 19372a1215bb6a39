//! `perturb`: fans each case of a `load` stage out into N deterministic
//! variants (Zwanenburg et al. 2019): rotation, translation, noise, volume
//! adaptation and contour randomisation, as [`PerturbSettings`] describes.
//! Every stage downstream of it runs once per (case, variant), and
//! `collect` writes one row per (case, variant) with a `variant` column.
//!
//! ```yaml
//! - id: perturbed
//!   kind: perturb
//!   inputs: [load]
//!   params:
//!     seed: 42                      # default 42
//!     variants: 20                  # absent: the grid of the lists below
//!     rotation: {angles: [-15, -10, -5, 0, 5, 10, 15]}  # degrees about z
//!     translation: {fractions: [0.0, 0.25, 0.5, 0.75]}  # of a voxel
//!     noise: {repeats: 1}           # Gaussian, at the estimated noise level
//!     volume: {fractions: [-0.2, -0.1, 0.0, 0.1, 0.2]}  # of the ROI volume
//!     contour: {repeats: 1}         # boundary redrawn from SLIC supervoxels
//! ```
//!
//! A variant is a function of (seed, case id, variant index, parameters)
//! only; the case id and the variant index enter its task key. The output
//! has the form of a `load` output (the image and mask on the original
//! grid), so the stages that read `load` read it.

use serde_json::Value;

use super::{Scope, StageKind, TaskData, canonical_checked, one_input_of, typed};
use crate::pipeline::artifact::CaseImage;
use crate::processing::perturb::PerturbSettings;
use crate::{Error, Result};

pub struct Perturb;

impl StageKind for Perturb {
    fn name(&self) -> &str {
        "perturb"
    }
    fn version(&self) -> u32 {
        // 2: SLIC assigns voxels in single precision.
        // 3: the output carries the files' datatype and header spacings.
        3
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        one_input_of(input_kinds, &["load"])
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical_checked(params, PerturbSettings::validate)
    }
    fn variants(&self, params: &Value) -> Option<u32> {
        typed::<PerturbSettings>(params)
            .ok()
            .map(|p| p.variant_count())
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let settings: PerturbSettings = typed(params).map_err(|e| Error::setting("params", e))?;
        let case = task
            .case
            .ok_or_else(|| Error::data("perturb runs per case"))?;
        let v = task
            .variant
            .ok_or_else(|| Error::data("perturb runs per variant"))?;
        let (_, bytes) = task.only_input()?;
        let input = CaseImage::decode(bytes)?;
        let (image, mask) = settings.apply(&case.case_id, v, &input.image, &input.mask)?;
        // A variant is the same acquisition: it keeps the files' facts.
        Ok(CaseImage {
            image,
            mask,
            stored: input.stored,
        }
        .encode())
    }
}
