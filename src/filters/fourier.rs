//! Convolution through the FFT, for kernels that do not separate (Gabor) and
//! filters defined by their transfer function (Simoncelli).
//!
//! The image is first extended by the [`Boundary`] (by the kernel's
//! half-width, so the circular convolution of the FFT never wraps around
//! real data), transformed, multiplied and transformed back; the result is
//! cropped to the image. Kernels are placed with their centre at the
//! origin, so no shift is needed after the inverse transform.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array2, Array3, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use super::boundary::Boundary;

/// Forward and inverse plans for one 2D size.
pub struct Plan2 {
    rows: usize,
    cols: usize,
    row_fwd: Arc<dyn Fft<f64>>,
    row_inv: Arc<dyn Fft<f64>>,
    col_fwd: Arc<dyn Fft<f64>>,
    col_inv: Arc<dyn Fft<f64>>,
}

impl Plan2 {
    pub fn new(rows: usize, cols: usize) -> Self {
        let mut planner = FftPlanner::new();
        Plan2 {
            rows,
            cols,
            row_fwd: planner.plan_fft_forward(cols),
            row_inv: planner.plan_fft_inverse(cols),
            col_fwd: planner.plan_fft_forward(rows),
            col_inv: planner.plan_fft_inverse(rows),
        }
    }

    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// In-place 2D transform; the inverse is normalised (divided by the size).
    pub fn transform(&self, data: &mut Array2<Complex64>, inverse: bool) {
        let (rows, cols) = (self.rows, self.cols);
        assert_eq!(data.dim(), (rows, cols));
        let buf = data.as_slice_mut().expect("standard layout");
        if inverse {
            self.columns(buf, true);
            self.rows(buf, true, 0..rows);
            let scale = 1.0 / (rows * cols) as f64;
            buf.iter_mut().for_each(|v| *v *= scale);
        } else {
            self.rows(buf, false, 0..rows);
            self.columns(buf, false);
        }
    }

    /// The inverse transform, not normalised, of which only the rows in
    /// `keep` are wanted: the columns are transformed first, so the rows
    /// outside `keep` (the padding) need no transform at all.
    pub fn inverse_unnormalised_rows(&self, data: &mut Array2<Complex64>, keep: Range<usize>) {
        assert_eq!(data.dim(), (self.rows, self.cols));
        let buf = data.as_slice_mut().expect("standard layout");
        self.columns(buf, true);
        self.rows(buf, true, keep);
    }

    /// Transforms the rows in `range` (contiguous: one call for them all).
    fn rows(&self, buf: &mut [Complex64], inverse: bool, range: Range<usize>) {
        let fft = if inverse {
            &self.row_inv
        } else {
            &self.row_fwd
        };
        let lines = &mut buf[range.start * self.cols..range.end * self.cols];
        if !lines.is_empty() {
            let mut scratch = vec![Complex64::new(0.0, 0.0); fft.get_inplace_scratch_len()];
            fft.process_with_scratch(lines, &mut scratch);
        }
    }

    /// Transforms contiguous lines (of the plan's length) in place.
    fn lines(
        &self,
        fft: &Arc<dyn Fft<f64>>,
        lines: &mut [Complex64],
        scratch: &mut Vec<Complex64>,
    ) {
        if lines.is_empty() {
            return;
        }
        let need = fft.get_inplace_scratch_len();
        if scratch.len() < need {
            scratch.resize(need, Complex64::new(0.0, 0.0));
        }
        fft.process_with_scratch(lines, &mut scratch[..need]);
    }

