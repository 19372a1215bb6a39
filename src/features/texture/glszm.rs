//! IBSI 3.8: grey level size zone matrix (GLSZM) features, 2D / 2.5D / 3D.

use super::zones::ZoneTables;
use super::{Dimension, TextureContext, push_features};
use crate::Result;
use crate::features::{FamilyInput, FeatureSet};
use crate::processing::Family;

pub const NAMES: [&str; 16] = [
    "szm_sze",
    "szm_lze",
    "szm_lgze",
    "szm_hgze",
    "szm_szlge",
    "szm_szhge",
    "szm_lzlge",
    "szm_lzhge",
    "szm_glnu",
    "szm_glnu_norm",
    "szm_zsnu",
    "szm_zsnu_norm",
    "szm_z_perc",
    "szm_gl_var",
    "szm_zs_var",
    "szm_zs_entr",
];

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let ctx = TextureContext::new(input, Family::Glszm)?;
    let dims = Dimension::requested(&ctx.settings.aggregations);
    push(&ZoneTables::compute(&ctx, &dims)?, &dims, out);
    Ok(())
}

pub(crate) fn push(zones: &ZoneTables, dims: &[Dimension], out: &mut FeatureSet) {
    for &d in dims {
        let f = zones.size.features(&zones.values, d);
        push_features(out, &NAMES, d.tag_suffix(), f.as_deref());
    }
}
