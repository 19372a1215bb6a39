//! IBSI family: local_intensity (not implemented yet).

use super::{FamilyInput, FeatureSet};
use crate::Result;

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let _ = (input, out);
    Err(crate::Error::data(
        "the local_intensity family is not implemented yet",
    ))
}
