//! A protocol's steps fitted on training rows: imputation, ComBat
//! harmonisation (optional), scaling, selection and the classifier, then
//! applied unchanged to other rows.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::combat::{Combat, CombatRows, CombatSpec};
use super::models::{self, Classifier};
use super::preprocess::Preprocessor;
use super::protocol::{Imputation, Protocol};
use super::select::select;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline {
    /// The columns (of the training table) the classifier uses, ascending.
    pub columns: Vec<usize>,
    /// ComBat of exactly those columns, when the protocol harmonises.
    /// Absent in models without it (and in older model files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harmonisation: Option<Harmonisation>,
    /// Imputation and scaling of exactly those columns, in that order.
    pub preprocessor: Preprocessor,
    pub classifier: Classifier,
}

/// ComBat and the fill values that precede it (ComBat cannot take a missing
/// value, so imputation comes first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Harmonisation {
    /// Replaces a missing value before ComBat, per column.
    pub fill: Vec<f64>,
    pub combat: Combat,
}

impl Harmonisation {
    /// Fills and harmonises `x` (columns as fitted).
    pub fn apply(&self, x: ArrayView2<f64>, rows: &CombatRows) -> Result<Array2<f64>> {
        let filled = fill(x, &self.fill);
        self.combat.apply(filled.view(), rows)
    }

    fn subset(&self, columns: &[usize]) -> Harmonisation {
        Harmonisation {
            fill: columns.iter().map(|&j| self.fill[j]).collect(),
            combat: self.combat.subset(columns),
        }
    }
}

fn fill(x: ArrayView2<f64>, values: &[f64]) -> Array2<f64> {
    let mut out = x.to_owned();
    for mut row in out.axis_iter_mut(Axis(0)) {
        for (v, &f) in row.iter_mut().zip(values) {
            if v.is_nan() {
                *v = f;
            }
        }
    }
    out
}

/// The batch (and covariates) of the rows, required when the protocol harmonises.
fn required(rows: Option<&CombatRows>) -> Result<&CombatRows> {
    rows.ok_or_else(|| {
        Error::data("the protocol harmonises with ComBat, but the rows come without their batch")
    })
}

/// Imputes (with `impute` fitted on `x`) and fits ComBat on the filled rows:
/// the harmonised rows and the fitted step.
pub fn harmonise(
    x: ArrayView2<f64>,
    rows: &CombatRows,
    spec: &CombatSpec,
    impute: Imputation,
) -> Result<(Array2<f64>, Harmonisation)> {
    let fill_values = Preprocessor::fit(x, impute, false).fill;
    let filled = fill(x, &fill_values);
    let combat = Combat::fit(filled.view(), rows, &spec.covariates, spec.options())?;
    let harmonised = combat.apply(filled.view(), rows)?;
    Ok((
        harmonised,
        Harmonisation {
            fill: fill_values,
            combat,
        },
    ))
}

/// Fits every step on `x` / `y` only; `rows` gives the batch and covariates
/// of the same rows (needed when the protocol has a `combat` step); `names`
/// the columns' feature names (a `stable` step keeps names).
pub fn fit(
    x: ArrayView2<f64>,
    y: &[bool],
    names: &[String],
    rows: Option<&CombatRows>,
    protocol: &Protocol,
    seed: u64,
) -> Result<FittedPipeline> {
    let all: Vec<usize> = (0..x.ncols()).collect();
    let (harmonised, harmonisation) = match &protocol.combat {
        None => (None, None),
        Some(spec) => {
            let (h, fitted) = harmonise(x, required(rows)?, spec, protocol.impute)?;
            (Some(h), Some(fitted))
        }
    };
    let x = match &harmonised {
        Some(h) => h.view(),
        None => x.view(),
    };
    let pre = Preprocessor::fit(x, protocol.impute, protocol.standardise);
    let prepared = pre.transform(x, &all);
    let columns = select(
        prepared.view(),
        y,
        &pre.variance,
        &protocol.selection,
        names,
    )?;
    let train = prepared.select(Axis(1), &columns);
    let classifier = models::fit(&protocol.classifier, train.view(), y, seed)?;
    Ok(FittedPipeline {
        preprocessor: pre.subset(&columns),
        harmonisation: harmonisation.map(|h| h.subset(&columns)),
        columns,
        classifier,
    })
}

impl FittedPipeline {
    /// Scores and probabilities of rows given in the training table's
    /// columns; `rows` their batches when the pipeline harmonises.
    pub fn predict(
        &self,
        x: ArrayView2<f64>,
        rows: Option<&CombatRows>,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let mut picked = x.select(Axis(1), &self.columns);
        if let Some(h) = &self.harmonisation {
            picked = h.apply(picked.view(), required(rows)?)?;
        }
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
        Ok((scores, probabilities))
    }
}
