//! IBSI 3.6: grey level co-occurrence matrix (GLCM) features, all six
//! aggregations.
//!
//! A directional matrix is stored as the counts of unordered level pairs
//! {a, b} (row ≤ column); the symmetric IBSI matrix M_m = M_m+ + M_m+^T has
//! M_ab = M_ba = count for a ≠ b and M_aa = 2 · count.

use super::directional::{DirectionalMatrix, aggregate};
use super::directions::scaled;
use super::grid::{LevelGrid, OUTSIDE};
use super::matrix::{CountMatrix, Tally};
use super::{TextureContext, push_features};
use crate::Result;
use crate::features::{FamilyInput, FeatureSet};
use crate::processing::Family;

pub const NAMES: [&str; 25] = [
    "cm_joint_max",
    "cm_joint_avg",
    "cm_joint_var",
    "cm_joint_entr",
    "cm_diff_avg",
    "cm_diff_var",
    "cm_diff_entr",
    "cm_sum_avg",
    "cm_sum_var",
    "cm_sum_entr",
    "cm_energy",
    "cm_contrast",
    "cm_dissimilarity",
    "cm_inv_diff",
    "cm_inv_diff_norm",
    "cm_inv_diff_mom",
    "cm_inv_diff_mom_norm",
    "cm_inv_var",
    "cm_corr",
    "cm_auto_corr",
    "cm_clust_tend",
    "cm_clust_shade",
    "cm_clust_prom",
    "cm_info_corr1",
    "cm_info_corr2",
];

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let ctx = TextureContext::new(input, Family::Glcm)?;
    compute_with(&ctx, out);
    Ok(())
}

pub(crate) fn compute_with(ctx: &TextureContext, out: &mut FeatureSet) {
    let family = Glcm {
        distance: ctx.settings.distance,
    };
    for (a, values) in aggregate(&ctx.grid, &family, &ctx.settings.aggregations) {
        push_features(out, &NAMES, a.tag_suffix(), values.as_deref());
    }
}

/// Co-occurrences at Chebyshev distance `distance`.
pub struct Glcm {
    pub distance: u32,
}

impl DirectionalMatrix for Glcm {
    fn build(&self, grid: &LevelGrid, voxels: &[usize], d: usize) -> CountMatrix {
        let offset = grid.offset(scaled(d, self.distance));
        let levels = grid.n_present();
        let mut tally = Tally::new(levels, levels - 1, voxels.len());
        for &idx in voxels {
            let a = grid.codes[idx];
            let b = grid.at(idx, offset);
            if b != OUTSIDE {
                tally.add(a.min(b), a.max(b));
            }
        }
        tally.finish(voxels.len() as u64)
    }

    fn features(&self, grid: &LevelGrid, m: &CountMatrix) -> Vec<f64> {
        features(m, &grid.values, grid.n_levels)
    }
}

