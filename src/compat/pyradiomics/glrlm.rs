//! PyRadiomics' GLRLM: one run-length matrix per direction (the 13 of
//! distance 1 in 3D, whatever `distances` says), features per direction,
//! then their mean over the directions that have runs. PyRadiomics drops a
//! direction along which no line holds two ROI voxels (it takes the ROI to
//! be flat in that direction), so such a direction is left out here too.

use super::lattice::Lattice;
use super::roi::{Roi, step};
use super::texture::{LevelCounts, Summaries, nanmean};

/// Run-length matrix of one direction: runs are maximal lines of voxels of
/// one grey level inside the mask.
fn runs(lattice: &Lattice, d: [i32; 3]) -> LevelCounts {
    let off = lattice.offset(d);
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &idx in &lattice.voxels {
        let level = lattice.levels[idx];
        // Start a run only where the previous voxel does not continue it.
        if lattice.at(idx, -off) == level {
            continue;
        }
        // The padding (level 0) ends every run inside the array.
        let mut len = 1u32;
        let mut at = idx.wrapping_add_signed(off);
        while lattice.levels[at] == level {
            len += 1;
            at = at.wrapping_add_signed(off);
        }
        runs.push((level, len));
    }
    LevelCounts::of_pairs(runs)
}

/// Whether some line along `d` holds at least two ROI voxels (not
/// necessarily adjacent).
fn has_line_of_two(roi: &Roi, lattice: &Lattice, d: [i32; 3]) -> bool {
    // Two adjacent ROI voxels along `d` settle it at once (the usual case);
    // otherwise each line is followed to the array's edge.
    let off = lattice.offset(d);
    if lattice.voxels.iter().any(|&idx| lattice.at(idx, off) != 0) {
        return true;
    }
    let shape = roi.mask.shape();
    roi.mask.indexed_iter().any(|((k, j, i), &inside)| {
        if !inside {
            return false;
        }
        let mut at = [k, j, i];
        while let Some(n) = step(shape, at, d) {
            if roi.mask[n] {
                return true;
            }
            at = n;
        }
        false
    })
}

fn feature(s: &Summaries, name: &str) -> Option<f64> {
    let n = s.n;
    Some(match name {
        "ShortRunEmphasis" => s.small / n,
        "LongRunEmphasis" => s.large / n,
        "GrayLevelNonUniformity" => s.gln / n,
        "GrayLevelNonUniformityNormalized" => s.gln / (n * n),
        "RunLengthNonUniformity" => s.jn / n,
        "RunLengthNonUniformityNormalized" => s.jn / (n * n),
        "RunPercentage" => n / s.n_voxels,
        "GrayLevelVariance" => s.gl_variance,
        "RunVariance" => s.j_variance,
        "RunEntropy" => s.entropy,
        "LowGrayLevelRunEmphasis" => s.low / n,
        "HighGrayLevelRunEmphasis" => s.high / n,
        "ShortRunLowGrayLevelEmphasis" => s.small_low / n,
        "ShortRunHighGrayLevelEmphasis" => s.small_high / n,
        "LongRunLowGrayLevelEmphasis" => s.large_low / n,
        "LongRunHighGrayLevelEmphasis" => s.large_high / n,
        _ => return None,
    })
}

/// The per-direction summaries, computed once for all requested features.
pub struct Glrlm {
    per_angle: Vec<Summaries>,
}

impl Glrlm {
    /// `dirs`: the directions of distance 1 (in-plane ones with force2D).
    pub fn new(roi: &Roi, dirs: &[[i32; 3]]) -> Glrlm {
        let lattice = roi.lattice(1);
        let per_angle = dirs
            .iter()
            .copied()
            .filter(|&d| has_line_of_two(roi, &lattice, d))
            .filter_map(|d| runs(&lattice, d).summaries())
            .collect();
        Glrlm { per_angle }
    }

    pub fn value(&self, name: &str) -> Option<f64> {
        let values: Option<Vec<f64>> = self.per_angle.iter().map(|s| feature(s, name)).collect();
        Some(nanmean(values?))
    }
}
