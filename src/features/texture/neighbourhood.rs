//! One neighbourhood pass for the NGTDM and the NGLDM (IBSI 3.10, 3.11): for
//! every voxel of the intensity mask, its neighbours within Chebyshev
//! distance δ that are in the mask give
//! - the NGTDM: their number W_k and mean grey level, hence |i − X̄_k|;
//! - the NGLDM: the dependence count j_k (1 + neighbours whose grey level
//!   differs by at most α).
//!
//! The in-plane neighbourhood (2D) is the dz = 0 part of the volume one
//! (3D), so one visit of the cube serves both. Floating sums are taken per
//! slice in raster order and added over slices in slice order, so the result
//! does not depend on the number of threads.

use rayon::prelude::*;

use super::grid::{LevelGrid, OUTSIDE};
use super::level_count::LevelCountMatrices;
use super::matrix::{CountMatrix, Tally};
use super::{Dimension, TextureContext};

/// NGTDM of one slice or volume: per dense level, the summed grey tone
/// differences s_i and the number n_i of voxels with a valid neighbourhood.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToneCounts {
    pub s: Vec<f64>,
    pub n: Vec<u64>,
}

impl ToneCounts {
    fn zeros(levels: usize) -> ToneCounts {
        ToneCounts {
            s: vec![0.0; levels],
            n: vec![0; levels],
        }
    }

    /// Element-wise sum, added in the order given.
    pub fn merge<'a>(levels: usize, parts: impl IntoIterator<Item = &'a ToneCounts>) -> ToneCounts {
        let mut out = ToneCounts::zeros(levels);
        for p in parts {
            for l in 0..levels {
                out.s[l] += p.s[l];
                out.n[l] += p.n[l];
            }
        }
        out
    }
}

/// NGTDMs and NGLDMs of each requested dimension.
#[derive(Debug, Clone, Default)]
pub struct NeighbourhoodTables {
    /// Per slice with voxels (2D).
    pub tone_slices: Vec<ToneCounts>,
    /// Slices merged (2.5D).
    pub tone_merged: Option<ToneCounts>,
    /// Volume (3D).
    pub tone_volume: Option<ToneCounts>,
    pub dependence: LevelCountMatrices,
}

/// What one slice contributes.
#[derive(Default)]
struct SliceResult {
    tone_2d: Option<ToneCounts>,
    dependence_2d: Option<CountMatrix>,
    tone_3d: Option<ToneCounts>,
    dependence_3d: Option<CountMatrix>,
}

impl NeighbourhoodTables {
    pub fn compute(ctx: &TextureContext, dims: &[Dimension]) -> NeighbourhoodTables {
        let grid = &ctx.grid;
        let need_2d = dims.contains(&Dimension::TwoD) || dims.contains(&Dimension::TwoHalfD);
        let need_3d = dims.contains(&Dimension::ThreeD);
        let pass = Pass::new(grid, ctx.settings.distance as i32, ctx.settings.ngldm_alpha);
        let results: Vec<SliceResult> = (0..grid.shape[0])
            .into_par_iter()
            .filter_map(|k| {
                let voxels = grid.slice_voxels(k);
                (!voxels.is_empty()).then(|| pass.slice(grid, &voxels, need_2d, need_3d))
            })
            .collect();
        let levels = grid.n_present();
        let tone_slices: Vec<ToneCounts> =
            results.iter().filter_map(|r| r.tone_2d.clone()).collect();
        let dep_slices: Vec<CountMatrix> = results
            .iter()
            .filter_map(|r| r.dependence_2d.clone())
            .collect();
        NeighbourhoodTables {
            tone_merged: need_2d.then(|| ToneCounts::merge(levels, &tone_slices)),
            tone_volume: need_3d.then(|| {
                ToneCounts::merge(levels, results.iter().filter_map(|r| r.tone_3d.as_ref()))
            }),
            tone_slices,
            dependence: LevelCountMatrices {
                merged: need_2d.then(|| CountMatrix::merge(&dep_slices)),
                slices: dep_slices,
                volume: need_3d.then(|| {
                    CountMatrix::merge(results.iter().filter_map(|r| r.dependence_3d.as_ref()))
                }),
            },
        }
    }
}

struct Pass {
    /// Neighbour offsets, the `n_in_plane` in-plane ones first.
    offsets: Vec<isize>,
    n_in_plane: usize,
    alpha: f64,
    /// Grey level per dense index.
    values: Vec<f64>,
}

impl Pass {
    fn new(grid: &LevelGrid, delta: i32, alpha: u32) -> Pass {
        let mut offsets = Vec::new();
        for in_plane in [true, false] {
            for dz in -delta..=delta {
                if (dz == 0) != in_plane {
                    continue;
                }
                for dy in -delta..=delta {
                    for dx in -delta..=delta {
                        if (dx, dy, dz) != (0, 0, 0) {
                            offsets.push(grid.offset([dx, dy, dz]));
                        }
                    }
                }
            }
        }
        let n_in_plane = ((2 * delta + 1) * (2 * delta + 1) - 1) as usize;
        Pass {
            offsets,
            n_in_plane,
            alpha: alpha as f64,
            values: grid.values.clone(),
        }
    }

