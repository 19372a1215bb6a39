//! RTSTRUCT: the closed planar contours of one ROI, rasterised onto an
//! image grid.
//!
//! Each contour is mapped to continuous voxel indices, assigned to the slice
//! with the nearest k, and filled with the even-odd rule across all contours
//! of that slice (so a contour inside another is a hole). A voxel belongs to
//! the ROI when its centre is inside or on the contour (within the rounding
//! rule of `image::precision`).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use ndarray::Array3;

use crate::image::{Geometry, Volume, precision};
use crate::{Error, Result};

/// How far (in slices) a contour's plane may be from a slice centre.
const SLICE_TOLERANCE: f64 = 0.1;

/// The closed planar contours of one ROI, in LPS millimetres.
#[derive(Debug, Clone)]
pub struct RoiContours {
    pub name: String,
    pub number: i64,
    /// ReferencedFrameOfReferenceUID of the ROI, when given.
    pub frame_of_reference_uid: Option<String>,
    pub contours: Vec<Vec<[f64; 3]>>,
}

fn open(path: &Path) -> Result<DefaultDicomObject> {
    OpenFileOptions::new()
        .open_file(path)
        .map_err(|e| Error::format(path, format!("cannot read DICOM file: {e}")))
}

/// One entry of StructureSetROISequence.
struct RoiEntry {
    number: i64,
    name: String,
    frame_of_reference_uid: Option<String>,
}

fn structure_set_rois(obj: &DefaultDicomObject, path: &Path) -> Result<Vec<RoiEntry>> {
    let items = obj
        .element(tags::STRUCTURE_SET_ROI_SEQUENCE)
        .ok()
        .and_then(|e| e.items())
        .ok_or_else(|| Error::format(path, "no StructureSetROISequence: not an RTSTRUCT file"))?;
    items
        .iter()
        .map(|item| {
            Ok(RoiEntry {
                number: item_f64(item, path, tags::ROI_NUMBER, "ROINumber")? as i64,
                name: super::item_text(item, tags::ROI_NAME).unwrap_or_default(),
                frame_of_reference_uid: super::item_text(
                    item,
                    tags::REFERENCED_FRAME_OF_REFERENCE_UID,
                ),
            })
        })
        .collect()
}

type Item = dicom_object::InMemDicomObject;

fn item_f64(item: &Item, path: &Path, tag: dicom_core::Tag, name: &str) -> Result<f64> {
    item.element(tag)
        .ok()
        .and_then(|e| e.to_float64().ok())
        .ok_or_else(|| Error::format(path, format!("a sequence item lacks a numeric {name}")))
}

/// The ROI names of an RTSTRUCT file, in file order.
pub fn roi_names(path: &Path) -> Result<Vec<String>> {
    let obj = open(path)?;
    Ok(structure_set_rois(&obj, path)?
        .into_iter()
        .map(|r| r.name)
        .collect())
}

/// The closed planar contours of the ROI called `roi_name`; an error listing
/// the available names when there is none.
pub fn read_roi(path: &Path, roi_name: &str) -> Result<RoiContours> {
    let obj = open(path)?;
    let rois = structure_set_rois(&obj, path)?;
    let Some(entry) = rois.iter().find(|r| r.name == roi_name) else {
        let names: Vec<String> = rois.iter().map(|r| format!("{:?}", r.name)).collect();
        return Err(Error::format(
            path,
            format!(
                "no ROI named {roi_name:?}; the ROIs are: {}",
                crate::error::none_or_joined(&names)
            ),
        ));
    };
    let roi_contours = obj
        .element(tags::ROI_CONTOUR_SEQUENCE)
        .ok()
        .and_then(|e| e.items())
        .ok_or_else(|| Error::format(path, "no ROIContourSequence"))?;
    let number = entry.number;
    let contour_entry = roi_contours
        .iter()
        .find(|item| {
            item_f64(
                item,
                path,
                tags::REFERENCED_ROI_NUMBER,
                "ReferencedROINumber",
            )
            .is_ok_and(|n| n as i64 == number)
        })
        .ok_or_else(|| {
            Error::format(
                path,
                format!("ROI {roi_name:?} (number {number}) has no contours"),
            )
        })?;
    let mut contours = Vec::new();
    for contour in contour_entry
        .element(tags::CONTOUR_SEQUENCE)
        .ok()
        .and_then(|e| e.items())
        .unwrap_or_default()
    {
        let kind = contour
            .element(tags::CONTOUR_GEOMETRIC_TYPE)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if kind != "CLOSED_PLANAR" {
            continue; // points and open lines enclose no voxel
        }
        let data = contour
            .element(tags::CONTOUR_DATA)
            .ok()
            .and_then(|e| e.to_multi_float64().ok())
            .ok_or_else(|| {
                Error::format(
                    path,
                    format!("a contour of ROI {roi_name:?} has no numeric ContourData"),
                )
            })?;
        if data.len() % 3 != 0 || data.len() < 9 || data.iter().any(|v| !v.is_finite()) {
            return Err(Error::format(
                path,
                format!(
                    "a contour of ROI {roi_name:?} has {} ContourData values: need finite (x, y, z) triplets, at least 3 points",
                    data.len()
                ),
            ));
        }
        contours.push(data.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect());
    }
    if contours.is_empty() {
        return Err(Error::format(
            path,
            format!("ROI {roi_name:?} has no CLOSED_PLANAR contour"),
        ));
    }
    Ok(RoiContours {
        name: entry.name.clone(),
        number,
        frame_of_reference_uid: entry.frame_of_reference_uid.clone(),
        contours,
    })
}