/// The 25 GLCM features of a non-empty pair-count matrix, in [`NAMES`]
/// order. `values[i]` is the grey level of row i; `n_levels` is Ng of the
/// discretisation (used by the normalised inverse differences).
pub fn features(m: &CountMatrix, values: &[f64], n_levels: u32) -> Vec<f64> {
    // The symmetric matrix as (level i, level j, p_ij), both triangles.
    let total = 2.0 * m.total() as f64;
    let mut cells: Vec<(usize, usize, f64)> = Vec::with_capacity(2 * m.entries.len());
    for &(a, b, c) in &m.entries {
        let (a, b) = (a as usize, b as usize);
        if a == b {
            cells.push((a, a, 2.0 * c as f64 / total));
        } else {
            let p = c as f64 / total;
            cells.push((a, b, p));
            cells.push((b, a, p));
        }
    }
    let ng = n_levels as f64;
    let max_level = *values.last().unwrap_or(&0.0) as usize;

    let mut marginal = vec![0.0; values.len()];
    let mut p_diff = vec![0.0; max_level + 1];
    let mut p_sum = vec![0.0; 2 * max_level + 1];
    let mut joint_max: f64 = 0.0;
    let (mut joint_entr, mut energy, mut contrast, mut dissimilarity) = (0.0, 0.0, 0.0, 0.0);
    let (mut inv_diff, mut inv_diff_norm, mut inv_diff_mom, mut inv_diff_mom_norm) =
        (0.0, 0.0, 0.0, 0.0);
    let (mut inv_var, mut auto_corr) = (0.0, 0.0);
    for &(a, b, p) in &cells {
        let (i, j) = (values[a], values[b]);
        let d = (i - j).abs();
        marginal[a] += p;
        p_diff[d as usize] += p;
        p_sum[(i + j) as usize] += p;
        joint_max = joint_max.max(p);
        joint_entr -= p * p.log2();
        energy += p * p;
        contrast += d * d * p;
        dissimilarity += d * p;
        inv_diff += p / (1.0 + d);
        inv_diff_norm += p / (1.0 + d / ng);
        inv_diff_mom += p / (1.0 + d * d);
        inv_diff_mom_norm += p / (1.0 + d * d / (ng * ng));
        if a != b {
            inv_var += p / (d * d);
        }
        auto_corr += i * j * p;
    }
    let mu: f64 = marginal.iter().zip(values).map(|(p, i)| i * p).sum();
    let var: f64 = marginal
        .iter()
        .zip(values)
        .map(|(p, i)| (i - mu).powi(2) * p)
        .sum();
    let hx: f64 = -marginal
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|p| p * p.log2())
        .sum::<f64>();
    let (mut clust_tend, mut clust_shade, mut clust_prom, mut hxy1) = (0.0, 0.0, 0.0, 0.0);
    for &(a, b, p) in &cells {
        let t = values[a] + values[b] - 2.0 * mu;
        clust_tend += t * t * p;
        clust_shade += t * t * t * p;
        clust_prom += t * t * t * t * p;
        hxy1 -= p * (marginal[a] * marginal[b]).log2();
    }
    // HXY2 = -ΣΣ p_i p_j log2(p_i p_j) = 2 HX because the marginals sum to 1.
    let hxy2 = 2.0 * hx;

    let diff_avg: f64 = p_diff.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
    let diff_var: f64 = p_diff
        .iter()
        .enumerate()
        .map(|(k, p)| (k as f64 - diff_avg).powi(2) * p)
        .sum();
    let sum_avg: f64 = p_sum.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
    let sum_var: f64 = p_sum
        .iter()
        .enumerate()
        .map(|(k, p)| (k as f64 - sum_avg).powi(2) * p)
        .sum();

    vec![
        joint_max,
        mu,
        var,
        joint_entr,
        diff_avg,
        diff_var,
        entropy(&p_diff),
        sum_avg,
        sum_var,
        entropy(&p_sum),
        energy,
        contrast,
        dissimilarity,
        inv_diff,
        inv_diff_norm,
        inv_diff_mom,
        inv_diff_mom_norm,
        inv_var,
        (auto_corr - mu * mu) / var,
        auto_corr,
        clust_tend,
        clust_shade,
        clust_prom,
        (joint_entr - hxy1) / hx,
        (1.0 - (-2.0 * (hxy2 - joint_entr)).exp()).max(0.0).sqrt(),
    ]
}

fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&p| p > 0.0)
        .map(|p| p * p.log2())
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processing::Discretised;
    use ndarray::Array3;

    fn grid(rows: &[[u32; 3]]) -> LevelGrid {
        let mut levels = Array3::<u32>::zeros((1, rows.len(), 3));
        for (j, r) in rows.iter().enumerate() {
            for (i, &l) in r.iter().enumerate() {
                levels[[0, j, i]] = l;
            }
        }
        let d = Discretised {
            levels,
            n_levels: 3,
            spacing: [1.0; 3],
        };
        LevelGrid::new(&d, 1).unwrap()
    }

    #[test]
    fn horizontal_matrix_of_a_small_image() {
        // 1 1 2      pairs along x: {1,1}, {1,2}, {2,3}, {3,3}
        // 2 3 3      (the 0 is outside the ROI)
        // 0 1 3      {1,3}
        let g = grid(&[[1, 1, 2], [2, 3, 3], [0, 1, 3]]);
        let voxels = g.slice_voxels(0);
        let m = Glcm { distance: 1 }.build(&g, &voxels, 0);
        assert_eq!(
            m.entries,
            vec![(0, 0, 1), (0, 1, 1), (0, 2, 1), (1, 2, 1), (2, 2, 1)]
        );
        // Symmetric matrix / 10: diagonal 2/10 at (1,1) and (3,3); 1/10 at
        // (1,2),(2,1),(1,3),(3,1),(2,3),(3,2).
        let f = features(&m, &g.values, 3);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(f[0], 0.2)); // joint max
        assert!(close(f[1], 2.0)); // joint average: marginals 0.4, 0.2, 0.4
        assert!(close(f[2], 0.8)); // joint variance
        // contrast: 2·(1·0.1 + 4·0.1 + 1·0.1) = 1.2
        assert!(close(f[11], 1.2));
        // inverse variance: 2·(0.1/1 + 0.1/4 + 0.1/1) = 0.45
        assert!(close(f[17], 0.45));
        // autocorrelation: 1·0.2 + 9·0.2 + 2·(2 + 3 + 6)·0.1 = 4.2; corr = (4.2 - 4)/0.8
        assert!(close(f[19], 4.2));
        assert!(close(f[18], 0.25));
        assert!(close(f[7], 2.0 * f[1])); // sum average = 2 joint average
        assert!(close(f[8], f[20])); // sum variance = cluster tendency
    }
}
