//! IBSI family: intensity-volume histogram (IBSI 3.5), on the intensity-mask
//! voxels with the family's own discretisation (`settings.ivh`):
//! - `none`: the intensities themselves on a grid of step 1 (calibrated,
//!   discrete intensities such as CT); the range G is the re-segmentation
//!   range (open sides: the ROI minimum / maximum), else the ROI range.
//! - `fixed_bin_size`: bins of the given width starting at `min` (default:
//!   the re-segmentation lower bound, else the ROI minimum); grey levels are
//!   the bin centres (calibrated, continuous intensities such as PET).
//! - `fixed_bin_number`: bins over the ROI range; grey levels are the bin
//!   numbers 1..=N (arbitrary intensity units).

use super::descriptive::intensity_mask_values;
use super::{FamilyInput, FeatureSet};
use crate::processing::{DiscretisationSettings, ResegmentationSettings};
use crate::{Error, Result};

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let values = intensity_mask_values(input.roi)?;
    let ivh = Ivh::build(&values, &input.settings.ivh, &input.settings.resegmentation)?;
    let (v10, v90) = (ivh.volume_at_intensity(0.10), ivh.volume_at_intensity(0.90));
    let (i10, i90) = (ivh.intensity_at_volume(0.10), ivh.intensity_at_volume(0.90));
    out.push("ivh_v10", v10);
    out.push("ivh_v90", v90);
    out.push("ivh_i10", i10);
    out.push("ivh_i90", i90);
    out.push("ivh_diff_v10_v90", v10 - v90);
    out.push("ivh_diff_i10_i90", i10 - i90);
    out.push("ivh_auc", ivh.area_under_curve());
    Ok(())
}

/// Slack for comparing fractions computed in floating point with the exact
/// thresholds 0.1 and 0.9.
const FRACTION_SLACK: f64 = 1e-12;

/// The cumulative histogram on the grid `start + k step`, k = 0..n.
#[derive(Debug)]
struct Ivh {
    start: f64,
    step: f64,
    /// ν_k: fraction of voxels whose discretised intensity is at least grid value k.
    volume_fraction: Vec<f64>,
}

