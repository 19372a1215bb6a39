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

/// The `pyradiomics` pipeline stage: the same numbers as `radial extract
/// --pyradiomics` on each case (diagnostics left out; resampled, so the
/// file's pixel type and header spacings must reach the stage), a parameter-file
/// edit reruns that stage and collect only, and a bad inline key fails at
/// planning, naming it.
#[test]
fn a_pyradiomics_stage_matches_extract_and_reruns_on_a_parameter_change() {
    let Some(data) = common::data_dir("a_pyradiomics_stage_matches_extract") else {
        return;
    };
    let samples = data.join("pyradiomics-samples");
    let dir = tempfile::tempdir().unwrap();
    let cases = [("breast1", 0), ("lung1", 1), ("brain1", 0)];
    let mut manifest = String::from("case_id,image,mask,label,phenotype\n");
    for (case, phenotype) in cases {
        manifest.push_str(&format!(
            "{case},{},{},1,{phenotype}\n",
            samples.join(format!("{case}_image.nrrd")).display(),
            samples.join(format!("{case}_label.nrrd")).display()
        ));
    }
    std::fs::write(dir.path().join("cases.csv"), manifest).unwrap();
    let params = write_params(
        dir.path(),
        // Resampled with B-splines: the integer images' values are
        // truncated to their pixel type, on the headers' spacings, in the
        // stage as in the CLI.
        "imageType:\n  Original: {}\n  Square: {}\nfeatureClass:\n  shape: ['VoxelVolume']\n  firstorder:\n  glszm:\nsetting:\n  binWidth: 25\n  resampledPixelSpacing: [2, 2, 2]\n",
    );
    let pipeline = "name: pyrad\nmanifest: cases.csv\nstages:\n  - {id: load, kind: load}\n  - id: features\n    kind: pyradiomics\n    inputs: [load]\n    params: {params_file: params.yaml}\n  - {id: collect, kind: collect, inputs: [features], params: {outcomes: [phenotype]}}\n";
    std::fs::write(dir.path().join("p.yaml"), pipeline).unwrap();
    let run = || {
        Command::new(common::radial_bin())
            .current_dir(dir.path())
            .args(["run", "p.yaml", "--json", "--out", "out"])
            .output()
            .unwrap()
    };
    let totals = |o: &Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["totals"].clone()
    };
    assert_eq!(
        totals(&run()),
        serde_json::json!({"run": 7, "cached": 0, "failed": 0})
    );
    let table: Vec<Vec<String>> = std::fs::read_to_string(dir.path().join("out/collect.csv"))
        .unwrap()
        .lines()
        .map(split_line)
        .collect();
    for (case, _) in cases {
        let out = dir.path().join(format!("{case}.csv"));
        let o = radial(&[
            os("--pyradiomics"),
            os(&params),
            os("--image"),
            os(&samples.join(format!("{case}_image.nrrd"))),
            os("--mask"),
            os(&samples.join(format!("{case}_label.nrrd"))),
            os("--out"),
            os(&out),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let single: Vec<Vec<String>> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(split_line)
            .collect();
        let row = table
            .iter()
            .find(|r| r[0] == case)
            .expect("one row per case");
        let mut compared = 0;
        for (name, value) in single[0].iter().zip(&single[1]) {
            if name.starts_with("diagnostics_") {
                assert!(!table[0].contains(name), "{name} is not a feature");
                continue;
            }
            let at = table[0]
                .iter()
                .position(|c| c == name)
                .unwrap_or_else(|| panic!("{name} missing"));
            let (a, b): (f64, f64) = (row[at].parse().unwrap(), value.parse().unwrap());
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "{case} {name}: {a} vs {b}"
            );
            compared += 1;
        }
        // shape 1 + (firstorder 18 + glszm 16) x 2 image types.
        assert_eq!(compared, 1 + 2 * (18 + 16), "{case}");
    }
    // A parameter file edit reruns the stage (3 cases) and collect only.
    std::fs::write(
        &params,
        std::fs::read_to_string(&params)
            .unwrap()
            .replace("binWidth: 25", "binWidth: 10"),
    )
    .unwrap();
    assert_eq!(
        totals(&run()),
        serde_json::json!({"run": 4, "cached": 3, "failed": 0})
    );
    // A misspelled key inline is refused at planning by its name.
    std::fs::write(
        dir.path().join("p.yaml"),
        pipeline.replace(
            "{params_file: params.yaml}",
            "{params: {setting: {binwidth: 25}}}",
        ),
    )
    .unwrap();
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("setting.binwidth"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}
