//! DICOM image series: every slice file of one directory assembled into a
//! volume in LPS, with the rescale slope/intercept applied.
//!
//! Slices are sorted along the slice normal (row × column direction of
//! ImageOrientationPatient) by the projection of ImagePositionPatient, and
//! the spacing between them must be regular: a missing slice is an error
//! that says where the gap is, never a silently stretched volume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};
use ndarray::Array3;
use rayon::prelude::*;

use super::{attribute_f64, attribute_multi_f64, attribute_str, cross, dot};
use crate::image::precision::normalise_spacing;
use crate::image::{Geometry, Volume};
use crate::io::LoadedImage;
use crate::{Error, Result};

/// Relative tolerance on the slice step, and the absolute floor (mm).
const STEP_RELATIVE_TOLERANCE: f64 = 0.01;
const STEP_ABSOLUTE_TOLERANCE_MM: f64 = 0.01;
/// Tolerance on orientation cosines and pixel spacing between slices.
const ORIENTATION_TOLERANCE: f64 = 1e-4;

/// Reads the only image series of a directory.
pub fn read(dir: &Path) -> Result<LoadedImage> {
    read_series(dir, None)
}

/// Reads one image series of a directory: the one with `series_uid`, or
/// the only one present (several series without a selection is an error
/// listing them).
pub fn read_series(dir: &Path, series_uid: Option<&str>) -> Result<LoadedImage> {
    load(dir, series_uid).map(|s| s.image)
}

/// An image series with the identifiers that tie other objects (RTSTRUCT)
/// to it.
#[derive(Debug, Clone)]
pub struct Series {
    pub image: LoadedImage,
    pub series_uid: String,
    /// FrameOfReferenceUID of the slices, when they carry one.
    pub frame_of_reference_uid: Option<String>,
}

/// [`read_series`], keeping the series' identifiers.
pub fn load(dir: &Path, series_uid: Option<&str>) -> Result<Series> {
    let slices = scan_directory(dir)?;
    let mut by_series: BTreeMap<String, Vec<SliceHeader>> = BTreeMap::new();
    for s in slices {
        by_series.entry(s.series_uid.clone()).or_default().push(s);
    }
    let slices = select_series(dir, by_series, series_uid)?;
    let series_uid = slices[0].series_uid.clone();
    let frame_of_reference_uid = slices[0].frame_of_reference_uid.clone();
    let layout = SeriesLayout::from_slices(dir, slices)?;
    Ok(Series {
        image: layout.load(dir)?,
        series_uid,
        frame_of_reference_uid,
    })
}

/// The image series UIDs of a directory with their slice counts.
pub fn list_series(dir: &Path) -> Result<Vec<(String, usize)>> {
    let slices = scan_directory(dir)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in slices {
        *counts.entry(s.series_uid).or_default() += 1;
    }
    Ok(counts.into_iter().collect())
}

/// What is needed of one slice file to place it, without its pixels.
#[derive(Debug, Clone)]
struct SliceHeader {
    path: PathBuf,
    series_uid: String,
    frame_of_reference_uid: Option<String>,
    position: [f64; 3],
    row_direction: [f64; 3],
    column_direction: [f64; 3],
    /// (between rows, between columns), as in PixelSpacing.
    pixel_spacing: [f64; 2],
    rows: usize,
    columns: usize,
    /// SpacingBetweenSlices, else SliceThickness: the step of a lone slice.
    nominal_step: Option<f64>,
}

/// Image slice headers of the directory's files (sorted by name); files
/// that are not DICOM images are skipped.
fn scan_directory(dir: &Path) -> Result<Vec<SliceHeader>> {
    let files = crate::io::sorted_files(dir)?;
    let headers: Vec<Option<SliceHeader>> = files
        .par_iter()
        .map(|p| read_slice_header(p))
        .collect::<Result<_>>()?;
    let total = headers.len();
    let slices: Vec<SliceHeader> = headers.into_iter().flatten().collect();
    if slices.is_empty() {
        // Say what the files are when they are masks: a directory holding
        // an RTSTRUCT or a SEG was given where its image series was meant.
        let masks: Vec<String> = files
            .iter()
            .filter_map(|f| match super::file_kind(f) {
                Some(super::FileKind::StructureSet) => {
                    Some(format!("{} is an RTSTRUCT", file_name(f)))
                }
                Some(super::FileKind::Segmentation) => {
                    Some(format!("{} is a DICOM-SEG", file_name(f)))
                }
                _ => None,
            })
            .take(5)
            .collect();
        let hint = if masks.is_empty() {
            String::new()
        } else {
            format!(
                "; {}: masks, to be given as the mask file with the series directory as the image",
                masks.join(", ")
            )
        };
        return Err(Error::format(
            dir,
            format!("no DICOM image slice found ({total} files, none a DICOM image){hint}"),
        ));
    }
    Ok(slices)
}

