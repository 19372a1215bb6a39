//! ComBat harmonisation (Johnson, Li & Rabinovic 2007, "Adjusting batch
//! effects in microarray expression data using empirical Bayes methods"), in
//! the formulation of neuroCombat that Orlhac et al. used for radiomics.
//!
//! Per feature `j`, a case `i` of batch `b` with covariates `c_i` is modelled
//! as `x_ij = alpha_j + c_i·beta_j + gamma_bj + delta_bj·e_ij`. Fitting:
//!
//! 1. OLS of each feature on the full one-hot batch design plus the
//!    covariates (no separate intercept). The grand mean `alpha_j` is the
//!    batch coefficients averaged with weights `n_b / n`; the pooled variance
//!    `sigma²_j` is the mean squared residual (divided by `n`, as
//!    neuroCombat). A feature with zero pooled variance gets `sigma² = 1`.
//! 2. Standardisation: `z_ij = (x_ij - alpha_j - c_i·beta_j) / sigma_j`.
//! 3. Per batch, `gamma_hat` = the mean of `z` in the batch and `delta_hat` =
//!    its variance (n - 1 divisor; 0 becomes 1). Empirical Bayes: the
//!    additive effects of one batch across features share a normal prior
//!    (mean and variance of `gamma_hat` over features), the multiplicative
//!    ones an inverse gamma prior (moments of `delta_hat`).
//!    - parametric: the posterior means, iterated until the largest relative
//!      change of either is at most 1e-4, exactly as neuroCombat (including
//!      its signed relative change `|new - old| / old`, so that the number
//!      of iterations, and hence every digit, is the same);
//!    - non-parametric: a likelihood-weighted average of the other
//!      features' `gamma_hat`/`delta_hat` (computed in log space, which
//!      gives neuroCombat's weights without its underflow for large batches).
//!    - `mean_only`: `delta = 1`; the parametric `gamma*` is then the
//!      closed-form posterior mean `(t² gamma_hat + gamma_bar) / (t² + 1)`.
//! 4. Adjustment of any row of a known batch:
//!    `x* = (z - gamma*_b) / sqrt(delta*_b) · sigma + alpha + c·beta`.
//!
//! A fitted [`Combat`] holds every estimate, so it applies to rows it was not
//! fitted on (a held-out fold, a new case). A row of a batch the fit never
//! saw is an error, or, with [`UnseenBatch::Pooled`], is given the pooled
//! estimates: `gamma = 0`, `delta = 1`, which makes `x* = x`, i.e. the row
//! is taken as already on the pooled reference scale (grand mean, pooled
//! variance) that every harmonised training row was mapped to.
//!
//! Batches are kept in a `BTreeMap` (sorted names, as neuroCombat's
//! `np.unique`), and every loop runs in a fixed order: same input, same bytes.

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::table::{FeatureTable, is_missing_text};
use crate::{Error, Result};

/// neuroCombat's convergence threshold of the parametric iteration.
const CONVERGENCE: f64 = 1e-4;
/// A bound on that iteration (neuroCombat has none); it converges in tens.
const MAX_ITERATIONS: usize = 100_000;

/// What a protocol's `combat:` step says (see [`super::protocol`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombatSpec {
    /// The table column naming each case's batch (centre, scanner).
    pub batch: String,
    /// Numeric columns whose effects ComBat preserves (age, ...); they must be
    /// known for a new case, so the outcome cannot be one.
    #[serde(default)]
    pub covariates: Vec<String>,
    /// Parametric (iterative) or non-parametric empirical Bayes priors.
    #[serde(default = "default_true")]
    pub parametric: bool,
    /// Adjust the location only (`delta = 1`).
    #[serde(default)]
    pub mean_only: bool,
    /// What to do with a case whose batch the fit did not see.
    #[serde(default)]
    pub unseen_batch: UnseenBatch,
}

fn default_true() -> bool {
    true
}

