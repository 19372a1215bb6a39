//! `radial inspect` and `radial convert` end to end, and the bad inputs they
//! must refuse with a clear error naming the file (non-zero exit, no panic).

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use radial::image::{Geometry, Volume};
use radial::io::read_image;

/// Runs `radial` and returns (success, stdout, stderr); never a panic inside.
fn radial(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(common::radial_bin())
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "radial panicked: {stderr}");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn succeeds(args: &[&str]) -> String {
    let (ok, stdout, stderr) = radial(args);
    assert!(ok, "radial {args:?} failed: {stderr}");
    stdout
}

/// The command must fail with an error naming `file` and containing `problem`.
fn fails(args: &[&str], file: &Path, problem: &str) {
    let (ok, _, stderr) = radial(args);
    assert!(!ok, "radial {args:?} succeeded");
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        stderr.contains(&*name),
        "error does not name {name}: {stderr}"
    );
    assert!(
        stderr.contains(problem),
        "error does not say {problem:?}: {stderr}"
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn inspect_describes_an_image_and_a_label_map() {
    let Some(data) = common::data_dir("inspect_describes_an_image_and_a_label_map") else {
        return;
    };
    let dir = data.join("pyradiomics-samples");
    let text = succeeds(&["inspect", s(&dir.join("brain1_image.nrrd"))]);
    assert!(
        text.contains("dimensions: 256 x 256 x 25 (x, y, z)"),
        "{text}"
    );
    assert!(text.contains("datatype:   int16"), "{text}");
    assert!(
        text.contains("spacing:    0.78125 0.78125 6.5 mm"),
        "{text}"
    );
    assert!(!text.contains("labels:"), "{text}");
    let text = succeeds(&["inspect", s(&dir.join("brain1_label.nrrd"))]);
    assert!(text.contains("labels:     1: 4137 voxels"), "{text}");

    let json = succeeds(&[
        "inspect",
        "--json",
        s(&dir.join("prostate_phantom_subvolume-label.nrrd")),
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format"], "nrrd");
    assert_eq!(v["dimensions"], serde_json::json!([82, 67, 13]));
    assert_eq!(v["label_map"], true);
    let labels: Vec<(i64, u64)> = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["label"].as_i64().unwrap(), l["voxels"].as_u64().unwrap()))
        .collect();
    assert_eq!(labels, vec![(1, 168), (7, 170), (8, 2997), (9, 9088)]);
    for key in [
        "path",
        "datatype",
        "voxels",
        "spacing",
        "origin",
        "direction",
        "intensity",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}: {json}");
    }
    let json = succeeds(&[
        "inspect",
        "--json",
        s(&data.join("ibsi/ct_phantom/dicom/image")),
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format"], "dicom-series");
    assert_eq!(v["dimensions"], serde_json::json!([204, 201, 60]));
    assert_eq!(v["intensity"]["min"], -1000.0);
    assert_eq!(v["intensity"]["max"], 3065.0);
    assert!(v["labels"].is_null());
}

#[test]
fn convert_writes_images_and_masks_as_nifti() {
    let Some(data) = common::data_dir("convert_writes_images_and_masks_as_nifti") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let nrrd = data.join("pyradiomics-samples/breast1_image.nrrd");
    let out = tmp.path().join("breast1.nii.gz");
    succeeds(&["convert", s(&nrrd), s(&out)]);
    let (a, b) = (read_image(&nrrd).unwrap(), read_image(&out).unwrap());
    assert_eq!(a.volume.data, b.volume.data);
    assert!(a.volume.geometry.differences(&b.volume.geometry).is_none());

    let label = data.join("pyradiomics-samples/prostate_phantom_subvolume-label.nrrd");
    let out = tmp.path().join("label8.nii");
    succeeds(&["convert", s(&label), s(&out), "--label", "8"]);
    let m = read_image(&out).unwrap();
    assert_eq!(m.datatype, "uint8");
    assert_eq!(m.volume.data.iter().filter(|&&v| v == 1.0).count(), 2997);
    fails(
        &["convert", s(&label), s(&out), "--label", "3"],
        &label,
        "no voxel with label 3",
    );

    // The acceptance test, through the command line.
    let ct = data.join("ibsi/ct_phantom");
    let out = tmp.path().join("gtv.nii.gz");
    let stdout = succeeds(&[
        "convert",
        s(&ct.join("dicom/image")),
        s(&out),
        "--rtstruct",
        s(&ct.join("dicom/mask/DCM_RS_00060.dcm")),
        "--roi",
        "GTV-1",
    ]);
    assert!(stdout.contains("125256 voxels"), "{stdout}");
    let ours = read_image(&out).unwrap();
    let reference = read_image(&ct.join("mask.nii.gz")).unwrap();
    assert!(ours.volume.grid_differences(&reference.volume).is_none());
    assert_eq!(ours.volume.data, reference.volume.data);
    fails(
        &[
            "convert",
            s(&ct.join("dicom/image")),
            s(&out),
            "--rtstruct",
            s(&ct.join("dicom/mask/DCM_RS_00060.dcm")),
            "--roi",
            "Liver",
        ],
        Path::new("DCM_RS_00060.dcm"),
        "no ROI named \"Liver\"",
    );
    fails(
        &["convert", s(&nrrd), s(&tmp.path().join("x.png"))],
        Path::new("x.png"),
        ".nii.gz",
    );
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn broken_nifti_files_are_refused_clearly() {
    let Some(data) = common::data_dir("broken_nifti_files_are_refused_clearly") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let original = data.join("ibsi/ct_phantom/image.nii.gz");
    let gz = std::fs::read(&original).unwrap();

    let p = put(tmp.path(), "truncated.nii.gz", &gz[..gz.len() / 2]);
    fails(&["inspect", s(&p)], &p, "truncated");

    let plain = gunzip(&data.join("ibsi/digital_phantom/image.nii.gz"));
    let mut bad_magic = plain.clone();
    bad_magic[344..348].copy_from_slice(b"abc\0");
    let p = put(tmp.path(), "magic.nii", &bad_magic);
    fails(&["inspect", s(&p)], &p, "magic");

    // dim[1] (x) is at byte 42: the phantom is 5 wide, the header now says 9.
    let mut bad_dims = plain.clone();
    bad_dims[42..44].copy_from_slice(&9i16.to_le_bytes());
    let p = put(tmp.path(), "dims.nii", &bad_dims);
    fails(&["inspect", s(&p)], &p, "truncated");
    let p = put(tmp.path(), "dims.nii.gz", &gzip(&bad_dims));
    fails(&["inspect", s(&p)], &p, "header dimensions");

    let mut v = Volume::new(
        ndarray::Array3::<f32>::zeros((2, 3, 4)),
        Geometry::new([1.0; 3], [0.0; 3]),
    );
    v.data[[1, 1, 1]] = f32::NAN;
    v.data[[0, 2, 3]] = f32::INFINITY;
    let p = tmp.path().join("nan.nii.gz");
    radial::io::nifti::write(&p, &v).unwrap();
    fails(&["inspect", s(&p)], &p, "2 voxels are NaN or infinite");
    fails(&["convert", s(&p), s(&tmp.path().join("o.nii"))], &p, "NaN");
}

#[test]
fn broken_nrrd_files_are_refused_clearly() {
    let Some(data) = common::data_dir("broken_nrrd_files_are_refused_clearly") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let original = std::fs::read(data.join("pyradiomics-samples/breast1_label.nrrd")).unwrap();
    let mut magic = original.clone();
    magic[..4].copy_from_slice(b"NRRX");
    let p = put(tmp.path(), "magic.nrrd", &magic);
    fails(&["inspect", s(&p)], &p, "magic");

    let text = String::from_utf8_lossy(&original).into_owned();
    let header_end = text.find("\n\n").unwrap() + 2;
    let header = text[..header_end].replace("sizes: 45 120 21", "sizes: 45 120 22");
    let mut dims = header.into_bytes();
    dims.extend(&original[header_end..]);
    let p = put(tmp.path(), "dims.nrrd", &dims);
    fails(
        &["inspect", s(&p)],
        &p,
        "226800 bytes but `sizes: 45 120 22` of type int16 need 237600",
    );

    let p = put(tmp.path(), "cut.nrrd", &original[..original.len() - 40]);
    fails(&["inspect", s(&p)], &p, "truncated");
}

#[test]
fn broken_dicom_series_are_refused_clearly() {
    let Some(data) = common::data_dir("broken_dicom_series_are_refused_clearly") else {
        return;
    };
    let src = data.join("ibsi/ct_phantom/dicom/image");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();

    let missing = tempfile::tempdir().unwrap();
    for f in files.iter().filter(|f| **f != files[12]) {
        std::fs::copy(f, missing.path().join(f.file_name().unwrap())).unwrap();
    }
    fails(
        &["inspect", s(missing.path())],
        missing.path(),
        "unevenly spaced",
    );

    let two = tempfile::tempdir().unwrap();
    for (n, f) in files.iter().enumerate() {
        let target = two.path().join(f.file_name().unwrap());
        if n % 2 == 0 {
            let mut obj = dicom_object::open_file(f).unwrap();
            obj.put_str(
                dicom_dictionary_std::tags::SERIES_INSTANCE_UID,
                dicom_core::VR::UI,
                "1.2.3.4.5",
            );
            obj.write_to_file(&target).unwrap();
        } else {
            std::fs::copy(f, &target).unwrap();
        }
    }
    fails(
        &["inspect", s(two.path())],
        two.path(),
        "1.2.3.4.5 (30 slices)",
    );
    // Selecting one of the two interleaved series leaves a regular series of 6 mm steps.
    let json = succeeds(&["inspect", "--json", "--series", "1.2.3.4.5", s(two.path())]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["dimensions"][2], 30);
    assert!(
        (v["spacing"][2].as_f64().unwrap() - 6.0).abs() < 1e-3,
        "{json}"
    );
}
