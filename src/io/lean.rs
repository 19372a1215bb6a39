//! Lean case loading: only the part of the image around the ROI is kept.
//!
//! [`read_case_cropped`] reads the mask, finds the bounding box of the label,
//! grows it by a margin, and keeps that box of the image and the ROI. For
//! NRRD the stored voxels are converted row by row straight into the cropped
//! `f32` arrays, so a full `f32` volume never exists and the mask's buffer is
//! dropped before the image is read. NIfTI and DICOM fall back to the full
//! read followed by a crop (the result is the same).

use std::ops::Range;
use std::path::Path;

use ndarray::{Array3, s};

use super::nrrd::{self, RawVoxels};
use super::{Format, LoadedImage, detect_format};
use crate::image::{Geometry, Volume, select_label};
use crate::{Error, Result};

/// Half-open index ranges along (x, y, z).
pub type IndexBox = [Range<usize>; 3];

/// Reads an image and the ROI of `label` of its mask, both cropped to the
/// ROI's bounding box grown by `margin_mm` on each side (per axis,
/// `ceil(margin / spacing)` voxels, clipped to the grid). Same checks and
/// errors as [`super::read_case`].
pub fn read_case_cropped(
    image: &Path,
    mask: &Path,
    label: i64,
    margin_mm: f64,
) -> Result<(LoadedImage, Volume<bool>)> {
    if margin_mm.is_nan() || margin_mm < 0.0 {
        return Err(Error::data(format!(
            "the crop margin must be a non-negative number of mm, not {margin_mm}"
        )));
    }
    let both_nrrd = detect_format(image)? == Format::Nrrd && detect_format(mask)? == Format::Nrrd;
    if !both_nrrd {
        let (img, roi) = super::read_case(image, mask, label)?;
        let bbox = grown_box(&roi, margin_mm)?;
        let cropped = LoadedImage {
            volume: crop_volume(&img.volume, &bbox),
            datatype: img.datatype,
            path: img.path,
        };
        return Ok((cropped, crop_volume(&roi, &bbox)));
    }
    let (roi_full_grid, bbox, roi) = {
        let raw = nrrd::read_raw(mask)?;
        let bbox = label_box(&raw, label).ok_or_else(|| missing_label_error(&raw, mask, label))?;
        let bbox = grow(&bbox, margin_mm, raw.geometry.spacing, raw.sizes);
        let labels = crop_raw(&raw, &bbox);
        let roi = select_label(&labels, label).map_err(|e| Error::format(mask, e.to_string()))?;
        ((raw.sizes, raw.geometry), bbox, roi)
    };
    let raw = nrrd::read_raw(image)?;
    check_same_grid(&raw, roi_full_grid, image, mask)?;
    check_finite(&raw, image)?;
    let volume = crop_raw(&raw, &bbox);
    let loaded = LoadedImage {
        volume,
        datatype: raw.datatype().to_string(),
        path: image.to_path_buf(),
    };
    Ok((loaded, roi))
}

/// The part of `volume` inside `bbox`, with the origin moved to the box's first voxel.
pub fn crop_volume<T: Clone>(volume: &Volume<T>, bbox: &IndexBox) -> Volume<T> {
    let data = volume
        .data
        .slice(s![bbox[2].clone(), bbox[1].clone(), bbox[0].clone()])
        .to_owned();
    Volume::new(data, moved_geometry(&volume.geometry, bbox))
}

/// Bounding box of the ROI grown by `margin_mm` and clipped to the grid.
pub fn grown_box(roi: &Volume<bool>, margin_mm: f64) -> Result<IndexBox> {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for ((k, j, i), _) in roi.data.indexed_iter().filter(|(_, m)| **m) {
        include(&mut lo, &mut hi, [i, j, k]);
    }
    if lo[0] == usize::MAX {
        return Err(Error::data("the ROI is empty"));
    }
    let bbox = [lo[0]..hi[0], lo[1]..hi[1], lo[2]..hi[2]];
    Ok(grow(&bbox, margin_mm, roi.geometry.spacing, roi.dims()))
}

fn include(lo: &mut [usize; 3], hi: &mut [usize; 3], index: [usize; 3]) {
    for a in 0..3 {
        lo[a] = lo[a].min(index[a]);
        hi[a] = hi[a].max(index[a] + 1);
    }
}