/// Reads the ROI and rasterises it onto the grid of `image`.
pub fn read_mask<T>(path: &Path, roi_name: &str, image: &Volume<T>) -> Result<Volume<bool>> {
    let roi = read_roi(path, roi_name)?;
    rasterise_from(path, &roi, image)
}

/// [`rasterise`] with errors naming the RTSTRUCT file and the ROI.
fn rasterise_from<T>(path: &Path, roi: &RoiContours, image: &Volume<T>) -> Result<Volume<bool>> {
    rasterise(roi, &image.geometry, image.dims())
        .map_err(|e| Error::format(path, format!("ROI {:?}: {e}", roi.name)))
}

/// Reads the ROI and rasterises it onto a DICOM series, first checking that
/// both are in the same frame of reference (when both say which).
pub fn read_mask_for_series(
    path: &Path,
    roi_name: &str,
    series: &super::series::Series,
) -> Result<Volume<bool>> {
    let roi = read_roi(path, roi_name)?;
    if let (Some(theirs), Some(ours)) =
        (&roi.frame_of_reference_uid, &series.frame_of_reference_uid)
        && theirs != ours
    {
        return Err(Error::format(
            path,
            format!(
                "ROI {roi_name:?} is drawn in the frame of reference {theirs}, but the series {} is in {ours}",
                series.image.path.display()
            ),
        ));
    }
    rasterise_from(path, &roi, &series.image.volume)
}

/// Rasterises contours onto a grid of `dims` (x, y, z). Errors are plain
/// messages; [`read_mask`] adds the file name.
pub fn rasterise(roi: &RoiContours, geometry: &Geometry, dims: [usize; 3]) -> Result<Volume<bool>> {
    let [nx, ny, nz] = dims;
    // Polygons in (i, j) index coordinates, grouped by slice.
    let mut per_slice: Vec<Vec<Vec<[f64; 2]>>> = vec![Vec::new(); nz];
    for (c, contour) in roi.contours.iter().enumerate() {
        // Vertices a rounding error from a voxel centre's row or column are
        // put on it (image::precision), so that a contour drawn through
        // voxel centres includes or excludes them by rule, not by an ulp.
        let indices: Vec<[f64; 3]> = contour
            .iter()
            .map(|&p| {
                geometry
                    .physical_to_index(p)
                    .map(precision::snap_to_integer)
            })
            .collect();
        let k_mean = indices.iter().map(|p| p[2]).sum::<f64>() / indices.len() as f64;
        let k = k_mean.round();
        let spread = indices.iter().map(|p| (p[2] - k).abs()).fold(0.0, f64::max);
        if spread > SLICE_TOLERANCE {
            let z = contour[0][2];
            return Err(Error::data(format!(
                "contour {c} (first point at z = {z:.3} mm, slice index {k_mean:.3}) lies between slices or is not parallel to them"
            )));
        }
        if k < 0.0 || k >= nz as f64 {
            return Err(Error::data(format!(
                "contour {c} lies at slice index {k_mean:.3}, outside the image's {nz} slices"
            )));
        }
        per_slice[k as usize].push(indices.iter().map(|p| [p[0], p[1]]).collect());
    }
    let mut data = Array3::from_elem((nz, ny, nx), false);
    let mut crossings = Vec::new();
    for (k, polygons) in per_slice.iter().enumerate() {
        for j in 0..ny {
            let y = j as f64;
            crossings.clear();
            for poly in polygons {
                row_crossings(poly, y, &mut crossings);
            }
            crossings.sort_by(f64::total_cmp);
            for pair in crossings.chunks_exact(2) {
                // Voxel centres i with pair[0] <= i <= pair[1] are inside:
                // a centre on the contour belongs to the ROI, on either
                // side, within the rounding rule (a crossing computed as
                // 137.0000044 passes through centre 137).
                let start = precision::ceil(pair[0]).max(0.0) as usize;
                let end = ((precision::floor(pair[1]) + 1.0).max(0.0) as usize).min(nx);
                for i in start..end {
                    data[[k, j, i]] = true;
                }
            }
            // Centres on a horizontal edge lie on the contour too; the
            // half-open crossing test above does not see them.
            for poly in polygons {
                for [lo, hi] in edges_along_row(poly, y) {
                    let start = precision::ceil(lo).max(0.0) as usize;
                    let end = ((precision::floor(hi) + 1.0).max(0.0) as usize).min(nx);
                    for i in start..end {
                        data[[k, j, i]] = true;
                    }
                }
            }
        }
    }
    Ok(Volume::new(data, *geometry))
}

