//! PyRadiomics' first-order features. Where they differ from IBSI:
//! kurtosis is m4/m2² (no −3); energy, total energy and RMS add
//! `voxelArrayShift` to every intensity first; entropy and uniformity read
//! PyRadiomics' binning; percentiles are numpy's linear interpolation.

use std::collections::BTreeMap;

use super::roi::Roi;

/// The percentiles the features read.
const PERCENTILES: [f64; 5] = [10.0, 25.0, 50.0, 75.0, 90.0];

/// The two ranks `numpy.percentile(x, q)` interpolates between, in `n` values.
fn ranks(n: usize, q: f64) -> (usize, usize, f64) {
    let pos = q / 100.0 * (n - 1) as f64;
    let lo = pos.floor() as usize;
    (lo, (lo + 1).min(n - 1), pos - lo as f64)
}

/// `numpy.percentile(x, q)` (linear interpolation) of sorted values.
#[cfg(test)]
fn percentile(sorted: &[f64], q: f64) -> f64 {
    percentile_of(sorted.len(), q, |r| sorted[r])
}

/// `numpy.percentile(x, q)` of `n` values whose value of rank `r` (in
/// increasing order) is `at(r)`.
fn percentile_of(n: usize, q: f64, at: impl Fn(usize) -> f64) -> f64 {
    let (lo, hi, t) = ranks(n, q);
    let (a, b) = (at(lo), at(hi));
    // numpy's lerp: from the nearer end, so that t = 1 gives b exactly.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// The values at the ranks [`FirstOrder`] reads (first, last, and those
/// the [`PERCENTILES`] interpolate between), found by successive selections
/// rather than a full sort: under `total_cmp`, a total order, the value of
/// a rank is the same either way.
fn ranked_values(x: &[f64]) -> BTreeMap<usize, f64> {
    let n = x.len();
    let mut out = BTreeMap::new();
    if n == 0 {
        return out;
    }
    let mut wanted: Vec<usize> = vec![0, n - 1];
    for q in PERCENTILES {
        let (lo, hi, _) = ranks(n, q);
        wanted.extend([lo, hi]);
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut v = x.to_vec();
    // Each selection leaves every value of a lower rank before `start`.
    let mut start = 0;
    for r in wanted {
        let (_, value, _) = v[start..].select_nth_unstable_by(r - start, f64::total_cmp);
        out.insert(r, *value);
        start = r + 1;
    }
    out
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The value of feature `name` (a name of [`super::names::FIRSTORDER`] or
/// `StandardDeviation`).
pub struct FirstOrder {
    x: Vec<f64>,
    /// The values of the ranks the features read (the extremes and the
    /// percentiles' neighbours), as a full sort would place them.
    ranked: BTreeMap<usize, f64>,
    mean: f64,
    /// Probabilities of the grey levels present.
    p: Vec<f64>,
    shift: f64,
    voxel_volume: f64,
}

impl FirstOrder {
    pub fn new(roi: &Roi, voxel_array_shift: i64) -> FirstOrder {
        let x = roi.voxels.clone();
        let ranked = ranked_values(&x);
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
            ranked,
            p,
            shift: voxel_array_shift as f64,
            voxel_volume: sz * sy * sx,
        }
    }

    fn percentile(&self, q: f64) -> f64 {
        percentile_of(self.x.len(), q, |r| self.ranked[&r])
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
            "10Percentile" => self.percentile(10.0),
            "90Percentile" => self.percentile(90.0),
            "Energy" => self.energy(),
            "TotalEnergy" => self.energy() * self.voxel_volume,
            "Entropy" => -self.p.iter().map(|p| p * (p + eps).log2()).sum::<f64>(),
            "Uniformity" => self.p.iter().map(|p| p * p).sum(),
            "InterquartileRange" => self.percentile(75.0) - self.percentile(25.0),
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
            "Maximum" => *self.ranked.last_key_value()?.1,
            "Minimum" => *self.ranked.first_key_value()?.1,
            "Range" => self.ranked.last_key_value()?.1 - self.ranked.first_key_value()?.1,
            "Mean" => self.mean,
            "Median" => self.percentile(50.0),
            "MeanAbsoluteDeviation" => mean(
                &self
                    .x
                    .iter()
                    .map(|v| (v - self.mean).abs())
                    .collect::<Vec<_>>(),
            ),
            "RobustMeanAbsoluteDeviation" => {
                let (p10, p90) = (self.percentile(10.0), self.percentile(90.0));
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

    #[test]
    fn selected_ranks_are_those_of_a_full_sort() {
        for n in [1usize, 2, 3, 7, 10, 101, 1000] {
            let x: Vec<f64> = (0..n)
                .map(|k| ((k * 7919 % 97) as f64 - 40.0) / 3.0)
                .collect();
            let mut sorted = x.clone();
            sorted.sort_by(f64::total_cmp);
            let ranked = ranked_values(&x);
            assert_eq!(ranked[&0], sorted[0]);
            assert_eq!(ranked[&(n - 1)], sorted[n - 1]);
            for q in PERCENTILES {
                let fast = percentile_of(n, q, |r| ranked[&r]);
                assert_eq!(
                    fast.to_bits(),
                    percentile(&sorted, q).to_bits(),
                    "n {n} q {q}"
                );
            }
        }
    }
}
