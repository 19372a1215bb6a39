//! Intraclass correlation of one feature measured several times per case:
//! ICC(1,1), the one-way random-effects, absolute-agreement, single
//! measurement form (Shrout & Fleiss 1979 "ICC(1,1)", McGraw & Wong 1996
//! "ICC(1)"), the form Zwanenburg et al. (2019) use for robustness under
//! image perturbation. Targets are cases, measurements are variants.
//!
//! With n cases of k measurements each, from the one-way ANOVA mean squares
//!
//! ```text
//! MSB = k * sum_i (mean_i - grand)^2 / (n - 1)
//! MSW = sum_i sum_j (x_ij - mean_i)^2 / (n (k - 1))
//! ICC = (MSB - MSW) / (MSB + (k - 1) MSW)
//! ```
//!
//! and its 95% interval from F = MSB / MSW with (n - 1, n (k - 1)) degrees
//! of freedom, as pingouin (`intraclass_corr`, row `ICC(1,1)`) computes it:
//! `F_l = F / F_{0.975}(n-1, n(k-1))`, `F_u = F * F_{0.975}(n(k-1), n-1)`,
//! bound `= (F_x - 1) / (F_x + k - 1)`.
//!
//! Defined behaviour (never a panic):
//! - a case with a missing (NaN) value is dropped *for that feature only*;
//!   [`Icc::n_cases`] says how many cases entered, [`Icc::note`] how many
//!   were dropped;
//! - fewer than 2 complete cases, or no variation at all (MSB = MSW = 0):
//!   NaN with the reason in [`Icc::note`];
//! - no variation within cases but some between them (MSW = 0 < MSB):
//!   ICC = 1 with the interval [1, 1] (F is infinite).

/// ICC(1,1) of one feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Icc {
    pub icc: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Cases that entered (complete cases).
    pub n_cases: usize,
    pub n_variants: usize,
    /// Why the value is NaN, or which cases were left out; empty otherwise.
    pub note: String,
}

/// The form's name as written in outputs.
pub const ICC1_NAME: &str = "ICC(1,1)";

/// One-way ANOVA mean squares (between cases, within cases) of complete
/// rows, each row one case's `k` measurements.
pub fn mean_squares(rows: &[&[f64]]) -> (f64, f64) {
    let n = rows.len() as f64;
    let k = rows.first().map_or(0, |r| r.len()) as f64;
    let means: Vec<f64> = rows.iter().map(|r| r.iter().sum::<f64>() / k).collect();
    let grand = means.iter().sum::<f64>() / n;
    let between = k * means.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
    let within: f64 = rows
        .iter()
        .zip(&means)
        .map(|(r, m)| r.iter().map(|x| (x - m).powi(2)).sum::<f64>())
        .sum();
    (between / (n - 1.0), within / (n * (k - 1.0)))
}