/// `None` for a file that is not DICOM or not an image (RTSTRUCT, ...);
/// an error for a DICOM image whose placement attributes are unusable.
fn read_slice_header(path: &Path) -> Result<Option<SliceHeader>> {
    let Ok(obj) = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
    else {
        return Ok(None);
    };
    let is_image = [
        tags::ROWS,
        tags::COLUMNS,
        tags::IMAGE_POSITION_PATIENT,
        tags::IMAGE_ORIENTATION_PATIENT,
    ]
    .iter()
    .all(|&t| obj.element_opt(t).ok().flatten().is_some());
    if !is_image {
        return Ok(None);
    }
    let position = fixed::<3>(
        &obj,
        path,
        tags::IMAGE_POSITION_PATIENT,
        "ImagePositionPatient",
    )?;
    let iop = fixed::<6>(
        &obj,
        path,
        tags::IMAGE_ORIENTATION_PATIENT,
        "ImageOrientationPatient",
    )?;
    let pixel_spacing = fixed::<2>(&obj, path, tags::PIXEL_SPACING, "PixelSpacing")?;
    if pixel_spacing.iter().any(|&s| s <= 0.0) {
        return Err(Error::format(
            path,
            format!("invalid PixelSpacing {pixel_spacing:?}"),
        ));
    }
    let row_direction = unit(path, [iop[0], iop[1], iop[2]])?;
    let column_direction = unit(path, [iop[3], iop[4], iop[5]])?;
    if dot(row_direction, column_direction).abs() > ORIENTATION_TOLERANCE {
        return Err(Error::format(
            path,
            format!(
                "ImageOrientationPatient {iop:?}: row and column directions are not orthogonal"
            ),
        ));
    }
    Ok(Some(SliceHeader {
        path: path.to_path_buf(),
        series_uid: attribute_str(&obj, path, tags::SERIES_INSTANCE_UID, "SeriesInstanceUID")?,
        frame_of_reference_uid: attribute_str(
            &obj,
            path,
            tags::FRAME_OF_REFERENCE_UID,
            "FrameOfReferenceUID",
        )
        .ok()
        .filter(|s| !s.is_empty()),
        position,
        row_direction,
        column_direction,
        pixel_spacing,
        rows: attribute_f64(&obj, path, tags::ROWS, "Rows")? as usize,
        columns: attribute_f64(&obj, path, tags::COLUMNS, "Columns")? as usize,
        nominal_step: [tags::SPACING_BETWEEN_SLICES, tags::SLICE_THICKNESS]
            .iter()
            .find_map(|&t| obj.element(t).ok().and_then(|e| e.to_float64().ok()))
            .filter(|s| s.is_finite() && *s > 0.0),
    }))
}

/// A numeric attribute that must have exactly `N` finite values.
fn fixed<const N: usize>(
    obj: &DefaultDicomObject,
    path: &Path,
    tag: dicom_core::Tag,
    name: &str,
) -> Result<[f64; N]> {
    let v = attribute_multi_f64(obj, path, tag, name)?;
    v.as_slice()
        .try_into()
        .ok()
        .filter(|a: &[f64; N]| a.iter().all(|x| x.is_finite()))
        .ok_or_else(|| {
            Error::format(
                path,
                format!("{name} must have {N} finite values, found {v:?}"),
            )
        })
}

fn unit(path: &Path, v: [f64; 3]) -> Result<[f64; 3]> {
    let n = dot(v, v).sqrt();
    if !(0.5..1.5).contains(&n) {
        return Err(Error::format(
            path,
            format!("ImageOrientationPatient vector {v:?} is not a unit vector"),
        ));
    }
    Ok([v[0] / n, v[1] / n, v[2] / n])
}

