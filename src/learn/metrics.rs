//! Discrimination, threshold and calibration metrics of scored cases.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::models::logistic::fit_1d;
use super::stats::{Z_975, midranks};

/// AUC: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann-Whitney U / (n1 n0)).
pub fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let (ranks, _) = midranks(scores);
    let n1 = labels.iter().filter(|&&l| l).count() as f64;
    let n0 = labels.len() as f64 - n1;
    let r1: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(r, _)| r)
        .sum();
    (r1 - n1 * (n1 + 1.0) / 2.0) / (n1 * n0)
}

/// DeLong's variance of the empirical AUC (DeLong, DeLong and Clarke-Pearson
/// 1988): structural components per positive (V10) and per negative (V01),
/// var = s²(V10)/n1 + s²(V01)/n0. Computed from mid-ranks in O(n log n)
/// (Sun and Xu 2014).
pub fn delong_variance(scores: &[f64], labels: &[bool]) -> f64 {
    let pos: Vec<f64> = select(scores, labels, true);
    let neg: Vec<f64> = select(scores, labels, false);
    let (n1, n0) = (pos.len() as f64, neg.len() as f64);
    let (rank_all, _) = midranks(scores);
    let (rank_pos, _) = midranks(&pos);
    let (rank_neg, _) = midranks(&neg);
    let all_pos: Vec<f64> = select(&rank_all, labels, true);
    let all_neg: Vec<f64> = select(&rank_all, labels, false);
    // V10_i = (rank of positive i among all - its rank among positives) / n0:
    // the share of negatives below it (ties one half).
    let v10: Vec<f64> = all_pos
        .iter()
        .zip(&rank_pos)
        .map(|(a, p)| (a - p) / n0)
        .collect();
    // V01_j = share of positives above negative j.
    let v01: Vec<f64> = all_neg
        .iter()
        .zip(&rank_neg)
        .map(|(a, r)| 1.0 - (a - r) / n1)
        .collect();
    sample_variance(&v10) / n1 + sample_variance(&v01) / n0
}

fn select(values: &[f64], labels: &[bool], class: bool) -> Vec<f64> {
    values
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l == class)
        .map(|(v, _)| *v)
        .collect()
}

fn sample_variance(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
}

/// A value with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

/// AUC with DeLong's 95% interval (normal, clipped to [0, 1]).
pub fn auc_delong(scores: &[f64], labels: &[bool]) -> Interval {
    let value = auc(scores, labels);
    let half = Z_975 * delong_variance(scores, labels).sqrt();
    Interval {
        value,
        lower: (value - half).max(0.0),
        upper: (value + half).min(1.0),
    }
}

/// AUC with a stratified percentile bootstrap 95% interval.
pub fn auc_bootstrap(scores: &[f64], labels: &[bool], resamples: usize, seed: u64) -> Interval {
    let mut bootstrap = StratifiedBootstrap::new(scores, labels, seed);
    let mut aucs: Vec<f64> = (0..resamples)
        .map(|_| {
            let (s, l) = bootstrap.resample();
            auc(s, l)
        })
        .collect();
    aucs.sort_by(f64::total_cmp);
    Interval {
        value: auc(scores, labels),
        lower: percentile(&aucs, 0.025),
        upper: percentile(&aucs, 0.975),
    }
}

/// Resamples with replacement within each class, so every resample keeps
/// the class counts (and so has both classes).
struct StratifiedBootstrap {
    positive: Vec<f64>,
    negative: Vec<f64>,
    rng: ChaCha8Rng,
    scores: Vec<f64>,
    labels: Vec<bool>,
}

impl StratifiedBootstrap {
    fn new(scores: &[f64], labels: &[bool], seed: u64) -> Self {
        StratifiedBootstrap {
            positive: select(scores, labels, true),
            negative: select(scores, labels, false),
            rng: ChaCha8Rng::seed_from_u64(seed),
            scores: Vec::with_capacity(scores.len()),
            labels: Vec::with_capacity(scores.len()),
        }
    }

