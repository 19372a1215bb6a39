//! Discretisation of intensities into grey levels (IBSI 2.6).

use ndarray::{Array3, Zip};

use super::{DiscretisationSettings, ResegmentationSettings, estimate};
use crate::image::precision;
use crate::{Error, Result};

/// Grey levels (1..) of the voxels in `mask`, 0 elsewhere, and the number of
/// levels Ng (for a fixed bin size, the highest level present). `prefix`
/// names the settings in errors (`discretisation` or `ivh`).
pub fn discretise_values(
    image: &Array3<f32>,
    mask: &Array3<bool>,
    settings: &DiscretisationSettings,
    resegmentation: &ResegmentationSettings,
    prefix: &str,
) -> Result<(Array3<u32>, u32)> {
    settings.validate(prefix)?;
    let inside = || {
        image
            .iter()
            .zip(mask.iter())
            .filter(|(_, m)| **m)
            .map(|(v, _)| f64::from(*v))
    };
    let min = inside().fold(f64::INFINITY, f64::min);
    let max = inside().fold(f64::NEG_INFINITY, f64::max);
    if !min.is_finite() {
        return Err(Error::data("discretisation: the intensity mask is empty"));
    }
    let level: Box<dyn Fn(f64) -> Result<u32>> = match *settings {
        DiscretisationSettings::None => {
            // Beyond u32, the per-voxel check below names the intensity.
            if max < f64::from(u32::MAX) {
                check_levels(&format!("{prefix}.method"), max.floor().max(1.0))?;
            }
            Box::new(|x: f64| {
                if x >= 1.0 && x.fract() == 0.0 && x <= f64::from(u32::MAX) {
                    Ok(x as u32)
                } else {
                    Err(Error::setting(
                        format!("{prefix}.method"),
                        format!(
                            "`none` uses intensities as grey levels, which must be positive integers, \
                         but the ROI contains {x}; choose fixed_bin_number or fixed_bin_size"
                        ),
                    ))
                }
            })
        }
        DiscretisationSettings::FixedBinNumber { bins } => {
            let ng = f64::from(bins);
            check_levels(&format!("{prefix}.bins"), ng)?;
            Box::new(move |x: f64| {
                // A constant ROI has a single level.
                if max == min {
                    return Ok(1);
                }
                Ok(if x >= max {
                    bins
                } else {
                    (precision::floor(ng * (x - min) / (max - min)).max(0.0) as u32 + 1).min(bins)
                })
            })
        }
        DiscretisationSettings::FixedBinSize {
            bin_width,
            min: start,
        } => {
            let start = start.or(resegmentation.range_min()).ok_or_else(|| {
                Error::setting(
                    format!("{prefix}.min"),
                    "a fixed bin size needs the first bin edge: set `min` or a lower bound \
                     in `resegmentation.range`",
                )
            })?;
            if !precision::reaches(min, start) {
                return Err(Error::setting(
                    format!("{prefix}.min"),
                    format!("the ROI contains {min}, below the first bin edge {start}"),
                ));
            }
            // The highest level must fit a u32 (a saturated cast would put
            // every voxel above it in the same, wrong, level).
            check_levels(
                &format!("{prefix}.bin_width"),
                precision::floor((max - start) / bin_width).max(0.0) + 1.0,
            )?;
            // A value on a bin edge (within the rounding rule) opens the
            // bin above it.
            Box::new(
                move |x: f64| Ok(precision::floor((x - start) / bin_width).max(0.0) as u32 + 1),
            )
        }
    };
    let mut levels = Array3::<u32>::zeros(image.raw_dim());
    let mut failure = None;
    Zip::from(&mut levels)
        .and(image)
        .and(mask)
        .for_each(|l, &v, &m| {
            if m && failure.is_none() {
                match level(f64::from(v)) {
                    Ok(g) => *l = g,
                    Err(e) => failure = Some(e),
                }
            }
        });
    if let Some(e) = failure {
        return Err(e);
    }
    let n_levels = match *settings {
        DiscretisationSettings::FixedBinNumber { bins } => bins,
        _ => levels.iter().copied().max().unwrap_or(0),
    };
    Ok((levels, n_levels))
}

