//! PyRadiomics' first-order features. Where they differ from IBSI:
//! kurtosis is m4/m2² (no −3); energy, total energy and RMS add
//! `voxelArrayShift` to every intensity first; entropy and uniformity read
//! PyRadiomics' binning; percentiles are numpy's linear interpolation.

use super::roi::Roi;

/// `numpy.percentile(x, q)` (linear interpolation) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = pos - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's lerp: from the nearer end, so that t = 1 gives b exactly.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The value of feature `name` (a name of [`super::names::FIRSTORDER`] or
/// `StandardDeviation`).
pub struct FirstOrder {
    x: Vec<f64>,
    sorted: Vec<f64>,
    mean: f64,
    /// Probabilities of the grey levels present.
    p: Vec<f64>,
    shift: f64,
    voxel_volume: f64,
}

impl FirstOrder {
    pub fn new(roi: &Roi, voxel_array_shift: i64) -> FirstOrder {
        let x = roi.voxels.clone();
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        let mut counts = vec![0u64; roi.n_levels as usize + 1];
        for &l in &roi.voxel_levels {
            counts[l as usize] += 1;
        }
        let n = x.len() as f64;
        let p = counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| c as f64 / n)
            .collect();
        let [sz, sy, sx] = roi.spacing_zyx;
        FirstOrder {
            mean: mean(&x),
            x,
            sorted,
            p,
            shift: voxel_array_shift as f64,
            voxel_volume: sz * sy * sx,
        }
    }

    fn moment(&self, k: i32) -> f64 {
        self.x.iter().map(|v| (v - self.mean).powi(k)).sum::<f64>() / self.x.len() as f64
    }

    fn energy(&self) -> f64 {
        self.x.iter().map(|v| (v + self.shift).powi(2)).sum()
    }

    pub fn value(&self, name: &str) -> Option<f64> {
        let eps = f64::EPSILON;
        Some(match name {
            "10Percentile" => percentile(&self.sorted, 10.0),
            "90Percentile" => percentile(&self.sorted, 90.0),
            "Energy" => self.energy(),
            "TotalEnergy" => self.energy() * self.voxel_volume,
            "Entropy" => -self.p.iter().map(|p| p * (p + eps).log2()).sum::<f64>(),
            "Uniformity" => self.p.iter().map(|p| p * p).sum(),
            "InterquartileRange" => percentile(&self.sorted, 75.0) - percentile(&self.sorted, 25.0),
            "Kurtosis" => {
                let m2 = self.moment(2);
                if m2 == 0.0 {
                    0.0
                } else {
                    self.moment(4) / (m2 * m2)
                }
            }
            "Skewness" => {
                let m2 = self.moment(2);
                if m2 == 0.0 {
                    0.0
                } else {
                    self.moment(3) / m2.powf(1.5)
                }
            }
            "Maximum" => *self.sorted.last()?,
            "Minimum" => self.sorted[0],
            "Range" => self.sorted.last()? - self.sorted[0],
            "Mean" => self.mean,
            "Median" => percentile(&self.sorted, 50.0),
            "MeanAbsoluteDeviation" => mean(
                &self
                    .x
                    .iter()
                    .map(|v| (v - self.mean).abs())
                    .collect::<Vec<_>>(),
            ),
            "RobustMeanAbsoluteDeviation" => {
                let (p10, p90) = (
                    percentile(&self.sorted, 10.0),
                    percentile(&self.sorted, 90.0),
                );
                let kept: Vec<f64> = self
                    .x
                    .iter()
                    .copied()
                    .filter(|&v| v >= p10 && v <= p90)
                    .collect();
                let m = mean(&kept);
                mean(&kept.iter().map(|v| (v - m).abs()).collect::<Vec<_>>())
            }
            "RootMeanSquared" => (self.energy() / self.x.len() as f64).sqrt(),
            "Variance" => self.moment(2),
            "StandardDeviation" => self.moment(2).sqrt(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_linearly_like_numpy() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&s, 50.0), 2.5);
        assert!((percentile(&s, 10.0) - 1.3).abs() < 1e-12);
        assert_eq!(percentile(&s, 100.0), 4.0);
    }
}
