//! `filter`: one IBSI chapter 2 filter as a pipeline stage. Its parameters
//! are one filter's settings, the schema of one `filter:` entry of extraction
//! settings ([`FilterSettings`], e.g. `{kind: log, sigma: 2}`).
//!
//! Inputs: a `load` stage and a `resample` or `resegment` stage of the same
//! case. The IBSI order (chapter 2, as `filters:` in extraction settings):
//! interpolation, then filtering of the WHOLE interpolated image, then the
//! ROI re-segmented on the unfiltered intensities, then features of the
//! response map inside that ROI. `resample` keeps only the ROI's box plus a
//! margin, too small for a filter's support and with edges where the image
//! has none, so this stage rebuilds the whole interpolated image from the
//! loaded one and the interpolation its ROI input records, filters it, and
//! crops the response map to that ROI's box. The output is an ROI artifact:
//! the response map with the input's morphological and intensity masks (the
//! latter re-segmented on unfiltered intensities) and no re-segmentation
//! range (a response map is not in the image's units, so a fixed bin size
//! needs its own `min`).
//!
//! Family stages read it directly (statistics, local intensity, IVH) or
//! through a `discretise` stage (histogram, texture) and prefix their
//! features with this stage's id.

use ndarray::s;
use serde_json::Value;

use super::{Scope, StageKind, TaskData, canonical_checked, typed};
use crate::features::FeatureSet;
use crate::filters::FilterSettings;
use crate::image::Volume;
use crate::pipeline::artifact::{CaseImage, RoiArtifact};
use crate::processing::{ResegmentationSettings, RoiImage};
use crate::{Error, Result};

pub struct Filter;

const ROI_KINDS: [&str; 2] = ["resample", "resegment"];

impl StageKind for Filter {
    fn name(&self) -> &str {
        "filter"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        let loads = input_kinds.iter().filter(|k| **k == "load").count();
        let rois = input_kinds.iter().filter(|k| ROI_KINDS.contains(k)).count();
        if input_kinds.len() == 2 && loads == 1 && rois == 1 {
            Ok(())
        } else {
            Err(format!(
                "expects two input stages: a load stage (the whole image) and a resample or \
                 resegment stage (the ROI) (got: {})",
                crate::error::none_or_joined(input_kinds)
            ))
        }
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical_checked(params, FilterSettings::validate)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let settings: FilterSettings = typed(params).map_err(|e| Error::setting("params", e))?;
        let item = |want: &dyn Fn(&str) -> bool| {
            task.inputs
                .iter()
                .find(|i| want(&i.kind))
                .and_then(|i| i.items.first().map(|(_, b)| (i.stage_id.as_str(), b)))
                .ok_or_else(|| Error::data("filter expects a load and an ROI input"))
        };
        let (load_id, load_bytes) = item(&|k| k == "load")?;
        let (roi_id, roi_bytes) = item(&|k| ROI_KINDS.contains(&k))?;
        let case = CaseImage::decode(load_bytes)?;
        let input = RoiArtifact::decode(roi_bytes)?;
        let whole =
            crate::extract::interpolated_whole_image(&case.image, input.interpolation.as_ref());
        let start = roi_box_start(&whole, &input.roi.image).ok_or_else(|| {
            Error::data(format!(
                "the ROI of stage `{roi_id}` does not lie on the grid of stage `{load_id}` \
                 (interpolated as it records): they must come from the same case"
            ))
        })?;
        let response = crate::filters::apply(&whole, &settings);
        let [nx, ny, nz] = input.roi.image.dims();
        let cropped = response
            .data
            .slice(s![
                start[2]..start[2] + nz,
                start[1]..start[1] + ny,
                start[0]..start[0] + nx
            ])
            .to_owned();
        Ok(RoiArtifact {
            roi: RoiImage {
                image: Volume::new(cropped, input.roi.image.geometry),
                morph_mask: input.roi.morph_mask,
                int_mask: input.roi.int_mask,
            },
            resegmentation: ResegmentationSettings::default(),
            interpolation: input.interpolation,
            diagnostics: FeatureSet::new(),
        }
        .encode())
    }
}