fn grow(bbox: &IndexBox, margin_mm: f64, spacing: [f64; 3], dims: [usize; 3]) -> IndexBox {
    std::array::from_fn(|a| {
        let m = (margin_mm / spacing[a]).ceil() as usize;
        bbox[a].start.saturating_sub(m)..(bbox[a].end.saturating_add(m)).min(dims[a])
    })
}

fn moved_geometry(g: &Geometry, bbox: &IndexBox) -> Geometry {
    let first = [
        bbox[0].start as f64,
        bbox[1].start as f64,
        bbox[2].start as f64,
    ];
    Geometry {
        origin: g.index_to_physical(first),
        ..*g
    }
}

/// Calls `f(k, j, row)` for every row of the raw volume, converting into one
/// reused buffer.
fn for_each_row(raw: &RawVoxels, mut f: impl FnMut(usize, usize, &[f32])) {
    let [nx, ny, nz] = raw.sizes;
    let mut row = Vec::with_capacity(nx);
    for k in 0..nz {
        for j in 0..ny {
            row.clear();
            raw.extend_row(k, j, 0..nx, &mut row);
            f(k, j, &row);
        }
    }
}

/// Bounding box of the voxels equal to `label` (same test as `select_label`).
fn label_box(raw: &RawVoxels, label: i64) -> Option<IndexBox> {
    let wanted = label as f32;
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for_each_row(raw, |k, j, row| {
        let first = row.iter().position(|&v| v == wanted);
        let last = row.iter().rposition(|&v| v == wanted);
        if let (Some(a), Some(b)) = (first, last) {
            include(&mut lo, &mut hi, [a, j, k]);
            include(&mut lo, &mut hi, [b, j, k]);
        }
    });
    (lo[0] != usize::MAX).then(|| [lo[0]..hi[0], lo[1]..hi[1], lo[2]..hi[2]])
}

/// The error `read_case` gives for a missing label: the full volume is only
/// built on this failure path, to list the labels present.
fn missing_label_error(raw: &RawVoxels, mask: &Path, label: i64) -> Error {
    let full: IndexBox = std::array::from_fn(|a| 0..raw.sizes[a]);
    match select_label(&crop_raw(raw, &full), label) {
        Err(e) => Error::format(mask, e.to_string()),
        Ok(_) => Error::format(mask, format!("label {label} vanished while reading")),
    }
}

fn crop_raw(raw: &RawVoxels, bbox: &IndexBox) -> Volume<f32> {
    let shape = (bbox[2].len(), bbox[1].len(), bbox[0].len());
    let mut voxels = Vec::with_capacity(shape.0 * shape.1 * shape.2);
    for k in bbox[2].clone() {
        for j in bbox[1].clone() {
            raw.extend_row(k, j, bbox[0].clone(), &mut voxels);
        }
    }
    let data = Array3::from_shape_vec(shape, voxels).expect("rows fill the box exactly");
    Volume::new(data, moved_geometry(&raw.geometry, bbox))
}

fn check_same_grid(
    raw: &RawVoxels,
    (mask_sizes, mask_geometry): ([usize; 3], Geometry),
    image: &Path,
    mask: &Path,
) -> Result<()> {
    let mut parts = Vec::new();
    if raw.sizes != mask_sizes {
        parts.push(format!("dimensions {:?} vs {:?}", raw.sizes, mask_sizes));
    }
    if let Some(d) = raw.geometry.differences(&mask_geometry) {
        parts.push(d);
    }
    if parts.is_empty() {
        return Ok(());
    }
    Err(Error::GeometryMismatch {
        first: image.to_path_buf(),
        second: mask.to_path_buf(),
        details: parts.join("; "),
    })
}

/// `read_image` refuses NaN or infinite voxels anywhere in the image.
fn check_finite(raw: &RawVoxels, image: &Path) -> Result<()> {
    if !raw.is_float() {
        return Ok(());
    }
    let mut bad = 0usize;
    for_each_row(raw, |_, _, row| {
        bad += row.iter().filter(|v| !v.is_finite()).count();
    });
    if bad > 0 {
        return Err(Error::format(
            image,
            format!("{bad} voxels are NaN or infinite"),
        ));
    }
    Ok(())
}
