//! Interpolation to a new grid (IBSI 2.4): the grid-centre-aligned grid, and
//! separable resampling (nearest, linear, cubic B-spline) of any box of it.
//!
//! The new grid has the directions of the old one, so every axis maps
//! independently: sample `p` of axis `a` lies at old-grid coordinate
//! `start + p·step`. Resampling is a product of 1D passes, which is exact for
//! the three interpolators and cheap. Outside the image, intensities are
//! those of the nearest boundary voxel (IBSI: "padding the original grid
//! with the intensities at the boundary").

use ndarray::{Array3, Axis};
use rayon::prelude::*;

use super::Interpolator;
use super::diagnostics::{IntensityStats, StatsAccumulator};
use crate::image::{Geometry, Volume, precision};

/// One axis of the new grid, in old-grid coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxisMap {
    /// Number of samples of the new grid along this axis.
    pub n_new: usize,
    /// Old-grid coordinate of new sample 0.
    pub start: f64,
    /// Distance between new samples, in old voxels.
    pub step: f64,
}

impl AxisMap {
    /// The IBSI "align grid centres" axis: `n_new = ceil(n·s/s_new)` and both
    /// grids share their centre.
    pub fn aligned(n_old: usize, spacing_old: f64, spacing_new: f64) -> AxisMap {
        // The rounding rule keeps exact ratios (60 × 3 / 2) from rounding up
        // to 91 when a spacing carries a rounding error.
        let n_new = precision::ceil(n_old as f64 * spacing_old / spacing_new).max(1.0) as usize;
        let step = spacing_new / spacing_old;
        let start = 0.5 * ((n_old as f64 - 1.0) - step * (n_new as f64 - 1.0));
        AxisMap { n_new, start, step }
    }

    /// The old axis unchanged (2D interpolation keeps the slices).
    pub fn identity(n_old: usize) -> AxisMap {
        AxisMap {
            n_new: n_old,
            start: 0.0,
            step: 1.0,
        }
    }

    pub fn coordinate(&self, p: usize) -> f64 {
        self.start + p as f64 * self.step
    }
}

/// The whole new grid: one [`AxisMap`] per axis in (x, y, z) order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridMap {
    pub axes: [AxisMap; 3],
    /// Geometry of the complete new grid.
    pub geometry: Geometry,
}

impl GridMap {
    /// The IBSI grid for `spacing` (z kept when `in_plane_only`).
    pub fn new(old: &Geometry, dims: [usize; 3], spacing: [f64; 3], in_plane_only: bool) -> Self {
        let mut axes = [AxisMap::identity(0); 3];
        let mut new_spacing = old.spacing;
        for a in 0..3 {
            axes[a] = if a == 2 && in_plane_only {
                AxisMap::identity(dims[a])
            } else {
                new_spacing[a] = spacing[a];
                AxisMap::aligned(dims[a], old.spacing[a], spacing[a])
            };
        }
        let origin = old.index_to_physical([axes[0].start, axes[1].start, axes[2].start]);
        GridMap {
            axes,
            geometry: Geometry {
                spacing: new_spacing,
                origin,
                direction: old.direction,
            },
        }
    }

    pub fn dims(&self) -> [usize; 3] {
        [self.axes[0].n_new, self.axes[1].n_new, self.axes[2].n_new]
    }
}

/// Half-open index ranges per axis, in (x, y, z) order.
pub type IndexBox = [(usize, usize); 3];

impl Interpolator {
    /// How many old voxels on each side of a sample the interpolator reads.
    pub fn support(self) -> usize {
        match self {
            Interpolator::Nearest => 0,
            Interpolator::Linear => 1,
            Interpolator::Cubic => 2,
        }
    }

    /// Extra voxels read beyond the support so that the B-spline prefilter
    /// of a block equals that of the whole image (its impulse response
    /// decays as 0.268^d: 0.268^16 < 1e-9).
    fn prefilter_margin(self) -> usize {
        match self {
            Interpolator::Cubic => 16,
            _ => 0,
        }
    }
}

/// Resamples the box `new_box` of the new grid from `old` (read through
/// `value`). Reads only the old voxels it needs, with nearest-boundary padding.
pub fn resample_box<T: Copy>(
    old: &Array3<T>,
    value: impl Fn(T) -> f64,
    map: &GridMap,
    new_box: IndexBox,
    interpolator: Interpolator,
) -> Array3<f64> {
    let mut block_lo = [0isize; 3];
    let mut block_len = [0usize; 3];
    for a in 0..3 {
        (block_lo[a], block_len[a]) = old_range(&map.axes[a], new_box[a], interpolator);
    }
    let mut block = read_block(old, &value, block_lo, block_len);
    if interpolator == Interpolator::Cubic {
        for axis in 0..3 {
            spline_prefilter(&mut block, Axis(axis));
        }
    }
    // x first (contiguous), then y, then z. Each pass writes into the
    // storage of the volume two passes back when it is large enough (the
    // y pass reuses the block read): a fresh volume costs a page fault per
    // 4 KiB page, more than the arithmetic of the pass.
    let mut spare = Vec::new();
    for a in 0..3 {
        let (p0, p1) = new_box[a];
        let taps = Taps::new(
            interpolator,
            (p0..p1).map(|p| map.axes[a].coordinate(p) - block_lo[a] as f64),
            block_len[a],
        );
        let next = taps.apply_reusing(&block, Axis(2 - a), std::mem::take(&mut spare));
        spare = storage_of(std::mem::replace(&mut block, next));
    }
    block
}

