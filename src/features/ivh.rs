//! IBSI family: ivh (not implemented yet).

use super::{FamilyInput, FeatureSet};
use crate::Result;

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let _ = (input, out);
    Err(crate::Error::data("the ivh family is not implemented yet"))
}