/// The index on `whole`'s grid of the first voxel of `roi`, when `roi` is a
/// box of that grid (same spacing and direction, origin on a grid point
/// within rounding, box inside the image).
fn roi_box_start(whole: &Volume<f32>, roi: &Volume<f32>) -> Option<[usize; 3]> {
    let (w, r) = (&whole.geometry, &roi.geometry);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1.0);
    let same_axes = (0..3).all(|a| {
        close(w.spacing[a], r.spacing[a])
            && (0..3).all(|c| close(w.direction[a][c], r.direction[a][c]))
    });
    if !same_axes {
        return None;
    }
    let index = w.physical_to_index(r.origin);
    let dims = whole.dims();
    let box_dims = roi.dims();
    let mut start = [0; 3];
    for a in 0..3 {
        let rounded = index[a].round();
        if (index[a] - rounded).abs() > 1e-3 || rounded < 0.0 {
            return None;
        }
        start[a] = rounded as usize;
        if start[a] + box_dims[a] > dims[a] {
            return None;
        }
    }
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;
    use ndarray::Array3;

    #[test]
    fn a_box_of_the_grid_is_found_and_another_grid_is_not() {
        let g = Geometry::new([1.0, 1.0, 2.0], [10.0, -5.0, 0.0]);
        let whole = Volume::new(Array3::<f32>::zeros((6, 7, 8)), g);
        let mut rg = g;
        rg.origin = g.index_to_physical([2.0, 3.0, 1.0]);
        let roi = Volume::new(Array3::<f32>::zeros((4, 3, 5)), rg);
        assert_eq!(roi_box_start(&whole, &roi), Some([2, 3, 1]));
        // Off the grid by half a voxel.
        rg.origin = g.index_to_physical([2.5, 3.0, 1.0]);
        assert_eq!(
            roi_box_start(&whole, &Volume::new(roi.data.clone(), rg)),
            None
        );
        // Reaching past the image.
        rg.origin = g.index_to_physical([4.0, 3.0, 1.0]);
        assert_eq!(
            roi_box_start(&whole, &Volume::new(roi.data.clone(), rg)),
            None
        );
        // Another spacing.
        let mut other = g;
        other.spacing = [0.5, 1.0, 2.0];
        assert_eq!(
            roi_box_start(&whole, &Volume::new(roi.data.clone(), other)),
            None
        );
    }

    #[test]
    fn inputs_are_a_load_and_an_roi_stage() {
        assert!(Filter.check_inputs(&["load", "resegment"]).is_ok());
        assert!(Filter.check_inputs(&["resample", "load"]).is_ok());
        let e = Filter.check_inputs(&["resegment"]).unwrap_err();
        assert!(e.contains("load stage"), "{e}");
        assert!(Filter.check_inputs(&["load", "discretise"]).is_err());
    }

    #[test]
    fn bad_params_name_the_setting() {
        let e = Filter
            .canonical_params(&serde_json::json!({"kind": "log", "sigma": -1}))
            .unwrap_err();
        assert!(e.contains("`sigma`"), "{e}");
        let e = Filter
            .canonical_params(
                &serde_json::json!({"kind": "wavelet", "family": "haar", "subband": "LH"}),
            )
            .unwrap_err();
        assert!(e.contains("subband"), "{e}");
        let laws = serde_json::json!({"kind": "laws", "kernel": "E5L5S5", "energy": {"delta": 7}});
        let c = Filter.canonical_params(&laws).unwrap();
        // The canonical form reads back as the same settings.
        let again: FilterSettings = typed(&c).unwrap();
        assert_eq!(again, typed::<FilterSettings>(&laws).unwrap());
    }
}
