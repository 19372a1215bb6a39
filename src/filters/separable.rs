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
    let mut out = Array3::zeros(data.dim());
    convolve_axis_into(data, geometric_axis, kernel, boundary, &mut out);
    out
}

/// [`convolve_axis`] into `out` (same shape; its values are overwritten),
/// so that buffers can be reused: every fresh volume costs page faults.
///
/// Every path sums the taps of one output voxel in kernel order, tap by tap
/// over a whole line or plane (vectorisable, cache-friendly: the strided
/// axes read whole rows or planes, never one voxel per stride). The plane
/// functions below are the only place this arithmetic is written, so a
/// plane computed on its own equals the same plane of a volume pass.
pub fn convolve_axis_into(
    data: &Array3<f64>,
    geometric_axis: usize,
    kernel: &[f64],
    boundary: Boundary,
    out: &mut Array3<f64>,
) {
    assert!(kernel.len() % 2 == 1, "kernels have odd length");
    assert_eq!(data.dim(), out.dim(), "output shape");
    let data = data.as_standard_layout();
    let src = data.as_slice().expect("standard layout");
    let out = out.as_slice_mut().expect("standard layout");
    let shape = PlaneShape::of(data.dim());
    let plane = shape.plane_len().max(1);
    match array_axis(geometric_axis) {
        0 => out.par_chunks_mut(plane).enumerate().for_each(|(k, o)| {
            convolve_k_plane(src, shape, k, kernel, boundary, o);
        }),
        1 => out.par_chunks_mut(plane).enumerate().for_each(|(k, o)| {
            convolve_in_plane(
                &src[k * plane..(k + 1) * plane],
                shape,
                1,
                kernel,
                boundary,
                o,
                &mut Vec::new(),
            );
        }),
        _ => out
            .par_chunks_mut(plane)
            .enumerate()
            .for_each_init(Vec::new, |padded, (k, o)| {
                convolve_in_plane(
                    &src[k * plane..(k + 1) * plane],
                    shape,
                    0,
                    kernel,
                    boundary,
                    o,
                    padded,
                );
            }),
    }
}

/// The shape of one k plane, and the number of planes.
#[derive(Debug, Clone, Copy)]
pub struct PlaneShape {
    pub nz: usize,
    pub ny: usize,
    pub nx: usize,
}

impl PlaneShape {
    pub fn of((nz, ny, nx): (usize, usize, usize)) -> Self {
        PlaneShape { nz, ny, nx }
    }

    /// Voxels in one plane.
    pub fn plane_len(&self) -> usize {
        self.ny * self.nx
    }
}

/// Plane `k` of the convolution of the volume `src` along the k axis.
pub fn convolve_k_plane(
    src: &[f64],
    shape: PlaneShape,
    k: usize,
    kernel: &[f64],
    boundary: Boundary,
    o: &mut [f64],
) {
    let plane = shape.plane_len();
    let c = (kernel.len() / 2) as isize;
    o.fill(0.0);
    for (t, &w) in kernel.iter().enumerate() {
        if w == 0.0 {
            continue;
        }
        if let Some(s) = boundary.source(k as isize + c - t as isize, shape.nz) {
            let sp = &src[s * plane..(s + 1) * plane];
            for (ov, &v) in o.iter_mut().zip(sp) {
                *ov += w * v;
            }
        }
    }
}

