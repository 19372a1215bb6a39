//! Undecimated separable wavelets (IBSI 2, 25BO), decomposed by the à trous
//! algorithm: level 1 convolves with the sub-band's kernels (L: low-pass,
//! H: high-pass decomposition filter along each axis); level n first
//! applies the low-pass filter on every axis n − 1 times, the kernels being
//! dilated (a zero inserted between taps) after each level.

use ndarray::Array3;

use super::boundary::Boundary;
use super::rotation::{AxisChains, Pooling, pool_separable, rotated_chains};
use super::separable::odd_kernel;
use super::settings::{Dimensions, WaveletFamily};

/// The decomposition low-pass filter (PyWavelets' `dec_lo` convention).
pub fn low_pass(family: WaveletFamily) -> Vec<f64> {
    let s2 = std::f64::consts::SQRT_2;
    let s3 = 3f64.sqrt();
    match family {
        WaveletFamily::Haar => vec![std::f64::consts::FRAC_1_SQRT_2; 2],
        // Daubechies 2 in closed form: (1 ∓ √3)/4√2, (3 ∓ √3)/4√2, reversed.
        WaveletFamily::Db2 => {
            let d = 4.0 * s2;
            vec![
                (1.0 - s3) / d,
                (3.0 - s3) / d,
                (3.0 + s3) / d,
                (1.0 + s3) / d,
            ]
        }
        WaveletFamily::Db3 => vec![
            0.035226291882100656,
            -0.08544127388224149,
            -0.13501102001039084,
            0.4598775021193313,
            0.8068915093133388,
            0.3326705529509569,
        ],
        WaveletFamily::Coif1 => vec![
            -0.01565572813546454,
            -0.0727326195128539,
            0.38486484686420286,
            0.8525720202122554,
            0.3378976624578092,
            -0.0727326195128539,
        ],
    }
}

/// The decomposition high-pass filter: the quadrature mirror of the
/// low-pass one, `hi[k] = (−1)^(k+1) · lo[N−1−k]`.
pub fn high_pass(family: WaveletFamily) -> Vec<f64> {
    let lo = low_pass(family);
    let n = lo.len();
    (0..n)
        .map(|k| {
            let sign = if k % 2 == 0 { -1.0 } else { 1.0 };
            sign * lo[n - 1 - k]
        })
        .collect()
}

/// Inserts a zero between neighbouring taps (à trous).
fn dilate(kernel: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; 2 * kernel.len() - 1];
    for (i, &v) in kernel.iter().enumerate() {
        out[2 * i] = v;
    }
    out
}

pub struct WaveletFilter<'a> {
    pub family: WaveletFamily,
    pub subband: &'a str,
    pub level: usize,
    pub rotation_invariant: bool,
    pub pooling: Pooling,
    pub dimensions: Dimensions,
    pub boundary: Boundary,
}

pub fn wavelet(data: &Array3<f64>, f: &WaveletFilter) -> Array3<f64> {
    let lo = odd_kernel(&low_pass(f.family));
    let hi = odd_kernel(&high_pass(f.family));
    // Along each axis: the low-pass kernel at levels 1 .. level−1, then the
    // sub-band's kernel, each dilated to its level. Operators on different
    // axes commute, so applying all levels along k, then j, then i equals
    // the level-by-level scheme; the pre-filter and band kernels rotate
    // together because they form one chain per axis.
    let chains: AxisChains = f
        .subband
        .chars()
        .map(|c| {
            let mut pre = lo.clone();
            let mut band = if c == 'L' { lo.clone() } else { hi.clone() };
            let mut chain = Vec::new();
            for _ in 1..f.level {
                chain.push(pre.clone());
                pre = dilate(&pre);
                band = dilate(&band);
            }
            chain.push(band);
            chain
        })
        .collect();
    let filters = if f.rotation_invariant {
        rotated_chains(&chains, f.dimensions.count())
    } else {
        vec![chains]
    };
    pool_separable(data, &filters, f.pooling, f.boundary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_orthonormal_quadrature_mirrors() {
        for family in [
            WaveletFamily::Haar,
            WaveletFamily::Db2,
            WaveletFamily::Db3,
            WaveletFamily::Coif1,
        ] {
            let lo = low_pass(family);
            let hi = high_pass(family);
            let sum: f64 = lo.iter().sum();
            // The tabulated coefficients (PyWavelets) carry about 12 digits.
            assert!(
                (sum - std::f64::consts::SQRT_2).abs() < 1e-10,
                "{family:?} sum {sum}"
            );
            assert!(hi.iter().sum::<f64>().abs() < 1e-10, "{family:?}");
            // Orthonormal to their even shifts.
            for shift in (0..lo.len()).step_by(2) {
                let dot: f64 = (0..lo.len() - shift).map(|k| lo[k] * lo[k + shift]).sum();
                let expected = if shift == 0 { 1.0 } else { 0.0 };
                assert!(
                    (dot - expected).abs() < 1e-10,
                    "{family:?} shift {shift}: {dot}"
                );
            }
        }
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert_eq!(high_pass(WaveletFamily::Haar), vec![-s, s]);
    }

    #[test]
    fn haar_level_two_by_hand() {
        // Along i only (2D H L on one row): level 1 H = (−s, s, 0) true
        // convolution: out[i] = −s·x[i+1] + s·x[i]... with the padded kernel
        // [−s, s, 0] and centre 1: out[i] = w0 x[i+1] + w1 x[i].
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let x = Array3::from_shape_vec((1, 1, 6), vec![0., 0., 1., 0., 0., 0.]).unwrap();
        let f = WaveletFilter {
            family: WaveletFamily::Haar,
            subband: "HL",
            level: 1,
            rotation_invariant: false,
            pooling: Pooling::Max,
            dimensions: Dimensions::Two,
            boundary: Boundary::Zero,
        };
        let out = wavelet(&x, &f);
        // L along j on a single row, zero boundary: factor s (centre tap).
        let got: Vec<f64> = out.iter().copied().collect();
        let expected = [0.0, -s * s, s * s, 0.0, 0.0, 0.0];
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-15, "{got:?}");
        }
        // Level 2: low-pass once ([s, s, 0] -> out[i] = s x[i+1] + s x[i]),
        // then the dilated high-pass [−s, 0, s, 0, 0] with centre 2:
        // out[i] = −s·y[i+2] + s·y[i].
        let f = WaveletFilter { level: 2, ..f };
        let out = wavelet(&x, &f);
        let got: Vec<f64> = out.iter().copied().collect();
        // Row direction: y = s·(x[i+1] + x[i]) (times s·s for the j axis at
        // each level on a single row).
        let y: Vec<f64> = (0..6)
            .map(|i| {
                let xi = |k: usize| {
                    if k < 6 {
                        [0., 0., 1., 0., 0., 0.][k]
                    } else {
                        0.0
                    }
                };
                s * (xi(i + 1) + xi(i)) * s
            })
            .collect();
        for i in 0..6 {
            let yi = |k: usize| if k < 6 { y[k] } else { 0.0 };
            let e = (-s * yi(i + 2) + s * yi(i)) * s;
            assert!((got[i] - e).abs() < 1e-15, "{i}: {got:?}");
        }
    }
}
