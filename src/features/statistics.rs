//! IBSI family: intensity-based statistics (IBSI 3.3), on the intensities of
//! the intensity-mask voxels.

use super::descriptive::{intensity_mask_values, push_distribution_features};
use super::{FamilyInput, FeatureSet};
use crate::Result;

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let mut values = intensity_mask_values(input.roi)?;
    let energy: f64 = values.iter().map(|v| v * v).sum();
    let n = values.len() as f64;
    push_distribution_features("stat", &mut values, None, out);
    out.push("stat_energy", energy);
    out.push("stat_rms", (energy / n).sqrt());
    Ok(())
}