/// The convolution of one plane along geometric axis 0 (i, along rows) or
/// 1 (j, across rows); `padded` is scratch for the i axis.
pub fn convolve_in_plane(
    slice: &[f64],
    shape: PlaneShape,
    geometric_axis: usize,
    kernel: &[f64],
    boundary: Boundary,
    o: &mut [f64],
    padded: &mut Vec<f64>,
) {
    let (ny, nx) = (shape.ny, shape.nx);
    let c = (kernel.len() / 2) as isize;
    if geometric_axis == 1 {
        for j in 0..ny {
            let orow = &mut o[j * nx..(j + 1) * nx];
            orow.fill(0.0);
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
        return;
    }
    let half = kernel.len() / 2;
    for j in 0..ny {
        let row = &slice[j * nx..(j + 1) * nx];
        boundary.pad_line(row, half, half, padded);
        // out[i] = Σ_t w[t] · padded[i + 2c − t], tap by tap.
        let orow = &mut o[j * nx..(j + 1) * nx];
        orow.fill(0.0);
        for (t, &w) in kernel.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let shifted = &padded[2 * half - t..2 * half - t + nx];
            for (ov, &v) in orow.iter_mut().zip(shifted) {
                *ov += w * v;
            }
        }
    }
}

/// Plane buffers reused from plane to plane on one thread.
#[derive(Default)]
pub struct PlaneBuffers {
    free: Vec<Vec<f64>>,
    pub padded: Vec<f64>,
}

impl PlaneBuffers {
    /// A buffer of `len` values (contents unspecified).
    pub fn take(&mut self, len: usize) -> Vec<f64> {
        let mut b = self.free.pop().unwrap_or_default();
        b.resize(len, 0.0);
        b
    }

    pub fn give(&mut self, buffer: Vec<f64>) {
        self.free.push(buffer);
    }
}

/// Convolves with one kernel per geometric axis (`None`: that axis is left
/// alone, as the k axis of a slice-by-slice filter): k first, then j, then
/// i (the order MIRP and SciPy use; any order gives the same sums up to
/// rounding). Each output plane goes through all passes while in cache:
/// the same arithmetic as one volume pass per axis, without the
/// intermediate volumes.
pub fn convolve_separable(
    data: &Array3<f64>,
    kernels: &[Option<&[f64]>],
    boundary: Boundary,
) -> Array3<f64> {
    let data = data.as_standard_layout();
    let src = data.as_slice().expect("standard layout");
    let shape = PlaneShape::of(data.dim());
    let plane = shape.plane_len().max(1);
    let kernel = |axis: usize| kernels.get(axis).copied().flatten();
    let mut out = Array3::<f64>::zeros(data.dim());
    out.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(plane)
        .enumerate()
        .for_each_init(PlaneBuffers::default, |bufs, (k, o)| {
            let mut current = bufs.take(plane);
            match kernel(2) {
                Some(kz) => convolve_k_plane(src, shape, k, kz, boundary, &mut current),
                None => current.copy_from_slice(&src[k * plane..(k + 1) * plane]),
            }
            let mut next = bufs.take(plane);
            for axis in [1, 0] {
                if let Some(kernel) = kernel(axis) {
                    let padded = &mut bufs.padded;
                    convolve_in_plane(&current, shape, axis, kernel, boundary, &mut next, padded);
                    std::mem::swap(&mut current, &mut next);
                }
            }
            o.copy_from_slice(&current);
            bufs.give(current);
            bufs.give(next);
        });
    out
}

/// A linear operator along one geometric axis: a weighted sum of chains,
/// each chain a list of 1D kernels applied one after the other (with the
/// boundary condition applied again before each), as the à trous wavelet
/// applies its low-pass and then its dilated band kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisOperator {
    pub terms: Vec<(f64, Vec<Vec<f64>>)>,
}

impl AxisOperator {
    /// One chain with weight 1.
    pub fn chain(kernels: Vec<Vec<f64>>) -> Self {
        AxisOperator {
            terms: vec![(1.0, kernels)],
        }
    }

