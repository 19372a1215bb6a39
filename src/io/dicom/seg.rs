//! DICOM-SEG: one segment of a Segmentation object, placed on an image grid.
//!
//! A SEG stores one frame per (segment, plane); each frame's position and
//! orientation come from its functional groups (per frame, else shared).
//! Frames must lie on the image grid: same in-plane orientation and pixel
//! spacing, a position on a voxel centre of some slice. Anything else is an
//! error naming the frame, never a silent resampling. BINARY frames are bit
//! packed (least significant bit first, frames back to back); FRACTIONAL
//! frames keep a voxel when its value is at least half the maximum.

use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use ndarray::Array3;

use crate::image::volume::{DIRECTION_TOLERANCE, GEOMETRY_TOLERANCE_MM};
use crate::image::{Geometry, Volume};
use crate::{Error, Result};

/// How far (in voxels) a frame may sit from the voxel centres it covers.
const POSITION_TOLERANCE: f64 = 0.1;

/// Which segment to read.
#[derive(Debug, Clone, Copy)]
pub enum SegmentChoice<'a> {
    Number(i64),
    Label(&'a str),
}

/// Whether `path` is a DICOM file whose Modality is SEG.
pub fn is_segmentation(path: &Path) -> bool {
    path.is_file() && super::file_kind(path) == Some(super::FileKind::Segmentation)
}