    /// Transforms every column: blocks of neighbouring columns are gathered
    /// into contiguous lines (reading whole cache lines of each row),
    /// transformed in one call and scattered back.
    fn columns(&self, buf: &mut [Complex64], inverse: bool) {
        const BLOCK: usize = 16;
        let (rows, cols) = (self.rows, self.cols);
        let fft = if inverse {
            &self.col_inv
        } else {
            &self.col_fwd
        };
        let mut scratch = vec![Complex64::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        let mut lines = vec![Complex64::new(0.0, 0.0); BLOCK * rows];
        for c0 in (0..cols).step_by(BLOCK) {
            let width = BLOCK.min(cols - c0);
            for r in 0..rows {
                let row = &buf[r * cols + c0..r * cols + c0 + width];
                for (w, &v) in row.iter().enumerate() {
                    lines[w * rows + r] = v;
                }
            }
            fft.process_with_scratch(&mut lines[..width * rows], &mut scratch);
            for r in 0..rows {
                let row = &mut buf[r * cols + c0..r * cols + c0 + width];
                for (w, v) in row.iter_mut().enumerate() {
                    *v = lines[w * rows + r];
                }
            }
        }
    }
}

/// The spectrum, on a `rows` × `cols` grid, of a kernel of odd size whose
/// centre is placed at the origin.
pub fn kernel_spectrum(kernel: ArrayView2<Complex64>, plan: &Plan2) -> Array2<Complex64> {
    let (rows, cols) = plan.shape();
    let (kr, kc) = kernel.dim();
    let (cr, cc) = ((kr / 2) as isize, (kc / 2) as isize);
    let mut grid = Array2::<Complex64>::zeros((rows, cols));
    for ((r, c), &v) in kernel.indexed_iter() {
        let gr = (r as isize - cr).rem_euclid(rows as isize) as usize;
        let gc = (c as isize - cc).rem_euclid(cols as isize) as usize;
        grid[[gr, gc]] += v;
    }
    plan.transform(&mut grid, false);
    grid
}

/// The smallest length ≥ `n` whose prime factors are 2, 3 and 5, for which
/// the FFT is fastest.
pub fn smooth_length(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut r = m;
        for p in [2, 3, 5] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        if r == 1 {
            return m;
        }
        m += 1;
    }
}

/// Normalised frequencies (1 = Nyquist) of the bins of an FFT of length
/// `n`, in FFT order, on the centred grid `(m − c)/c`, `c = (n − 1)/2`, that
/// the IBSI chapter 2 consensus uses for filters defined in the Fourier
/// domain (Simoncelli, Riesz; as MIRP and the reference maps do). It spans
/// exactly [−1, 1]; for even `n` it sits half a bin off the exact `2k/n`.
pub fn centred_frequencies(n: usize) -> Vec<f64> {
    if n < 2 {
        return vec![0.0; n];
    }
    let c = (n as f64 - 1.0) / 2.0;
    (0..n)
        .map(|k| {
            let m = (k + n / 2) % n;
            (m as f64 - c) / c
        })
        .collect()
}

/// Angular frequencies (radians per voxel, in (−π, π]) of the bins of an
/// FFT of length `n`, in FFT order.
pub fn frequencies(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| {
            let k = if k <= n / 2 {
                k as isize
            } else {
                k as isize - n as isize
            };
            2.0 * std::f64::consts::PI * k as f64 / n as f64
        })
        .collect()
}

/// Folds the response to spectrum `index` (cropped to the plane; a block of
/// its rows at a time) into the same rows of the plane's result.
pub type PlaneReducer = dyn Fn(usize, ArrayView2<Complex64>, ArrayViewMut2<f64>) + Sync;

/// A bank of 2D filters applied to every plane perpendicular to
/// `normal_axis` (an axis of the `[k, j, i]` array): each plane is extended
/// with `boundary` to the grid of `plan`, starting `pad` = (rows, cols)
/// voxels before the image (the grid may extend further after it),
/// transformed once, and every spectrum in `spectra` (on that grid) is
/// applied to it; `reduce(index, response, out)` folds each cropped complex
/// response into the plane's result, in the order of `spectra`.
///
/// The spectra are held transposed (one contiguous line per grid column):
/// the column transforms, which dominate, then read and write contiguous
/// lines, and each line is multiplied and inverse-transformed while it is
/// in cache. Every 1D transform sees the same values as the textbook
/// rows-then-columns scheme of [`Plan2::transform`], so the result is the
/// same to the bit.
pub fn filter_planes(
    data: &Array3<f64>,
    normal_axis: usize,
    boundary: Boundary,
    pad: (usize, usize),
    plan: &Plan2,
    spectra: &[Array2<Complex64>],
    reduce: &PlaneReducer,
) -> Array3<f64> {
    let mut out = Array3::<f64>::zeros(data.dim());
    let filter = PlaneFilter {
        normal_axis,
        boundary,
        pad,
        plan,
        spectra,
        reduce,
    };
    filter_planes_into(data, &filter, &mut out, Fold::Assign);
    out
}

