//! Feature selection steps. Each takes the training rows (imputed and, if the
//! protocol says so, standardised), the current candidate columns, and
//! returns the columns it keeps. They are only ever called on a training fold.
//! `stable` is the exception that needs no rows: it keeps a fixed list of
//! feature names (robust ones, from a stability stage).

use ndarray::ArrayView2;

use super::models::logistic;
use super::protocol::{Penalty, SelectionStep, UnivariateTest};
use super::stats::{anova_f, mann_whitney, midranks};
use crate::{Error, Result};

/// Runs the steps in order; the result is in ascending column order.
/// `names` are the columns' feature names (what a `stable` step matches).
pub fn select(
    x: ArrayView2<f64>,
    y: &[bool],
    variance: &[f64],
    steps: &[SelectionStep],
    names: &[String],
) -> Result<Vec<usize>> {
    let mut keep: Vec<usize> = (0..x.ncols()).collect();
    for (i, step) in steps.iter().enumerate() {
        keep = match *step {
            SelectionStep::Stable {
                ref features,
                ref from,
                ..
            } => keep_stable(&keep, names, features.as_deref(), from, i)?,
            SelectionStep::NearConstant { min_variance } => keep
                .into_iter()
                .filter(|&j| variance[j] > min_variance)
                .collect(),
            SelectionStep::Correlation { threshold } => correlation_filter(x, y, &keep, threshold),
            SelectionStep::Univariate { test, k } => {
                let scores = relevance(x, y, &keep, test);
                top_k(&keep, &scores, k)
            }
            SelectionStep::Mrmr { k } => mrmr(x, y, &keep, k),
            SelectionStep::Lasso { c, max_features } => lasso(x, y, &keep, c, max_features),
        };
        if keep.is_empty() {
            return Err(Error::data(format!(
                "selection step {} ({step:?}) left no feature",
                i + 1
            )));
        }
    }
    keep.sort_unstable();
    Ok(keep)
}

/// The columns of `keep` whose names are in the stable list (filled from
/// the stability stage; `None` outside a pipeline, an error).
fn keep_stable(
    keep: &[usize],
    names: &[String],
    features: Option<&[String]>,
    from: &str,
    step: usize,
) -> Result<Vec<usize>> {
    let features = features.ok_or_else(|| {
        Error::setting(
            format!("selection[{step}].stable"),
            format!(
                "the stable features come from the stability stage `{from}`: \
                 this step works only in a pipeline stage that reads it"
            ),
        )
    })?;
    let stable: std::collections::HashSet<&str> = features.iter().map(String::as_str).collect();
    Ok(keep
        .iter()
        .copied()
        .filter(|&j| names.get(j).is_some_and(|n| stable.contains(n.as_str())))
        .collect())
}

fn column(x: ArrayView2<f64>, j: usize) -> Vec<f64> {
    x.column(j).to_vec()
}

/// Univariate relevance of each column in `cols`: |z| of Mann-Whitney or the F statistic.
pub fn relevance(x: ArrayView2<f64>, y: &[bool], cols: &[usize], test: UnivariateTest) -> Vec<f64> {
    cols.iter()
        .map(|&j| {
            let v = column(x, j);
            match test {
                UnivariateTest::MannWhitney => mann_whitney(&v, y).z.abs(),
                UnivariateTest::AnovaF => anova_f(&v, y),
            }
        })
        .collect()
}

/// Positions of `scores` from best to worst; ties keep column order.
fn ranking(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

fn top_k(cols: &[usize], scores: &[f64], k: usize) -> Vec<usize> {
    ranking(scores)
        .into_iter()
        .take(k)
        .map(|i| cols[i])
        .collect()
}

/// Centred, unit-norm mid-ranks of a column, so Spearman's rho is a dot product.
fn normalised_ranks(x: ArrayView2<f64>, j: usize) -> Vec<f64> {
    centred_unit(midranks(&column(x, j)).0)
}

fn centred_unit(mut r: Vec<f64>) -> Vec<f64> {
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    r.iter_mut().for_each(|v| *v -= mean);
    let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        r.iter_mut().for_each(|v| *v /= norm);
    }
    r
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Greedy removal of correlated features: visit columns from most to least
/// relevant (Mann-Whitney), keep one unless |rho| with an already kept column
/// exceeds the threshold. So of a correlated pair the more relevant survives.
fn correlation_filter(
    x: ArrayView2<f64>,
    y: &[bool],
    cols: &[usize],
    threshold: f64,
) -> Vec<usize> {
    let scores = relevance(x, y, cols, UnivariateTest::MannWhitney);
    let mut kept: Vec<(usize, Vec<f64>)> = Vec::new();
    for i in ranking(&scores) {
        let r = normalised_ranks(x, cols[i]);
        if kept.iter().all(|(_, k)| dot(k, &r).abs() <= threshold) {
            kept.push((cols[i], r));
        }
    }
    kept.into_iter().map(|(j, _)| j).collect()
}

/// Minimum-redundancy maximum-relevance (difference form, Peng et al.
/// 2005, with rank correlation in place of mutual information so that both
/// terms are on the same [0, 1] scale): relevance is |Spearman rho| between
/// the feature and the class, redundancy the mean |rho| with the features
/// already chosen; pick argmax relevance - redundancy, starting with the most
/// relevant.
fn mrmr(x: ArrayView2<f64>, y: &[bool], cols: &[usize], k: usize) -> Vec<usize> {
    let class: Vec<f64> = y.iter().map(|&v| v as u8 as f64).collect();
    let class = centred_unit(midranks(&class).0);
    let ranks: Vec<Vec<f64>> = cols.iter().map(|&j| normalised_ranks(x, j)).collect();
    let relevance: Vec<f64> = ranks.iter().map(|r| dot(r, &class).abs()).collect();
    let mut redundancy_sum = vec![0.0; cols.len()];
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut available = vec![true; cols.len()];
    while chosen.len() < k.min(cols.len()) {
        let mut best: Option<(f64, usize)> = None;
        for i in 0..cols.len() {
            if !available[i] {
                continue;
            }
            let score = if chosen.is_empty() {
                relevance[i]
            } else {
                relevance[i] - redundancy_sum[i] / chosen.len() as f64
            };
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, i));
            }
        }
        let Some((_, pick)) = best else { break };
        available[pick] = false;
        chosen.push(pick);
        for i in 0..cols.len() {
            if available[i] {
                redundancy_sum[i] += dot(&ranks[i], &ranks[pick]).abs();
            }
        }
    }
    chosen.into_iter().map(|i| cols[i]).collect()
}