/// The chosen segment of the SEG at `path` as a mask on `grid` (`dims` x, y, z).
pub fn read_segment(
    path: &Path,
    choice: SegmentChoice,
    grid: &Geometry,
    dims: [usize; 3],
) -> Result<Volume<bool>> {
    let fail = |m: String| Error::format(path, m);
    let obj = OpenFileOptions::new()
        .open_file(path)
        .map_err(|e| fail(format!("cannot read DICOM file: {e}")))?;
    let number = segment_number(&obj, choice).map_err(fail)?;
    let frames = Frames::of(&obj).map_err(fail)?;
    let shared = first_item(&obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame = obj
        .element(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .ok()
        .and_then(|e| e.items())
        .ok_or_else(|| fail("no PerFrameFunctionalGroupsSequence".into()))?;
    if per_frame.len() != frames.count {
        return Err(fail(format!(
            "{} per-frame functional groups for {} frames",
            per_frame.len(),
            frames.count
        )));
    }
    let [nx, ny, nz] = dims;
    let mut mask = Array3::from_elem((nz, ny, nx), false);
    let mut used = 0;
    for (f, group) in per_frame.iter().enumerate() {
        let frame_no = f + 1;
        let segment = nested_f64s(
            group,
            tags::SEGMENT_IDENTIFICATION_SEQUENCE,
            tags::REFERENCED_SEGMENT_NUMBER,
        )
        .and_then(|v| v.first().copied())
        .ok_or_else(|| fail(format!("frame {frame_no}: no ReferencedSegmentNumber")))?;
        if segment as i64 != number {
            continue;
        }
        used += 1;
        let from_groups = |seq: Tag, tag: Tag| {
            nested_f64s(group, seq, tag).or_else(|| shared.and_then(|s| nested_f64s(s, seq, tag)))
        };
        let orientation = from_groups(
            tags::PLANE_ORIENTATION_SEQUENCE,
            tags::IMAGE_ORIENTATION_PATIENT,
        )
        .filter(|v| v.len() == 6)
        .ok_or_else(|| fail(format!("frame {frame_no}: no ImageOrientationPatient")))?;
        let spacing = from_groups(tags::PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING)
            .filter(|v| v.len() == 2)
            .ok_or_else(|| fail(format!("frame {frame_no}: no PixelSpacing")))?;
        let position = nested_f64s(
            group,
            tags::PLANE_POSITION_SEQUENCE,
            tags::IMAGE_POSITION_PATIENT,
        )
        .filter(|v| v.len() == 3)
        .ok_or_else(|| fail(format!("frame {frame_no}: no ImagePositionPatient")))?;
        let corner = frame_corner(
            grid,
            dims,
            &orientation,
            &spacing,
            &position,
            frames.rows,
            frames.columns,
        )
        .map_err(|m| fail(format!("frame {frame_no} (segment {number}): {m}")))?;
        let [i0, j0, k] = corner;
        for r in 0..frames.rows {
            for c in 0..frames.columns {
                if frames.inside(f, r, c) {
                    mask[[k, j0 + r, i0 + c]] = true;
                }
            }
        }
    }
    if used == 0 {
        return Err(fail(format!("segment {number} has no frame")));
    }
    Ok(Volume::new(mask, *grid))
}

/// The voxel (i, j, k) of the frame's first pixel, after checking that the
/// frame lies on the grid.
fn frame_corner(
    grid: &Geometry,
    dims: [usize; 3],
    orientation: &[f64],
    spacing: &[f64],
    position: &[f64],
    rows: usize,
    columns: usize,
) -> std::result::Result<[usize; 3], String> {
    // DICOM: the first three values run along a row (columns grow), the
    // last three down a column; PixelSpacing is (between rows, between columns).
    for (a, values) in [&orientation[0..3], &orientation[3..6]]
        .into_iter()
        .enumerate()
    {
        let differs =
            (0..3).any(|d| (values[d] - grid.direction[a][d]).abs() > DIRECTION_TOLERANCE);
        if differs {
            return Err(format!(
                "orientation {orientation:?} differs from the image's axes {:?} {:?}",
                grid.direction[0], grid.direction[1]
            ));
        }
    }
    if (spacing[1] - grid.spacing[0]).abs() > GEOMETRY_TOLERANCE_MM
        || (spacing[0] - grid.spacing[1]).abs() > GEOMETRY_TOLERANCE_MM
    {
        return Err(format!(
            "pixel spacing {spacing:?} (rows, columns) differs from the image's {:?}",
            [grid.spacing[1], grid.spacing[0]]
        ));
    }
    let index = grid.physical_to_index([position[0], position[1], position[2]]);
    let rounded = index.map(f64::round);
    if (0..3).any(|a| (index[a] - rounded[a]).abs() > POSITION_TOLERANCE) {
        return Err(format!(
            "position {position:?} is not on a voxel centre of the image (index {index:?})"
        ));
    }
    let fits = rounded[0] >= 0.0
        && rounded[1] >= 0.0
        && rounded[2] >= 0.0
        && rounded[0] as usize + columns <= dims[0]
        && rounded[1] as usize + rows <= dims[1]
        && (rounded[2] as usize) < dims[2];
    if !fits {
        return Err(format!(
            "the {columns} x {rows} frame at index {rounded:?} extends beyond the image ({} x {} x {})",
            dims[0], dims[1], dims[2]
        ));
    }
    Ok(rounded.map(|v| v as usize))
}

/// The pixel data and how to read a pixel of a frame.
struct Frames {
    rows: usize,
    columns: usize,
    count: usize,
    bits: usize,
    /// Least value kept (FRACTIONAL: half the maximum; BINARY: 1).
    threshold: u8,
    data: Vec<u8>,
}

impl Frames {
    fn of(obj: &DefaultDicomObject) -> std::result::Result<Frames, String> {
        let int = |tag: Tag, name: &str| {
            obj.element(tag)
                .ok()
                .and_then(|e| e.to_int::<i64>().ok())
                .filter(|&v| v > 0)
                .map(|v| v as usize)
                .ok_or_else(|| format!("no valid {name}"))
        };
        let (rows, columns, count) = (
            int(tags::ROWS, "Rows")?,
            int(tags::COLUMNS, "Columns")?,
            int(tags::NUMBER_OF_FRAMES, "NumberOfFrames")?,
        );
        let bits = int(tags::BITS_ALLOCATED, "BitsAllocated")?;
        let kind = super::item_text(obj, tags::SEGMENTATION_TYPE).unwrap_or_default();
        let threshold = match (kind.as_str(), bits) {
            ("BINARY", 1) => 1,
            ("FRACTIONAL", 8) => {
                let max = int(tags::MAXIMUM_FRACTIONAL_VALUE, "MaximumFractionalValue")?;
                max.div_ceil(2).clamp(1, 255) as u8
            }
            _ => {
                return Err(format!(
                    "unsupported SegmentationType {kind:?} with BitsAllocated {bits} \
                     (expected BINARY with 1 or FRACTIONAL with 8)"
                ));
            }
        };
        let data = obj
            .element(tags::PIXEL_DATA)
            .map_err(|_| "no PixelData".to_string())?
            .to_bytes()
            .map_err(|_| {
                "the PixelData is encapsulated (compressed); only native SEG frames are read"
                    .to_string()
            })?
            .into_owned();
        let needed = (rows * columns * count * bits).div_ceil(8);
        if data.len() < needed {
            return Err(format!(
                "PixelData has {} bytes; {count} frames of {columns} x {rows} need {needed}",
                data.len()
            ));
        }
        Ok(Frames {
            rows,
            columns,
            count,
            bits,
            threshold,
            data,
        })
    }

    fn inside(&self, frame: usize, row: usize, column: usize) -> bool {
        let n = (frame * self.rows + row) * self.columns + column;
        if self.bits == 1 {
            self.data[n / 8] >> (n % 8) & 1 == 1
        } else {
            self.data[n] >= self.threshold
        }
    }
}

/// The number of the chosen segment, checking that it exists.
fn segment_number(
    obj: &DefaultDicomObject,
    choice: SegmentChoice,
) -> std::result::Result<i64, String> {
    let items = obj
        .element(tags::SEGMENT_SEQUENCE)
        .ok()
        .and_then(|e| e.items())
        .ok_or("no SegmentSequence: not a DICOM-SEG file")?;
    let segments: Vec<(i64, String)> = items
        .iter()
        .filter_map(|item| {
            let number = item
                .element(tags::SEGMENT_NUMBER)
                .ok()?
                .to_int::<i64>()
                .ok()?;
            Some((
                number,
                super::item_text(item, tags::SEGMENT_LABEL).unwrap_or_default(),
            ))
        })
        .collect();
    let found = segments.iter().find(|(n, label)| match choice {
        SegmentChoice::Number(want) => *n == want,
        SegmentChoice::Label(want) => label == want,
    });
    found.map(|(n, _)| *n).ok_or_else(|| {
        let listed: Vec<String> = segments.iter().map(|(n, l)| format!("{n} {l:?}")).collect();
        let wanted = match choice {
            SegmentChoice::Number(n) => format!("segment {n}"),
            SegmentChoice::Label(l) => format!("segment {l:?}"),
        };
        format!("no {wanted} (segments: {})", listed.join(", "))
    })
}

fn first_item(obj: &InMemDicomObject, seq: Tag) -> Option<&InMemDicomObject> {
    obj.element(seq).ok()?.items()?.first()
}

/// The numbers of `tag` inside the first item of the sequence `seq`.
fn nested_f64s(obj: &InMemDicomObject, seq: Tag, tag: Tag) -> Option<Vec<f64>> {
    first_item(obj, seq)?
        .element(tag)
        .ok()?
        .to_multi_float64()
        .ok()
}