/// How [`filter_planes_into`] puts each reduced plane into its volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    Assign,
    Max,
    /// `out + plane`.
    Add,
}

/// The arguments of [`filter_planes`] but the data.
pub struct PlaneFilter<'a> {
    pub normal_axis: usize,
    pub boundary: Boundary,
    pub pad: (usize, usize),
    pub plan: &'a Plan2,
    pub spectra: &'a [Array2<Complex64>],
    pub reduce: &'a PlaneReducer,
}

/// [`filter_planes`] folded into `out` plane by plane as each is reduced
/// (in parallel, each plane into its own part of `out`): pooling over
/// plane families needs no volume per family, and no plane is held
/// beyond its thread's scratch.
pub fn filter_planes_into(
    data: &Array3<f64>,
    filter: &PlaneFilter,
    out: &mut Array3<f64>,
    fold: Fold,
) {
    let PlaneFilter {
        normal_axis,
        boundary,
        pad,
        plan,
        spectra,
        reduce,
    } = *filter;
    assert_eq!(out.dim(), data.dim(), "output shape");
    let (grid_rows, grid_cols) = plan.shape();
    // The inverse transform's 1/size, folded into the image's spectrum once
    // per plane instead of applied to every response.
    let scale = 1.0 / (grid_rows * grid_cols) as f64;
    let transposed: Vec<Array2<Complex64>> = spectra.iter().map(|s| transpose(s.view())).collect();
    // Planes across the contiguous axis would read every voxel from another
    // cache line: they are read from a copy with that axis first.
    let swapped;
    let (source, source_axis) = if normal_axis == 2 {
        swapped = planes_across_i(data);
        (&swapped, 0)
    } else {
        (data, normal_axis)
    };
    let mut targets: Vec<ndarray::ArrayViewMut2<f64>> =
        out.axis_iter_mut(Axis(normal_axis)).collect();
    targets
        .par_iter_mut()
        .enumerate()
        // The grids are reused from plane to plane on each thread.
        .for_each_init(
            || PlaneScratch::new(plan),
            |scratch, (p, target)| {
                let plane = source.index_axis(Axis(source_axis), p);
                let (rows, cols) = plane.dim();
                let PlaneScratch {
                    grid,
                    image,
                    work,
                    kept,
                    scratch,
                    result,
                } = scratch;
                pad_plane(plane, pad, boundary, grid);
                // Forward: rows, then columns as contiguous lines of the
                // transposed grid.
                plan.rows(
                    grid.as_slice_mut().expect("standard layout"),
                    false,
                    0..grid_rows,
                );
                transpose_into(grid.view(), image);
                let lines = image.as_slice_mut().expect("standard layout");
                plan.lines(&plan.col_fwd, lines, scratch);
                lines.iter_mut().for_each(|v| *v *= scale);
                // The plane's result starts from zeros, as a fresh plane would.
                if result.as_ref().is_none_or(|r| r.dim() != (rows, cols)) {
                    *result = Some(Array2::<f64>::zeros((rows, cols)));
                }
                let out = result.as_mut().expect("just made");
                out.fill(0.0);
                for (s, filter) in transposed.iter().enumerate() {
                    // Column by column (a block of lines at a time): the
                    // product with the filter, then its inverse transform.
                    let image = image.as_slice().expect("standard layout");
                    let filter = filter.as_slice().expect("standard layout");
                    let w = work.as_slice_mut().expect("standard layout");
                    let block = LINES * grid_rows;
                    for ((w, a), f) in w
                        .chunks_mut(block)
                        .zip(image.chunks(block))
                        .zip(filter.chunks(block))
                    {
                        for ((w, &a), &b) in w.iter_mut().zip(a).zip(f) {
                            *w = a * b;
                        }
                        plan.lines(&plan.col_inv, w, scratch);
                    }
                    // Rows: only those of the image, back in row order, a
                    // block at a time, each folded in while in cache.
                    for r0 in (0..rows).step_by(LINES) {
                        let r1 = (r0 + LINES).min(rows);
                        let block = (r1 - r0) * grid_cols;
                        kept.resize(block, Complex64::new(0.0, 0.0));
                        transpose_rows_into(
                            work.view(),
                            pad.0 + r0..pad.0 + r1,
                            &mut kept[..block],
                        );
                        plan.lines(&plan.row_inv, &mut kept[..block], scratch);
                        let response = ArrayView2::from_shape((r1 - r0, grid_cols), &kept[..block])
                            .expect("block shape");
                        let cropped = response.slice(ndarray::s![.., pad.1..pad.1 + cols]);
                        reduce(s, cropped, out.slice_mut(ndarray::s![r0..r1, ..]));
                    }
                }
                let out: &Array2<f64> = out;
                match fold {
                    Fold::Assign => target.assign(out),
                    Fold::Max => target.zip_mut_with(out, |o, &v| *o = o.max(v)),
                    Fold::Add => target.zip_mut_with(out, |o, &v| *o += v),
                }
            },
        );
}

