//! Contour randomisation: the ROI's boundary redrawn at random while its
//! interior stays, so that features can be tested against the variation
//! between two plausible delineations.
//!
//! - **Supervoxels** (the paper's method, the default): the image around the
//!   ROI is divided into SLIC supervoxels ([`super::supervoxel`]); a
//!   supervoxel overlapping the ROI is kept with probability equal to the
//!   fraction of it inside the ROI, the one with the largest fraction and
//!   those at least 90% inside always, those less than 20% inside never (as
//!   MIRP, by the paper's author, does); the union is closed (6-connected
//!   closing) to fill the gaps between kept supervoxels. The new boundary
//!   follows the image's own edges.
//! - **Blocks**: the same rule on cubes of about `block_mm` per side, on a
//!   grid whose offset is drawn per variant: only voxels within one block of
//!   the boundary change and the expected volume is the ROI's, but the
//!   blocks ignore the image's edges.

use rand::Rng;

use ndarray::Array3;

use super::supervoxel::supervoxels;
use crate::image::Volume;
use crate::processing::crop::{bounding_box, grow};

/// SLIC compactness (intensities scaled to [0, 1]; small: regions follow
/// intensity more than they stay round, MIRP's value).
const COMPACTNESS: f64 = 0.05;
/// Supervoxels at least this fraction inside the ROI are always kept...
const ALWAYS_KEPT: f64 = 0.9;
/// ...and those less than this fraction inside never.
const NEVER_KEPT: f64 = 0.2;

/// The mask redrawn from the SLIC supervoxels of `image` of about
/// `volume_mm3` each (see the module documentation).
pub fn randomise_contour_by_supervoxels(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    volume_mm3: f64,
    rng: &mut impl Rng,
) -> Volume<bool> {
    let Some(sv) = supervoxels(image, mask, volume_mm3, COMPACTNESS) else {
        return mask.clone();
    };
    let [(x0, _), (y0, _), (z0, _)] = sv.region;
    let mut inside = vec![0usize; sv.count];
    let mut total = vec![0usize; sv.count];
    for ((k, j, i), &r) in sv.labels.indexed_iter() {
        total[r as usize] += 1;
        inside[r as usize] += usize::from(mask.data[[k + z0, j + y0, i + x0]]);
    }
    let mut fraction: Vec<f64> = inside
        .iter()
        .zip(&total)
        .map(|(&a, &t)| a as f64 / t as f64)
        .collect();
    // The supervoxel most inside the ROI is always kept (the first of equals),
    // so the new ROI is never empty.
    let most = (0..sv.count).fold(0, |best, r| {
        if fraction[r] > fraction[best] {
            r
        } else {
            best
        }
    });
    fraction[most] = 1.0;
    // One draw per overlapping supervoxel, in region order.
    let keep: Vec<bool> = fraction
        .iter()
        .map(|&f| {
            if f == 0.0 {
                return false;
            }
            let draw: f64 = rng.r#gen();
            f >= ALWAYS_KEPT || (f >= NEVER_KEPT && draw < f)
        })
        .collect();
    // The kept supervoxels, closed, on the supervoxels' box grown by the
    // closing's reach (nothing is set beyond it).
    let dims = mask.dims();
    let closing_box = grow(sv.region, [1; 3], dims);
    let [(bx, _), (by, _), (bz, _)] = closing_box;
    let extent = closing_box.map(|(lo, hi)| hi - lo);
    let mut kept = Array3::from_elem((extent[2], extent[1], extent[0]), false);
    for ((k, j, i), &r) in sv.labels.indexed_iter() {
        kept[[k + z0 - bz, j + y0 - by, i + x0 - bx]] = keep[r as usize];
    }
    // Beyond a side of the box that is the grid's edge the erosion reads
    // "set" (the closing only adds); beyond an inner side the dilated mask
    // is empty.
    let at_edge = [0, 1, 2].map(|a| [closing_box[a].0 == 0, closing_box[a].1 == dims[a]]);
    let closed = close(&kept, at_edge);
    let mut out = Array3::from_elem(mask.data.dim(), false);
    out.slice_mut(ndarray::s![
        bz..bz + extent[2],
        by..by + extent[1],
        bx..bx + extent[0]
    ])
    .assign(&closed);
    Volume::new(out, mask.geometry)
}