impl CombatSpec {
    pub fn options(&self) -> CombatOptions {
        CombatOptions {
            parametric: self.parametric,
            mean_only: self.mean_only,
            unseen_batch: self.unseen_batch,
        }
    }

    /// The table columns the step reads, which are therefore not features.
    pub fn columns(&self) -> Vec<String> {
        std::iter::once(self.batch.clone())
            .chain(self.covariates.iter().cloned())
            .collect()
    }

    pub fn validate(&self) -> Result<()> {
        if self.batch.trim().is_empty() {
            return Err(Error::setting("combat.batch", "names no column"));
        }
        for (i, c) in self.covariates.iter().enumerate() {
            if *c == self.batch {
                return Err(Error::setting(
                    "combat.covariates",
                    format!("`{c}` is the batch column"),
                ));
            }
            if self.covariates[..i].contains(c) {
                return Err(Error::setting(
                    "combat.covariates",
                    format!("`{c}` is listed twice"),
                ));
            }
        }
        Ok(())
    }
}

/// What happens to a row whose batch was not seen by the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnseenBatch {
    /// An error naming the batch and the known ones.
    #[default]
    Error,
    /// No batch adjustment (`gamma = 0`, `delta = 1`): the row is unchanged.
    Pooled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CombatOptions {
    pub parametric: bool,
    pub mean_only: bool,
    pub unseen_batch: UnseenBatch,
}

impl Default for CombatOptions {
    fn default() -> Self {
        CombatOptions {
            parametric: true,
            mean_only: false,
            unseen_batch: UnseenBatch::Error,
        }
    }
}

/// One batch's empirical Bayes estimates, one value per feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchEffect {
    /// Cases of the batch in the rows ComBat was fitted on.
    pub cases: usize,
    /// Additive effect `gamma*` (in units of the pooled standard deviation).
    pub gamma: Vec<f64>,
    /// Multiplicative effect `delta*` (a variance ratio, > 0).
    pub delta: Vec<f64>,
}

/// A fitted ComBat: everything needed to harmonise rows of known batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combat {
    pub batches: BTreeMap<String, BatchEffect>,
    /// `alpha_j`: batch coefficients averaged with weights `n_b / n`.
    pub grand_mean: Vec<f64>,
    /// `sigma²_j`.
    pub var_pooled: Vec<f64>,
    /// Covariate names, in the order of `beta`.
    pub covariates: Vec<String>,
    /// `beta[c][j]`: the effect of covariate `c` on feature `j`.
    pub beta: Vec<Vec<f64>>,
    pub unseen_batch: UnseenBatch,
}

/// The batch and covariate values of some rows, aligned with a matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct CombatRows {
    pub batch: Vec<String>,
    /// Shape [rows, covariates].
    pub covariates: Array2<f64>,
}

impl CombatRows {
    /// Rows without covariates.
    pub fn batches_only(batch: Vec<String>) -> Self {
        let n = batch.len();
        CombatRows {
            batch,
            covariates: Array2::zeros((n, 0)),
        }
    }

