//! PyRadiomics' GLCM: one matrix per angle (offsets of Chebyshev length in
//! `distances`, one of each ± pair), made symmetric by adding its transpose
//! (`symmetricalGLCM`, default on), optionally merged with a distance
//! weighting (`weightingNorm`); features per angle, then their mean over the
//! angles with pairs. Rows and columns are the grey levels present; Idmn and
//! Idn normalise by Ng, the highest grey level.

use super::eigen::symmetric_eigenvalues;
use super::lattice::Lattice;
use super::params::WeightingNorm;
use super::roi::Roi;
use super::texture::nanmean;

/// One normalised matrix (dense over present levels) with its marginals
/// and the sums most features read, computed once for all of them.
struct Angle {
    p: Vec<f64>,
    n: usize,
    px: Vec<f64>,
    py: Vec<f64>,
    ux: f64,
    uy: f64,
    /// p_{x+y}(k) and p_{x−y}(k) over the grey-level values.
    sum_p: Vec<f64>,
    diff_p: Vec<f64>,
    /// Joint entropy.
    hxy: f64,
    diff_avg: f64,
}

pub struct Glcm {
    per_angle: Vec<Angle>,
    levels: Vec<f64>,
    ng: f64,
}

impl Glcm {
    pub fn new(
        roi: &Roi,
        dirs: &[[i32; 3]],
        symmetrical: bool,
        weighting: Option<WeightingNorm>,
    ) -> Glcm {
        let present = roi.present_levels();
        let dense = roi.dense_index();
        let n = present.len();
        // All directions counted in one pass over the ROI voxels (integer
        // counts, exact in f64 whatever the order).
        let lattice = roi.lattice(Lattice::reach_of(dirs));
        let offsets: Vec<isize> = dirs.iter().map(|&d| lattice.offset(d)).collect();
        let mut tallies: Vec<Vec<u32>> = vec![vec![0; n * n]; dirs.len()];
        for &idx in &lattice.voxels {
            let row = dense[lattice.levels[idx] as usize] as usize * n;
            for (m, &off) in tallies.iter_mut().zip(&offsets) {
                let other = lattice.at(idx, off);
                if other != 0 {
                    m[row + dense[other as usize] as usize] += 1;
                }
            }
        }
        let mut counts: Vec<Vec<f64>> = Vec::with_capacity(dirs.len());
        for tally in tallies {
            let mut m: Vec<f64> = tally.into_iter().map(f64::from).collect();
            if symmetrical {
                let t = m.clone();
                for a in 0..n {
                    for b in 0..n {
                        m[a * n + b] += t[b * n + a];
                    }
                }
            }
            counts.push(m);
        }
        if let Some(norm) = weighting {
            let sp = roi.spacing_zyx;
            let mut merged = vec![0.0; n * n];
            for (m, d) in counts.iter().zip(dirs) {
                let a: [f64; 3] = std::array::from_fn(|x| f64::from(d[x].abs()) * sp[x]);
                let w = match norm {
                    WeightingNorm::Infinity => {
                        (-a.iter().copied().fold(0.0, f64::max).powi(2)).exp()
                    }
                    WeightingNorm::Euclidean => (-a.iter().map(|v| v * v).sum::<f64>()).exp(),
                    WeightingNorm::Manhattan => (-a.iter().sum::<f64>().powi(2)).exp(),
                    WeightingNorm::NoWeighting => 1.0,
                };
                for (t, v) in merged.iter_mut().zip(m) {
                    *t += v * w;
                }
            }
            counts = vec![merged];
        }
        let levels: Vec<f64> = present.iter().map(|&l| f64::from(l)).collect();
        let ng = f64::from(roi.n_levels);
        let per_angle = counts
            .into_iter()
            .filter_map(|mut m| {
                let total: f64 = m.iter().sum();
                if total == 0.0 {
                    return None;
                }
                m.iter_mut().for_each(|v| *v /= total);
                Some(Angle::new(m, n, &levels, ng))
            })
            .collect();
        Glcm {
            per_angle,
            levels,
            ng,
        }
    }

    pub fn value(&self, name: &str) -> Option<f64> {
        let values: Option<Vec<f64>> = self
            .per_angle
            .iter()
            .map(|a| a.feature(name, &self.levels, self.ng))
            .collect();
        Some(nanmean(values?))
    }
}

