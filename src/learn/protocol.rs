//! The evaluation protocol: everything that is fitted, and how it is
//! validated. This is exactly the parameter block of an `evaluate` pipeline
//! stage, so what a pipeline can express is what this struct can express.
//!
//! Every step listed here is fitted on the training part of each fold only.
//! There is deliberately no way to select features on the whole cohort before
//! cross-validation: selection exists only as a step of this protocol.
//!
//! ```yaml
//! folds: 5                 # stratified k-fold (default 5)
//! repeats: 10              # repetitions with fresh shuffles (default 10)
//! seed: 42                 # splits, bootstraps and forests derive from it (default 42)
//! impute: median           # median | mean (default median)
//! combat:                  # optional ComBat harmonisation (see below)
//!   batch: centre          # the table column naming each case's batch
//!   covariates: [age]      # numeric columns whose effects are preserved (default none)
//!   parametric: true       # false: non-parametric empirical Bayes priors
//!   mean_only: false       # true: adjust the location only
//!   unseen_batch: error    # error | pooled (a batch the fit did not see)
//! standardise: true        # z-score with training-fold mean/sd (default true)
//! selection:               # applied in order, each fitted on the training fold
//!   - near_constant: { min_variance: 1.0e-10 }
//!   - correlation: { threshold: 0.9 }          # |Spearman rho| above threshold
//!   - univariate: { test: mann_whitney, k: 10 } # or test: anova_f
//!   - mrmr: { k: 10 }
//!   - lasso: { c: 0.1, max_features: 10 }      # L1 logistic regression
//!   - stable: { min_icc: 0.75, from: icc }      # features robust in a `stability` stage
//! classifier:              # one of:
//!   kind: svm              # kernel: rbf | linear; c; gamma (rbf, default 1/(p*var))
//!   kernel: rbf
//!   c: 1.0
//! # kind: logistic         # penalty: l2 | l1; c (inverse regularisation, default 1)
//! # kind: random_forest    # trees (200), max_depth, min_samples_leaf (1), max_features (sqrt p)
//! search:                  # optional nested CV over a grid (inner stratified k-fold)
//!   inner_folds: 3
//!   grid: { c: [0.1, 1, 10], gamma: [0.01, 0.1], k: [5, 10] }
//! bootstrap: 0             # > 0: also a bootstrap CI of the pooled AUC with that many resamples
//! ```
//!
//! `combat` ([`super::combat`]) is fitted on each training fold (and each
//! inner fold of a search) and applied to the held-out rows. It runs right
//! after imputation and before standardisation: ComBat cannot take a missing
//! value, so the fold's imputation fills them first (fill values computed on
//! the unharmonised training rows), and standardisation, selection and the
//! classifier then all see harmonised values, as a new case will. The batch
//! and covariate columns are never features, whether or not `ignore` lists
//! them. A batch with a single case in a training fold is an error naming the
//! batch and the fold (ComBat cannot estimate that batch's variance); the
//! outcome cannot be a covariate (held-out cases would be harmonised with
//! their own outcome). `unseen_batch: pooled` leaves a case of a batch the
//! fit never saw unchanged (`gamma = 0`, `delta = 1`: taken as already on the
//! pooled scale); `error` refuses it, naming the batch and the known ones.
//!
//! `stable` keeps the features whose ICC in the output of the `stability`
//! stage named by `from` (an input of the same pipeline stage) is at least
//! `min_icc`; a feature absent from that table, or with a NaN ICC, is
//! dropped. It is a fixed list, not fitted on any rows (the ICC comes from
//! perturbed variants, not from the outcome), so it keeps the same features
//! in every fold; it still runs in the selection chain, in its place, so
//! the report lists it. The pipeline stage fills `features` from the
//! stability table before evaluation; it cannot be given by hand.

use serde::{Deserialize, Serialize};

pub use super::combat::{CombatSpec, UnseenBatch};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    #[serde(default = "default_folds")]
    pub folds: usize,
    #[serde(default = "default_repeats")]
    pub repeats: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub impute: Imputation,
    /// Absent from the serialised form when not set, so protocols without
    /// it keep their canonical bytes (and cache keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combat: Option<CombatSpec>,
    #[serde(default = "default_true")]
    pub standardise: bool,
    #[serde(default)]
    pub selection: Vec<SelectionStep>,
    pub classifier: ClassifierSpec,
    #[serde(default)]
    pub search: Option<Search>,
    #[serde(default)]
    pub bootstrap: usize,
}