/// Morphological closing by the 6-connected cross: a dilation (nothing set
/// beyond the array), then an erosion that reads beyond a side as set where
/// `at_edge[axis][side]` (the grid's edge: the closing only adds) and as
/// unset elsewhere.
fn close(mask: &Array3<bool>, at_edge: [[bool; 2]; 3]) -> Array3<bool> {
    let grown = cross_pass(mask, true, [[false; 2]; 3]);
    cross_pass(&grown, false, at_edge)
}

/// One pass with the 6-connected cross: with `any`, a voxel is set when it or
/// a neighbour is (dilation), else when it and all its neighbours are
/// (erosion); `outside[axis][side]` (x, y, z; low, high) is the value of
/// positions beyond the array.
fn cross_pass(mask: &Array3<bool>, any: bool, outside: [[bool; 2]; 3]) -> Array3<bool> {
    let (nz, ny, nx) = mask.dim();
    Array3::from_shape_fn(mask.dim(), |(k, j, i)| {
        let at = |dk: isize, dj: isize, di: isize| {
            let (k, j, i) = (k as isize + dk, j as isize + dj, i as isize + di);
            let beyond = [(i, nx), (j, ny), (k, nz)]
                .iter()
                .enumerate()
                .find_map(|(a, &(p, n))| {
                    if p < 0 {
                        Some(outside[a][0])
                    } else if p >= n as isize {
                        Some(outside[a][1])
                    } else {
                        None
                    }
                });
            beyond.unwrap_or_else(|| mask[[k as usize, j as usize, i as usize]])
        };
        let values = [
            at(0, 0, 0),
            at(-1, 0, 0),
            at(1, 0, 0),
            at(0, -1, 0),
            at(0, 1, 0),
            at(0, 0, -1),
            at(0, 0, 1),
        ];
        if any {
            values.iter().any(|&v| v)
        } else {
            values.iter().all(|&v| v)
        }
    })
}

