//! Eigenvalues of a dense real symmetric matrix in O(n³) once: Householder
//! reduction to tridiagonal form, then implicit QL iterations with Wilkinson
//! shifts on the tridiagonal matrix (O(n²) in all). GLCM's MCC needs the
//! spectrum of an m×m matrix with m up to the number of grey levels present
//! (about a thousand for CT at bin width 1), where cyclic Jacobi's sweeps of
//! O(n³) each took minutes.

/// The eigenvalues of the symmetric `n`×`n` matrix `a` (row-major; only
/// its values matter, both triangles are read), in no particular order.
pub fn symmetric_eigenvalues(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * n, "a {n}×{n} matrix");
    let (mut d, mut e) = tridiagonalise(&mut a, n);
    tridiagonal_ql(&mut d, &mut e);
    d
}

/// Householder reduction: returns the diagonal `d` and the off-diagonal `e`
/// (`e[k]` couples rows k and k+1; `e[n-1]` = 0) of T = Hᵀ A H. `a` is
/// overwritten. Step k reflects rows and columns k+1.. so that column k
/// below the subdiagonal becomes zero; the reflection I − 2vvᵀ is applied
/// to the trailing block as the rank-2 update A − 2(vqᵀ + qvᵀ) with
/// p = Av and q = p − (vᵀp)v.
fn tridiagonalise(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    let mut v = vec![0.0; n];
    let mut p = vec![0.0; n];
    for k in 0..n.saturating_sub(2) {
        let lo = k + 1;
        // The column below the diagonal, scaled against over/underflow.
        let scale: f64 = (lo..n).map(|i| a[i * n + k].abs()).sum();
        d[k] = a[k * n + k];
        if scale == 0.0 {
            e[k] = 0.0;
            continue;
        }
        let mut norm2 = 0.0;
        for i in lo..n {
            v[i] = a[i * n + k] / scale;
            norm2 += v[i] * v[i];
        }
        let x0 = v[lo];
        // alpha has the sign opposite to x0, so v0 = x0 − alpha does not cancel.
        let alpha = -x0.signum() * norm2.sqrt();
        e[k] = alpha * scale;
        v[lo] = x0 - alpha;
        // ‖v‖² = ‖x‖² − 2 x0 alpha + alpha² = 2(‖x‖² − x0 alpha).
        let vnorm2 = 2.0 * (norm2 - x0 * alpha);
        let inv = 1.0 / vnorm2.sqrt();
        for vi in &mut v[lo..n] {
            *vi *= inv;
        }
        // p = A22 v (rows are contiguous), K = vᵀp, q = p − K v (kept in p).
        for i in lo..n {
            let row = &a[i * n + lo..i * n + n];
            p[i] = row.iter().zip(&v[lo..n]).map(|(x, y)| x * y).sum();
        }
        let kk: f64 = (lo..n).map(|i| v[i] * p[i]).sum();
        for i in lo..n {
            p[i] -= kk * v[i];
        }
        for i in lo..n {
            let (vi, qi) = (v[i], p[i]);
            let row = &mut a[i * n + lo..i * n + n];
            for ((x, &vj), &qj) in row.iter_mut().zip(&v[lo..n]).zip(&p[lo..n]) {
                *x -= 2.0 * (vi * qj + qi * vj);
            }
        }
    }
    if n >= 2 {
        d[n - 2] = a[(n - 2) * n + n - 2];
        e[n - 2] = a[(n - 1) * n + n - 2];
    }
    if n >= 1 {
        d[n - 1] = a[(n - 1) * n + n - 1];
    }
    (d, e)
}