/// The allocation behind a standard-layout volume, for reuse.
fn storage_of(volume: Array3<f64>) -> Vec<f64> {
    match volume.into_raw_vec_and_offset() {
        (values, Some(0)) => values,
        _ => Vec::new(),
    }
}

/// The old-index range (start, length; possibly beyond the image) that the
/// new samples `p0..p1` of one axis read.
fn old_range(
    axis: &AxisMap,
    (p0, p1): (usize, usize),
    interpolator: Interpolator,
) -> (isize, usize) {
    let reach = (interpolator.support() + interpolator.prefilter_margin() + 1) as isize;
    let c0 = axis.coordinate(p0).floor() as isize;
    let c1 = axis.coordinate(p1.saturating_sub(1).max(p0)).floor() as isize;
    (c0 - reach, (c1 + reach - (c0 - reach) + 1) as usize)
}

/// The old voxels `block_lo .. block_lo + block_len` (x, y, z), read through
/// `value`, with indices beyond the image clamped to its boundary. Rows are
/// copied whole: only their ends can fall outside the image.
fn read_block<T: Copy>(
    old: &Array3<T>,
    value: &impl Fn(T) -> f64,
    block_lo: [isize; 3],
    block_len: [usize; 3],
) -> Array3<f64> {
    let mut data = Vec::new();
    read_block_into(old, value, block_lo, block_len, &mut data);
    Array3::from_shape_vec((block_len[2], block_len[1], block_len[0]), data)
        .expect("block size matches its shape")
}

/// [`read_block`] into `data` (its allocation reused; x fastest).
fn read_block_into<T: Copy>(
    old: &Array3<T>,
    value: &impl Fn(T) -> f64,
    block_lo: [isize; 3],
    block_len: [usize; 3],
    data: &mut Vec<f64>,
) {
    let old_dims = [old.shape()[2], old.shape()[1], old.shape()[0]];
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    let x_source: Vec<usize> = (0..block_len[0])
        .map(|i| clamp(block_lo[0] + i as isize, old_dims[0]))
        .collect();
    data.clear();
    data.reserve(block_len.iter().product());
    for k in 0..block_len[2] {
        let kk = clamp(block_lo[2] + k as isize, old_dims[2]);
        for j in 0..block_len[1] {
            let jj = clamp(block_lo[1] + j as isize, old_dims[1]);
            let row = old.slice(ndarray::s![kk, jj, ..]);
            data.extend(x_source.iter().map(|&i| value(row[i])));
        }
    }
}

/// Interpolation weights of every output sample along one axis: a fixed
/// number of (index, weight) pairs per sample.
struct Taps {
    width: usize,
    index: Vec<usize>,
    weight: Vec<f64>,
}

impl Taps {
    fn new(interpolator: Interpolator, coords: impl Iterator<Item = f64>, len: usize) -> Taps {
        let width = match interpolator {
            Interpolator::Nearest => 1,
            Interpolator::Linear => 2,
            Interpolator::Cubic => 4,
        };
        let mut index = Vec::new();
        let mut weight = Vec::new();
        let clamp = |v: f64| (v.max(0.0) as usize).min(len - 1);
        for c in coords {
            match interpolator {
                Interpolator::Nearest => {
                    // A sample halfway between two voxels takes the upper
                    // one, also when its coordinate is an ulp below the half.
                    index.push(clamp(precision::round_half_up(c)));
                    weight.push(1.0);
                }
                Interpolator::Linear => {
                    let f = c.floor();
                    let t = c - f;
                    index.extend([clamp(f), clamp(f + 1.0)]);
                    weight.extend([1.0 - t, t]);
                }
                Interpolator::Cubic => {
                    let f = c.floor();
                    let t = c - f;
                    let u = 1.0 - t;
                    index.extend([clamp(f - 1.0), clamp(f), clamp(f + 1.0), clamp(f + 2.0)]);
                    weight.extend([
                        u * u * u / 6.0,
                        (4.0 - 6.0 * t * t + 3.0 * t * t * t) / 6.0,
                        (1.0 + 3.0 * t + 3.0 * t * t - 3.0 * t * t * t) / 6.0,
                        t * t * t / 6.0,
                    ]);
                }
            }
        }
        Taps {
            width,
            index,
            weight,
        }
    }

    fn samples(&self) -> usize {
        self.index.len() / self.width
    }