fn default_folds() -> usize {
    5
}
fn default_repeats() -> usize {
    10
}
fn default_seed() -> u64 {
    42
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Imputation {
    #[default]
    Median,
    Mean,
}

/// One selection step (a YAML map with a single key naming the step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SelectionStep {
    NearConstant {
        #[serde(default = "default_min_variance")]
        min_variance: f64,
    },
    Correlation {
        threshold: f64,
    },
    Univariate {
        #[serde(default)]
        test: UnivariateTest,
        k: usize,
    },
    Mrmr {
        k: usize,
    },
    Lasso {
        #[serde(default = "default_lasso_c")]
        c: f64,
        #[serde(default)]
        max_features: Option<usize>,
    },
    Stable {
        min_icc: f64,
        /// The id of the `stability` stage whose table gives the ICCs.
        from: String,
        /// The table's features with ICC >= `min_icc`, filled by the
        /// pipeline stage from the stability output (so the evaluation and
        /// the model record the list they used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        features: Option<Vec<String>>,
    },
}

fn default_min_variance() -> f64 {
    1e-10
}
fn default_lasso_c() -> f64 {
    0.1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnivariateTest {
    #[default]
    MannWhitney,
    AnovaF,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClassifierSpec {
    Svm {
        #[serde(default)]
        kernel: SvmKernel,
        #[serde(default = "default_c")]
        c: f64,
        /// RBF width: K(x, x') = exp(-gamma |x - x'|^2). Default 1 / (p * var(X)).
        #[serde(default)]
        gamma: Option<f64>,
    },
    Logistic {
        #[serde(default)]
        penalty: Penalty,
        #[serde(default = "default_c")]
        c: f64,
    },
    RandomForest {
        #[serde(default = "default_trees")]
        trees: usize,
        #[serde(default)]
        max_depth: Option<usize>,
        #[serde(default = "default_min_leaf")]
        min_samples_leaf: usize,
        /// Features tried per split; default round(sqrt(p)).
        #[serde(default)]
        max_features: Option<usize>,
    },
}

fn default_c() -> f64 {
    1.0
}
fn default_trees() -> usize {
    200
}
fn default_min_leaf() -> usize {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SvmKernel {
    #[default]
    Rbf,
    Linear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    #[default]
    L2,
    L1,
}

/// Nested cross-validation: each candidate of the grid is scored by mean AUC
/// in an inner stratified k-fold of the outer training fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    #[serde(default = "default_inner_folds")]
    pub inner_folds: usize,
    pub grid: Grid,
}

fn default_inner_folds() -> usize {
    3
}

/// Values to try; an absent axis keeps the protocol's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Classifier C (SVM, logistic).
    #[serde(default)]
    pub c: Vec<f64>,
    /// RBF gamma (SVM).
    #[serde(default)]
    pub gamma: Vec<f64>,
    /// Number of features kept by the last `univariate` or `mrmr` step.
    #[serde(default)]
    pub k: Vec<usize>,
    /// Number of trees (random forest).
    #[serde(default)]
    pub trees: Vec<usize>,
}

impl Protocol {
    /// Checks values serde cannot: counts, ranges, and grid axes that the
    /// classifier or selection does not have.
    pub fn validate(&self) -> Result<()> {
        if self.folds < 2 {
            return Err(Error::setting("folds", "at least 2 folds are needed"));
        }
        if self.repeats < 1 {
            return Err(Error::setting("repeats", "at least 1 repeat is needed"));
        }
        if let Some(combat) = &self.combat {
            combat.validate()?;
        }
        for (i, step) in self.selection.iter().enumerate() {
            let name = format!("selection[{i}]");
            match step {
                SelectionStep::NearConstant { min_variance } if !is_non_negative(*min_variance) => {
                    return Err(Error::setting(name, "min_variance must be >= 0"));
                }
                SelectionStep::Correlation { threshold }
                    if !(is_positive(*threshold) && *threshold <= 1.0) =>
                {
                    return Err(Error::setting(name, "threshold must be in (0, 1]"));
                }
                SelectionStep::Univariate { k, .. } | SelectionStep::Mrmr { k } if *k == 0 => {
                    return Err(Error::setting(name, "k must be at least 1"));
                }
                SelectionStep::Lasso { c, .. } if !is_positive(*c) => {
                    return Err(Error::setting(name, "c must be > 0"));
                }
                SelectionStep::Stable { min_icc, .. } if !min_icc.is_finite() => {
                    return Err(Error::setting(
                        format!("{name}.stable.min_icc"),
                        "min_icc must be a finite number",
                    ));
                }
                SelectionStep::Stable { from, .. } if from.is_empty() => {
                    return Err(Error::setting(
                        format!("{name}.stable.from"),
                        "name the stability stage",
                    ));
                }
                _ => {}
            }
        }
        self.classifier.validate("classifier")?;
        if let Some(search) = &self.search {
            if search.inner_folds < 2 {
                return Err(Error::setting(
                    "search.inner_folds",
                    "at least 2 folds are needed",
                ));
            }
            let g = &search.grid;
            let is_svm = matches!(self.classifier, ClassifierSpec::Svm { .. });
            let is_forest = matches!(self.classifier, ClassifierSpec::RandomForest { .. });
            if !g.c.is_empty() && is_forest {
                return Err(Error::setting("search.grid.c", "a random forest has no C"));
            }
            if !g.gamma.is_empty() && !is_svm {
                return Err(Error::setting("search.grid.gamma", "only an SVM has gamma"));
            }
            if !g.trees.is_empty() && !is_forest {
                return Err(Error::setting(
                    "search.grid.trees",
                    "only a random forest has trees",
                ));
            }
            if !g.k.is_empty() && self.last_k_step().is_none() {
                return Err(Error::setting(
                    "search.grid.k",
                    "k needs a `univariate` or `mrmr` selection step",
                ));
            }
            for c in self.candidates() {
                c.classifier.validate("search.grid")?;
            }
        }
        Ok(())
    }

    /// Refuses what only the pipeline may fill in: a `stable` step's
    /// `features` (they come from the stability stage's table).
    pub fn check_user_given(&self) -> Result<()> {
        check_stable_not_given(&self.selection)
    }

    /// The `stable` steps' stability stage ids, in step order.
    pub fn stability_sources(&self) -> Vec<&str> {
        self.selection
            .iter()
            .filter_map(|s| match s {
                SelectionStep::Stable { from, .. } => Some(from.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Table columns the protocol reads besides the features and the
    /// outcome (ComBat's batch and covariates): never features.
    pub fn side_columns(&self) -> Vec<String> {
        self.combat
            .as_ref()
            .map(CombatSpec::columns)
            .unwrap_or_default()
    }

    fn last_k_step(&self) -> Option<usize> {
        self.selection.iter().rposition(|s| {
            matches!(
                s,
                SelectionStep::Univariate { .. } | SelectionStep::Mrmr { .. }
            )
        })
    }

    /// The protocols the inner loop chooses among (the grid's cartesian
    /// product), in a fixed order; just this one without a search.
    pub fn candidates(&self) -> Vec<Protocol> {
        let Some(search) = &self.search else {
            return vec![self.without_search()];
        };
        let g = &search.grid;
        let mut out = vec![self.without_search()];
        if !g.c.is_empty() {
            out = expand(out, &g.c, |p, &c| match &mut p.classifier {
                ClassifierSpec::Svm { c: x, .. } | ClassifierSpec::Logistic { c: x, .. } => *x = c,
                ClassifierSpec::RandomForest { .. } => {}
            });
        }
        if !g.gamma.is_empty() {
            out = expand(out, &g.gamma, |p, &v| {
                if let ClassifierSpec::Svm { gamma, .. } = &mut p.classifier {
                    *gamma = Some(v);
                }
            });
        }
        if !g.trees.is_empty() {
            out = expand(out, &g.trees, |p, &v| {
                if let ClassifierSpec::RandomForest { trees, .. } = &mut p.classifier {
                    *trees = v;
                }
            });
        }
        if let (false, Some(step)) = (g.k.is_empty(), self.last_k_step()) {
            out = expand(out, &g.k, |p, &v| match &mut p.selection[step] {
                SelectionStep::Univariate { k, .. } | SelectionStep::Mrmr { k } => *k = v,
                _ => {}
            });
        }
        out
    }

    fn without_search(&self) -> Protocol {
        Protocol {
            search: None,
            ..self.clone()
        }
    }
}

/// A `stable` step's `features` come from its stability stage, never from
/// the user: refused when given.
pub fn check_stable_not_given(selection: &[SelectionStep]) -> Result<()> {
    for (i, step) in selection.iter().enumerate() {
        if let SelectionStep::Stable {
            features: Some(_), ..
        } = step
        {
            return Err(Error::setting(
                format!("selection[{i}].stable.features"),
                "the stable features come from the stability stage named by `from`; \
                 give `min_icc` and `from` only",
            ));
        }
    }
    Ok(())
}

/// False for NaN, unlike `!(x <= 0.0)`, and for infinity (`c: .inf` would
/// make the solvers run without a bound).
fn is_positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}

fn is_non_negative(x: f64) -> bool {
    x >= 0.0 && x.is_finite()
}

fn expand<T>(base: Vec<Protocol>, values: &[T], set: impl Fn(&mut Protocol, &T)) -> Vec<Protocol> {
    let mut out = Vec::with_capacity(base.len() * values.len());
    for p in &base {
        for v in values {
            let mut q = p.clone();
            set(&mut q, v);
            out.push(q);
        }
    }
    out
}

impl ClassifierSpec {
    fn validate(&self, setting: &str) -> Result<()> {
        match self {
            ClassifierSpec::Svm { c, gamma, .. } => {
                if !is_positive(*c) {
                    return Err(Error::setting(format!("{setting}.c"), "C must be > 0"));
                }
                if let Some(g) = gamma
                    && !is_positive(*g)
                {
                    return Err(Error::setting(
                        format!("{setting}.gamma"),
                        "gamma must be > 0",
                    ));
                }
            }
            ClassifierSpec::Logistic { c, .. } => {
                if !is_positive(*c) {
                    return Err(Error::setting(format!("{setting}.c"), "C must be > 0"));
                }
            }
            ClassifierSpec::RandomForest {
                trees,
                min_samples_leaf,
                max_features,
                ..
            } => {
                if *trees == 0 {
                    return Err(Error::setting(
                        format!("{setting}.trees"),
                        "at least 1 tree",
                    ));
                }
                if *min_samples_leaf == 0 {
                    return Err(Error::setting(
                        format!("{setting}.min_samples_leaf"),
                        "must be at least 1",
                    ));
                }
                if *max_features == Some(0) {
                    return Err(Error::setting(
                        format!("{setting}.max_features"),
                        "must be at least 1",
                    ));
                }
            }
        }
        Ok(())
    }

    /// A short human name for reports.
    pub fn describe(&self) -> String {
        match self {
            ClassifierSpec::Svm { kernel, c, gamma } => format!(
                "SVM ({kernel:?} kernel, C={c}, gamma={})",
                gamma.map_or("1/(p·var)".to_string(), |g| g.to_string())
            ),
            ClassifierSpec::Logistic { penalty, c } => {
                format!("logistic regression ({penalty:?}, C={c})")
            }
            ClassifierSpec::RandomForest { trees, .. } => format!("random forest ({trees} trees)"),
        }
    }
}

/// Parses a protocol from YAML and validates it.
pub fn from_yaml(text: &str) -> Result<Protocol> {
    let p: Protocol =
        serde_saphyr::from_str(text).map_err(|e| Error::setting("protocol", e.to_string()))?;
    p.validate()?;
    p.check_user_given()?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documented_yaml_and_expands_grid() {
        let p = from_yaml(
            "folds: 5\nrepeats: 2\nselection:\n  - near_constant: { min_variance: 1.0e-10 }\n  - univariate: { test: mann_whitney, k: 10 }\nclassifier:\n  kind: svm\n  kernel: rbf\n  c: 1.0\nsearch:\n  inner_folds: 3\n  grid: { c: [0.1, 1], k: [5, 10, 20] }\n",
        )
        .unwrap();
        assert_eq!(p.candidates().len(), 6);
        assert!(p.candidates().iter().all(|c| c.search.is_none()));
    }

    #[test]
    fn infinite_values_are_not_positive() {
        // YAML's `.inf` is already refused by the parser; a protocol built
        // otherwise (JSON, code) is refused by validation.
        assert!(from_yaml("classifier: { kind: logistic, c: .inf }\n").is_err());
        assert!(!is_positive(f64::INFINITY) && !is_non_negative(f64::INFINITY));
        assert!(is_positive(1e300) && is_non_negative(0.0));
        let p = Protocol {
            classifier: ClassifierSpec::Logistic {
                penalty: Penalty::default(),
                c: f64::INFINITY,
            },
            ..from_yaml("classifier: { kind: logistic }\n").unwrap()
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("classifier.c"), "{e}");
    }

    #[test]
    fn stable_step_parses_and_its_features_cannot_be_given_by_hand() {
        let p = from_yaml(
            "selection:\n  - stable: { min_icc: 0.75, from: icc }\nclassifier: { kind: logistic }\n",
        )
        .unwrap();
        assert_eq!(p.stability_sources(), ["icc"]);
        // Unset features are absent from the canonical form (stable keys).
        let json = serde_json::to_string(&p.selection).unwrap();
        assert_eq!(json, r#"[{"stable":{"min_icc":0.75,"from":"icc"}}]"#);
        let e = from_yaml(
            "selection:\n  - stable: { min_icc: 0.75, from: icc, features: [a] }\nclassifier: { kind: logistic }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("selection[0].stable.features"), "{e}");
        assert!(
            from_yaml("selection:\n  - stable: { from: icc }\nclassifier: { kind: logistic }\n")
                .is_err()
        );
        assert!(
            from_yaml("selection:\n  - stable: { min_icc: 0.75, from: icc, k: 3 }\nclassifier: { kind: logistic }\n")
                .is_err()
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(from_yaml("classifier: { kind: svm, cost: 1 }\n").is_err());
        assert!(from_yaml("classifier: { kind: svm }\nselect_on_whole_cohort: true\n").is_err());
        assert!(
            from_yaml("classifier: { kind: logistic }\nsearch: { grid: { gamma: [1] } }\n")
                .is_err()
        );
    }
}