/// Features with a non-zero weight in an L1-penalised logistic regression
/// (optionally the `max_features` largest |weights|).
fn lasso(
    x: ArrayView2<f64>,
    y: &[bool],
    cols: &[usize],
    c: f64,
    max_features: Option<usize>,
) -> Vec<usize> {
    let sub = x.select(ndarray::Axis(1), cols);
    let model = logistic::fit(sub.view(), y, Penalty::L1, c);
    let magnitude: Vec<f64> = model.weights.iter().map(|w| w.abs()).collect();
    ranking(&magnitude)
        .into_iter()
        .filter(|&i| magnitude[i] > 0.0)
        .take(max_features.unwrap_or(usize::MAX))
        .map(|i| cols[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Column 0 separates the classes, column 1 duplicates it (scaled),
    /// column 2 is weakly informative, column 3 constant.
    fn table() -> (Array2<f64>, Vec<bool>) {
        let y = vec![false, false, false, false, true, true, true, true];
        let mut x = Array2::zeros((8, 4));
        for i in 0..8 {
            let v = i as f64;
            x[[i, 0]] = v;
            x[[i, 1]] = 2.0 * v + 1.0;
            x[[i, 2]] = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0][i];
            x[[i, 3]] = 1.0;
        }
        (x, y)
    }

    #[test]
    fn steps_select_expected_columns() {
        let (x, y) = table();
        let names = names();
        let var = [5.25, 21.0, 6.0, 0.0];
        let nc = [SelectionStep::NearConstant {
            min_variance: 1e-10,
        }];
        assert_eq!(
            select(x.view(), &y, &var, &nc, &names).unwrap(),
            vec![0, 1, 2]
        );
        let corr = [SelectionStep::Correlation { threshold: 0.9 }];
        // 0 and 1 tie on relevance, so 0 (first) is kept and 1 dropped.
        assert_eq!(
            select(x.view(), &y, &var, &corr, &names).unwrap(),
            vec![0, 2, 3]
        );
        let uni = [SelectionStep::Univariate {
            test: UnivariateTest::MannWhitney,
            k: 1,
        }];
        assert_eq!(select(x.view(), &y, &var, &uni, &names).unwrap(), vec![0]);
        // mRMR: 0 first, then 2 beats 1 (which is fully redundant with 0).
        let mrmr_step = [SelectionStep::Mrmr { k: 2 }];
        assert_eq!(
            select(x.view(), &y, &var, &mrmr_step, &names).unwrap(),
            vec![0, 2]
        );
    }

    fn names() -> Vec<String> {
        ["a", "b", "c", "d"].map(String::from).to_vec()
    }

    #[test]
    fn stable_keeps_its_fixed_list_in_its_place_in_the_chain() {
        let (x, y) = table();
        let var = [5.25, 21.0, 6.0, 0.0];
        let stable = |features: Option<Vec<&str>>| SelectionStep::Stable {
            min_icc: 0.75,
            from: "icc".into(),
            features: features.map(|f| f.into_iter().map(String::from).collect()),
        };
        // Names absent from the table ("z") are ignored.
        let steps = [stable(Some(vec!["b", "c", "d", "z"]))];
        assert_eq!(
            select(x.view(), &y, &var, &steps, &names()).unwrap(),
            vec![1, 2, 3]
        );
        // Then near_constant drops d: the steps compose in order.
        let steps = [
            stable(Some(vec!["b", "c", "d"])),
            SelectionStep::NearConstant {
                min_variance: 1e-10,
            },
        ];
        assert_eq!(
            select(x.view(), &y, &var, &steps, &names()).unwrap(),
            vec![1, 2]
        );
        let e = select(x.view(), &y, &var, &[stable(Some(vec!["z"]))], &names())
            .unwrap_err()
            .to_string();
        assert!(e.contains("left no feature"), "{e}");
        // Unresolved (outside a pipeline): a clear error naming the source.
        let e = select(x.view(), &y, &var, &[stable(None)], &names())
            .unwrap_err()
            .to_string();
        assert!(e.contains("stability stage `icc`"), "{e}");
    }
}
