//! NIfTI reading on the IBSI phantoms, and the geometry check between image and mask.

mod common;

use radial::image::label_counts;
use radial::io::{read_case, read_image};

#[test]
fn digital_phantom_reads_with_its_grid_and_mask() {
    let Some(data) = common::data_dir("digital_phantom_reads_with_its_grid_and_mask") else {
        return;
    };
    let dir = data.join("ibsi/digital_phantom");
    let image = read_image(&dir.join("image.nii.gz")).unwrap();
    assert_eq!(image.volume.dims(), [5, 4, 4]);
    assert_eq!(image.volume.geometry.spacing, [2.0, 2.0, 2.0]);
    let mask = read_image(&dir.join("mask.nii.gz")).unwrap();
    let counts = label_counts(&mask.volume).unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].voxels, 74);
    let (_, roi) = read_case(&dir.join("image.nii.gz"), &dir.join("mask.nii.gz"), 1).unwrap();
    assert_eq!(roi.data.iter().filter(|&&b| b).count(), 74);
}

#[test]
fn ct_phantom_reads_with_its_grid_and_mask() {
    let Some(data) = common::data_dir("ct_phantom_reads_with_its_grid_and_mask") else {
        return;
    };
    let dir = data.join("ibsi/ct_phantom");
    let (image, roi) = read_case(&dir.join("image.nii.gz"), &dir.join("mask.nii.gz"), 1).unwrap();
    assert_eq!(image.volume.dims(), [204, 201, 60]);
    let s = image.volume.geometry.spacing;
    assert!(
        (s[0] - 0.977).abs() < 1e-3 && (s[2] - 3.0).abs() < 1e-6,
        "{s:?}"
    );
    assert_eq!(roi.data.iter().filter(|&&b| b).count(), 125_256);
    let min = image
        .volume
        .data
        .iter()
        .copied()
        .fold(f32::INFINITY, f32::min);
    let max = image
        .volume
        .data
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    assert_eq!((min, max), (-1000.0, 3065.0));
}

#[test]
fn image_and_mask_on_different_grids_is_an_error_showing_both() {
    let Some(data) = common::data_dir("image_and_mask_on_different_grids") else {
        return;
    };
    let err = read_case(
        &data.join("ibsi/ct_phantom/image.nii.gz"),
        &data.join("ibsi/digital_phantom/mask.nii.gz"),
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("geometry mismatch"), "{err}");
    assert!(
        err.contains("[204, 201, 60]") && err.contains("[5, 4, 4]"),
        "{err}"
    );
}
