//! Reading and writing images. [`read_image`] picks the reader from the path:
//! a directory is a DICOM series, otherwise the file name's extension decides.

pub mod atomic;
pub mod case;
pub mod dicom;
pub mod nifti;
pub mod nrrd;

use std::path::{Path, PathBuf};

pub use case::{RoiChoice, load_case, load_case_on_mask_grid, read_image_in};

use crate::image::Volume;
use crate::{Error, Result};

/// An image as read from disk: intensities as `f32` (after any rescale
/// slope/intercept) on its grid, and what the file said about its type.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub volume: Volume<f32>,
    /// The datatype stored in the file (`int16`, `float32`, ...).
    pub datatype: String,
    pub path: PathBuf,
}

/// What a case's files said before radial normalised them, for the modes
/// that compute as another tool does (PyRadiomics computes in the file's
/// pixel type, on the spacings SimpleITK reads from the headers).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSource {
    /// The image file's datatype (`int16`, `float32`, ...).
    pub datatype: String,
    /// The image's spacing as its header states it (x, y, z), mm.
    pub image_spacing: [f64; 3],
    /// The mask's spacing as its header states it (x, y, z), mm.
    pub mask_spacing: [f64; 3],
}

/// The formats radial reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Nifti,
    Nrrd,
    DicomSeries,
}

/// Decides the format from the path alone (no reading), or says why it cannot.
pub fn detect_format(path: &Path) -> Result<Format> {
    if path.is_dir() {
        return Ok(Format::DicomSeries);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        Ok(Format::Nifti)
    } else if name.ends_with(".nrrd") || name.ends_with(".nhdr") {
        Ok(Format::Nrrd)
    } else if let Err(e) = std::fs::metadata(path) {
        // The system's own reason: missing, a symbolic-link loop, no
        // permission on a parent directory.
        Err(Error::io(path, e))
    } else {
        Err(Error::format(path, unknown_format_message(path)))
    }
}

/// Says what a file of unknown extension is when it is a DICOM file: a
/// lone slice, an RTSTRUCT or a SEG is not an image radial reads by itself.
fn unknown_format_message(path: &Path) -> String {
    const EXPECTED: &str = "expected .nii, .nii.gz, .nrrd, .nhdr or a DICOM series directory";
    match dicom::file_kind(path) {
        None => format!("unknown image format: {EXPECTED}"),
        Some(dicom::FileKind::ImageSlice) => format!(
            "a single DICOM slice: give the directory of its series ({}) instead",
            path.parent()
                .map_or_else(|| ".".into(), |p| p.display().to_string())
        ),
        Some(dicom::FileKind::StructureSet) => format!(
            "an RTSTRUCT, not an image: it is a mask; give it with an ROI name (--roi NAME, or the manifest's `roi` column); its ROIs are: {}",
            dicom::rtstruct::roi_names(path)
                .map(|n| n
                    .iter()
                    .map(|x| format!("{x:?}"))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_else(|e| format!("(unreadable: {e})"))
        ),
        Some(dicom::FileKind::Segmentation) => {
            "a DICOM-SEG, not an image: it is a mask; give it as the mask of its image".to_string()
        }
        Some(dicom::FileKind::Other(m)) => format!(
            "a DICOM {} object, not an image: {EXPECTED}",
            m.as_deref().unwrap_or("(no Modality)")
        ),
    }
}

/// Reads any supported image, checking that every voxel is finite.
pub fn read_image(path: &Path) -> Result<LoadedImage> {
    let image = match detect_format(path)? {
        Format::Nifti => nifti::read(path)?,
        Format::Nrrd => nrrd::read(path)?,
        Format::DicomSeries => dicom::series::read(path)?,
    };
    check_finite(&image)?;
    Ok(image)
}

pub(crate) fn check_finite(image: &LoadedImage) -> Result<()> {
    let bad = image.volume.data.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(Error::format(
            &image.path,
            format!("{bad} voxels are NaN or infinite"),
        ));
    }
    Ok(())
}

/// The regular files directly in `dir`, sorted by path (a DICOM series is
/// a flat directory). An entry that cannot be read is an error, not a gap.
pub fn sorted_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads an image and its label mask, and checks they share a grid. No
/// silent resampling: a mismatch is an error that shows both geometries.
pub fn read_image_and_mask(image: &Path, mask: &Path) -> Result<(LoadedImage, LoadedImage)> {
    let img = read_image(image)?;
    let msk = read_image(mask)?;
    if let Some(details) = img.volume.grid_differences(&msk.volume) {
        return Err(Error::GeometryMismatch {
            first: image.to_path_buf(),
            second: mask.to_path_buf(),
            details,
        });
    }
    Ok((img, msk))
}

/// Reads an image and the binary ROI of one label of its mask (a label map,
/// or a DICOM-SEG whose segment numbers are the labels), with the checks of
/// [`case::load_case`]. Errors name the mask file.
pub fn read_case(image: &Path, mask: &Path, label: i64) -> Result<(LoadedImage, Volume<bool>)> {
    load_case(image, None, mask, RoiChoice::Label(label))
}

/// Reads an image (typically a DICOM series directory) and rasterises the
/// named ROI of an RTSTRUCT onto its grid; for a DICOM-SEG, the segment of
/// that label.
pub fn read_case_rtstruct(
    image: &Path,
    rtstruct: &Path,
    roi: &str,
) -> Result<(LoadedImage, Volume<bool>)> {
    load_case(image, None, rtstruct, RoiChoice::Named(roi))
}
