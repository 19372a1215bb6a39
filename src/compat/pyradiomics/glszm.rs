//! PyRadiomics' GLSZM: zones of 26-connected voxels of one grey level. The
//! zones are found by the IBSI zone pass (`features::texture::zones`), whose
//! 3D connectivity is the same.

use ndarray::Array3;

use super::roi::{Roi, step};
use super::texture::{LevelCounts, Summaries};
use crate::Result;
use crate::features::texture::grid::LevelGrid;
use crate::features::texture::zones::find_zones;
use crate::processing::Discretised;

pub struct Glszm {
    summaries: Option<Summaries>,
}

/// (grey level, zone size) of every zone: voxels of one level connected
/// through `dirs` and their opposites, found by flooding in scan order.
fn zones_through(roi: &Roi, dirs: &[[i32; 3]]) -> Vec<(u32, u32)> {
    let shape = roi.levels.shape();
    let mut seen = Array3::from_elem(roi.levels.raw_dim(), false);
    let mut stack: Vec<[usize; 3]> = Vec::new();
    let mut zones = Vec::new();
    for ((k, j, i), &level) in roi.levels.indexed_iter() {
        if level == 0 || seen[[k, j, i]] {
            continue;
        }
        seen[[k, j, i]] = true;
        stack.push([k, j, i]);
        let mut size = 0u32;
        while let Some(p) = stack.pop() {
            size += 1;
            for &d in dirs {
                for d in [d, d.map(|c| -c)] {
                    if let Some(q) = step(shape, p, d)
                        && roi.levels[q] == level
                        && !seen[q]
                    {
                        seen[q] = true;
                        stack.push(q);
                    }
                }
            }
        }
        zones.push((level, size));
    }
    zones
}

impl Glszm {
    /// Zones of 26-connected voxels, or with `in_plane` (force2D) of voxels
    /// connected through these in-plane directions and their opposites.
    pub fn new(roi: &Roi, in_plane: Option<&[[i32; 3]]>) -> Result<Glszm> {
        if let Some(dirs) = in_plane {
            let zones = LevelCounts::of_pairs(zones_through(roi, dirs));
            return Ok(Glszm {
                summaries: zones.summaries(),
            });
        }
        let discretised = Discretised {
            levels: roi.levels.clone(),
            n_levels: roi.n_levels,
            spacing: [roi.spacing_zyx[2], roi.spacing_zyx[1], roi.spacing_zyx[0]],
        };
        let grid = LevelGrid::new(&discretised, 1)?;
        let mask: Array3<bool> = roi.levels.mapv(|l| l > 0);
        let morph = grid.pad_mask(&mask)?;
        let voxels = grid.voxels();
        let zones = find_zones(&grid, &morph, &voxels, 0, grid.codes.len(), false);
        let mut keys: Vec<(u32, u32)> = zones.iter().map(|z| (z.level, z.size)).collect();
        keys.sort_unstable();
        let mut entries: Vec<(f64, f64, f64)> = Vec::new();
        for (level, size) in keys {
            let (i, j) = (grid.values[level as usize], f64::from(size));
            match entries.last_mut() {
                Some(last) if last.0 == i && last.1 == j => last.2 += 1.0,
                _ => entries.push((i, j, 1.0)),
            }
        }
        Ok(Glszm {
            summaries: LevelCounts { entries }.summaries(),
        })
    }

    pub fn value(&self, name: &str) -> Option<f64> {
        let s = self.summaries.as_ref()?;
        let n = s.n;
        Some(match name {
            "SmallAreaEmphasis" => s.small / n,
            "LargeAreaEmphasis" => s.large / n,
            "GrayLevelNonUniformity" => s.gln / n,
            "GrayLevelNonUniformityNormalized" => s.gln / (n * n),
            "SizeZoneNonUniformity" => s.jn / n,
            "SizeZoneNonUniformityNormalized" => s.jn / (n * n),
            "ZonePercentage" => n / s.n_voxels,
            "GrayLevelVariance" => s.gl_variance,
            "ZoneVariance" => s.j_variance,
            "ZoneEntropy" => s.entropy,
            "LowGrayLevelZoneEmphasis" => s.low / n,
            "HighGrayLevelZoneEmphasis" => s.high / n,
            "SmallAreaLowGrayLevelEmphasis" => s.small_low / n,
            "SmallAreaHighGrayLevelEmphasis" => s.small_high / n,
            "LargeAreaLowGrayLevelEmphasis" => s.large_low / n,
            "LargeAreaHighGrayLevelEmphasis" => s.large_high / n,
            _ => return None,
        })
    }
}
