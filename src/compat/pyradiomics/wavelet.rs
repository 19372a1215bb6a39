//! PyRadiomics' Wavelet image type: PyWavelets' stationary (undecimated)
//! wavelet transform of the volume, as PyRadiomics 3.0.1 calls it.
//!
//! PyRadiomics pads every axis of odd length with one voxel copied from the
//! other end (numpy's `wrap`), then runs `start_level` single-level
//! transforms keeping only the approximation, then `level` more, each a
//! single-level `swtn` of the previous approximation (the filters are not
//! upsampled between levels). Each level yields its seven detail sub-bands,
//! cropped back to the image's shape, in PyWavelets' order (`LLH`, `LHL`,
//! `LHH`, `HLL`, `HLH`, `HHL`, `HHH`; letters for x, y, z: L the low-pass,
//! H the high-pass); the last approximation (`LLL`) comes after all levels.
//! Names: `wavelet-LLH` for the first level, `wavelet2-LLH` for the second.
//!
//! One level along one axis is a periodic convolution:
//! `a[i] = Σ_j lo[j] · x[(i + F/2 − j) mod N]` (`F` the filter length), the
//! same with the high-pass filter for `d`; values in double precision.

use ndarray::{Array3, Axis};
use rayon::prelude::*;

use super::params::Settings;
use crate::image::Volume;
use crate::{Error, Result};

/// PyWavelets' decomposition low-pass filters (`pywt.Wavelet(name).dec_lo`).
/// The high-pass filter is its quadrature mirror.
pub fn decomposition_low_pass(name: &str) -> Option<&'static [f64]> {
    // 1/√2, PyWavelets' 0.7071067811865476.
    const HAAR: [f64; 2] = [std::f64::consts::FRAC_1_SQRT_2; 2];
    const DB2: [f64; 4] = [
        -0.12940952255126037,
        0.2241438680420134,
        0.8365163037378079,
        0.48296291314453416,
    ];
    const DB3: [f64; 6] = [
        0.03522629188570953,
        -0.08544127388202666,
        -0.13501102001025458,
        0.45987750211849154,
        0.8068915093110925,
        0.33267055295008263,
    ];
    const SYM2: [f64; 4] = [
        -0.12940952255092145,
        0.22414386804185735,
        0.836516303737469,
        0.48296291314469025,
    ];
    const SYM3: [f64; 6] = [
        0.035226291882100656,
        -0.08544127388224149,
        -0.13501102001039084,
        0.4598775021193313,
        0.8068915093133388,
        0.3326705529509569,
    ];
    const COIF1: [f64; 6] = [
        -0.015655728135791993,
        -0.07273261951252645,
        0.3848648468648578,
        0.8525720202116004,
        0.3378976624574818,
        -0.07273261951252645,
    ];
    match name {
        "haar" | "db1" => Some(&HAAR),
        "db2" => Some(&DB2),
        "db3" => Some(&DB3),
        "sym2" => Some(&SYM2),
        "sym3" => Some(&SYM3),
        "coif1" => Some(&COIF1),
        _ => None,
    }
}

/// The wavelet the settings name (PyRadiomics' default: coif1), or an
/// error naming it when radial does not have its filters.
pub fn wavelet_of(s: &Settings) -> Result<&'static [f64]> {
    let name = s.wavelet.as_deref().unwrap_or("coif1");
    decomposition_low_pass(name).ok_or_else(|| {
        Error::setting(
            "imageType.Wavelet.wavelet",
            format!(
                "wavelet {name:?} is not implemented in radial's PyRadiomics mode (haar, db1, db2, db3, sym2, sym3 and coif1 are)"
            ),
        )
    })
}

