//! Small statistics shared by selection and metrics: mid-ranks, rank
//! correlation, the Mann-Whitney test, the ANOVA F statistic, the normal
//! distribution.

/// Ranks 1..=n with ties given their average rank (mid-ranks), and the tie
/// correction term sum(t^3 - t) over tie groups.
pub fn midranks(values: &[f64]) -> (Vec<f64>, f64) {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut ranks = vec![0.0; n];
    let mut ties = 0.0;
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end share the mean of ranks start+1..=end.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        let t = (end - start) as f64;
        ties += t * t * t - t;
        start = end;
    }
    (ranks, ties)
}

/// Pearson correlation; 0 when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().sum::<f64>() / n;
    let mb = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Spearman's rho: Pearson correlation of mid-ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&midranks(a).0, &midranks(b).0)
}

/// The Mann-Whitney test of `values` between the positive and negative class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the positive class: the number of (positive, negative) pairs in
    /// which the positive value is larger, ties counting one half.
    pub u: f64,
    /// Normal approximation with tie correction (no continuity correction).
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
}

pub fn mann_whitney(values: &[f64], positive: &[bool]) -> MannWhitney {
    let (ranks, ties) = midranks(values);
    let n1 = positive.iter().filter(|&&p| p).count() as f64;
    let n2 = values.len() as f64 - n1;
    let r1: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r)
        .sum();
    let u = r1 - n1 * (n1 + 1.0) / 2.0;
    let n = n1 + n2;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let z = if var > 0.0 {
        (u - n1 * n2 / 2.0) / var.sqrt()
    } else {
        0.0
    };
    MannWhitney {
        u,
        z,
        p: 2.0 * normal_sf(z.abs()),
    }
}

/// One-way ANOVA F statistic of two groups; 0 when there is no variation at all.
pub fn anova_f(values: &[f64], positive: &[bool]) -> f64 {
    let (mut s, mut n) = ([0.0; 2], [0.0; 2]);
    for (v, &p) in values.iter().zip(positive) {
        s[p as usize] += v;
        n[p as usize] += 1.0;
    }
    let total = values.len() as f64;
    let grand = (s[0] + s[1]) / total;
    let mean = [s[0] / n[0], s[1] / n[1]];
    let between: f64 = (0..2).map(|g| n[g] * (mean[g] - grand).powi(2)).sum();
    let within: f64 = values
        .iter()
        .zip(positive)
        .map(|(v, &p)| (v - mean[p as usize]).powi(2))
        .sum();
    let df_within = total - 2.0;
    if within <= 0.0 {
        return if between > 0.0 { f64::INFINITY } else { 0.0 };
    }
    between / (within / df_within)
}

/// Upper tail of the standard normal distribution.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Quantile of the standard normal at 0.975, for 95% intervals.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// Complementary error function (Numerical Recipes' Chebyshev fit,
/// relative error below 1.2e-7 everywhere).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midranks_average_ties() {
        let (r, ties) = midranks(&[10.0, 20.0, 10.0, 30.0, 10.0]);
        assert_eq!(r, vec![2.0, 4.0, 2.0, 5.0, 2.0]);
        assert_eq!(ties, 24.0); // one group of 3: 27 - 3
    }

    #[test]
    fn spearman_by_hand() {
        // Ranks a: 1 2 3 4 5, ranks b: 2 1 4 3 5; sum d^2 = 4 -> 1 - 6*4/(5*24) = 0.8
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[20.0, 10.0, 40.0, 30.0, 50.0]);
        assert!((rho - 0.8).abs() < 1e-12);
        // Monotone but non-linear is still 1; reversed is -1.
        assert!((spearman(&[1.0, 2.0, 3.0], &[1.0, 8.0, 27.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn mann_whitney_by_hand() {
        // Positives 3, 5, 5; negatives 1, 5. Pairs won: 3>1 (1), 3<5 (0),
        // 5>1 (1), 5=5 (0.5), 5>1 (1), 5=5 (0.5) -> U = 4.
        let v = [3.0, 5.0, 5.0, 1.0, 5.0];
        let p = [true, true, true, false, false];
        let mw = mann_whitney(&v, &p);
        assert!((mw.u - 4.0).abs() < 1e-12);
        // var = n1 n2/12 * ((n+1) - sum(t^3-t)/(n(n-1))) = 6/12 * (6 - 24/20) = 2.4
        let z = (4.0 - 3.0) / 2.4f64.sqrt();
        assert!((mw.z - z).abs() < 1e-12);
        assert!((mw.p - 2.0 * normal_sf(z)).abs() < 1e-12);
    }

    #[test]
    fn normal_tail_known_values() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_sf(Z_975) - 0.025).abs() < 1e-7);
        assert!((normal_sf(-1.0) - 0.841_344_746).abs() < 1e-7);
    }

    #[test]
    fn anova_f_by_hand() {
        // Groups {1,2,3} and {4,5,6}: between = 2*3*1.5^2... = 13.5, within = 4, df 4 -> F = 13.5
        let f = anova_f(
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            &[false, false, false, true, true, true],
        );
        assert!((f - 13.5).abs() < 1e-12);
    }
}
