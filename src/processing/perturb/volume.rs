//! Volume adaptation: the ROI grown or shrunk by a fraction of its volume.
//! Growth adds the voxels nearest to the ROI (Euclidean distance in mm),
//! shrinkage removes the ROI voxels nearest to its outside, until exactly
//! `round(|fraction| · volume)` voxels changed; equal distances are taken
//! in the grid's memory order, so the result is deterministic.

use super::distance::squared_distance_at;
use crate::image::Volume;
use crate::processing::crop::{bounding_box, crop, grow};
use crate::processing::interpolate::IndexBox;

/// The mask with `round(fraction · n)` voxels added (fraction > 0) or
/// removed (fraction < 0), `n` its voxel count. Fails when the grid has too
/// few voxels to grow into, or the shrunk ROI would be empty.
///
/// Distances are computed on a box around the ROI rather than the whole
/// grid (the grid is often a hundred times the ROI): for shrinkage the box
/// one voxel larger than the ROI, whose border is outside and nearer than
/// anything beyond it; for growth a box grown until the voxels it adds are
/// all strictly nearer than any voxel beyond it. Either way the result is
/// the whole grid's, voxel for voxel.
pub fn adapt_volume(mask: &Volume<bool>, fraction: f64) -> Result<Volume<bool>, String> {
    let n = mask.data.iter().filter(|&&m| m).count();
    let Some(roi) = bounding_box(&mask.data) else {
        return Err("the ROI is empty".into());
    };
    let change = (fraction.abs() * n as f64).round() as usize;
    if change == 0 {
        return Ok(mask.clone());
    }
    let grow_roi = fraction > 0.0;
    let outside = mask.data.len() - n;
    if grow_roi && outside < change {
        return Err(format!(
            "the grid has only {outside} voxels outside the ROI of {n}, fewer than the {change} to add"
        ));
    }
    if !grow_roi && change >= n {
        return Err(format!(
            "removing {change} of the ROI's {n} voxels leaves nothing"
        ));
    }
    let dims = mask.dims();
    let spacing = mask.geometry.spacing;
    let chosen = if grow_roi {
        let mut reach_mm = 2.0 * spacing.iter().copied().fold(0.0, f64::max);
        loop {
            let margin = spacing.map(|s| (reach_mm / s).ceil() as usize);
            let region = grow(roi, margin, dims);
            let (chosen, farthest) = nearest(mask, true, change, region);
            // A relative margin, so that rounding of the distances beyond
            // cannot make a tie.
            let beyond = nearest_beyond(roi, region, dims, spacing) * (1.0 - 1e-9);
            if chosen.len() == change && farthest < beyond {
                break chosen;
            }
            reach_mm *= 2.0;
        }
    } else {
        nearest(mask, false, change, grow(roi, [1; 3], dims)).0
    };
    let mut out = mask.data.clone();
    let flat = out.as_slice_mut().expect("standard layout");
    for idx in chosen {
        flat[idx] = grow_roi;
    }
    Ok(Volume::new(out, mask.geometry))
}

/// The (at most) `change` voxels of `region` nearest to the ROI (outside
/// voxels, `grow`) or to its outside (ROI voxels), as flat indices of the
/// whole grid (equal distances in memory order), and the largest of their
/// squared distances.
fn nearest(mask: &Volume<bool>, grow: bool, change: usize, region: IndexBox) -> (Vec<usize>, f64) {
    let box_mask = crop(&mask.data, region);
    let target = if grow {
        box_mask.clone()
    } else {
        box_mask.mapv(|m| !m)
    };
    let origin = region.map(|(lo, _)| lo);
    let dist = squared_distance_at(&target, mask.geometry.spacing, origin);
    let [nx, ny, _] = mask.dims();
    let mut candidates: Vec<(f64, usize)> = box_mask
        .indexed_iter()
        .zip(dist.iter())
        .filter(|((_, m), d)| **m != grow && d.is_finite())
        .map(|(((k, j, i), _), &d)| {
            let global = ((k + origin[2]) * ny + (j + origin[1])) * nx + (i + origin[0]);
            (d, global)
        })
        .collect();
    let order = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if candidates.len() > change {
        candidates.select_nth_unstable_by(change, order);
        candidates.truncate(change);
    }
    let farthest = candidates.iter().map(|c| c.0).fold(0.0, f64::max);
    (candidates.into_iter().map(|c| c.1).collect(), farthest)
}