    /// `a·self + b·other`, with equal chains combined and the terms in a
    /// canonical order, so equal sums compare equal.
    pub fn combine(&self, a: f64, other: &AxisOperator, b: f64) -> AxisOperator {
        let mut terms: Vec<(f64, Vec<Vec<f64>>)> = Vec::new();
        let scaled = self
            .terms
            .iter()
            .map(|(w, c)| (a * w, c))
            .chain(other.terms.iter().map(|(w, c)| (b * w, c)));
        for (w, chain) in scaled {
            match terms.iter_mut().find(|(_, c)| c == chain) {
                Some(t) => t.0 += w,
                None => terms.push((w, chain.clone())),
            }
        }
        terms.retain(|(w, _)| *w != 0.0);
        terms.sort_by(|x, y| {
            x.1.partial_cmp(&y.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(x.0.total_cmp(&y.0))
        });
        AxisOperator { terms }
    }

    /// When every term is a single kernel of the same length, the operator
    /// is one kernel: their weighted sum (one pass instead of several).
    fn as_single_kernel(&self) -> Option<Vec<f64>> {
        let len = self.terms.first()?.1.first()?.len();
        if self
            .terms
            .iter()
            .any(|(_, c)| c.len() != 1 || c[0].len() != len)
        {
            return None;
        }
        if let [(w, c)] = self.terms.as_slice()
            && *w == 1.0
        {
            return Some(c[0].clone());
        }
        let mut k = vec![0.0; len];
        for (w, c) in &self.terms {
            for (kv, &v) in k.iter_mut().zip(&c[0]) {
                *kv += w * v;
            }
        }
        Some(k)
    }

    /// The operator applied along `geometric_axis` into `out`; terms are
    /// summed in order. Intermediate volumes come from and return to `spare`.
    pub fn apply_into(
        &self,
        data: &Array3<f64>,
        geometric_axis: usize,
        boundary: Boundary,
        out: &mut Array3<f64>,
        spare: &mut Spare,
    ) {
        if let Some(k) = self.as_single_kernel() {
            return convolve_axis_into(data, geometric_axis, &k, boundary, out);
        }
        let mut term = spare.take(data.dim());
        let mut step = spare.take(data.dim());
        for (n, (w, chain)) in self.terms.iter().enumerate() {
            // The chain, ping-ponging between two buffers.
            term.assign(data);
            for k in chain {
                convolve_axis_into(&term, geometric_axis, k, boundary, &mut step);
                std::mem::swap(&mut term, &mut step);
            }
            let w = *w;
            if n == 0 {
                out.zip_mut_with(&term, |o, &v| *o = w * v);
            } else {
                out.zip_mut_with(&term, |o, &v| *o += w * v);
            }
        }
        if self.terms.is_empty() {
            out.fill(0.0);
        }
        spare.give(term);
        spare.give(step);
    }
}

impl AxisOperator {
    /// [`AxisOperator::apply_into`] on one plane along geometric axis 0 or
    /// 1: the same terms and chains, summed in the same order.
    pub fn apply_plane(
        &self,
        slice: &[f64],
        shape: PlaneShape,
        geometric_axis: usize,
        boundary: Boundary,
        out: &mut [f64],
        bufs: &mut PlaneBuffers,
    ) {
        if let Some(k) = self.as_single_kernel() {
            let padded = &mut bufs.padded;
            return convolve_in_plane(slice, shape, geometric_axis, &k, boundary, out, padded);
        }
        let mut term = bufs.take(slice.len());
        let mut step = bufs.take(slice.len());
        for (n, (w, chain)) in self.terms.iter().enumerate() {
            term.copy_from_slice(slice);
            for k in chain {
                let padded = &mut bufs.padded;
                convolve_in_plane(&term, shape, geometric_axis, k, boundary, &mut step, padded);
                std::mem::swap(&mut term, &mut step);
            }
            let w = *w;
            if n == 0 {
                out.iter_mut().zip(&term).for_each(|(o, &v)| *o = w * v);
            } else {
                out.iter_mut().zip(&term).for_each(|(o, &v)| *o += w * v);
            }
        }
        if self.terms.is_empty() {
            out.fill(0.0);
        }
        bufs.give(term);
        bufs.give(step);
    }
}

impl AxisOperator {
    /// The operator along the k axis split for plane-by-plane evaluation:
    /// each chain's kernels but the last applied to `data` as volumes
    /// (ping-ponging between two; a one-kernel chain reads `data` itself).
    pub fn chain_prefixes(&self, data: &Array3<f64>, boundary: Boundary) -> ChainPrefixes<'_> {
        let mut spare = Spare::default();
        let terms = self
            .terms
            .iter()
            .map(|(w, chain)| {
                let (last, prefix) = match chain.split_last() {
                    Some((last, prefix)) => (Some(last.as_slice()), prefix),
                    None => (None, &chain[..0]),
                };
                let mut volume: Option<Array3<f64>> = None;
                for kernel in prefix {
                    let mut next = spare.take(data.dim());
                    convolve_axis_into(
                        volume.as_ref().unwrap_or(data),
                        2,
                        kernel,
                        boundary,
                        &mut next,
                    );
                    if let Some(done) = volume.replace(next) {
                        spare.give(done);
                    }
                }
                (*w, volume, last)
            })
            .collect();
        ChainPrefixes { terms }
    }
}

