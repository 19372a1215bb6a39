//! Random fields on a voxel grid: white Gaussian noise blurred by a separable
//! kernel. A short binomial kernel gives the slightly correlated noise of a
//! reconstructed CT image; a wide Gaussian one gives the blotchy texture of
//! a heterogeneous lesion.

use ndarray::{Array3, Axis};
use rand::Rng;

use super::random::fill_standard_normal;

/// The 3-tap binomial kernel: neighbouring noise values correlate by 2/3.
pub const BINOMIAL_3: [f32; 3] = [0.25, 0.5, 0.25];

/// A normalised Gaussian kernel of standard deviation `sigma` voxels,
/// truncated at three standard deviations; `[1]` for a negligible sigma.
pub fn gaussian_kernel(sigma: f64) -> Vec<f32> {
    if sigma < 0.1 {
        return vec![1.0];
    }
    let radius = (3.0 * sigma).ceil() as i64;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|d| (-0.5 * (d as f64 / sigma).powi(2)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| (w / total) as f32).collect()
}

/// The full convolution of two kernels: the kernel of applying both.
pub fn convolve_kernels(a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// Convolves every lane of `data` along array axis `axis` with the
/// symmetric, odd-length `kernel`, replicating the edge voxels.
pub fn convolve_axis(data: &mut Array3<f32>, axis: usize, kernel: &[f32]) {
    debug_assert!(!kernel.len().is_multiple_of(2));
    if kernel.len() == 1 {
        return;
    }
    let radius = (kernel.len() / 2) as isize;
    let len = data.len_of(Axis(axis));
    let last = len as isize - 1;
    let mut lane_copy = vec![0f32; len];
    for mut lane in data.lanes_mut(Axis(axis)) {
        for (c, v) in lane_copy.iter_mut().zip(lane.iter()) {
            *c = *v;
        }
        for (n, out) in lane.iter_mut().enumerate() {
            let mut acc = 0f32;
            for (t, w) in kernel.iter().enumerate() {
                let src = (n as isize + t as isize - radius).clamp(0, last);
                acc += w * lane_copy[src as usize];
            }
            *out = acc;
        }
    }
}

/// Zero-mean Gaussian noise of unit standard deviation, correlated by
/// blurring white noise with `kernels` (given along x, y, z, the geometry's
/// order). Away from the edges the standard deviation is exactly 1: the blur
/// divides the variance by the product of the kernels' energies (Σ w²).
pub fn correlated_noise(
    rng: &mut impl Rng,
    shape: [usize; 3],
    kernels: [&[f32]; 3],
) -> Array3<f32> {
    let [nz, ny, nx] = shape;
    let mut values = vec![0f32; nz * ny * nx];
    fill_standard_normal(rng, &mut values);
    let mut field = Array3::from_shape_vec((nz, ny, nx), values).expect("length matches shape");
    let mut energy = 1f64;
    for (geometry_axis, kernel) in kernels.iter().enumerate() {
        convolve_axis(&mut field, 2 - geometry_axis, kernel);
        energy *= kernel.iter().map(|&w| (w as f64).powi(2)).sum::<f64>();
    }
    let scale = (1.0 / energy.sqrt()) as f32;
    field.mapv_inplace(|v| v * scale);
    field
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::random::{Purpose, stream};
    use ndarray::s;

    #[test]
    fn convolving_two_kernels_gives_the_kernel_of_both_passes() {
        // [1,1] * [1,1] = [1,2,1]; binomial * binomial = the 5-tap binomial.
        assert_eq!(convolve_kernels(&[1.0, 1.0], &[1.0, 1.0]), [1.0, 2.0, 1.0]);
        assert_eq!(
            convolve_kernels(&BINOMIAL_3, &BINOMIAL_3),
            [0.0625, 0.25, 0.375, 0.25, 0.0625]
        );
        assert_eq!(convolve_kernels(&BINOMIAL_3, &[1.0]), BINOMIAL_3);
    }

    #[test]
    fn binomial_blur_of_an_impulse_spreads_its_weights() {
        let mut a = Array3::<f32>::zeros((1, 1, 5));
        a[[0, 0, 2]] = 4.0;
        convolve_axis(&mut a, 2, &BINOMIAL_3);
        assert_eq!(a.as_slice().unwrap(), &[0.0, 1.0, 2.0, 1.0, 0.0]);
    }

    #[test]
    fn edges_are_replicated() {
        // A ramp 0, 1, 2: at the first voxel (0 + 0 + 1) / 4 + ... = 0.25.
        let mut a = Array3::from_shape_vec((3, 1, 1), vec![0.0, 1.0, 2.0]).unwrap();
        convolve_axis(&mut a, 0, &BINOMIAL_3);
        assert_eq!(a.as_slice().unwrap(), &[0.25, 1.0, 1.75]);
    }

    #[test]
    fn gaussian_kernel_is_normalised_and_symmetric() {
        let k = gaussian_kernel(1.5);
        assert_eq!(k.len(), 11);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        for t in 0..k.len() {
            assert_eq!(k[t], k[k.len() - 1 - t]);
        }
        assert_eq!(gaussian_kernel(0.01), vec![1.0]);
    }

    #[test]
    fn correlated_noise_has_unit_variance_and_the_kernel_correlation() {
        let mut rng = stream(3, Purpose::Image, 0);
        let f = correlated_noise(&mut rng, [8, 128, 128], [&BINOMIAL_3, &BINOMIAL_3, &[1.0]]);
        // Interior only: the replicated edges raise the variance slightly.
        let inner = f.slice(s![.., 1..127, 1..127]);
        let n = inner.len() as f64;
        let var = inner.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n;
        assert!((var - 1.0).abs() < 0.03, "variance {var}");
        // Lag-1 correlation along x of the binomial kernel: (1/8 + 1/8) / (3/8).
        let mut cov = 0.0;
        let mut count = 0.0;
        for ((k, j, i), &v) in f.indexed_iter() {
            if (1..126).contains(&i) && (1..127).contains(&j) {
                cov += v as f64 * f[[k, j, i + 1]] as f64;
                count += 1.0;
            }
        }
        let corr = cov / count;
        assert!((corr - 2.0 / 3.0).abs() < 0.03, "lag-1 correlation {corr}");
        // Slices are independent: no kernel along z.
        let zc = (0..7)
            .map(|k| {
                (&f.slice(s![k, .., ..]) * &f.slice(s![k + 1, .., ..]))
                    .mean()
                    .unwrap() as f64
            })
            .sum::<f64>()
            / 7.0;
        assert!(zc.abs() < 0.03, "z correlation {zc}");
    }
}