    /// The lowest and highest input index any sample reads.
    fn index_range(&self) -> (usize, usize) {
        let lo = self.index.iter().copied().min().unwrap_or(0);
        let hi = self.index.iter().copied().max().unwrap_or(0);
        (lo, hi)
    }

    /// The same samples reading an input that starts at index `first`.
    fn shifted(&self, first: usize) -> Taps {
        Taps {
            width: self.width,
            index: self.index.iter().map(|&i| i - first).collect(),
            weight: self.weight.clone(),
        }
    }

    /// Applies the weights along `axis` of `input`.
    fn apply(&self, input: &Array3<f64>, axis: Axis) -> Array3<f64> {
        self.apply_reusing(input, axis, Vec::new())
    }

    /// [`Taps::apply`] into `storage` when it can hold the output (its
    /// values are overwritten), into a fresh (lazily zeroed) volume
    /// otherwise.
    fn apply_reusing(&self, input: &Array3<f64>, axis: Axis, mut storage: Vec<f64>) -> Array3<f64> {
        let shape = [input.shape()[0], input.shape()[1], input.shape()[2]];
        let mut out_shape = shape;
        out_shape[axis.0] = self.samples();
        let len = out_shape.iter().product();
        if storage.capacity() >= len {
            storage.clear();
            storage.resize(len, 0.0);
        } else {
            storage = vec![0.0; len];
        }
        let input = input.as_standard_layout();
        let src = input.as_slice().expect("standard layout");
        self.apply_to(src, shape, axis.0, &mut storage);
        Array3::from_shape_vec(out_shape, storage).expect("output size matches its shape")
    }

    /// The weights applied along array axis `axis` of `src` (a standard
    /// layout volume of `shape`), written to `out` (the output's size; its
    /// values are overwritten). Seen as (outer, n, inner) with the axis in
    /// the middle, each output is a weighted sum of whole contiguous
    /// `inner` runs, so y and z passes stream memory in order.
    fn apply_to(&self, src: &[f64], shape: [usize; 3], axis: usize, out: &mut [f64]) {
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let n_in = shape[axis];
        let n_out = self.samples();
        assert_eq!(out.len(), outer * n_out * inner, "output size");
        let width = self.width;
        if inner == 1 {
            // The x pass: one output value per sample, its taps summed in
            // the same order (from 0.0) as the runs below.
            out.par_chunks_mut(n_out.max(1))
                .enumerate()
                .for_each(|(o, dst)| {
                    let src = &src[o * n_in..(o + 1) * n_in];
                    let taps = self
                        .index
                        .chunks_exact(width)
                        .zip(self.weight.chunks_exact(width));
                    for (d, (index, weight)) in dst.iter_mut().zip(taps) {
                        let mut sum = 0.0;
                        for (&i, &w) in index.iter().zip(weight) {
                            sum += w * src[i];
                        }
                        *d = sum;
                    }
                });
        } else {
            // One output run (`inner` values of sample `p` in outer block
            // `o`) is a sum over the same taps in the same order whichever
            // thread computes it, so the result does not depend on the
            // thread count.
            out.par_chunks_mut(inner.max(1))
                .enumerate()
                .for_each(|(q, dst)| {
                    let (o, p) = (q / n_out, q % n_out);
                    let src = &src[o * n_in * inner..(o + 1) * n_in * inner];
                    dst.fill(0.0);
                    for t in p * width..(p + 1) * width {
                        let w = self.weight[t];
                        let from = &src[self.index[t] * inner..(self.index[t] + 1) * inner];
                        for (d, &v) in dst.iter_mut().zip(from) {
                            *d += w * v;
                        }
                    }
                });
        }
    }
}

/// Turns samples into cubic B-spline coefficients along `axis` (Unser's
/// recursive filter, mirror-symmetric boundaries).
fn spline_prefilter(data: &mut Array3<f64>, axis: Axis) {
    // Every line along `axis` is filtered on its own, with the same
    // arithmetic whatever thread runs it, so the result does not depend on
    // the thread count. Lines along x are contiguous: one at a time. Lines
    // along y or z are strided: neighbouring lines are filtered together,
    // step by step over contiguous runs of them (the same operations on
    // each voxel, in the same order, as one line at a time).
    if axis.index() == 2 {
        let mut slices: Vec<_> = data.axis_iter_mut(Axis(0)).collect();
        slices.par_iter_mut().for_each(|slice| {
            for lane in slice.lanes_mut(Axis(1)) {
                prefilter_line(lane);
            }
        });
        return;
    }
    // Pencils: every line along `axis` through one x row (y: one z plane,
    // z: one y row), filtered together.
    let across = Axis(if axis.index() == 1 { 0 } else { 1 });
    let mut pencils: Vec<_> = data.axis_iter_mut(across).collect();
    pencils
        .par_iter_mut()
        .for_each_init(Vec::new, |carry, pencil| prefilter_lines(pencil, carry));
}