/// [`AxisOperator::chain_prefixes`]: per term its weight, the volume its
/// chain has reached before the last kernel (`None`: the input itself) and
/// that last kernel (`None`: an empty chain).
pub struct ChainPrefixes<'a> {
    terms: Vec<PrefixedTerm<'a>>,
}

/// One term of [`ChainPrefixes`]: weight, volume before the last kernel, last kernel.
type PrefixedTerm<'a> = (f64, Option<Array3<f64>>, Option<&'a [f64]>);

impl ChainPrefixes<'_> {
    /// Plane `k` of the operator applied to `src` (the volume the prefixes
    /// were computed from) along k: the terms' last passes, weighted and
    /// summed in order, the same arithmetic as [`AxisOperator::apply_into`].
    /// `term` is scratch of one plane.
    pub fn plane(
        &self,
        src: &[f64],
        shape: PlaneShape,
        k: usize,
        boundary: Boundary,
        out: &mut [f64],
        term: &mut [f64],
    ) {
        let plane = shape.plane_len();
        for (n, (w, volume, last)) in self.terms.iter().enumerate() {
            let input = match volume {
                Some(v) => v.as_slice().expect("standard layout"),
                None => src,
            };
            match last {
                Some(kz) => convolve_k_plane(input, shape, k, kz, boundary, term),
                None => term.copy_from_slice(&input[k * plane..(k + 1) * plane]),
            }
            let w = *w;
            if n == 0 {
                out.iter_mut()
                    .zip(term.iter())
                    .for_each(|(o, &v)| *o = w * v);
            } else {
                out.iter_mut()
                    .zip(term.iter())
                    .for_each(|(o, &v)| *o += w * v);
            }
        }
        if self.terms.is_empty() {
            out.fill(0.0);
        }
    }
}

/// Volumes no longer needed, kept for reuse.
#[derive(Default)]
pub struct Spare(Vec<Array3<f64>>);

impl Spare {
    /// A volume of shape `dim` (contents unspecified).
    pub fn take(&mut self, dim: (usize, usize, usize)) -> Array3<f64> {
        match self.0.iter().position(|a| a.dim() == dim) {
            Some(i) => self.0.swap_remove(i),
            None => Array3::zeros(dim),
        }
    }

    pub fn give(&mut self, volume: Array3<f64>) {
        self.0.push(volume);
    }
}

/// A product of axis operators, one per geometric axis (0 = i, 1 = j, 2 = k),
/// applied to the image; the operators of different axes commute.
pub type SeparableProduct = Vec<AxisOperator>;

/// Folds one product's response plane into the matching plane of the
/// accumulator: `visit(product, nth, response, acc)`, `nth` counting the
/// products already folded into that plane.
pub type PlaneVisitor<'a> = dyn Fn(usize, usize, &[f64], &mut [f64]) + Sync + 'a;

