//! `io::lean::read_case_cropped` equals the crop of the full read, voxel for
//! voxel, on the PyRadiomics samples (NRRD, lean path) and the CT phantom
//! (NIfTI, fallback path).

mod common;

use std::path::Path;

use radial::io::lean::{crop_volume, grown_box, read_case_cropped};
use radial::io::read_case;

fn assert_same_as_full_crop(image: &Path, mask: &Path, label: i64, margin_mm: f64) {
    let (full_img, full_roi) = read_case(image, mask, label).unwrap();
    let bbox = grown_box(&full_roi, margin_mm).unwrap();
    let (img, roi) = read_case_cropped(image, mask, label, margin_mm).unwrap();
    let expected_img = crop_volume(&full_img.volume, &bbox);
    let expected_roi = crop_volume(&full_roi, &bbox);
    let name = image.display();
    assert_eq!(img.volume.data.shape(), expected_img.data.shape(), "{name}");
    assert!(
        img.volume
            .data
            .iter()
            .zip(expected_img.data.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "{name}: voxel values differ"
    );
    assert_eq!(img.volume.geometry, expected_img.geometry, "{name}");
    assert_eq!(roi, expected_roi, "{name}");
    assert_eq!(img.datatype, full_img.datatype, "{name}");
    // Nothing of the ROI is lost, and the box is really smaller when it can be.
    assert_eq!(
        roi.data.iter().filter(|&&b| b).count(),
        full_roi.data.iter().filter(|&&b| b).count()
    );
}

#[test]
fn pyradiomics_samples_crop_like_the_full_read() {
    let Some(data) = common::data_dir("pyradiomics_samples_crop_like_the_full_read") else {
        return;
    };
    let d = data.join("pyradiomics-samples");
    for case in ["brain1", "brain2", "breast1", "lung1", "lung2"] {
        let image = d.join(format!("{case}_image.nrrd"));
        let mask = d.join(format!("{case}_label.nrrd"));
        for margin in [0.0, 10.0] {
            assert_same_as_full_crop(&image, &mask, 1, margin);
        }
    }
    let image = d.join("prostate_phantom_subvolume.nrrd");
    let mask = d.join("prostate_phantom_subvolume-label.nrrd");
    for label in [1, 7, 8, 9] {
        assert_same_as_full_crop(&image, &mask, label, 7.5);
    }
}

#[test]
fn ct_phantom_crops_like_the_full_read() {
    let Some(data) = common::data_dir("ct_phantom_crops_like_the_full_read") else {
        return;
    };
    let d = data.join("ibsi/ct_phantom");
    assert_same_as_full_crop(&d.join("image.nii.gz"), &d.join("mask.nii.gz"), 1, 8.0);
}

#[test]
fn a_margin_larger_than_the_grid_keeps_everything() {
    let Some(data) = common::data_dir("a_margin_larger_than_the_grid_keeps_everything") else {
        return;
    };
    let d = data.join("pyradiomics-samples");
    let image = d.join("breast1_image.nrrd");
    let mask = d.join("breast1_label.nrrd");
    let (full, _) = read_case(&image, &mask, 1).unwrap();
    let (img, _) = read_case_cropped(&image, &mask, 1, 1e4).unwrap();
    assert_eq!(img.volume, full.volume);
}

#[test]
fn errors_match_the_full_read() {
    let Some(data) = common::data_dir("errors_match_the_full_read") else {
        return;
    };
    let d = data.join("pyradiomics-samples");
    let image = d.join("prostate_phantom_subvolume.nrrd");
    let mask = d.join("prostate_phantom_subvolume-label.nrrd");
    let lean = read_case_cropped(&image, &mask, 5, 0.0)
        .unwrap_err()
        .to_string();
    let full = read_case(&image, &mask, 5).unwrap_err().to_string();
    assert_eq!(lean, full);
    assert!(lean.contains("labels present: 1, 7, 8, 9"), "{lean}");
    // Image and mask of different cases: both grids are shown.
    let other = d.join("brain1_label.nrrd");
    let lean = read_case_cropped(&image, &other, 1, 0.0)
        .unwrap_err()
        .to_string();
    let full = read_case(&image, &other, 1).unwrap_err().to_string();
    assert_eq!(lean, full);
    assert!(lean.contains("dimensions"), "{lean}");
    assert!(read_case_cropped(&image, &mask, 1, -1.0).is_err());
}
