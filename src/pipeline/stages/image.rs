//! The image stages: `load`, `resample`, `resegment`, `discretise`, each a
//! thin adapter from stored artifacts to the library's processing chain.

use serde_json::Value;

use super::{
    NoParams, Scope, StageKind, TaskData, canonical, canonical_checked, one_input_of, typed,
};
use crate::features::FeatureSet;
use crate::pipeline::artifact::{CaseImage, DiscretisedArtifact, RoiArtifact};
use crate::processing::{
    self, DiscretisationSettings, InterpolationSettings, ResegmentationSettings,
};
use crate::{Error, Result};

fn setting_error(e: String) -> Error {
    Error::setting("params", e)
}

/// Reads a case's image and the binary ROI of its label.
pub struct Load;

impl StageKind for Load {
    fn name(&self) -> &str {
        "load"
    }
    fn version(&self) -> u32 {
        // 2: spacings rounded to their float32 decimal and boundary
        // comparisons within the rounding rule (src/image/precision.rs).
        2
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
        canonical::<NoParams>(params)
    }
    fn run(&self, task: &TaskData, _params: &Value) -> Result<Vec<u8>> {
        let case = task.case.ok_or_else(|| Error::data("load runs per case"))?;
        let choice = match &case.roi {
            Some(roi) => crate::io::RoiChoice::Named(roi),
            None => crate::io::RoiChoice::Label(case.label),
        };
        let (image, mask) =
            crate::io::load_case(&case.image, case.series.as_deref(), &case.mask, choice)?;
        Ok(CaseImage {
            image: image.volume,
            mask,
        }
        .encode())
    }
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
