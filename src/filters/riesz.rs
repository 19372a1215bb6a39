//! Riesz transforms (IBSI 2, AYRS) of a Laplacian-of-Gaussian or Simoncelli
//! response: the all-pass filter of order `l = (l_i, l_j, l_k)`,
//! `R_l(ν) = (−i)^L · √(L! / Π l_a!) · Π ν_a^(l_a) / |ν|^L` (L = Σ l_a; 0 at
//! ν = 0; ν on the centred grid of [`centred_frequencies`], as for the
//! Simoncelli filter), applied in the Fourier domain together with the base
//! filter (the LoG through the exact spectrum of its sampled kernel). The
//! image is padded by the base filter's reach with the boundary condition;
//! the response map is the real part.

use ndarray::{Array2, Array3, ArrayView2, ArrayViewMut2};
use rustfft::num_complex::Complex64;

use super::boundary::Boundary;
use super::fourier::{Plan2, centred_frequencies, filter_planes, filter_volume_real, frequencies};
use super::log::log_factors;
use super::settings::{Dimensions, RieszBase};
use super::simoncelli::simoncelli_transfer;

fn factorial(n: usize) -> f64 {
    (1..=n).map(|v| v as f64).product()
}

/// The Riesz transfer function at frequencies `w` (one per axis, in the
/// order of `order`; only directions matter).
pub fn riesz_transfer(order: &[usize], w: &[f64]) -> Complex64 {
    let l: usize = order.iter().sum();
    if l == 0 {
        return Complex64::new(1.0, 0.0);
    }
    let norm2: f64 = w.iter().map(|v| v * v).sum();
    if norm2 == 0.0 {
        return Complex64::new(0.0, 0.0);
    }
    let scale = (factorial(l) / order.iter().map(|&o| factorial(o)).product::<f64>()).sqrt();
    let numerator: f64 = order
        .iter()
        .zip(w)
        .map(|(&o, &v)| v.powi(o as i32))
        .product();
    let phase = Complex64::new(0.0, -1.0).powi(l as i32);
    phase * scale * numerator / norm2.sqrt().powi(l as i32)
}

/// Σ_t k[t] e^(−iωt) over the centred taps of a symmetric kernel (real).
fn symmetric_spectrum(kernel: &[f64], w: f64) -> f64 {
    let c = (kernel.len() / 2) as f64;
    kernel
        .iter()
        .enumerate()
        .map(|(t, &v)| v * (w * (t as f64 - c)).cos())
        .sum()
}

/// The base filter: its transfer function and its reach per axis (voxels).
struct Base {
    /// Per axis: (Gaussian factor, second-derivative factor) of a LoG.
    log: Option<Vec<(Vec<f64>, Vec<f64>)>>,
    simoncelli_level: Option<usize>,
}

impl Base {
    fn new(base: &RieszBase, spacing: [f64; 3], dims: usize) -> Self {
        match *base {
            RieszBase::Log { sigma, cutoff } => Base {
                log: Some(
                    (0..dims)
                        .map(|a| log_factors(sigma / spacing[a], cutoff))
                        .collect(),
                ),
                simoncelli_level: None,
            },
            RieszBase::Simoncelli { level } => Base {
                log: None,
                simoncelli_level: Some(level),
            },
        }
    }

    /// Padding along geometric axis `a` of length `n`.
    fn reach(&self, a: usize, n: usize, boundary: Boundary) -> usize {
        match &self.log {
            Some(f) => f[a].0.len() / 2,
            None if boundary == Boundary::Periodic => 0,
            None => n / 2,
        }
    }

    /// The transfer at angular frequencies `w` (exact, for the LoG kernel)
    /// and centred-grid frequencies `nu` (for the Simoncelli band),
    /// geometric order.
    fn transfer(&self, w: &[f64], nu: &[f64]) -> f64 {
        match (&self.log, self.simoncelli_level) {
            (Some(f), _) => {
                // Σ_a H_a(ω_a) · Π_{b≠a} G_b(ω_b), as the kernel is Σ_a h_a Π g_b.
                let g: Vec<f64> = w
                    .iter()
                    .zip(f)
                    .map(|(&v, k)| symmetric_spectrum(&k.0, v))
                    .collect();
                let h: Vec<f64> = w
                    .iter()
                    .zip(f)
                    .map(|(&v, k)| symmetric_spectrum(&k.1, v))
                    .collect();
                (0..w.len())
                    .map(|a| {
                        (0..w.len())
                            .map(|b| if a == b { h[b] } else { g[b] })
                            .product::<f64>()
                    })
                    .sum()
            }
            (None, Some(level)) => {
                let radial = nu.iter().map(|v| v * v).sum::<f64>().sqrt();
                simoncelli_transfer(radial, level)
            }
            (None, None) => unreachable!("a Riesz base is a LoG or a Simoncelli filter"),
        }
    }
}

