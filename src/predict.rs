//! Scoring one case from its image and mask through the extraction recipe
//! recorded with a model. `radial predict --image --mask` and `radial serve`
//! both call [`predict_case`], so the service answers exactly what the
//! command line prints, plus the quality-control facts a result needs.

use std::path::Path;

use serde::Serialize;

use crate::image::Volume;
use crate::io::RoiChoice;
use crate::learn::ModelArtifact;
use crate::learn::model::{CaseBatch, Prediction};
use crate::{Error, Result};

/// Below this many ROI voxels (after the recipe's resampling and
/// re-segmentation) texture and shape features rest on too few voxels to be
/// stable: a 3×3×3 cube. The recipe records no minimum of its own, so this
/// is a quality-control threshold of the prediction, reported as a warning.
pub const MIN_ROI_VOXELS: usize = 27;

/// How the case looked to the extraction: what a reader of the score should
/// check before trusting it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseQc {
    /// Image grid size (x, y, z) as read.
    pub grid: [usize; 3],
    /// Image voxel spacing (x, y, z) in mm as read.
    pub spacing: [f64; 3],
    /// ROI voxels on the image grid.
    pub roi_voxels: usize,
    /// ROI voxels after the recipe's resampling and re-segmentation (the
    /// voxels the intensity features read), when the recipe reports them.
    pub roi_voxels_processed: Option<usize>,
    /// Whether the recipe resampled the image to another spacing.
    pub resampled: bool,
    /// The spacing the recipe resampled to, when it did.
    pub resampled_spacing: Option<[f64; 3]>,
    pub warnings: Vec<String>,
}

/// A scored case: the prediction, the model's input features (name and
/// value, in the model's order) and the QC facts.
#[derive(Debug, Clone)]
pub struct CasePrediction {
    pub prediction: Prediction,
    pub features: Vec<(String, f64)>,
    pub qc: CaseQc,
}

/// The image (`series`: one series of a DICOM directory) and the binary
/// ROI: `label` of a label map or DICOM-SEG segment number, or the ROI named
/// `roi` of an RTSTRUCT (segment label of a SEG). Errors name the file; an
/// image and mask that look swapped are refused.
pub fn load_case(
    image: &Path,
    series: Option<&str>,
    mask: &Path,
    label: i64,
    roi: Option<&str>,
) -> Result<(Volume<f32>, Volume<bool>)> {
    let choice = match roi {
        None => RoiChoice::Label(label),
        Some(name) => RoiChoice::Named(name),
    };
    let (image, roi) = crate::io::load_case(image, series, mask, choice)?;
    Ok((image.volume, roi))
}

/// The ROI's voxel count; an empty ROI is an error (nothing to extract).
pub fn check_roi_not_empty(roi: &Volume<bool>) -> Result<usize> {
    match roi.data.iter().filter(|&&b| b).count() {
        0 => Err(Error::data("the ROI is empty: the mask selects no voxel")),
        n => Ok(n),
    }
}

/// Extracts the model's features with its recorded recipe and scores them
/// (a model that harmonises with ComBat needs [`predict_case_in_batch`]).
pub fn predict_case(
    model: &ModelArtifact,
    case_id: &str,
    image: &Volume<f32>,
    roi: &Volume<bool>,
) -> Result<CasePrediction> {
    predict_case_in_batch(model, case_id, image, roi, None)
}

/// [`predict_case`] for a case whose batch (centre, scanner) and ComBat
/// covariates are known: required exactly when the model harmonises.
pub fn predict_case_in_batch(
    model: &ModelArtifact,
    case_id: &str,
    image: &Volume<f32>,
    roi: &Volume<bool>,
    batch: Option<&CaseBatch>,
) -> Result<CasePrediction> {
    // A missing or unexpected batch fails before the extraction runs.
    model.case_rows(case_id, batch)?;
    let recipe = model.recipe()?;
    let roi_voxels = check_roi_not_empty(roi)?;
    let extracted = recipe.extract(image, roi)?;
    let row = model.input_row(&extracted)?;
    let features = model
        .input_features
        .iter()
        .cloned()
        .zip(row.clone())
        .collect();
    let prediction = model.predict_row(case_id, row, batch)?;

    let resampled_spacing = recipe
        .sources
        .iter()
        .filter_map(|s| s.settings.interpolation.as_ref())
        .map(|i| i.spacing)
        .find(|s| {
            s.iter()
                .zip(image.geometry.spacing)
                .any(|(a, b)| (a - b).abs() > crate::image::volume::GEOMETRY_TOLERANCE_MM)
        });
    let roi_voxels_processed = extracted
        .get("int_mask_vox_count_reseg_roi")
        .filter(|v| v.is_finite())
        .map(|v| v as usize);
    let mut warnings = Vec::new();
    if touches_border(roi) {
        warnings.push(
            "the ROI touches the image border: the lesion may extend beyond the image".to_string(),
        );
    }
    let smallest = roi_voxels_processed.unwrap_or(roi_voxels).min(roi_voxels);
    if smallest < MIN_ROI_VOXELS {
        warnings.push(format!(
            "the ROI has {smallest} voxels after processing, fewer than the minimum of \
             {MIN_ROI_VOXELS} for stable features"
        ));
    }
    let qc = CaseQc {
        grid: image.dims(),
        spacing: image.geometry.spacing,
        roi_voxels,
        roi_voxels_processed,
        resampled: resampled_spacing.is_some(),
        resampled_spacing,
        warnings,
    };
    Ok(CasePrediction {
        prediction,
        features,
        qc,
    })
}

/// Whether any ROI voxel lies on a face of the grid.
fn touches_border(roi: &Volume<bool>) -> bool {
    let s = roi.data.shape();
    roi.data.indexed_iter().any(|((k, j, i), &b)| {
        b && (k == 0 || j == 0 || i == 0 || k + 1 == s[0] || j + 1 == s[1] || i + 1 == s[2])
    })
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;

    use super::*;
    use crate::image::Geometry;

    #[test]
    fn border_contact_is_detected() {
        let g = Geometry::new([1.0; 3], [0.0; 3]);
        let inner = Volume::new(
            Array3::from_shape_fn((4, 4, 4), |(k, j, i)| {
                (1..3).contains(&k) && (1..3).contains(&j) && (1..3).contains(&i)
            }),
            g,
        );
        assert!(!touches_border(&inner));
        let edge = Volume::new(
            Array3::from_shape_fn((4, 4, 4), |(k, j, i)| k == 1 && j == 1 && i == 3),
            g,
        );
        assert!(touches_border(&edge));
    }
}
