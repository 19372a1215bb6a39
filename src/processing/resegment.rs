//! Re-segmentation of the intensity mask (IBSI 2.5): an intensity range,
//! outlier removal (mean ± k·σ), or both. With both, the range is applied
//! first and the outlier statistics are those of the voxels it kept (the
//! result is the intersection of the two intensity intervals).

use ndarray::{Array3, Zip};

use super::ResegmentationSettings;
use crate::image::precision;
use crate::{Error, Result};

/// Removes from `int_mask` the voxels whose intensity the settings exclude.
/// An intensity mask left empty is an error naming the setting responsible.
pub fn resegment_mask(
    image: &Array3<f32>,
    int_mask: &mut Array3<bool>,
    settings: &ResegmentationSettings,
) -> Result<()> {
    if let Some([low, high]) = settings.range {
        let low = low.unwrap_or(f64::NEG_INFINITY);
        let high = high.unwrap_or(f64::INFINITY);
        keep_within(image, int_mask, low, high);
        if !int_mask.iter().any(|&m| m) {
            return Err(Error::setting(
                "resegmentation.range",
                format!("no ROI voxel has an intensity in [{low}, {high}]"),
            ));
        }
    }
    if let Some(k) = settings.outlier_sigma {
        let (mean, sd) = mean_and_sd(image, int_mask);
        keep_within(image, int_mask, mean - k * sd, mean + k * sd);
        if !int_mask.iter().any(|&m| m) {
            return Err(Error::setting(
                "resegmentation.outlier_sigma",
                "no ROI voxel is left after outlier removal",
            ));
        }
    }
    Ok(())
}

fn keep_within(image: &Array3<f32>, mask: &mut Array3<bool>, low: f64, high: f64) {
    Zip::from(mask).and(image).for_each(|m, &v| {
        let v = f64::from(v);
        // Bounds are met within the rounding rule (image::precision).
        *m = *m && precision::reaches(v, low) && precision::at_most(v, high);
    });
}

/// Mean and population standard deviation over the mask.
fn mean_and_sd(image: &Array3<f32>, mask: &Array3<bool>) -> (f64, f64) {
    let values = || {
        image
            .iter()
            .zip(mask.iter())
            .filter(|(_, m)| **m)
            .map(|(v, _)| f64::from(*v))
    };
    let n = values().count() as f64;
    let mean = values().sum::<f64>() / n;
    let var = values().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Array3<f32> {
        Array3::from_shape_vec((1, 1, 8), vec![-5.0, 0.0, 1.0, 2.0, 3.0, 4.0, 100.0, 7.0]).unwrap()
    }

    #[test]
    fn range_keeps_closed_interval_and_open_sides() {
        let mut m = Array3::from_elem((1, 1, 8), true);
        m[[0, 0, 7]] = false;
        let s = ResegmentationSettings {
            range: Some([Some(0.0), Some(4.0)]),
            outlier_sigma: None,
        };
        resegment_mask(&image(), &mut m, &s).unwrap();
        assert_eq!(
            m.iter().copied().collect::<Vec<_>>(),
            vec![false, true, true, true, true, true, false, false]
        );
        let mut m = Array3::from_elem((1, 1, 8), true);
        let s = ResegmentationSettings {
            range: Some([None, Some(0.0)]),
            outlier_sigma: None,
        };
        resegment_mask(&image(), &mut m, &s).unwrap();
        assert_eq!(m.iter().filter(|&&b| b).count(), 2);
    }

    #[test]
    fn outliers_beyond_k_sigma_are_removed() {
        // Values -5,0,1,2,3,4,100,7: mean 14, σ ≈ 32.6; with k = 2 the
        // interval is about [-51, 79], which drops only 100.
        let mut m = Array3::from_elem((1, 1, 8), true);
        let s = ResegmentationSettings {
            range: None,
            outlier_sigma: Some(2.0),
        };
        resegment_mask(&image(), &mut m, &s).unwrap();
        assert!(!m[[0, 0, 6]]);
        assert_eq!(m.iter().filter(|&&b| b).count(), 7);
    }

    #[test]
    fn an_empty_result_names_the_range() {
        let mut m = Array3::from_elem((1, 1, 8), true);
        let s = ResegmentationSettings {
            range: Some([Some(200.0), None]),
            outlier_sigma: None,
        };
        let e = resegment_mask(&image(), &mut m, &s)
            .unwrap_err()
            .to_string();
        assert!(e.contains("resegmentation.range"), "{e}");
    }
}
