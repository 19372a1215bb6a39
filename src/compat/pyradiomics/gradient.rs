//! PyRadiomics' Gradient image type: SimpleITK's GradientMagnitudeImageFilter
//! on the (normalised, resampled) image, named `gradient`.
//!
//! ITK takes along each axis the central difference ½·(f(i+1) − f(i−1)),
//! divided by the spacing when `gradientUseSpacing` is true (PyRadiomics'
//! default), with the voxels beyond the border equal to the border voxel
//! (ITK's zero-flux Neumann condition, so a border voxel's difference is
//! half its one-sided difference), and the square root of the sum of the
//! squared differences, computed in double precision. SimpleITK returns it
//! in single precision whatever the input's pixel type (this arithmetic,
//! redone in numpy, matched SimpleITK 2.5 bit for bit on int16, float and
//! double images).

use ndarray::{Array3, Axis};

use crate::image::Volume;

/// The gradient magnitude of `image`, in single precision as SimpleITK
/// returns it.
pub fn gradient_magnitude(image: &Volume<f64>, use_spacing: bool) -> Volume<f32> {
    let data = &image.data;
    let mut squares = Array3::<f64>::zeros(data.raw_dim());
    for axis in 0..3 {
        // Array axis 0 is z: spacing index 2 - axis.
        let scale = if use_spacing {
            0.5 * (1.0 / image.geometry.spacing[2 - axis])
        } else {
            0.5
        };
        let n = data.len_of(Axis(axis));
        for (src, mut dst) in data
            .lanes(Axis(axis))
            .into_iter()
            .zip(squares.lanes_mut(Axis(axis)))
        {
            for i in 0..n {
                let before = src[i.saturating_sub(1)];
                let after = src[(i + 1).min(n - 1)];
                // ITK's inner product with the operator (−s, 0, s).
                let g = -scale * before + 0.0 * src[i] + scale * after;
                dst[i] += g * g;
            }
        }
    }
    Volume::new(squares.mapv(|v| v.sqrt() as f32), image.geometry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    /// A linear ramp along each axis: inside, the magnitude is the slope
    /// per mm (per voxel without spacing); on a border voxel along the ramp
    /// the one-sided difference is halved.
    #[test]
    fn a_ramp_has_its_slope_inside_and_half_on_the_border() {
        let data = Array3::from_shape_fn((4, 5, 6), |(k, _, _)| 3.0 * k as f64);
        let image = Volume::new(data, Geometry::new([0.5, 0.8, 2.0], [0.0; 3]));
        let with = gradient_magnitude(&image, true);
        assert_eq!(with.data[[1, 2, 3]], 1.5);
        assert_eq!(with.data[[0, 2, 3]], 0.75);
        let without = gradient_magnitude(&image, false);
        assert_eq!(without.data[[2, 0, 0]], 3.0);
        assert_eq!(without.data[[3, 4, 5]], 1.5);
    }

    /// Differences along different axes add in quadrature.
    #[test]
    fn axes_add_in_quadrature() {
        let data = Array3::from_shape_fn((3, 3, 3), |(_, j, i)| 3.0 * j as f64 + 4.0 * i as f64);
        let image = Volume::new(data, Geometry::new([1.0; 3], [0.0; 3]));
        let g = gradient_magnitude(&image, true);
        assert_eq!(g.data[[1, 1, 1]], 5.0);
    }
}
