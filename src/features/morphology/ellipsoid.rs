//! Ellipsoids of the morphology family: the surface area series used for
//! both enclosing ellipsoids (IBSI 3.1.22), and the minimum volume enclosing
//! ellipsoid by Khachiyan's barycentric coordinate descent (IBSI 3.1.23).

use super::linalg::{inverse, symmetric_eigen};

/// Surface area of an ellipsoid with semi-axes a >= b >= c, by the Legendre
/// series of IBSI truncated after ν = 20.
pub fn ellipsoid_area(a: f64, b: f64, c: f64) -> f64 {
    let alpha = (1.0 - (b * b) / (a * a)).max(0.0).sqrt();
    let beta = (1.0 - (c * c) / (a * a)).max(0.0).sqrt();
    // t_ν = (αβ)^ν P_ν((α²+β²)/(2αβ)) by Bonnet's recursion multiplied through
    // by (αβ)^(ν+1), which stays finite when αβ = 0 (a sphere).
    let ab = alpha * beta;
    let s = (alpha * alpha + beta * beta) / 2.0;
    let (mut prev, mut cur) = (1.0, s);
    let mut sum = 1.0 + cur / (1.0 - 4.0);
    for nu in 1..20 {
        let nuf = nu as f64;
        let next = ((2.0 * nuf + 1.0) * s * cur - nuf * ab * ab * prev) / (nuf + 1.0);
        prev = cur;
        cur = next;
        let k = nuf + 1.0;
        sum += cur / (1.0 - 4.0 * k * k);
    }
    4.0 * std::f64::consts::PI * a * b * sum
}

/// Semi-axes (descending) of the minimum volume ellipsoid enclosing `points`,
/// to Khachiyan tolerance `tolerance`; `None` for degenerate point sets.
pub fn minimum_volume_enclosing_ellipsoid(points: &[[f64; 3]], tolerance: f64) -> Option<[f64; 3]> {
    let n = points.len();
    if n < 4 {
        return None;
    }
    // Centring improves the conditioning of the lifted 4×4 system.
    let mut centre = [0.0; 3];
    for p in points {
        for d in 0..3 {
            centre[d] += p[d] / n as f64;
        }
    }
    let q: Vec<[f64; 4]> = points
        .iter()
        .map(|p| [p[0] - centre[0], p[1] - centre[1], p[2] - centre[2], 1.0])
        .collect();
    let mut u = vec![1.0 / n as f64; n];
    let dim = 3.0;
    for _ in 0..100_000 {
        let mut x = [[0.0; 4]; 4];
        for (qi, &ui) in q.iter().zip(&u) {
            for r in 0..4 {
                for c in 0..4 {
                    x[r][c] += ui * qi[r] * qi[c];
                }
            }
        }
        let xi = inverse(x)?;
        let (mut j, mut mj) = (0, f64::NEG_INFINITY);
        for (i, qi) in q.iter().enumerate() {
            let mut m = 0.0;
            for r in 0..4 {
                let mut row = 0.0;
                for c in 0..4 {
                    row += xi[r][c] * qi[c];
                }
                m += qi[r] * row;
            }
            if m > mj {
                mj = m;
                j = i;
            }
        }
        let step = (mj - dim - 1.0) / ((dim + 1.0) * (mj - 1.0));
        let mut change2 = 0.0;
        for (i, ui) in u.iter_mut().enumerate() {
            let new = (1.0 - step) * *ui + if i == j { step } else { 0.0 };
            change2 += (new - *ui) * (new - *ui);
            *ui = new;
        }
        if change2.sqrt() < tolerance {
            break;
        }
    }
    // A = (P U Pᵀ - c cᵀ)⁻¹ / d; semi-axes are 1/√eigenvalues of A.
    let mut c = [0.0; 3];
    for (qi, &ui) in q.iter().zip(&u) {
        for d in 0..3 {
            c[d] += ui * qi[d];
        }
    }
    let mut s = [[0.0; 3]; 3];
    for (qi, &ui) in q.iter().zip(&u) {
        for r in 0..3 {
            for k in 0..3 {
                s[r][k] += ui * qi[r] * qi[k];
            }
        }
    }
    for r in 0..3 {
        for k in 0..3 {
            s[r][k] -= c[r] * c[k];
        }
    }
    // Eigenvalues of A = 1/(d · eigenvalues of S): semi-axes √(d λ_S).
    let (values, _) = symmetric_eigen(s);
    if values[2] <= 0.0 {
        return None;
    }
    Some(values.map(|l| (dim * l).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// The IBSI series evaluated term by term with explicit Legendre polynomials.
    fn direct_series(a: f64, b: f64, c: f64) -> f64 {
        let alpha = (1.0 - b * b / (a * a)).sqrt();
        let beta = (1.0 - c * c / (a * a)).sqrt();
        let x = (alpha * alpha + beta * beta) / (2.0 * alpha * beta);
        let legendre = |n: usize| {
            let (mut p0, mut p1) = (1.0, x);
            for k in 1..n {
                let kf = k as f64;
                (p0, p1) = (p1, ((2.0 * kf + 1.0) * x * p1 - kf * p0) / (kf + 1.0));
            }
            if n == 0 { 1.0 } else { p1 }
        };
        let sum: f64 = (0..=20)
            .map(|n| (alpha * beta).powi(n as i32) / (1.0 - 4.0 * (n * n) as f64) * legendre(n))
            .sum();
        4.0 * PI * a * b * sum
    }

    #[test]
    fn area_series_matches_the_ibsi_definition() {
        assert!((ellipsoid_area(2.0, 2.0, 2.0) - 4.0 * PI * 4.0).abs() < 1e-9);
        for (a, b, c) in [(3.0, 2.0, 1.0), (3.0, 2.0, 2.0), (5.0, 1.0, 0.5)] {
            let (ours, direct) = (ellipsoid_area(a, b, c), direct_series(a, b, c));
            assert!((ours - direct).abs() < 1e-9 * direct, "{ours} vs {direct}");
        }
    }

    #[test]
    fn mvee_of_box_corners_is_the_circumscribed_ellipsoid() {
        // The MVEE of a box's corners has semi-axes √3 times the half-sides.
        let mut pts = Vec::new();
        for &x in &[-3.0, 3.0] {
            for &y in &[-2.0, 2.0] {
                for &z in &[-1.0, 1.0] {
                    pts.push([x, y, z]);
                }
            }
        }
        let axes = minimum_volume_enclosing_ellipsoid(&pts, 1e-7).unwrap();
        let s3 = 3f64.sqrt();
        for (got, half) in axes.iter().zip([3.0, 2.0, 1.0]) {
            assert!((got - s3 * half).abs() < 1e-3, "{axes:?}");
        }
    }
}
