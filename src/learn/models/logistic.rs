//! Penalised logistic regression (L2 or L1), solved by accelerated proximal
//! gradient (FISTA with adaptive restart), deterministic and allocation-free
//! per iteration. Parametrised as scikit-learn: minimise
//! C * sum(log-loss) + penalty(w), with an unpenalised intercept.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::learn::protocol::Penalty;
use crate::learn::stats::sigmoid;

/// A linear decision function w·x + b.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub weights: Vec<f64>,
    pub intercept: f64,
}

impl LinearModel {
    pub fn decision(&self, row: ArrayView1<f64>) -> f64 {
        self.intercept + row.iter().zip(&self.weights).map(|(x, w)| x * w).sum::<f64>()
    }
}

const MAX_ITER: usize = 20_000;
const TOL: f64 = 1e-7;

pub fn fit(x: ArrayView2<f64>, y: &[bool], penalty: Penalty, c: f64) -> LinearModel {
    let (n, p) = x.dim();
    // Divide the objective by C*n: mean log-loss + lambda * penalty.
    let lambda = 1.0 / (c * n as f64);
    let lipschitz = 0.25 * max_eigen_gram(x) / n as f64
        + if penalty == Penalty::L2 { lambda } else { 0.0 };
    let step = 1.0 / lipschitz;
    let target: Vec<f64> = y.iter().map(|&v| v as u8 as f64).collect();

    // theta = (w, b); z is the extrapolated point.
    let mut theta = Array1::<f64>::zeros(p + 1);
    let mut prev = theta.clone();
    let mut z = theta.clone();
    let mut grad = Array1::<f64>::zeros(p + 1);
    let mut t = 1.0f64;
    for _ in 0..MAX_ITER {
        gradient(x, &target, z.view(), &mut grad);
        if penalty == Penalty::L2 {
            for j in 0..p {
                grad[j] += lambda * z[j];
            }
        }
        prev.assign(&theta);
        for j in 0..=p {
            theta[j] = z[j] - step * grad[j];
        }
        if penalty == Penalty::L1 {
            let thr = step * lambda;
            for j in 0..p {
                theta[j] = theta[j].signum() * (theta[j].abs() - thr).max(0.0);
            }
        }
        // Restart the momentum when it points uphill (O'Donoghue & Candes).
        let uphill: f64 = (0..=p).map(|j| (z[j] - theta[j]) * (theta[j] - prev[j])).sum();
        if uphill > 0.0 {
            t = 1.0;
        }
        let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
        let momentum = (t - 1.0) / t_next;
        t = t_next;
        let mut change = 0.0f64;
        let mut size = 1.0f64;
        for j in 0..=p {
            let d = theta[j] - prev[j];
            change = change.max(d.abs());
            size = size.max(theta[j].abs());
            z[j] = theta[j] + momentum * d;
        }
        if change < TOL * size {
            break;
        }
    }
    LinearModel {
        weights: theta.iter().take(p).copied().collect(),
        intercept: theta[p],
    }
}

/// Gradient of the mean log-loss at theta = (w, b).
fn gradient(x: ArrayView2<f64>, target: &[f64], theta: ArrayView1<f64>, grad: &mut Array1<f64>) {
    let (n, p) = x.dim();
    grad.fill(0.0);
    for (i, row) in x.outer_iter().enumerate() {
        let mut eta = theta[p];
        for j in 0..p {
            eta += row[j] * theta[j];
        }
        let r = (sigmoid(eta) - target[i]) / n as f64;
        for j in 0..p {
            grad[j] += r * row[j];
        }
        grad[p] += r;
    }
}