/// Applies each product in `products` to `data` and folds every response
/// into `acc` with `visit`, plane by plane; every voxel sees the products in
/// the same fixed order. Products that share the operator of the k axis
/// (then of the j axis) share that pass: the work follows a trie over the
/// axes, k first, as [`convolve_separable`] does. A k operator that is one
/// kernel is applied plane by plane; a chain of kernels (à trous) needs its
/// whole volume first. The j and i passes of a plane run while it is in
/// cache, so no intermediate volume is made for them.
pub fn for_each_product(
    data: &Array3<f64>,
    products: &[SeparableProduct],
    boundary: Boundary,
    acc: &mut Array3<f64>,
    visit: &PlaneVisitor<'_>,
) {
    assert_eq!(data.dim(), acc.dim(), "accumulator shape");
    let standard = data.as_standard_layout();
    let src = standard.as_slice().expect("standard layout");
    let shape = PlaneShape::of(data.dim());
    let plane = shape.plane_len().max(1);
    let indices: Vec<usize> = (0..products.len()).collect();
    let mut visited = 0;
    for (op, members) in group_by_axis(products, &indices, 2) {
        let single = op.and_then(AxisOperator::as_single_kernel);
        // A k operator made of chains (à trous): each chain but its last
        // kernel as a volume, the last kernel plane by plane below, so the
        // operator's result is never a volume of its own.
        let chains = match (op, &single) {
            (Some(op), None) => Some(op.chain_prefixes(data, boundary)),
            _ => None,
        };
        let offset = visited;
        acc.as_slice_mut()
            .expect("standard layout")
            .par_chunks_mut(plane)
            .enumerate()
            .for_each_init(PlaneBuffers::default, |bufs, (k, acc_plane)| {
                let mut input = bufs.take(plane);
                match (&single, &chains) {
                    (Some(kz), _) => convolve_k_plane(src, shape, k, kz, boundary, &mut input),
                    (None, Some(chains)) => {
                        let mut term = bufs.take(plane);
                        chains.plane(src, shape, k, boundary, &mut input, &mut term);
                        bufs.give(term);
                    }
                    (None, None) => input.copy_from_slice(&src[k * plane..(k + 1) * plane]),
                }
                let mut nth = offset;
                plane_trie(
                    &input,
                    shape,
                    products,
                    &members,
                    2,
                    boundary,
                    bufs,
                    &mut |i, response| {
                        visit(i, nth, response, acc_plane);
                        nth += 1;
                    },
                );
                bufs.give(input);
            });
        visited += members.len();
    }
}

/// `indices` grouped by their operator on `axis`, in first-seen order.
fn group_by_axis<'a>(
    products: &'a [SeparableProduct],
    indices: &[usize],
    axis: usize,
) -> Vec<(Option<&'a AxisOperator>, Vec<usize>)> {
    let mut groups: Vec<(Option<&AxisOperator>, Vec<usize>)> = Vec::new();
    for &i in indices {
        let op = products[i].get(axis);
        match groups.iter_mut().find(|(o, _)| *o == op) {
            Some(g) => g.1.push(i),
            None => groups.push((op, vec![i])),
        }
    }
    groups
}

