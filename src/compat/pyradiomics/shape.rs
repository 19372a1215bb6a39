//! PyRadiomics' 3D shape features: mesh volume and surface by PyRadiomics'
//! marching cubes on the mask (see `mesh`), maximum diameters between mesh vertices
//! (the midpoints of the voxel edges the surface cuts), and the principal
//! axes from the covariance of the voxel centres (divided by N).

use std::collections::BTreeMap;

use super::mesh;
use super::roi::Roi;
use crate::features::morphology::linalg::symmetric_eigen;

/// Covariance eigenvalues as PyRadiomics keeps them: those just below
/// zero (machine error, above -1e-10) become 0, then increasing order.
pub(super) fn rounded_eigenvalues<const N: usize>(mut values: [f64; N]) -> [f64; N] {
    for e in &mut values {
        if *e < 0.0 && *e > -1e-10 {
            *e = 0.0;
        }
    }
    values.sort_by(f64::total_cmp);
    values
}

pub struct Shape {
    volume: f64,
    area: f64,
    voxel_volume: f64,
    /// Maximum diameters: same slice (z), same column (y), same row (x), any.
    diameters: [f64; 4],
    /// Covariance eigenvalues, increasing.
    eigen: [f64; 3],
}

impl Shape {
    pub fn new(roi: &Roi) -> Shape {
        let sp = roi.spacing_zyx;
        let surface = mesh::surface(&roi.mask, sp);
        let n = roi.voxels.len() as f64;
        // Voxel centres in mm, array order (z, y, x).
        let centres: Vec<[f64; 3]> = roi
            .mask
            .indexed_iter()
            .filter(|(_, m)| **m)
            .map(|((k, j, i), _)| [k as f64 * sp[0], j as f64 * sp[1], i as f64 * sp[2]])
            .collect();
        let mean: [f64; 3] = std::array::from_fn(|a| centres.iter().map(|c| c[a]).sum::<f64>() / n);
        let mut cov = [[0.0; 3]; 3];
        for c in &centres {
            for a in 0..3 {
                for b in 0..3 {
                    cov[a][b] += (c[a] - mean[a]) * (c[b] - mean[b]) / n;
                }
            }
        }
        let eigen = rounded_eigenvalues(symmetric_eigen(cov).0);
        Shape {
            volume: surface.volume,
            area: surface.area,
            voxel_volume: n * sp[0] * sp[1] * sp[2],
            diameters: diameters(roi),
            eigen,
        }
    }

    pub fn value(&self, name: &str) -> Option<f64> {
        let (v, a) = (self.volume, self.area);
        let axis = |e: f64| if e < 0.0 { f64::NAN } else { e.sqrt() * 4.0 };
        Some(match name {
            "MeshVolume" => v,
            "VoxelVolume" => self.voxel_volume,
            "SurfaceArea" => a,
            "SurfaceVolumeRatio" => a / v,
            "Sphericity" => (36.0 * std::f64::consts::PI * v * v).cbrt() / a,
            "Compactness1" => v / (a.powf(1.5) * std::f64::consts::PI.sqrt()),
            "Compactness2" => 36.0 * std::f64::consts::PI * v * v / a.powi(3),
            "SphericalDisproportion" => a / (36.0 * std::f64::consts::PI * v * v).cbrt(),
            "Maximum3DDiameter" => self.diameters[3],
            "Maximum2DDiameterSlice" => self.diameters[0],
            "Maximum2DDiameterColumn" => self.diameters[1],
            "Maximum2DDiameterRow" => self.diameters[2],
            "MajorAxisLength" => axis(self.eigen[2]),
            "MinorAxisLength" => axis(self.eigen[1]),
            "LeastAxisLength" => axis(self.eigen[0]),
            "Elongation" => (self.eigen[1] / self.eigen[2]).sqrt(),
            "Flatness" => (self.eigen[0] / self.eigen[2]).sqrt(),
            _ => return None,
        })
    }
}

/// Maximum distances between mesh vertices, in half-voxel units converted
/// to mm: [same z, same y, same x, any].
fn diameters(roi: &Roi) -> [f64; 4] {
    mask_diameters(&roi.mask, roi.spacing_zyx.map(|s| s / 2.0))
}

