//! Gabor filter (IBSI 2, Q88H), applied in 2D planes through the FFT.
//!
//! `g(x, y) = exp(−(x̃² + γ²ỹ²)/2σ²) · exp(i·2πx̃/λ)`, with x the column
//! and y the row coordinate of a plane (mm, from the kernel centre) rotated
//! by θ: `x̃ = x cos θ + y sin θ`, `ỹ = x sin θ − y cos θ` (the orientation
//! convention of MIRP, which passes the IBSI reference maps). Orientations
//! θ, θ+Δθ, ... and, for `planes: orthogonal`, the three orthogonal plane
//! families are pooled. The kernel reaches `cutoff`·σ along its widest axis,
//! and at most half the largest in-plane dimension of the image.

use ndarray::{Array2, Array3, ArrayView2, ArrayViewMut2};
use rustfft::num_complex::Complex64;

use super::boundary::Boundary;
use super::fourier::{
    Fold, Plan2, PlaneFilter, filter_planes_into, kernel_spectrum, smooth_length,
};
use super::rotation::Pooling;
use super::settings::{GaborPlanes, GaborResponse};

pub struct GaborFilter {
    pub sigma: f64,
    pub lambda: f64,
    pub gamma: f64,
    /// Degrees.
    pub theta: f64,
    pub theta_step: Option<f64>,
    pub response: GaborResponse,
    pub planes: GaborPlanes,
    pub pooling: Pooling,
    pub cutoff: f64,
    pub boundary: Boundary,
}

impl GaborFilter {
    /// The orientations to compute, in degrees, each with the number of
    /// requested orientations it stands for. For a real image the kernels at
    /// θ and θ + 180° are complex conjugates, so their responses are
    /// conjugate and have the same modulus: one computation serves both.
    fn orientations(&self) -> Vec<(f64, usize)> {
        let mut out: Vec<(f64, usize)> = Vec::new();
        for theta in self.thetas() {
            let merged = self.response == GaborResponse::Modulus
                && out.iter_mut().any(|(t, n)| {
                    let d = (theta - *t).rem_euclid(360.0);
                    let same = (d - 180.0).abs() < 1e-9;
                    if same {
                        *n += 1;
                    }
                    same
                });
            if !merged {
                out.push((theta, 1));
            }
        }
        out
    }

    /// The orientations, in degrees.
    fn thetas(&self) -> Vec<f64> {
        match self.theta_step {
            None => vec![self.theta],
            Some(step) => {
                let n = (360.0 / step).round() as usize;
                (0..n).map(|k| self.theta + k as f64 * step).collect()
            }
        }
    }

    /// The kernel on a grid of (2·rows_half+1) × (2·cols_half+1) voxels of
    /// the given spacing (mm; rows, columns).
    pub fn kernel(
        &self,
        theta_deg: f64,
        half: (usize, usize),
        spacing: (f64, f64),
    ) -> Array2<Complex64> {
        let theta = theta_deg.to_radians();
        let (c, s) = (theta.cos(), theta.sin());
        Array2::from_shape_fn((2 * half.0 + 1, 2 * half.1 + 1), |(r, col)| {
            let y = (r as f64 - half.0 as f64) * spacing.0;
            let x = (col as f64 - half.1 as f64) * spacing.1;
            let yr = -c * y + s * x;
            let xr = s * y + c * x;
            let envelope = (-(xr * xr + self.gamma * self.gamma * yr * yr)
                / (2.0 * self.sigma * self.sigma))
                .exp();
            Complex64::from_polar(envelope, 2.0 * std::f64::consts::PI * xr / self.lambda)
        })
    }
}