/// [`prefilter_line`] on every column of `lines` (rows: positions along the
/// line; columns: neighbouring lines), row by row.
fn prefilter_lines(lines: &mut ndarray::ArrayViewMut2<f64>, carry: &mut Vec<f64>) {
    let z = 3f64.sqrt() - 2.0;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    let (n, width) = lines.dim();
    if n < 2 {
        return;
    }
    lines.map_inplace(|v| *v *= gain);
    // Causal initialisation: truncated sum of the mirrored signal.
    let horizon = n.min(40);
    carry.clear();
    carry.extend(lines.row(0).iter());
    let mut zk = z;
    for k in 1..horizon {
        for (s, &v) in carry.iter_mut().zip(lines.row(k).iter()) {
            *s += zk * v;
        }
        zk *= z;
    }
    lines
        .row_mut(0)
        .iter_mut()
        .zip(carry.iter())
        .for_each(|(v, &s)| *v = s);
    for k in 1..n {
        for (v, c) in lines.row_mut(k).iter_mut().zip(carry.iter_mut()) {
            *v += z * *c;
            *c = *v;
        }
    }
    // Anti-causal initialisation for mirror boundaries.
    let before_last: Vec<f64> = lines.row(n - 2).to_vec();
    for ((v, c), &b) in lines
        .row_mut(n - 1)
        .iter_mut()
        .zip(carry.iter_mut())
        .zip(&before_last)
    {
        *v = (z / (z * z - 1.0)) * (z * b + *v);
        *c = *v;
    }
    for k in (0..n - 1).rev() {
        for (v, c) in lines.row_mut(k).iter_mut().zip(carry.iter_mut()) {
            *v = z * (*c - *v);
            *c = *v;
        }
    }
    debug_assert_eq!(carry.len(), width);
}

/// The cubic B-spline prefilter of one line (mirror boundaries), in place.
fn prefilter_line(mut lane: ndarray::ArrayViewMut1<f64>) {
    let z = 3f64.sqrt() - 2.0;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    let n = lane.len();
    if n < 2 {
        return;
    }
    for v in lane.iter_mut() {
        *v *= gain;
    }
    // Causal initialisation: truncated sum of the mirrored signal.
    let horizon = n.min(40);
    let mut zk = z;
    let mut sum = lane[0];
    for k in 1..horizon {
        sum += zk * lane[k];
        zk *= z;
    }
    lane[0] = sum;
    for k in 1..n {
        lane[k] += z * lane[k - 1];
    }
    // Anti-causal initialisation for mirror boundaries.
    lane[n - 1] = (z / (z * z - 1.0)) * (z * lane[n - 2] + lane[n - 1]);
    for k in (0..n - 1).rev() {
        lane[k] = z * (lane[k + 1] - lane[k]);
    }
}

/// New-grid z planes per parallel slab of the z pass of [`resampled_stats`].
const STATS_SLAB_PLANES: usize = 16;