/// The x extents of the polygon's edges that lie on the line at ordinate
/// `y` (vertices are snapped, so such an edge has both ends exactly on it).
fn edges_along_row(poly: &[[f64; 2]], y: f64) -> impl Iterator<Item = [f64; 2]> + '_ {
    let n = poly.len();
    (0..n).filter_map(move |e| {
        let [x0, y0] = poly[e];
        let [x1, y1] = poly[(e + 1) % n];
        (y0 == y && y1 == y).then(|| [x0.min(x1), x0.max(x1)])
    })
}

/// Abscissae where the polygon's edges cross the line at ordinate `y`. Each
/// edge is half-open in y, so a vertex on the line is counted once and the
/// number of crossings is even.
fn row_crossings(poly: &[[f64; 2]], y: f64, out: &mut Vec<f64>) {
    let n = poly.len();
    for e in 0..n {
        let [x0, y0] = poly[e];
        let [x1, y1] = poly[(e + 1) % n];
        if (y0 <= y) != (y1 <= y) {
            out.push(x0 + (y - y0) * (x1 - x0) / (y1 - y0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(v: &Volume<bool>) -> usize {
        v.data.iter().filter(|&&b| b).count()
    }

    fn roi(contours: Vec<Vec<[f64; 3]>>) -> RoiContours {
        RoiContours {
            name: "t".into(),
            number: 1,
            frame_of_reference_uid: None,
            contours,
        }
    }

    fn square(lo: f64, hi: f64, z: f64) -> Vec<[f64; 3]> {
        vec![[lo, lo, z], [hi, lo, z], [hi, hi, z], [lo, hi, z]]
    }

    #[test]
    fn square_fills_the_centres_inside_it() {
        // 1 mm voxels, origin 0: the square [1.5, 4.5]² contains centres 2, 3, 4.
        let g = Geometry::new([1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
        let m = rasterise(&roi(vec![square(1.5, 4.5, 2.0)]), &g, [8, 8, 3]).unwrap();
        assert_eq!(count(&m), 9);
        assert!(m.data[[1, 2, 2]] && m.data[[1, 4, 4]] && !m.data[[1, 5, 4]]);
        assert!(!m.data[[0, 3, 3]] && !m.data[[2, 3, 3]]);
    }

    #[test]
    fn centres_on_the_contour_belong_to_it_on_every_side() {
        // The square [1, 4]² drawn through voxel centres, with vertices a
        // rounding error off: its 4 x 4 centres, boundary included.
        let g = Geometry::new([1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
        let e = 1e-12;
        let c = vec![
            [1.0 + e, 1.0 - e, 2.0],
            [4.0 - e, 1.0 + e, 2.0],
            [4.0 + e, 4.0 - e, 2.0],
            [1.0 - e, 4.0 + e, 2.0],
        ];
        let m = rasterise(&roi(vec![c]), &g, [8, 8, 3]).unwrap();
        assert_eq!(count(&m), 16);
        assert!(m.data[[1, 1, 1]] && m.data[[1, 4, 4]] && m.data[[1, 1, 4]] && m.data[[1, 4, 1]]);
        assert!(!m.data[[1, 5, 4]] && !m.data[[1, 4, 5]] && !m.data[[1, 0, 1]]);
    }

    #[test]
    fn inner_contour_is_a_hole() {
        let g = Geometry::new([1.0; 3], [0.0; 3]);
        let m = rasterise(
            &roi(vec![square(0.5, 5.5, 0.0), square(2.5, 3.5, 0.0)]),
            &g,
            [7, 7, 1],
        )
        .unwrap();
        assert_eq!(count(&m), 25 - 1);
        assert!(!m.data[[0, 3, 3]]);
    }

    #[test]
    fn flipped_axes_map_through_the_geometry() {
        // x grows to the right (direction -x), as in many CT series.
        let g = Geometry {
            spacing: [0.5, 0.5, 1.0],
            origin: [10.0, 0.0, 0.0],
            direction: [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        };
        // x in [8.2, 9.3] mm → i in [1.4, 3.6] → i = 2, 3; y in [0.2, 0.8] → j = 1.
        let c = vec![
            [8.2, 0.2, 0.0],
            [9.3, 0.2, 0.0],
            [9.3, 0.8, 0.0],
            [8.2, 0.8, 0.0],
        ];
        let m = rasterise(&roi(vec![c]), &g, [6, 4, 1]).unwrap();
        assert_eq!(count(&m), 2);
        assert!(m.data[[0, 1, 2]] && m.data[[0, 1, 3]]);
    }

    #[test]
    fn contours_between_or_outside_slices_are_errors() {
        let g = Geometry::new([1.0, 1.0, 2.0], [0.0; 3]);
        let e = rasterise(&roi(vec![square(1.0, 3.0, 3.0)]), &g, [5, 5, 3]).unwrap_err();
        assert!(e.to_string().contains("between slices"), "{e}");
        let e = rasterise(&roi(vec![square(1.0, 3.0, 10.0)]), &g, [5, 5, 3]).unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
    }
}
