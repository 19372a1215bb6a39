//! IBSI 3.9: grey level distance zone matrix (GLDZM) features, 2D / 2.5D / 3D.

use super::zones::ZoneTables;
use super::{Dimension, TextureContext, push_features};
use crate::Result;
use crate::features::{FamilyInput, FeatureSet};
use crate::processing::Family;

pub const NAMES: [&str; 16] = [
    "dzm_sde",
    "dzm_lde",
    "dzm_lgze",
    "dzm_hgze",
    "dzm_sdlge",
    "dzm_sdhge",
    "dzm_ldlge",
    "dzm_ldhge",
    "dzm_glnu",
    "dzm_glnu_norm",
    "dzm_zdnu",
    "dzm_zdnu_norm",
    "dzm_z_perc",
    "dzm_gl_var",
    "dzm_zd_var",
    "dzm_zd_entr",
];

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let ctx = TextureContext::new(input, Family::Gldzm)?;
    let dims = Dimension::requested(&ctx.settings.aggregations);
    push(&ZoneTables::compute(&ctx, &dims)?, &dims, out);
    Ok(())
}

pub(crate) fn push(zones: &ZoneTables, dims: &[Dimension], out: &mut FeatureSet) {
    for &d in dims {
        let f = zones.distance.features(&zones.values, d);
        push_features(out, &NAMES, d.tag_suffix(), f.as_deref());
    }
}