/// The wavelet images PyRadiomics makes, named, in its order.
pub fn wavelet_images(image: &Volume<f64>, s: &Settings) -> Result<Vec<(String, Volume<f64>)>> {
    let lo = wavelet_of(s)?;
    let f = lo.len();
    let hi: Vec<f64> = (0..f)
        .map(|k| {
            let v = lo[f - 1 - k];
            if k % 2 == 0 { -v } else { v }
        })
        .collect();
    let start_level = s.start_level.unwrap_or(0).max(0) as usize;
    let levels = s.level.unwrap_or(1).max(1) as usize;
    let shape = image.data.raw_dim();
    let mut data = pad_to_even(&image.data);
    for _ in 0..start_level {
        data = approximation(&data, lo);
    }
    let crop = |a: &Array3<f64>| -> Volume<f64> {
        let v = a
            .slice(ndarray::s![..shape[0], ..shape[1], ..shape[2]])
            .to_owned();
        Volume::new(v, image.geometry)
    };
    let mut out = Vec::new();
    for level in 1..=levels {
        let bands = decompose(&data, lo, &hi);
        let prefix = if level == 1 {
            "wavelet".to_string()
        } else {
            format!("wavelet{level}")
        };
        let mut next = None;
        for (name, band) in bands {
            if name == "LLL" {
                next = Some(band);
            } else {
                out.push((format!("{prefix}-{name}"), crop(&band)));
            }
        }
        data = next.expect("the approximation is one of the sub-bands");
    }
    let name = if levels == 1 {
        "wavelet-LLL".to_string()
    } else {
        format!("wavelet{levels}-LLL")
    };
    out.push((name, crop(&data)));
    Ok(out)
}

/// numpy.pad(data, (0, 1) on odd axes, 'wrap').
fn pad_to_even(data: &Array3<f64>) -> Array3<f64> {
    let s = data.shape();
    let padded = [s[0] + s[0] % 2, s[1] + s[1] % 2, s[2] + s[2] % 2];
    Array3::from_shape_fn((padded[0], padded[1], padded[2]), |(k, j, i)| {
        data[[k % s[0], j % s[1], i % s[2]]]
    })
}

/// The approximation (low-pass on every axis) of one level.
fn approximation(data: &Array3<f64>, lo: &[f64]) -> Array3<f64> {
    let x = convolve(data, 2, lo);
    let y = convolve(&x, 1, lo);
    convolve(&y, 0, lo)
}

/// The eight sub-bands of one level, named with the x, y, z letters, in
/// PyWavelets' order (approximation first).
fn decompose(data: &Array3<f64>, lo: &[f64], hi: &[f64]) -> Vec<(String, Array3<f64>)> {
    let mut bands = vec![(String::new(), data.clone())];
    // PyRadiomics passes the axes as (2, 1, 0): x first, then y, then z.
    for axis in [2, 1, 0] {
        // The bands of a stage are independent (each freed once filtered);
        // the order of the list is kept.
        bands = bands
            .into_par_iter()
            .flat_map_iter(|(name, band)| {
                let (l, h) =
                    rayon::join(|| convolve(&band, axis, lo), || convolve(&band, axis, hi));
                [(format!("{name}L"), l), (format!("{name}H"), h)]
            })
            .collect();
    }
    bands
}

/// Periodic convolution of every line along `axis` with `filter`, aligned
/// as PyWavelets' single-level stationary transform.
fn convolve(data: &Array3<f64>, axis: usize, filter: &[f64]) -> Array3<f64> {
    let mut out = Array3::<f64>::zeros(data.raw_dim());
    let n = data.len_of(Axis(axis));
    let f = filter.len();
    // The line extended periodically so that output i reads
    // ext[i + f - 1 - j] for tap j: ext[t] = x[(t + shift + 1 - f) mod n].
    let first = (filter.len() / 2) as isize + 1 - f as isize;
    let mut ext = vec![0.0; n + f - 1];
    for (src, mut dst) in data
        .lanes(Axis(axis))
        .into_iter()
        .zip(out.lanes_mut(Axis(axis)))
    {
        for (t, e) in ext.iter_mut().enumerate() {
            *e = src[(t as isize + first).rem_euclid(n as isize) as usize];
        }
        for (i, o) in dst.iter_mut().enumerate() {
            let window = &ext[i..i + f];
            let mut sum = 0.0;
            // Taps in filter order, as the modular form adds them.
            for (c, &v) in filter.iter().zip(window.iter().rev()) {
                sum += c * v;
            }
            *o = sum;
        }
    }
    out
}