/// One thread's grids for [`filter_planes`].
struct PlaneScratch {
    /// The padded plane (rows × columns).
    grid: Array2<Complex64>,
    /// Its spectrum, transposed (columns × rows).
    image: Array2<Complex64>,
    /// One filtered spectrum, transposed, column transforms undone.
    work: Array2<Complex64>,
    /// A block of the image's rows of `work`, back in row order.
    kept: Vec<Complex64>,
    scratch: Vec<Complex64>,
    /// The reduced plane (image rows × columns), made on first use.
    result: Option<Array2<f64>>,
}

impl PlaneScratch {
    fn new(plan: &Plan2) -> Self {
        let (rows, cols) = plan.shape();
        let zero = Complex64::new(0.0, 0.0);
        PlaneScratch {
            grid: Array2::from_elem((rows, cols), zero),
            image: Array2::from_elem((cols, rows), zero),
            work: Array2::from_elem((cols, rows), zero),
            kept: Vec::new(),
            scratch: Vec::new(),
            result: None,
        }
    }
}

/// Tiles of the blocked transposes below (16 × 16 complex values: 4 KB).
const TILE: usize = 16;

/// `a` transposed, in standard layout.
fn transpose(a: ArrayView2<Complex64>) -> Array2<Complex64> {
    let (rows, cols) = a.dim();
    let mut out = Array2::from_elem((cols, rows), Complex64::new(0.0, 0.0));
    transpose_into(a, &mut out);
    out
}