    /// The step's columns read from a table's non-feature columns. Errors
    /// name the column, the case and the table: a missing column, a missing
    /// batch, a covariate that is not a number, the outcome as a covariate.
    pub fn from_table(table: &FeatureTable, spec: &CombatSpec) -> Result<Self> {
        let origin = table.source.as_ref().map_or_else(
            || "the feature table".to_string(),
            |(p, _)| p.display().to_string(),
        );
        if spec.covariates.contains(&table.label_column) {
            return Err(Error::setting(
                "combat.covariates",
                format!(
                    "`{}` is the outcome: a covariate must be known for a new case, and \
                     harmonising held-out cases with their outcome would leak it",
                    table.label_column
                ),
            ));
        }
        let column = |name: &str| {
            table.side_columns.get(name).ok_or_else(|| {
                Error::data(format!(
                    "ComBat: the table {origin} has no column `{name}` (non-feature columns: {})",
                    if table.side_columns.is_empty() {
                        "none".to_string()
                    } else {
                        table
                            .side_columns
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ))
            })
        };
        let batch = column(&spec.batch)?.clone();
        for (id, b) in table.case_ids.iter().zip(&batch) {
            if is_missing_text(b) {
                return Err(Error::data(format!(
                    "ComBat: case `{id}` has no value in batch column `{}` of {origin} \
                     (`{b}`); every case needs its batch",
                    spec.batch
                )));
            }
        }
        let mut covariates = Array2::zeros((table.n_cases(), spec.covariates.len()));
        for (c, name) in spec.covariates.iter().enumerate() {
            for (i, text) in column(name)?.iter().enumerate() {
                covariates[[i, c]] = parse_covariate(text, name, &table.case_ids[i], &origin)?;
            }
        }
        Ok(CombatRows { batch, covariates })
    }

    /// Checks a split before anything is fitted: every batch of the
    /// training rows has at least 2 cases, and (unless `unseen` is pooled)
    /// every batch of the held-out rows is among them. The error names the
    /// batch; the caller names the fold.
    pub fn check_split(&self, train: &[usize], test: &[usize], unseen: UnseenBatch) -> Result<()> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in train {
            *counts.entry(self.batch[i].as_str()).or_default() += 1;
        }
        if let Some((b, _)) = counts.iter().find(|(_, n)| **n < 2) {
            return Err(Error::data(format!(
                "ComBat: batch `{b}` has a single case in the training rows; it needs at \
                 least 2 per batch to estimate the batch's variance (merge the batch with \
                 another, or use fewer folds)"
            )));
        }
        if unseen == UnseenBatch::Error
            && let Some(&i) = test
                .iter()
                .find(|&&i| !counts.contains_key(self.batch[i].as_str()))
        {
            return Err(Error::data(format!(
                "ComBat: held-out batch `{}` has no case in the training rows (batches there: \
                 {}); set `unseen_batch: pooled` to leave such cases unadjusted",
                self.batch[i],
                counts.keys().copied().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(())
    }

    /// The given rows, in that order.
    pub fn select(&self, rows: &[usize]) -> CombatRows {
        CombatRows {
            batch: rows.iter().map(|&i| self.batch[i].clone()).collect(),
            covariates: self.covariates.select(Axis(0), rows),
        }
    }
}

/// A covariate cell: a finite number (ComBat has no missing covariates).
pub fn parse_covariate(text: &str, name: &str, case: &str, origin: &str) -> Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Error::data(format!(
            "ComBat: covariate `{name}` of case `{case}` in {origin} is `{text}`, not a finite \
             number (covariates are numeric; encode a category as 0/1)"
        ))),
    }
}

impl Combat {
    /// Fits ComBat on `x` ([rows, features], no missing value), the rows'
    /// batches and covariates ([rows, covariates], named `covariate_names`).
    pub fn fit(
        x: ArrayView2<f64>,
        rows: &CombatRows,
        covariate_names: &[String],
        options: CombatOptions,
    ) -> Result<Combat> {
        let (n, p) = x.dim();
        let n_cov = rows.covariates.ncols();
        if rows.batch.len() != n || rows.covariates.nrows() != n || covariate_names.len() != n_cov {
            return Err(Error::data(format!(
                "ComBat: {n} rows but {} batch values, {} covariate rows, {} covariate names \
                 for {n_cov} covariates",
                rows.batch.len(),
                rows.covariates.nrows(),
                covariate_names.len()
            )));
        }
        if p < 2 {
            return Err(Error::data(format!(
                "ComBat needs at least 2 features to estimate its priors (got {p})"
            )));
        }
        if let Some(((i, j), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::data(format!(
                "ComBat: row {i}, feature {j} is not a finite number (impute first)"
            )));
        }
        // Batches in sorted order and the rows of each.
        let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, b) in rows.batch.iter().enumerate() {
            members.entry(b.as_str()).or_default().push(i);
        }
        for (b, idx) in &members {
            if idx.len() < 2 {
                return Err(Error::data(format!(
                    "ComBat: batch `{b}` has a single case in the rows it is fitted on; it \
                     needs at least 2 per batch to estimate the batch's variance (merge the \
                     batch with another, or use fewer folds)"
                )));
            }
        }
        let n_batch = members.len();
        let batch_index: Vec<usize> = rows
            .batch
            .iter()
            .map(|b| {
                members
                    .keys()
                    .position(|k| *k == b.as_str())
                    .expect("listed")
            })
            .collect();