/// The mask with its boundary blocks redrawn.
pub fn randomise_contour_by_blocks(
    mask: &Volume<bool>,
    block_mm: f64,
    rng: &mut impl Rng,
) -> Volume<bool> {
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

    use super::super::distance::squared_distance_at;
    use super::super::test_volumes::ball;
    use super::*;

    #[test]
    fn the_boundary_changes_the_interior_stays_and_the_volume_is_close() {
        let (_, mask) = ball(40, 14.0, [1.0; 3]);
        let n = mask.data.iter().filter(|&&m| m).count() as f64;
        let out = randomise_contour_by_blocks(&mask, 3.0, &mut ChaCha8Rng::seed_from_u64(3));
        let changed: Vec<_> = mask
            .data
            .indexed_iter()
            .filter(|(p, m)| out.data[*p] != **m)
            .map(|(p, _)| p)
            .collect();
        assert!(changed.len() > 50, "only {} voxels changed", changed.len());
        // Every changed voxel lies within one block (3 voxels per axis, so
        // a diagonal of √27 mm) of the boundary.
        let inside = squared_distance_at(&mask.data.mapv(|m| !m), [1.0; 3], [0; 3]);
        let outside = squared_distance_at(&mask.data, [1.0; 3], [0; 3]);
        for p in &changed {
            assert!(inside[*p].min(outside[*p]) <= 27.0 + 1e-9, "{p:?}");
        }
        let kept = out.data.iter().filter(|&&m| m).count() as f64;
        assert!((kept / n - 1.0).abs() < 0.05, "{n} -> {kept}");
        // Deep interior untouched.
        assert!(out.data[[20, 20, 20]] && out.data[[20, 20, 12]]);
        let again = randomise_contour_by_blocks(&mask, 3.0, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(again, out);
        let other = randomise_contour_by_blocks(&mask, 3.0, &mut ChaCha8Rng::seed_from_u64(4));
        assert_ne!(other, out);
    }

    /// A 40³ image at 1 mm: a bright ball of radius `lesion` at the centre
    /// (100 HU, with a gentle ramp inside) on a 0 HU background, and a ROI
    /// ball of radius `roi`.
    fn lesion(lesion: f64, roi: f64) -> (Volume<f32>, Volume<bool>) {
        let (ramp, _) = ball(40, 1.0, [1.0; 3]);
        let c = 19.5;
        let d = |(k, j, i): (usize, usize, usize)| {
            ((i as f64 - c).powi(2) + (j as f64 - c).powi(2) + (k as f64 - c).powi(2)).sqrt()
        };
        let image = ndarray::Array3::from_shape_fn((40, 40, 40), |p| {
            if d(p) <= lesion {
                100.0 + 0.1 * ramp.data[p]
            } else {
                0.0
            }
        });
        let mask = ndarray::Array3::from_shape_fn((40, 40, 40), |p| d(p) <= roi);
        (
            Volume::new(image, ramp.geometry),
            Volume::new(mask, ramp.geometry),
        )
    }

    fn changed(a: &Volume<bool>, b: &Volume<bool>) -> usize {
        a.data
            .iter()
            .zip(b.data.iter())
            .filter(|(x, y)| x != y)
            .count()
    }

    #[test]
    fn supervoxel_randomisation_follows_the_image_edges() {
        // The ROI drawn 2 mm outside the lesion's edge. The supervoxels follow
        // the edge: those of the background shell reach beyond the ROI and
        // are often dropped, so the boundary moves within the background
        // (towards the lesion's edge on average) and never cuts the lesion.
        let (image, mask) = lesion(10.0, 12.0);
        let n = mask.data.iter().filter(|&&m| m).count();
        let background = |m: &Volume<bool>| {
            m.data
                .iter()
                .zip(image.data.iter())
                .filter(|&(&m, &v)| m && v < 50.0)
                .count()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let out = randomise_contour_by_supervoxels(&image, &mask, 125.0, &mut rng);
        let moved = changed(&mask, &out);
        assert!(moved > n / 20, "only {moved} of {n} voxels changed");
        for (p, &v) in image.data.indexed_iter() {
            if v > 50.0 {
                assert!(out.data[p], "lesion voxel {p:?} dropped");
            }
        }
        let (before, after) = (background(&mask), background(&out));
        assert!(
            after < before,
            "background voxels in the ROI: {before} before, {after} after"
        );
        // Blocks, blind to the image, cut into the lesion.
        let blocks = randomise_contour_by_blocks(&mask, 5.0, &mut ChaCha8Rng::seed_from_u64(5));
        let lesion_dropped = image
            .data
            .iter()
            .zip(blocks.data.iter())
            .filter(|&(&v, &m)| v > 50.0 && !m)
            .count();
        assert!(lesion_dropped > 0, "blocks kept the whole lesion");
        // Deterministic for a seed, different for another.
        let again = randomise_contour_by_supervoxels(
            &image,
            &mask,
            125.0,
            &mut ChaCha8Rng::seed_from_u64(5),
        );
        assert_eq!(again, out);
        let other = randomise_contour_by_supervoxels(
            &image,
            &mask,
            125.0,
            &mut ChaCha8Rng::seed_from_u64(6),
        );
        assert_ne!(other, out);
    }

    #[test]
    fn closing_fills_a_one_voxel_gap_and_keeps_voxels_on_the_grid_edge() {
        // A 1 x 3 x 5 slab with a hole in the middle of its centre row; the
        // array's sides are the grid's edges.
        let mut mask = ndarray::Array3::from_elem((1, 3, 5), true);
        mask[[0, 1, 2]] = false;
        let closed = close(&mask, [[true; 2]; 3]);
        assert!(closed.iter().all(|&m| m), "{closed:?}");
        // Inner sides (beyond them nothing is set): an isolated voxel stays,
        // nothing else appears.
        let mut lone = ndarray::Array3::from_elem((3, 3, 3), false);
        lone[[1, 1, 1]] = true;
        assert_eq!(close(&lone, [[false; 2]; 3]), lone);
    }
}
