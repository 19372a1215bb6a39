//! IBSI 3.11: neighbouring grey level dependence matrix (NGLDM) features,
//! 2D / 2.5D / 3D.

use super::level_count;
use super::neighbourhood::NeighbourhoodTables;
use super::{Dimension, TextureContext, push_features};
use crate::Result;
use crate::features::{FamilyInput, FeatureSet};
use crate::processing::Family;

pub const NAMES: [&str; level_count::N_FEATURES] = [
    "ngl_lde",
    "ngl_hde",
    "ngl_lgce",
    "ngl_hgce",
    "ngl_ldlge",
    "ngl_ldhge",
    "ngl_hdlge",
    "ngl_hdhge",
    "ngl_glnu",
    "ngl_glnu_norm",
    "ngl_dcnu",
    "ngl_dcnu_norm",
    "ngl_dc_perc",
    "ngl_gl_var",
    "ngl_dc_var",
    "ngl_dc_entr",
    "ngl_dc_energy",
];

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let ctx = TextureContext::new(input, Family::Ngldm)?;
    let dims = Dimension::requested(&ctx.settings.aggregations);
    push(&ctx, &NeighbourhoodTables::compute(&ctx, &dims), &dims, out);
    Ok(())
}

pub(crate) fn push(
    ctx: &TextureContext,
    tables: &NeighbourhoodTables,
    dims: &[Dimension],
    out: &mut FeatureSet,
) {
    for &d in dims {
        let f = tables.dependence.features(&ctx.grid.values, d);
        push_features(out, &NAMES, d.tag_suffix(), f.as_deref());
    }
}
