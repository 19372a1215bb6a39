//! Support vector classifier: trained with linfa-svm's SMO solver, then kept
//! in our own serialisable form (support vectors and their signed weights),
//! whose decision function is the same as linfa's.

use linfa::prelude::*;
use linfa_svm::Svm;
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::learn::protocol::SvmKernel;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvmModel {
    pub kernel: SvmKernel,
    /// RBF: K(x, x') = exp(-gamma |x - x'|^2).
    pub gamma: f64,
    /// One row per support vector (RBF only).
    pub support_vectors: Vec<Vec<f64>>,
    /// alpha_i * y_i of each support vector (RBF only).
    pub coefficients: Vec<f64>,
    /// Linear kernel: the combined weight vector.
    pub weights: Vec<f64>,
    pub rho: f64,
}

/// Solver stopping tolerance: libsvm's default, ample for ranking.
const EPS: f64 = 1e-3;

/// scikit-learn's gamma = "scale": 1 / (p * var(X)).
pub fn default_gamma(x: ArrayView2<f64>) -> f64 {
    let n = x.len() as f64;
    let mean = x.sum() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    if var > 0.0 {
        1.0 / (x.ncols() as f64 * var)
    } else {
        1.0
    }
}

pub fn fit(
    x: ArrayView2<f64>,
    y: &[bool],
    kernel: SvmKernel,
    c: f64,
    gamma: Option<f64>,
) -> Result<SvmModel> {
    let gamma = gamma.unwrap_or_else(|| default_gamma(x));
    // No shrinking: linfa-svm 0.8.1's do_shrinking can underflow its active
    // set counter (solver_smo.rs:655) on noise data.
    let params = Svm::<f64, bool>::params()
        .pos_neg_weights(c, c)
        .eps(EPS)
        .shrinking(false);
    let params = match kernel {
        // linfa's Gaussian kernel is exp(-|x - x'|^2 / eps).
        SvmKernel::Rbf => params.gaussian_kernel(1.0 / gamma),
        SvmKernel::Linear => params.linear_kernel(),
    };
    let dataset = Dataset::new(x.to_owned(), Array1::from(y.to_vec()));
    let svm = params
        .fit(&dataset)
        .map_err(|e| Error::data(format!("SVM training failed: {e}")))?;
    // linfa keeps as support vectors the rows whose |alpha| exceeds this.
    let threshold = 100.0 * f64::EPSILON;
    let mut model = SvmModel {
        kernel,
        gamma,
        support_vectors: Vec::new(),
        coefficients: Vec::new(),
        weights: Vec::new(),
        rho: svm.rho,
    };
    match kernel {
        SvmKernel::Rbf => {
            for (row, &a) in x.axis_iter(Axis(0)).zip(&svm.alpha) {
                if a.abs() > threshold {
                    model.support_vectors.push(row.to_vec());
                    model.coefficients.push(a);
                }
            }
        }
        SvmKernel::Linear => {
            let mut w = vec![0.0; x.ncols()];
            for (row, &a) in x.axis_iter(Axis(0)).zip(&svm.alpha) {
                for (wj, xj) in w.iter_mut().zip(row) {
                    *wj += a * xj;
                }
            }
            model.weights = w;
        }
    }
    Ok(model)
}

impl SvmModel {
    /// Signed distance-like score; positive means the positive class.
    pub fn decision(&self, row: ArrayView1<f64>) -> f64 {
        let sum: f64 = match self.kernel {
            SvmKernel::Linear => row.iter().zip(&self.weights).map(|(x, w)| x * w).sum(),
            SvmKernel::Rbf => self
                .support_vectors
                .iter()
                .zip(&self.coefficients)
                .map(|(sv, a)| {
                    let d2: f64 = sv.iter().zip(row).map(|(s, x)| (s - x) * (s - x)).sum();
                    a * (-self.gamma * d2).exp()
                })
                .sum(),
        };
        sum - self.rho
    }
}

/// For tests: linfa's own decision values on `x`.
#[cfg(test)]
fn linfa_decisions(x: ArrayView2<f64>, y: &[bool], kernel: SvmKernel, gamma: f64) -> Vec<f64> {
    let params = Svm::<f64, bool>::params().eps(EPS).shrinking(false);
    let params = match kernel {
        SvmKernel::Rbf => params.gaussian_kernel(1.0 / gamma),
        SvmKernel::Linear => params.linear_kernel(),
    };
    let svm = params
        .fit(&Dataset::new(x.to_owned(), Array1::from(y.to_vec())))
        .unwrap();
    x.outer_iter()
        .map(|r| svm.weighted_sum(&r) - svm.rho)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn our_decision_function_equals_linfa() {
        let x = array![
            [0.0, 0.1],
            [0.2, 0.9],
            [1.0, 1.1],
            [0.9, 0.2],
            [0.1, 0.5],
            [1.2, 0.8],
            [0.5, 0.4],
            [0.7, 1.0]
        ];
        let y = [false, false, true, true, false, true, false, true];
        for kernel in [SvmKernel::Rbf, SvmKernel::Linear] {
            let m = fit(x.view(), &y, kernel, 1.0, Some(0.7)).unwrap();
            let reference = linfa_decisions(x.view(), &y, kernel, 0.7);
            for (row, r) in x.outer_iter().zip(reference) {
                assert!((m.decision(row) - r).abs() < 1e-9, "{kernel:?}");
            }
            // Separable along x0: the training points are ranked correctly.
            let d: Vec<f64> = x.outer_iter().map(|r| m.decision(r)).collect();
            assert!(d[2] > d[0] && d[5] > d[4]);
        }
    }
}
