//! Direct convolution with separable kernels: one 1D pass per axis.
//!
//! Kernels have odd length with their centre in the middle; the convolution
//! is a true convolution, `out[i] = Σ_t w[t] · in[i + c − t]` with
//! `c = len / 2`, and positions outside the image come from the
//! [`Boundary`]. Because every boundary condition maps each axis on its own,
//! padding the volume and convolving axis by axis give the same result.
//!
//! Work is split over slices or rows with rayon; each output voxel is always
//! summed in the same order, so results do not depend on the thread count.

use ndarray::Array3;
use rayon::prelude::*;

use super::boundary::Boundary;

/// Geometric axis (0 = i/x, 1 = j/y, 2 = k/z) to the axis of the `[k, j, i]` array.
pub fn array_axis(geometric: usize) -> usize {
    2 - geometric
}

/// An odd-length copy of `kernel`: an even-length kernel gets a trailing
/// zero, which puts its first tap at offset −len/2 (the convention of
/// SciPy's `convolve1d` for even kernels padded to odd length).
pub fn odd_kernel(kernel: &[f64]) -> Vec<f64> {
    let mut k = kernel.to_vec();
    if k.len().is_multiple_of(2) {
        k.push(0.0);
    }
    k
}

/// Convolves along one geometric axis (0 = i, 1 = j, 2 = k).
pub fn convolve_axis(
    data: &Array3<f64>,
    geometric_axis: usize,
    kernel: &[f64],
    boundary: Boundary,
) -> Array3<f64> {
    assert!(kernel.len() % 2 == 1, "kernels have odd length");
    let data = data.as_standard_layout();
    let src = data.as_slice().expect("standard layout");
    let (nz, ny, nx) = data.dim();
    let c = (kernel.len() / 2) as isize;
    let mut out = vec![0.0; src.len()];
    match array_axis(geometric_axis) {
        0 => {
            let plane = ny * nx;
            out.par_chunks_mut(plane.max(1))
                .enumerate()
                .for_each(|(k, o)| {
                    for (t, &w) in kernel.iter().enumerate() {
                        if w == 0.0 {
                            continue;
                        }
                        if let Some(s) = boundary.source(k as isize + c - t as isize, nz) {
                            let sp = &src[s * plane..(s + 1) * plane];
                            for (ov, &v) in o.iter_mut().zip(sp) {
                                *ov += w * v;
                            }
                        }
                    }
                });
        }
        1 => {
            let plane = ny * nx;
            out.par_chunks_mut(plane.max(1))
                .enumerate()
                .for_each(|(k, o)| {
                    let slice = &src[k * plane..(k + 1) * plane];
                    for j in 0..ny {
                        let orow = &mut o[j * nx..(j + 1) * nx];
                        for (t, &w) in kernel.iter().enumerate() {
                            if w == 0.0 {
                                continue;
                            }
                            if let Some(s) = boundary.source(j as isize + c - t as isize, ny) {
                                let row = &slice[s * nx..(s + 1) * nx];
                                for (ov, &v) in orow.iter_mut().zip(row) {
                                    *ov += w * v;
                                }
                            }
                        }
                    }
                });
        }
        _ => {
            out.par_chunks_mut(nx.max(1))
                .enumerate()
                .for_each_init(Vec::new, |padded, (r, o)| {
                    let row = &src[r * nx..(r + 1) * nx];
                    let half = kernel.len() / 2;
                    boundary.pad_line(row, half, half, padded);
                    // out[i] = Σ_t w[t] · padded[i + 2c − t]
                    for (i, ov) in o.iter_mut().enumerate() {
                        let mut acc = 0.0;
                        for (t, &w) in kernel.iter().enumerate() {
                            acc += w * padded[i + 2 * half - t];
                        }
                        *ov = acc;
                    }
                });
        }
    }
    Array3::from_shape_vec((nz, ny, nx), out).expect("shape")
}

