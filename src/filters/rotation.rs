//! Rotation invariance by pooling: the right-angle rotations of a separable
//! kernel (24 in 3D, 4 in 2D) and the pooling of response maps. The only
//! place that knows either.

use ndarray::Array3;
use serde::{Deserialize, Serialize};

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
