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
use rayon::prelude::*;

use super::separable::{PlaneBuffers, PlaneShape, convolve_in_plane, convolve_k_plane};
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
    let (gx, hx) = (&f[0].0, &f[0].1);
    let (gy, hy) = (&f[1].0, &f[1].1);
    let (gz, hz) = (&f[2].0, &f[2].1);
    // Plane by plane, every pass of a plane while it is in cache: the same
    // sums as one volume pass per kernel, without intermediate volumes.
    let standard = data.as_standard_layout();
    let src = standard.as_slice().expect("standard layout");
    let shape = PlaneShape::of(data.dim());
    let plane = shape.plane_len().max(1);
    let mut out = Array3::<f64>::zeros(data.dim());
    out.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(plane)
        .enumerate()
        .for_each_init(PlaneBuffers::default, |bufs, (k, out)| {
            let mut padded = std::mem::take(&mut bufs.padded);
            let mut conv = |x: &[f64], axis: usize, kernel: &[f64], o: &mut [f64]| {
                convolve_in_plane(x, shape, axis, kernel, boundary, o, &mut padded)
            };
            let add = |o: &mut [f64], t: &[f64]| o.iter_mut().zip(t).for_each(|(o, &t)| *o += t);
            let (mut a, mut b, mut t) = (bufs.take(plane), bufs.take(plane), bufs.take(plane));
            match dimensions {
                Dimensions::Two => {
                    let slice = &src[k * plane..(k + 1) * plane];
                    conv(slice, 1, gy, &mut a);
                    conv(slice, 1, hy, &mut b);
                    conv(&a, 0, hx, out);
                    conv(&b, 0, gx, &mut t);
                    add(out, &t);
                }
                Dimensions::Three => {
                    let (mut smooth_z, mut second_z) = (bufs.take(plane), bufs.take(plane));
                    convolve_k_plane(src, shape, k, gz, boundary, &mut smooth_z);
                    convolve_k_plane(src, shape, k, hz, boundary, &mut second_z);
                    // a: smooth in y and z; b: the rest of the Laplacian
                    // before the i pass.
                    conv(&smooth_z, 1, gy, &mut a);
                    conv(&smooth_z, 1, hy, &mut b);
                    conv(&second_z, 1, gy, &mut t);
                    add(&mut b, &t);
                    conv(&a, 0, hx, out);
                    conv(&b, 0, gx, &mut t);
                    add(out, &t);
                    bufs.give(smooth_z);
                    bufs.give(second_z);
                }
            }
            bufs.give(a);
            bufs.give(b);
            bufs.give(t);
            bufs.padded = padded;
        });
    out
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

    /// The plane pipeline equals one volume pass per kernel, bit for bit.
    #[test]
    fn plane_pipeline_equals_volume_passes_to_the_bit() {
        use crate::filters::separable::convolve_axis;
        let data = Array3::from_shape_fn((9, 11, 13), |(k, j, i)| {
            (((k * 131 + j * 37 + i * 11) % 97) as f64 - 40.0) * 1.37
        });
        let spacing = [0.8, 1.1, 2.0];
        let boundary = Boundary::Mirror;
        let f: Vec<(Vec<f64>, Vec<f64>)> =
            (0..3).map(|a| log_factors(1.5 / spacing[a], 3.0)).collect();
        let conv = |x: &Array3<f64>, axis: usize, k: &[f64]| convolve_axis(x, axis, k, boundary);
        let (gx, hx, gy, hy, gz, hz) = (&f[0].0, &f[0].1, &f[1].0, &f[1].1, &f[2].0, &f[2].1);
        let mut two = conv(&conv(&data, 1, gy), 0, hx);
        two += &conv(&conv(&data, 1, hy), 0, gx);
        let smooth_z = conv(&data, 2, gz);
        let mut rest = conv(&smooth_z, 1, hy);
        rest += &conv(&conv(&data, 2, hz), 1, gy);
        let mut three = conv(&conv(&smooth_z, 1, gy), 0, hx);
        three += &conv(&rest, 0, gx);
        for (dims, expected) in [(Dimensions::Two, two), (Dimensions::Three, three)] {
            let got = laplacian_of_gaussian(&data, spacing, 1.5, 3.0, dims, boundary);
            assert!(
                got.iter()
                    .zip(expected.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{dims:?}"
            );
        }
    }

    #[test]
    fn factors_have_the_requested_radius() {
        let (g, h) = log_factors(1.5, 4.0);
        assert_eq!(g.len(), 13);
        assert_eq!(h.len(), 13);
        assert!((h[6] + g[6] / 2.25).abs() < 1e-15);
    }
}
