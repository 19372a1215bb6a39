//! IBSI 3.7: grey level run length matrix (GLRLM) features, all six
//! aggregations (same driver as the GLCM).

use super::directional::{DirectionalMatrix, aggregate};
use super::directions::DIRECTIONS;
use super::grid::LevelGrid;
use super::level_count;
use super::matrix::{CountMatrix, Tally};
use super::{TextureContext, push_features};
use crate::Result;
use crate::features::{FamilyInput, FeatureSet};
use crate::processing::Family;

pub const NAMES: [&str; 16] = [
    "rlm_sre",
    "rlm_lre",
    "rlm_lgre",
    "rlm_hgre",
    "rlm_srlge",
    "rlm_srhge",
    "rlm_lrlge",
    "rlm_lrhge",
    "rlm_glnu",
    "rlm_glnu_norm",
    "rlm_rlnu",
    "rlm_rlnu_norm",
    "rlm_r_perc",
    "rlm_gl_var",
    "rlm_rl_var",
    "rlm_rl_entr",
];

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let ctx = TextureContext::new(input, Family::Glrlm)?;
    compute_with(&ctx, out);
    Ok(())
}

pub(crate) fn compute_with(ctx: &TextureContext, out: &mut FeatureSet) {
    for (a, values) in aggregate(&ctx.grid, &Glrlm, &ctx.settings.aggregations) {
        push_features(out, &NAMES, a.tag_suffix(), values.as_deref());
    }
}

/// Runs of consecutive voxels (unit steps: a run has no gaps, whatever the
/// neighbourhood distance of the other families).
pub struct Glrlm;

impl DirectionalMatrix for Glrlm {
    fn build(&self, grid: &LevelGrid, voxels: &[usize], d: usize) -> CountMatrix {
        let step = grid.offset(DIRECTIONS[d]);
        let longest = grid.shape.iter().copied().max().unwrap_or(1);
        let mut tally = Tally::new(grid.n_present(), longest, voxels.len());
        for &idx in voxels {
            let level = grid.codes[idx];
            if grid.at(idx, -step) == level {
                continue; // not the first voxel of its run
            }
            let mut length = 1u32;
            let mut next = idx as isize + step;
            while grid.codes[next as usize] == level {
                length += 1;
                next += step;
            }
            tally.add(level, length);
        }
        tally.finish(voxels.len() as u64)
    }

    fn features(&self, grid: &LevelGrid, m: &CountMatrix) -> Vec<f64> {
        let mut f = level_count::features(m, &grid.values);
        f.truncate(NAMES.len());
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processing::Discretised;
    use ndarray::Array3;

    #[test]
    fn runs_of_a_small_image() {
        // 1 1 1 2
        // 2 2 0 2     (0 is outside: it breaks the run)
        // 1 2 2 2
        let rows = [[1, 1, 1, 2], [2, 2, 0, 2], [1, 2, 2, 2]];
        let mut levels = Array3::<u32>::zeros((1, 3, 4));
        for (j, r) in rows.iter().enumerate() {
            for (i, &l) in r.iter().enumerate() {
                levels[[0, j, i]] = l;
            }
        }
        let d = Discretised {
            levels,
            n_levels: 2,
            spacing: [1.0; 3],
        };
        let g = LevelGrid::new(&d, 1).unwrap();
        let v = g.slice_voxels(0);
        // Along x: level 1 runs {3, 1}, level 2 runs {1, 2, 1, 3}.
        let m = Glrlm.build(&g, &v, 0);
        assert_eq!(
            m.entries,
            vec![(0, 1, 1), (0, 3, 1), (1, 1, 2), (1, 2, 1), (1, 3, 1)]
        );
        assert_eq!(m.n_voxels, 11);
        // Along y: columns 1 1 2 2 / 1 2 . 2 / 1 2 0 2 → level 1: {1,1,1},
        // col0: 1,2,1 → 1:1, 2:1, 1:1; col1: 1,2,2 → 1:1, 2:2; col2: 1,0,2
        // → 1:1, 2:1; col3: 2,2,2 → 2:3.
        let m = Glrlm.build(&g, &v, 2);
        assert_eq!(m.entries, vec![(0, 1, 4), (1, 1, 2), (1, 2, 1), (1, 3, 1)]);
    }
}
