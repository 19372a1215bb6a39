//! Rotation about the axial (z) axis through the centre of the grid, in
//! physical space (anisotropic in-plane spacing respected).
//!
//! The project's interpolator is separable (one axis at a time), so the
//! rotation is written as three shears (Paeth 1986): each shear moves every
//! row (or column) of the image along its own axis by an offset that
//! depends on the row, which is one-dimensional resampling of that row with
//! the project's linear interpolator. The index-space map of a rotation by
//! θ, `M = S⁻¹ R(−θ) S` with `S = diag(sx, sy)`, has determinant 1, so
//! `M = X(a) · Y(b) · X(a)` with `b = M₂₁` and `a = (cos θ − 1)/b`,
//! `X` a shear along x and `Y` along y. The mask goes through the same
//! shears as 0/1 values and is thresholded at 0.5 once, at the end.

use ndarray::{Array3, Axis, s};

use super::threshold;
use crate::image::Volume;
use crate::processing::Interpolator;
use crate::processing::interpolate::shift_lines;

/// Image and mask rotated by `degrees` (counter-clockwise seen from +z)
/// about the grid centre; intensities beyond the image are its boundary's.
pub fn rotate_axial(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    degrees: f64,
) -> (Volume<f32>, Volume<bool>) {
    let theta = degrees.to_radians();
    let (sin, cos) = theta.sin_cos();
    let [sx, sy, _] = image.geometry.spacing;
    let img = image.data.mapv(f64::from);
    let msk = mask.data.mapv(|m| if m { 1.0 } else { 0.0 });
    let (img, msk) = if sin.abs() < 1e-12 {
        if cos > 0.0 {
            (img, msk)
        } else {
            // 180°: both in-plane axes reversed.
            (
                img.slice(s![.., ..;-1, ..;-1]).to_owned(),
                msk.slice(s![.., ..;-1, ..;-1]).to_owned(),
            )
        }
    } else {
        let b = -sin * sx / sy;
        let a = (cos - 1.0) / b;
        let shears = |mut v: Array3<f64>| {
            shear_x(&mut v, a);
            shear_y(&mut v, b);
            shear_x(&mut v, a);
            v
        };
        (shears(img), shears(msk))
    };
    (
        Volume::new(img.mapv(|v| v as f32), image.geometry),
        Volume::new(threshold(msk), mask.geometry),
    )
}

/// `v(i, j) ← v(i + f·(j − cy), j)`: each row along x resampled at its
/// own offset.
fn shear_x(v: &mut Array3<f64>, f: f64) {
    let cy = (v.dim().1 as f64 - 1.0) / 2.0;
    shift_lines(v, Axis(2), Interpolator::Linear, |[_, j, _]| {
        f * (j as f64 - cy)
    });
}

/// `v(i, j) ← v(i, j + f·(i − cx))`: each column along y resampled at its
/// own offset.
fn shear_y(v: &mut Array3<f64>, f: f64) {
    let cx = (v.dim().2 as f64 - 1.0) / 2.0;
    shift_lines(v, Axis(1), Interpolator::Linear, |[_, _, i]| {
        f * (i as f64 - cx)
    });
}

#[cfg(test)]
mod tests {
    use super::super::test_volumes::ball;
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn zero_degrees_is_the_identity() {
        let (image, mask) = ball(11, 4.0, [0.8, 0.8, 3.0]);
        assert_eq!(rotate_axial(&image, &mask, 0.0), (image, mask));
    }

    #[test]
    fn a_quarter_turn_moves_a_bar_from_x_to_y_and_keeps_its_size() {
        // A bar along x through the centre of a 21×21 slice.
        let n = 21;
        let mask = Array3::from_shape_fn((3, n, n), |(_, j, i)| j == 10 && (4..17).contains(&i));
        let g = Geometry::new([1.0; 3], [0.0; 3]);
        let image = Volume::new(mask.mapv(|m| if m { 100.0f32 } else { 0.0 }), g);
        let mask = Volume::new(mask, g);
        let (ri, rm) = rotate_axial(&image, &mask, 90.0);
        for k in 0..3 {
            for j in 4..17 {
                assert!(rm.data[[k, j, 10]], "({k}, {j})");
                assert!((ri.data[[k, j, 10]] - 100.0).abs() < 1e-6);
            }
        }
        assert_eq!(rm.data.iter().filter(|&&m| m).count(), 3 * 13);
    }

    #[test]
    fn a_small_rotation_keeps_the_volume_of_a_ball() {
        let (image, mask) = ball(25, 8.0, [1.0, 1.0, 1.0]);
        let before = mask.data.iter().filter(|&&m| m).count() as f64;
        let (_, rm) = rotate_axial(&image, &mask, 10.0);
        let after = rm.data.iter().filter(|&&m| m).count() as f64;
        assert!((after / before - 1.0).abs() < 0.03, "{before} -> {after}");
    }
}