        // 1. OLS on [one-hot batches | covariates].
        let q = n_batch + n_cov;
        let mut design = Array2::<f64>::zeros((n, q));
        for i in 0..n {
            design[[i, batch_index[i]]] = 1.0;
            for c in 0..n_cov {
                design[[i, n_batch + c]] = rows.covariates[[i, c]];
            }
        }
        let gram = design.t().dot(&design);
        let rhs = design.t().dot(&x);
        let b_hat = solve(gram, rhs).map_err(|_| {
            Error::data(format!(
                "ComBat: the covariates ({}) are collinear with the batches (constant within \
                 every batch, or linearly dependent) in the rows it is fitted on",
                covariate_names.join(", ")
            ))
        })?;
        let counts: Vec<usize> = members.values().map(Vec::len).collect();
        let mut grand_mean = vec![0.0; p];
        for (j, g) in grand_mean.iter_mut().enumerate() {
            for (b, &nb) in counts.iter().enumerate() {
                *g += nb as f64 / n as f64 * b_hat[[b, j]];
            }
        }
        let fitted = design.dot(&b_hat);
        let mut var_pooled = vec![0.0; p];
        for (j, v) in var_pooled.iter_mut().enumerate() {
            let ss: f64 = (0..n).map(|i| (x[[i, j]] - fitted[[i, j]]).powi(2)).sum();
            *v = ss / n as f64;
            if *v == 0.0 {
                *v = 1.0;
            }
        }
        let beta: Vec<Vec<f64>> = (0..n_cov)
            .map(|c| (0..p).map(|j| b_hat[[n_batch + c, j]]).collect())
            .collect();
        let mut model = Combat {
            batches: BTreeMap::new(),
            grand_mean,
            var_pooled,
            covariates: covariate_names.to_vec(),
            beta,
            unseen_batch: options.unseen_batch,
        };

        // 2. Standardise.
        let z = model.standardise(x, rows.covariates.view());

        // 3. Per batch: moments, priors, empirical Bayes estimates.
        for (name, idx) in &members {
            let zb = z.select(Axis(0), idx);
            let nb = idx.len() as f64;
            let gamma_hat: Vec<f64> = (0..p).map(|j| zb.column(j).sum() / nb).collect();
            let delta_hat: Vec<f64> = if options.mean_only {
                vec![1.0; p]
            } else {
                (0..p)
                    .map(|j| {
                        let v = zb
                            .column(j)
                            .iter()
                            .map(|&v| (v - gamma_hat[j]).powi(2))
                            .sum::<f64>()
                            / (nb - 1.0);
                        if v == 0.0 { 1.0 } else { v }
                    })
                    .collect()
            };
            let (gamma, delta) = if options.parametric {
                parametric(zb.view(), &gamma_hat, &delta_hat, options.mean_only)
                    .map_err(|e| Error::data(format!("ComBat, batch `{name}`: {e}")))?
            } else {
                non_parametric(zb.view(), &gamma_hat, &delta_hat)
            };
            model.batches.insert(
                name.to_string(),
                BatchEffect {
                    cases: idx.len(),
                    gamma,
                    delta,
                },
            );
        }
        Ok(model)
    }

    /// `(x - alpha - c·beta) / sigma`.
    fn standardise(&self, x: ArrayView2<f64>, covariates: ArrayView2<f64>) -> Array2<f64> {
        let mut z = x.to_owned();
        for ((i, j), v) in z.indexed_iter_mut() {
            *v = (*v - self.grand_mean[j] - self.covariate_effect(covariates, i, j))
                / self.var_pooled[j].sqrt();
        }
        z
    }

