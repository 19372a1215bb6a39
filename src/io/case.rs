//! One case: an image and the binary ROI its mask selects, with the checks
//! that catch inputs that would otherwise run to a wrong answer: a mask
//! that is not a label map, an image and a mask given the other way round,
//! an RTSTRUCT without an ROI name, an ROI name for a label map.

use std::path::Path;

use super::dicom::{self, FileKind};
use super::{LoadedImage, read_image};
use crate::image::{LabelCount, Volume, label_counts};
use crate::{Error, Result};

/// How the ROI is chosen in the mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoiChoice<'a> {
    /// A label of a label map, or a segment number of a DICOM-SEG.
    Label(i64),
    /// An ROI name of an RTSTRUCT, or a segment label of a DICOM-SEG.
    Named(&'a str),
}

/// Images whose values are whole numbers with at most this many distinct
/// values look like label maps (a CT or MR image has thousands).
const MAX_MASK_LIKE_VALUES: usize = 16;

/// Reads an image (`series` selects one series of a DICOM directory).
pub fn read_image_in(path: &Path, series: Option<&str>) -> Result<LoadedImage> {
    match series {
        None => read_image(path),
        Some(uid) if path.is_dir() => {
            let image = dicom::series::read_series(path, Some(uid))?;
            super::check_finite(&image)?;
            Ok(image)
        }
        Some(uid) => Err(Error::format(
            path,
            format!(
                "series {uid} was asked for, but this is not a DICOM directory (a series is chosen among the series of a directory)"
            ),
        )),
    }
}

/// Reads an image and the ROI `choice` selects in `mask`, on the image grid.
pub fn load_case(
    image: &Path,
    series: Option<&str>,
    mask: &Path,
    choice: RoiChoice,
) -> Result<(LoadedImage, Volume<bool>)> {
    let kind = if mask.is_file() {
        dicom::file_kind(mask)
    } else {
        None
    };
    match (kind, choice) {
        (Some(FileKind::Segmentation), RoiChoice::Label(n)) => {
            read_segment(image, series, mask, dicom::seg::SegmentChoice::Number(n))
        }
        (Some(FileKind::Segmentation), RoiChoice::Named(name)) => {
            read_segment(image, series, mask, dicom::seg::SegmentChoice::Label(name))
        }
        (Some(FileKind::StructureSet), RoiChoice::Named(name)) => {
            read_structure(image, series, mask, name)
        }
        (Some(FileKind::StructureSet), RoiChoice::Label(_)) => Err(Error::format(
            mask,
            format!(
                "this mask is an RTSTRUCT: choose one of its ROIs by name (--roi NAME, or the manifest's `roi` column); its ROIs are: {}",
                roi_listing(mask)
            ),
        )),
        (Some(FileKind::ImageSlice), _) => Err(Error::format(
            mask,
            "this mask is a single DICOM image slice: a mask is a label map (NIfTI, NRRD, a DICOM series directory), an RTSTRUCT or a DICOM-SEG",
        )),
        (Some(FileKind::Other(modality)), _) => Err(Error::format(
            mask,
            format!(
                "this mask is a DICOM {} object: radial reads masks from label maps, RTSTRUCT and DICOM-SEG files",
                modality.as_deref().unwrap_or("(no Modality)")
            ),
        )),
        (None, RoiChoice::Named(name)) => Err(Error::format(
            mask,
            format!(
                "ROI {name:?} was asked for by name, but this mask is not an RTSTRUCT or a DICOM-SEG; for a label map, choose the ROI by its label (--label N)"
            ),
        )),
        (None, RoiChoice::Label(label)) => {
            read_label_map_case(image, series, mask, label, Grid::Image)
        }
    }
}

/// The names of an RTSTRUCT's ROIs, for a message.
fn roi_listing(path: &Path) -> String {
    match dicom::rtstruct::roi_names(path) {
        Ok(names) if !names.is_empty() => names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        Ok(_) => "none".to_string(),
        Err(e) => format!("(unreadable: {e})"),
    }
}

/// An image and one segment of a DICOM-SEG placed on its grid.
fn read_segment(
    image: &Path,
    series: Option<&str>,
    seg: &Path,
    choice: dicom::seg::SegmentChoice,
) -> Result<(LoadedImage, Volume<bool>)> {
    let img = read_image_in(image, series)?;
    let mask = dicom::seg::read_segment(seg, choice, &img.volume.geometry, img.volume.dims())?;
    if !mask.data.iter().any(|&b| b) {
        return Err(Error::format(
            seg,
            format!("the segment covers no voxel of {}", image.display()),
        ));
    }
    Ok((img, mask))
}

/// An image and an RTSTRUCT ROI rasterised on its grid; a DICOM series is
/// first checked to be in the ROI's frame of reference.
fn read_structure(
    image: &Path,
    series: Option<&str>,
    rtstruct: &Path,
    roi: &str,
) -> Result<(LoadedImage, Volume<bool>)> {
    let (img, mask) = if image.is_dir() {
        let series = dicom::series::load(image, series)?;
        super::check_finite(&series.image)?;
        let mask = dicom::rtstruct::read_mask_for_series(rtstruct, roi, &series)?;
        (series.image, mask)
    } else {
        let img = read_image_in(image, series)?;
        let mask = dicom::rtstruct::read_mask(rtstruct, roi, &img.volume)?;
        (img, mask)
    };
    if !mask.data.iter().any(|&b| b) {
        return Err(Error::format(
            rtstruct,
            format!("ROI `{roi}` covers no voxel of {}", image.display()),
        ));
    }
    Ok((img, mask))
}

