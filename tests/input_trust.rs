//! Inputs that used to run to a wrong answer with exit status 0: a
//! fractional mask, image and mask swapped, the mask given twice, an
//! RTSTRUCT without an ROI name, an ROI name for a label map, a lone DICOM
//! slice, a directory with two series. Each is refused with a message that
//! names the files, by every command that reads a case, and nothing is
//! written.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dicom_dictionary_std::tags;
use ndarray::Array3;
use radial::image::{Geometry, Volume};
use radial::io::{nifti, read_case};

fn grid() -> Geometry {
    Geometry::new([1.0, 1.0, 2.0], [0.0; 3])
}

/// A CT-like image: many distinct float intensities, negative ones too.
fn ct_like() -> Volume<f32> {
    Volume::new(
        Array3::from_shape_fn((6, 10, 12), |(k, j, i)| {
            -900.0 + (37 * i + 101 * j + 353 * k) as f32 % 1700.0 + 0.25
        }),
        grid(),
    )
}

/// A 4 x 4 x 2 cube of label 1 in the middle of the grid.
fn cube_mask() -> Volume<f32> {
    Volume::new(
        Array3::from_shape_fn((6, 10, 12), |(k, j, i)| {
            if (2..4).contains(&k) && (3..7).contains(&j) && (4..8).contains(&i) {
                1.0
            } else {
                0.0
            }
        }),
        grid(),
    )
}

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let case = Case {
            dir: tempfile::tempdir().unwrap(),
        };
        nifti::write(&case.path("image.nii.gz"), &ct_like()).unwrap();
        nifti::write(&case.path("mask.nii.gz"), &cube_mask()).unwrap();
        std::fs::write(case.path("s.yaml"), "families: [statistics]\n").unwrap();
        case
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, v: &Volume<f32>) -> PathBuf {
        let p = self.path(name);
        nifti::write(&p, v).unwrap();
        p
    }

    /// `radial extract` into `out.csv`.
    fn extract(&self, image: &Path, mask: &Path, extra: &[&str]) -> Output {
        Command::new(common::radial_bin())
            .arg("extract")
            .arg("--image")
            .arg(image)
            .arg("--mask")
            .arg(mask)
            .arg("--settings")
            .arg(self.path("s.yaml"))
            .arg("--out")
            .arg(self.path("out.csv"))
            .args(extra)
            .output()
            .unwrap()
    }
}

/// Asserts a refusal: non-zero exit, every fragment in the message, no output.
fn refused(case: &Case, out: &Output, fragments: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "exit 0: {stderr}");
    for f in fragments {
        assert!(stderr.contains(f), "missing {f:?} in: {stderr}");
    }
    assert!(!case.path("out.csv").exists(), "an output was written");
    stderr
}