    fn covariate_effect(&self, covariates: ArrayView2<f64>, i: usize, j: usize) -> f64 {
        self.beta
            .iter()
            .enumerate()
            .map(|(c, b)| covariates[[i, c]] * b[j])
            .sum()
    }

    pub fn n_features(&self) -> usize {
        self.grand_mean.len()
    }

    /// Harmonises rows of known batches (or, with `unseen_batch: pooled`,
    /// leaves rows of unknown batches unchanged). A missing value stays
    /// missing.
    pub fn apply(&self, x: ArrayView2<f64>, rows: &CombatRows) -> Result<Array2<f64>> {
        let p = self.n_features();
        if x.ncols() != p
            || rows.batch.len() != x.nrows()
            || rows.covariates.dim() != (x.nrows(), self.covariates.len())
        {
            return Err(Error::data(format!(
                "ComBat was fitted on {p} features and {} covariates; got {:?} values, {} \
                 batches and {:?} covariate values",
                self.covariates.len(),
                x.dim(),
                rows.batch.len(),
                rows.covariates.dim()
            )));
        }
        let z = self.standardise(x, rows.covariates.view());
        let mut out = x.to_owned();
        for (i, b) in rows.batch.iter().enumerate() {
            let Some(effect) = self.batches.get(b) else {
                match self.unseen_batch {
                    UnseenBatch::Pooled => continue,
                    UnseenBatch::Error => {
                        return Err(Error::data(format!(
                            "ComBat: batch `{b}` was not among the batches it was fitted on \
                             ({}); set `unseen_batch: pooled` to leave such cases unadjusted",
                            self.known_batches()
                        )));
                    }
                }
            };
            for j in 0..p {
                let sd = self.var_pooled[j].sqrt();
                out[[i, j]] = (z[[i, j]] - effect.gamma[j]) / effect.delta[j].sqrt() * sd
                    + self.grand_mean[j]
                    + self.covariate_effect(rows.covariates.view(), i, j);
            }
        }
        Ok(out)
    }

