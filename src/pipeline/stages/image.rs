//! The image stages: `load`, `resample`, `resegment`, `discretise`, each a
//! thin adapter from stored artifacts to the library's processing chain.

use std::path::PathBuf;

use serde_json::Value;

use super::{Scope, StageKind, TaskData, canonical_checked, one_input_of, typed};
use crate::features::FeatureSet;
use crate::pipeline::artifact::{CaseImage, DiscretisedArtifact, RoiArtifact};
use crate::processing::{
    self, DiscretisationSettings, InterpolationSettings, ResegmentationSettings,
};
use crate::{Error, Result};

fn setting_error(e: String) -> Error {
    Error::setting("params", e)
}

/// Reads a case's image and the binary ROI of its label: the default image,
/// or with `phase` that phase's image (and its own mask, or the case's).
pub struct Load;

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadParams {
    /// The phase of a multi-phase manifest (`image.<phase>` columns).
    /// Absent from the canonical form when not given, so an unphased
    /// load's key is what it was before phases existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

impl StageKind for Load {
    fn name(&self) -> &str {
        "load"
    }
    fn version(&self) -> u32 {
        // 2: spacings rounded to their float32 decimal and boundary
        // comparisons within the rounding rule (src/image/precision.rs).
        // 3: the output carries the files' datatype and header spacings.
        3
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn reads_case_files(&self) -> bool {
        true
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        if input_kinds.is_empty() {
            Ok(())
        } else {
            Err("reads the manifest's files and takes no input stage".into())
        }
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical_checked(params, |p: &LoadParams| match &p.phase {
            Some(phase) => crate::pipeline::manifest::check_phase_name(phase)
                .map_err(|m| Error::setting("phase", m)),
            None => Ok(()),
        })
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let p: LoadParams = typed(params).map_err(setting_error)?;
        let case = task.case.ok_or_else(|| Error::data("load runs per case"))?;
        let choice = match &case.roi {
            Some(roi) => crate::io::RoiChoice::Named(roi),
            None => crate::io::RoiChoice::Label(case.label),
        };
        let (image, mask, mask_path) = match &p.phase {
            None => {
                let (image, mask) =
                    crate::io::load_case(&case.image, case.series.as_deref(), &case.mask, choice)?;
                (image, mask, case.mask.clone())
            }
            Some(phase) => load_phase(task, case, phase, choice)?,
        };
        let stored = crate::compat::pyradiomics::extract::stored_source(&image, &mask, &mask_path)?;
        Ok(CaseImage {
            image: image.volume,
            mask,
            stored,
        }
        .encode())
    }
}

/// Loads one phase of a case. A phase that borrows the case's mask must lie
/// on the mask's grid: otherwise the error names the case, the phase and
/// both files (the phase needs its own `mask.<phase>`).
fn load_phase(
    task: &TaskData,
    case: &crate::pipeline::manifest::Case,
    phase: &str,
    choice: crate::io::RoiChoice,
) -> Result<(crate::io::LoadedImage, crate::image::Volume<bool>, PathBuf)> {
    let files = task
        .manifest
        .phase_files_of_case(&case.case_id, phase)
        .ok_or_else(|| {
            Error::data(format!(
                "case `{}`: the manifest has no phase `{phase}`",
                case.case_id
            ))
        })?;
    let mask = files.mask_of(case);
    let (image, roi) = crate::io::load_case(&files.image, None, mask, choice).map_err(|e| match e {
        Error::GeometryMismatch { details, .. } if files.mask.is_none() => Error::data(format!(
            "case `{}`, phase `{phase}`: the image {} and the case's mask {} do not share a grid ({details}); \
             a phase on another grid needs its own mask column `mask.{phase}`",
            case.case_id,
            files.image.display(),
            mask.display()
        )),
        other => other,
    })?;
    Ok((image, roi, mask.to_path_buf()))
}

/// Resampling to a new grid, then cropping around the ROI (IBSI 2.4).
pub struct Resample;

impl StageKind for Resample {
    fn name(&self) -> &str {
        "resample"
    }
    fn version(&self) -> u32 {
        // 2: spacings rounded to their float32 decimal and boundary
        // comparisons within the rounding rule (src/image/precision.rs).
        // 3: the output carries the interpolation settings (for `filter`).
        3
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        one_input_of(input_kinds, &["load"])
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical_checked(params, InterpolationSettings::validate)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let settings: InterpolationSettings = typed(params).map_err(setting_error)?;
        let (_, bytes) = task.only_input()?;
        let case = CaseImage::decode(bytes)?;
        let mut diagnostics = FeatureSet::new();
        let roi = processing::resample(&case.image, &case.mask, Some(&settings), &mut diagnostics)?;
        Ok(RoiArtifact {
            roi,
            resegmentation: ResegmentationSettings::default(),
            interpolation: Some(settings),
            diagnostics,
        }
        .encode())
    }
}

/// Re-segmentation of the intensity mask (IBSI 2.5). Reading `load`
/// directly means "no interpolation": the original grid is kept.
pub struct Resegment;

impl StageKind for Resegment {
    fn name(&self) -> &str {
        "resegment"
    }
    fn version(&self) -> u32 {
        // 2: spacings rounded to their float32 decimal and boundary
        // comparisons within the rounding rule (src/image/precision.rs).
        // 3: the output carries the interpolation settings (for `filter`).
        3
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        one_input_of(input_kinds, &["load", "resample"])
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical_checked(params, ResegmentationSettings::validate)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let settings: ResegmentationSettings = typed(params).map_err(setting_error)?;
        let (kind, bytes) = task.only_input()?;
        let (roi, interpolation, mut diagnostics) = if kind == "load" {
            let case = CaseImage::decode(bytes)?;
            let mut diagnostics = FeatureSet::new();
            let roi = processing::resample(&case.image, &case.mask, None, &mut diagnostics)?;
            (roi, None, diagnostics)
        } else {
            let a = RoiArtifact::decode(bytes)?;
            (a.roi, a.interpolation, a.diagnostics)
        };
        let roi = processing::resegment(roi, &settings, &mut diagnostics)?;
        Ok(RoiArtifact {
            roi,
            resegmentation: settings,
            interpolation,
            diagnostics,
        }
        .encode())
    }
}

/// Discretisation into grey levels (IBSI 2.6), of an ROI image or of a
/// `filter` stage's response map.
pub struct Discretise;

impl StageKind for Discretise {
    fn name(&self) -> &str {
        "discretise"
    }
    fn version(&self) -> u32 {
        // 2: spacings rounded to their float32 decimal and boundary
        // comparisons within the rounding rule (src/image/precision.rs).
        // 3: the output carries the interpolation settings (for `filter`).
        3
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        one_input_of(input_kinds, &["resample", "resegment", "filter"])
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical_checked(params, |d: &DiscretisationSettings| {
            d.validate("discretisation")
        })
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let settings: DiscretisationSettings = typed(params).map_err(setting_error)?;
        let (kind, bytes) = task.only_input()?;
        let roi = RoiArtifact::decode(bytes)?;
        let discretised = processing::discretise(&roi.roi, &settings, &roi.resegmentation)?;
        // The families reading a discretised response map prefix their
        // features with the filter stage's id.
        let filter = (kind == "filter").then(|| task.inputs[0].stage_id.clone());
        Ok(DiscretisedArtifact {
            roi,
            discretised,
            settings,
            filter,
        }
        .encode())
    }
}