#[test]
fn the_reference_case_is_accepted() {
    let case = Case::new();
    let out = case.extract(&case.path("image.nii.gz"), &case.path("mask.nii.gz"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(case.path("out.csv")).unwrap();
    assert!(csv.contains("stat_mean"), "{csv}");
}

#[test]
fn a_fractional_mask_is_refused_by_extract_inspect_and_the_library() {
    let case = Case::new();
    // Half the ROI at 1.0, half at 0.6: a partial-volume mask.
    let mut m = cube_mask();
    m.data
        .indexed_iter_mut()
        .filter(|((k, _, _), v)| **v == 1.0 && *k == 3)
        .for_each(|(_, v)| *v = 0.6);
    let mask = case.write("fractional.nii.gz", &m);
    let out = case.extract(&case.path("image.nii.gz"), &mask, &[]);
    refused(
        &case,
        &out,
        &["fractional.nii.gz", "not a label map", "16 voxels", "0.6"],
    );
    let inspect = Command::new(common::radial_bin())
        .arg("inspect")
        .arg(&mask)
        .arg("--mask")
        .output()
        .unwrap();
    refused(&case, &inspect, &["fractional.nii.gz", "not a label map"]);
    // The pipeline's load stage reads through the same function.
    let err = read_case(&case.path("image.nii.gz"), &mask, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a label map"), "{err}");
    // convert --label applies the same rule.
    let convert = Command::new(common::radial_bin())
        .arg("convert")
        .arg(&mask)
        .arg(case.path("out.nii.gz"))
        .args(["--label", "1"])
        .output()
        .unwrap();
    refused(&case, &convert, &["not a label map"]);
    assert!(!case.path("out.nii.gz").exists());
}

#[test]
fn image_and_mask_swapped_are_refused_naming_both() {
    let case = Case::new();
    let out = case.extract(&case.path("mask.nii.gz"), &case.path("image.nii.gz"), &[]);
    let msg = refused(
        &case,
        &out,
        &["look swapped", "image.nii.gz", "mask.nii.gz"],
    );
    assert!(msg.contains("2 distinct whole values (0, 1)"), "{msg}");
    // The same with an integer CT (whole numbers, thousands of them).
    let integer_ct = ct_like().map(|v| v.floor());
    let ct = case.write("int_ct.nii.gz", &integer_ct);
    let out = case.extract(&case.path("mask.nii.gz"), &ct, &[]);
    refused(&case, &out, &["look swapped", "int_ct.nii.gz"]);
    // An integer image with only positive values still has many labels.
    let positive = ct_like().map(|v| (v + 1000.0).floor());
    let ct = case.write("positive.nii.gz", &positive);
    let out = case.extract(&case.path("mask.nii.gz"), &ct, &[]);
    refused(&case, &out, &["look swapped", "distinct labels"]);
}

#[test]
fn the_mask_given_as_the_image_is_refused() {
    let case = Case::new();
    let out = case.extract(&case.path("mask.nii.gz"), &case.path("mask.nii.gz"), &[]);
    refused(&case, &out, &["same file"]);
    std::fs::copy(case.path("mask.nii.gz"), case.path("copy.nii.gz")).unwrap();
    let out = case.extract(&case.path("copy.nii.gz"), &case.path("mask.nii.gz"), &[]);
    refused(&case, &out, &["copy of the mask", "copy.nii.gz"]);
}

#[test]
fn an_roi_name_for_a_label_map_says_to_use_a_label() {
    let case = Case::new();
    let out = case.extract(
        &case.path("image.nii.gz"),
        &case.path("mask.nii.gz"),
        &["--roi", "GTV-1"],
    );
    refused(
        &case,
        &out,
        &["mask.nii.gz", "not an RTSTRUCT or a DICOM-SEG", "--label"],
    );
    let out = case.extract(
        &case.path("image.nii.gz"),
        &case.path("mask.nii.gz"),
        &["--label", "0"],
    );
    refused(&case, &out, &["background"]);
}

fn phantom(test: &str) -> Option<PathBuf> {
    common::data_dir(test).map(|d| d.join("ibsi/ct_phantom/dicom"))
}

fn first_slice(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.remove(0)
}

#[test]
fn an_rtstruct_without_an_roi_name_lists_its_rois() {
    let Some(dicom) = phantom("an_rtstruct_without_an_roi_name_lists_its_rois") else {
        return;
    };
    let case = Case::new();
    let rs = dicom.join("mask/DCM_RS_00060.dcm");
    let out = case.extract(&dicom.join("image"), &rs, &[]);
    let msg = refused(
        &case,
        &out,
        &["DCM_RS_00060.dcm", "RTSTRUCT", "--roi", "\"GTV-1\""],
    );
    assert!(!msg.contains("unknown image format"), "{msg}");
    // Given as the image, it is said to be a mask.
    let out = case.extract(&rs, &case.path("mask.nii.gz"), &[]);
    refused(&case, &out, &["an RTSTRUCT, not an image", "\"GTV-1\""]);
    // The RTSTRUCT's directory given as the image series.
    let out = case.extract(&dicom.join("mask"), &rs, &["--roi", "GTV-1"]);
    refused(
        &case,
        &out,
        &["no DICOM image slice", "DCM_RS_00060.dcm is an RTSTRUCT"],
    );
    // A lone slice given as the image: give its directory.
    let slice = first_slice(&dicom.join("image"));
    let out = case.extract(&slice, &case.path("mask.nii.gz"), &[]);
    refused(&case, &out, &["single DICOM slice", "directory"]);
}

/// The phantom's series twice in one directory: the original, and a copy
/// with its own SeriesInstanceUID and SOPInstanceUIDs.
fn two_series(dicom: &Path) -> (tempfile::TempDir, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let copy_uid = "1.2.826.0.1.3680043.2.1125.4242";
    let mut original_uid = String::new();
    for (n, entry) in std::fs::read_dir(dicom.join("image")).unwrap().enumerate() {
        let src = entry.unwrap().path();
        let name = src.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::copy(&src, tmp.path().join(&name)).unwrap();
        let mut obj = dicom_object::open_file(&src).unwrap();
        original_uid = obj
            .element(tags::SERIES_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .trim()
            .to_string();
        obj.put_str(tags::SERIES_INSTANCE_UID, dicom_core::VR::UI, copy_uid);
        let sop = format!("{copy_uid}.{n}");
        obj.put_str(tags::SOP_INSTANCE_UID, dicom_core::VR::UI, &sop);
        obj.write_to_file(tmp.path().join(format!("copy_{name}")))
            .unwrap();
    }
    (tmp, original_uid, copy_uid.to_string())
}

#[test]
fn extract_selects_a_series_by_its_uid() {
    let Some(dicom) = phantom("extract_selects_a_series_by_its_uid") else {
        return;
    };
    let case = Case::new();
    let (series_dir, original, copy) = two_series(&dicom);
    let rs = dicom.join("mask/DCM_RS_00060.dcm");
    std::fs::write(case.path("s.yaml"), "families: [morphology]\n").unwrap();
    let out = case.extract(series_dir.path(), &rs, &["--roi", "GTV-1"]);
    refused(&case, &out, &["2 image series", "--series", &copy]);
    let out = case.extract(
        series_dir.path(),
        &rs,
        &["--roi", "GTV-1", "--series", &original],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(case.path("out.csv")).unwrap();
    assert!(csv.contains("morph_volume"), "{csv}");
    std::fs::remove_file(case.path("out.csv")).unwrap();
    let out = case.extract(
        series_dir.path(),
        &rs,
        &["--roi", "GTV-1", "--series", "1.2.3.4"],
    );
    refused(&case, &out, &["no image series 1.2.3.4", &original]);
}

#[test]
fn a_manifest_series_column_selects_the_series_in_a_pipeline() {
    let Some(dicom) = phantom("a_manifest_series_column_selects_the_series_in_a_pipeline") else {
        return;
    };
    let (series_dir, original, copy) = two_series(&dicom);
    let rs = dicom.join("mask/DCM_RS_00060.dcm").canonicalize().unwrap();
    let study = tempfile::tempdir().unwrap();
    let dir = study.path();
    let pipeline = "name: series\nmanifest: manifest.csv\nstages:\n  \
         - {id: load, kind: load}\n  \
         - {id: resegment, kind: resegment, inputs: [load], params: {range: [-500, 400]}}\n  \
         - {id: statistics, kind: statistics, inputs: [resegment]}\n  \
         - {id: features, kind: collect, inputs: [statistics]}\n";
    std::fs::write(dir.join("p.yaml"), pipeline).unwrap();
    let run = || {
        Command::new(common::radial_bin())
            .current_dir(dir)
            .args(["run", "p.yaml"])
            .output()
            .unwrap()
    };
    // Without the column the directory is ambiguous: refused, naming both.
    std::fs::write(
        dir.join("manifest.csv"),
        format!(
            "case_id,image,mask,roi\na,{},{},GTV-1\n",
            series_dir.path().display(),
            rs.display()
        ),
    )
    .unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("2 image series") && err.contains(&copy),
        "{err}"
    );
    // With it, each case reads its own series: the copy has the same
    // voxels, so both rows agree.
    std::fs::write(
        dir.join("manifest.csv"),
        format!(
            "case_id,image,mask,roi,series\na,{d},{r},GTV-1,{original}\nb,{d},{r},GTV-1,{copy}\n",
            d = series_dir.path().display(),
            r = rs.display()
        ),
    )
    .unwrap();
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = std::fs::read_to_string(dir.join("results/series/features.csv")).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows[0].contains("stat_mean"), "{table}");
    let values = |row: &str| row.split_once(',').unwrap().1.to_string();
    assert_eq!(values(rows[1]), values(rows[2]), "{table}");
    // `series` is not an outcome column.
    assert!(!rows[0].contains("series"), "{}", rows[0]);
}
