//! Contour randomisation. The paper forms supervoxels of the image and keeps
//! each with probability equal to its overlap with the ROI. Here the
//! "supervoxels" are blocks of about `block_mm` per side (at least one
//! voxel) on a grid whose offset is drawn per variant: a block wholly inside
//! or outside the ROI is unchanged, a block the boundary crosses becomes
//! wholly ROI with probability equal to the fraction of it inside the ROI,
//! wholly background otherwise. So only voxels within one block of the
//! boundary change, and the expected volume is the ROI's. Blocks ignore the
//! image's edges (unlike SLIC supervoxels), which is the deviation from
//! the paper.

use rand::Rng;

use crate::image::Volume;
use crate::processing::crop::bounding_box;

/// The mask with its boundary blocks redrawn.
pub fn randomise_contour(mask: &Volume<bool>, block_mm: f64, rng: &mut impl Rng) -> Volume<bool> {
    let dims = mask.dims();
    let Some(bbox) = bounding_box(&mask.data) else {
        return mask.clone();
    };
    let size: [usize; 3] =
        [0, 1, 2].map(|a| ((block_mm / mask.geometry.spacing[a]).round() as usize).max(1));
    let offset: [usize; 3] = [0, 1, 2].map(|a| rng.gen_range(0..size[a]));
    // Block b of axis a covers [b·size − offset, (b+1)·size − offset).
    let block_of = |a: usize, p: usize| (p + offset[a]) / size[a];
    let range = |a: usize| block_of(a, bbox[a].0)..=block_of(a, bbox[a].1 - 1);
    let mut out = mask.data.clone();
    for bz in range(2) {
        for by in range(1) {
            for bx in range(0) {
                let span = |a: usize, b: usize| {
                    let lo = (b * size[a]).saturating_sub(offset[a]);
                    let hi = ((b + 1) * size[a] - offset[a]).min(dims[a]);
                    lo..hi
                };
                let (xs, ys, zs) = (span(0, bx), span(1, by), span(2, bz));
                let total = xs.len() * ys.len() * zs.len();
                let mut inside = 0;
                for k in zs.clone() {
                    for j in ys.clone() {
                        for i in xs.clone() {
                            inside += usize::from(mask.data[[k, j, i]]);
                        }
                    }
                }
                // One draw per block crossed by the boundary, in block order.
                if inside == 0 || inside == total {
                    continue;
                }
                let keep = rng.r#gen::<f64>() < inside as f64 / total as f64;
                for k in zs.clone() {
                    for j in ys.clone() {
                        for i in xs.clone() {
                            out[[k, j, i]] = keep;
                        }
                    }
                }
            }
        }
    }
    Volume::new(out, mask.geometry)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::distance::squared_distance;
    use super::super::test_volumes::ball;
    use super::*;

    #[test]
    fn the_boundary_changes_the_interior_stays_and_the_volume_is_close() {
        let (_, mask) = ball(40, 14.0, [1.0; 3]);
        let n = mask.data.iter().filter(|&&m| m).count() as f64;
        let out = randomise_contour(&mask, 3.0, &mut ChaCha8Rng::seed_from_u64(3));
        let changed: Vec<_> = mask
            .data
            .indexed_iter()
            .filter(|(p, m)| out.data[*p] != **m)
            .map(|(p, _)| p)
            .collect();
        assert!(changed.len() > 50, "only {} voxels changed", changed.len());
        // Every changed voxel lies within one block (3 voxels per axis, so
        // a diagonal of √27 mm) of the boundary.
        let inside = squared_distance(&mask.data.mapv(|m| !m), [1.0; 3]);
        let outside = squared_distance(&mask.data, [1.0; 3]);
        for p in &changed {
            assert!(inside[*p].min(outside[*p]) <= 27.0 + 1e-9, "{p:?}");
        }
        let kept = out.data.iter().filter(|&&m| m).count() as f64;
        assert!((kept / n - 1.0).abs() < 0.05, "{n} -> {kept}");
        // Deep interior untouched.
        assert!(out.data[[20, 20, 20]] && out.data[[20, 20, 12]]);
        let again = randomise_contour(&mask, 3.0, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(again, out);
        let other = randomise_contour(&mask, 3.0, &mut ChaCha8Rng::seed_from_u64(4));
        assert_ne!(other, out);
    }
}