/// Mean, minimum and maximum of the whole image on the new grid (after
/// `finish`, e.g. rounding), for the interpolated-image diagnostics, without
/// holding the interpolated image. The z pass runs in fixed slabs of new
/// planes whose partial sums are merged in slab order, so the result does
/// not depend on the thread count. Nearest and linear interpolation give
/// each slab only the old planes it reads (in-plane passes included), so
/// memory stays at a few planes per thread whatever the image's size;
/// cubic interpolation's z prefilter runs over the whole z extent, so it
/// first computes every old plane on the new x-y grid.
pub fn resampled_stats(
    image: &Volume<f32>,
    map: &GridMap,
    interpolator: Interpolator,
    finish: impl Fn(f64) -> f64 + Sync,
) -> IntensityStats {
    let d = map.dims();
    let (x_lo, x_len) = old_range(&map.axes[0], (0, d[0]), interpolator);
    let (y_lo, y_len) = old_range(&map.axes[1], (0, d[1]), interpolator);
    let (z_lo, z_len) = old_range(&map.axes[2], (0, d[2]), interpolator);
    let taps = |a: usize, p0: usize, p1: usize, lo: isize, len: usize| {
        Taps::new(
            interpolator,
            (p0..p1).map(|p| map.axes[a].coordinate(p) - lo as f64),
            len,
        )
    };
    let (taps_x, taps_y) = (taps(0, 0, d[0], x_lo, x_len), taps(1, 0, d[1], y_lo, y_len));
    let nz_old = image.data.shape()[0];
    // Old plane `t` of the z block (planes beyond the image repeat its
    // boundary planes) on the new x-y grid.
    let in_plane = |t: usize| {
        let k = (z_lo + t as isize).clamp(0, nz_old as isize - 1);
        let mut plane = read_block(&image.data, &f64::from, [x_lo, y_lo, k], [x_len, y_len, 1]);
        if interpolator == Interpolator::Cubic {
            spline_prefilter(&mut plane, Axis(2));
            spline_prefilter(&mut plane, Axis(1));
        }
        let plane = taps_x.apply(&plane, Axis(2));
        taps_y.apply(&plane, Axis(1))
    };
    let stack_of = |planes: &[Array3<f64>]| {
        let views: Vec<_> = planes.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views).expect("planes share the new x-y grid")
    };
    let whole_stack = (interpolator == Interpolator::Cubic).then(|| {
        // Every old plane written straight into its place in the stack,
        // each thread reusing its scratch planes (the same arithmetic as
        // `in_plane`): fresh plane-sized buffers per plane cost page faults
        // once freed memory has gone back to the system.
        let plane_len = d[0] * d[1];
        let mut stack = Array3::<f64>::zeros((z_len, d[1], d[0]));
        stack
            .as_slice_mut()
            .expect("standard layout")
            .par_chunks_mut(plane_len.max(1))
            .enumerate()
            .for_each_init(
                || (Vec::new(), Vec::new()),
                |(block, across), (t, slot)| {
                    let k = (z_lo + t as isize).clamp(0, nz_old as isize - 1);
                    read_block_into(
                        &image.data,
                        &f64::from,
                        [x_lo, y_lo, k],
                        [x_len, y_len, 1],
                        block,
                    );
                    let mut plane =
                        Array3::from_shape_vec((1, y_len, x_len), std::mem::take(block))
                            .expect("block size matches its shape");
                    spline_prefilter(&mut plane, Axis(2));
                    spline_prefilter(&mut plane, Axis(1));
                    across.clear();
                    across.resize(y_len * d[0], 0.0);
                    taps_x.apply_to(
                        plane.as_slice().expect("standard layout"),
                        [1, y_len, x_len],
                        2,
                        across,
                    );
                    taps_y.apply_to(across, [1, y_len, d[0]], 1, slot);
                    *block = storage_of(plane);
                },
            );
        spline_prefilter(&mut stack, Axis(0));
        stack
    });
    let slabs: Vec<(usize, usize)> = (0..d[2])
        .step_by(STATS_SLAB_PLANES)
        .map(|z0| (z0, (z0 + STATS_SLAB_PLANES).min(d[2])))
        .collect();
    slabs
        .par_iter()
        .map_init(Vec::new, |spare, &(z0, z1)| {
            let z_taps = taps(2, z0, z1, z_lo, z_len);
            let slab = match &whole_stack {
                Some(stack) => z_taps.apply_reusing(stack, Axis(0), std::mem::take(spare)),
                None => {
                    // The same weights on the same values, read from the
                    // planes this slab needs only: the sums are identical.
                    let (first, last) = z_taps.index_range();
                    let planes: Vec<Array3<f64>> = (first..=last).map(in_plane).collect();
                    z_taps.shifted(first).apply(&stack_of(&planes), Axis(0))
                }
            };
            let mut acc = StatsAccumulator::default();
            slab.iter().for_each(|&v| acc.add(finish(v)));
            *spare = storage_of(slab);
            acc
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold(StatsAccumulator::default(), StatsAccumulator::merge)
        .finish()
}

/// The whole image on the new grid: the reference the cropped interpolation
/// and the slab statistics must equal.
#[cfg(test)]
pub fn resample_full(
    image: &Volume<f32>,
    map: &GridMap,
    interpolator: Interpolator,
) -> Array3<f64> {
    let d = map.dims();
    resample_box(
        &image.data,
        f64::from,
        map,
        [(0, d[0]), (0, d[1]), (0, d[2])],
        interpolator,
    )
}

/// Resamples, in place, every line of `data` along array axis `axis` (0: z,
/// 1: y, 2: x) at its own offset: sample `p` of the line through index
/// `[k, j, i]` (its `axis` component 0) reads old coordinate
/// `p + offset([k, j, i])`, with nearest-boundary padding and the weights
/// [`resample_box`] uses. One pass of a shear (a rotation is three) or of a
/// translation. In place, with one line of scratch, because the volumes
/// are large and a fresh one per pass costs more in page faults than the
/// arithmetic. Linear and nearest only: the cubic B-spline would need its
/// prefilter along each line first.
pub fn shift_lines(
    data: &mut Array3<f64>,
    axis: Axis,
    interpolator: Interpolator,
    offset: impl Fn([usize; 3]) -> f64,
) {
    assert!(
        interpolator != Interpolator::Cubic,
        "shift_lines: linear or nearest interpolation"
    );
    let shape = [data.shape()[0], data.shape()[1], data.shape()[2]];
    let n = shape[axis.0];
    let others: Vec<usize> = (0..3).filter(|&a| a != axis.0).collect();
    let mut line = vec![0.0; n];
    // The weights of each distinct offset, built once (a shear has one
    // offset per row, shared by every slice).
    let mut taps: std::collections::HashMap<u64, Taps> = std::collections::HashMap::new();
    // Lanes come in row-major order of the two other axes.
    for (m, mut lane) in data.lanes_mut(axis).into_iter().enumerate() {
        let mut index = [0usize; 3];
        index[others[0]] = m / shape[others[1]];
        index[others[1]] = m % shape[others[1]];
        // A lane of (positive) zeros stays zeros under linear or nearest
        // weights, which are non-negative: most lanes of a shifted mask.
        if lane.iter().all(|v| v.to_bits() == 0) {
            continue;
        }
        let off = offset(index);
        let t = taps
            .entry(off.to_bits())
            .or_insert_with(|| Taps::new(interpolator, (0..n).map(|p| p as f64 + off), n));
        for (l, v) in line.iter_mut().zip(lane.iter()) {
            *l = *v;
        }
        for (p, d) in lane.iter_mut().enumerate() {
            let mut acc = 0.0;
            for q in p * t.width..(p + 1) * t.width {
                acc += t.weight[q] * line[t.index[q]];
            }
            *d = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uneven(shape: (usize, usize, usize)) -> Array3<f64> {
        Array3::from_shape_fn(shape, |(k, j, i)| {
            (((k * 131 + j * 37 + i * 11) % 97) as f64 - 40.0) * 1.37
        })
    }

    #[test]
    fn prefilter_of_strided_lines_together_equals_one_line_at_a_time_to_the_bit() {
        let data = uneven((7, 9, 11));
        for axis in 0..3 {
            let mut together = data.clone();
            spline_prefilter(&mut together, Axis(axis));
            let mut one_by_one = data.clone();
            for lane in one_by_one.lanes_mut(Axis(axis)) {
                prefilter_line(lane);
            }
            assert!(
                together
                    .iter()
                    .zip(one_by_one.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "axis {axis}"
            );
        }
    }

    #[test]
    fn parallel_taps_equal_a_serial_weighted_sum_to_the_bit() {
        let data = uneven((5, 6, 7));
        for axis in 0..3 {
            let n = data.shape()[axis];
            let taps = Taps::new(
                Interpolator::Cubic,
                (0..n + 3).map(|p| p as f64 * 0.77 - 0.4),
                n,
            );
            let out = taps.apply(&data, Axis(axis));
            for ((k, j, i), &v) in out.indexed_iter() {
                let p = [k, j, i][axis];
                let mut sum = 0.0;
                for t in p * taps.width..(p + 1) * taps.width {
                    let mut from = [k, j, i];
                    from[axis] = taps.index[t];
                    sum += taps.weight[t] * data[from];
                }
                assert_eq!(v.to_bits(), sum.to_bits(), "axis {axis} at {k} {j} {i}");
            }
        }
    }

    #[test]
    fn cubic_resampling_is_bit_identical_with_one_and_two_threads() {
        let image = uneven((9, 23, 31)).mapv(|v| v as f32);
        let geometry = Geometry::new([0.8, 0.9, 2.5], [0.0; 3]);
        let map = GridMap::new(&geometry, [31, 23, 9], [1.0, 1.0, 1.0], false);
        let d = map.dims();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    resample_box(
                        &image,
                        f64::from,
                        &map,
                        [(0, d[0]), (0, d[1]), (0, d[2])],
                        Interpolator::Cubic,
                    )
                })
        };
        let (one, two) = (run(1), run(2));
        assert!(
            one.iter()
                .zip(two.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    #[test]
    fn aligned_axis_follows_the_ibsi_example() {
        // IBSI: 4 voxels of 3 mm to 2 mm gives 6 voxels centred on the old grid.
        let a = AxisMap::aligned(4, 3.0, 2.0);
        assert_eq!(a.n_new, 6);
        assert!((a.step - 2.0 / 3.0).abs() < 1e-12);
        // Centre of old grid (1.5) equals centre of new grid.
        let centre = a.start + a.step * 2.5;
        assert!((centre - 1.5).abs() < 1e-12);
        assert!((a.start - (-1.0 / 6.0)).abs() < 1e-12);
        // Exact ratios are not rounded up.
        assert_eq!(AxisMap::aligned(60, 3.0, 2.0).n_new, 90);
        assert_eq!(AxisMap::aligned(204, 0.977, 2.0).n_new, 100);
    }

    fn ramp() -> Volume<f32> {
        // Intensity 10·i + 100·j + 1000·k: linear, so every interpolator
        // except nearest reproduces it away from the boundary.
        let data =
            Array3::from_shape_fn((6, 7, 8), |(k, j, i)| (10 * i + 100 * j + 1000 * k) as f32);
        Volume::new(data, Geometry::new([1.0, 1.0, 2.0], [0.0; 3]))
    }

    #[test]
    fn cubic_reproduces_a_linear_ramp_far_from_the_boundary() {
        let img = Volume::new(
            Array3::from_shape_fn((1, 1, 60), |(_, _, i)| (3 * i) as f32),
            Geometry::new([1.0; 3], [0.0; 3]),
        );
        let map = GridMap::new(&img.geometry, img.dims(), [0.7, 1.0, 1.0], false);
        let out = resample_full(&img, &map, Interpolator::Cubic);
        for (p, &v) in out.iter().enumerate() {
            let c = map.axes[0].coordinate(p);
            if (15.0..45.0).contains(&c) {
                assert!((v - 3.0 * c).abs() < 1e-6, "{v} vs {}", 3.0 * c);
            }
        }
    }

    #[test]
    fn linear_reproduces_a_linear_ramp_inside() {
        let img = ramp();
        let map = GridMap::new(&img.geometry, img.dims(), [0.5, 0.5, 0.5], false);
        for interp in [Interpolator::Linear] {
            let out = resample_full(&img, &map, interp);
            for ((k, j, i), &v) in out.indexed_iter() {
                let c = [
                    map.axes[0].coordinate(i),
                    map.axes[1].coordinate(j),
                    map.axes[2].coordinate(k),
                ];
                // Far enough from the boundary that padding is not read.
                if c.iter()
                    .zip([8.0, 7.0, 6.0])
                    .all(|(&x, n)| x >= 0.0 && x <= n - 1.0)
                {
                    let expected = 10.0 * c[0] + 100.0 * c[1] + 1000.0 * c[2];
                    assert!((v - expected).abs() < 1e-6, "{interp:?} {v} vs {expected}");
                }
            }
        }
    }

    #[test]
    fn linear_weights_by_hand_and_nearest_padding_outside() {
        // 1D along x: values 0, 10, 20; new spacing 2/3 of the old.
        let img = Volume::new(
            Array3::from_shape_vec((1, 1, 3), vec![0.0f32, 10.0, 20.0]).unwrap(),
            Geometry::new([1.0, 1.0, 1.0], [0.0; 3]),
        );
        let map = GridMap::new(&img.geometry, img.dims(), [2.0 / 3.0, 1.0, 1.0], false);
        assert_eq!(map.axes[0].n_new, 5);
        // start = (2 - 4·2/3)/2 = -1/3: outside the image, so the boundary value.
        let out = resample_full(&img, &map, Interpolator::Linear);
        let row: Vec<f64> = out.iter().copied().collect();
        let expected = [0.0, 10.0 / 3.0, 10.0, 50.0 / 3.0, 20.0];
        for (v, e) in row.iter().zip(expected) {
            assert!((v - e).abs() < 1e-9, "{row:?}");
        }
        let nearest = resample_full(&img, &map, Interpolator::Nearest);
        assert_eq!(
            nearest.iter().copied().collect::<Vec<_>>(),
            vec![0.0, 0.0, 10.0, 20.0, 20.0]
        );
    }

    #[test]
    fn cubic_spline_interpolates_the_samples() {
        // On the old grid points the spline passes through the samples.
        let data = Array3::from_shape_fn((1, 1, 30), |(_, _, i)| ((i * 7919) % 13) as f32);
        let img = Volume::new(data.clone(), Geometry::new([1.0; 3], [0.0; 3]));
        let map = GridMap::new(&img.geometry, img.dims(), [1.0; 3], false);
        let out = resample_full(&img, &map, Interpolator::Cubic);
        for (a, b) in out.iter().zip(data.iter()) {
            assert!((a - f64::from(*b)).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn slab_statistics_equal_those_of_the_whole_image() {
        // 40 new z planes: three slabs, the last one partial.
        let data = Array3::from_shape_fn((27, 11, 13), |(k, j, i)| {
            ((i * 31 + j * 17 + k * 7) % 23) as f32 - 5.0
        });
        let img = Volume::new(data, Geometry::new([0.9, 0.8, 2.5], [1.0, 2.0, 3.0]));
        let map = GridMap::new(&img.geometry, img.dims(), [1.1, 1.1, 1.7], false);
        assert!(map.dims()[2] > 2 * STATS_SLAB_PLANES);
        for interp in [
            Interpolator::Nearest,
            Interpolator::Linear,
            Interpolator::Cubic,
        ] {
            let full = resample_full(&img, &map, interp);
            let expected = IntensityStats::of(full.iter().map(|v| v.round()));
            let got = resampled_stats(&img, &map, interp, f64::round);
            assert_eq!(
                (got.min, got.max),
                (expected.min, expected.max),
                "{interp:?}"
            );
            assert!((got.mean - expected.mean).abs() < 1e-9, "{interp:?}");
        }
    }

    /// The cubic statistics pass (old planes written into the stack with
    /// per-thread scratch, slab buffers reused) gives the bits of the
    /// straightforward scheme (each plane its own arrays, stacked, one
    /// fresh array per slab), with 1, 2 and 3 threads.
    #[test]
    fn cubic_slab_statistics_are_bit_identical_to_plane_by_plane_stacking_for_any_thread_count() {
        let data = Array3::from_shape_fn((27, 11, 13), |(k, j, i)| {
            ((i * 31 + j * 17 + k * 7) % 23) as f32 - 5.0
        });
        let img = Volume::new(data, Geometry::new([0.9, 0.8, 2.5], [1.0, 2.0, 3.0]));
        let map = GridMap::new(&img.geometry, img.dims(), [1.1, 1.1, 1.7], false);
        let interp = Interpolator::Cubic;
        let d = map.dims();
        let (x_lo, x_len) = old_range(&map.axes[0], (0, d[0]), interp);
        let (y_lo, y_len) = old_range(&map.axes[1], (0, d[1]), interp);
        let (z_lo, z_len) = old_range(&map.axes[2], (0, d[2]), interp);
        let taps = |a: usize, p0: usize, p1: usize, lo: isize, len: usize| {
            Taps::new(
                interp,
                (p0..p1).map(|p| map.axes[a].coordinate(p) - lo as f64),
                len,
            )
        };
        let planes: Vec<Array3<f64>> = (0..z_len)
            .map(|t| {
                let k = (z_lo + t as isize).clamp(0, 26);
                let mut plane =
                    read_block(&img.data, &f64::from, [x_lo, y_lo, k], [x_len, y_len, 1]);
                spline_prefilter(&mut plane, Axis(2));
                spline_prefilter(&mut plane, Axis(1));
                let plane = taps(0, 0, d[0], x_lo, x_len).apply(&plane, Axis(2));
                taps(1, 0, d[1], y_lo, y_len).apply(&plane, Axis(1))
            })
            .collect();
        let views: Vec<_> = planes.iter().map(|p| p.view()).collect();
        let mut stack = ndarray::concatenate(Axis(0), &views).unwrap();
        spline_prefilter(&mut stack, Axis(0));
        let expected = (0..d[2])
            .step_by(STATS_SLAB_PLANES)
            .map(|z0| {
                let z1 = (z0 + STATS_SLAB_PLANES).min(d[2]);
                let slab = taps(2, z0, z1, z_lo, z_len).apply(&stack, Axis(0));
                let mut acc = StatsAccumulator::default();
                slab.iter().for_each(|&v| acc.add(v.round()));
                acc
            })
            .fold(StatsAccumulator::default(), StatsAccumulator::merge)
            .finish();
        for threads in [1, 2, 3] {
            let got = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| resampled_stats(&img, &map, interp, f64::round));
            assert_eq!(
                [got.mean, got.min, got.max].map(f64::to_bits),
                [expected.mean, expected.min, expected.max].map(f64::to_bits),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn shifted_lines_agree_with_a_box_resampled_on_a_shifted_grid() {
        let data = Array3::from_shape_fn((5, 6, 7), |(k, j, i)| {
            ((i * 31 + j * 17 + k * 7) % 23) as f64
        });
        let map = GridMap {
            axes: [
                AxisMap {
                    n_new: 7,
                    start: 0.3,
                    step: 1.0,
                },
                AxisMap {
                    n_new: 6,
                    start: -1.6,
                    step: 1.0,
                },
                AxisMap {
                    n_new: 5,
                    start: 0.0,
                    step: 1.0,
                },
            ],
            geometry: Geometry::new([1.0; 3], [0.0; 3]),
        };
        let want = resample_box(
            &data,
            |v| v,
            &map,
            [(0, 7), (0, 6), (0, 5)],
            Interpolator::Linear,
        );
        let mut got = data.clone();
        shift_lines(&mut got, Axis(2), Interpolator::Linear, |_| 0.3);
        shift_lines(&mut got, Axis(1), Interpolator::Linear, |_| -1.6);
        for (a, b) in got.iter().zip(want.iter()) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        // A per-line offset: line (k, j) along x shifted by j.
        let mut sheared = data.clone();
        shift_lines(&mut sheared, Axis(2), Interpolator::Linear, |[_, j, _]| {
            j as f64
        });
        assert_eq!(sheared[[1, 2, 3]], data[[1, 2, 5]]);
        assert_eq!(sheared[[1, 2, 6]], data[[1, 2, 6]]);
    }

    #[test]
    fn a_box_equals_the_same_part_of_the_whole() {
        let data = Array3::from_shape_fn((9, 11, 13), |(k, j, i)| {
            ((i * 31 + j * 17 + k * 7) % 23) as f32
        });
        let img = Volume::new(data, Geometry::new([0.9, 0.8, 2.5], [1.0, 2.0, 3.0]));
        let map = GridMap::new(&img.geometry, img.dims(), [1.1, 1.1, 1.1], false);
        for interp in [
            Interpolator::Nearest,
            Interpolator::Linear,
            Interpolator::Cubic,
        ] {
            let full = resample_full(&img, &map, interp);
            let b: IndexBox = [(2, 7), (3, 6), (4, 12)];
            let part = resample_box(&img.data, f64::from, &map, b, interp);
            for ((k, j, i), &v) in part.indexed_iter() {
                let w = full[[k + b[2].0, j + b[1].0, i + b[0].0]];
                assert!((v - w).abs() < 1e-7, "{interp:?}: {v} vs {w}");
            }
        }
    }
}
