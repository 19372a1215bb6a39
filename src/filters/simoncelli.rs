//! Simoncelli non-separable wavelet (IBSI 2, PRT7): an isotropic band-pass
//! filter defined by its transfer function,
//! `ψ(ν) = cos(π/2 · log2(2ν/ν_max))` for `ν_max/4 ≤ ν ≤ ν_max`, 0 elsewhere,
//! with ν the normalised radial frequency (1 = Nyquist, on the centred grid
//! of [`centred_frequencies`]) and `ν_max = 2^(1 − level)` (level 1 keeps
//! the highest octave band). The response map is the real part of the
//! filtered image.

use ndarray::{Array2, Array3, ArrayView2, ArrayViewMut2};
use rustfft::num_complex::Complex64;

use super::boundary::Boundary;
use super::fourier::{Plan2, centred_frequencies, filter_planes, filter_volume_real};
use super::settings::Dimensions;

/// The transfer function at normalised radial frequency `nu` (1 = Nyquist).
pub fn simoncelli_transfer(nu: f64, level: usize) -> f64 {
    let max = 0.5f64.powi(level as i32 - 1);
    if nu >= max / 4.0 && nu <= max {
        (std::f64::consts::FRAC_PI_2 * (2.0 * nu / max).log2()).cos()
    } else {
        0.0
    }
}

/// Padding per array axis: none for a periodic boundary (the FFT's own),
/// otherwise half the axis so the band-pass sees the extended image.
fn padding(n: usize, boundary: Boundary) -> usize {
    if boundary == Boundary::Periodic {
        0
    } else {
        n / 2
    }
}

pub fn simoncelli(
    data: &Array3<f64>,
    level: usize,
    dimensions: Dimensions,
    boundary: Boundary,
) -> Array3<f64> {
    let (nz, ny, nx) = data.dim();
    match dimensions {
        Dimensions::Three => {
            let pad = [
                padding(nz, boundary),
                padding(ny, boundary),
                padding(nx, boundary),
            ];
            let f = [
                centred_frequencies(nz + 2 * pad[0]),
                centred_frequencies(ny + 2 * pad[1]),
                centred_frequencies(nx + 2 * pad[2]),
            ];
            let transfer = |b: [usize; 3]| {
                let nu = (f[0][b[0]].powi(2) + f[1][b[1]].powi(2) + f[2][b[2]].powi(2)).sqrt();
                Complex64::new(simoncelli_transfer(nu, level), 0.0)
            };
            filter_volume_real(data, boundary, pad, &transfer)
        }
        Dimensions::Two => {
            let pad = (padding(ny, boundary), padding(nx, boundary));
            let plan = Plan2::new(ny + 2 * pad.0, nx + 2 * pad.1);
            let (fr, fc) = (
                centred_frequencies(ny + 2 * pad.0),
                centred_frequencies(nx + 2 * pad.1),
            );
            let spectrum = Array2::from_shape_fn(plan.shape(), |(r, c)| {
                let nu = (fr[r] * fr[r] + fc[c] * fc[c]).sqrt();
                Complex64::new(simoncelli_transfer(nu, level), 0.0)
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

    #[test]
    fn transfer_function_by_hand() {
        // Level 1: peak 1 at ν = 1/2, zero at the band edges 1/4 and 1.
        assert!((simoncelli_transfer(0.5, 1) - 1.0).abs() < 1e-15);
        assert!(simoncelli_transfer(1.0, 1).abs() < 1e-15);
        assert!(simoncelli_transfer(0.25, 1).abs() < 1e-15);
        assert_eq!(simoncelli_transfer(0.2, 1), 0.0);
        // Level 2 halves the band.
        assert!((simoncelli_transfer(0.25, 2) - 1.0).abs() < 1e-15);
        assert_eq!(simoncelli_transfer(0.6, 2), 0.0);
    }

    #[test]
    fn a_constant_image_has_no_band_pass_response() {
        // Odd sizes: the centred grid puts DC exactly at 0. (For even sizes
        // DC sits half a bin off 0, a property of the consensus grid.)
        let x = Array3::<f64>::from_elem((5, 7, 9), 3.0);
        let out = simoncelli(&x, 1, Dimensions::Three, Boundary::Periodic);
        assert!(out.iter().all(|v| v.abs() < 1e-12));
        let out = simoncelli(&x, 2, Dimensions::Two, Boundary::Mirror);
        assert!(out.iter().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn a_wave_at_the_band_peak_passes_unchanged() {
        // n = 9: bin 2 sits at ν = 2/4 = 1/2 on the centred grid (and bin 7
        // at −1/2): the peak of level 1. A wave on those bins passes.
        let w = 2.0 * std::f64::consts::PI * 2.0 / 9.0;
        let x = Array3::from_shape_fn((1, 1, 9), |(_, _, i)| (w * i as f64).cos());
        let out = simoncelli(&x, 1, Dimensions::Three, Boundary::Periodic);
        for (a, b) in out.iter().zip(x.iter()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