    fn resample(&mut self) -> (&[f64], &[bool]) {
        self.scores.clear();
        self.labels.clear();
        for (class, group) in [(true, &self.positive), (false, &self.negative)] {
            for _ in 0..group.len() {
                self.scores.push(group[self.rng.gen_range(0..group.len())]);
                self.labels.push(class);
            }
        }
        (&self.scores, &self.labels)
    }
}

/// The `q` quantile of sorted values (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    sorted[((q * last as f64).round() as usize).min(last)]
}

/// All metrics of one set of scored cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub n: usize,
    pub n_positive: usize,
    pub auc: Interval,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc_bootstrap: Option<Interval>,
    /// Threshold metrics use probability >= 0.5.
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    pub f1: f64,
    /// b of logit P(y) = a + b logit(p); 1 is ideal.
    pub calibration_slope: f64,
    /// a of logit P(y) = a + logit(p) (slope fixed at 1); 0 is ideal.
    pub calibration_intercept: f64,
    pub brier: f64,
}

/// Computes all metrics; `scores` rank cases, `probabilities` are in [0, 1].
pub fn compute(scores: &[f64], probabilities: &[f64], labels: &[bool]) -> Metrics {
    let n = labels.len();
    let n_positive = labels.iter().filter(|&&l| l).count();
    let (mut tp, mut tn, mut fp, mut fneg) = (0.0, 0.0, 0.0, 0.0);
    let mut brier = 0.0;
    for (&p, &l) in probabilities.iter().zip(labels) {
        match (p >= 0.5, l) {
            (true, true) => tp += 1.0,
            (false, false) => tn += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fneg += 1.0,
        }
        brier += (p - l as u8 as f64).powi(2);
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let sensitivity = ratio(tp, tp + fneg);
    let specificity = ratio(tn, tn + fp);
    // Clip before the logit so that a probability of exactly 0 or 1 stays finite.
    let logits: Vec<f64> = probabilities
        .iter()
        .map(|&p| {
            let p = p.clamp(1e-6, 1.0 - 1e-6);
            (p / (1.0 - p)).ln()
        })
        .collect();
    let targets: Vec<f64> = labels.iter().map(|&l| l as u8 as f64).collect();
    let (_, slope) = fit_1d(&logits, &targets, None);
    let (intercept, _) = fit_1d(&logits, &targets, Some(1.0));
    Metrics {
        n,
        n_positive,
        auc: auc_delong(scores, labels),
        auc_bootstrap: None,
        accuracy: (tp + tn) / n as f64,
        balanced_accuracy: (sensitivity + specificity) / 2.0,
        sensitivity,
        specificity,
        f1: ratio(2.0 * tp, 2.0 * tp + fp + fneg),
        calibration_slope: slope,
        calibration_intercept: intercept,
        brier: brier / n as f64,
    }
}

/// ROC curve points (false positive rate, true positive rate) from (0,0) to (1,1),
/// one point per distinct score.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let n1 = labels.iter().filter(|&&l| l).count() as f64;
    let n0 = labels.len() as f64 - n1;
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut points = vec![(0.0, 0.0)];
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            points.push((fp / n0, tp / n1));
        }
    }
    points
}

/// The true positive rate of a ROC curve at false positive rate `fpr`
/// (the highest point reached at or before it).
fn tpr_at(curve: &[(f64, f64)], fpr: f64) -> f64 {
    curve
        .iter()
        .take_while(|(f, _)| *f <= fpr + 1e-12)
        .map(|(_, t)| *t)
        .fold(0.0, f64::max)
}

