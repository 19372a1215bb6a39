//! Mean filter (IBSI 2, S60F): the average over a cube (3D) or square (2D)
//! of `support` voxels a side, centred on each voxel.

use ndarray::Array3;

use super::boundary::Boundary;
use super::separable::convolve_separable;
use super::settings::Dimensions;

pub fn mean(
    data: &Array3<f64>,
    support: usize,
    dimensions: Dimensions,
    boundary: Boundary,
) -> Array3<f64> {
    let kernel = vec![1.0 / support as f64; support];
    let k = Some(kernel.as_slice());
    let kernels = match dimensions {
        Dimensions::Two => vec![k, k],
        Dimensions::Three => vec![k, k, k],
    };
    convolve_separable(data, &kernels, boundary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_d_mean_leaves_slices_apart() {
        // An impulse in slice 1 spreads over a 3×3 square of that slice only.
        let mut x = Array3::<f64>::zeros((3, 3, 3));
        x[[1, 1, 1]] = 9.0;
        let out = mean(&x, 3, Dimensions::Two, Boundary::Zero);
        for ((k, _, _), &v) in out.indexed_iter() {
            assert_eq!(v, if k == 1 { 1.0 } else { 0.0 });
        }
        let out = mean(&x, 3, Dimensions::Three, Boundary::Zero);
        assert!(out.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-15));
    }

    #[test]
    fn nearest_boundary_keeps_a_constant_image_constant() {
        let x = Array3::<f64>::from_elem((4, 5, 6), 2.5);
        for b in [Boundary::Nearest, Boundary::Mirror, Boundary::Periodic] {
            let out = mean(&x, 5, Dimensions::Three, b);
            assert!(out.iter().all(|&v| (v - 2.5).abs() < 1e-12), "{b:?}");
        }
        // Zero padding pulls the corner down: 3 of 5 taps inside on each axis.
        let out = mean(&x, 5, Dimensions::Three, Boundary::Zero);
        assert!((out[[0, 0, 0]] - 2.5 * 27.0 / 125.0).abs() < 1e-12);
    }
}
