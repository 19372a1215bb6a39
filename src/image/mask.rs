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

/// Voxel counts of every non-zero label, in increasing label order. Fails on
/// non-integer label values, which mean the file is not a label map.
pub fn label_counts(labels: &Volume<f32>) -> Result<Vec<LabelCount>> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for &v in labels.data.iter() {
        if v == 0.0 {
            continue;
        }
        if !v.is_finite() || v.fract() != 0.0 {
            return Err(Error::data(format!(
                "mask contains the non-integer value {v}: not a label map"
            )));
        }
        *counts.entry(v as i64).or_default() += 1;
    }
    Ok(counts
        .into_iter()
        .map(|(label, voxels)| LabelCount { label, voxels })
        .collect())
}

/// The binary ROI of one label. An empty selection is an error, because every
/// computation downstream would be meaningless on it.
pub fn select_label(labels: &Volume<f32>, label: i64) -> Result<Volume<bool>> {
    let roi = labels.map(|&v| v == label as f32);
    if !roi.data.iter().any(|&b| b) {
        let present = label_counts(labels)
            .map(|c| {
                c.iter()
                    .map(|l| l.label.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        return Err(Error::data(format!(
            "the mask has no voxel with label {label} (labels present: {})",
            if present.is_empty() { "none" } else { &present }
        )));
    }
    Ok(roi)
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
