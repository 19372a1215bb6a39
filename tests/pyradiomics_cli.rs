//! `radial extract --pyradiomics` end to end: one case, a batch with a
//! failing case, and a parameter file refused by name.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use radial::compat::pyradiomics::batch::split_line;

fn radial(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(common::radial_bin())
        .arg("extract")
        .args(args)
        .output()
        .unwrap()
}

fn os(s: &(impl AsRef<std::ffi::OsStr> + ?Sized)) -> &std::ffi::OsStr {
    s.as_ref()
}

fn write_params(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("params.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn one_case_is_one_row_in_pyradiomics_columns() {
    let Some(data) = common::data_dir("one_case_is_one_row_in_pyradiomics_columns") else {
        return;
    };
    let samples = data.join("pyradiomics-samples");
    let dir = tempfile::tempdir().unwrap();
    let params = write_params(
        dir.path(),
        "featureClass:\n  firstorder: ['Mean', 'Kurtosis']\n  glcm: ['Contrast']\nsetting:\n  binWidth: 25\n",
    );
    let out = dir.path().join("row.json");
    let o = radial(&[
        os("--pyradiomics"),
        os(&params),
        os("--image"),
        os(&samples.join("breast1_image.nrrd")),
        os("--mask"),
        os(&samples.join("breast1_label.nrrd")),
        os("--out"),
        os(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let row = &json[0];
    assert!(
        row["diagnostics_Mask-original_VoxelNum"].as_f64().unwrap() > 0.0,
        "{text}"
    );
    // Columns in the order the parameter file lists the features.
    let mean = text.find("original_firstorder_Mean").unwrap();
    let kurt = text.find("original_firstorder_Kurtosis").unwrap();
    let contrast = text.find("original_glcm_Contrast").unwrap();
    assert!(mean < kurt && kurt < contrast, "{text}");
    assert!(row["original_firstorder_Kurtosis"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_failing_case_keeps_its_row_and_the_batch_goes_on() {
    let Some(data) = common::data_dir("a_failing_case_keeps_its_row_and_the_batch_goes_on") else {
        return;
    };
    let samples = data.join("pyradiomics-samples");
    let dir = tempfile::tempdir().unwrap();
    let params = write_params(dir.path(), "featureClass:\n  firstorder:\n");
    let batch = dir.path().join("cases.csv");
    let s = |f: &str| samples.join(f).display().to_string();
    std::fs::write(
        &batch,
        format!(
            "ID,Image,Mask,Label,site\nb1,{},{},,\"x, y\"\npp7,{},{},7,p\nbad,{},{},5,q\n",
            s("breast1_image.nrrd"),
            s("breast1_label.nrrd"),
            s("prostate_phantom_subvolume.nrrd"),
            s("prostate_phantom_subvolume-label.nrrd"),
            s("breast1_image.nrrd"),
            s("breast1_label.nrrd"),
        ),
    )
    .unwrap();
    let out = dir.path().join("features.csv");
    let o = radial(&[
        os("--pyradiomics"),
        os(&params),
        os("--batch"),
        os(&batch),
        os("--out"),
        os(&out),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "a failed case must make the exit status non-zero"
    );
    assert!(stderr.contains("1 of 3 cases failed"), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<String>> = text.lines().map(split_line).collect();
    assert_eq!(rows.len(), 4, "{text}");
    let header = &rows[0];
    assert_eq!(&header[..5], ["ID", "Image", "Mask", "Label", "site"]);
    assert_eq!(header.last().unwrap(), "error");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows[1][col("site")], "x, y");
    assert_eq!(rows[1][col("error")], "");
    assert_eq!(rows[2][col("ID")], "pp7");
    assert_eq!(rows[2][col("diagnostics_Mask-original_VoxelNum")], "170.0");
    assert_eq!(rows[3][col("ID")], "bad");
    assert!(rows[3][col("error")].contains("label 5"), "{text}");
    assert_eq!(rows[3][col("original_firstorder_Mean")], "");
}

#[test]
fn a_bad_parameter_file_is_refused_by_name_and_nothing_is_written() {
    let Some(data) =
        common::data_dir("a_bad_parameter_file_is_refused_by_name_and_nothing_is_written")
    else {
        return;
    };
    let samples = data.join("pyradiomics-samples");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("row.csv");
    for (text, expected) in [
        ("imageType:\n  Gabor: {}\n", "imageType.Gabor"),
        ("featureClass:\n  glcmm:\n", "featureClass.glcmm"),
        (
            "setting:\n  binWidth: 25\n  binCount: 16\n",
            "binWidth and binCount",
        ),
        (
            "imageType:\n  LoG: {sigma: [-1.0]}\n",
            "imageType.LoG.sigma",
        ),
        ("setting:\n  minimumROISize: 100000\n", "minimumROISize"),
    ] {
        let params = write_params(dir.path(), text);
        let o = radial(&[
            os("--pyradiomics"),
            os(&params),
            os("--image"),
            os(&samples.join("breast1_image.nrrd")),
            os("--mask"),
            os(&samples.join("breast1_label.nrrd")),
            os("--out"),
            os(&out),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{text}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
        assert!(!out.exists(), "{text}: an output was written");
    }
}

#[test]
fn additional_info_false_leaves_the_diagnostics_out() {
    let Some(data) = common::data_dir("additional_info_false_leaves_the_diagnostics_out") else {
        return;
    };
    let samples = data.join("pyradiomics-samples");
    let dir = tempfile::tempdir().unwrap();
    let params = write_params(
        dir.path(),
        "featureClass:\n  firstorder: ['Mean']\nsetting:\n  additionalInfo: false\n",
    );
    let o = radial(&[
        os("--pyradiomics"),
        os(&params),
        os("--image"),
        os(&samples.join("breast1_image.nrrd")),
        os("--mask"),
        os(&samples.join("breast1_label.nrrd")),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.lines().next(),
        Some("original_firstorder_Mean"),
        "{text}"
    );
}
