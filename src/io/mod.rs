//! Reading and writing images. [`read_image`] picks the reader from the path:
//! a directory is a DICOM series, otherwise the file name's extension decides.

pub mod atomic;
pub mod dicom;
pub mod nifti;
pub mod nrrd;

use std::path::{Path, PathBuf};

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
    } else if !path.exists() {
        Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        ))
    } else {
        Err(Error::format(
            path,
            "unknown image format: expected .nii, .nii.gz, .nrrd, .nhdr or a DICOM directory",
        ))
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

fn check_finite(image: &LoadedImage) -> Result<()> {
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

/// Reads an image and the binary ROI of one label of its mask, with the grid
/// check of [`read_image_and_mask`]. Errors name the mask file. A DICOM-SEG
/// mask is read as a label map whose labels are its segment numbers.
///
/// The label map is reduced to its boolean ROI before the image is read, so
/// two full-size float volumes never coexist (a 16 M-voxel CT: about 45 MB
/// less at the peak).
pub fn read_case(image: &Path, mask: &Path, label: i64) -> Result<(LoadedImage, Volume<bool>)> {
    if dicom::seg::is_segmentation(mask) {
        return read_case_segment(image, mask, dicom::seg::SegmentChoice::Number(label));
    }
    let roi = {
        let msk = read_image(mask)?;
        crate::image::select_label(&msk.volume, label)
            .map_err(|e| Error::format(mask, e.to_string()))?
    };
    let img = read_image(image)?;
    if let Some(details) = img.volume.grid_differences(&roi) {
        return Err(Error::GeometryMismatch {
            first: image.to_path_buf(),
            second: mask.to_path_buf(),
            details,
        });
    }
    Ok((img, roi))
}

/// An image and one segment of a DICOM-SEG placed on its grid.
fn read_case_segment(
    image: &Path,
    seg: &Path,
    choice: dicom::seg::SegmentChoice,
) -> Result<(LoadedImage, Volume<bool>)> {
    let img = read_image(image)?;
    let mask = dicom::seg::read_segment(seg, choice, &img.volume.geometry, img.volume.dims())?;
    if !mask.data.iter().any(|&b| b) {
        return Err(Error::format(
            seg,
            format!("the segment covers no voxel of {}", image.display()),
        ));
    }
    Ok((img, mask))
}

/// Reads an image (typically a DICOM series directory) and rasterises the
/// named ROI of an RTSTRUCT onto its grid; for a DICOM-SEG, the segment of
/// that label.
pub fn read_case_rtstruct(
    image: &Path,
    rtstruct: &Path,
    roi: &str,
) -> Result<(LoadedImage, Volume<bool>)> {
    if dicom::seg::is_segmentation(rtstruct) {
        return read_case_segment(image, rtstruct, dicom::seg::SegmentChoice::Label(roi));
    }
    let img = read_image(image)?;
    let mask = dicom::rtstruct::read_mask(rtstruct, roi, &img.volume)?;
    if !mask.data.iter().any(|&b| b) {
        return Err(Error::format(
            rtstruct,
            format!("ROI `{roi}` covers no voxel of {}", image.display()),
        ));
    }
    Ok((img, mask))
}