/// The smallest squared distance (mm²) from the ROI of box `roi` that a
/// voxel of the grid outside `region` can have (infinite when `region` is
/// the whole grid).
fn nearest_beyond(roi: IndexBox, region: IndexBox, dims: [usize; 3], spacing: [f64; 3]) -> f64 {
    let mut nearest = f64::INFINITY;
    for a in 0..3 {
        // Voxels below the region start `roi.lo - region.lo + 1` voxels from
        // the ROI's lowest; above it, `region.hi - (roi.hi - 1)` from its highest.
        if region[a].0 > 0 {
            nearest = nearest.min(((roi[a].0 - region[a].0 + 1) as f64 * spacing[a]).powi(2));
        }
        if region[a].1 < dims[a] {
            nearest = nearest.min(((region[a].1 + 1 - roi[a].1) as f64 * spacing[a]).powi(2));
        }
    }
    nearest
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

    /// The box-restricted search chooses exactly the voxels the whole grid
    /// does, on irregular masks touching and not touching the grid's edge.
    #[test]
    fn the_box_search_matches_the_whole_grid_voxel_for_voxel() {
        use crate::image::Geometry;
        let dims = (9, 23, 19);
        let whole: IndexBox = [(0, 19), (0, 23), (0, 9)];
        for (seed, spacing) in [
            (1u64, [0.8, 0.8, 2.5]),
            (2, [1.0, 1.3, 0.7]),
            (3, [2.0, 1.0, 1.0]),
        ] {
            for shift in [0usize, 5] {
                // A lumpy blob from a fixed hash, away from or against the edge.
                let mask = ndarray::Array3::from_shape_fn(dims, |(k, j, i)| {
                    let h = (k as u64 * 7919 + j as u64 * 104_729 + i as u64 * 1_299_709 + seed)
                        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        >> 60;
                    let (z, y, x) = (
                        k as f64 - 4.0,
                        j as f64 - 11.0 + shift as f64,
                        i as f64 - 9.0,
                    );
                    x * x + y * y + 4.0 * z * z < 30.0 + h as f64 * 3.0
                });
                let mask = Volume::new(mask, Geometry::new(spacing, [0.0; 3]));
                let n = count(&mask);
                for f in [0.05, 0.2, 0.5, 1.5, -0.1, -0.3, -0.6] {
                    let got = adapt_volume(&mask, f).unwrap();
                    let change = (f64::abs(f) * n as f64).round() as usize;
                    let (oracle, _) = nearest(&mask, f > 0.0, change, whole);
                    let mut want = mask.data.clone();
                    let flat = want.as_slice_mut().unwrap();
                    for idx in oracle {
                        flat[idx] = f > 0.0;
                    }
                    assert_eq!(got.data, want, "seed {seed}, shift {shift}, fraction {f}");
                }
            }
        }
        // A one-voxel ROI grown far beyond the first box tried.
        let mut dot = ndarray::Array3::from_elem(dims, false);
        dot[[4, 11, 9]] = true;
        let dot = Volume::new(dot, Geometry::new([1.0, 1.0, 3.0], [0.0; 3]));
        for f in [50.0, 400.0, 700.0, 2000.0] {
            let got = adapt_volume(&dot, f).unwrap();
            let (oracle, _) = nearest(&dot, true, f as usize, whole);
            let mut want = dot.data.clone();
            for idx in oracle {
                want.as_slice_mut().unwrap()[idx] = true;
            }
            assert_eq!(got.data, want, "one voxel grown by {f}");
        }
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
