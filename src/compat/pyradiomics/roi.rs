//! One case as PyRadiomics' feature classes see it: the image and mask
//! cropped to the mask's bounding box (with one voxel of margin, so that
//! neighbour look-ups never leave the array), in array order (z, y, x), and
//! the grey levels of its binning.

use std::borrow::Cow;
use std::sync::OnceLock;

use ndarray::{Array3, s};

use super::lattice::Lattice;

use super::binning::Binning;
use crate::image::Volume;
use crate::{Error, Result};

/// The cropped ROI and its discretisation.
#[derive(Debug, Clone)]
pub struct Roi {
    /// Intensities, shape [nz, ny, nx], one voxel of margin on every side.
    pub image: Array3<f64>,
    pub mask: Array3<bool>,
    /// Spacing in array order (z, y, x), as PyRadiomics' `pixelSpacing`.
    pub spacing_zyx: [f64; 3],
    /// Grey level per voxel (1-based), 0 outside the mask.
    pub levels: Array3<u32>,
    /// Ng: the highest grey level in the ROI.
    pub n_levels: u32,
    /// Intensities of the ROI voxels in raster order (z, then y, then x).
    pub voxels: Vec<f64>,
    /// Grey levels of the ROI voxels, in the same order.
    pub voxel_levels: Vec<u32>,
    /// The levels as the texture classes walk them with unit steps, built
    /// on first use and shared by the classes.
    unit_lattice: OnceLock<Lattice>,
}

impl Roi {
    /// Crops and bins. `mask` must be on the image grid.
    pub fn new(image: &Volume<f32>, mask: &Volume<bool>, binning: &Binning) -> Result<Roi> {
        Self::with_values(image, mask, binning, &|v| f64::from(v))
    }

    /// Crops and bins the image's intensities as `intensity` maps them (a
    /// normalised or derived image type; see `intensity`).
    pub fn with_values<T: Copy>(
        image: &Volume<T>,
        mask: &Volume<bool>,
        binning: &Binning,
        intensity: &dyn Fn(T) -> f64,
    ) -> Result<Roi> {
        let Some(bounds) = crate::processing::crop::bounding_box(&mask.data) else {
            return Err(Error::data("the mask selects no voxel"));
        };
        // bounds are (x, y, z) half-open ranges.
        let [(x0, x1), (y0, y1), (z0, z1)] = bounds;
        let shape = (z1 - z0 + 2, y1 - y0 + 2, x1 - x0 + 2);
        let mut values = Array3::<f64>::zeros(shape);
        let mut inside = Array3::<bool>::from_elem(shape, false);
        let src = image.data.slice(s![z0..z1, y0..y1, x0..x1]);
        let msk = mask.data.slice(s![z0..z1, y0..y1, x0..x1]);
        values
            .slice_mut(s![1..shape.0 - 1, 1..shape.1 - 1, 1..shape.2 - 1])
            .assign(&src.mapv(intensity));
        inside
            .slice_mut(s![1..shape.0 - 1, 1..shape.1 - 1, 1..shape.2 - 1])
            .assign(&msk);
        let voxels: Vec<f64> = values
            .iter()
            .zip(inside.iter())
            .filter(|(_, m)| **m)
            .map(|(v, _)| *v)
            .collect();
        let edges = binning.edges(&voxels)?;
        let voxel_levels: Vec<u32> = voxels.iter().map(|&v| edges.level(v)).collect();
        let mut levels = Array3::<u32>::zeros(shape);
        let mut it = voxel_levels.iter();
        for (l, m) in levels.iter_mut().zip(inside.iter()) {
            if *m {
                *l = *it.next().expect("one level per ROI voxel");
            }
        }
        let n_levels = voxel_levels.iter().copied().max().unwrap_or(0);
        let sp = image.geometry.spacing;
        Ok(Roi {
            image: values,
            mask: inside,
            spacing_zyx: [sp[2], sp[1], sp[0]],
            levels,
            n_levels,
            voxels,
            voxel_levels,
            unit_lattice: OnceLock::new(),
        })
    }

    /// The grey levels padded for steps of up to `reach` voxels per axis
    /// (the one of reach 1 is built once per ROI).
    pub fn lattice(&self, reach: usize) -> Cow<'_, Lattice> {
        if reach <= 1 {
            Cow::Borrowed(
                self.unit_lattice
                    .get_or_init(|| Lattice::new(&self.levels, 1)),
            )
        } else {
            Cow::Owned(Lattice::new(&self.levels, reach))
        }
    }

    /// The grey levels present, increasing.
    pub fn present_levels(&self) -> Vec<u32> {
        let mut seen = vec![false; self.n_levels as usize + 1];
        for &l in &self.voxel_levels {
            seen[l as usize] = true;
        }
        (1..=self.n_levels).filter(|&l| seen[l as usize]).collect()
    }

    /// Dense index (0-based, over present levels) of each level, `u32::MAX` for absent ones.
    pub fn dense_index(&self) -> Vec<u32> {
        let mut dense = vec![u32::MAX; self.n_levels as usize + 1];
        for (d, l) in self.present_levels().into_iter().enumerate() {
            dense[l as usize] = d as u32;
        }
        dense
    }
}

/// Offsets (dz, dy, dx) whose Chebyshev length is one of `distances`, one of
/// each ± pair (the first non-zero component positive): PyRadiomics' angles.
pub fn angles(distances: &[i64]) -> Vec<[i32; 3]> {
    let max = distances.iter().copied().max().unwrap_or(1) as i32;
    let mut out = Vec::new();
    for dz in -max..=max {
        for dy in -max..=max {
            for dx in -max..=max {
                let norm = dz.abs().max(dy.abs()).max(dx.abs());
                if norm == 0 || !distances.contains(&i64::from(norm)) {
                    continue;
                }
                let first = [dz, dy, dx].into_iter().find(|&c| c != 0).unwrap_or(0);
                if first > 0 {
                    out.push([dz, dy, dx]);
                }
            }
        }
    }
    out
}

/// The texture classes' directions: [`angles`] of `distances`, and with
/// `force2D` only those within the planes normal to array axis `plane`
/// (0 is z), in the same order.
pub fn texture_angles(distances: &[i64], plane: Option<usize>) -> Vec<[i32; 3]> {
    angles(distances)
        .into_iter()
        .filter(|d| plane.is_none_or(|a| d[a] == 0))
        .collect()
}

/// The voxel at `(k, j, i) + step`, if inside the array.
#[inline]
pub fn step(shape: &[usize], at: [usize; 3], d: [i32; 3]) -> Option<[usize; 3]> {
    let mut out = [0usize; 3];
    for a in 0..3 {
        let v = at[a] as i64 + i64::from(d[a]);
        if v < 0 || v >= shape[a] as i64 {
            return None;
        }
        out[a] = v as usize;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_one_gives_the_thirteen_directions() {
        let a = angles(&[1]);
        assert_eq!(a.len(), 13);
        assert!(a.contains(&[0, 0, 1]) && a.contains(&[1, -1, -1]));
        assert!(!a.contains(&[0, 0, -1]));
        assert_eq!(angles(&[1, 2]).len(), 62);
    }
}
