//! Small statistics shared by selection and metrics: mid-ranks, rank
//! correlation, the Mann-Whitney test, the ANOVA F statistic, the normal
//! distribution, and Fisher's F (CDF and quantile, for ICC intervals).

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

/// Natural log of the gamma function for x > 0 (Lanczos approximation,
/// g = 7, nine coefficients; relative error about 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// The regularised incomplete beta function I_x(a, b) (continued fraction,
/// modified Lentz, evaluated on the side where it converges fast).
pub fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let clamp = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / clamp(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..1000 {
        let m = m as f64;
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / clamp(1.0 + even * d);
        c = clamp(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / clamp(1.0 + odd * d);
        c = clamp(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < f64::EPSILON {
            break;
        }
    }
    h
}

/// Cumulative distribution of Fisher's F with `d1`, `d2` degrees of freedom.
pub fn f_cdf(f: f64, d1: f64, d2: f64) -> f64 {
    if f <= 0.0 {
        return 0.0;
    }
    incomplete_beta(d1 * f / (d1 * f + d2), d1 / 2.0, d2 / 2.0)
}

/// Quantile of Fisher's F (`p` in (0, 1)): bisection on the beta variable
/// x = d1 f / (d1 f + d2) until the interval stops shrinking, so the result
/// is as exact as the CDF (used for the F-based ICC confidence interval).
pub fn f_quantile(p: f64, d1: f64, d2: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && d1 > 0.0 && d2 > 0.0) {
        return f64::NAN;
    }
    let (a, b) = (d1 / 2.0, d2 / 2.0);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if incomplete_beta(mid, a, b) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let x = 0.5 * (lo + hi);
    d2 * x / (d1 * (1.0 - x))
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

    #[test]
    fn ln_gamma_known_values() {
        // Python's math.lgamma.
        assert!((ln_gamma(0.5) - 0.572_364_942_924_700_4).abs() < 1e-14);
        assert!((ln_gamma(10.5) - 13.940_625_219_403_763).abs() < 1e-12);
        assert!((ln_gamma(100.0) - 359.134_205_369_575_4).abs() < 1e-10);
        assert!(ln_gamma(1.0).abs() < 1e-14 && ln_gamma(2.0).abs() < 1e-14);
    }

    #[test]
    fn f_distribution_matches_scipy() {
        // scipy 1.17.1: f.cdf / f.ppf with the same arguments.
        assert!((f_cdf(2.5, 3.0, 10.0) - 0.880_960_437_341_721_9).abs() < 1e-13);
        let cases = [
            (0.975, 11.0, 48.0, 2.274_481_478_999_659),
            (0.975, 48.0, 11.0, 3.032_629_244_687_021),
            (0.975, 2.0, 3.0, 16.044_106_429_277_186),
            (0.975, 3.0, 2.0, 39.165_494_564_013_62),
            (0.025, 1.0, 2.0, 0.001_250_781_738_586_616_6),
            (0.999, 1.0, 1.0, 405_284.067_902_848_2),
            (0.975, 199.0, 800.0, 1.237_006_039_520_799_3),
        ];
        for (p, d1, d2, want) in cases {
            let got = f_quantile(p, d1, d2);
            assert!(
                ((got - want) / want).abs() < 1e-10,
                "F({p}; {d1}, {d2}) = {got}, scipy {want}"
            );
        }
        // The median of F(d, d) is 1; I_x(1, 1) = x.
        assert!((f_quantile(0.5, 7.0, 7.0) - 1.0).abs() < 1e-12);
        assert!((incomplete_beta(0.3, 1.0, 1.0) - 0.3).abs() < 1e-15);
        assert!(f_quantile(1.0, 2.0, 2.0).is_nan() && f_quantile(0.5, 0.0, 2.0).is_nan());
    }
}