impl Angle {
    fn new(p: Vec<f64>, n: usize, g: &[f64], ng: f64) -> Angle {
        let eps = f64::EPSILON;
        let px: Vec<f64> = (0..n).map(|a| (0..n).map(|b| p[a * n + b]).sum()).collect();
        let py: Vec<f64> = (0..n).map(|b| (0..n).map(|a| p[a * n + b]).sum()).collect();
        let ux: f64 = (0..n).map(|a| g[a] * px[a]).sum();
        let uy: f64 = (0..n).map(|b| g[b] * py[b]).sum();
        let ngi = ng as usize;
        let mut sum_p = vec![0.0; 2 * ngi + 1];
        let mut diff_p = vec![0.0; ngi];
        for a in 0..n {
            for b in 0..n {
                let v = p[a * n + b];
                sum_p[(g[a] + g[b]) as usize] += v;
                diff_p[(g[a] - g[b]).abs() as usize] += v;
            }
        }
        let hxy = -p.iter().map(|&v| v * (v + eps).log2()).sum::<f64>();
        let diff_avg: f64 = diff_p.iter().enumerate().map(|(k, v)| k as f64 * v).sum();
        Angle {
            p,
            n,
            px,
            py,
            ux,
            uy,
            sum_p,
            diff_p,
            hxy,
            diff_avg,
        }
    }

    fn feature(&self, name: &str, g: &[f64], ng: f64) -> Option<f64> {
        let n = self.n;
        let p = &self.p;
        let eps = f64::EPSILON;
        let (px, py, ux, uy) = (&self.px, &self.py, self.ux, self.uy);
        let (sum_p, diff_p) = (&self.sum_p, &self.diff_p);
        let (hxy, diff_avg) = (self.hxy, self.diff_avg);
        let cells = || (0..n).flat_map(|a| (0..n).map(move |b| (a, b, p[a * n + b])));
        let entropy = |q: &[f64]| -q.iter().map(|v| v * (v + eps).log2()).sum::<f64>();
        Some(match name {
            "Autocorrelation" => cells().map(|(a, b, v)| v * g[a] * g[b]).sum(),
            "JointAverage" => ux,
            "ClusterProminence" => cells()
                .map(|(a, b, v)| v * (g[a] + g[b] - ux - uy).powi(4))
                .sum(),
            "ClusterShade" => cells()
                .map(|(a, b, v)| v * (g[a] + g[b] - ux - uy).powi(3))
                .sum(),
            "ClusterTendency" => cells()
                .map(|(a, b, v)| v * (g[a] + g[b] - ux - uy).powi(2))
                .sum(),
            "Contrast" => cells().map(|(a, b, v)| v * (g[a] - g[b]).powi(2)).sum(),
            "Correlation" => {
                let sx = cells()
                    .map(|(a, _, v)| v * (g[a] - ux).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let sy = cells()
                    .map(|(_, b, v)| v * (g[b] - uy).powi(2))
                    .sum::<f64>()
                    .sqrt();
                if sx * sy == 0.0 {
                    1.0
                } else {
                    cells()
                        .map(|(a, b, v)| v * (g[a] - ux) * (g[b] - uy))
                        .sum::<f64>()
                        / (sx * sy + eps)
                }
            }
            "DifferenceAverage" => diff_avg,
            "DifferenceEntropy" => entropy(diff_p),
            "DifferenceVariance" => diff_p
                .iter()
                .enumerate()
                .map(|(k, v)| v * (k as f64 - diff_avg).powi(2))
                .sum(),
            "JointEnergy" => p.iter().map(|v| v * v).sum(),
            "JointEntropy" => hxy,
            "Imc1" => {
                let hx = entropy(px);
                let hy = entropy(py);
                let hxy1 = -cells()
                    .map(|(a, b, v)| v * (px[a] * py[b] + eps).log2())
                    .sum::<f64>();
                let div = hx.max(hy);
                if div == 0.0 { 0.0 } else { (hxy - hxy1) / div }
            }
            "Imc2" => {
                let hxy2 = -cells()
                    .map(|(a, b, _)| px[a] * py[b] * (px[a] * py[b] + eps).log2())
                    .sum::<f64>();
                if hxy2 == hxy {
                    0.0
                } else {
                    (1.0 - (-2.0 * (hxy2 - hxy)).exp()).sqrt()
                }
            }
            "Idm" => diff_p
                .iter()
                .enumerate()
                .map(|(k, v)| v / (1.0 + (k * k) as f64))
                .sum(),
            "Idmn" => diff_p
                .iter()
                .enumerate()
                .map(|(k, v)| v / (1.0 + (k * k) as f64 / (ng * ng)))
                .sum(),
            "Id" => diff_p
                .iter()
                .enumerate()
                .map(|(k, v)| v / (1.0 + k as f64))
                .sum(),
            "Idn" => diff_p
                .iter()
                .enumerate()
                .map(|(k, v)| v / (1.0 + k as f64 / ng))
                .sum(),
            "InverseVariance" => diff_p
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, v)| v / (k * k) as f64)
                .sum(),
            "MaximumProbability" => p.iter().copied().fold(0.0, f64::max),
            "SumAverage" => sum_p.iter().enumerate().map(|(k, v)| k as f64 * v).sum(),
            "SumEntropy" => entropy(sum_p),
            "SumSquares" => cells().map(|(a, _, v)| v * (g[a] - ux).powi(2)).sum(),
            "MCC" => mcc(p, px, py, n),
            _ => return None,
        })
    }
}

