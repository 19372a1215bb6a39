//! IBSI family: morphology (not implemented yet).

use super::{FamilyInput, FeatureSet};
use crate::Result;

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let _ = (input, out);
    Err(crate::Error::data(
        "the morphology family is not implemented yet",
    ))
}
