//! PyRadiomics' GLDM and NGTDM: one visit of each ROI voxel's neighbours
//! (all offsets of Chebyshev length in `distances`, both directions) serves
//! both. GLDM: the dependence of a voxel is 1 + the neighbours in the mask
//! whose grey level differs by at most `gldm_a`. NGTDM: unlike IBSI, a voxel
//! without any neighbour in the mask still counts, with a difference of 0.

use super::lattice::Lattice;
use super::roi::Roi;
use super::texture::{LevelCounts, Summaries};

pub struct Neighbourhoods {
    dependence: Option<Summaries>,
    /// Per present grey level (increasing): (level, n_i, s_i).
    tones: Vec<(f64, f64, f64)>,
}

impl Neighbourhoods {
    /// `half`: one direction of each ± pair (in-plane ones with force2D).
    pub fn new(roi: &Roi, half: &[[i32; 3]], gldm_a: i64) -> Neighbourhoods {
        let lattice = roi.lattice(Lattice::reach_of(half));
        let offsets: Vec<isize> = half
            .iter()
            .flat_map(|&d| [lattice.offset(d), -lattice.offset(d)])
            .collect();
        let mut dependence: Vec<(u32, u32)> = Vec::with_capacity(lattice.voxels.len());
        let mut tone: Vec<(u64, f64)> = vec![(0, 0.0); roi.n_levels as usize + 1];
        for &idx in &lattice.voxels {
            let level = lattice.levels[idx];
            // The neighbours' levels are summed as integers: every partial
            // sum is an integer far below 2^53, so adding them one by one in
            // f64 would give this exact value too, without a chain of
            // dependent floating-point additions.
            let (mut dep, mut count, mut sum) = (0u32, 0u32, 0u64);
            for &off in &offsets {
                let other = lattice.at(idx, off);
                if other == 0 {
                    continue;
                }
                count += 1;
                sum += u64::from(other);
                if (i64::from(level) - i64::from(other)).abs() <= gldm_a {
                    dep += 1;
                }
            }
            let sum = sum as f64;
            dependence.push((level, dep + 1));
            let diff = if count == 0 {
                0.0
            } else {
                (f64::from(level) - sum / f64::from(count)).abs()
            };
            let slot = &mut tone[level as usize];
            slot.0 += 1;
            slot.1 += diff;
        }
        let tones = tone
            .iter()
            .enumerate()
            .filter(|(_, t)| t.0 > 0)
            .map(|(l, t)| (l as f64, t.0 as f64, t.1))
            .collect();
        Neighbourhoods {
            dependence: LevelCounts::of_pairs(dependence).summaries(),
            tones,
        }
    }

    pub fn gldm(&self, name: &str) -> Option<f64> {
        let s = self.dependence.as_ref()?;
        let n = s.n;
        Some(match name {
            "SmallDependenceEmphasis" => s.small / n,
            "LargeDependenceEmphasis" => s.large / n,
            "GrayLevelNonUniformity" => s.gln / n,
            "GrayLevelNonUniformityNormalized" => s.gln / (n * n),
            "DependenceNonUniformity" => s.jn / n,
            "DependenceNonUniformityNormalized" => s.jn / (n * n),
            "GrayLevelVariance" => s.gl_variance,
            "DependenceVariance" => s.j_variance,
            "DependenceEntropy" => s.entropy,
            "LowGrayLevelEmphasis" => s.low / n,
            "HighGrayLevelEmphasis" => s.high / n,
            "SmallDependenceLowGrayLevelEmphasis" => s.small_low / n,
            "SmallDependenceHighGrayLevelEmphasis" => s.small_high / n,
            "LargeDependenceLowGrayLevelEmphasis" => s.large_low / n,
            "LargeDependenceHighGrayLevelEmphasis" => s.large_high / n,
            _ => return None,
        })
    }

    pub fn ngtdm(&self, name: &str) -> Option<f64> {
        let t = &self.tones;
        let nvp: f64 = t.iter().map(|x| x.1).sum();
        let p: Vec<f64> = t.iter().map(|x| x.1 / nvp).collect();
        let s: Vec<f64> = t.iter().map(|x| x.2).collect();
        let i: Vec<f64> = t.iter().map(|x| x.0).collect();
        let ngp = t.len() as f64;
        let sum_s: f64 = s.iter().sum();
        let ps: f64 = p.iter().zip(&s).map(|(p, s)| p * s).sum();
        let pairs = || (0..t.len()).flat_map(|a| (0..t.len()).map(move |b| (a, b)));
        Some(match name {
            "Coarseness" => {
                if ps == 0.0 {
                    1e6
                } else {
                    1.0 / ps
                }
            }
            "Contrast" => {
                let div = ngp * (ngp - 1.0);
                if div == 0.0 {
                    0.0
                } else {
                    let sum: f64 = pairs()
                        .map(|(a, b)| p[a] * p[b] * (i[a] - i[b]).powi(2))
                        .sum();
                    sum * sum_s / nvp / div
                }
            }
            "Busyness" => {
                let absdiff: f64 = pairs()
                    .map(|(a, b)| (i[a] * p[a] - i[b] * p[b]).abs())
                    .sum();
                if absdiff == 0.0 { 0.0 } else { ps / absdiff }
            }
            "Complexity" => {
                pairs()
                    .map(|(a, b)| (i[a] - i[b]).abs() * (p[a] * s[a] + p[b] * s[b]) / (p[a] + p[b]))
                    .sum::<f64>()
                    / nvp
            }
            "Strength" => {
                if sum_s == 0.0 {
                    0.0
                } else {
                    pairs()
                        .map(|(a, b)| (p[a] + p[b]) * (i[a] - i[b]).powi(2))
                        .sum::<f64>()
                        / sum_s
                }
            }
            _ => return None,
        })
    }
}