/// Which grid a label map's ROI must be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grid {
    /// The image's: a mismatch is an error.
    Image,
    /// Its own: the caller decides what a mismatch means.
    Own,
}

/// An image and one label of a label map on the map's own grid, which may
/// differ from the image's (PyRadiomics mode checks and corrects it with
/// its own rules); RTSTRUCT and DICOM-SEG masks are placed on the image's
/// grid as [`load_case`] places them.
pub fn load_case_on_mask_grid(
    image: &Path,
    mask: &Path,
    label: i64,
) -> Result<(LoadedImage, Volume<bool>)> {
    let kind = if mask.is_file() {
        dicom::file_kind(mask)
    } else {
        None
    };
    match kind {
        None => read_label_map_case(image, None, mask, label, Grid::Own),
        Some(_) => load_case(image, None, mask, RoiChoice::Label(label)),
    }
}

/// An image and one label of a label map, with the checks that the mask is
/// a label map and that the two files are not the other way round.
///
/// The label map is reduced to its boolean ROI before the image is read, so
/// two full-size float volumes never coexist (a 16 M-voxel CT: about 45 MB
/// less at the peak).
fn read_label_map_case(
    image: &Path,
    series: Option<&str>,
    mask: &Path,
    label: i64,
    grid: Grid,
) -> Result<(LoadedImage, Volume<bool>)> {
    crate::image::mask::check_label(label)?;
    if same_file(image, mask) {
        return Err(Error::data(format!(
            "the image and the mask are the same file ({}): give the intensity image as the image",
            image.display()
        )));
    }
    let (labels, roi) = {
        let msk = read_image(mask)?;
        let labels = label_counts(&msk.volume);
        let roi = match &labels {
            Ok(counts) if counts.iter().any(|c| c.label == label) => {
                Some(msk.volume.map(|&v| v == label as f32))
            }
            _ => None,
        };
        (labels, roi)
    };
    let img = read_image_in(image, series)?;
    let image_like_mask = mask_like_values(&img.volume);
    let swapped = |why: &str| {
        Error::data(format!(
            "image and mask look swapped: the image {} holds only {} distinct whole values ({}), \
             while the mask {} {why}; give the intensity image as the image and the label map as the mask",
            image.display(),
            image_like_mask.as_ref().map_or(0, Vec::len),
            image_like_mask
                .as_ref()
                .map(|v| v
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            mask.display()
        ))
    };
    let counts = match labels {
        Err(e) if image_like_mask.is_some() => {
            return Err(swapped(&format!("is not a label map ({e})")));
        }
        Err(e) => return Err(Error::format(mask, e.to_string())),
        Ok(counts) => counts,
    };
    if image_like_mask.is_some() && counts.len() > MAX_MASK_LIKE_VALUES {
        return Err(swapped(&format!(
            "has {} distinct labels, as an intensity image would",
            counts.len()
        )));
    }
    let Some(roi) = roi else {
        return Err(Error::format(mask, missing_label(label, &counts)));
    };
    let differences = img.volume.grid_differences(&roi);
    if let (Some(details), Grid::Image) = (&differences, grid) {
        return Err(Error::GeometryMismatch {
            first: image.to_path_buf(),
            second: mask.to_path_buf(),
            details: details.clone(),
        });
    }
    // A copy has the same grid; voxels of different grids do not compare.
    if image_like_mask.is_some() && differences.is_none() && is_copy_of(&img.volume, &roi) {
        return Err(Error::data(format!(
            "the image {} is a copy of the mask {}: its non-zero voxels are exactly the ROI; \
             give the intensity image as the image",
            image.display(),
            mask.display()
        )));
    }
    Ok((img, roi))
}

fn missing_label(label: i64, counts: &[LabelCount]) -> String {
    let present = counts
        .iter()
        .map(|l| l.label.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "the mask has no voxel with label {label} (labels present: {})",
        if present.is_empty() { "none" } else { &present }
    )
}

/// The distinct values of an image that looks like a label map (whole
/// numbers, at most [`MAX_MASK_LIKE_VALUES`] of them), sorted; `None` for an
/// image that looks like intensities. Stops at the first value that rules
/// the label map out, so an ordinary image costs a few voxels.
fn mask_like_values(v: &Volume<f32>) -> Option<Vec<f32>> {
    let mut distinct: Vec<f32> = Vec::new();
    for &x in v.data.iter() {
        if x.fract() != 0.0 {
            return None;
        }
        if !distinct.contains(&x) {
            if distinct.len() == MAX_MASK_LIKE_VALUES {
                return None;
            }
            distinct.push(x);
        }
    }
    distinct.sort_by(f32::total_cmp);
    Some(distinct)
}

/// Whether the image's non-zero voxels are exactly the ROI.
fn is_copy_of(image: &Volume<f32>, roi: &Volume<bool>) -> bool {
    image
        .data
        .iter()
        .zip(roi.data.iter())
        .all(|(&v, &m)| (v != 0.0) == m)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
