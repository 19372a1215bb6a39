//! PyRadiomics' LBP2D image type: scikit-image's local binary pattern of
//! each 2D slice normal to `force2Ddimension` (z by default), as
//! PyRadiomics 3.0.1 calls it.
//!
//! - `P` samples on a circle of radius `R` voxels around each voxel, at
//!   row offset −R·sin(2πp/P) and column offset R·cos(2πp/P), each rounded
//!   to 5 decimals as scikit-image does; a sample between voxels is
//!   interpolated bilinearly, and voxels beyond the slice read 0.
//! - Bit p is set when the sample is at least the centre voxel.
//! - `default`: Σ bit_p·2^p; `ror`: the smallest of its P right rotations;
//!   `uniform`: the number of set bits when at most two neighbouring bits
//!   differ (scanning p = 0 … P−1, without wrapping round), else P + 1.
//! - The slice's rows and columns are its two other array axes in the order
//!   NumPy leaves them after swapping the slicing axis to the front:
//!   (y, x) for axis 0, (z, x) for axis 1, (y, z) for axis 2.
//! - The codes are written back into the image's own pixel type (NumPy's
//!   assignment into the image array).

use ndarray::{Array3, Axis};
use rayon::prelude::*;

use super::resample::PixelType;
use crate::image::Volume;

/// The pattern code of `lbp2DMethod` (PyRadiomics' `var` is refused by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbpMethod {
    Default,
    Ror,
    Uniform,
}

impl LbpMethod {
    pub fn named(name: &str) -> Option<LbpMethod> {
        match name {
            "default" => Some(LbpMethod::Default),
            "ror" => Some(LbpMethod::Ror),
            "uniform" => Some(LbpMethod::Uniform),
            _ => None,
        }
    }
}

/// The LBP image of `image`, slice by slice normal to array `axis`, stored
/// as `pixel` stores it.
pub fn lbp2d(
    image: &Volume<f64>,
    axis: usize,
    radius: f64,
    samples: usize,
    method: LbpMethod,
    pixel: PixelType,
) -> Volume<f64> {
    let offsets = circle(radius, samples);
    let mut out = Array3::<f64>::zeros(image.data.raw_dim());
    // The slice's (row, column) axes among the two left by `axis`.
    let (row_axis, col_axis) = match axis {
        0 => (0, 1),
        1 => (0, 1),
        _ => (1, 0),
    };
    out.axis_iter_mut(Axis(axis))
        .into_par_iter()
        .zip(image.data.axis_iter(Axis(axis)).into_par_iter())
        .for_each(|(mut dst, src)| {
            let src = src.permuted_axes([row_axis, col_axis]);
            let dst_view = dst.view_mut().permuted_axes([row_axis, col_axis]);
            let plane = src.as_standard_layout();
            let codes = slice_codes(&plane.view(), &offsets, method);
            for (d, c) in dst_view.into_iter().zip(codes.iter()) {
                *d = stored(pixel, *c);
            }
        });
    Volume::new(out, image.geometry)
}

/// A code as the image's pixel type holds it.
fn stored(pixel: PixelType, code: f64) -> f64 {
    match pixel {
        PixelType::F64 => code,
        other => f64::from(other.cast(code)),
    }
}

/// The (row, column) offsets of the `samples` points, rounded to 5 decimals
/// as NumPy's `round(x, 5)`: `rint(x · 10⁵) / 10⁵`.
fn circle(radius: f64, samples: usize) -> Vec<(f64, f64)> {
    let round5 = |x: f64| (x * 1e5).round_ties_even() / 1e5;
    (0..samples)
        .map(|p| {
            let angle = 2.0 * std::f64::consts::PI * p as f64 / samples as f64;
            (round5(-radius * angle.sin()), round5(radius * angle.cos()))
        })
        .collect()
}

/// The codes of one slice, row by row.
fn slice_codes(
    plane: &ndarray::ArrayView2<f64>,
    offsets: &[(f64, f64)],
    method: LbpMethod,
) -> Vec<f64> {
    let (rows, cols) = plane.dim();
    let pixel = |r: i64, c: i64| {
        if r < 0 || c < 0 || r >= rows as i64 || c >= cols as i64 {
            0.0
        } else {
            plane[[r as usize, c as usize]]
        }
    };
    let samples = offsets.len();
    let mut bits = vec![0u32; samples];
    let mut codes = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let centre = plane[[r, c]];
            for (bit, &(dr, dc)) in bits.iter_mut().zip(offsets) {
                let (y, x) = (r as f64 + dr, c as f64 + dc);
                let (r0, c0) = (y.floor(), x.floor());
                let (r1, c1) = (y.ceil() as i64, x.ceil() as i64);
                let (fr, fc) = (y - r0, x - c0);
                let (r0, c0) = (r0 as i64, c0 as i64);
                let top = (1.0 - fc) * pixel(r0, c0) + fc * pixel(r0, c1);
                let bottom = (1.0 - fc) * pixel(r1, c0) + fc * pixel(r1, c1);
                let value = (1.0 - fr) * top + fr * bottom;
                *bit = u32::from(value - centre >= 0.0);
            }
            codes.push(code(&bits, method));
        }
    }
    codes
}

