//! [`LevelGrid`]: the discretised ROI as the texture traversals read it.
//!
//! Grey levels are remapped to dense indices `0..n_present` over the levels
//! actually present, so that matrices never get a row for an absent level
//! (1000 bins over a small ROI stay small); `values` maps a dense index back
//! to its grey level for the features that weigh by level.
//!
//! The array is padded with empty voxels on every side, wide enough for the
//! largest neighbourhood, so traversals step by linear offsets without bound
//! checks: a step into the padding simply finds "outside".

use ndarray::Array3;

use crate::processing::Discretised;
use crate::{Error, Result};

/// Code of a voxel outside the intensity mask.
pub const OUTSIDE: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct LevelGrid {
    /// Dense level index per padded voxel, [`OUTSIDE`] outside the intensity mask.
    pub codes: Vec<u32>,
    /// Grey level (1-based, as discretised) of each dense index, increasing.
    pub values: Vec<f64>,
    /// Ng of the discretisation (may exceed `values.len()` when levels are absent).
    pub n_levels: u32,
    /// Padding width on each side.
    pub pad: usize,
    /// Unpadded shape [nz, ny, nx].
    pub shape: [usize; 3],
    /// Padded shape [nz, ny, nx].
    pub padded: [usize; 3],
}

impl LevelGrid {
    /// Builds the grid with a padding of at least `pad` (≥ 1) voxels.
    pub fn new(discretised: &Discretised, pad: usize) -> Result<LevelGrid> {
        let levels = &discretised.levels;
        let max_level = levels.iter().copied().max().unwrap_or(0);
        if max_level == 0 {
            return Err(Error::data(
                "texture features: the intensity mask is empty (no grey levels)",
            ));
        }
        if max_level > discretised.n_levels {
            return Err(Error::data(format!(
                "texture features: grey level {max_level} exceeds the number of levels {}",
                discretised.n_levels
            )));
        }
        let mut dense = vec![OUTSIDE; max_level as usize + 1];
        for &l in levels.iter() {
            if l > 0 {
                dense[l as usize] = 0;
            }
        }
        let mut values = Vec::new();
        for (level, slot) in dense.iter_mut().enumerate() {
            if *slot == 0 {
                *slot = values.len() as u32;
                values.push(level as f64);
            }
        }
        let pad = pad.max(1);
        let s = levels.shape();
        let shape = [s[0], s[1], s[2]];
        let padded = [s[0] + 2 * pad, s[1] + 2 * pad, s[2] + 2 * pad];
        let mut codes = vec![OUTSIDE; padded[0] * padded[1] * padded[2]];
        for ((k, j, i), &l) in levels.indexed_iter() {
            if l > 0 {
                let idx = ((k + pad) * padded[1] + j + pad) * padded[2] + i + pad;
                codes[idx] = dense[l as usize];
            }
        }
        Ok(LevelGrid {
            codes,
            values,
            n_levels: discretised.n_levels,
            pad,
            shape,
            padded,
        })
    }

    /// Number of grey levels present.
    pub fn n_present(&self) -> usize {
        self.values.len()
    }

    /// Linear offset of a step (dx, dy, dz).
    pub fn offset(&self, step: [i32; 3]) -> isize {
        let [dx, dy, dz] = step.map(|d| d as isize);
        (dz * self.padded[1] as isize + dy) * self.padded[2] as isize + dx
    }

    /// Linear index of unpadded voxel [k, j, i].
    pub fn index(&self, k: usize, j: usize, i: usize) -> usize {
        ((k + self.pad) * self.padded[1] + j + self.pad) * self.padded[2] + i + self.pad
    }

    /// Linear indices of the ROI voxels of unpadded slice `k`, in raster order.
    pub fn slice_voxels(&self, k: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for j in 0..self.shape[1] {
            let row = self.index(k, j, 0);
            for idx in row..row + self.shape[2] {
                if self.codes[idx] != OUTSIDE {
                    out.push(idx);
                }
            }
        }
        out
    }

    /// Linear indices of all ROI voxels, in raster order.
    pub fn voxels(&self) -> Vec<usize> {
        (0..self.shape[0])
            .flat_map(|k| self.slice_voxels(k))
            .collect()
    }

    /// Code at `idx + offset` (the padding guarantees it is in bounds for
    /// offsets within the padding width).
    #[inline]
    pub fn at(&self, idx: usize, offset: isize) -> u32 {
        self.codes[(idx as isize + offset) as usize]
    }

    /// The padded boolean mask of another ROI mask on the same grid (e.g.
    /// the morphological mask), `true` inside.
    pub fn pad_mask(&self, mask: &Array3<bool>) -> Result<Vec<bool>> {
        if mask.shape() != self.shape {
            return Err(Error::data(format!(
                "texture features: mask shape {:?} differs from the discretised image {:?}",
                mask.shape(),
                self.shape
            )));
        }
        let mut out = vec![false; self.codes.len()];
        for ((k, j, i), &m) in mask.indexed_iter() {
            if m {
                out[self.index(k, j, i)] = true;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_remapped_to_present_ones() {
        let mut levels = Array3::<u32>::zeros((1, 2, 3));
        levels[[0, 0, 0]] = 5;
        levels[[0, 1, 2]] = 2;
        levels[[0, 1, 1]] = 5;
        let d = Discretised {
            levels,
            n_levels: 8,
            spacing: [1.0; 3],
        };
        let g = LevelGrid::new(&d, 1).unwrap();
        assert_eq!(g.values, vec![2.0, 5.0]);
        assert_eq!(g.codes[g.index(0, 0, 0)], 1);
        assert_eq!(g.codes[g.index(0, 1, 2)], 0);
        assert_eq!(g.codes[g.index(0, 0, 1)], OUTSIDE);
        assert_eq!(g.slice_voxels(0).len(), 3);
        let right = g.offset([1, 0, 0]);
        assert_eq!(g.at(g.index(0, 1, 1), right), 0);
    }
}
