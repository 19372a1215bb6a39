//! A protocol's steps fitted on training rows: preprocessing, selection and
//! the classifier, then applied unchanged to other rows.

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::models::{self, Classifier};
use super::preprocess::Preprocessor;
use super::protocol::Protocol;
use super::select::select;
use crate::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline {
    /// The columns (of the training table) the classifier uses, ascending.
    pub columns: Vec<usize>,
    /// Imputation and scaling of exactly those columns, in that order.
    pub preprocessor: Preprocessor,
    pub classifier: Classifier,
}

/// Fits every step on `x` / `y` only.
pub fn fit(
    x: ArrayView2<f64>,
    y: &[bool],
    protocol: &Protocol,
    seed: u64,
) -> Result<FittedPipeline> {
    let all: Vec<usize> = (0..x.ncols()).collect();
    let pre = Preprocessor::fit(x, protocol.impute, protocol.standardise);
    let prepared = pre.transform(x, &all);
    let columns = select(prepared.view(), y, &pre.variance, &protocol.selection)?;
    let train = prepared.select(Axis(1), &columns);
    let classifier = models::fit(&protocol.classifier, train.view(), y, seed)?;
    Ok(FittedPipeline {
        preprocessor: pre.subset(&columns),
        columns,
        classifier,
    })
}

impl FittedPipeline {
    /// Scores and probabilities of rows given in the training table's columns.
    pub fn predict(&self, x: ArrayView2<f64>) -> (Vec<f64>, Vec<f64>) {
        let picked = x.select(Axis(1), &self.columns);
        let identity: Vec<usize> = (0..self.columns.len()).collect();
        let prepared = self.preprocessor.transform(picked.view(), &identity);
        let scores: Vec<f64> = prepared
            .outer_iter()
            .map(|r| self.classifier.score(r))
            .collect();
        let probabilities = scores
            .iter()
            .map(|&s| self.classifier.probability(s))
            .collect();
        (scores, probabilities)
    }
}