/// Convolves with one kernel per geometric axis (`None`: that axis is left
/// alone, as the k axis of a slice-by-slice filter).
pub fn convolve_separable(
    data: &Array3<f64>,
    kernels: &[Option<&[f64]>],
    boundary: Boundary,
) -> Array3<f64> {
    let mut current: Option<Array3<f64>> = None;
    // k first, then j, then i: the order MIRP and SciPy use; any order gives
    // the same sums up to rounding.
    for axis in (0..kernels.len()).rev() {
        if let Some(k) = kernels[axis] {
            let input = current.as_ref().unwrap_or(data);
            current = Some(convolve_axis(input, axis, k, boundary));
        }
    }
    current.unwrap_or_else(|| data.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_x(values: &[f64]) -> Array3<f64> {
        Array3::from_shape_vec((1, 1, values.len()), values.to_vec()).unwrap()
    }

    #[test]
    fn one_dimensional_convolution_by_hand() {
        // [1 2 3 4] * [1 2 3] (true convolution, centre tap 2), zero boundary:
        // out[0] = 1*2 + 2*1 = 4 ; out[1] = 1*3 + 2*2 + 3*1 = 10 ;
        // out[2] = 2*3 + 3*2 + 4*1 = 16 ; out[3] = 3*3 + 4*2 = 17.
        let x = line_x(&[1., 2., 3., 4.]);
        let out = convolve_axis(&x, 0, &[1., 2., 3.], Boundary::Zero);
        assert_eq!(out.iter().copied().collect::<Vec<_>>(), [4., 10., 16., 17.]);
        // Mirror repeats the edge voxel: out[0] = 1*2 + 2*1 + 3*1 = 7 ;
        // out[3] = 1*4 + 2*4 + 3*3 = 21.
        let out = convolve_axis(&x, 0, &[1., 2., 3.], Boundary::Mirror);
        assert_eq!(out.iter().copied().collect::<Vec<_>>(), [7., 10., 16., 21.]);
        let out = convolve_axis(&x, 0, &[1., 2., 3.], Boundary::Periodic);
        // out[0] = 1*2 + 2*1 + 4*3 = 16 ; out[3] = 3*3 + 4*2 + 1*1 = 18.
        assert_eq!(
            out.iter().copied().collect::<Vec<_>>(),
            [16., 10., 16., 18.]
        );
        let out = convolve_axis(&x, 0, &[1., 2., 3.], Boundary::Nearest);
        // out[0] = 1*3 + 1*2 + 2*1 = 7 ; out[3] = 3*3 + 4*2 + 4*1 = 21.
        assert_eq!(out.iter().copied().collect::<Vec<_>>(), [7., 10., 16., 21.]);
    }

    #[test]
    fn every_axis_gives_the_same_line_result() {
        let values = [1., 5., -2., 7., 3.];
        let kernel = [0.5, -1.0, 2.0, 0.25, 1.0];
        let reference = convolve_axis(&line_x(&values), 0, &kernel, Boundary::Mirror);
        let y = Array3::from_shape_vec((1, 5, 1), values.to_vec()).unwrap();
        let z = Array3::from_shape_vec((5, 1, 1), values.to_vec()).unwrap();
        let along_y = convolve_axis(&y, 1, &kernel, Boundary::Mirror);
        let along_z = convolve_axis(&z, 2, &kernel, Boundary::Mirror);
        let r: Vec<f64> = reference.iter().copied().collect();
        assert_eq!(along_y.iter().copied().collect::<Vec<_>>(), r);
        assert_eq!(along_z.iter().copied().collect::<Vec<_>>(), r);
    }

    #[test]
    fn separable_mean_of_an_impulse_is_a_uniform_cube() {
        let mut x = Array3::<f64>::zeros((5, 5, 5));
        x[[2, 2, 2]] = 27.0;
        let k = [1.0 / 3.0; 3];
        let out = convolve_separable(
            &x,
            &[Some(&k[..]), Some(&k[..]), Some(&k[..])],
            Boundary::Zero,
        );
        for ((z, y, xx), v) in out.indexed_iter() {
            let inside = (1..=3).contains(&z) && (1..=3).contains(&y) && (1..=3).contains(&xx);
            let expected = if inside { 1.0 } else { 0.0 };
            assert!((v - expected).abs() < 1e-12, "{z} {y} {xx}: {v}");
        }
    }

    #[test]
    fn even_kernels_get_a_trailing_zero() {
        assert_eq!(odd_kernel(&[1.0, 2.0]), vec![1.0, 2.0, 0.0]);
        assert_eq!(odd_kernel(&[1.0, 2.0, 3.0]), vec![1.0, 2.0, 3.0]);
    }
}