/// Implicit QL with Wilkinson shifts on the symmetric tridiagonal matrix
/// (`d` diagonal, `e[i]` between i and i+1): on return `d` holds the
/// eigenvalues. Each block [l, m] bounded by negligible off-diagonals is
/// chased with Givens rotations from its bottom until e[l] vanishes.
fn tridiagonal_ql(d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    for l in 0..n {
        let mut iterations = 0;
        loop {
            // The first negligible off-diagonal at or after l ends the block.
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iterations += 1;
            // Convergence is cubic; a bound only guards against a NaN input.
            if iterations > 60 {
                break;
            }
            // Shift: the eigenvalue of the leading 2×2 closer to d[l].
            let g0 = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let r0 = g0.hypot(1.0);
            let mut g = d[m] - d[l] + e[l] / (g0 + r0.copysign(g0));
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut deflated = false;
            for i in (l..m).rev() {
                let f = s * e[i];
                let b = c * e[i];
                let r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    // Underflow: the block splits at i+1; start again.
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                let h = d[i + 1] - p;
                let t = (d[i] - h) * s + 2.0 * c * b;
                p = s * t;
                d[i + 1] = h + p;
                g = c * t - b;
            }
            if deflated {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random stream in [-1, 1) (SplitMix64).
    struct Stream(u64);
    impl Stream {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        }
    }

    /// U diag(values) Uᵀ with U a random orthogonal matrix (a product of
    /// random reflections), so the spectrum is known exactly.
    fn with_spectrum(values: &[f64], seed: u64) -> Vec<f64> {
        let n = values.len();
        let mut a = vec![0.0; n * n];
        for (i, &v) in values.iter().enumerate() {
            a[i * n + i] = v;
        }
        let mut rng = Stream(seed);
        for _ in 0..3 {
            let mut w: Vec<f64> = (0..n).map(|_| rng.next()).collect();
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            w.iter_mut().for_each(|x| *x /= norm);
            // A <- H A H with H = I − 2wwᵀ.
            let aw: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| a[i * n + j] * w[j]).sum())
                .collect();
            let waw: f64 = (0..n).map(|i| w[i] * aw[i]).sum();
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] +=
                        -2.0 * w[i] * aw[j] - 2.0 * aw[i] * w[j] + 4.0 * waw * w[i] * w[j];
                }
            }
        }
        // Exactly symmetric, as the solver's input is.
        for i in 0..n {
            for j in 0..i {
                let m = 0.5 * (a[i * n + j] + a[j * n + i]);
                a[i * n + j] = m;
                a[j * n + i] = m;
            }
        }
        a
    }

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    fn assert_spectrum(got: Vec<f64>, want: &[f64], tol: f64) {
        let (got, want) = (sorted(got), sorted(want.to_vec()));
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= tol * scale,
                "{g} vs {w}\n{got:?}\n{want:?}"
            );
        }
    }

    #[test]
    fn one_by_one_and_empty() {
        assert_eq!(symmetric_eigenvalues(vec![-3.5], 1), vec![-3.5]);
        assert!(symmetric_eigenvalues(vec![], 0).is_empty());
    }

    #[test]
    fn two_by_two_matches_the_closed_form() {
        // [[a, b], [b, c]]: (a+c)/2 ± √(((a−c)/2)² + b²).
        for &(a, b, c) in &[
            (2.0, 1.0, 2.0),
            (1.0, 1e-9, 1.0),
            (0.0, 3.0, -4.0),
            (5.0, 0.0, 1.0),
        ] {
            let h = (((a - c) / 2.0f64).powi(2) + b * b).sqrt();
            let m = (a + c) / 2.0;
            assert_spectrum(
                symmetric_eigenvalues(vec![a, b, b, c], 2),
                &[m - h, m + h],
                1e-15,
            );
        }
    }

    #[test]
    fn small_matrix_with_a_known_spectrum() {
        // [[2,1,0],[1,2,0],[0,0,5]]: 1, 3, 5.
        let e = symmetric_eigenvalues(vec![2.0, 1.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 5.0], 3);
        assert_spectrum(e, &[1.0, 3.0, 5.0], 1e-15);
    }

    #[test]
    fn tridiagonal_toeplitz_matrix_has_its_cosine_spectrum() {
        // tridiag(1, 2, 1) of order n: 2 + 2 cos(kπ/(n+1)), k = 1..n.
        let n = 50;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 2.0;
            if i + 1 < n {
                a[i * n + i + 1] = 1.0;
                a[(i + 1) * n + i] = 1.0;
            }
        }
        let want: Vec<f64> = (1..=n)
            .map(|k| 2.0 + 2.0 * (k as f64 * std::f64::consts::PI / (n + 1) as f64).cos())
            .collect();
        assert_spectrum(symmetric_eigenvalues(a, n), &want, 1e-13);
    }

    #[test]
    fn random_rotations_of_known_spectra() {
        let mut rng = Stream(7);
        for (seed, n) in [(1u64, 4usize), (2, 17), (3, 60), (4, 200)] {
            let values: Vec<f64> = (0..n).map(|_| 10.0 * rng.next()).collect();
            let a = with_spectrum(&values, seed);
            assert_spectrum(symmetric_eigenvalues(a, n), &values, 1e-12);
        }
    }

    #[test]
    fn repeated_and_zero_eigenvalues() {
        // A projector-like spectrum as GLCM's Q has: one 1, clusters, zeros.
        let mut values = vec![1.0, 0.25, 0.25, 0.25, 0.5, 0.5];
        values.extend(std::iter::repeat_n(0.0, 30));
        let a = with_spectrum(&values, 11);
        let n = values.len();
        assert_spectrum(symmetric_eigenvalues(a, n), &values, 1e-13);
        // Every eigenvalue equal: the identity, rotated or not.
        let a = with_spectrum(&[3.0; 9], 12);
        assert_spectrum(symmetric_eigenvalues(a, 9), &[3.0; 9], 1e-13);
        // The zero matrix and a diagonal one (already tridiagonal, e = 0).
        assert_spectrum(symmetric_eigenvalues(vec![0.0; 16], 4), &[0.0; 4], 0.0);
        let mut diag = vec![0.0; 9];
        diag[0] = 4.0;
        diag[4] = -1.0;
        diag[8] = 4.0;
        assert_spectrum(symmetric_eigenvalues(diag, 3), &[-1.0, 4.0, 4.0], 0.0);
    }

    #[test]
    fn block_diagonal_matrix_splits() {
        // Two uncoupled blocks: the off-diagonal between them is exactly zero.
        let n = 6;
        let b1 = with_spectrum(&[1.0, 2.0, 3.0], 21);
        let b2 = with_spectrum(&[-5.0, 0.5, 9.0], 22);
        let mut a = vec![0.0; n * n];
        for i in 0..3 {
            for j in 0..3 {
                a[i * n + j] = b1[i * 3 + j];
                a[(i + 3) * n + j + 3] = b2[i * 3 + j];
            }
        }
        assert_spectrum(
            symmetric_eigenvalues(a, n),
            &[1.0, 2.0, 3.0, -5.0, 0.5, 9.0],
            1e-13,
        );
    }
}
