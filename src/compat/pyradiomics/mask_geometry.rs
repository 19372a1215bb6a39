//! Whether the mask lies on the image's grid, as PyRadiomics' `checkMask`
//! decides it (SimpleITK's test that two images occupy the same physical
//! space), and with `correctMask` its correction (`_correctMask`): when the
//! ROI lies within the image's extent, the mask is resampled onto the
//! image's grid with the nearest neighbour; otherwise, and without
//! `correctMask`, the case fails.
//!
//! SimpleITK's test (measured with SimpleITK 2.5): the sizes are equal, each
//! origin and spacing component within `geometryTolerance` × the image's
//! first spacing, each direction component within `geometryTolerance`; the
//! tolerance defaults to 1e-6.

use super::params::Settings;
use super::resample::{itk_index_to_physical, itk_physical_to_index, nearest_onto};
use crate::image::{Geometry, Volume};

/// SimpleITK's default coordinate and direction tolerance.
const DEFAULT_TOLERANCE: f64 = 1e-6;

/// PyRadiomics' allowance, in voxels, for the ROI's corners beyond the
/// image's outer voxel edges (`_checkROI`).
const BOUNDS_ALLOWANCE: f64 = 1e-3;

/// Why a mask cannot be used with the image.
#[derive(Debug, Clone, PartialEq)]
pub enum Misfit {
    /// The grids differ and `correctMask` is off; what differs.
    Mismatch(String),
    /// The ROI reaches beyond the image (with `correctMask`, or with
    /// resampling, which reads the image around the mask's own grid).
    Outside(String),
}

/// What differs between the image's grid and the mask's beyond SimpleITK's
/// tolerances; `None` when they are the same grid.
pub fn differences(
    image: &Geometry,
    image_dims: [usize; 3],
    mask: &Geometry,
    mask_dims: [usize; 3],
    tolerance: Option<f64>,
) -> Option<String> {
    let tol = tolerance.unwrap_or(DEFAULT_TOLERANCE);
    let coordinate = (tol * image.spacing[0]).abs();
    let beyond = |a: &[f64], b: &[f64], t: f64| a.iter().zip(b).any(|(x, y)| (x - y).abs() > t);
    let mut parts = Vec::new();
    if image_dims != mask_dims {
        parts.push(format!("size {image_dims:?} vs {mask_dims:?}"));
    }
    if beyond(image.origin.as_slice(), mask.origin.as_slice(), coordinate) {
        parts.push(format!("origin {:?} vs {:?} mm", image.origin, mask.origin));
    }
    if beyond(
        image.spacing.as_slice(),
        mask.spacing.as_slice(),
        coordinate,
    ) {
        parts.push(format!(
            "spacing {:?} vs {:?} mm",
            image.spacing, mask.spacing
        ));
    }
    if beyond(
        image.direction.as_flattened(),
        mask.direction.as_flattened(),
        tol,
    ) {
        parts.push(format!(
            "direction {:?} vs {:?}",
            image.direction, mask.direction
        ));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "{} (tolerance {coordinate:e} mm, {tol:e} for directions: geometryTolerance {tol:e})",
            parts.join("; ")
        )
    })
}

/// The mask on the image's grid: `None` when it already is, the corrected
/// mask when the grids differ and `correctMask` is on.
pub fn aligned(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    s: &Settings,
) -> Result<Option<Volume<bool>>, Misfit> {
    let Some(details) = differences(
        &image.geometry,
        image.dims(),
        &mask.geometry,
        mask.dims(),
        s.geometry_tolerance,
    ) else {
        return Ok(None);
    };
    if s.correct_mask != Some(true) {
        return Err(Misfit::Mismatch(details));
    }
    check_roi_inside(image, mask)?;
    Ok(Some(nearest_onto(mask, &image.geometry, image.dims())))
}

