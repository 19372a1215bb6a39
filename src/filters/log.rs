//! Laplacian of Gaussian (IBSI 2, L6PA).
//!
//! The sampled kernel `−1/σ² · (2πσ²)^(−d/2) · (d − |x|²/σ²) · exp(−|x|²/2σ²)`
//! (x in voxels, σ converted from mm with the spacing of each axis) is a sum
//! of d separable terms, `Σ_a h(x_a) · Π_{b≠a} g(x_b)` with
//! `g(t) = exp(−t²/2σ²)/√(2πσ²)` and `h(t) = g(t) · (t²/σ² − 1)/σ²`, so it is
//! applied as separable passes: the same sums as the 3D kernel, far fewer
//! operations. The kernel reaches `cutoff`·σ (rounded to the nearest voxel).

use ndarray::Array3;

use super::boundary::Boundary;
use super::separable::convolve_axis;
use super::settings::Dimensions;

/// The Gaussian and its second-derivative factor, sampled on one axis.
pub fn log_factors(sigma_voxels: f64, cutoff: f64) -> (Vec<f64>, Vec<f64>) {
    let radius = (cutoff * sigma_voxels + 0.5).floor() as isize;
    let s2 = sigma_voxels * sigma_voxels;
    let norm = 1.0 / (2.0 * std::f64::consts::PI * s2).sqrt();
    let mut g = Vec::new();
    let mut h = Vec::new();
    for t in -radius..=radius {
        let t2 = (t * t) as f64;
        let gv = norm * (-t2 / (2.0 * s2)).exp();
        g.push(gv);
        h.push(gv * (t2 / s2 - 1.0) / s2);
    }
    (g, h)
}

pub fn laplacian_of_gaussian(
    data: &Array3<f64>,
    spacing: [f64; 3],
    sigma_mm: f64,
    cutoff: f64,
    dimensions: Dimensions,
    boundary: Boundary,
) -> Array3<f64> {
    let f: Vec<(Vec<f64>, Vec<f64>)> = (0..3)
        .map(|a| log_factors(sigma_mm / spacing[a], cutoff))
        .collect();
    let conv = |x: &Array3<f64>, axis: usize, k: &[f64]| convolve_axis(x, axis, k, boundary);
    let (gx, hx) = (&f[0].0, &f[0].1);
    let (gy, hy) = (&f[1].0, &f[1].1);
    match dimensions {
        Dimensions::Two => {
            // h(x) g(y) + g(x) h(y)
            let a = conv(data, 1, gy);
            let b = conv(data, 1, hy);
            let mut out = conv(&a, 0, hx);
            out += &conv(&b, 0, gx);
            out
        }
        Dimensions::Three => {
            let (gz, hz) = (&f[2].0, &f[2].1);
            // h(x) g(y) g(z) + g(x) [h(y) g(z) + g(y) h(z)]
            let smooth_z = conv(data, 2, gz);
            let second_z = conv(data, 2, hz);
            let smooth_yz = conv(&smooth_z, 1, gy);
            let mut rest = conv(&smooth_z, 1, hy);
            rest += &conv(&second_z, 1, gy);
            let mut out = conv(&smooth_yz, 0, hx);
            out += &conv(&rest, 0, gx);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 3D kernel written out directly, for comparison.
    fn direct_kernel(sigma: f64, r: isize, x: isize, y: isize, z: isize) -> f64 {
        let _ = r;
        let d = 3.0;
        let n2 = (x * x + y * y + z * z) as f64;
        let s2 = sigma * sigma;
        -1.0 / s2
            * (1.0 / (2.0 * std::f64::consts::PI * s2).sqrt()).powf(d)
            * (d - n2 / s2)
            * (-n2 / (2.0 * s2)).exp()
    }

    #[test]
    fn impulse_response_is_the_sampled_kernel() {
        let n = 15;
        let c = 7;
        let mut x = Array3::<f64>::zeros((n, n, n));
        x[[c, c, c]] = 1.0;
        // σ = 3 mm at 2 mm voxels: 1.5 voxels; cutoff 4σ: radius floor(6.5) = 6.
        let out = laplacian_of_gaussian(&x, [2.0; 3], 3.0, 4.0, Dimensions::Three, Boundary::Zero);
        for ((k, j, i), &v) in out.indexed_iter() {
            let (dz, dy, dx) = (k as isize - 7, j as isize - 7, i as isize - 7);
            let inside = dz.abs() <= 6 && dy.abs() <= 6 && dx.abs() <= 6;
            let expected = if inside {
                direct_kernel(1.5, 6, dx, dy, dz)
            } else {
                0.0
            };
            assert!(
                (v - expected).abs() < 1e-12,
                "{k} {j} {i}: {v} vs {expected}"
            );
        }
        // Centre value by hand: −1/σ² (2πσ²)^(−3/2) · 3 with σ = 1.5.
        let centre = -1.0 / 2.25 * (2.0 * std::f64::consts::PI * 2.25f64).powf(-1.5) * 3.0;
        assert!((out[[c, c, c]] - centre).abs() < 1e-12);
    }

    #[test]
    fn factors_have_the_requested_radius() {
        let (g, h) = log_factors(1.5, 4.0);
        assert_eq!(g.len(), 13);
        assert_eq!(h.len(), 13);
        assert!((h[6] + g[6] / 2.25).abs() < 1e-15);
    }
}
