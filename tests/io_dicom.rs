//! DICOM CT series and RTSTRUCT on the IBSI CT phantom: the series must
//! reproduce the NIfTI image (grid to the bit), the rasterised GTV-1 the
//! NIfTI mask voxel for voxel; broken series (two series, a missing slice)
//! and a missing ROI are clear errors.

mod common;

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use radial::io::dicom::{rtstruct, series};
use radial::io::read_image;

fn phantom(test: &str) -> Option<PathBuf> {
    common::data_dir(test).map(|d| d.join("ibsi/ct_phantom"))
}

fn slice_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn ct_phantom_series_and_rtstruct_match_the_nifti_phantom() {
    let Some(dir) = phantom("ct_phantom_series_and_rtstruct_match_the_nifti_phantom") else {
        return;
    };
    let dicom = series::read(&dir.join("dicom/image")).unwrap();
    let nifti = read_image(&dir.join("image.nii.gz")).unwrap();
    assert_eq!(dicom.volume.dims(), nifti.volume.dims());
    let (gd, gn) = (dicom.volume.geometry, nifti.volume.geometry);
    eprintln!("DICOM geometry {gd:?}\nNIfTI geometry {gn:?}");
    for a in 0..3 {
        assert!(
            (gd.spacing[a] - gn.spacing[a]).abs() < 1e-3,
            "spacing {gd:?} vs {gn:?}"
        );
        assert!(
            (gd.origin[a] - gn.origin[a]).abs() < 1e-3,
            "origin {gd:?} vs {gn:?}"
        );
    }
    assert!(gd.differences(&gn).is_none(), "{:?}", gd.differences(&gn));
    // The rounding rule (image::precision): the slice step computed from
    // positions (2.9999999999998486) and the decimal pixel spacing meet
    // NIfTI's float32 values exactly, so every computation downstream is
    // the same.
    assert_eq!(gd.spacing, gn.spacing);
    let max_diff = dicom
        .volume
        .data
        .iter()
        .zip(nifti.volume.data.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("largest intensity difference DICOM vs NIfTI: {max_diff} HU");
    assert!(max_diff <= 0.5, "{max_diff}");

    let mask = rtstruct::read_mask(
        &dir.join("dicom/mask/DCM_RS_00060.dcm"),
        "GTV-1",
        &dicom.volume,
    )
    .unwrap();
    let reference = read_image(&dir.join("mask.nii.gz")).unwrap();
    let (mut both, mut ours, mut theirs) = (0usize, 0usize, 0usize);
    for (&m, &r) in mask.data.iter().zip(reference.volume.data.iter()) {
        let r = r != 0.0;
        ours += m as usize;
        theirs += r as usize;
        both += (m && r) as usize;
    }
    let dice = 2.0 * both as f64 / (ours + theirs) as f64;
    eprintln!("GTV-1 rasterised: {ours} voxels, reference {theirs}, Dice {dice:.5}");
    // Centres on the contour belong to the ROI: voxel for voxel the mask
    // the IBSI distributes as NIfTI.
    assert_eq!(
        (both, ours, theirs),
        (theirs, theirs, 125_256),
        "Dice {dice}"
    );
}

/// Copies the phantom's slices into a temporary directory, letting `edit`
/// drop or modify them.
fn copy_series(src: &Path, edit: impl Fn(usize, &Path, &Path) -> bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (n, file) in slice_files(src).iter().enumerate() {
        let target = tmp.path().join(file.file_name().unwrap());
        if edit(n, file, &target) {
            std::fs::copy(file, &target).unwrap();
        }
    }
    tmp
}

#[test]
fn two_series_in_one_directory_is_an_error_listing_them() {
    let Some(dir) = phantom("two_series_in_one_directory") else {
        return;
    };
    let tmp = copy_series(&dir.join("dicom/image"), |n, src, target| {
        if n < 5 {
            let mut obj = dicom_object::open_file(src).unwrap();
            obj.put_str(
                tags::SERIES_INSTANCE_UID,
                dicom_core::VR::UI,
                "1.2.826.0.1.3680043.2.1125.99",
            );
            obj.write_to_file(target).unwrap();
            false
        } else {
            true
        }
    });
    // A stray text file and the RTSTRUCT are skipped, not errors.
    std::fs::write(tmp.path().join("README.txt"), "not DICOM").unwrap();
    std::fs::copy(
        dir.join("dicom/mask/DCM_RS_00060.dcm"),
        tmp.path().join("rs.dcm"),
    )
    .unwrap();
    let err = series::read(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("2 image series"), "{err}");
    assert!(
        err.contains("1.2.826.0.1.3680043.2.1125.99 (5 slices)"),
        "{err}"
    );
    assert!(err.contains(&tmp.path().display().to_string()), "{err}");
    let listed = series::list_series(tmp.path()).unwrap();
    let chosen = series::read_series(tmp.path(), Some("1.2.826.0.1.3680043.2.1125.99")).unwrap();
    assert_eq!(chosen.volume.dims()[2], 5);
    let other = listed.iter().find(|(_, n)| *n == 55).unwrap();
    assert_eq!(
        series::read_series(tmp.path(), Some(&other.0))
            .unwrap()
            .volume
            .dims()[2],
        55
    );
}

#[test]
fn missing_slice_is_an_error_saying_where() {
    let Some(dir) = phantom("missing_slice_is_an_error_saying_where") else {
        return;
    };
    let images = dir.join("dicom/image");
    // Which file is the 30th slice along the normal depends on the files' positions.
    let full = series::read(&images).unwrap();
    let z_step = full.volume.geometry.spacing[2];
    let removed = slice_files(&images)[30].clone();
    let tmp = copy_series(&images, |_, src, _| src != removed);
    let err = series::read(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("unevenly spaced"), "{err}");
    assert!(
        err.contains(&format!("{:.3} mm between", 2.0 * z_step)),
        "{err}"
    );
}

#[test]
fn rtstruct_without_the_named_roi_lists_the_names() {
    let Some(dir) = phantom("rtstruct_without_the_named_roi") else {
        return;
    };
    let rs = dir.join("dicom/mask/DCM_RS_00060.dcm");
    let names = rtstruct::roi_names(&rs).unwrap();
    assert!(names.iter().any(|n| n == "GTV-1"), "{names:?}");
    let err = rtstruct::read_roi(&rs, "PTV-9").unwrap_err().to_string();
    assert!(
        err.contains("DCM_RS_00060.dcm") && err.contains("\"PTV-9\""),
        "{err}"
    );
    assert!(err.contains("\"GTV-1\""), "{err}");
    // An image file is not an RTSTRUCT.
    let img = slice_files(&dir.join("dicom/image"))[0].clone();
    let err = rtstruct::read_roi(&img, "GTV-1").unwrap_err().to_string();
    assert!(err.contains("not an RTSTRUCT"), "{err}");
}

#[test]
fn contours_outside_the_image_or_in_another_frame_are_errors() {
    let Some(dir) = phantom("contours_outside_the_image_or_in_another_frame") else {
        return;
    };
    let rs = dir.join("dicom/mask/DCM_RS_00060.dcm");
    let images = dir.join("dicom/image");
    let full = series::load(&images, None).unwrap();
    assert!(full.frame_of_reference_uid.is_some());
    // Keep the 20 lowest slices: GTV-1 extends beyond them.
    let mut by_height: Vec<(f64, PathBuf)> = slice_files(&images)
        .into_iter()
        .map(|f| {
            let obj = dicom_object::open_file(&f).unwrap();
            let ipp = obj
                .element(tags::IMAGE_POSITION_PATIENT)
                .unwrap()
                .to_multi_float64()
                .unwrap();
            (ipp[2], f)
        })
        .collect();
    by_height.sort_by(|a, b| a.0.total_cmp(&b.0));
    let lowest: Vec<PathBuf> = by_height.into_iter().take(20).map(|(_, f)| f).collect();
    let tmp = copy_series(&images, |_, src, _| lowest.iter().any(|f| f == src));
    let part = series::load(tmp.path(), None).unwrap();
    assert_eq!(part.image.volume.dims()[2], 20);
    let err = rtstruct::read_mask_for_series(&rs, "GTV-1", &part)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("DCM_RS_00060.dcm") && err.contains("outside the image's 20 slices"),
        "{err}"
    );

    let mut other = full.clone();
    other.frame_of_reference_uid = Some("1.2.3".into());
    let err = rtstruct::read_mask_for_series(&rs, "GTV-1", &other)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("frame of reference") && err.contains("1.2.3"),
        "{err}"
    );
    assert!(rtstruct::read_mask_for_series(&rs, "GTV-1", &full).is_ok());
}