/// `out` (columns × rows of `a`) = `a` transposed, tile by tile.
fn transpose_into(a: ArrayView2<Complex64>, out: &mut Array2<Complex64>) {
    let (rows, cols) = a.dim();
    assert_eq!(out.dim(), (cols, rows));
    let a = a.as_standard_layout();
    let src = a.as_slice().expect("standard layout");
    let dst = out.as_slice_mut().expect("standard layout");
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

/// Lines (of the transposed grid) handled together: a block of `LINES`
/// lines or rows of 16-byte values stays in the first-level cache.
const LINES: usize = 8;

/// `out` = the positions `keep` of every line of `t` (lines × length),
/// transposed: row `r` of `out` (row-major, `t`'s line count wide) is
/// position `keep.start + r` of every line.
fn transpose_rows_into(t: ArrayView2<Complex64>, keep: Range<usize>, out: &mut [Complex64]) {
    let (lines, len) = t.dim();
    assert_eq!(out.len(), keep.len() * lines);
    let src = t.as_slice().expect("standard layout");
    for (l, line) in src.chunks_exact(len).enumerate() {
        for (r, &v) in line[keep.clone()].iter().enumerate() {
            out[r * lines + l] = v;
        }
    }
}

/// The volume with its i axis first, `[i, k, j]`: plane `i` of the copy is
/// the (k, j) plane of `data` at `i`, contiguous. Blocks of neighbouring
/// `i` are copied together, so every cache line of `data` is read once.
fn planes_across_i(data: &Array3<f64>) -> Array3<f64> {
    let (nz, ny, nx) = data.dim();
    let standard = data.as_standard_layout();
    let src = standard.as_slice().expect("standard layout");
    let mut out = Array3::<f64>::zeros((nx, nz, ny));
    let plane = (nz * ny).max(1);
    const BLOCK: usize = 8;
    out.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(BLOCK * plane)
        .enumerate()
        .for_each(|(b, chunk)| {
            let i0 = b * BLOCK;
            let width = chunk.len() / plane;
            for k in 0..nz {
                for j in 0..ny {
                    let row = &src[(k * ny + j) * nx + i0..][..width];
                    for (di, &v) in row.iter().enumerate() {
                        chunk[di * plane + k * ny + j] = v;
                    }
                }
            }
        });
    out
}

/// `plane` extended by `boundary` onto the grid `out`, starting `pad`
/// voxels before it.
fn pad_plane(
    plane: ndarray::ArrayView2<f64>,
    pad: (usize, usize),
    boundary: Boundary,
    out: &mut Array2<Complex64>,
) {
    let (rows, cols) = plane.dim();
    let (pr, pc) = pad;
    let shape = out.dim();
    // Where each grid column reads from, decided once.
    let col_src: Vec<Option<usize>> = (0..shape.1)
        .map(|c| boundary.source(c as isize - pc as isize, cols))
        .collect();
    for (r, mut grid_row) in out.rows_mut().into_iter().enumerate() {
        match boundary.source(r as isize - pr as isize, rows) {
            None => grid_row.fill(Complex64::new(0.0, 0.0)),
            Some(sr) => {
                let source = plane.row(sr);
                for (g, src) in grid_row.iter_mut().zip(&col_src) {
                    *g = Complex64::new(src.map_or(0.0, |c| source[c]), 0.0);
                }
            }
        }
    }
}

/// A 3D filter given by its transfer function at each frequency bin
/// `transfer([b_k, b_j, b_i])` of the padded grid (array axis order; the
/// padded lengths are the image's plus twice `pad`). The volume is
/// padded by `pad` voxels per array axis with `boundary`; the complex
/// response is cropped back to the image.
pub fn filter_volume(
    data: &Array3<f64>,
    boundary: Boundary,
    pad: [usize; 3],
    transfer: &(dyn Fn([usize; 3]) -> Complex64 + Sync),
) -> Array3<Complex64> {
    let (grid, pad, dims) = filtered_grid(data, boundary, pad, transfer);
    image_part(&grid, pad, dims).to_owned()
}

/// The image's part of the padded grid.
fn image_part(
    grid: &Array3<Complex64>,
    pad: [usize; 3],
    (nz, ny, nx): (usize, usize, usize),
) -> ndarray::ArrayView3<'_, Complex64> {
    grid.slice(ndarray::s![
        pad[0]..pad[0] + nz,
        pad[1]..pad[1] + ny,
        pad[2]..pad[2] + nx
    ])
}

/// The real part of [`filter_volume`], cropped straight from the padded
/// grid (no complex copy of the volume).
pub fn filter_volume_real(
    data: &Array3<f64>,
    boundary: Boundary,
    pad: [usize; 3],
    transfer: &(dyn Fn([usize; 3]) -> Complex64 + Sync),
) -> Array3<f64> {
    let (grid, pad, dims) = filtered_grid(data, boundary, pad, transfer);
    image_part(&grid, pad, dims).mapv(|z| z.re)
}

