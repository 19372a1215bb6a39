//! Imputation and standardisation, fitted on training rows and applied to
//! any rows. The fitted values travel with the model artifact.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::protocol::Imputation;

/// Per-column fill values and z-score parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    /// Replaces a missing (NaN) value.
    pub fill: Vec<f64>,
    /// Subtracted after filling (0 when not standardising).
    pub mean: Vec<f64>,
    /// Divides after centring (1 when not standardising or for a constant column).
    pub scale: Vec<f64>,
    /// Variance of each filled column on the training rows (for near-constant removal).
    pub variance: Vec<f64>,
}

impl Preprocessor {
    pub fn fit(x: ArrayView2<f64>, impute: Imputation, standardise: bool) -> Self {
        let p = x.ncols();
        let (mut fill, mut mean, mut scale, mut variance) = (
            Vec::with_capacity(p),
            Vec::with_capacity(p),
            Vec::with_capacity(p),
            Vec::with_capacity(p),
        );
        let mut present = Vec::with_capacity(x.nrows());
        for col in x.axis_iter(Axis(1)) {
            present.clear();
            present.extend(col.iter().copied().filter(|v| !v.is_nan()));
            let f = match impute {
                _ if present.is_empty() => 0.0,
                Imputation::Mean => present.iter().sum::<f64>() / present.len() as f64,
                Imputation::Median => median(&mut present),
            };
            let n = col.len() as f64;
            let m = col.iter().map(|&v| fill_value(v, f)).sum::<f64>() / n;
            // Population variance, as scikit-learn's StandardScaler.
            let var = col
                .iter()
                .map(|&v| (fill_value(v, f) - m).powi(2))
                .sum::<f64>()
                / n;
            fill.push(f);
            variance.push(var);
            if standardise {
                mean.push(m);
                scale.push(if var > 0.0 { var.sqrt() } else { 1.0 });
            } else {
                mean.push(0.0);
                scale.push(1.0);
            }
        }
        Preprocessor {
            fill,
            mean,
            scale,
            variance,
        }
    }

    /// Fills and scales the columns `columns` of `x` (indices into the
    /// fitted columns), giving a [rows, columns.len()] matrix.
    pub fn transform(&self, x: ArrayView2<f64>, columns: &[usize]) -> Array2<f64> {
        let mut out = Array2::zeros((x.nrows(), columns.len()));
        for (i, row) in x.axis_iter(Axis(0)).enumerate() {
            for (k, &j) in columns.iter().enumerate() {
                out[[i, k]] = (fill_value(row[j], self.fill[j]) - self.mean[j]) / self.scale[j];
            }
        }
        out
    }

    /// Keeps only the parameters of `columns`, in that order.
    pub fn subset(&self, columns: &[usize]) -> Preprocessor {
        let pick = |v: &Vec<f64>| columns.iter().map(|&j| v[j]).collect();
        Preprocessor {
            fill: pick(&self.fill),
            mean: pick(&self.mean),
            scale: pick(&self.scale),
            variance: pick(&self.variance),
        }
    }
}

fn fill_value(v: f64, fill: f64) -> f64 {
    if v.is_nan() { fill } else { v }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn imputes_median_then_standardises_with_training_values() {
        let x = array![[1.0, 5.0], [f64::NAN, 5.0], [3.0, 5.0], [10.0, 5.0]];
        let p = Preprocessor::fit(x.view(), Imputation::Median, true);
        assert_eq!(p.fill, vec![3.0, 5.0]);
        // Filled column 0: 1 3 3 10, mean 4.25, population variance 11.6875.
        assert!((p.mean[0] - 4.25).abs() < 1e-12);
        assert!((p.variance[0] - 11.6875).abs() < 1e-12);
        assert_eq!(p.scale[1], 1.0); // constant column is not divided by 0
        let t = p.transform(array![[f64::NAN, 7.0]].view(), &[0, 1]);
        assert!((t[[0, 0]] - (3.0 - 4.25) / 11.6875f64.sqrt()).abs() < 1e-12);
        assert_eq!(t[[0, 1]], 2.0);
    }
}