impl Ivh {
    fn build(
        values: &[f64],
        settings: &DiscretisationSettings,
        reseg: &ResegmentationSettings,
    ) -> Result<Ivh> {
        let (data_min, data_max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let range = reseg.range.unwrap_or([None, None]);
        let low = range[0].unwrap_or(data_min);
        let high = range[1].unwrap_or(data_max);
        // (grid start, step, number of grid values, bin of a value)
        let (start, step, n, bin): (f64, f64, usize, Box<dyn Fn(f64) -> f64>) = match *settings {
            DiscretisationSettings::None => {
                let n = (high - low).floor() as usize + 1;
                let bin = move |v: f64| (v - low).floor();
                (low, 1.0, n, Box::new(bin))
            }
            DiscretisationSettings::FixedBinSize { bin_width, min } => {
                if bin_width.is_nan() || bin_width <= 0.0 {
                    return Err(Error::setting(
                        "ivh.bin_width",
                        format!("must be positive, got {bin_width}"),
                    ));
                }
                let x_min = min.unwrap_or(low);
                let n = ((high - x_min) / bin_width).floor() as usize + 1;
                let bin = move |v: f64| ((v - x_min) / bin_width).floor();
                (x_min + 0.5 * bin_width, bin_width, n, Box::new(bin))
            }
            DiscretisationSettings::FixedBinNumber { bins } => {
                if bins == 0 {
                    return Err(Error::setting("ivh.bins", "must be at least 1"));
                }
                let width = data_max - data_min;
                let nb = bins as f64;
                let bin = move |v: f64| {
                    if width > 0.0 {
                        (nb * (v - data_min) / width).floor()
                    } else {
                        0.0
                    }
                };
                (1.0, 1.0, bins as usize, Box::new(bin))
            }
        };
        // The histogram and its cumulative fractions hold one value per
        // grid step: refuse a grid no memory holds (a range of 10^15 HU on
        // a step of 1) before allocating it.
        let setting = match settings {
            DiscretisationSettings::None => "ivh.method",
            DiscretisationSettings::FixedBinSize { .. } => "ivh.bin_width",
            DiscretisationSettings::FixedBinNumber { .. } => "ivh.bins",
        };
        crate::processing::estimate::check(
            setting,
            &format!("an intensity-volume histogram of {n} bins"),
            n as f64 * 16.0,
        )?;
        let mut counts = vec![0u64; n.max(1)];
        let last = counts.len() - 1;
        for &v in values {
            let k = bin(v).max(0.0) as usize;
            counts[k.min(last)] += 1;
        }
        let total = values.len() as f64;
        let mut below = 0u64;
        let volume_fraction = counts
            .iter()
            .map(|&c| {
                let nu = 1.0 - below as f64 / total;
                below += c;
                nu
            })
            .collect();
        Ok(Ivh {
            start,
            step,
            volume_fraction,
        })
    }

    fn len(&self) -> usize {
        self.volume_fraction.len()
    }

    fn intensity(&self, k: usize) -> f64 {
        self.start + k as f64 * self.step
    }

    /// γ_k; a single grid value has fraction 0.
    fn intensity_fraction(&self, k: usize) -> f64 {
        if self.len() < 2 {
            0.0
        } else {
            k as f64 / (self.len() - 1) as f64
        }
    }

    /// V_x: the largest ν among grid values with γ >= x (ν decreases with k).
    fn volume_at_intensity(&self, x: f64) -> f64 {
        (0..self.len())
            .find(|&k| self.intensity_fraction(k) >= x - FRACTION_SLACK)
            .map_or(0.0, |k| self.volume_fraction[k])
    }

    /// I_x: the lowest grid intensity with ν <= x; past the last grid value
    /// when even the highest is found in more than x of the volume.
    fn intensity_at_volume(&self, x: f64) -> f64 {
        (0..self.len())
            .find(|&k| self.volume_fraction[k] <= x + FRACTION_SLACK)
            .map_or(self.intensity(self.len()), |k| self.intensity(k))
    }

    /// Trapezoidal area under ν(γ); 0 for a single grid value.
    fn area_under_curve(&self) -> f64 {
        (1..self.len())
            .map(|k| {
                let dg = self.intensity_fraction(k) - self.intensity_fraction(k - 1);
                dg * (self.volume_fraction[k] + self.volume_fraction[k - 1]) / 2.0
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> DiscretisationSettings {
        DiscretisationSettings::None
    }

    fn assert_fractions(ivh: &Ivh, expected: &[f64]) {
        assert_eq!(ivh.volume_fraction.len(), expected.len(), "{ivh:?}");
        for (a, b) in ivh.volume_fraction.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{ivh:?} vs {expected:?}");
        }
    }

    #[test]
    fn integer_intensities_use_a_unit_grid_over_the_roi_range() {
        // 1,1,1,3,4 -> grid 1..=4, nu = 1, 0.4, 0.4, 0.2
        let ivh = Ivh::build(&[1.0, 1.0, 1.0, 3.0, 4.0], &none(), &Default::default()).unwrap();
        assert_fractions(&ivh, &[1.0, 0.4, 0.4, 0.2]);
        // gamma = 0, 1/3, 2/3, 1
        assert_eq!(ivh.volume_at_intensity(0.1), 0.4);
        assert!((ivh.volume_at_intensity(0.9) - 0.2).abs() < 1e-12);
        assert_eq!(ivh.intensity_at_volume(0.5), 2.0);
        assert_eq!(ivh.intensity_at_volume(0.1), 5.0);
        let auc = (1.0 + 0.4) / 6.0 + 0.4 / 3.0 + 0.6 / 6.0;
        assert!((ivh.area_under_curve() - auc).abs() < 1e-12);
    }

    #[test]
    fn resegmentation_range_sets_the_grid() {
        let reseg = ResegmentationSettings {
            range: Some([Some(0.0), None]),
            outlier_sigma: None,
        };
        let ivh = Ivh::build(&[2.0, 4.0], &none(), &reseg).unwrap();
        assert_fractions(&ivh, &[1.0, 1.0, 1.0, 0.5, 0.5]);
        assert_eq!(ivh.intensity(0), 0.0);
    }

    #[test]
    fn fixed_bin_size_reports_bin_centres() {
        let settings = DiscretisationSettings::FixedBinSize {
            bin_width: 2.5,
            min: Some(-10.0),
        };
        let ivh = Ivh::build(&[-10.0, -6.0, -1.0, 0.0], &settings, &Default::default()).unwrap();
        // bins [-10,-7.5) [-7.5,-5) [-5,-2.5) [-2.5,0) [0,2.5)
        assert_fractions(&ivh, &[1.0, 0.75, 0.5, 0.5, 0.25]);
        assert_eq!(ivh.intensity_at_volume(0.5), -5.0 + 1.25);
    }

    #[test]
    fn fixed_bin_number_uses_bin_numbers() {
        let settings = DiscretisationSettings::FixedBinNumber { bins: 4 };
        let ivh = Ivh::build(&[0.0, 1.0, 2.0, 4.0], &settings, &Default::default()).unwrap();
        assert_fractions(&ivh, &[1.0, 0.75, 0.5, 0.25]);
        assert_eq!(ivh.intensity_at_volume(0.5), 3.0);
    }
}
