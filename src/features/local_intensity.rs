//! IBSI family: local intensity (IBSI 3.2). The local mean around a voxel is
//! the mean intensity of every image voxel (ROI or not) whose centre lies
//! within the radius of a 1 cm³ sphere, in physical units.
//!
//! The sphere is a stack of x-runs, one per (dz, dy) offset, so a local sum is
//! one prefix-sum difference per run instead of one addition per voxel.

use rayon::prelude::*;

use super::{FamilyInput, FeatureSet};
use crate::{Error, Result};

/// Radius (mm) of a sphere of 1 cm³: (3 / 4π)^(1/3) cm.
pub fn peak_radius_mm() -> f64 {
    10.0 * (3.0 / (4.0 * std::f64::consts::PI)).cbrt()
}

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let roi = input.roi;
    let image = &roi.image.data;
    if roi.int_mask.shape() != image.shape() {
        return Err(Error::data("intensity mask and image differ in shape"));
    }
    let means = LocalMeans::new(image, roi.image.geometry.spacing, peak_radius_mm());
    let shape = image.shape();
    let (ny, nx) = (shape[1], shape[2]);

    // Local peak: at the maximum-intensity voxel(s); ties take the highest mean.
    let max_intensity = image
        .iter()
        .zip(roi.int_mask.iter())
        .filter(|&(_, &m)| m)
        .map(|(&v, _)| v)
        .fold(f32::NEG_INFINITY, f32::max);
    if max_intensity == f32::NEG_INFINITY {
        return Err(Error::data("the intensity mask is empty"));
    }
    let mut local_peak = f64::NEG_INFINITY;
    for ((k, j, i), &v) in image.indexed_iter() {
        if v == max_intensity && roi.int_mask[[k, j, i]] {
            local_peak = local_peak.max(means.mean_at(k, j, i));
        }
    }

    // Global peak: the maximum is exact whatever the order of reduction.
    let global_peak = (0..shape[0])
        .into_par_iter()
        .map(|k| {
            let mut best = f64::NEG_INFINITY;
            for j in 0..ny {
                for i in 0..nx {
                    if roi.int_mask[[k, j, i]] {
                        best = best.max(means.mean_at(k, j, i));
                    }
                }
            }
            best
        })
        .reduce(|| f64::NEG_INFINITY, f64::max);

    out.push("loc_peak_loc", local_peak);
    out.push("loc_peak_glob", global_peak);
    Ok(())
}

/// Spherical local means of an image.
struct LocalMeans {
    dims: [usize; 3],
    /// Per row (k, j): prefix sums of length nx + 1.
    prefix: Vec<f64>,
    /// (dz, dy, half-length of the x-run) of the sphere.
    runs: Vec<(isize, isize, usize)>,
}

impl LocalMeans {
    fn new(image: &ndarray::Array3<f32>, spacing: [f64; 3], radius: f64) -> LocalMeans {
        let shape = image.shape();
        let dims = [shape[0], shape[1], shape[2]];
        let nx = dims[2];
        let mut prefix = Vec::with_capacity(dims[0] * dims[1] * (nx + 1));
        for row in image.rows() {
            let mut acc = 0.0;
            prefix.push(0.0);
            for &v in row {
                acc += v as f64;
                prefix.push(acc);
            }
        }
        LocalMeans {
            dims,
            prefix,
            runs: sphere_runs(spacing, radius),
        }
    }

    fn mean_at(&self, k: usize, j: usize, i: usize) -> f64 {
        let [nz, ny, nx] = self.dims;
        let (mut sum, mut count) = (0.0, 0usize);
        for &(dz, dy, rx) in &self.runs {
            let (kk, jj) = (k as isize + dz, j as isize + dy);
            if kk < 0 || jj < 0 || kk >= nz as isize || jj >= ny as isize {
                continue;
            }
            let row = (kk as usize * ny + jj as usize) * (nx + 1);
            let lo = i.saturating_sub(rx);
            let hi = (i + rx).min(nx - 1);
            sum += self.prefix[row + hi + 1] - self.prefix[row + lo];
            count += hi + 1 - lo;
        }
        sum / count as f64
    }
}

/// The x-runs of the voxel offsets whose centres lie within `radius` (mm).
fn sphere_runs(spacing: [f64; 3], radius: f64) -> Vec<(isize, isize, usize)> {
    let r2 = radius * radius;
    let reach = |s: f64| (radius / s).floor() as isize;
    let mut runs = Vec::new();
    for dz in -reach(spacing[2])..=reach(spacing[2]) {
        for dy in -reach(spacing[1])..=reach(spacing[1]) {
            let rem = r2 - (dz as f64 * spacing[2]).powi(2) - (dy as f64 * spacing[1]).powi(2);
            if rem < 0.0 {
                continue;
            }
            let inside = |dx: usize| (dx as f64 * spacing[0]).powi(2) <= rem;
            let mut rx = (rem.sqrt() / spacing[0]).floor() as usize;
            while inside(rx + 1) {
                rx += 1;
            }
            while rx > 0 && !inside(rx) {
                rx -= 1;
            }
            runs.push((dz, dy, rx));
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn brute_mean(
        img: &Array3<f32>,
        spacing: [f64; 3],
        r: f64,
        k: usize,
        j: usize,
        i: usize,
    ) -> f64 {
        let (mut s, mut c) = (0.0, 0);
        for ((kk, jj, ii), &v) in img.indexed_iter() {
            let d2 = ((kk as f64 - k as f64) * spacing[2]).powi(2)
                + ((jj as f64 - j as f64) * spacing[1]).powi(2)
                + ((ii as f64 - i as f64) * spacing[0]).powi(2);
            if d2 <= r * r {
                s += v as f64;
                c += 1;
            }
        }
        s / c as f64
    }

    #[test]
    fn runs_cover_the_sphere_voxel_count() {
        // 2 mm isotropic: offsets with 4 (dx²+dy²+dz²) <= 38.48, i.e. |d|² <= 9.
        let n: usize = sphere_runs([2.0; 3], peak_radius_mm())
            .iter()
            .map(|&(_, _, rx)| 2 * rx + 1)
            .sum();
        let mut expected = 0;
        for x in -3i32..=3 {
            for y in -3i32..=3 {
                for z in -3i32..=3 {
                    if x * x + y * y + z * z <= 9 {
                        expected += 1;
                    }
                }
            }
        }
        assert_eq!(n, expected);
    }

    #[test]
    fn prefix_sum_means_match_brute_force_near_borders_and_anisotropy() {
        let spacing = [0.9, 1.3, 3.0];
        let img = Array3::from_shape_fn((5, 9, 11), |(k, j, i)| {
            ((k * 31 + j * 7 + i * 3) % 17) as f32 - 4.5
        });
        let lm = LocalMeans::new(&img, spacing, peak_radius_mm());
        for &(k, j, i) in &[(0, 0, 0), (2, 4, 5), (4, 8, 10), (1, 7, 2)] {
            let a = lm.mean_at(k, j, i);
            let b = brute_mean(&img, spacing, peak_radius_mm(), k, j, i);
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