/// The periodic convolution as first written (index taken modulo the line
/// length per tap), kept to check the extended-line form against.
#[cfg(test)]
fn convolve_modular(data: &Array3<f64>, axis: usize, filter: &[f64]) -> Array3<f64> {
    let mut out = Array3::<f64>::zeros(data.raw_dim());
    let n = data.len_of(Axis(axis));
    let shift = filter.len() / 2;
    let mut line = vec![0.0; n];
    for (src, mut dst) in data
        .lanes(Axis(axis))
        .into_iter()
        .zip(out.lanes_mut(Axis(axis)))
    {
        for (l, &v) in line.iter_mut().zip(src.iter()) {
            *l = v;
        }
        for (i, o) in dst.iter_mut().enumerate() {
            let mut sum = 0.0;
            for (j, &c) in filter.iter().enumerate() {
                let idx = (i + shift + n * filter.len() - j) % n;
                sum += c * line[idx];
            }
            *o = sum;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn haar_sub_bands_are_named_in_pywavelets_order() {
        let data = Array3::from_shape_fn((3, 4, 5), |(k, j, i)| (k * 20 + j * 5 + i) as f64);
        let v = Volume::new(data, Geometry::new([1.0; 3], [0.0; 3]));
        let s = Settings {
            wavelet: Some("haar".into()),
            ..Settings::default()
        };
        let out = wavelet_images(&v, &s).unwrap();
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "wavelet-LLH",
                "wavelet-LHL",
                "wavelet-LHH",
                "wavelet-HLL",
                "wavelet-HLH",
                "wavelet-HHL",
                "wavelet-HHH",
                "wavelet-LLL"
            ]
        );
        assert_eq!(out[0].1.data.shape(), &[3, 4, 5]);
        // Haar low-pass of a line: (x[i] + x[i+1]) / sqrt 2 per axis, so
        // the approximation at an interior voxel is the 2×2×2 block sum / 2√2.
        let lll = &out[7].1.data;
        let block: f64 = (0..2)
            .flat_map(|dk| (0..2).flat_map(move |dj| (0..2).map(move |di| (dk, dj, di))))
            .map(|(dk, dj, di)| ((dk) * 20 + (1 + dj) * 5 + 1 + di) as f64)
            .sum();
        assert!((lll[[0, 1, 1]] - block / 8f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn extended_line_convolution_is_the_modular_one_bit_for_bit() {
        // Odd values so that every product and sum rounds; lines shorter
        // than the filter too (the index wraps more than once).
        let data = Array3::from_shape_fn((3, 5, 8), |(k, j, i)| {
            ((k * 131 + j * 17 + i * 7) as f64).sin() * 1000.0 / 3.0
        });
        for name in ["haar", "db2", "db3", "coif1"] {
            let lo = decomposition_low_pass(name).unwrap();
            for axis in 0..3 {
                let fast = convolve(&data, axis, lo);
                let slow = convolve_modular(&data, axis, lo);
                for (a, b) in fast.iter().zip(slow.iter()) {
                    assert_eq!(a.to_bits(), b.to_bits(), "{name} axis {axis}");
                }
            }
        }
    }

    #[test]
    fn unknown_wavelets_are_refused_by_name() {
        let s = Settings {
            wavelet: Some("bior1.3".into()),
            ..Settings::default()
        };
        let e = wavelet_of(&s).unwrap_err().to_string();
        assert!(
            e.contains("imageType.Wavelet.wavelet") && e.contains("bior1.3"),
            "{e}"
        );
    }
}