/// A pointwise 95% bootstrap band of the ROC curve on a grid of false
/// positive rates: (fpr, lower tpr, upper tpr).
pub fn roc_band(
    scores: &[f64],
    labels: &[bool],
    resamples: usize,
    seed: u64,
) -> Vec<(f64, f64, f64)> {
    let grid: Vec<f64> = (0..=50).map(|i| i as f64 / 50.0).collect();
    let mut bootstrap = StratifiedBootstrap::new(scores, labels, seed);
    let mut tprs: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); grid.len()];
    for _ in 0..resamples {
        let (s, l) = bootstrap.resample();
        let curve = roc_curve(s, l);
        for (g, &f) in grid.iter().enumerate() {
            tprs[g].push(tpr_at(&curve, f));
        }
    }
    grid.iter()
        .zip(tprs.iter_mut())
        .map(|(&f, t)| {
            t.sort_by(f64::total_cmp);
            (f, percentile(t, 0.025), percentile(t, 0.975))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_one_half() {
        // Pairs (pos, neg): (0.8,0.5)=1 (0.8,0.8)=0.5 (0.4,0.5)=0 (0.4,0.8)=0 -> 1.5/4.
        let a = auc(&[0.8, 0.4, 0.5, 0.8], &[true, true, false, false]);
        assert!((a - 0.375).abs() < 1e-12);
        assert_eq!(auc(&[1.0, 2.0], &[false, true]), 1.0);
    }

    #[test]
    fn delong_variance_by_hand() {
        // Positives 0.9 0.8 0.4, negatives 0.5 0.3.
        // V10 = (1, 1, 0.5): s² = 1/12; V01 = (2/3, 1): s² = 1/18.
        // var = (1/12)/3 + (1/18)/2 = 1/36 + 1/36 = 1/18.
        let scores = [0.9, 0.8, 0.4, 0.5, 0.3];
        let labels = [true, true, true, false, false];
        assert!((delong_variance(&scores, &labels) - 1.0 / 18.0).abs() < 1e-12);
        assert!((auc(&scores, &labels) - 5.0 / 6.0).abs() < 1e-12);
        // A tie across classes: positives 0.9 0.5, negatives 0.5 0.3.
        let scores = [0.9, 0.5, 0.5, 0.3];
        let labels = [true, true, false, false];
        // V10 = (1, 0.75), s² = 1/32; V01 = (0.75, 1), s² = 1/32; var = 1/64 + 1/64.
        assert!((delong_variance(&scores, &labels) - 1.0 / 32.0).abs() < 1e-12);
    }

    #[test]
    fn threshold_and_calibration_metrics_by_hand() {
        let p = [0.9, 0.6, 0.3, 0.2, 0.7];
        let l = [true, true, true, false, false];
        let m = compute(&p, &p, &l);
        // tp 2, fn 1, tn 1, fp 1.
        assert!((m.sensitivity - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.specificity - 0.5).abs() < 1e-12);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        assert!((m.f1 - 4.0 / 6.0).abs() < 1e-12);
        let brier = (0.01 + 0.16 + 0.49 + 0.04 + 0.49) / 5.0;
        assert!((m.brier - brier).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_interval_brackets_the_auc_and_is_reproducible() {
        let scores: Vec<f64> = (0..40).map(|i| ((i * 7) % 40) as f64).collect();
        let labels: Vec<bool> = (0..40).map(|i| (i * 7) % 40 >= 15).collect();
        let separated = auc_bootstrap(&scores, &labels, 100, 3);
        assert_eq!(
            (separated.value, separated.lower, separated.upper),
            (1.0, 1.0, 1.0)
        );
        let noisy: Vec<f64> = (0..40).map(|i| ((i * 13) % 17) as f64).collect();
        let b = auc_bootstrap(&noisy, &labels, 200, 3);
        assert!(b.lower <= b.value && b.value <= b.upper && b.lower < b.upper);
        assert_eq!(b, auc_bootstrap(&noisy, &labels, 200, 3));
    }

    #[test]
    fn roc_curve_steps_through_tied_scores_at_once() {
        let c = roc_curve(&[0.8, 0.4, 0.5, 0.8], &[true, true, false, false]);
        assert_eq!(c, vec![(0.0, 0.0), (0.5, 0.5), (1.0, 0.5), (1.0, 1.0)]);
    }
}
