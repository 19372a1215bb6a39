//! IBSI 3.10: neighbourhood grey tone difference matrix (NGTDM) features,
//! 2D / 2.5D / 3D.

use rayon::prelude::*;

use super::matrix::mean_features;
use super::neighbourhood::{NeighbourhoodTables, ToneCounts};
use super::{Dimension, TextureContext, push_features};
use crate::Result;
use crate::features::{FamilyInput, FeatureSet};
use crate::processing::Family;

pub const NAMES: [&str; 5] = [
    "ngt_coarseness",
    "ngt_contrast",
    "ngt_busyness",
    "ngt_complexity",
    "ngt_strength",
];

/// Coarseness when Σ p_i s_i = 0 (IBSI's arbitrary maximum).
const MAX_COARSENESS: f64 = 1e6;

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let ctx = TextureContext::new(input, Family::Ngtdm)?;
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
    let values = &ctx.grid.values;
    for &d in dims {
        let f = match d {
            Dimension::TwoD => {
                let rows: Vec<Vec<f64>> = tables
                    .tone_slices
                    .par_iter()
                    .filter_map(|t| features(t, values))
                    .collect();
                mean_features(&rows)
            }
            Dimension::TwoHalfD => tables
                .tone_merged
                .as_ref()
                .and_then(|t| features(t, values)),
            Dimension::ThreeD => tables
                .tone_volume
                .as_ref()
                .and_then(|t| features(t, values)),
        };
        push_features(out, &NAMES, d.tag_suffix(), f.as_deref());
    }
}

/// The five NGTDM features, or `None` when no voxel has a neighbour.
/// `values[i]` is the grey level of dense index i.
pub fn features(t: &ToneCounts, values: &[f64]) -> Option<Vec<f64>> {
    let nvc: u64 = t.n.iter().sum();
    if nvc == 0 {
        return None;
    }
    let nvc = nvc as f64;
    // Present levels only: (grey level, p_i, s_i).
    let present: Vec<(f64, f64, f64)> = (0..t.n.len())
        .filter(|&l| t.n[l] > 0)
        .map(|l| (values[l], t.n[l] as f64 / nvc, t.s[l]))
        .collect();
    let ngp = present.len() as f64;
    let ps: f64 = present.iter().map(|&(_, p, s)| p * s).sum();
    let s_total: f64 = present.iter().map(|&(_, _, s)| s).sum();

    let (mut dyn_range, mut busy_denominator, mut complexity, mut strength) = (0.0, 0.0, 0.0, 0.0);
    for &(i1, p1, s1) in &present {
        for &(i2, p2, s2) in &present {
            let d = i1 - i2;
            dyn_range += p1 * p2 * d * d;
            busy_denominator += (i1 * p1 - i2 * p2).abs();
            complexity += d.abs() * (p1 * s1 + p2 * s2) / (p1 + p2);
            strength += (p1 + p2) * d * d;
        }
    }
    let coarseness = if ps == 0.0 { MAX_COARSENESS } else { 1.0 / ps };
    let contrast = if ngp > 1.0 {
        dyn_range / (ngp * (ngp - 1.0)) * s_total / nvc
    } else {
        0.0
    };
    let busyness = if ngp > 1.0 && busy_denominator != 0.0 {
        ps / busy_denominator
    } else {
        0.0
    };
    let strength = if s_total == 0.0 {
        0.0
    } else {
        strength / s_total
    };
    Some(vec![
        coarseness,
        contrast,
        busyness,
        complexity / nvc,
        strength,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_of_the_ibsi_example_counts() {
        // The IBSI 2D example (complete neighbourhoods only): n = (0, 2, 1, 1),
        // s = (0, 1, 0.625, 1.875).
        let t = ToneCounts {
            s: vec![0.0, 1.0, 0.625, 1.875],
            n: vec![0, 2, 1, 1],
        };
        let f = features(&t, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let p: [f64; 3] = [0.5, 0.25, 0.25];
        let ps = 0.5 * 1.0 + 0.25 * 0.625 + 0.25 * 1.875;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(f[0], 1.0 / ps));
        // Σ p1 p2 (i1-i2)² over levels 2,3,4 = 2·(0.125·1 + 0.125·4 + 0.0625·1).
        let dyn_range = 2.0 * (0.125 + 0.5 + 0.0625);
        assert!(close(f[1], dyn_range / 6.0 * 3.5 / 4.0));
        let ip = [2.0 * p[0], 3.0 * p[1], 4.0 * p[2]];
        let den = 2.0 * ((ip[0] - ip[1]).abs() + (ip[0] - ip[2]).abs() + (ip[1] - ip[2]).abs());
        assert!(close(f[2], ps / den));
        let strength = 2.0 * ((0.75) * 1.0 + 0.75 * 4.0 + 0.5 * 1.0) / 3.5;
        assert!(close(f[4], strength));
    }

    #[test]
    fn single_level_and_no_neighbours() {
        let t = ToneCounts {
            s: vec![0.0],
            n: vec![3],
        };
        assert_eq!(features(&t, &[2.0]).unwrap(), vec![1e6, 0.0, 0.0, 0.0, 0.0]);
        let t = ToneCounts {
            s: vec![0.0],
            n: vec![0],
        };
        assert!(features(&t, &[2.0]).is_none());
    }
}