pub fn riesz(
    data: &Array3<f64>,
    spacing: [f64; 3],
    order: &[usize],
    base: &RieszBase,
    dimensions: Dimensions,
    boundary: Boundary,
) -> Array3<f64> {
    let (nz, ny, nx) = data.dim();
    let dims = dimensions.count();
    let base = Base::new(base, spacing, dims);
    match dimensions {
        Dimensions::Three => {
            let pad = [
                base.reach(2, nz, boundary),
                base.reach(1, ny, boundary),
                base.reach(0, nx, boundary),
            ];
            let lengths = [nz + 2 * pad[0], ny + 2 * pad[1], nx + 2 * pad[2]];
            let w: Vec<Vec<f64>> = lengths.iter().map(|&n| frequencies(n)).collect();
            let nu: Vec<Vec<f64>> = lengths.iter().map(|&n| centred_frequencies(n)).collect();
            let transfer = |b: [usize; 3]| {
                let wg = [w[2][b[2]], w[1][b[1]], w[0][b[0]]];
                let ng = [nu[2][b[2]], nu[1][b[1]], nu[0][b[0]]];
                riesz_transfer(order, &ng) * base.transfer(&wg, &ng)
            };
            filter_volume_real(data, boundary, pad, &transfer)
        }
        Dimensions::Two => {
            let pad = (base.reach(1, ny, boundary), base.reach(0, nx, boundary));
            let plan = Plan2::new(ny + 2 * pad.0, nx + 2 * pad.1);
            let (rows, cols) = plan.shape();
            let (wr, wc) = (frequencies(rows), frequencies(cols));
            let (nr, nc) = (centred_frequencies(rows), centred_frequencies(cols));
            let spectrum = Array2::from_shape_fn(plan.shape(), |(r, c)| {
                let ng = [nc[c], nr[r]];
                riesz_transfer(order, &ng) * base.transfer(&[wc[c], wr[r]], &ng)
            });
            let reduce = |_: usize, r: ArrayView2<Complex64>, mut out: ArrayViewMut2<f64>| {
                out.zip_mut_with(&r, |o, z| *o = z.re)
            };
            filter_planes(data, 0, boundary, pad, &plan, &[spectrum], &reduce)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::log::laplacian_of_gaussian;

    #[test]
    fn first_order_riesz_is_a_hilbert_transform_along_its_axis() {
        // R_(1,0,0){cos(ωx)} = sin(ωx): transfer −i·sign(ω_x).
        let w = std::f64::consts::FRAC_PI_4;
        assert!(
            (riesz_transfer(&[1, 0, 0], &[w, 0.0, 0.0]) - Complex64::new(0.0, -1.0)).norm() < 1e-15
        );
        assert!(
            (riesz_transfer(&[1, 0, 0], &[-w, 0.0, 0.0]) - Complex64::new(0.0, 1.0)).norm() < 1e-15
        );
        // Second order along one axis of a wave along it: −1; the mixed
        // (1,1,0) term at 45°: (−i)²·√2·(1/√2)² = −1/√2.
        assert!((riesz_transfer(&[2, 0, 0], &[w, 0.0, 0.0]) + 1.0).norm() < 1e-15);
        let t = riesz_transfer(&[1, 1, 0], &[w, w, 0.0]);
        assert!((t.re + std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12 && t.im.abs() < 1e-15);
        assert_eq!(
            riesz_transfer(&[1, 0, 0], &[0.0; 3]),
            Complex64::new(0.0, 0.0)
        );
    }

    #[test]
    fn zero_order_riesz_of_log_is_the_log() {
        let data = Array3::from_shape_fn((9, 10, 11), |(k, j, i)| {
            ((k * 7 + j * 3 + i * 5) % 9) as f64
        });
        let base = RieszBase::Log {
            sigma: 1.0,
            cutoff: 3.0,
        };
        for boundary in [Boundary::Zero, Boundary::Mirror, Boundary::Periodic] {
            let a = riesz(
                &data,
                [1.0; 3],
                &[0, 0, 0],
                &base,
                Dimensions::Three,
                boundary,
            );
            let b = laplacian_of_gaussian(&data, [1.0; 3], 1.0, 3.0, Dimensions::Three, boundary);
            for (u, v) in a.iter().zip(b.iter()) {
                assert!((u - v).abs() < 1e-9, "{boundary:?}: {u} vs {v}");
            }
        }
    }

    #[test]
    fn riesz_of_a_cosine_is_a_sine() {
        // A periodic wave on bin 2 of 9 (ν = 1/2 on the centred grid, the
        // Simoncelli level-1 peak): the first-order Riesz response is the
        // quarter-shifted wave.
        let w = 2.0 * std::f64::consts::PI * 2.0 / 9.0;
        let data = Array3::from_shape_fn((3, 3, 9), |(_, _, i)| (w * i as f64).cos());
        let out = riesz(
            &data,
            [1.0; 3],
            &[1, 0, 0],
            &RieszBase::Simoncelli { level: 1 },
            Dimensions::Three,
            Boundary::Periodic,
        );
        for ((_, _, i), v) in out.indexed_iter() {
            let expected = (w * i as f64).sin();
            assert!((v - expected).abs() < 1e-12, "{i}: {v}");
        }
    }
}
