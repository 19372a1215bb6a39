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
        self.intercept
            + row
                .iter()
                .zip(&self.weights)
                .map(|(x, w)| x * w)
                .sum::<f64>()
    }
}

const MAX_ITER: usize = 20_000;
const TOL: f64 = 1e-7;

/// Up to this many features an L2 fit uses Newton's method (p^2 memory,
/// a few iterations); above, or for L1, proximal gradient.
const NEWTON_MAX_FEATURES: usize = 300;

pub fn fit(x: ArrayView2<f64>, y: &[bool], penalty: Penalty, c: f64) -> LinearModel {
    let (n, p) = x.dim();
    // Divide the objective by C*n: mean log-loss + lambda * penalty.
    let lambda = 1.0 / (c * n as f64);
    if penalty == Penalty::L2 && p <= NEWTON_MAX_FEATURES {
        return fit_l2_newton(x, y, lambda);
    }
    let lipschitz =
        0.25 * max_eigen_gram(x) / n as f64 + if penalty == Penalty::L2 { lambda } else { 0.0 };
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
        let uphill: f64 = (0..=p)
            .map(|j| (z[j] - theta[j]) * (theta[j] - prev[j]))
            .sum();
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

/// Mean log-loss + lambda/2 |w|^2 at theta = (w, b).
fn l2_objective(x: ArrayView2<f64>, target: &[f64], theta: &[f64], lambda: f64) -> f64 {
    let p = x.ncols();
    let mut total = 0.0;
    for (i, row) in x.outer_iter().enumerate() {
        let eta = theta[p] + (0..p).map(|j| row[j] * theta[j]).sum::<f64>();
        total += eta.max(0.0) + (-eta.abs()).exp().ln_1p() - target[i] * eta;
    }
    total / x.nrows() as f64 + 0.5 * lambda * theta[..p].iter().map(|w| w * w).sum::<f64>()
}

/// Damped Newton iterations on the L2-penalised objective.
fn fit_l2_newton(x: ArrayView2<f64>, y: &[bool], lambda: f64) -> LinearModel {
    let (n, p) = x.dim();
    let m = p + 1;
    let target: Vec<f64> = y.iter().map(|&v| v as u8 as f64).collect();
    let mut theta = vec![0.0; m];
    let mut current = l2_objective(x, &target, &theta, lambda);
    let mut grad = vec![0.0; m];
    let mut hess = vec![0.0; m * m];
    let mut row_a = vec![0.0; m];
    for _ in 0..100 {
        grad.iter_mut().for_each(|g| *g = 0.0);
        hess.iter_mut().for_each(|h| *h = 0.0);
        for (i, row) in x.outer_iter().enumerate() {
            row_a[..p].iter_mut().zip(row).for_each(|(a, v)| *a = *v);
            row_a[p] = 1.0;
            let eta: f64 = row_a.iter().zip(&theta).map(|(a, t)| a * t).sum();
            let pr = sigmoid(eta);
            let (r, w) = ((pr - target[i]) / n as f64, pr * (1.0 - pr) / n as f64);
            for a in 0..m {
                grad[a] += r * row_a[a];
                let wa = w * row_a[a];
                for b in 0..=a {
                    hess[a * m + b] += wa * row_a[b];
                }
            }
        }
        for a in 0..p {
            grad[a] += lambda * theta[a];
            hess[a * m + a] += lambda;
        }
        hess[p * m + p] += 1e-12;
        let Some(step) = cholesky_solve(&mut hess, &grad, m) else {
            break;
        };
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            let trial: Vec<f64> = theta
                .iter()
                .zip(&step)
                .map(|(t, d)| t - scale * d)
                .collect();
            let value = l2_objective(x, &target, &trial, lambda);
            if value <= current {
                let gain = current - value;
                theta = trial;
                current = value;
                accepted = gain > 1e-15 * current.max(1e-300);
                break;
            }
            scale /= 2.0;
        }
        let size = step.iter().fold(0.0f64, |a, d| a.max(d.abs())) * scale;
        if !accepted || size < 1e-10 {
            break;
        }
    }
    LinearModel {
        weights: theta[..p].to_vec(),
        intercept: theta[p],
    }
}

/// Solves A d = g for a symmetric positive definite A given by its lower
/// triangle (row-major, overwritten by the Cholesky factor).
fn cholesky_solve(a: &mut [f64], g: &[f64], m: usize) -> Option<Vec<f64>> {
    for j in 0..m {
        let mut d = a[j * m + j];
        for k in 0..j {
            d -= a[j * m + k] * a[j * m + k];
        }
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        a[j * m + j] = d;
        for i in j + 1..m {
            let mut s = a[i * m + j];
            for k in 0..j {
                s -= a[i * m + k] * a[j * m + k];
            }
            a[i * m + j] = s / d;
        }
    }
    let mut z = g.to_vec();
    for i in 0..m {
        for k in 0..i {
            z[i] -= a[i * m + k] * z[k];
        }
        z[i] /= a[i * m + i];
    }
    for i in (0..m).rev() {
        for k in i + 1..m {
            z[i] -= a[k * m + i] * z[k];
        }
        z[i] /= a[i * m + i];
    }
    Some(z)
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
    fn l2_newton_solution_is_a_minimum() {
        let x = ndarray::Array2::from_shape_fn((30, 3), |(i, j)| {
            ((i * (j + 3) * 7) % 13) as f64 / 6.0 - 1.0
        });
        let y: Vec<bool> = (0..30).map(|i| (i * 5) % 7 < 3).collect();
        let newton = fit(x.view(), &y, Penalty::L2, 0.7);
        let lambda = 1.0 / (0.7 * 30.0);
        let target: Vec<f64> = y.iter().map(|&v| v as u8 as f64).collect();
        let mut theta = newton.weights.clone();
        theta.push(newton.intercept);
        // Perturbing the solution only raises the objective.
        let best = l2_objective(x.view(), &target, &theta, lambda);
        for j in 0..4 {
            for delta in [-1e-4, 1e-4] {
                let mut t = theta.clone();
                t[j] += delta;
                assert!(l2_objective(x.view(), &target, &t, lambda) > best);
            }
        }
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