/// [`diameters`] of a mask whose half-voxel is `h` mm along (z, y, x).
fn mask_diameters(mask: &ndarray::Array3<bool>, h: [f64; 3]) -> [f64; 4] {
    let vertices = mesh_vertices(mask);
    let mut best = [0.0f64; 4];
    // Any pair: the points extreme along x within their (z, y) line, then
    // along y within their (z, x) line.
    let hull_candidates = line_extremes(&line_extremes(&vertices, 2), 1);
    best[3] = farthest_squared(&hull_candidates, h);
    // Pairs in one plane of constant coordinate `c`: lines along the two
    // other axes lie in that plane, so the same pruning holds within it.
    for c in 0..3 {
        let mut planes: BTreeMap<i64, Vec<[i64; 3]>> = BTreeMap::new();
        for v in &vertices {
            planes.entry(v[c]).or_default().push(*v);
        }
        for plane in planes.values() {
            let kept = line_extremes(&line_extremes(plane, (c + 1) % 3), (c + 2) % 3);
            best[c] = best[c].max(farthest_squared(&kept, h));
        }
    }
    best.map(f64::sqrt)
}

/// The mesh's vertices: midpoints of the voxel edges whose ends differ, in
/// half-voxel units (z, y, x).
fn mesh_vertices(m: &ndarray::Array3<bool>) -> Vec<[i64; 3]> {
    let shape = m.shape();
    let mut vertices: Vec<[i64; 3]> = Vec::new();
    for ((k, j, i), &inside) in m.indexed_iter() {
        let here = [k, j, i];
        for axis in 0..3 {
            let mut next = here;
            next[axis] += 1;
            if next[axis] >= shape[axis] {
                continue;
            }
            if inside != m[next] {
                let mut v = [2 * k as i64, 2 * j as i64, 2 * i as i64];
                v[axis] += 1;
                vertices.push(v);
            }
        }
    }
    vertices
}

/// Of the points on each line along axis `along` (equal other coordinates),
/// only the two ends. A point strictly between two others is never needed
/// for a farthest pair: its distance to any point is at most the larger of
/// that point's distances to the two ends (the distance is convex along a
/// segment), and that distance is computed by the same expression, so the
/// maximum keeps its exact value.
fn line_extremes(points: &[[i64; 3]], along: usize) -> Vec<[i64; 3]> {
    let others = |p: &[i64; 3]| -> [i64; 2] {
        let mut o = [0; 2];
        let mut n = 0;
        for (axis, &value) in p.iter().enumerate() {
            if axis != along {
                o[n] = value;
                n += 1;
            }
        }
        o
    };
    let mut ends: BTreeMap<[i64; 2], (i64, i64)> = BTreeMap::new();
    for p in points {
        let e = ends.entry(others(p)).or_insert((p[along], p[along]));
        e.0 = e.0.min(p[along]);
        e.1 = e.1.max(p[along]);
    }
    points
        .iter()
        .filter(|p| {
            let (low, high) = ends[&others(p)];
            p[along] == low || p[along] == high
        })
        .copied()
        .collect()
}

/// The largest squared distance (mm²) between two of `points` (half-voxel
/// units, `h` mm each); 0 with fewer than two.
///
/// Pairs are visited from the points farthest from the centroid inwards,
/// and a pair whose two distances to the centroid add up to less than the
/// best distance so far is skipped (the triangle inequality: it cannot be
/// farther apart). Most pairs of a compact ROI are skipped; the pairs that
/// remain are measured by the same expression as every pair would be, so
/// the maximum keeps its exact value.
fn farthest_squared(points: &[[i64; 3]], h: [f64; 3]) -> f64 {
    let squared = |a: &[i64; 3], b: &[i64; 3]| {
        let d: [f64; 3] = std::array::from_fn(|c| (a[c] - b[c]) as f64 * h[c]);
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    };
    let n = points.len() as f64;
    let centroid: [f64; 3] =
        std::array::from_fn(|c| points.iter().map(|p| p[c] as f64 * h[c]).sum::<f64>() / n);
    let mut by_radius: Vec<(f64, &[i64; 3])> = points
        .iter()
        .map(|p| {
            let r2: f64 = (0..3)
                .map(|c| (p[c] as f64 * h[c] - centroid[c]).powi(2))
                .sum();
            (r2.sqrt(), p)
        })
        .collect();
    by_radius.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Rounding in the radii is far below this margin (1 nm), so no pair
    // that could be the farthest is skipped.
    const MARGIN_MM: f64 = 1e-6;
    let mut best = 0.0f64;
    for (x, &(ra, a)) in by_radius.iter().enumerate() {
        let reach = |rb: f64| (ra + rb + MARGIN_MM).powi(2);
        if reach(ra) < best {
            break;
        }
        for &(rb, b) in &by_radius[x + 1..] {
            if reach(rb) < best {
                break;
            }
            let dist = squared(a, b);
            if dist > best {
                best = dist;
            }
        }
    }
    best
}

