//! PyRadiomics' GLSZM: zones of 26-connected voxels of one grey level (with
//! force2D, connected only within the planes). PyRadiomics needs only each
//! zone's level and size, so the zones are flooded here on the ROI's
//! [`Lattice`], without the distance to the edge that the IBSI zone pass
//! (`features::texture::zones`) also records.

use super::lattice::Lattice;
use super::roi::{Roi, texture_angles};
use super::texture::{LevelCounts, Summaries};
use crate::Result;

pub struct Glszm {
    summaries: Option<Summaries>,
}

/// (grey level, zone size) of every zone: voxels of one level connected
/// through `dirs` and their opposites, found by flooding in scan order.
fn zones_through(roi: &Roi, dirs: &[[i32; 3]]) -> Vec<(u32, u32)> {
    let lattice = roi.lattice(Lattice::reach_of(dirs));
    let offsets: Vec<isize> = dirs
        .iter()
        .flat_map(|&d| [lattice.offset(d), -lattice.offset(d)])
        .collect();
    // A voxel is cleared (level 0, as outside) once its zone holds it, so
    // one load tells both "same level" and "not yet taken"; the padding
    // (level 0) stops the flood at the box's edge.
    let mut open = lattice.levels.clone();
    let mut stack: Vec<usize> = Vec::new();
    let mut zones = Vec::new();
    for &seed in &lattice.voxels {
        let level = open[seed];
        if level == 0 {
            continue;
        }
        open[seed] = 0;
        stack.push(seed);
        let mut size = 0u32;
        while let Some(p) = stack.pop() {
            size += 1;
            for &off in &offsets {
                let q = p.wrapping_add_signed(off);
                if open[q] == level {
                    open[q] = 0;
                    stack.push(q);
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
        let all;
        let dirs = match in_plane {
            Some(dirs) => dirs,
            None => {
                all = texture_angles(&[1], None);
                &all
            }
        };
        let zones = LevelCounts::of_pairs(zones_through(roi, dirs));
        Ok(Glszm {
            summaries: zones.summaries(),
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