/// Maximal correlation coefficient: the square root of the second largest
/// eigenvalue of Q(i, j) = Σ_k p(i,k) p(j,k) / (p_x(i) p_y(k) + ε), ε as
/// PyRadiomics adds it. Without ε, Q = D⁻¹S with D = diag(p_x) and S
/// symmetric, so its eigenvalues are those of the symmetric D^-½ S D^-½,
/// which is B(i, j) = Q(i, j) √(p_x(i)/p_x(j)); with ε, B is symmetrised by
/// averaging (a change far below the tolerance). Rows with p_x = 0 are zero
/// in Q and add zero eigenvalues.
fn mcc(p: &[f64], px: &[f64], py: &[f64], n: usize) -> f64 {
    if n < 2 {
        return 1.0;
    }
    let eps = f64::EPSILON;
    let rows: Vec<usize> = (0..n).filter(|&a| px[a] > 0.0).collect();
    let m = rows.len();
    // Q is a sum over the columns k of the outer product of column k with
    // itself: only the non-zero cells of each column contribute, so a sparse
    // GLCM (many levels, few voxels) costs Σ_k nnz_k² instead of m²n. The
    // terms of each Q(i, j) are added in increasing k, as a dense sum would.
    let mut q = vec![0.0; m * m];
    let mut column: Vec<(usize, f64)> = Vec::with_capacity(m);
    for k in 0..n {
        column.clear();
        column.extend(
            rows.iter()
                .enumerate()
                .filter(|&(_, &a)| p[a * n + k] != 0.0)
                .map(|(x, &a)| (x, p[a * n + k])),
        );
        for &(x, pa) in &column {
            let div = px[rows[x]] * py[k] + eps;
            let row = &mut q[x * m..(x + 1) * m];
            for &(y, pc) in &column {
                row[y] += pa * pc / div;
            }
        }
    }
    let mut b = q;
    for (x, &a) in rows.iter().enumerate() {
        for (y, &c) in rows.iter().enumerate() {
            b[x * m + y] *= (px[a] / px[c]).sqrt();
        }
    }
    for x in 0..m {
        for y in 0..x {
            let v = 0.5 * (b[x * m + y] + b[y * m + x]);
            b[x * m + y] = v;
            b[y * m + x] = v;
        }
    }
    let mut eig = symmetric_eigenvalues(b, m);
    eig.extend(std::iter::repeat_n(0.0, n - m));
    eig.sort_by(f64::total_cmp);
    eig[eig.len() - 2].sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marginals(p: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
        let px = (0..n).map(|a| (0..n).map(|b| p[a * n + b]).sum()).collect();
        let py = (0..n).map(|b| (0..n).map(|a| p[a * n + b]).sum()).collect();
        (px, py)
    }

    #[test]
    fn mcc_of_two_levels_is_the_absolute_correlation() {
        // Levels 0 and 1: E[xy] = 0.4, means 0.5, variances 0.25, so the
        // correlation (the only non-trivial one for two values) is 0.6.
        let p = [0.4, 0.1, 0.1, 0.4];
        let (px, py) = marginals(&p, 2);
        assert!((mcc(&p, &px, &py, 2) - 0.6).abs() < 1e-12);
    }

    #[test]
    fn mcc_is_one_when_the_levels_split_into_unrelated_groups() {
        // Levels {0, 1} only neighbour each other, as do {2, 3}: a function
        // of the level (its group) is perfectly correlated across the pair.
        let p = [
            0.1, 0.15, 0.0, 0.0, //
            0.15, 0.1, 0.0, 0.0, //
            0.0, 0.0, 0.2, 0.05, //
            0.0, 0.0, 0.05, 0.2,
        ];
        let (px, py) = marginals(&p, 4);
        assert!((mcc(&p, &px, &py, 4) - 1.0).abs() < 1e-7);
        // A level absent from the matrix (row and column zero) adds a zero
        // eigenvalue and changes nothing.
        let mut q = vec![0.0; 25];
        for a in 0..4 {
            for b in 0..4 {
                q[a * 5 + b] = p[a * 4 + b];
            }
        }
        let (qx, qy) = marginals(&q, 5);
        assert!((mcc(&q, &qx, &qy, 5) - mcc(&p, &px, &py, 4)).abs() < 1e-15);
    }
}
