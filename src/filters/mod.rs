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