    pub fn known_batches(&self) -> String {
        self.batches.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The estimates of the given features only, in that order.
    pub fn subset(&self, columns: &[usize]) -> Combat {
        let pick = |v: &Vec<f64>| columns.iter().map(|&j| v[j]).collect::<Vec<f64>>();
        Combat {
            batches: self
                .batches
                .iter()
                .map(|(k, e)| {
                    (
                        k.clone(),
                        BatchEffect {
                            cases: e.cases,
                            gamma: pick(&e.gamma),
                            delta: pick(&e.delta),
                        },
                    )
                })
                .collect(),
            grand_mean: pick(&self.grand_mean),
            var_pooled: pick(&self.var_pooled),
            covariates: self.covariates.clone(),
            beta: self.beta.iter().map(pick).collect(),
            unseen_batch: self.unseen_batch,
        }
    }

    /// Every length agrees and every number is finite (`delta`, `sigma²` > 0):
    /// the model file check.
    pub fn check(&self, features: usize) -> std::result::Result<(), String> {
        let finite = |field: &str, v: &[f64], positive: bool| -> std::result::Result<(), String> {
            if v.len() != features {
                return Err(format!(
                    "`{field}` has {} values; {features} expected",
                    v.len()
                ));
            }
            match v
                .iter()
                .position(|x| !x.is_finite() || (positive && *x <= 0.0))
            {
                None => Ok(()),
                Some(i) => Err(format!(
                    "`{field}` value {i} is not a finite{} number",
                    if positive { " positive" } else { "" }
                )),
            }
        };
        finite("combat.grand_mean", &self.grand_mean, false)?;
        finite("combat.var_pooled", &self.var_pooled, true)?;
        if self.beta.len() != self.covariates.len() {
            return Err(format!(
                "`combat.beta` has {} rows for {} covariates",
                self.beta.len(),
                self.covariates.len()
            ));
        }
        for b in &self.beta {
            finite("combat.beta", b, false)?;
        }
        if self.batches.is_empty() {
            return Err("`combat.batches` is empty".into());
        }
        for (name, e) in &self.batches {
            finite(&format!("combat.batches.{name}.gamma"), &e.gamma, false)?;
            finite(&format!("combat.batches.{name}.delta"), &e.delta, true)?;
        }
        Ok(())
    }
}

/// neuroCombat's `it_sol` (or the closed form with `mean_only`).
fn parametric(
    z: ArrayView2<f64>,
    gamma_hat: &[f64],
    delta_hat: &[f64],
    mean_only: bool,
) -> std::result::Result<(Vec<f64>, Vec<f64>), String> {
    let p = gamma_hat.len();
    let (gamma_bar, t2) = mean_and_variance(gamma_hat);
    if mean_only {
        let gamma = gamma_hat
            .iter()
            .map(|&g| (t2 * g + gamma_bar) / (t2 + 1.0))
            .collect();
        return Ok((gamma, vec![1.0; p]));
    }
    let (m, s2) = mean_and_variance(delta_hat);
    let a = (2.0 * s2 + m * m) / s2;
    let b = (m * s2 + m * m * m) / s2;
    let n = z.nrows() as f64;
    let mut g_old = gamma_hat.to_vec();
    let mut d_old = delta_hat.to_vec();
    for _ in 0..MAX_ITERATIONS {
        let g_new: Vec<f64> = (0..p)
            .map(|j| (t2 * n * gamma_hat[j] + d_old[j] * gamma_bar) / (t2 * n + d_old[j]))
            .collect();
        let d_new: Vec<f64> = (0..p)
            .map(|j| {
                let sum2: f64 = z.column(j).iter().map(|&v| (v - g_new[j]).powi(2)).sum();
                (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)
            })
            .collect();
        // neuroCombat (and the R original): max of |new - old| / old, signed old.
        let change = (0..p)
            .map(|j| (g_new[j] - g_old[j]).abs() / g_old[j])
            .chain((0..p).map(|j| (d_new[j] - d_old[j]).abs() / d_old[j]))
            .fold(f64::NEG_INFINITY, f64::max);
        g_old = g_new;
        d_old = d_new;
        // Stops on NaN too, as neuroCombat's `while change > conv`.
        if change.partial_cmp(&CONVERGENCE) != Some(std::cmp::Ordering::Greater) {
            return Ok((g_old, d_old));
        }
    }
    Err(format!(
        "the parametric estimates did not converge in {MAX_ITERATIONS} iterations; try \
         `parametric: false`"
    ))
}

/// neuroCombat's `int_eprior`: for each feature, the other features'
/// estimates weighted by the likelihood of this feature's values under them.
fn non_parametric(
    z: ArrayView2<f64>,
    gamma_hat: &[f64],
    delta_hat: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let p = gamma_hat.len();
    let n = z.nrows() as f64;
    let mut gamma = Vec::with_capacity(p);
    let mut delta = Vec::with_capacity(p);
    let mut log_lh = vec![0.0; p];
    for i in 0..p {
        let col = z.column(i);
        let sum: f64 = col.sum();
        let sum_sq: f64 = col.iter().map(|v| v * v).sum();
        for k in 0..p {
            let g = gamma_hat[k];
            let d = delta_hat[k];
            let sum2 = (sum_sq - 2.0 * g * sum + n * g * g).max(0.0);
            log_lh[k] = -(n / 2.0) * (2.0 * std::f64::consts::PI * d).ln() - sum2 / (2.0 * d);
        }
        let top = (0..p)
            .filter(|&k| k != i)
            .map(|k| log_lh[k])
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut w_sum, mut g_sum, mut d_sum) = (0.0, 0.0, 0.0);
        for k in (0..p).filter(|&k| k != i) {
            let w = (log_lh[k] - top).exp();
            w_sum += w;
            g_sum += w * gamma_hat[k];
            d_sum += w * delta_hat[k];
        }
        gamma.push(g_sum / w_sum);
        delta.push(d_sum / w_sum);
    }
    (gamma, delta)
}