/// The padded grid filtered by `transfer`, with the padding and the
/// image's shape.
#[allow(clippy::type_complexity)]
fn filtered_grid(
    data: &Array3<f64>,
    boundary: Boundary,
    pad: [usize; 3],
    transfer: &(dyn Fn([usize; 3]) -> Complex64 + Sync),
) -> (Array3<Complex64>, [usize; 3], (usize, usize, usize)) {
    let (nz, ny, nx) = data.dim();
    let shape = (nz + 2 * pad[0], ny + 2 * pad[1], nx + 2 * pad[2]);
    // Where each grid index of each axis reads from, decided once.
    let sources = |len: usize, pad: usize, n: usize| -> Vec<Option<usize>> {
        (0..len)
            .map(|p| boundary.source(p as isize - pad as isize, n))
            .collect()
    };
    let (sk, sj, si) = (
        sources(shape.0, pad[0], nz),
        sources(shape.1, pad[1], ny),
        sources(shape.2, pad[2], nx),
    );
    // Filled row by row in parallel (the same values as one serial pass).
    let mut grid = Array3::<Complex64>::zeros(shape);
    grid.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(shape.2.max(1))
        .enumerate()
        .for_each(|(row, values)| {
            let (k, j) = (row / shape.1, row % shape.1);
            for (i, v) in values.iter_mut().enumerate() {
                *v = match (sk[k], sj[j], si[i]) {
                    (Some(k), Some(j), Some(i)) => Complex64::new(data[[k, j, i]], 0.0),
                    _ => Complex64::new(0.0, 0.0),
                };
            }
        });
    fft3(&mut grid, false);
    grid.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(shape.2)
        .enumerate()
        .for_each(|(row, values)| {
            let (k, j) = (row / shape.1, row % shape.1);
            for (i, v) in values.iter_mut().enumerate() {
                *v *= transfer([k, j, i]);
            }
        });
    fft3(&mut grid, true);
    (grid, pad, (nz, ny, nx))
}