fn select_series(
    dir: &Path,
    mut by_series: BTreeMap<String, Vec<SliceHeader>>,
    wanted: Option<&str>,
) -> Result<Vec<SliceHeader>> {
    let listing = || {
        by_series
            .iter()
            .map(|(uid, s)| format!("{uid} ({} slices)", s.len()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(uid) => {
            let message = format!("no image series {uid} here; series present: {}", listing());
            by_series
                .remove(uid)
                .ok_or_else(|| Error::format(dir, message))
        }
        None if by_series.len() > 1 => Err(Error::format(
            dir,
            format!(
                "the directory holds {} image series: {}; select one with --series UID \
                 (extract, convert, inspect, predict), or give a directory that holds one series",
                by_series.len(),
                listing()
            ),
        )),
        None => Ok(by_series
            .into_values()
            .next()
            .expect("scan found at least one slice")),
    }
}

/// The sorted slices of one series and the grid they form.
struct SeriesLayout {
    slices: Vec<SliceHeader>,
    geometry: Geometry,
}

impl SeriesLayout {
    fn from_slices(dir: &Path, mut slices: Vec<SliceHeader>) -> Result<SeriesLayout> {
        let first = slices[0].clone();
        for s in &slices[1..] {
            let same_orientation = (0..3).all(|c| {
                (s.row_direction[c] - first.row_direction[c]).abs() < ORIENTATION_TOLERANCE
                    && (s.column_direction[c] - first.column_direction[c]).abs()
                        < ORIENTATION_TOLERANCE
            });
            let same_grid = s.rows == first.rows
                && s.columns == first.columns
                && (0..2).all(|a| {
                    (s.pixel_spacing[a] - first.pixel_spacing[a]).abs() < ORIENTATION_TOLERANCE
                });
            if !same_orientation || !same_grid {
                return Err(Error::format(
                    dir,
                    format!(
                        "{} and {} have different orientations, sizes or pixel spacings",
                        first.path.display(),
                        s.path.display()
                    ),
                ));
            }
        }
        let normal = cross(first.row_direction, first.column_direction);
        let along = |s: &SliceHeader| dot(s.position, normal);
        slices.sort_by(|a, b| along(a).total_cmp(&along(b)));
        let heights: Vec<f64> = slices.iter().map(along).collect();
        let step = slice_step(dir, &slices, &heights)?;
        // Every slice must sit on the line through the first one along the
        // normal, otherwise the grid is sheared (gantry tilt).
        let origin = slices[0].position;
        for s in &slices {
            let d = [
                s.position[0] - origin[0],
                s.position[1] - origin[1],
                s.position[2] - origin[2],
            ];
            let off = dot(d, first.row_direction)
                .abs()
                .max(dot(d, first.column_direction).abs());
            if off > STEP_ABSOLUTE_TOLERANCE_MM.max(0.01 * first.pixel_spacing[0]) {
                return Err(Error::format(
                    &s.path,
                    format!(
                        "slice position {:?} is shifted in-plane by {off:.3} mm from the first slice (tilted or sheared series)",
                        s.position
                    ),
                ));
            }
        }
        let geometry = Geometry {
            // Normalised as every reader does (see image::precision): the
            // step derived from positions is 2.9999999999998486 for 3 mm.
            spacing: [
                normalise_spacing(first.pixel_spacing[1]),
                normalise_spacing(first.pixel_spacing[0]),
                normalise_spacing(step),
            ],
            origin,
            direction: [first.row_direction, first.column_direction, normal],
        };
        Ok(SeriesLayout { slices, geometry })
    }

    /// Decodes every slice (in parallel, assembled in sorted order).
    fn load(self, dir: &Path) -> Result<LoadedImage> {
        let (nx, ny, nz) = (
            self.slices[0].columns,
            self.slices[0].rows,
            self.slices.len(),
        );
        let decoded: Vec<(Vec<f32>, String)> = self
            .slices
            .par_iter()
            .map(|s| decode_slice(&s.path, nx * ny))
            .collect::<Result<_>>()?;
        let datatype = decoded[0].1.clone();
        let mut voxels = Vec::with_capacity(nx * ny * nz);
        for (v, _) in decoded {
            voxels.extend(v);
        }
        let data = Array3::from_shape_vec((nz, ny, nx), voxels)
            .map_err(|e| Error::format(dir, format!("unexpected voxel layout: {e}")))?;
        Ok(LoadedImage {
            volume: Volume::new(data, self.geometry),
            datatype,
            path: dir.to_path_buf(),
        })
    }
}

/// The regular distance between sorted slices; an error listing the
/// positions around every irregular gap (missing or duplicate slices).
fn slice_step(dir: &Path, slices: &[SliceHeader], heights: &[f64]) -> Result<f64> {
    if heights.len() == 1 {
        // A single slice has no step: its nominal one stands in.
        return Ok(slices[0].nominal_step.unwrap_or(1.0));
    }
    let steps: Vec<f64> = heights.windows(2).map(|w| w[1] - w[0]).collect();
    let mut sorted = steps.clone();
    sorted.sort_by(f64::total_cmp);
    let step = sorted[sorted.len() / 2];
    if step <= STEP_ABSOLUTE_TOLERANCE_MM {
        return Err(Error::format(dir, "several slices share the same position"));
    }
    let tolerance = STEP_ABSOLUTE_TOLERANCE_MM.max(STEP_RELATIVE_TOLERANCE * step);
    let irregular: Vec<String> = steps
        .iter()
        .enumerate()
        .filter(|(_, d)| (**d - step).abs() > tolerance)
        .map(|(i, d)| {
            format!(
                "{d:.3} mm between positions {:.3} and {:.3} ({} and {})",
                heights[i],
                heights[i + 1],
                file_name(&slices[i].path),
                file_name(&slices[i + 1].path)
            )
        })
        .collect();
    if !irregular.is_empty() {
        return Err(Error::format(
            dir,
            format!(
                "slices are unevenly spaced (missing or duplicate slices?): the usual step is {step:.3} mm, but {}",
                irregular.join("; ")
            ),
        ));
    }
    // The mean step is the best estimate once all steps agree.
    Ok((heights[heights.len() - 1] - heights[0]) / steps.len() as f64)
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Rescaled voxels of one slice and its stored datatype.
fn decode_slice(path: &Path, expected: usize) -> Result<(Vec<f32>, String)> {
    let obj: DefaultDicomObject = OpenFileOptions::new()
        .open_file(path)
        .map_err(|e| Error::format(path, format!("cannot read DICOM file: {e}")))?;
    let pixels = obj
        .decode_pixel_data()
        .map_err(|e| Error::format(path, format!("cannot decode the pixel data: {e}")))?;
    if pixels.number_of_frames() != 1 || pixels.samples_per_pixel() != 1 {
        return Err(Error::format(
            path,
            format!(
                "{} frames of {} samples per pixel: radial reads single-frame greyscale slices",
                pixels.number_of_frames(),
                pixels.samples_per_pixel()
            ),
        ));
    }
    let signed = matches!(
        pixels.pixel_representation(),
        dicom_pixeldata::PixelRepresentation::Signed
    );
    let datatype = format!(
        "{}int{}",
        if signed { "" } else { "u" },
        pixels.bits_allocated()
    );
    let raw: Vec<f64> = pixels
        .to_vec_with_options(&ConvertOptions::new().with_modality_lut(ModalityLutOption::None))
        .map_err(|e| Error::format(path, format!("cannot convert the pixel data: {e}")))?;
    if raw.len() != expected {
        return Err(Error::format(
            path,
            format!("{} pixels stored, Rows × Columns = {expected}", raw.len()),
        ));
    }
    let slope = optional_f64(&obj, path, tags::RESCALE_SLOPE, "RescaleSlope")?.unwrap_or(1.0);
    let intercept =
        optional_f64(&obj, path, tags::RESCALE_INTERCEPT, "RescaleIntercept")?.unwrap_or(0.0);
    Ok((
        raw.into_iter()
            .map(|v| (v * slope + intercept) as f32)
            .collect(),
        datatype,
    ))
}

fn optional_f64(
    obj: &DefaultDicomObject,
    path: &Path,
    tag: dicom_core::Tag,
    name: &str,
) -> Result<Option<f64>> {
    match obj.element_opt(tag).ok().flatten() {
        None => Ok(None),
        Some(_) => attribute_f64(obj, path, tag, name).map(Some),
    }
}
