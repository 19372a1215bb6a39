//! Gaussian noise at the image's own noise level.
//!
//! The level is estimated as Chang, Yu & Vetterli (2000) and Donoho &
//! Johnstone (1994) do: the median absolute value of the finest diagonal
//! (HH) Haar wavelet coefficients divided by 0.6745, the coefficients taken
//! per axial slice over non-overlapping 2×2 blocks and pooled over the
//! whole image. Smooth structure and edges barely reach the HH band, so its
//! median is the noise's; for white noise of standard deviation σ each
//! coefficient (a − b − c + d)/2 has standard deviation σ.

use rand::Rng;

use crate::image::Volume;

/// 0.6745: the median of |N(0, 1)|.
const MAD_TO_SD: f64 = 0.674_489_750_196_081_7;

/// The image's noise standard deviation (0 for an image without noise or
/// smaller than 2×2 in plane).
pub fn estimate_noise_sd(image: &Volume<f32>) -> f64 {
    let [nx, ny, nz] = image.dims();
    let mut hh = Vec::with_capacity(nz * (nx / 2) * (ny / 2));
    for k in 0..nz {
        for j in (0..ny.saturating_sub(1)).step_by(2) {
            for i in (0..nx.saturating_sub(1)).step_by(2) {
                let v = |di: usize, dj: usize| f64::from(image.data[[k, j + dj, i + di]]);
                hh.push(((v(0, 0) - v(1, 0) - v(0, 1) + v(1, 1)) / 2.0).abs());
            }
        }
    }
    if hh.is_empty() {
        return 0.0;
    }
    let mid = hh.len() / 2;
    let (_, median, _) = hh.select_nth_unstable_by(mid, f64::total_cmp);
    *median / MAD_TO_SD
}

/// Adds N(0, sd²) to every voxel, in the image's memory order, so the
/// result depends on the random stream only.
pub fn add_noise(image: &mut Volume<f32>, sd: f64, rng: &mut impl Rng) {
    if sd <= 0.0 {
        return;
    }
    let data = image.data.as_slice_mut().expect("standard layout");
    for pair in data.chunks_mut(2) {
        let z = standard_normal_pair(rng);
        for (v, z) in pair.iter_mut().zip(z) {
            *v = (f64::from(*v) + sd * z) as f32;
        }
    }
}

/// Two independent standard normal draws from two uniforms (Box–Muller),
/// for two consecutive voxels.
fn standard_normal_pair(rng: &mut impl Rng) -> [f64; 2] {
    let u1: f64 = 1.0 - rng.r#gen::<f64>();
    let u2: f64 = rng.r#gen::<f64>();
    let r = (-2.0 * u1.ln()).sqrt();
    let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
    [r * cos, r * sin]
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::image::Geometry;

    #[test]
    fn the_estimate_finds_known_noise_on_a_structured_image() {
        // A ramp with a step (structure the HH band must ignore) plus noise
        // of sd 12: the estimate is within 5% of it.
        let g = Geometry::new([1.0; 3], [0.0; 3]);
        let clean = Array3::from_shape_fn((20, 64, 64), |(k, j, i)| {
            (i as f32) * 2.0 + (j as f32) + if i > 30 { 300.0 } else { 0.0 } + k as f32
        });
        let mut image = Volume::new(clean, g);
        assert!(estimate_noise_sd(&image) < 1e-9);
        add_noise(&mut image, 12.0, &mut ChaCha8Rng::seed_from_u64(7));
        let sd = estimate_noise_sd(&image);
        assert!((sd - 12.0).abs() < 0.6, "estimated {sd}");
    }

    #[test]
    fn added_noise_has_the_asked_sd_and_zero_mean() {
        let g = Geometry::new([1.0; 3], [0.0; 3]);
        let mut image = Volume::new(Array3::<f32>::zeros((10, 50, 50)), g);
        add_noise(&mut image, 5.0, &mut ChaCha8Rng::seed_from_u64(1));
        let n = image.data.len() as f64;
        let mean = image.data.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let sd = (image
            .data
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        assert!(mean.abs() < 0.1, "mean {mean}");
        assert!((sd - 5.0).abs() < 0.1, "sd {sd}");
    }
}