/// In-place 3D FFT (inverse normalised), lines transformed in parallel.
pub fn fft3(data: &mut Array3<Complex64>, inverse: bool) {
    let (nz, ny, nx) = data.dim();
    let mut planner = FftPlanner::new();
    let plan = |n: usize, planner: &mut FftPlanner<f64>| {
        if inverse {
            planner.plan_fft_inverse(n)
        } else {
            planner.plan_fft_forward(n)
        }
    };
    let (fx, fy, fz) = (
        plan(nx, &mut planner),
        plan(ny, &mut planner),
        plan(nz, &mut planner),
    );
    let buf = data.as_slice_mut().expect("standard layout");
    // i: contiguous rows.
    buf.par_chunks_mut(nx).for_each(|row| fx.process(row));
    // j: columns within each slice.
    let plane = ny * nx;
    buf.par_chunks_mut(plane).for_each(|slice| {
        // Blocks of neighbouring columns, gathered row by row.
        const WIDTH: usize = 16;
        let mut lines = vec![Complex64::new(0.0, 0.0); WIDTH * ny];
        for i0 in (0..nx).step_by(WIDTH) {
            let width = WIDTH.min(nx - i0);
            for j in 0..ny {
                for w in 0..width {
                    lines[w * ny + j] = slice[j * nx + i0 + w];
                }
            }
            fy.process(&mut lines[..width * ny]);
            for j in 0..ny {
                for w in 0..width {
                    slice[j * nx + i0 + w] = lines[w * ny + j];
                }
            }
        }
    });
    // k: gather blocks of lines, transform in parallel, scatter in order.
    // A bounded batch of blocks at a time, their buffers reused from batch
    // to batch: buffers for every block at once would be a second volume,
    // paid for in page faults.
    const BLOCK: usize = 256;
    const BATCH: usize = 32;
    let n_blocks = plane.div_ceil(BLOCK);
    let mut buffers: Vec<Vec<Complex64>> = vec![Vec::new(); BATCH.min(n_blocks)];
    for first in (0..n_blocks).step_by(BATCH) {
        let batch = BATCH.min(n_blocks - first);
        let source: &[Complex64] = buf;
        buffers[..batch]
            .par_iter_mut()
            .enumerate()
            .for_each(|(b, lines)| {
                let start = (first + b) * BLOCK;
                let width = BLOCK.min(plane - start);
                lines.clear();
                lines.resize(width * nz, Complex64::new(0.0, 0.0));
                for w in 0..width {
                    let line = &mut lines[w * nz..(w + 1) * nz];
                    for k in 0..nz {
                        line[k] = source[k * plane + start + w];
                    }
                    fz.process(line);
                }
            });
        for (b, lines) in buffers[..batch].iter().enumerate() {
            let start = (first + b) * BLOCK;
            let width = lines.len() / nz;
            for w in 0..width {
                for k in 0..nz {
                    buf[k * plane + start + w] = lines[w * nz + k];
                }
            }
        }
    }
    if inverse {
        let scale = 1.0 / (nx * ny * nz) as f64;
        buf.par_iter_mut().for_each(|v| *v *= scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::separable::convolve_axis;

    /// The 3D FFT (k lines in batches of blocks) equals each line
    /// transformed on its own, i, then j, then k, to the bit; the planes
    /// here hold several batches of k-line blocks.
    #[test]
    fn fft3_equals_line_by_line_transforms_to_the_bit() {
        let (nz, ny, nx) = (5, 97, 91);
        assert!(ny * nx > 32 * 256, "more than one batch of blocks");
        let data = Array3::from_shape_fn((nz, ny, nx), |(k, j, i)| {
            Complex64::new(((k * 131 + j * 37 + i * 11) % 97) as f64 - 40.0, 0.0)
        });
        for inverse in [false, true] {
            let mut got = data.clone();
            fft3(&mut got, inverse);
            let mut planner = FftPlanner::new();
            let mut expected = data.clone();
            for axis in [2, 1, 0] {
                let n = expected.len_of(Axis(axis));
                let fft = if inverse {
                    planner.plan_fft_inverse(n)
                } else {
                    planner.plan_fft_forward(n)
                };
                for mut lane in expected.lanes_mut(Axis(axis)) {
                    let mut line: Vec<Complex64> = lane.iter().copied().collect();
                    fft.process(&mut line);
                    lane.iter_mut().zip(&line).for_each(|(v, &l)| *v = l);
                }
            }
            if inverse {
                let scale = 1.0 / (nx * ny * nz) as f64;
                expected.mapv_inplace(|v| v * scale);
            }
            assert!(
                got.iter()
                    .zip(expected.iter())
                    .all(|(a, b)| a.re.to_bits() == b.re.to_bits()
                        && a.im.to_bits() == b.im.to_bits()),
                "inverse: {inverse}"
            );
        }
    }

    #[test]
    fn fft_plane_convolution_equals_direct_convolution() {
        // A 1×3 kernel along i applied through the FFT equals the direct pass.
        let data = Array3::from_shape_fn((2, 4, 5), |(k, j, i)| {
            ((k * 31 + j * 7 + i * 3) % 11) as f64 - 4.0
        });
        let taps = [0.5, -1.0, 2.0];
        for boundary in [
            Boundary::Zero,
            Boundary::Nearest,
            Boundary::Periodic,
            Boundary::Mirror,
        ] {
            let direct = convolve_axis(&data, 0, &taps, boundary);
            let kernel = Array2::from_shape_fn((1, 3), |(_, c)| Complex64::new(taps[c], 0.0));
            // A grid larger than needed on the far side changes nothing.
            let plan = Plan2::new(5, 5 + 2 + 3);
            let spectrum = kernel_spectrum(kernel.view(), &plan);
            let out = filter_planes(
                &data,
                0,
                boundary,
                (0, 1),
                &plan,
                &[spectrum],
                &|_, r, mut o| o.zip_mut_with(&r, |a, b| *a += b.re),
            );
            for (a, b) in out.iter().zip(direct.iter()) {
                assert!((a - b).abs() < 1e-12, "{boundary:?}: {a} vs {b}");
            }
        }
    }

    /// The bank of filters applied as the textbook scheme does: the full
    /// 2D transform of the padded plane, the product, the inverse.
    #[test]
    fn plane_bank_equals_the_row_column_scheme_to_the_bit() {
        let data = Array3::from_shape_fn((3, 13, 17), |(k, j, i)| {
            ((k * 31 + j * 7 + i * 3) % 11) as f64 * 1.3 - 4.0
        });
        let pad = (3, 4);
        for normal in 0..3 {
            let plane0 = data.index_axis(Axis(normal), 0);
            let (rows, cols) = plane0.dim();
            let plan = Plan2::new(
                smooth_length(rows + 2 * pad.0),
                smooth_length(cols + 2 * pad.1) + 1,
            );
            let kernel = Array2::from_shape_fn((7, 9), |(r, c)| {
                Complex64::new(
                    ((r * 7 + c * 3) % 5) as f64 - 2.0,
                    ((r + c) % 3) as f64 * 0.5,
                )
            });
            let spectra = vec![
                kernel_spectrum(kernel.view(), &plan),
                kernel_spectrum(kernel.slice(ndarray::s![1..6, ..]), &plan),
            ];
            let reduce = |s: usize, r: ArrayView2<Complex64>, mut o: ArrayViewMut2<f64>| {
                o.zip_mut_with(&r, |a, b| *a += (s as f64 + 1.5) * b.re - b.im)
            };
            let fast = filter_planes(
                &data,
                normal,
                Boundary::Mirror,
                pad,
                &plan,
                &spectra,
                &reduce,
            );
            let (gr, gc) = plan.shape();
            let scale = 1.0 / (gr * gc) as f64;
            for p in 0..data.len_of(Axis(normal)) {
                let mut grid = Array2::<Complex64>::zeros(plan.shape());
                pad_plane(
                    data.index_axis(Axis(normal), p),
                    pad,
                    Boundary::Mirror,
                    &mut grid,
                );
                plan.transform(&mut grid, false);
                grid.mapv_inplace(|v| v * scale);
                let mut expected = Array2::<f64>::zeros((rows, cols));
                for (s, spectrum) in spectra.iter().enumerate() {
                    let mut work = &grid * spectrum;
                    plan.inverse_unnormalised_rows(&mut work, pad.0..pad.0 + rows);
                    let cropped = work.slice(ndarray::s![pad.0..pad.0 + rows, pad.1..pad.1 + cols]);
                    reduce(s, cropped, expected.view_mut());
                }
                let got = fast.index_axis(Axis(normal), p);
                for (a, b) in got.iter().zip(expected.iter()) {
                    assert_eq!(a.to_bits(), b.to_bits(), "normal {normal} plane {p}");
                }
            }
        }
    }

    #[test]
    fn identity_transfer_returns_the_image_and_fft3_inverts() {
        let data = Array3::from_shape_fn((3, 4, 5), |(k, j, i)| (k * 20 + j * 5 + i) as f64);
        let out = filter_volume(&data, Boundary::Mirror, [1, 2, 0], &|_| {
            Complex64::new(1.0, 0.0)
        });
        for (a, b) in out.iter().zip(data.iter()) {
            assert!((a.re - b).abs() < 1e-9 && a.im.abs() < 1e-9);
        }
    }

    #[test]
    fn smooth_lengths() {
        assert_eq!(smooth_length(237), 240);
        assert_eq!(smooth_length(7), 8);
        assert_eq!(smooth_length(125), 125);
    }

    #[test]
    fn centred_frequencies_span_minus_one_to_one() {
        // n = 4: c = 1.5, grid (−1, −1/3, 1/3, 1) shifted to FFT order.
        let f = centred_frequencies(4);
        let expected = [1.0 / 3.0, 1.0, -1.0, -1.0 / 3.0];
        for (a, b) in f.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{f:?}");
        }
        // Odd n: DC is exactly 0 and the grid is symmetric.
        assert_eq!(centred_frequencies(5), vec![0.0, 0.5, 1.0, -1.0, -0.5]);
    }

    #[test]
    fn frequencies_follow_fft_order() {
        let pi = std::f64::consts::PI;
        let f = frequencies(4);
        assert_eq!(f, vec![0.0, pi / 2.0, pi, -pi / 2.0]);
    }
}
