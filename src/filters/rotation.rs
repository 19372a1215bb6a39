//! Rotation invariance by pooling: the right-angle rotations of a separable
//! kernel (24 in 3D, 4 in 2D) and the pooling of response maps. The only
//! place that knows either.

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use super::boundary::Boundary;
use super::separable::{AxisOperator, SeparableProduct, for_each_product};

/// How the responses of the rotated (or re-oriented) kernels are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    #[default]
    Max,
    Average,
}

/// A response map being pooled; responses are added in a fixed order, so the
/// result does not depend on how the work was scheduled.
pub struct Pool {
    pooling: Pooling,
    acc: Option<Array3<f64>>,
    count: usize,
}

impl Pool {
    pub fn new(pooling: Pooling) -> Self {
        Pool {
            pooling,
            acc: None,
            count: 0,
        }
    }

    pub fn add(&mut self, response: Array3<f64>) {
        self.count += 1;
        match &mut self.acc {
            None => self.acc = Some(response),
            Some(acc) => match self.pooling {
                Pooling::Max => acc.zip_mut_with(&response, |a, &b| *a = a.max(b)),
                Pooling::Average => acc.zip_mut_with(&response, |a, &b| *a += b),
            },
        }
    }

    /// The pooled map; panics when nothing was added (a programming error).
    pub fn finish(self) -> Array3<f64> {
        let mut acc = self.acc.expect("pooling over no response");
        if self.pooling == Pooling::Average {
            let n = self.count as f64;
            acc.mapv_inplace(|v| v / n);
        }
        acc
    }
}

/// Where a rotated separable kernel takes its factor for one axis: the
/// factor of axis `from`, reversed when `flip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisSource {
    pub from: usize,
    pub flip: bool,
}

/// The proper right-angle rotations of `dims` (2 or 3) axes: signed
/// permutation matrices with determinant +1 (24 in 3D, 4 in 2D). Entry `a`
/// of each says which original axis (and direction) lies along axis `a`
/// after rotation. The identity comes first.
pub fn right_angle_rotations(dims: usize) -> Vec<Vec<AxisSource>> {
    let perms: Vec<Vec<usize>> = match dims {
        2 => vec![vec![0, 1], vec![1, 0]],
        3 => vec![
            vec![0, 1, 2],
            vec![0, 2, 1],
            vec![1, 0, 2],
            vec![1, 2, 0],
            vec![2, 0, 1],
            vec![2, 1, 0],
        ],
        _ => panic!("rotations are defined in 2 or 3 dimensions"),
    };
    let mut out = Vec::new();
    for perm in perms {
        let parity = permutation_sign(&perm);
        for signs in 0..(1u32 << dims) {
            let flips: Vec<bool> = (0..dims).map(|a| signs & (1 << a) != 0).collect();
            let sign = flips.iter().fold(parity, |s, &f| if f { -s } else { s });
            if sign == 1 {
                out.push(
                    perm.iter()
                        .zip(&flips)
                        .map(|(&from, &flip)| AxisSource { from, flip })
                        .collect(),
                );
            }
        }
    }
    out
}

fn permutation_sign(perm: &[usize]) -> i32 {
    let mut sign = 1;
    for i in 0..perm.len() {
        for j in i + 1..perm.len() {
            if perm[i] > perm[j] {
                sign = -sign;
            }
        }
    }
    sign
}

/// The distinct kernel sets obtained by rotating `sets` (several separable
/// kernels that rotate together, each a list of per-axis 1D kernels) by
/// every right-angle rotation. Rotations that give an identical set are kept
/// once: the orbit of a group action repeats each element equally often, so
/// averaging over the distinct sets equals averaging over all rotations.
pub fn rotated_kernel_sets(sets: &[Vec<Vec<f64>>], dims: usize) -> Vec<Vec<Vec<Vec<f64>>>> {
    let mut out: Vec<Vec<Vec<Vec<f64>>>> = Vec::new();
    for rotation in right_angle_rotations(dims) {
        let rotated: Vec<Vec<Vec<f64>>> = sets
            .iter()
            .map(|kernels| {
                rotation
                    .iter()
                    .map(|src| {
                        let mut k = kernels[src.from].clone();
                        if src.flip {
                            k.reverse();
                        }
                        k
                    })
                    .collect()
            })
            .collect();
        if !out.contains(&rotated) {
            out.push(rotated);
        }
    }
    out
}

