//! IBSI family: intensity histogram (IBSI 3.4), on the grey levels of the
//! discretised intensity-mask voxels.

use super::descriptive::push_distribution_features;
use super::{FamilyInput, FeatureSet};
use crate::processing::{Discretised, Family};
use crate::{Error, Result};

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let discretised = input.require_discretised(Family::Histogram)?;
    let levels = mask_levels(input, discretised)?;
    // Non-sparse histogram over 1..=Ng (index 0 unused).
    let n_g = discretised.n_levels.max(*levels.iter().max().unwrap_or(&1)) as usize;
    let mut counts = vec![0u64; n_g + 1];
    for &l in &levels {
        counts[l as usize] += 1;
    }
    let n = levels.len() as f64;
    let mut values: Vec<f64> = levels.iter().map(|&l| l as f64).collect();
    let mean = values.iter().sum::<f64>() / n;
    push_distribution_features("ih", &mut values, Some(mode(&counts, mean)), out);

    let probabilities = counts[1..].iter().map(|&c| c as f64 / n);
    let entropy: f64 = probabilities
        .clone()
        .filter(|&p| p > 0.0)
        .map(|p| -p * p.log2())
        .sum();
    let uniformity: f64 = probabilities.map(|p| p * p).sum();
    out.push("ih_entropy", entropy);
    out.push("ih_uniformity", uniformity);

    let gradient = histogram_gradient(&counts[1..]);
    // First occurrence wins on ties, so the lowest grey level is reported.
    let (mut imax, mut imin) = (0, 0);
    for (i, &g) in gradient.iter().enumerate() {
        if g > gradient[imax] {
            imax = i;
        }
        if g < gradient[imin] {
            imin = i;
        }
    }
    out.push("ih_max_grad", gradient[imax]);
    out.push("ih_max_grad_g", (imax + 1) as f64);
    out.push("ih_min_grad", gradient[imin]);
    out.push("ih_min_grad_g", (imin + 1) as f64);
    Ok(())
}

/// Grey levels (>= 1) of the intensity-mask voxels.
fn mask_levels(input: &FamilyInput, discretised: &Discretised) -> Result<Vec<u32>> {
    let mask = &input.roi.int_mask;
    if mask.shape() != discretised.levels.shape() {
        return Err(Error::data(format!(
            "discretised image shape {:?} differs from intensity mask shape {:?}",
            discretised.levels.shape(),
            mask.shape()
        )));
    }
    let levels: Vec<u32> = discretised
        .levels
        .iter()
        .zip(mask.iter())
        .filter(|&(_, &m)| m)
        .map(|(&l, _)| l)
        .collect();
    if levels.is_empty() {
        return Err(Error::data("the intensity mask is empty"));
    }
    if levels.contains(&0) {
        return Err(Error::data(
            "the discretised image has grey level 0 inside the intensity mask",
        ));
    }
    Ok(levels)
}

/// The most frequent grey level; ties go to the level closest to the mean,
/// then to the lower one (IBSI 3.4.10). `counts[i]` is the count of level i.
fn mode(counts: &[u64], mean: f64) -> f64 {
    let top = *counts.iter().max().unwrap_or(&0);
    let mut best: Option<usize> = None;
    for (level, &c) in counts.iter().enumerate().skip(1) {
        if c != top {
            continue;
        }
        best = match best {
            Some(b) if (b as f64 - mean).abs() <= (level as f64 - mean).abs() => Some(b),
            _ => Some(level),
        };
    }
    best.unwrap_or(1) as f64
}

/// IBSI histogram gradient: one-sided differences at the ends, central
/// differences inside; same length as the histogram.
fn histogram_gradient(counts: &[u64]) -> Vec<f64> {
    let n = counts.len();
    let c = |i: usize| counts[i] as f64;
    if n == 1 {
        return vec![0.0];
    }
    (0..n)
        .map(|i| {
            if i == 0 {
                c(1) - c(0)
            } else if i == n - 1 {
                c(n - 1) - c(n - 2)
            } else {
                (c(i + 1) - c(i - 1)) / 2.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_uses_one_sided_differences_at_the_ends() {
        assert_eq!(
            histogram_gradient(&[5, 1, 4, 0]),
            vec![-4.0, -0.5, -0.5, -4.0]
        );
        assert_eq!(histogram_gradient(&[3]), vec![0.0]);
    }

    #[test]
    fn mode_ties_go_to_the_level_closest_to_the_mean_then_the_lower() {
        // counts of levels 1..=4 (index 0 unused)
        assert_eq!(mode(&[0, 3, 1, 3, 0], 2.8), 3.0);
        assert_eq!(mode(&[0, 3, 1, 3, 0], 2.0), 1.0);
        assert_eq!(mode(&[0, 1, 5, 1, 0], 1.0), 2.0);
    }
}
