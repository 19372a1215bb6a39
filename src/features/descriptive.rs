//! Descriptive statistics shared by the intensity statistics (on intensities)
//! and the intensity histogram (on grey levels): moments, quantiles and the
//! dispersion measures IBSI defines identically for both families.

use crate::processing::RoiImage;
use crate::{Error, Result};

/// Intensities of the intensity-mask voxels, in array (C) order.
pub fn intensity_mask_values(roi: &RoiImage) -> Result<Vec<f64>> {
    if roi.int_mask.shape() != roi.image.data.shape() {
        return Err(Error::data(format!(
            "intensity mask shape {:?} differs from image shape {:?}",
            roi.int_mask.shape(),
            roi.image.data.shape()
        )));
    }
    let values: Vec<f64> = roi
        .image
        .data
        .iter()
        .zip(roi.int_mask.iter())
        .filter(|&(_, &m)| m)
        .map(|(&v, _)| v as f64)
        .collect();
    if values.is_empty() {
        return Err(Error::data("the intensity mask is empty"));
    }
    Ok(values)
}

/// The `p`-quantile (`p` in [0, 1]) of sorted values, by linear interpolation
/// between order statistics at position `p (n - 1)` (Hyndman-Fan type 7, the
/// numpy default that the IBSI reference implementations use).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let pos = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// Central moments and their standardised forms.
#[derive(Debug, Clone, Copy)]
pub struct Moments {
    pub mean: f64,
    /// Population variance (no bias correction, as IBSI requires).
    pub variance: f64,
    /// 0 when the variance is 0.
    pub skewness: f64,
    /// Excess kurtosis; 0 when the variance is 0.
    pub kurtosis: f64,
}

pub fn moments(values: &[f64]) -> Moments {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &v in values {
        let d = v - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    let (skewness, kurtosis) = if m2 > 0.0 {
        (m3 / m2.powf(1.5), m4 / (m2 * m2) - 3.0)
    } else {
        (0.0, 0.0)
    };
    Moments {
        mean,
        variance: m2,
        skewness,
        kurtosis,
    }
}

/// Mean absolute deviation of `values` from `centre`.
fn mean_abs_deviation(values: &[f64], centre: f64) -> f64 {
    values.iter().map(|v| (v - centre).abs()).sum::<f64>() / values.len() as f64
}

/// Pushes the 16 features IBSI defines alike for intensities (`stat_`) and
/// grey levels (`ih_`), in reference order. `mode`, when given, is pushed
/// after the maximum (the histogram family has it, statistics does not).
/// `values` is sorted in place.
pub fn push_distribution_features(
    prefix: &str,
    values: &mut [f64],
    mode: Option<f64>,
    out: &mut crate::features::FeatureSet,
) {
    values.sort_by(f64::total_cmp);
    let m = moments(values);
    let min = values[0];
    let max = values[values.len() - 1];
    let median = quantile(values, 0.5);
    let p10 = quantile(values, 0.10);
    let p25 = quantile(values, 0.25);
    let p75 = quantile(values, 0.75);
    let p90 = quantile(values, 0.90);
    // Sorted, so the 10-90 subset is a contiguous slice.
    let lo = values.partition_point(|&v| v < p10);
    let hi = values.partition_point(|&v| v <= p90);
    let robust = &values[lo..hi];
    let robust_mean = robust.iter().sum::<f64>() / robust.len() as f64;

    out.push(format!("{prefix}_mean"), m.mean);
    out.push(format!("{prefix}_var"), m.variance);
    out.push(format!("{prefix}_skew"), m.skewness);
    out.push(format!("{prefix}_kurt"), m.kurtosis);
    out.push(format!("{prefix}_median"), median);
    out.push(format!("{prefix}_min"), min);
    out.push(format!("{prefix}_p10"), p10);
    out.push(format!("{prefix}_p90"), p90);
    out.push(format!("{prefix}_max"), max);
    if let Some(mode) = mode {
        out.push(format!("{prefix}_mode"), mode);
    }
    out.push(format!("{prefix}_iqr"), p75 - p25);
    out.push(format!("{prefix}_range"), max - min);
    out.push(format!("{prefix}_mad"), mean_abs_deviation(values, m.mean));
    out.push(
        format!("{prefix}_rmad"),
        mean_abs_deviation(robust, robust_mean),
    );
    out.push(
        format!("{prefix}_medad"),
        mean_abs_deviation(values, median),
    );
    out.push(format!("{prefix}_cov"), m.variance.sqrt() / m.mean);
    out.push(format!("{prefix}_qcod"), (p75 - p25) / (p75 + p25));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 1.0), 10.0);
        // position 0.9 * 4 = 3.6 -> 4 + 0.6 * 6
        assert!((quantile(&v, 0.9) - 7.6).abs() < 1e-12);
        assert!((quantile(&v, 0.25) - 2.0).abs() < 1e-12);
        assert_eq!(quantile(&[5.0], 0.3), 5.0);
    }

    #[test]
    fn moments_of_a_small_sample() {
        let m = moments(&[1.0, 2.0, 3.0, 6.0]);
        assert!((m.mean - 3.0).abs() < 1e-12);
        // deviations -2,-1,0,3: m2 = 14/4, m3 = (-8-1+27)/4, m4 = (16+1+81)/4
        assert!((m.variance - 3.5).abs() < 1e-12);
        assert!((m.skewness - 4.5 / 3.5f64.powf(1.5)).abs() < 1e-12);
        assert!((m.kurtosis - (24.5 / 12.25 - 3.0)).abs() < 1e-12);
        let flat = moments(&[2.0, 2.0]);
        assert_eq!((flat.skewness, flat.kurtosis), (0.0, 0.0));
    }

    #[test]
    fn robust_mad_uses_the_10_90_range() {
        let mut v: Vec<f64> = (1..=11).map(f64::from).collect();
        let mut out = crate::features::FeatureSet::new();
        push_distribution_features("x", &mut v, None, &mut out);
        // p10 = 2, p90 = 10: values 2..=10, mean 6, mean |dev| = 20/9.
        assert!((out.get("x_rmad").unwrap() - 20.0 / 9.0).abs() < 1e-12);
        assert_eq!(out.get("x_iqr"), Some(5.0));
        assert_eq!(out.len(), 16);
    }
}