    fn slice(
        &self,
        grid: &LevelGrid,
        voxels: &[usize],
        need_2d: bool,
        need_3d: bool,
    ) -> SliceResult {
        let levels = grid.n_present();
        let mut tone_2d = ToneCounts::zeros(levels);
        let mut tone_3d = ToneCounts::zeros(levels);
        let max_dependence = self.offsets.len() + 1;
        let rows = |needed: bool| if needed { levels } else { 0 };
        let mut dep_2d = Tally::new(rows(need_2d), max_dependence, voxels.len());
        let mut dep_3d = Tally::new(rows(need_3d), max_dependence, voxels.len());
        let n_offsets = if need_3d {
            self.offsets.len()
        } else {
            self.n_in_plane
        };
        for &idx in voxels {
            let code = grid.codes[idx];
            let value = self.values[code as usize];
            let (mut sum, mut count, mut dependent) = (0.0, 0u32, 1u32);
            for (o, &off) in self.offsets[..n_offsets].iter().enumerate() {
                if o == self.n_in_plane && need_2d {
                    record(
                        &mut tone_2d,
                        &mut dep_2d,
                        code,
                        value,
                        sum,
                        count,
                        dependent,
                    );
                }
                let nb = grid.at(idx, off);
                if nb == OUTSIDE {
                    continue;
                }
                let v = self.values[nb as usize];
                sum += v;
                count += 1;
                if (v - value).abs() <= self.alpha {
                    dependent += 1;
                }
            }
            if need_3d {
                record(
                    &mut tone_3d,
                    &mut dep_3d,
                    code,
                    value,
                    sum,
                    count,
                    dependent,
                );
            } else if need_2d {
                record(
                    &mut tone_2d,
                    &mut dep_2d,
                    code,
                    value,
                    sum,
                    count,
                    dependent,
                );
            }
        }
        let n = voxels.len() as u64;
        SliceResult {
            tone_2d: need_2d.then_some(tone_2d),
            dependence_2d: need_2d.then(|| dep_2d.finish(n)),
            tone_3d: need_3d.then_some(tone_3d),
            dependence_3d: need_3d.then(|| dep_3d.finish(n)),
        }
    }
}

/// Adds one voxel's neighbourhood to an NGTDM and an NGLDM.
fn record(
    tone: &mut ToneCounts,
    dependence: &mut Tally,
    code: u32,
    value: f64,
    sum: f64,
    count: u32,
    dependent: u32,
) {
    if count > 0 {
        tone.s[code as usize] += (value - sum / count as f64).abs();
        tone.n[code as usize] += 1;
    }
    dependence.add(code, dependent);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processing::Discretised;
    use ndarray::Array3;

    #[test]
    fn in_plane_and_volume_neighbourhoods() {
        // Slice 0:  1 2     slice 1:  1 .
        //           3 .               . .
        let mut levels = Array3::<u32>::zeros((2, 2, 2));
        levels[[0, 0, 0]] = 1;
        levels[[0, 0, 1]] = 2;
        levels[[0, 1, 0]] = 3;
        levels[[1, 0, 0]] = 1;
        let d = Discretised {
            levels,
            n_levels: 3,
            spacing: [1.0; 3],
        };
        let grid = LevelGrid::new(&d, 1).unwrap();
        let pass = Pass::new(&grid, 1, 0);
        let r0 = pass.slice(&grid, &grid.slice_voxels(0), true, true);
        let t2 = r0.tone_2d.unwrap();
        // 2D: voxel 1 sees {2,3}: |1-2.5|; voxel 2 sees {1,3}: |2-2|; voxel 3 sees {1,2}: |3-1.5|.
        assert_eq!(t2.s, vec![1.5, 0.0, 1.5]);
        assert_eq!(t2.n, vec![1, 1, 1]);
        // 3D adds the 1 above every voxel of slice 0.
        let t3 = r0.tone_3d.unwrap();
        let expected = [1.0, 1.0 / 3.0, 5.0 / 3.0];
        assert!(
            t3.s.iter()
                .zip(expected)
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
        // Dependence (α = 0): in 2D all 1; in 3D the two 1s are dependent.
        assert_eq!(
            r0.dependence_2d.unwrap().entries,
            vec![(0, 1, 1), (1, 1, 1), (2, 1, 1)]
        );
        assert_eq!(
            r0.dependence_3d.unwrap().entries,
            vec![(0, 2, 1), (1, 1, 1), (2, 1, 1)]
        );
        // The lone voxel of slice 1 has no in-plane neighbour: no NGTDM count.
        let r1 = pass.slice(&grid, &grid.slice_voxels(1), true, false);
        assert_eq!(r1.tone_2d.unwrap().n, vec![0, 0, 0]);
        assert!(r1.tone_3d.is_none());
    }
}
