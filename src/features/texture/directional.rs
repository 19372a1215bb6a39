//! The aggregation driver of the directional families (GLCM, GLRLM): builds
//! the per-slice in-plane matrices and the out-of-plane volume matrices once,
//! and derives every requested aggregation (IBSI 3.6.1) from them:
//!
//! - `2D_avg`: features per slice and in-plane direction, averaged;
//! - `2D_comb`: the 4 directions merged per slice, averaged over slices;
//! - `2.5D_avg`: slices merged per direction, averaged over directions;
//! - `2.5D_comb`: one matrix over all slices and in-plane directions;
//! - `3D_avg` / `3D_comb`: the 13 volume directions, averaged or merged.
//!
//! An in-plane direction never leaves its slice, so its volume matrix is the
//! sum of its slice matrices: only the 9 out-of-plane directions need a
//! second traversal. Empty matrices (no pairs) are left out of averages.

use rayon::prelude::*;

use super::directions::{DIRECTIONS, N_IN_PLANE};
use super::grid::LevelGrid;
use super::matrix::{CountMatrix, mean_features};
use crate::processing::Aggregation;

/// Builds one directional matrix from the ROI voxels `voxels` (linear
/// indices) along direction number `d` of [`DIRECTIONS`].
pub trait DirectionalMatrix: Sync {
    fn build(&self, grid: &LevelGrid, voxels: &[usize], d: usize) -> CountMatrix;
    /// The features of a non-empty matrix.
    fn features(&self, grid: &LevelGrid, m: &CountMatrix) -> Vec<f64>;
}

/// Feature vectors per requested aggregation (in the order requested,
/// duplicates dropped); `None` when no matrix had any entry.
pub fn aggregate(
    grid: &LevelGrid,
    family: &dyn DirectionalMatrix,
    aggregations: &[Aggregation],
) -> Vec<(Aggregation, Option<Vec<f64>>)> {
    let wants = |a: Aggregation| aggregations.contains(&a);
    let features = |m: &CountMatrix| (!m.is_empty()).then(|| family.features(grid, m));

    // Per slice: the 4 in-plane matrices and the 2D feature rows.
    struct Slice {
        matrices: Vec<CountMatrix>,
        avg_rows: Vec<Vec<f64>>,
        comb_row: Option<Vec<f64>>,
    }
    let slices: Vec<Slice> = (0..grid.shape[0])
        .into_par_iter()
        .map(|k| {
            let voxels = grid.slice_voxels(k);
            if voxels.is_empty() {
                return Slice {
                    matrices: Vec::new(),
                    avg_rows: Vec::new(),
                    comb_row: None,
                };
            }
            let matrices: Vec<CountMatrix> = (0..N_IN_PLANE)
                .map(|d| family.build(grid, &voxels, d))
                .collect();
            let avg_rows = if wants(Aggregation::TwoDAvg) {
                matrices.iter().filter_map(features).collect()
            } else {
                Vec::new()
            };
            let comb_row = if wants(Aggregation::TwoDComb) {
                features(&CountMatrix::merge(&matrices))
            } else {
                None
            };
            Slice {
                matrices,
                avg_rows,
                comb_row,
            }
        })
        .collect();

    // In-plane directions merged over slices (2.5D, and the 3D in-plane ones).
    let in_plane: Vec<CountMatrix> = (0..N_IN_PLANE)
        .into_par_iter()
        .map(|d| CountMatrix::merge(slices.iter().filter_map(|s| s.matrices.get(d))))
        .collect();

    let need_3d = wants(Aggregation::ThreeDAvg) || wants(Aggregation::ThreeDComb);
    let volume: Vec<CountMatrix> = if need_3d {
        let voxels = grid.voxels();
        let out_of_plane: Vec<CountMatrix> = (N_IN_PLANE..DIRECTIONS.len())
            .into_par_iter()
            .map(|d| family.build(grid, &voxels, d))
            .collect();
        in_plane.iter().cloned().chain(out_of_plane).collect()
    } else {
        Vec::new()
    };

    let mut done: Vec<Aggregation> = Vec::new();
    let mut out = Vec::new();
    for &a in aggregations {
        if done.contains(&a) {
            continue;
        }
        done.push(a);
        let values = match a {
            Aggregation::TwoDAvg => {
                let rows: Vec<Vec<f64>> = slices
                    .iter()
                    .flat_map(|s| s.avg_rows.iter().cloned())
                    .collect();
                mean_features(&rows)
            }
            Aggregation::TwoDComb => {
                let rows: Vec<Vec<f64>> =
                    slices.iter().filter_map(|s| s.comb_row.clone()).collect();
                mean_features(&rows)
            }
            Aggregation::TwoHalfDAvg => mean_over_matrices(&in_plane, features),
            Aggregation::TwoHalfDComb => features(&CountMatrix::merge(&in_plane)),
            Aggregation::ThreeDAvg => mean_over_matrices(&volume, features),
            Aggregation::ThreeDComb => features(&CountMatrix::merge(&volume)),
        };
        out.push((a, values));
    }
    out
}

fn mean_over_matrices(
    matrices: &[CountMatrix],
    features: impl Fn(&CountMatrix) -> Option<Vec<f64>> + Sync + Send,
) -> Option<Vec<f64>> {
    let rows: Vec<Vec<f64>> = matrices.par_iter().filter_map(features).collect();
    mean_features(&rows)
}
