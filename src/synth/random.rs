//! The generator's random streams. Every (seed, purpose, case index) has its
//! own ChaCha stream, so what a case looks like depends only on the seed and
//! its index: not on the thread that made it, nor on the cohort's size.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is drawn for. Purposes get disjoint keys, so the labels of
/// a `--null` cohort share nothing with the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Everything inside one case's image and mask.
    Image = 1,
    /// The phenotype of a pair of cases (see [`super::phenotype_of`]).
    Phenotype = 2,
    /// The label written for a pair of cases with `--null`.
    NullLabel = 3,
    /// A multi-phase case's enhancement and texture class
    /// ([`super::phases`]), drawn apart so that the lesion is that of the
    /// single-phase cohort.
    Enhancement = 4,
    /// The scanner noise of one phase of a multi-phase case.
    PhaseNoise = 5,
    /// The texture class of a single-phase multi-centre case
    /// ([`super::scanner`]), drawn apart from its phenotype.
    TextureClass = 6,
}

/// The stream of `purpose` for item `index` (a case or a pair of cases).
pub fn stream(seed: u64, purpose: Purpose, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(b"radsynth");
    key[8..16].copy_from_slice(&seed.to_le_bytes());
    key[16..24].copy_from_slice(&(purpose as u64).to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(index);
    rng
}

/// A uniform draw in `[low, high)`.
pub fn uniform(rng: &mut impl Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.r#gen::<f64>()
}

/// Fills `out` with independent standard normal values (Box–Muller, two
/// values per pair of uniforms).
pub fn fill_standard_normal(rng: &mut impl Rng, out: &mut [f32]) {
    for pair in out.chunks_mut(2) {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - rng.r#gen::<f64>();
        let u2 = rng.r#gen::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
        pair[0] = (r * cos) as f32;
        if let Some(second) = pair.get_mut(1) {
            *second = (r * sin) as f32;
        }
    }
}

/// A direction drawn uniformly on the unit sphere.
pub fn unit_vector(rng: &mut impl Rng) -> [f64; 3] {
    let z = uniform(rng, -1.0, 1.0);
    let phi = uniform(rng, 0.0, std::f64::consts::TAU);
    let r = (1.0 - z * z).max(0.0).sqrt();
    [r * phi.cos(), r * phi.sin(), z]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let first = |seed, purpose, index| stream(seed, purpose, index).r#gen::<u64>();
        let a = first(5, Purpose::Image, 3);
        assert_eq!(a, first(5, Purpose::Image, 3));
        assert_ne!(a, first(5, Purpose::Image, 4));
        assert_ne!(a, first(5, Purpose::NullLabel, 3));
        assert_ne!(a, first(6, Purpose::Image, 3));
    }

    #[test]
    fn normal_values_have_zero_mean_and_unit_variance() {
        let mut rng = stream(1, Purpose::Image, 0);
        let mut v = vec![0f32; 100_001];
        fill_standard_normal(&mut rng, &mut v);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        // About 4.55 % of a normal sample lies beyond two standard deviations.
        let tail = v.iter().filter(|x| x.abs() > 2.0).count() as f64 / n;
        assert!((tail - 0.0455).abs() < 0.003, "tail {tail}");
    }

    #[test]
    fn unit_vectors_are_unit_and_centred() {
        let mut rng = stream(2, Purpose::Image, 0);
        let mut sum = [0.0; 3];
        for _ in 0..20_000 {
            let u = unit_vector(&mut rng);
            let norm = (u[0] * u[0] + u[1] * u[1] + u[2] * u[2]).sqrt();
            assert!((norm - 1.0).abs() < 1e-12);
            for a in 0..3 {
                sum[a] += u[a] / 20_000.0;
            }
        }
        assert!(sum.iter().all(|s| s.abs() < 0.02), "{sum:?}");
    }
}