/// Refuses a discretisation giving more grey levels than a level can
/// count, or than the arrays indexed by level (histogram, texture) fit in
/// memory; `setting` is the one that chose the number.
fn check_levels(setting: &str, levels: f64) -> Result<()> {
    if levels >= f64::from(u32::MAX) {
        return Err(Error::setting(
            setting,
            format!(
                "this gives {levels:.0} grey levels; at most {} are possible",
                u32::MAX - 1
            ),
        ));
    }
    estimate::check(
        setting,
        &format!("{levels:.0} grey levels"),
        levels * estimate::BYTES_PER_GREY_LEVEL,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: &[f32]) -> Array3<f32> {
        Array3::from_shape_vec((1, 1, v.len()), v.to_vec()).unwrap()
    }

    fn all(n: usize) -> Array3<bool> {
        Array3::from_elem((1, 1, n), true)
    }

    #[test]
    fn fixed_bin_number_by_hand() {
        // min 0, max 10, 4 bins of 2.5: 0→1, 2.4→1, 2.5→2, 7.5→4, 10→4 (the maximum maps to Ng).
        let img = row(&[0.0, 2.4, 2.5, 7.5, 10.0]);
        let (l, ng) = discretise_values(
            &img,
            &all(5),
            &DiscretisationSettings::FixedBinNumber { bins: 4 },
            &ResegmentationSettings::default(),
            "discretisation",
        )
        .unwrap();
        assert_eq!(l.iter().copied().collect::<Vec<_>>(), vec![1, 1, 2, 4, 4]);
        assert_eq!(ng, 4);
    }

    #[test]
    fn fixed_bin_size_starts_at_the_range_lower_bound() {
        // w = 25 from -500: -500→1, -476→1, -475→2, 400→37.
        let img = row(&[-500.0, -476.0, -475.0, 400.0, 999.0]);
        let mut mask = all(5);
        mask[[0, 0, 4]] = false;
        let reseg = ResegmentationSettings {
            range: Some([Some(-500.0), Some(400.0)]),
            outlier_sigma: None,
        };
        let s = DiscretisationSettings::FixedBinSize {
            bin_width: 25.0,
            min: None,
        };
        let (l, ng) = discretise_values(&img, &mask, &s, &reseg, "discretisation").unwrap();
        assert_eq!(l.iter().copied().collect::<Vec<_>>(), vec![1, 1, 2, 37, 0]);
        assert_eq!(ng, 37);
        // Without a range and without `min`, the error names the setting.
        let e = discretise_values(&img, &mask, &s, &ResegmentationSettings::default(), "ivh")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ivh.min"), "{e}");
    }

    #[test]
    fn none_requires_positive_integers() {
        let (l, ng) = discretise_values(
            &row(&[1.0, 6.0, 4.0]),
            &all(3),
            &DiscretisationSettings::None,
            &ResegmentationSettings::default(),
            "discretisation",
        )
        .unwrap();
        assert_eq!(l.iter().copied().collect::<Vec<_>>(), vec![1, 6, 4]);
        assert_eq!(ng, 6);
        let e = discretise_values(
            &row(&[1.0, -3.0]),
            &all(2),
            &DiscretisationSettings::None,
            &ResegmentationSettings::default(),
            "discretisation",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("discretisation.method") && e.contains("-3"),
            "{e}"
        );
    }

    #[test]
    fn zero_bins_is_a_setting_error() {
        let e = discretise_values(
            &row(&[1.0]),
            &all(1),
            &DiscretisationSettings::FixedBinNumber { bins: 0 },
            &ResegmentationSettings::default(),
            "discretisation",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("discretisation.bins"), "{e}");
    }
}
