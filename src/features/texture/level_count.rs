//! Features of a grey level × count matrix: the GLRLM (run length), GLSZM
//! (zone size), GLDZM (zone distance) and NGLDM (dependence count) share one
//! definition (IBSI 3.7-3.9, 3.11), only the names differ. Columns `j` are
//! the counts themselves (1-based); rows are dense level indices, weighted
//! by their grey level.

use rayon::prelude::*;

use super::Dimension;
use super::matrix::{CountMatrix, mean_features};

/// Number of features in [`features`] order: short/long emphasis, low/high
/// grey level emphasis, the four joint emphases, grey level non-uniformity
/// (plain, normalised), count non-uniformity (plain, normalised), percentage,
/// grey level variance, count variance, entropy, energy.
pub const N_FEATURES: usize = 17;

/// The features of a non-empty matrix; `values[i]` is the grey level of row i.
pub fn features(m: &CountMatrix, values: &[f64]) -> Vec<f64> {
    let ns = m.total() as f64;
    let mut row_sums = vec![0u64; values.len()];
    let mut col_sums: Vec<(u32, u64)> = m.entries.iter().map(|&(_, c, n)| (c, n)).collect();
    col_sums.sort_unstable();
    col_sums.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });

    let (mut sdlge, mut sdhge, mut ldlge, mut ldhge) = (0.0, 0.0, 0.0, 0.0);
    let (mut mu_i, mut mu_j, mut entr, mut energy) = (0.0, 0.0, 0.0, 0.0);
    for &(r, c, n) in &m.entries {
        row_sums[r as usize] += n;
        let i2 = values[r as usize].powi(2);
        let j2 = (c as f64).powi(2);
        let n = n as f64;
        sdlge += n / (i2 * j2);
        sdhge += n * i2 / j2;
        ldlge += n * j2 / i2;
        ldhge += n * i2 * j2;
        let p = n / ns;
        mu_i += values[r as usize] * p;
        mu_j += c as f64 * p;
        entr -= p * p.log2();
        energy += p * p;
    }
    let (mut var_i, mut var_j) = (0.0, 0.0);
    for &(r, c, n) in &m.entries {
        let p = n as f64 / ns;
        var_i += (values[r as usize] - mu_i).powi(2) * p;
        var_j += (c as f64 - mu_j).powi(2) * p;
    }
    let (mut short, mut long, mut count_nu) = (0.0, 0.0, 0.0);
    for &(c, n) in &col_sums {
        let (j, n) = (c as f64, n as f64);
        short += n / (j * j);
        long += n * j * j;
        count_nu += n * n;
    }
    let (mut low, mut high, mut level_nu) = (0.0, 0.0, 0.0);
    for (r, &n) in row_sums.iter().enumerate() {
        let (i, n) = (values[r], n as f64);
        low += n / (i * i);
        high += n * i * i;
        level_nu += n * n;
    }
    vec![
        short / ns,
        long / ns,
        low / ns,
        high / ns,
        sdlge / ns,
        sdhge / ns,
        ldlge / ns,
        ldhge / ns,
        level_nu / ns,
        level_nu / (ns * ns),
        count_nu / ns,
        count_nu / (ns * ns),
        ns / m.n_voxels as f64,
        var_i,
        var_j,
        entr,
        energy,
    ]
}

/// The level × count matrices of each requested dimension (zone and
/// neighbourhood families).
#[derive(Debug, Clone, Default)]
pub struct LevelCountMatrices {
    /// One matrix per slice with voxels (2D).
    pub slices: Vec<CountMatrix>,
    /// The merged slice matrices (2.5D).
    pub merged: Option<CountMatrix>,
    /// The volume matrix (3D).
    pub volume: Option<CountMatrix>,
}

impl LevelCountMatrices {
    /// Features per requested dimension: 2D averages the slice features.
    pub fn features(&self, values: &[f64], dim: Dimension) -> Option<Vec<f64>> {
        let f = |m: &CountMatrix| (!m.is_empty()).then(|| features(m, values));
        match dim {
            Dimension::TwoD => {
                let rows: Vec<Vec<f64>> = self.slices.par_iter().filter_map(f).collect();
                mean_features(&rows)
            }
            Dimension::TwoHalfD => self.merged.as_ref().and_then(f),
            Dimension::ThreeD => self.volume.as_ref().and_then(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::texture::matrix::key;

    #[test]
    fn features_of_a_two_by_two_matrix() {
        // Level 1: one count-1 entry; level 2: two count-2 entries; 5 voxels.
        let mut keys = vec![key(0, 1), key(1, 2), key(1, 2)];
        let m = CountMatrix::from_keys(&mut keys, 5);
        let f = features(&m, &[1.0, 2.0]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(f[0], (1.0 + 2.0 / 4.0) / 3.0)); // short emphasis
        assert!(close(f[1], (1.0 + 2.0 * 4.0) / 3.0)); // long emphasis
        assert!(close(f[2], (1.0 + 2.0 / 4.0) / 3.0)); // low grey level
        assert!(close(f[3], (1.0 + 2.0 * 4.0) / 3.0)); // high grey level
        assert!(close(f[4], (1.0 + 2.0 / 16.0) / 3.0));
        assert!(close(f[5], (1.0 + 2.0 * 4.0 / 4.0) / 3.0));
        assert!(close(f[6], (1.0 + 2.0 * 4.0 / 4.0) / 3.0));
        assert!(close(f[7], (1.0 + 2.0 * 16.0) / 3.0));
        assert!(close(f[8], (1.0 + 4.0) / 3.0));
        assert!(close(f[9], 5.0 / 9.0));
        assert!(close(f[10], 5.0 / 3.0));
        assert!(close(f[12], 3.0 / 5.0));
        // p = (1/3, 2/3) on i = (1, 2) and j = (1, 2): variance 2/9 both.
        assert!(close(f[13], 2.0 / 9.0));
        assert!(close(f[14], 2.0 / 9.0));
        let h = -(1.0 / 3.0f64) * (1.0 / 3.0f64).log2() - (2.0 / 3.0) * (2.0 / 3.0f64).log2();
        assert!(close(f[15], h));
        assert!(close(f[16], 5.0 / 9.0));
    }
}