/// The j then i levels of the trie, on one plane.
#[allow(clippy::too_many_arguments)]
fn plane_trie(
    input: &[f64],
    shape: PlaneShape,
    products: &[SeparableProduct],
    indices: &[usize],
    axes_left: usize,
    boundary: Boundary,
    bufs: &mut PlaneBuffers,
    visit: &mut dyn FnMut(usize, &[f64]),
) {
    if axes_left == 0 {
        for &i in indices {
            visit(i, input);
        }
        return;
    }
    let axis = axes_left - 1;
    for (op, members) in group_by_axis(products, indices, axis) {
        match op {
            None => plane_trie(
                input, shape, products, &members, axis, boundary, bufs, visit,
            ),
            Some(op) => {
                let mut next = bufs.take(input.len());
                op.apply_plane(input, shape, axis, boundary, &mut next, bufs);
                plane_trie(
                    &next, shape, products, &members, axis, boundary, bufs, visit,
                );
                bufs.give(next);
            }
        }
    }
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

    /// The plane pipeline equals one volume pass per axis, bit for bit.
    #[test]
    fn separable_plane_pipeline_equals_volume_passes_to_the_bit() {
        let data = Array3::from_shape_fn((7, 9, 10), |(k, j, i)| {
            (((k * 131 + j * 37 + i * 11) % 97) as f64 - 40.0) * 1.37
        });
        let (a, b, c) = ([0.3, -1.2, 0.7], [0.1, 0.5, 0.2, -0.4, 0.9], [0.25; 5]);
        let kernels = [Some(&a[..]), None, Some(&c[..])];
        let expected = convolve_axis(
            &convolve_axis(&data, 2, &c, Boundary::Nearest),
            0,
            &a,
            Boundary::Nearest,
        );
        let got = convolve_separable(&data, &kernels, Boundary::Nearest);
        assert!(
            got.iter()
                .zip(expected.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
        let kernels = [Some(&a[..]), Some(&b[..])];
        let expected = convolve_axis(
            &convolve_axis(&data, 1, &b, Boundary::Zero),
            0,
            &a,
            Boundary::Zero,
        );
        let got = convolve_separable(&data, &kernels, Boundary::Zero);
        assert!(
            got.iter()
                .zip(expected.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }

    /// A k operator of chains (à trous: a kernel, then a dilated one),
    /// evaluated plane by plane from its chain prefixes, gives the bits of
    /// the operator applied as volume passes ([`AxisOperator::apply_into`]),
    /// with 1 and 3 threads.
    #[test]
    fn chain_operator_plane_by_plane_equals_volume_passes_to_the_bit() {
        let data = Array3::from_shape_fn((9, 7, 8), |(k, j, i)| {
            (((k * 131 + j * 37 + i * 11) % 97) as f64 - 40.0) * 1.37
        });
        let (a, b) = (vec![0.3, -1.2, 0.7], vec![0.1, 0.0, 0.5, 0.0, -0.4]);
        let (c, d) = (vec![-0.2, 0.9, 0.4], vec![0.6, 0.0, 0.25, 0.0, 0.15]);
        let chain_k = AxisOperator::chain(vec![a.clone(), b.clone()]).combine(
            0.7,
            &AxisOperator::chain(vec![c.clone(), d.clone()]),
            -1.3,
        );
        assert!(chain_k.as_single_kernel().is_none());
        let product: SeparableProduct = vec![
            AxisOperator::chain(vec![c.clone()]),
            AxisOperator::chain(vec![a.clone()]),
            chain_k.clone(),
        ];
        for boundary in [Boundary::Mirror, Boundary::Zero] {
            let mut along_k = Array3::zeros(data.dim());
            chain_k.apply_into(&data, 2, boundary, &mut along_k, &mut Spare::default());
            let expected =
                convolve_axis(&convolve_axis(&along_k, 1, &a, boundary), 0, &c, boundary);
            for threads in [1, 3] {
                let mut got = Array3::zeros(data.dim());
                let assign =
                    |_: usize, _: usize, r: &[f64], acc: &mut [f64]| acc.copy_from_slice(r);
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| {
                        for_each_product(
                            &data,
                            std::slice::from_ref(&product),
                            boundary,
                            &mut got,
                            &assign,
                        )
                    });
                assert!(
                    got.iter()
                        .zip(expected.iter())
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{boundary:?}, {threads} threads"
                );
            }
        }
    }

    #[test]
    fn even_kernels_get_a_trailing_zero() {
        assert_eq!(odd_kernel(&[1.0, 2.0]), vec![1.0, 2.0, 0.0]);
        assert_eq!(odd_kernel(&[1.0, 2.0, 3.0]), vec![1.0, 2.0, 3.0]);
    }
}