/// One voxel's code from its bits (bit p for sample p).
fn code(bits: &[u32], method: LbpMethod) -> f64 {
    let p = bits.len();
    match method {
        LbpMethod::Uniform => {
            let changes: u32 = bits.windows(2).map(|w| u32::from(w[0] != w[1])).sum();
            if changes <= 2 {
                f64::from(bits.iter().sum::<u32>())
            } else {
                (p + 1) as f64
            }
        }
        LbpMethod::Default | LbpMethod::Ror => {
            let value: u64 = bits
                .iter()
                .enumerate()
                .map(|(i, &b)| u64::from(b) << i)
                .sum();
            if method == LbpMethod::Default {
                return value as f64;
            }
            // The smallest of the P right rotations of the P-bit value.
            let mut smallest = value;
            let mut rotated = value;
            for _ in 1..p {
                rotated = (rotated >> 1) | ((rotated & 1) << (p - 1));
                smallest = smallest.min(rotated);
            }
            smallest as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    // 0.70711 is 1/√2 rounded to five decimals on purpose: the rounding is
    // what the test checks.
    #[allow(clippy::approx_constant)]
    #[test]
    fn eight_neighbours_sit_on_the_unit_circle_rounded_to_five_decimals() {
        let c = circle(1.0, 8);
        assert_eq!(c[0], (0.0, 1.0));
        assert_eq!(c[2], (-1.0, 0.0));
        assert_eq!(c[1], (-0.70711, 0.70711));
        assert_eq!(c[4], (0.0, -1.0));
    }

    #[test]
    fn codes_of_each_method() {
        // Bits 0..8: 1 1 1 0 0 0 0 0 (uniform, three set).
        let bits = [1, 1, 1, 0, 0, 0, 0, 0];
        assert_eq!(code(&bits, LbpMethod::Default), 7.0);
        assert_eq!(code(&bits, LbpMethod::Uniform), 3.0);
        assert_eq!(code(&bits, LbpMethod::Ror), 7.0);
        // 0 1 0 1 0 0 0 0: four changes, not uniform; ror of 0b1010 is 0b101.
        let bits = [0, 1, 0, 1, 0, 0, 0, 0];
        assert_eq!(code(&bits, LbpMethod::Uniform), 9.0);
        assert_eq!(code(&bits, LbpMethod::Default), 10.0);
        assert_eq!(code(&bits, LbpMethod::Ror), 5.0);
        // 1 0 0 0 0 0 0 1: two changes without wrapping round: uniform.
        assert_eq!(code(&[1, 0, 0, 0, 0, 0, 0, 1], LbpMethod::Uniform), 2.0);
    }

    #[test]
    fn a_bright_voxel_is_a_minimum_code_and_its_neighbours_see_it() {
        // One bright voxel at (z 0, y 2, x 2) of a 1×5×5 slice.
        let mut data = Array3::<f64>::zeros((1, 5, 5));
        data[[0, 2, 2]] = 10.0;
        let image = Volume::new(data, Geometry::new([1.0; 3], [0.0; 3]));
        let out = lbp2d(&image, 0, 1.0, 8, LbpMethod::Default, PixelType::F64);
        // The bright voxel: no neighbour reaches it.
        assert_eq!(out.data[[0, 2, 2]], 0.0);
        // A corner voxel: its samples beyond the slice read 0, equal to it.
        assert_eq!(out.data[[0, 4, 0]] as u32 & 1, 1);
        // The voxel left of it (x 1) sees it at sample 0 (column + 1).
        assert_eq!(out.data[[0, 2, 1]] as u32 & 1, 1);
        // Uniform codes are stored as the file's integer type holds them.
        let u = lbp2d(&image, 0, 1.0, 8, LbpMethod::Uniform, PixelType::I16);
        assert!(
            u.data
                .iter()
                .all(|&v| v.fract() == 0.0 && (0.0..=9.0).contains(&v))
        );
    }
}
