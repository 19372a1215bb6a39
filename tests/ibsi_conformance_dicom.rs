//! IBSI chapter 1 conformance from the CT phantom's DICOM series and its
//! RTSTRUCT (ROI GTV-1), configurations A to E: the same minimum counts as
//! from the NIfTI files (`tests/conformance_minimum.json`).
//!
//! The DICOM path reads a slice step of 2.9999999999998486 mm from the
//! slice positions and the pixel spacing as the decimal 0.977 where NIfTI
//! stores float32; before the rounding rule (`image::precision`), config C's
//! partial-volume threshold flipped over two thousand mask voxels and
//! `morph_volume` fell outside its tolerance.

mod common;
mod ibsi_support;

use std::time::Instant;

use ibsi_support::{compare, counts, extract_all, regressions, settings};

/// (name, reference table, settings file) of configurations A to E.
const CONFIGURATIONS: [(&str, &str, &str); 5] = [
    ("A", "config_A", "config-a.yaml"),
    ("B", "config_B", "config-b.yaml"),
    ("C", "config_C", "config-c.yaml"),
    ("D", "config_D", "config-d.yaml"),
    ("E", "config_E", "config-e.yaml"),
];

#[test]
fn dicom_series_and_rtstruct_pass_the_nifti_conformance() {
    let Some(data) = common::data_dir("dicom_series_and_rtstruct_pass_the_nifti_conformance")
    else {
        return;
    };
    let dicom = data.join("ibsi/ct_phantom/dicom");
    let (image, mask) = radial::io::read_case_rtstruct(
        &dicom.join("image"),
        &dicom.join("mask/DCM_RS_00060.dcm"),
        "GTV-1",
    )
    .unwrap();
    let mut results = Vec::new();
    for (name, reference, file) in CONFIGURATIONS {
        let started = Instant::now();
        let ours = extract_all(name, &image.volume, &mask, &settings(file));
        eprintln!(
            "configuration {name} (DICOM): extraction took {:.2?}",
            started.elapsed()
        );
        results.push((name, compare(&data, reference, &ours)));
    }
    let counts = counts(&results);
    let names: Vec<&str> = CONFIGURATIONS.iter().map(|c| c.0).collect();
    let regressions = regressions(&counts, Some(&names));
    assert!(
        regressions.is_empty(),
        "conformance from DICOM below the NIfTI minimum:\n{}",
        regressions.join("\n")
    );
}
