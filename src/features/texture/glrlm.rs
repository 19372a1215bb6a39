//! IBSI family: glrlm (not implemented yet).

use crate::Result;
use crate::features::{FamilyInput, FeatureSet};

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let _ = (input, out);
    Err(crate::Error::data(
        "the glrlm family is not implemented yet",
    ))
}