/// PyRadiomics' `_checkROI`: the corners of the ROI's bounding box (outer
/// voxel edges) taken through physical space into the image's continuous
/// index must lie within the image's outer voxel edges, up to 1e-3 voxel.
/// Only the lower and the upper corner are tested, as PyRadiomics does.
pub fn check_roi_inside(image: &Volume<f32>, mask: &Volume<bool>) -> Result<(), Misfit> {
    let Some(bounds) = crate::processing::crop::bounding_box(&mask.data) else {
        return Err(Misfit::Outside("the mask selects no voxel".to_string()));
    };
    let lower = bounds.map(|(lo, _)| lo as f64 - 0.5);
    let upper = bounds.map(|(_, hi)| hi as f64 - 0.5);
    let corners = [lower, upper]
        .map(|c| itk_physical_to_index(&image.geometry, itk_index_to_physical(&mask.geometry, c)));
    let size = image.dims();
    let outside = (0..3).any(|a| {
        let lo = corners[0][a].min(corners[1][a]);
        let hi = corners[0][a].max(corners[1][a]);
        lo < -0.5 - BOUNDS_ALLOWANCE || hi > size[a] as f64 - 0.5 + BOUNDS_ALLOWANCE
    });
    if outside {
        return Err(Misfit::Outside(format!(
            "the ROI's bounding box reaches beyond the image (PyRadiomics' check before correctMask or resampling reads the image around a mask on another grid): ROI bounds in the image's continuous index (x, y, z) {:?} to {:?}, image size {size:?}",
            corners[0], corners[1]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn settings(correct: bool, tolerance: Option<f64>) -> Settings {
        Settings {
            correct_mask: Some(correct),
            geometry_tolerance: tolerance,
            ..Settings::default()
        }
    }

    fn volume<T: Clone>(dims: (usize, usize, usize), v: T, g: Geometry) -> Volume<T> {
        Volume::new(Array3::from_elem(dims, v), g)
    }

    #[test]
    fn tolerance_scales_with_the_first_spacing() {
        let g = Geometry::new([2.0, 3.0, 4.0], [0.0; 3]);
        let mut m = g;
        m.origin[2] = 1.9e-6;
        assert!(differences(&g, [7, 6, 5], &m, [7, 6, 5], None).is_none());
        m.origin[2] = 2.1e-6;
        let d = differences(&g, [7, 6, 5], &m, [7, 6, 5], None).unwrap();
        assert!(d.contains("origin") && !d.contains("spacing"), "{d}");
        assert!(differences(&g, [7, 6, 5], &m, [7, 6, 5], Some(1e-3)).is_none());
        let d = differences(&g, [7, 6, 5], &g, [7, 6, 4], None).unwrap();
        assert!(d.contains("size"), "{d}");
    }

    #[test]
    fn a_mismatch_is_refused_without_correct_mask_and_resampled_with_it() {
        let image = volume((4, 4, 4), 0.0f32, Geometry::new([1.0; 3], [0.0; 3]));
        // The mask's voxel centres at image index 0.3 + 2i along x: image
        // voxel x takes mask voxel round((x − 0.3) / 2).
        let mut mask = volume(
            (4, 4, 2),
            false,
            Geometry::new([2.0, 1.0, 1.0], [0.3, 0.0, 0.0]),
        );
        mask.data[[1, 2, 1]] = true;
        assert!(matches!(
            aligned(&image, &mask, &settings(false, None)),
            Err(Misfit::Mismatch(_))
        ));
        let fixed = aligned(&image, &mask, &settings(true, None))
            .unwrap()
            .unwrap();
        assert_eq!(fixed.dims(), [4, 4, 4]);
        assert_eq!(fixed.geometry, image.geometry);
        let inside: Vec<usize> = (0..4).filter(|&x| fixed.data[[1, 2, x]]).collect();
        assert_eq!(inside, vec![2, 3]);
        assert_eq!(fixed.data.iter().filter(|&&m| m).count(), 2);
        // On the same grid nothing is corrected.
        let same = volume((4, 4, 4), false, image.geometry);
        assert_eq!(aligned(&image, &same, &settings(true, None)), Ok(None));
    }

    #[test]
    fn an_roi_beyond_the_image_is_refused_even_with_correct_mask() {
        let image = volume((4, 4, 4), 0.0f32, Geometry::new([1.0; 3], [0.0; 3]));
        let mut mask = volume((4, 4, 4), false, Geometry::new([1.0; 3], [0.6, 0.0, 0.0]));
        // The last voxel along x reaches 0.6 voxel beyond the image's edge.
        mask.data[[1, 1, 3]] = true;
        match aligned(&image, &mask, &settings(true, None)) {
            Err(Misfit::Outside(m)) => assert!(m.contains("beyond the image"), "{m}"),
            other => panic!("{other:?}"),
        }
        // Within the 1e-3 voxel allowance it is accepted.
        mask.geometry.origin[0] = 0.0009;
        assert!(matches!(
            aligned(&image, &mask, &settings(true, None)),
            Ok(Some(_))
        ));
    }
}