/// Mean and variance (n - 1 divisor).
fn mean_and_variance(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Solves `a · x = b` (a square, b with several columns) by Gaussian
/// elimination with partial pivoting; `Err` when `a` is singular.
fn solve(mut a: Array2<f64>, mut b: Array2<f64>) -> std::result::Result<Array2<f64>, ()> {
    let q = a.nrows();
    let scale = (0..q).map(|i| a[[i, i]].abs()).fold(0.0, f64::max).max(1.0);
    for col in 0..q {
        let pivot = (col..q)
            .max_by(|&r, &s| a[[r, col]].abs().total_cmp(&a[[s, col]].abs()))
            .expect("non-empty");
        if a[[pivot, col]].abs() <= 1e-12 * scale {
            return Err(());
        }
        if pivot != col {
            for k in 0..q {
                a.swap([pivot, k], [col, k]);
            }
            for k in 0..b.ncols() {
                b.swap([pivot, k], [col, k]);
            }
        }
        for r in 0..q {
            if r == col {
                continue;
            }
            let f = a[[r, col]] / a[[col, col]];
            if f == 0.0 {
                continue;
            }
            for k in col..q {
                a[[r, k]] -= f * a[[col, k]];
            }
            for k in 0..b.ncols() {
                b[[r, k]] -= f * b[[col, k]];
            }
        }
    }
    for r in 0..q {
        let d = a[[r, r]];
        b.row_mut(r).mapv_inplace(|v| v / d);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn rows(batches: &[&str]) -> CombatRows {
        CombatRows::batches_only(batches.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn solve_inverts_a_small_system() {
        let a = array![[4.0, 1.0], [1.0, 3.0]];
        let b = array![[1.0], [2.0]];
        let x = solve(a.clone(), b.clone()).unwrap();
        let back = a.dot(&x);
        assert!((back[[0, 0]] - 1.0).abs() < 1e-12 && (back[[1, 0]] - 2.0).abs() < 1e-12);
        assert!(solve(array![[1.0, 2.0], [2.0, 4.0]], b).is_err());
    }

    #[test]
    fn a_shifted_batch_is_brought_back_and_unseen_batches_follow_the_setting() {
        // Batch b is batch a shifted by 10 in every feature.
        let x = array![
            [1.0, 2.0, 0.5],
            [2.0, 1.0, 1.5],
            [3.0, 4.0, 1.0],
            [11.0, 12.0, 10.5],
            [12.0, 11.0, 11.5],
            [13.0, 14.0, 11.0]
        ];
        let r = rows(&["a", "a", "a", "b", "b", "b"]);
        let model = Combat::fit(x.view(), &r, &[], CombatOptions::default()).unwrap();
        let h = model.apply(x.view(), &r).unwrap();
        for j in 0..3 {
            let mean_a = (0..3).map(|i| h[[i, j]]).sum::<f64>() / 3.0;
            let mean_b = (3..6).map(|i| h[[i, j]]).sum::<f64>() / 3.0;
            assert!(
                (mean_a - mean_b).abs() < 0.5,
                "feature {j}: {mean_a} vs {mean_b}"
            );
        }
        let new = rows(&["c"]);
        let e = model
            .apply(x.slice(ndarray::s![0..1, ..]), &new)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`c`") && e.contains("a, b"), "{e}");
        let pooled = Combat {
            unseen_batch: UnseenBatch::Pooled,
            ..model
        };
        let same = pooled.apply(x.slice(ndarray::s![0..1, ..]), &new).unwrap();
        assert_eq!(same.row(0), x.row(0));
    }

    #[test]
    fn a_batch_of_one_case_is_refused_by_name() {
        let x = array![[1.0, 2.0], [2.0, 1.0], [3.0, 4.0]];
        let e = Combat::fit(
            x.view(),
            &rows(&["a", "a", "z"]),
            &[],
            CombatOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("batch `z`") && e.contains("single case"), "{e}");
    }
}
