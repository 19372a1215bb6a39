//! Cross-validated evaluation of a protocol: every fitted step inside each
//! training fold, optional nested search, per-fold and pooled metrics.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::combat::CombatRows;
use super::cv::{Split, stratified_kfold};
use super::fitted;
use super::metrics::{self, Metrics, auc, auc_bootstrap};
use super::protocol::Protocol;
use super::table::FeatureTable;
use crate::{Error, Result};

/// Who was evaluated: class counts and where the table came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    pub n_cases: usize,
    pub n_features: usize,
    pub label_column: String,
    pub positive: String,
    pub negative: String,
    pub n_positive: usize,
    pub n_negative: usize,
    pub source: Option<String>,
    pub source_sha256: Option<String>,
}

impl Cohort {
    pub fn of(table: &FeatureTable) -> Self {
        Cohort {
            n_cases: table.n_cases(),
            n_features: table.feature_names.len(),
            label_column: table.label_column.clone(),
            positive: table.positive.clone(),
            negative: table.negative.clone(),
            n_positive: table.n_positive(),
            n_negative: table.n_negative(),
            source: table.source.as_ref().map(|(p, _)| p.display().to_string()),
            source_sha256: table.source.as_ref().map(|(_, h)| h.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    pub repeat: usize,
    pub fold: usize,
    pub n_train: usize,
    /// The held-out cases (the recorded split).
    pub test_cases: Vec<String>,
    /// Features the fitted steps kept on this training fold.
    pub selected: Vec<String>,
    /// With a search: the chosen candidate's index in the grid and its inner AUC.
    pub chosen_candidate: Option<usize>,
    pub inner_auc: Option<f64>,
    pub metrics: Metrics,
}

/// Mean and standard deviation over folds of the main metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub auc_mean: f64,
    pub auc_sd: f64,
    pub accuracy_mean: f64,
    pub balanced_accuracy_mean: f64,
    pub sensitivity_mean: f64,
    pub specificity_mean: f64,
    pub f1_mean: f64,
    pub brier_mean: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutOfFold {
    pub case_id: String,
    pub positive: bool,
    /// Mean over repeats of the case's held-out probability.
    pub probability: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureFrequency {
    pub feature: String,
    /// Share of outer folds whose selection kept the feature.
    pub frequency: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub radial_version: String,
    pub seed: u64,
    pub protocol: Protocol,
    pub cohort: Cohort,
    pub summary: Summary,
    /// Metrics of the pooled out-of-fold probabilities (one per case).
    pub pooled: Metrics,
    pub folds: Vec<FoldResult>,
    pub selection_frequency: Vec<FeatureFrequency>,
    pub out_of_fold: Vec<OutOfFold>,
}

/// A seed for a sub-task, mixing `seed` with `index` (splitmix64), so each
/// fold's randomness is fixed whatever the scheduling.
pub fn derive_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Checks that each class has at least `k` cases, naming the column and class.
pub fn check_class_sizes(table: &FeatureTable, k: usize, what: &str) -> Result<()> {
    for (name, count) in [
        (&table.positive, table.n_positive()),
        (&table.negative, table.n_negative()),
    ] {
        if count < k {
            return Err(Error::data(format!(
                "label column `{}`: class `{name}` has {count} cases, fewer than the {k} {what}",
                table.label_column
            )));
        }
    }
    Ok(())
}

/// Cross-validates `protocol` on `table` with `seed` (normally `protocol.seed`).
pub fn evaluate(table: &FeatureTable, protocol: &Protocol, seed: u64) -> Result<Evaluation> {
    protocol.validate()?;
    check_class_sizes(table, protocol.folds, "folds")?;
    let rows = combat_rows(table, protocol)?;
    let splits = stratified_kfold(&table.labels, protocol.folds, protocol.repeats, seed)?;
    if let (Some(rows), Some(spec)) = (&rows, &protocol.combat) {
        for split in &splits {
            rows.check_split(&split.train, &split.test, spec.unseen_batch)
                .map_err(|e| {
                    Error::data(format!(
                        "repeat {} fold {}: {e}",
                        split.repeat + 1,
                        split.fold + 1
                    ))
                })?;
        }
    }
    let candidates = protocol.candidates();
    // Every fold's outcome, then the first error in fold order: the same
    // message whatever the scheduling.
    let outcomes: Vec<Result<(FoldResult, Vec<f64>)>> = splits
        .par_iter()
        .enumerate()
        .map(|(index, split)| {
            run_fold(
                table,
                rows.as_ref(),
                protocol,
                &candidates,
                split,
                derive_seed(seed, index as u64),
            )
            .map_err(|e| {
                Error::data(format!(
                    "repeat {} fold {}: {e}",
                    split.repeat + 1,
                    split.fold + 1
                ))
            })
        })
        .collect();
    let folds = outcomes.into_iter().collect::<Result<Vec<_>>>()?;

    // Pool: each case's mean held-out probability over repeats.
    let n = table.n_cases();
    let mut sum = vec![0.0; n];
    let mut count = vec![0usize; n];
    for (split, (_, probabilities)) in splits.iter().zip(&folds) {
        for (&i, &p) in split.test.iter().zip(probabilities) {
            sum[i] += p;
            count[i] += 1;
        }
    }
    let pooled_p: Vec<f64> = sum.iter().zip(&count).map(|(s, &c)| s / c as f64).collect();
    let mut pooled = metrics::compute(&pooled_p, &pooled_p, &table.labels);
    if protocol.bootstrap > 0 {
        pooled.auc_bootstrap = Some(auc_bootstrap(
            &pooled_p,
            &table.labels,
            protocol.bootstrap,
            derive_seed(seed, u64::MAX),
        ));
    }

    let folds: Vec<FoldResult> = folds.into_iter().map(|(f, _)| f).collect();
    let selection_frequency = selection_frequency(table, &folds);
    let out_of_fold = (0..n)
        .map(|i| OutOfFold {
            case_id: table.case_ids[i].clone(),
            positive: table.labels[i],
            probability: pooled_p[i],
        })
        .collect();
    Ok(Evaluation {
        radial_version: crate::VERSION.to_string(),
        seed,
        protocol: protocol.clone(),
        cohort: Cohort::of(table),
        summary: summarise(&folds),
        pooled,
        folds,
        selection_frequency,
        out_of_fold,
    })
}

/// The batch and covariates of every row, when the protocol harmonises.
pub fn combat_rows(table: &FeatureTable, protocol: &Protocol) -> Result<Option<CombatRows>> {
    protocol
        .combat
        .as_ref()
        .map(|spec| CombatRows::from_table(table, spec))
        .transpose()
}

/// Fits on the split's training rows (choosing a candidate by inner CV when
/// there are several) and scores its test rows.
fn run_fold(
    table: &FeatureTable,
    rows: Option<&CombatRows>,
    protocol: &Protocol,
    candidates: &[Protocol],
    split: &Split,
    seed: u64,
) -> Result<(FoldResult, Vec<f64>)> {
    let x_train = table.features.select(ndarray::Axis(0), &split.train);
    let y_train: Vec<bool> = split.train.iter().map(|&i| table.labels[i]).collect();
    let rows_train = rows.map(|r| r.select(&split.train));
    let (chosen, inner_auc) = if candidates.len() > 1 {
        let inner_folds = protocol.search.as_ref().map_or(3, |s| s.inner_folds);
        let (best, score) = choose_candidate(
            x_train.view(),
            &y_train,
            &table.feature_names,
            rows_train.as_ref(),
            candidates,
            inner_folds,
            seed,
        )?;
        (Some(best), Some(score))
    } else {
        (None, None)
    };
    let fitted_protocol = &candidates[chosen.unwrap_or(0)];
    let model = fitted::fit(
        x_train.view(),
        &y_train,
        &table.feature_names,
        rows_train.as_ref(),
        fitted_protocol,
        seed,
    )?;
    let x_test = table.features.select(ndarray::Axis(0), &split.test);
    let y_test: Vec<bool> = split.test.iter().map(|&i| table.labels[i]).collect();
    let rows_test = rows.map(|r| r.select(&split.test));
    let (scores, probabilities) = model.predict(x_test.view(), rows_test.as_ref())?;
    let metrics = metrics::compute(&scores, &probabilities, &y_test);
    Ok((
        FoldResult {
            repeat: split.repeat,
            fold: split.fold,
            n_train: split.train.len(),
            test_cases: split
                .test
                .iter()
                .map(|&i| table.case_ids[i].clone())
                .collect(),
            selected: model
                .columns
                .iter()
                .map(|&j| table.feature_names[j].clone())
                .collect(),
            chosen_candidate: chosen,
            inner_auc,
            metrics,
        },
        probabilities,
    ))
}

/// The candidate with the best mean AUC over an inner stratified k-fold of
/// the given rows (the first one on ties), and that AUC.
pub fn choose_candidate(
    x: ndarray::ArrayView2<f64>,
    y: &[bool],
    names: &[String],
    rows: Option<&CombatRows>,
    candidates: &[Protocol],
    inner_folds: usize,
    seed: u64,
) -> Result<(usize, f64)> {
    let splits = stratified_kfold(y, inner_folds, 1, seed)
        .map_err(|e| Error::data(format!("inner search: {e}")))?;
    if let (Some(rows), Some(spec)) = (rows, candidates.first().and_then(|c| c.combat.as_ref())) {
        for (s, split) in splits.iter().enumerate() {
            rows.check_split(&split.train, &split.test, spec.unseen_batch)
                .map_err(|e| Error::data(format!("inner fold {}: {e}", s + 1)))?;
        }
    }
    let mut best = (0, f64::NEG_INFINITY);
    for (c, candidate) in candidates.iter().enumerate() {
        let mut total = 0.0;
        for (s, split) in splits.iter().enumerate() {
            let inner = |e: Error| Error::data(format!("inner fold {}: {e}", s + 1));
            let xt = x.select(ndarray::Axis(0), &split.train);
            let yt: Vec<bool> = split.train.iter().map(|&i| y[i]).collect();
            let rt = rows.map(|r| r.select(&split.train));
            let model = fitted::fit(
                xt.view(),
                &yt,
                names,
                rt.as_ref(),
                candidate,
                derive_seed(seed, s as u64),
            )
            .map_err(inner)?;
            let xv = x.select(ndarray::Axis(0), &split.test);
            let yv: Vec<bool> = split.test.iter().map(|&i| y[i]).collect();
            let rv = rows.map(|r| r.select(&split.test));
            let scores = model.predict(xv.view(), rv.as_ref()).map_err(inner)?.0;
            total += auc(&scores, &yv);
        }
        let mean = total / splits.len() as f64;
        if mean > best.1 {
            best = (c, mean);
        }
    }
    Ok(best)
}

fn summarise(folds: &[FoldResult]) -> Summary {
    let n = folds.len() as f64;
    let mean = |f: &dyn Fn(&Metrics) -> f64| folds.iter().map(|r| f(&r.metrics)).sum::<f64>() / n;
    let auc_mean = mean(&|m| m.auc.value);
    let auc_var = folds
        .iter()
        .map(|r| (r.metrics.auc.value - auc_mean).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0);
    Summary {
        auc_mean,
        auc_sd: auc_var.sqrt(),
        accuracy_mean: mean(&|m| m.accuracy),
        balanced_accuracy_mean: mean(&|m| m.balanced_accuracy),
        sensitivity_mean: mean(&|m| m.sensitivity),
        specificity_mean: mean(&|m| m.specificity),
        f1_mean: mean(&|m| m.f1),
        brier_mean: mean(&|m| m.brier),
    }
}

/// Features by how often folds kept them (most frequent first, then by name order in the table).
fn selection_frequency(table: &FeatureTable, folds: &[FoldResult]) -> Vec<FeatureFrequency> {
    let mut counts = vec![0usize; table.feature_names.len()];
    let index: std::collections::HashMap<&str, usize> = table
        .feature_names
        .iter()
        .enumerate()
        .map(|(j, n)| (n.as_str(), j))
        .collect();
    for f in folds {
        for name in &f.selected {
            counts[index[name.as_str()]] += 1;
        }
    }
    let mut order: Vec<usize> = (0..counts.len()).filter(|&j| counts[j] > 0).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .map(|j| FeatureFrequency {
            feature: table.feature_names[j].clone(),
            frequency: counts[j] as f64 / folds.len() as f64,
        })
        .collect()
}