/// A separable filter as it rotates: per geometric axis, the 1D kernels
/// applied one after the other along that axis (one kernel for Laws; the
/// low-pass kernels and then the band kernel for an à trous wavelet level).
pub type AxisChains = Vec<Vec<Vec<f64>>>;

/// `chains` turned by every right-angle rotation of `dims` axes, in the
/// order of [`right_angle_rotations`] (rotations giving the same chains are
/// all kept: pooling counts each rotation).
pub fn rotated_chains(chains: &AxisChains, dims: usize) -> Vec<AxisChains> {
    right_angle_rotations(dims)
        .iter()
        .map(|rotation| {
            rotation
                .iter()
                .map(|src| {
                    chains[src.from]
                        .iter()
                        .map(|k| {
                            let mut k = k.clone();
                            if src.flip {
                                k.reverse();
                            }
                            k
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// `chains` with every kernel made to start (first non-zero tap) positive,
/// and the sign this took: the response is linear in each kernel, so the
/// original response is the sign times the canonical one, exactly (negating
/// every product negates every sum). An antisymmetric kernel (Laws E5, a
/// Haar high-pass) flipped is its own negative: rotations that only flip it
/// give ± the same response.
fn canonical_sign(chains: &AxisChains) -> (AxisChains, f64) {
    let mut sign = 1.0;
    let canonical = chains
        .iter()
        .map(|chain| {
            chain
                .iter()
                .map(|k| {
                    if k.iter().find(|v| **v != 0.0).is_some_and(|v| *v < 0.0) {
                        sign = -sign;
                        k.iter().map(|v| -v).collect()
                    } else {
                        k.clone()
                    }
                })
                .collect()
        })
        .collect();
    (canonical, sign)
}

/// The responses to the separable `filters` (typically the rotations of
/// one), pooled. The work is shared where the mathematics allows it:
/// - max pooling: filters equal up to sign are computed once; where both
///   signs occur the pooled value is the magnitude.
/// - average pooling is linear: the filters are summed as separable
///   products first (`a⊗b⊗c + a⊗b⊗c' = a⊗b⊗(c+c')`), so the 24 rotations of
///   a wavelet sub-band collapse to a few products of summed kernels.
///
/// Passes shared between products run once ([`for_each_product`]); the
/// order of all sums is fixed, so the result does not depend on threads.
pub fn pool_separable(
    data: &Array3<f64>,
    filters: &[AxisChains],
    pooling: Pooling,
    boundary: Boundary,
) -> Array3<f64> {
    assert!(!filters.is_empty(), "pooling over no filter");
    match pooling {
        Pooling::Max => {
            // Distinct canonical filters, with the signs they occur with.
            let mut distinct: Vec<(AxisChains, bool, bool)> = Vec::new();
            for f in filters {
                let (c, sign) = canonical_sign(f);
                let entry = match distinct.iter_mut().find(|(d, _, _)| *d == c) {
                    Some(e) => e,
                    None => {
                        distinct.push((c, false, false));
                        distinct.last_mut().expect("just pushed")
                    }
                };
                if sign > 0.0 {
                    entry.1 = true;
                } else {
                    entry.2 = true;
                }
            }
            let products: Vec<SeparableProduct> = distinct
                .iter()
                .map(|(c, _, _)| c.iter().map(|k| AxisOperator::chain(k.clone())).collect())
                .collect();
            let mut acc = Array3::<f64>::zeros(data.dim());
            let fold = |i: usize, nth: usize, response: &[f64], acc: &mut [f64]| {
                let (_, positive, negative) = distinct[i];
                let value = move |v: f64| match (positive, negative) {
                    (true, true) => v.abs(),
                    (false, true) => -v,
                    _ => v,
                };
                let pairs = acc.iter_mut().zip(response);
                if nth == 0 {
                    pairs.for_each(|(a, &b)| *a = value(b));
                } else {
                    pairs.for_each(|(a, &b)| *a = a.max(value(b)));
                }
            };
            for_each_product(data, &products, boundary, &mut acc, &fold);
            acc
        }
        Pooling::Average => {
            let products = summed_products(filters);
            let mut acc = Array3::<f64>::zeros(data.dim());
            let fold = |_: usize, _: usize, response: &[f64], acc: &mut [f64]| {
                acc.iter_mut().zip(response).for_each(|(a, &b)| *a += b);
            };
            for_each_product(data, &products, boundary, &mut acc, &fold);
            let n = filters.len() as f64;
            acc.mapv_inplace(|v| v / n);
            acc
        }
    }
}

/// The sum of the separable `filters` as few separable products as the
/// greedy rule finds: two products that differ on one axis only merge into
/// one whose operator on that axis is the sum of theirs.
fn summed_products(filters: &[AxisChains]) -> Vec<SeparableProduct> {
    // (weight, product); the weight is folded into an operator on merging.
    let mut terms: Vec<(f64, SeparableProduct)> = filters
        .iter()
        .map(|f| {
            let (c, sign) = canonical_sign(f);
            (sign, c.into_iter().map(AxisOperator::chain).collect())
        })
        .collect();
    'merge: loop {
        for i in 0..terms.len() {
            for j in i + 1..terms.len() {
                let differing: Vec<usize> = (0..terms[i].1.len())
                    .filter(|&a| terms[i].1[a] != terms[j].1[a])
                    .collect();
                let (wi, wj) = (terms[i].0, terms[j].0);
                match differing.as_slice() {
                    [] => {
                        terms[i].0 = wi + wj;
                        terms.remove(j);
                    }
                    [axis] => {
                        let sum = terms[i].1[*axis].combine(wi, &terms[j].1[*axis], wj);
                        terms[i].0 = 1.0;
                        terms[i].1[*axis] = sum;
                        terms.remove(j);
                    }
                    _ => continue,
                }
                terms.retain(|(w, p)| *w != 0.0 && p.iter().all(|op| !op.terms.is_empty()));
                continue 'merge;
            }
        }
        break;
    }
    terms
        .into_iter()
        .map(|(w, mut p)| {
            if w != 1.0
                && let Some(first) = p.first_mut()
            {
                *first = first.combine(w, &AxisOperator { terms: vec![] }, 0.0);
            }
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_24_rotations_in_3d_and_4_in_2d_all_distinct() {
        let r3 = right_angle_rotations(3);
        assert_eq!(r3.len(), 24);
        for (i, a) in r3.iter().enumerate() {
            for b in &r3[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            r3[0],
            vec![
                AxisSource {
                    from: 0,
                    flip: false
                },
                AxisSource {
                    from: 1,
                    flip: false
                },
                AxisSource {
                    from: 2,
                    flip: false
                }
            ]
        );
        let r2 = right_angle_rotations(2);
        assert_eq!(r2.len(), 4);
        // A quarter turn: (x, y) -> (-y, x) style, one flip with the swap.
        assert!(r2.contains(&vec![
            AxisSource {
                from: 1,
                flip: true
            },
            AxisSource {
                from: 0,
                flip: false
            }
        ]));
        assert!(!r2.contains(&vec![
            AxisSource {
                from: 0,
                flip: true
            },
            AxisSource {
                from: 1,
                flip: false
            }
        ]));
    }

    #[test]
    fn symmetric_kernels_collapse_to_fewer_distinct_rotations() {
        // L5 (symmetric) along every axis: one distinct kernel set.
        let l5 = vec![1.0, 4.0, 6.0, 4.0, 1.0];
        let sets = rotated_kernel_sets(&[vec![l5.clone(), l5.clone(), l5.clone()]], 3);
        assert_eq!(sets.len(), 1);
        // E5 (antisymmetric) along x, L5 elsewhere: E5 can lie along any of 3
        // axes in either direction, 6 distinct sets.
        let e5 = vec![-1.0, -2.0, 0.0, 2.0, 1.0];
        let sets = rotated_kernel_sets(&[vec![e5, l5.clone(), l5]], 3);
        assert_eq!(sets.len(), 6);
    }

    /// Every rotation convolved on its own (k, then j, then i), pooled.
    fn pooled_naively(data: &Array3<f64>, filters: &[AxisChains], pooling: Pooling) -> Array3<f64> {
        let mut pool = Pool::new(pooling);
        for f in filters {
            let mut current = data.clone();
            for axis in (0..f.len()).rev() {
                for k in &f[axis] {
                    current = crate::filters::separable::convolve_axis(
                        &current,
                        axis,
                        k,
                        Boundary::Mirror,
                    );
                }
            }
            pool.add(current);
        }
        pool.finish()
    }

    #[test]
    fn shared_pooling_equals_pooling_every_rotation() {
        let data = Array3::from_shape_fn((6, 7, 8), |(k, j, i)| {
            ((k * 37 + j * 11 + i * 5) % 13) as f64 - 6.0
        });
        let lo = vec![0.1, 0.5, 0.3, -0.2, 0.05];
        let hi = vec![-0.3, 0.0, 0.6, 0.1, -0.4];
        let e5 = vec![-1.0, -2.0, 0.0, 2.0, 1.0];
        let l5 = vec![1.0, 4.0, 6.0, 4.0, 1.0];
        let dilated = |k: &[f64]| -> Vec<f64> {
            let mut out = vec![0.0; 2 * k.len() - 1];
            for (i, &v) in k.iter().enumerate() {
                out[2 * i] = v;
            }
            out
        };
        let cases: Vec<(AxisChains, usize)> = vec![
            // Asymmetric kernels (a wavelet sub-band HLL).
            (
                vec![vec![hi.clone()], vec![lo.clone()], vec![lo.clone()]],
                3,
            ),
            // Antisymmetric and symmetric (Laws E5L5E5): rotations equal up to sign.
            (
                vec![vec![e5.clone()], vec![l5.clone()], vec![e5.clone()]],
                3,
            ),
            // Two-step chains (an à trous level 2), rotating together.
            (
                vec![
                    vec![lo.clone(), dilated(&hi)],
                    vec![lo.clone(), dilated(&lo)],
                    vec![lo.clone(), dilated(&hi)],
                ],
                3,
            ),
            // 2D: axes i and j only.
            (vec![vec![e5.clone()], vec![hi.clone()]], 2),
        ];
        for (chains, dims) in cases {
            let filters = rotated_chains(&chains, dims);
            for pooling in [Pooling::Max, Pooling::Average] {
                let shared = pool_separable(&data, &filters, pooling, Boundary::Mirror);
                let naive = pooled_naively(&data, &filters, pooling);
                // (E5L5E5 averaged is zero: its rotations cancel in pairs.)
                let scale = naive.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                for (a, b) in shared.iter().zip(naive.iter()) {
                    assert!(
                        (a - b).abs() <= 1e-12 * scale,
                        "{pooling:?} {dims}D: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn pooling_max_and_average() {
        let a = Array3::from_shape_vec((1, 1, 2), vec![1.0, -4.0]).unwrap();
        let b = Array3::from_shape_vec((1, 1, 2), vec![3.0, -2.0]).unwrap();
        let mut p = Pool::new(Pooling::Max);
        p.add(a.clone());
        p.add(b.clone());
        assert_eq!(p.finish().into_raw_vec_and_offset().0, vec![3.0, -2.0]);
        let mut p = Pool::new(Pooling::Average);
        p.add(a);
        p.add(b);
        assert_eq!(p.finish().into_raw_vec_and_offset().0, vec![2.0, -3.0]);
    }
}
