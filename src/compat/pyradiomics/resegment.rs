//! PyRadiomics' re-segmentation (`resegmentRange`, `resegmentMode`): the
//! ROI keeps the voxels whose (loaded, possibly normalised) intensity lies
//! within the thresholds, given as intensities (absolute), as fractions of
//! the ROI's maximum (relative), or as multiples of the ROI's population
//! standard deviation around its mean (sigma). One threshold is a lower
//! bound only; two are a closed range.

use super::intensity::IntensityMap;
use super::params::{ResegmentMode, Settings};
use crate::image::Volume;
use crate::{Error, Result};

/// The re-segmented mask, when the settings ask for one.
pub fn resegmented(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    values: &IntensityMap,
    s: &Settings,
) -> Result<Option<Volume<bool>>> {
    let Some(range) = &s.resegment_range else {
        return Ok(None);
    };
    let mut sorted = range.clone();
    sorted.sort_by(f64::total_cmp);
    let inside = super::intensity::roi_values(image, mask, values);
    let thresholds: Vec<f64> = match s.resegment_mode.unwrap_or(ResegmentMode::Absolute) {
        ResegmentMode::Absolute => sorted,
        ResegmentMode::Relative => {
            let max = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            sorted.iter().map(|t| max * t).collect()
        }
        ResegmentMode::Sigma => {
            let n = inside.len() as f64;
            let mean = inside.iter().sum::<f64>() / n;
            let sd = (inside.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            sorted.iter().map(|t| mean + sd * t).collect()
        }
    };
    let mut out = mask.clone();
    for (m, &v) in out.data.iter_mut().zip(image.data.iter()) {
        if *m {
            let x = values(v);
            *m = x >= thresholds[0] && thresholds.get(1).is_none_or(|&hi| x <= hi);
        }
    }
    let kept = out.data.iter().filter(|&&m| m).count();
    if kept <= 1 {
        return Err(Error::setting(
            "setting.resegmentRange",
            format!(
                "re-segmentation to {range:?} ({} mode) keeps {kept} voxel(s) of the ROI: too few to extract features",
                match s.resegment_mode.unwrap_or(ResegmentMode::Absolute) {
                    ResegmentMode::Absolute => "absolute",
                    ResegmentMode::Relative => "relative",
                    ResegmentMode::Sigma => "sigma",
                }
            ),
        ));
    }
    Ok(Some(out))
}
