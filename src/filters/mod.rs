//! IBSI chapter 2 convolutional filters.
//!
//! One convolution core — [`separable`] passes where the kernel separates,
//! [`fourier`] (FFT) where it does not, boundary conditions in [`boundary`],
//! rotation pooling in [`rotation`] — and one small module per filter
//! family. [`apply`] turns an image and a [`FilterSettings`] into a response
//! map on the same grid. Computation runs in `f64`; maps are returned as
//! `f32`, the type radial stores intensities in.

pub mod boundary;
pub mod fourier;
pub mod gabor;
pub mod laws;
pub mod log;
pub mod mean;
pub mod riesz;
pub mod rotation;
pub mod separable;
pub mod settings;
pub mod simoncelli;
pub mod wavelet;

use ndarray::Array3;

use crate::image::Volume;

pub use boundary::Boundary;
pub use rotation::Pooling;
pub use settings::{Dimensions, FilterSettings};

/// The response map of `image` to the filter, on the image's grid.
pub fn apply(image: &Volume<f32>, settings: &FilterSettings) -> Volume<f32> {
    let data = image.data.mapv(f64::from);
    let response = apply_f64(&data, image.geometry.spacing, settings);
    Volume::new(response.mapv(|v| v as f32), image.geometry)
}

/// The response map of voxel data with the given spacing (mm, (i, j, k)).
pub fn apply_f64(data: &Array3<f64>, spacing: [f64; 3], settings: &FilterSettings) -> Array3<f64> {
    match settings {
        FilterSettings::Mean {
            support,
            dimensions,
            boundary,
        } => mean::mean(data, *support, *dimensions, *boundary),
        FilterSettings::Log {
            sigma,
            cutoff,
            dimensions,
            boundary,
        } => log::laplacian_of_gaussian(data, spacing, *sigma, *cutoff, *dimensions, *boundary),
        FilterSettings::Laws {
            kernel,
            rotation_invariant,
            pooling,
            energy,
            dimensions,
            boundary,
        } => laws::laws(
            data,
            &laws::LawsFilter {
                kernels: kernel,
                rotation_invariant: *rotation_invariant,
                pooling: *pooling,
                energy: *energy,
                dimensions: *dimensions,
                boundary: *boundary,
            },
        ),
        FilterSettings::Gabor {
            sigma,
            lambda,
            gamma,
            theta,
            theta_step,
            response,
            planes,
            pooling,
            cutoff,
            boundary,
        } => gabor::gabor(
            data,
            spacing,
            &gabor::GaborFilter {
                sigma: *sigma,
                lambda: *lambda,
                gamma: *gamma,
                theta: *theta,
                theta_step: *theta_step,
                response: *response,
                planes: *planes,
                pooling: *pooling,
                cutoff: *cutoff,
                boundary: *boundary,
            },
        ),
        FilterSettings::Wavelet {
            family,
            subband,
            level,
            rotation_invariant,
            pooling,
            dimensions,
            boundary,
        } => wavelet::wavelet(
            data,
            &wavelet::WaveletFilter {
                family: *family,
                subband,
                level: *level,
                rotation_invariant: *rotation_invariant,
                pooling: *pooling,
                dimensions: *dimensions,
                boundary: *boundary,
            },
        ),
        FilterSettings::Simoncelli {
            level,
            dimensions,
            boundary,
        } => simoncelli::simoncelli(data, *level, *dimensions, *boundary),
        FilterSettings::Riesz {
            order,
            base,
            dimensions,
            boundary,
        } => riesz::riesz(data, spacing, order, base, *dimensions, *boundary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> FilterSettings {
        FilterSettings::from_yaml_str(yaml, "test").expect("valid filter settings")
    }

    /// Every filter family, on a volume large enough for the work to be
    /// split, gives the same bits with 1, 2 and 3 threads.
    #[test]
    fn every_filter_is_bit_identical_with_one_two_and_three_threads() {
        let data = Array3::from_shape_fn((21, 26, 30), |(k, j, i)| {
            (((k * 131 + j * 37 + i * 11) % 97) as f64 - 40.0) * 1.37
        });
        let spacing = [0.9, 1.1, 2.0];
        let filters = [
            "kind: mean\nsupport: 5\ndimensions: 3\nboundary: mirror\n",
            "kind: log\nsigma: 1.5\ncutoff: 4\ndimensions: 3\nboundary: zero\n",
            "kind: log\nsigma: 1.5\ncutoff: 4\ndimensions: 2\nboundary: mirror\n",
            "kind: laws\nkernel: L5E5E5\nrotation_invariant: true\npooling: max\nenergy: {delta: 3}\ndimensions: 3\nboundary: mirror\n",
            "kind: wavelet\nfamily: db3\nsubband: HHH\nlevel: 2\nrotation_invariant: true\npooling: average\ndimensions: 3\nboundary: mirror\n",
            "kind: wavelet\nfamily: coif1\nsubband: LH\nlevel: 1\ndimensions: 2\nboundary: periodic\n",
            "kind: gabor\nsigma: 3\nlambda: 2\ngamma: 1.5\ntheta: 0\ntheta_step: 45\nresponse: modulus\nplanes: orthogonal\npooling: average\nboundary: mirror\n",
            "kind: gabor\nsigma: 3\nlambda: 2\ngamma: 1.5\ntheta: 0\ntheta_step: 45\nresponse: real\nplanes: orthogonal\npooling: max\nboundary: zero\n",
            "kind: simoncelli\nlevel: 1\ndimensions: 3\nboundary: periodic\n",
        ];
        for yaml in filters {
            let s = settings(yaml);
            let run = |threads: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| apply_f64(&data, spacing, &s))
            };
            let one = run(1);
            for threads in [2, 3] {
                let other = run(threads);
                assert!(
                    one.iter()
                        .zip(other.iter())
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{threads} threads: {yaml}"
                );
            }
        }
    }
}
