//! Volume adaptation: the ROI grown or shrunk by a fraction of its volume.
//! Growth adds the voxels nearest to the ROI (Euclidean distance in mm),
//! shrinkage removes the ROI voxels nearest to its outside, until exactly
//! `round(|fraction| · volume)` voxels changed; equal distances are taken
//! in the grid's memory order, so the result is deterministic.

use ndarray::Array3;

use super::distance::squared_distance;
use crate::image::Volume;

/// The mask with `round(fraction · n)` voxels added (fraction > 0) or
/// removed (fraction < 0), `n` its voxel count. Fails when the grid has too
/// few voxels to grow into, or the shrunk ROI would be empty.
pub fn adapt_volume(mask: &Volume<bool>, fraction: f64) -> Result<Volume<bool>, String> {
    let n = mask.data.iter().filter(|&&m| m).count();
    if n == 0 {
        return Err("the ROI is empty".into());
    }
    let change = (fraction.abs() * n as f64).round() as usize;
    if change == 0 {
        return Ok(mask.clone());
    }
    let grow = fraction > 0.0;
    // Candidates: outside voxels by distance to the ROI (growth), or ROI
    // voxels by distance to the outside (shrinkage).
    let target: Array3<bool> = if grow {
        mask.data.clone()
    } else {
        mask.data.mapv(|m| !m)
    };
    let dist = squared_distance(&target, mask.geometry.spacing);
    let mut candidates: Vec<(f64, usize)> = mask
        .data
        .iter()
        .zip(dist.iter())
        .enumerate()
        .filter(|(_, (m, d))| **m != grow && d.is_finite())
        .map(|(idx, (_, &d))| (d, idx))
        .collect();
    if grow && candidates.len() < change {
        return Err(format!(
            "the grid has only {} voxels outside the ROI of {n}, fewer than the {change} to add",
            candidates.len()
        ));
    }
    if !grow && change >= n {
        return Err(format!(
            "removing {change} of the ROI's {n} voxels leaves nothing"
        ));
    }
    let order = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if candidates.len() > change {
        candidates.select_nth_unstable_by(change, order);
    }
    let mut out = mask.data.clone();
    let flat = out.as_slice_mut().expect("standard layout");
    for &(_, idx) in &candidates[..change] {
        flat[idx] = grow;
    }
    Ok(Volume::new(out, mask.geometry))
}

#[cfg(test)]
mod tests {
    use super::super::test_volumes::ball;
    use super::*;

    fn count(m: &Volume<bool>) -> usize {
        m.data.iter().filter(|&&m| m).count()
    }

    #[test]
    fn growth_and_shrinkage_change_the_volume_by_the_rounded_fraction() {
        let (_, mask) = ball(30, 8.0, [1.0, 1.0, 2.0]);
        let n = count(&mask);
        for f in [0.2, -0.2, 0.1, -0.1] {
            let out = adapt_volume(&mask, f).unwrap();
            let want = n as i64 + (f * n as f64).round() as i64;
            assert_eq!(count(&out) as i64, want, "fraction {f}");
            if f > 0.0 {
                assert!(mask.data.iter().zip(out.data.iter()).all(|(a, b)| !a || *b));
            } else {
                assert!(mask.data.iter().zip(out.data.iter()).all(|(a, b)| *a || !b));
            }
        }
        // The centre stays, growth reaches only the nearest shell.
        let shrunk = adapt_volume(&mask, -0.2).unwrap();
        assert!(shrunk.data[[14, 14, 14]]);
        let grown = adapt_volume(&mask, 0.2).unwrap();
        assert!(!grown.data[[14, 14, 0]]);
    }

    #[test]
    fn impossible_adaptations_say_why() {
        let (_, mask) = ball(5, 3.0, [1.0; 3]);
        assert!(adapt_volume(&mask, 5.0).unwrap_err().contains("fewer than"));
        assert!(
            adapt_volume(&mask, -0.9999)
                .unwrap_err()
                .contains("leaves nothing")
        );
    }
}
