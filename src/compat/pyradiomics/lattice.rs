//! The ROI's grey levels as the texture classes walk them: one flat array
//! padded with empty voxels (level 0) wide enough for the longest step, so
//! that a neighbour is a linear offset away and needs no bounds test (a step
//! past the ROI's box lands in the padding, outside the mask, exactly where
//! a bounds-checked step would have found no voxel).

use ndarray::Array3;

#[derive(Debug, Clone)]
pub struct Lattice {
    /// Grey level per padded voxel, 0 outside the mask.
    pub levels: Vec<u32>,
    /// Linear indices of the ROI voxels, in raster order (z, then y, then x).
    pub voxels: Vec<usize>,
    /// Padded shape (z, y, x).
    padded: [usize; 3],
}

impl Lattice {
    /// `levels` (0 outside the mask) padded by `reach` voxels on every side:
    /// steps of up to `reach` along each axis stay inside the array.
    pub fn new(levels: &Array3<u32>, reach: usize) -> Lattice {
        let reach = reach.max(1);
        let s = levels.shape();
        let padded = [s[0] + 2 * reach, s[1] + 2 * reach, s[2] + 2 * reach];
        let mut flat = vec![0u32; padded[0] * padded[1] * padded[2]];
        let mut voxels = Vec::new();
        for ((k, j, i), &l) in levels.indexed_iter() {
            if l > 0 {
                let idx = ((k + reach) * padded[1] + j + reach) * padded[2] + i + reach;
                flat[idx] = l;
                voxels.push(idx);
            }
        }
        Lattice {
            levels: flat,
            voxels,
            padded,
        }
    }

    /// The longest step along one axis among `dirs` (at least 1).
    pub fn reach_of(dirs: &[[i32; 3]]) -> usize {
        dirs.iter()
            .flat_map(|d| d.iter().map(|c| c.unsigned_abs() as usize))
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// Linear offset of a step (dz, dy, dx).
    pub fn offset(&self, d: [i32; 3]) -> isize {
        let [dz, dy, dx] = d.map(|c| c as isize);
        (dz * self.padded[1] as isize + dy) * self.padded[2] as isize + dx
    }

    /// The level at `idx + off`.
    #[inline]
    pub fn at(&self, idx: usize, off: isize) -> u32 {
        self.levels[idx.wrapping_add_signed(off)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_past_the_box_find_no_voxel() {
        let mut levels = Array3::<u32>::zeros((2, 2, 3));
        levels[[0, 0, 0]] = 4;
        levels[[1, 1, 2]] = 7;
        let l = Lattice::new(&levels, 2);
        assert_eq!(l.voxels.len(), 2);
        let (a, b) = (l.voxels[0], l.voxels[1]);
        assert_eq!(l.levels[a], 4);
        assert_eq!(l.at(a, l.offset([1, 1, 2])), 7);
        assert_eq!(l.at(b, l.offset([-1, -1, -2])), 4);
        for d in [[-2, 0, 0], [0, -2, -2], [2, 2, 2], [0, 0, 2]] {
            assert_eq!(l.at(b, l.offset(d)), 0, "{d:?}");
        }
        assert_eq!(Lattice::reach_of(&[[0, 1, -2], [1, 0, 0]]), 2);
    }
}
