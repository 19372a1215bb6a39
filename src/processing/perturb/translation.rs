//! Translation by fractions of a voxel: the image and mask resampled on the
//! same grid shifted by the fractions, with the project's interpolator
//! (linear for both, one pass per axis; the mask re-thresholded at 0.5).

use ndarray::{Array3, Axis};

use super::threshold;
use crate::image::Volume;
use crate::processing::Interpolator;
use crate::processing::interpolate::shift_lines;

/// The content moved by `-fractions` voxels: output voxel `p` takes the
/// input at `p + fractions` (x, y, z), boundary intensities outside.
pub fn translate(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    fractions: [f64; 3],
) -> (Volume<f32>, Volume<bool>) {
    // One pass per axis with a shift (x, then y, then z, as resample_box).
    let shift = |mut v: Array3<f64>| {
        for (a, &f) in fractions.iter().enumerate() {
            if f != 0.0 {
                shift_lines(&mut v, Axis(2 - a), Interpolator::Linear, |_| f);
            }
        }
        v
    };
    let img = shift(image.data.mapv(f64::from));
    let msk = shift(mask.data.mapv(|m| if m { 1.0 } else { 0.0 }));
    (
        Volume::new(img.mapv(|v| v as f32), image.geometry),
        Volume::new(threshold(msk), mask.geometry),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_volumes::ball;
    use super::*;

    #[test]
    fn a_zero_shift_is_the_identity_and_a_whole_voxel_moves_the_mask() {
        let (image, mask) = ball(12, 4.0, [1.0, 1.0, 2.0]);
        let (i2, m2) = translate(&image, &mask, [0.0; 3]);
        assert_eq!(i2, image);
        assert_eq!(m2, mask);
        let (_, m3) = translate(&image, &mask, [1.0, 0.0, 0.0]);
        for ((k, j, i), &m) in m3.data.indexed_iter() {
            if i + 1 < 12 {
                assert_eq!(m, mask.data[[k, j, i + 1]]);
            }
        }
    }

    #[test]
    fn a_half_voxel_shift_interpolates_the_image_linearly() {
        let (image, mask) = ball(10, 3.0, [1.0; 3]);
        let (i2, _) = translate(&image, &mask, [0.5, 0.0, 0.0]);
        // The test image is 3i + 2j + k: half a voxel in x adds 1.5 inside.
        assert!((i2.data[[4, 4, 4]] - (image.data[[4, 4, 4]] + 1.5)).abs() < 1e-4);
    }
}