#[cfg(test)]
mod diameter_tests {
    use super::*;

    /// Every pair, as PyRadiomics does.
    fn brute_force(m: &ndarray::Array3<bool>, h: [f64; 3]) -> [f64; 4] {
        let vertices = mesh_vertices(m);
        let mut best = [0.0f64; 4];
        for (x, a) in vertices.iter().enumerate() {
            for b in &vertices[x + 1..] {
                let d: [f64; 3] = std::array::from_fn(|c| (a[c] - b[c]) as f64 * h[c]);
                let dist = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                for c in 0..3 {
                    if a[c] == b[c] && dist > best[c] {
                        best[c] = dist;
                    }
                }
                best[3] = best[3].max(dist);
            }
        }
        best.map(f64::sqrt)
    }

    /// The four diameters of `m` at `spacing` equal every pair's, to the bit.
    fn assert_pruned_equals_every_pair(m: &ndarray::Array3<bool>, spacing: [f64; 3], what: &str) {
        let roi_h = spacing.map(|s| s / 2.0);
        let want = brute_force(m, roi_h);
        let got = mask_diameters(m, roi_h);
        for c in 0..4 {
            assert_eq!(got[c].to_bits(), want[c].to_bits(), "{what}, diameter {c}");
        }
    }

    /// Balls and ellipsoids: many vertices at nearly the same distance from
    /// the centroid, where skipping pairs by their radii prunes least.
    #[test]
    fn pruned_diameters_of_round_masks_equal_every_pair_to_the_bit() {
        for (axes, spacing) in [
            ([7.5, 7.5, 7.5], [1.0, 1.0, 1.0]),
            ([4.2, 9.3, 6.1], [2.5, 0.7, 0.9]),
            ([3.0, 3.0, 11.4], [1.0, 0.8, 0.8]),
        ] {
            let dims = axes.map(|a: f64| 2 * a.ceil() as usize + 3);
            let m = ndarray::Array3::from_shape_fn((dims[0], dims[1], dims[2]), |(k, j, i)| {
                let q = |x: usize, axis: usize| {
                    let c = (dims[axis] as f64 - 1.0) / 2.0;
                    ((x as f64 - c) / axes[axis]).powi(2)
                };
                q(k, 0) + q(j, 1) + q(i, 2) <= 1.0
            });
            assert_pruned_equals_every_pair(&m, spacing, &format!("{axes:?}"));
        }
    }

    #[test]
    fn pruned_diameters_equal_every_pair_to_the_bit() {
        let spacing = [2.5, 0.7, 0.9];
        for seed in 0..20u64 {
            // Irregular masks: a few overlapping blobs and scattered voxels.
            let mut state = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut next = move || {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) as usize
            };
            let (nz, ny, nx) = (6, 11, 13);
            let centres: Vec<[usize; 4]> = (0..3)
                .map(|_| [next() % nz, next() % ny, next() % nx, 1 + next() % 4])
                .collect();
            let mut m = ndarray::Array3::from_shape_fn((nz, ny, nx), |(k, j, i)| {
                centres.iter().any(|&[ck, cj, ci, r]| {
                    let d = |a: usize, b: usize| (a as i64 - b as i64).pow(2);
                    d(k, ck) + d(j, cj) + d(i, ci) <= (r * r) as i64
                })
            });
            for _ in 0..5 {
                m[[next() % nz, next() % ny, next() % nx]] = true;
            }
            assert_pruned_equals_every_pair(&m, spacing, &format!("seed {seed}"));
        }
    }
}
