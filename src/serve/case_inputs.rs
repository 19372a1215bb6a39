//! Reading a job's uploaded image and mask into the volumes the predict path
//! scores. Both the submission (to refuse bad input with a 422 before a job
//! exists) and the worker (to score it) go through [`load`], so a case that
//! was accepted is a case the worker can read, and both explain a problem in
//! the same words.

use std::path::Path;

use super::jobs::JobError;
use crate::image::Volume;

/// What the job names as its case inside its `inputs` directory.
pub struct CaseFiles<'a> {
    pub inputs: &'a Path,
    pub image: &'a str,
    pub mask: &'a str,
    pub label: i64,
    pub roi: Option<&'a str>,
}

/// The image and its ROI, checked as `radial predict` checks them (grids
/// agree, the label or ROI exists, the ROI is not empty). Errors are 422s
/// that name the upload field (`the \`image\` upload`), never the server's
/// storage path.
pub fn load(files: &CaseFiles) -> Result<(Volume<f32>, Volume<bool>), JobError> {
    let image_path = files.inputs.join(files.image);
    let mask_path = files.inputs.join(files.mask);
    let explain = |e: crate::Error| JobError {
        status: 422,
        detail: e
            .to_string()
            .replace(&image_path.display().to_string(), "the `image` upload")
            .replace(&mask_path.display().to_string(), "the `mask` upload")
            .replace(&files.inputs.display().to_string(), "the upload"),
    };
    let (image, roi) =
        crate::predict::load_case(&image_path, None, &mask_path, files.label, files.roi)
            .map_err(explain)?;
    crate::predict::check_roi_not_empty(&roi).map_err(explain)?;
    Ok((image, roi))
}