/// Largest eigenvalue of [X 1]^T [X 1] by power iteration, with a margin
/// because power iteration approaches it from below.
fn max_eigen_gram(x: ArrayView2<f64>) -> f64 {
    let (n, p) = x.dim();
    let mut v = Array1::<f64>::from_elem(p + 1, 1.0 / ((p + 1) as f64).sqrt());
    let mut xv = vec![0.0; n];
    let mut estimate = 1.0;
    for _ in 0..50 {
        for (i, row) in x.outer_iter().enumerate() {
            xv[i] = v[p] + (0..p).map(|j| row[j] * v[j]).sum::<f64>();
        }
        let mut next = Array1::<f64>::zeros(p + 1);
        for (i, row) in x.outer_iter().enumerate() {
            for j in 0..p {
                next[j] += row[j] * xv[i];
            }
            next[p] += xv[i];
        }
        let norm = next.dot(&next).sqrt();
        if norm == 0.0 {
            return 1.0;
        }
        estimate = norm;
        v = next / norm;
    }
    estimate * 1.1
}

/// One-variable logistic regression y ~ a + b*s by Newton's method.
/// `targets` may be smoothed (Platt) or 0/1. Returns (a, b).
pub fn fit_1d(s: &[f64], targets: &[f64], slope_fixed: Option<f64>) -> (f64, f64) {
    let loss = |a: f64, b: f64| -> f64 {
        s.iter()
            .zip(targets)
            .map(|(&x, &t)| {
                let eta = a + b * x;
                // log(1 + e^eta) - t*eta, computed stably.
                eta.max(0.0) + (-eta.abs()).exp().ln_1p() - t * eta
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, slope_fixed.unwrap_or(0.0));
    let mut current = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &t) in s.iter().zip(targets) {
            let pr = sigmoid(a + b * x);
            let w = pr * (1.0 - pr);
            ga += pr - t;
            gb += (pr - t) * x;
            haa += w;
            hab += w * x;
            hbb += w * x * x;
        }
        let (da, db) = if slope_fixed.is_some() {
            (ga / haa.max(1e-12), 0.0)
        } else {
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-300 {
                break;
            }
            ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det)
        };
        let mut scale = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            let (na, nb) = (a - scale * da, b - scale * db);
            let l = loss(na, nb);
            if l.is_finite() && l <= current {
                improved = current - l > 1e-12 * current.abs().max(1.0);
                a = na;
                b = nb;
                current = l;
                break;
            }
            scale /= 2.0;
        }
        if !improved {
            break;
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn l2_fit_matches_optimality_conditions() {
        let x = array![[0.0], [1.0], [2.0], [3.0], [1.5], [2.5]];
        let y = [false, false, true, true, false, true];
        let m = fit(x.view(), &y, Penalty::L2, 1.0);
        // Stationarity of C*sum(loss) + w^2/2: C*sum((p - y) x) + w = 0 and sum(p - y) = 0.
        let (mut gw, mut gb) = (0.0, 0.0);
        for (i, row) in x.outer_iter().enumerate() {
            let r = sigmoid(m.decision(row)) - y[i] as u8 as f64;
            gw += r * row[0];
            gb += r;
        }
        assert!((gw + m.weights[0]).abs() < 1e-5, "{gw} {m:?}");
        assert!(gb.abs() < 1e-5);
        assert!(m.weights[0] > 0.0);
    }

    #[test]
    fn l1_zeroes_an_irrelevant_feature() {
        let x = array![
            [0.0, 0.3],
            [1.0, -0.2],
            [2.0, 0.1],
            [3.0, 0.0],
            [1.5, -0.1],
            [2.5, 0.2]
        ];
        let y = [false, false, true, true, false, true];
        let m = fit(x.view(), &y, Penalty::L1, 0.5);
        assert!(m.weights[0] > 0.0);
        assert_eq!(m.weights[1], 0.0);
    }

    #[test]
    fn one_dimensional_fit_recovers_known_coefficients() {
        // Targets equal to sigmoid(1 + 2s): the exact solution is (1, 2).
        let s: Vec<f64> = (-10..=10).map(|i| i as f64 / 5.0).collect();
        let t: Vec<f64> = s.iter().map(|&v| sigmoid(1.0 + 2.0 * v)).collect();
        let (a, b) = fit_1d(&s, &t, None);
        assert!((a - 1.0).abs() < 1e-6 && (b - 2.0).abs() < 1e-6, "{a} {b}");
        let (a1, _) = fit_1d(&s, &t, Some(2.0));
        assert!((a1 - 1.0).abs() < 1e-6);
    }
}
