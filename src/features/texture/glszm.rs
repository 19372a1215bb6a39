//! IBSI family: glszm (not implemented yet).

use crate::Result;
use crate::features::{FamilyInput, FeatureSet};

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let _ = (input, out);
    Err(crate::Error::data(
        "the glszm family is not implemented yet",
    ))
}