/// ICC(1,1) and its 95% interval. `rows[i]` holds case i's measurements;
/// all rows have the same length `k >= 2` (the caller checks the design).
pub fn icc1(rows: &[Vec<f64>]) -> Icc {
    let k = rows.first().map_or(0, Vec::len);
    let complete: Vec<&[f64]> = rows
        .iter()
        .filter(|r| r.iter().all(|v| !v.is_nan()))
        .map(Vec::as_slice)
        .collect();
    let dropped = rows.len() - complete.len();
    let mut note = if dropped > 0 {
        format!("{dropped} case(s) with a missing value left out")
    } else {
        String::new()
    };
    let nan = |note: String| Icc {
        icc: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        n_cases: complete.len(),
        n_variants: k,
        note,
    };
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}; {b}")
        }
    };
    if complete.len() < 2 || k < 2 {
        return nan(join(&note, "fewer than 2 complete cases"));
    }
    let (msb, msw) = mean_squares(&complete);
    if !(msb.is_finite() && msw.is_finite()) {
        return nan(join(&note, "a value is infinite"));
    }
    if msw == 0.0 {
        if msb == 0.0 {
            return nan(join(&note, "no variation at all (every value equal)"));
        }
        note = join(&note, "no variation within cases");
        return Icc {
            icc: 1.0,
            ci_low: 1.0,
            ci_high: 1.0,
            n_cases: complete.len(),
            n_variants: k,
            note,
        };
    }
    let (n, kf) = (complete.len() as f64, k as f64);
    let icc = (msb - msw) / (msb + (kf - 1.0) * msw);
    let f = msb / msw;
    let (df_between, df_within) = (n - 1.0, n * (kf - 1.0));
    let f_low = f / super::stats::f_quantile(0.975, df_between, df_within);
    let f_high = f * super::stats::f_quantile(0.975, df_within, df_between);
    let bound = |fx: f64| (fx - 1.0) / (fx + kf - 1.0);
    Icc {
        icc,
        ci_low: bound(f_low),
        ci_high: bound(f_high),
        n_cases: complete.len(),
        n_variants: k,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_squares_and_icc_by_hand() {
        // Cases {1,3}, {5,7}, {9,11}: means 2, 6, 10, grand 6.
        // MSB = 2 * (16 + 0 + 16) / 2 = 32; MSW = (1+1)*3 / (3*1) = 2.
        // ICC = (32 - 2) / (32 + 2) = 30/34.
        let rows = vec![vec![1.0, 3.0], vec![5.0, 7.0], vec![9.0, 11.0]];
        let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        assert_eq!(mean_squares(&refs), (32.0, 2.0));
        let r = icc1(&rows);
        assert!((r.icc - 30.0 / 34.0).abs() < 1e-15, "{r:?}");
        assert_eq!((r.n_cases, r.n_variants), (3, 2));
        assert!(r.note.is_empty());
        assert!(r.ci_low < r.icc && r.icc < r.ci_high);
    }

    #[test]
    fn interval_matches_the_f_formula() {
        // F = 16 with df (2, 3); quantiles from scipy 1.17.1:
        // f.ppf(0.975, 2, 3) and f.ppf(0.975, 3, 2).
        let rows = vec![vec![1.0, 3.0], vec![5.0, 7.0], vec![9.0, 11.0]];
        let r = icc1(&rows);
        let fl = 16.0 / 16.044_106_429_277_186;
        let fu = 16.0 * 39.165_494_564_013_62;
        assert!((r.ci_low - (fl - 1.0) / (fl + 1.0)).abs() < 1e-12, "{r:?}");
        assert!((r.ci_high - (fu - 1.0) / (fu + 1.0)).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn negative_when_variants_disagree_more_than_cases() {
        // Identical case means, all variation within: MSB = 0 -> ICC = -1/(k-1).
        let r = icc1(&[vec![1.0, 3.0], vec![3.0, 1.0]]);
        assert!((r.icc + 1.0).abs() < 1e-15, "{r:?}");
    }

    #[test]
    fn degenerate_features_are_nan_with_a_reason() {
        let r = icc1(&[vec![2.0, 2.0], vec![2.0, 2.0], vec![2.0, 2.0]]);
        assert!(r.icc.is_nan() && r.ci_low.is_nan() && r.ci_high.is_nan());
        assert!(r.note.contains("no variation"), "{r:?}");
        let r = icc1(&[vec![1.0, f64::NAN], vec![2.0, 3.0]]);
        assert!(r.icc.is_nan());
        assert_eq!(r.n_cases, 1);
        assert!(
            r.note.contains("1 case(s) with a missing value") && r.note.contains("fewer than 2"),
            "{r:?}"
        );
    }

    #[test]
    fn missing_values_drop_the_case_for_that_feature_only() {
        let full = vec![vec![1.0, 3.0], vec![5.0, 7.0], vec![9.0, 11.0]];
        let mut with_gap = full.clone();
        with_gap.push(vec![f64::NAN, 100.0]);
        let (a, b) = (icc1(&full), icc1(&with_gap));
        assert_eq!((a.icc, a.ci_low, a.ci_high), (b.icc, b.ci_low, b.ci_high));
        assert_eq!(b.n_cases, 3);
        assert!(b.note.contains("1 case(s)"), "{b:?}");
    }

    #[test]
    fn perfect_agreement_is_one() {
        let r = icc1(&[vec![1.0, 1.0], vec![4.0, 4.0]]);
        assert_eq!((r.icc, r.ci_low, r.ci_high), (1.0, 1.0, 1.0));
        assert!(r.note.contains("no variation within"), "{r:?}");
    }
}