/// `spacing` is (i, j, k) in mm.
pub fn gabor(data: &Array3<f64>, spacing: [f64; 3], f: &GaborFilter) -> Array3<f64> {
    // Plane families by their normal array axis: 0 = axial (rows j, cols i),
    // 1 = (rows k, cols i), 2 = (rows k, cols j).
    let normals: &[usize] = match f.planes {
        GaborPlanes::Axial => &[0],
        GaborPlanes::Orthogonal => &[0, 1, 2],
    };
    let array_spacing = [spacing[2], spacing[1], spacing[0]];
    let orientations = f.orientations();
    let total = f.thetas().len() * normals.len();
    let mut pooled = Array3::<f64>::zeros(data.dim());
    for (n, &normal) in normals.iter().enumerate() {
        let in_plane: Vec<usize> = (0..3).filter(|&a| a != normal).collect();
        let dims = data.dim();
        let sizes = [dims.0, dims.1, dims.2];
        let (rows, cols) = (sizes[in_plane[0]], sizes[in_plane[1]]);
        let plane_spacing = (array_spacing[in_plane[0]], array_spacing[in_plane[1]]);
        let widest = f.cutoff * f.sigma * f.gamma.recip().max(1.0);
        let cap = rows.max(cols) / 2;
        let half = (
            ((widest / plane_spacing.0).ceil() as usize).min(cap),
            ((widest / plane_spacing.1).ceil() as usize).min(cap),
        );
        let plan = Plan2::new(
            smooth_length(rows + 2 * half.0),
            smooth_length(cols + 2 * half.1),
        );
        let spectra: Vec<Array2<Complex64>> = orientations
            .iter()
            .map(|&(t, _)| kernel_spectrum(f.kernel(t, half, plane_spacing).view(), &plan))
            .collect();
        let weights: Vec<f64> = orientations.iter().map(|&(_, n)| n as f64).collect();
        let response = f.response;
        let pooling = f.pooling;
        let reduce = move |index: usize, r: ArrayView2<Complex64>, mut out: ArrayViewMut2<f64>| {
            let w = weights[index];
            // Row by row over contiguous slices; the choices are made once
            // per row, not per voxel.
            for (o, z) in out.rows_mut().into_iter().zip(r.rows()) {
                let o = o.into_slice().expect("contiguous rows");
                let z = z.to_slice().expect("contiguous rows");
                let values = z.iter().map(|z| match response {
                    // √(re² + im²) directly: `norm` goes through the slower `hypot`.
                    GaborResponse::Modulus => (z.re * z.re + z.im * z.im).sqrt(),
                    GaborResponse::Real => z.re,
                    GaborResponse::Imaginary => z.im,
                });
                match pooling {
                    Pooling::Max if index == 0 => {
                        o.iter_mut().zip(values).for_each(|(o, v)| *o = v)
                    }
                    Pooling::Max => o.iter_mut().zip(values).for_each(|(o, v)| *o = o.max(v)),
                    Pooling::Average if index == 0 => {
                        o.iter_mut().zip(values).for_each(|(o, v)| *o = w * v)
                    }
                    Pooling::Average => o.iter_mut().zip(values).for_each(|(o, v)| *o += w * v),
                }
            }
        };
        // Each family folded into the pooled map plane by plane (the same
        // sums as pooling whole family maps, without a volume per family).
        let filter = PlaneFilter {
            normal_axis: normal,
            boundary: f.boundary,
            pad: half,
            plan: &plan,
            spectra: &spectra,
            reduce: &reduce,
        };
        let fold = match (n, f.pooling) {
            (0, _) => Fold::Assign,
            (_, Pooling::Max) => Fold::Max,
            (_, Pooling::Average) => Fold::Add,
        };
        filter_planes_into(data, &filter, &mut pooled, fold);
    }
    let mut out = pooled;
    if f.pooling == Pooling::Average {
        let n = total as f64;
        out.mapv_inplace(|v| v / n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(theta: f64) -> GaborFilter {
        GaborFilter {
            sigma: 2.0,
            lambda: 4.0,
            gamma: 1.0,
            theta,
            theta_step: None,
            response: GaborResponse::Real,
            planes: GaborPlanes::Axial,
            pooling: Pooling::Max,
            cutoff: 4.0,
            boundary: Boundary::Zero,
        }
    }

    #[test]
    fn kernel_values_by_hand() {
        let f = filter(0.0);
        let k = f.kernel(0.0, (2, 2), (1.0, 1.0));
        // Centre: 1. One voxel along the column axis (x = 1, θ = 0): x̃ = 1,
        // envelope exp(−1/8), phase 2π/4 = π/2 -> (0, e^(−1/8)).
        assert!((k[[2, 2]] - Complex64::new(1.0, 0.0)).norm() < 1e-15);
        let v = k[[2, 3]];
        assert!(v.re.abs() < 1e-15 && (v.im - (-1.0f64 / 8.0).exp()).abs() < 1e-15);
        // One voxel along rows (y = 1): ỹ = −1, x̃ = 0: envelope only.
        assert!((k[[3, 2]].re - (-1.0f64 / 8.0).exp()).abs() < 1e-15);
        // θ = 90°: x̃ = y, so the phase turns along the rows instead.
        let k = f.kernel(90.0, (2, 2), (1.0, 1.0));
        assert!((k[[3, 2]].im - (-1.0f64 / 8.0).exp()).abs() < 1e-12);
    }

    #[test]
    fn impulse_response_reproduces_the_kernel() {
        let mut x = Array3::<f64>::zeros((1, 9, 9));
        x[[0, 4, 4]] = 1.0;
        let f = filter(30.0);
        let out = gabor(&x, [1.0, 1.0, 1.0], &f);
        // half = min(ceil(4·2), 9/2) = 4: the kernel covers the image.
        let k = f.kernel(30.0, (4, 4), (1.0, 1.0));
        for ((_, r, c), &v) in out.indexed_iter() {
            assert!((v - k[[r, c]].re).abs() < 1e-12, "{r} {c}");
        }
    }

    #[test]
    fn orientations_are_theta_plus_steps_around_the_circle() {
        let mut f = filter(10.0);
        f.theta_step = Some(90.0);
        assert_eq!(f.thetas(), vec![10.0, 100.0, 190.0, 280.0]);
        // The real part is computed for each; the modulus once per half-turn.
        assert_eq!(f.orientations().len(), 4);
        f.response = GaborResponse::Modulus;
        assert_eq!(f.orientations(), vec![(10.0, 2), (100.0, 2)]);
        f.theta_step = Some(120.0);
        assert_eq!(f.orientations().len(), 3);
    }

    #[test]
    fn opposite_orientations_have_the_same_modulus() {
        let x = Array3::from_shape_fn((2, 7, 8), |(k, j, i)| ((k * 13 + j * 5 + i * 3) % 7) as f64);
        let mut f = filter(30.0);
        f.response = GaborResponse::Modulus;
        f.boundary = Boundary::Mirror;
        let a = gabor(&x, [1.0; 3], &f);
        f.theta = 210.0;
        let b = gabor(&x, [1.0; 3], &f);
        for (u, v) in a.iter().zip(b.iter()) {
            assert!((u - v).abs() < 1e-9);
        }
    }
}
