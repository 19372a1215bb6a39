//! Masks: label volumes and the binary regions of interest selected from them.

use std::collections::BTreeMap;

use super::Volume;
use crate::{Error, Result};

/// Number of voxels carrying one label value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LabelCount {
    pub label: i64,
    pub voxels: usize,
}

/// The largest label a mask can carry: volumes are held as float32, which
/// tells whole numbers apart only up to 2²⁴.
pub const MAX_LABEL: i64 = 1 << 24;

/// Voxel counts of every non-zero label, in increasing label order.
///
/// This is the one rule, used by every path (extract, run, predict,
/// convert, inspect), that turns a volume into a label map: every voxel
/// holds a whole number from 0 (background) to [`MAX_LABEL`]. A fractional
/// value (a probability or partial-volume mask), a negative one (an
/// intensity image) or NaN is an error saying how many voxels break the
/// rule and an example, never a silently partial selection.
pub fn label_counts(labels: &Volume<f32>) -> Result<Vec<LabelCount>> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    let (mut fractional, mut negative, mut too_large) =
        (Breach::default(), Breach::default(), Breach::default());
    for &v in labels.data.iter() {
        if v == 0.0 {
            continue;
        }
        if !v.is_finite() || v.fract() != 0.0 {
            fractional.add(v);
        } else if v < 0.0 {
            negative.add(v);
        } else if v as f64 > MAX_LABEL as f64 {
            too_large.add(v);
        } else {
            *counts.entry(v as i64).or_default() += 1;
        }
    }
    let mut problems = Vec::new();
    if fractional.voxels > 0 {
        problems.push(format!(
            "{} voxels hold values that are not whole numbers (e.g. {}): a probability or \
             partial-volume mask must be thresholded into labels first",
            fractional.voxels, fractional.example
        ));
    }
    if negative.voxels > 0 {
        problems.push(format!(
            "{} voxels hold negative values (e.g. {})",
            negative.voxels, negative.example
        ));
    }
    if too_large.voxels > 0 {
        problems.push(format!(
            "{} voxels hold labels above {MAX_LABEL} (e.g. {}), which float32 cannot tell apart",
            too_large.voxels, too_large.example
        ));
    }
    if !problems.is_empty() {
        return Err(Error::data(format!(
            "not a label map (whole numbers from 0, the background, to {MAX_LABEL}): {}",
            problems.join("; ")
        )));
    }
    Ok(counts
        .into_iter()
        .map(|(label, voxels)| LabelCount { label, voxels })
        .collect())
}

/// Voxels that break one part of the label-map rule, and the first value.
#[derive(Default)]
struct Breach {
    voxels: usize,
    example: f32,
}

impl Breach {
    fn add(&mut self, v: f32) {
        if self.voxels == 0 {
            self.example = v;
        }
        self.voxels += 1;
    }
}

/// Checks a label requested by the user: 0 is the background, not an ROI.
pub fn check_label(label: i64) -> Result<()> {
    if !(1..=MAX_LABEL).contains(&label) {
        return Err(Error::setting(
            "label",
            format!(
                "{label} is not a label: labels run from 1 to {MAX_LABEL} (0 is the background)"
            ),
        ));
    }
    Ok(())
}

/// The binary ROI of one label, after checking that the volume is a label
/// map ([`label_counts`]). An empty selection is an error, because every
/// computation downstream would be meaningless on it.
pub fn select_label(labels: &Volume<f32>, label: i64) -> Result<Volume<bool>> {
    check_label(label)?;
    let counts = label_counts(labels)?;
    if !counts.iter().any(|c| c.label == label) {
        let present = counts
            .iter()
            .map(|l| l.label.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::data(format!(
            "the mask has no voxel with label {label} (labels present: {})",
            if present.is_empty() { "none" } else { &present }
        )));
    }
    // Exact: the label is a whole number below 2^24.
    Ok(labels.map(|&v| v == label as f32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;
    use ndarray::Array3;

    fn labels() -> Volume<f32> {
        let mut a = Array3::<f32>::zeros((2, 2, 2));
        a[[0, 0, 0]] = 1.0;
        a[[1, 1, 1]] = 7.0;
        a[[1, 0, 1]] = 7.0;
        Volume::new(a, Geometry::new([1.0; 3], [0.0; 3]))
    }

    #[test]
    fn counts_each_label() {
        let c = label_counts(&labels()).unwrap();
        assert_eq!(
            c,
            vec![
                LabelCount {
                    label: 1,
                    voxels: 1
                },
                LabelCount {
                    label: 7,
                    voxels: 2
                }
            ]
        );
    }

    #[test]
    fn fractional_negative_and_huge_values_are_not_labels() {
        let mut v = labels();
        v.data[[0, 1, 0]] = 0.6;
        v.data[[0, 1, 1]] = 0.6;
        let e = select_label(&v, 1).unwrap_err().to_string();
        assert!(
            e.contains("not a label map") && e.contains("2 voxels") && e.contains("0.6"),
            "{e}"
        );
        let e = label_counts(&v).unwrap_err().to_string();
        assert!(e.contains("thresholded"), "{e}");
        let mut v = labels();
        v.data[[0, 1, 0]] = -1000.0;
        let e = select_label(&v, 1).unwrap_err().to_string();
        assert!(e.contains("negative") && e.contains("-1000"), "{e}");
        let mut v = labels();
        v.data[[0, 1, 0]] = 16777218.0;
        assert!(
            label_counts(&v)
                .unwrap_err()
                .to_string()
                .contains("16777216")
        );
        let e = select_label(&labels(), 0).unwrap_err().to_string();
        assert!(e.contains("background"), "{e}");
    }

    #[test]
    fn missing_label_lists_the_present_ones() {
        let err = select_label(&labels(), 3).unwrap_err().to_string();
        assert!(err.contains("label 3") && err.contains("1, 7"), "{err}");
        assert_eq!(
            select_label(&labels(), 7)
                .unwrap()
                .data
                .iter()
                .filter(|&&b| b)
                .count(),
            2
        );
    }
}
