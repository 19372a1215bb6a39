//! Classifiers behind one enum: fit from a [`ClassifierSpec`], score rows.
//! Scores rank cases (higher = more likely positive); `probability` maps a
//! score to [0, 1] for calibration and thresholds.

pub mod forest;
pub mod logistic;
pub mod svm;

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::protocol::ClassifierSpec;
use super::stats::sigmoid;
use crate::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Classifier {
    Svm {
        model: svm::SvmModel,
        /// Platt scaling (a, b): P = sigmoid(a + b * decision), fitted on the
        /// training decisions.
        platt: (f64, f64),
    },
    Logistic {
        model: logistic::LinearModel,
    },
    RandomForest {
        model: forest::Forest,
    },
}

/// Fits the classifier on training rows. `seed` drives the random forest.
pub fn fit(spec: &ClassifierSpec, x: ArrayView2<f64>, y: &[bool], seed: u64) -> Result<Classifier> {
    Ok(match *spec {
        ClassifierSpec::Svm { kernel, c, gamma } => {
            let model = svm::fit(x, y, kernel, c, gamma)?;
            let decisions: Vec<f64> = x.outer_iter().map(|r| model.decision(r)).collect();
            let platt = logistic::fit_1d(&decisions, &platt_targets(y), None);
            Classifier::Svm { model, platt }
        }
        ClassifierSpec::Logistic { penalty, c } => Classifier::Logistic {
            model: logistic::fit(x, y, penalty, c),
        },
        ClassifierSpec::RandomForest {
            trees,
            max_depth,
            min_samples_leaf,
            max_features,
        } => {
            let params = forest::ForestParams {
                trees,
                max_depth,
                min_samples_leaf,
                max_features,
            };
            Classifier::RandomForest {
                model: forest::fit(x, y, &params, seed),
            }
        }
    })
}

/// Platt's smoothed targets, which keep the fit finite on separable data.
fn platt_targets(y: &[bool]) -> Vec<f64> {
    let pos = y.iter().filter(|&&v| v).count() as f64;
    let neg = y.len() as f64 - pos;
    let (hi, lo) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
    y.iter().map(|&v| if v { hi } else { lo }).collect()
}

impl Classifier {
    /// The ranking score of one (preprocessed) row.
    pub fn score(&self, row: ArrayView1<f64>) -> f64 {
        match self {
            Classifier::Svm { model, .. } => model.decision(row),
            Classifier::Logistic { model } => model.decision(row),
            Classifier::RandomForest { model } => model.score(row),
        }
    }

    /// The probability of the positive class for a score.
    pub fn probability(&self, score: f64) -> f64 {
        match self {
            Classifier::Svm { platt: (a, b), .. } => sigmoid(a + b * score),
            Classifier::Logistic { .. } => sigmoid(score),
            Classifier::RandomForest { .. } => score,
        }
    }
}
