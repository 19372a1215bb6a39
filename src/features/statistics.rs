//! IBSI family: statistics (not implemented yet).

use super::{FamilyInput, FeatureSet};
use crate::Result;

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let _ = (input, out);
    Err(crate::Error::data(
        "the statistics family is not implemented yet",
    ))
}
