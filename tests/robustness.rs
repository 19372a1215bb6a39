//! Adversarial cases run through the `radial` binary: each asserts the exit
//! status, the message and that nothing around the declared output changed
//! (device nodes, FIFOs, symbolic links, the input files). No case may
//! panic (exit 101) or abort (134).

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ndarray::Array3;
use radial::image::{Geometry, Volume};

fn radial() -> Command {
    let mut cmd = Command::new(common::radial_bin());
    // Machine-independent memory limit for the estimate checks.
    cmd.env("RADIAL_MEMORY_LIMIT", "4G");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("radial starts")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit status 1 with a message containing every `needles`, never a panic.
fn assert_refused(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "expected exit 1: {e}");
    assert!(!e.contains("panicked"), "{e}");
    for n in needles {
        assert!(e.contains(n), "`{n}` missing from: {e}");
    }
}

/// A small two-class table (60 cases, a signal and a noise feature).
fn table_csv(cell: impl Fn(usize) -> Option<String>) -> String {
    let mut csv = String::from("case_id,group,signal,noise\n");
    for i in 0..60 {
        let positive = i % 2 == 0;
        let signal = if positive { 1.0 } else { 0.0 } + ((i * 37) % 11) as f64 / 10.0;
        let signal = cell(i).unwrap_or_else(|| signal.to_string());
        csv += &format!(
            "p{i:02},{},{signal},{}\n",
            if positive { "case" } else { "control" },
            (i * 13) % 7
        );
    }
    csv
}

struct Study {
    dir: tempfile::TempDir,
}

impl Study {
    fn new() -> Study {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cohort.csv"), table_csv(|_| None)).unwrap();
        std::fs::write(
            dir.path().join("proto.yaml"),
            "repeats: 1\nfolds: 3\nclassifier: { kind: logistic }\n",
        )
        .unwrap();
        Study { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn evaluate(&self, table: &str) -> Output {
        run(radial()
            .args(["evaluate", "--table"])
            .arg(self.path(table))
            .args([
                "--label-column",
                "group",
                "--positive",
                "case",
                "--protocol",
            ])
            .arg(self.path("proto.yaml"))
            .arg("--out")
            .arg(self.path("out")))
    }

    /// The model of the clean table.
    fn model(&self) -> PathBuf {
        let model = self.path("out/proto.model.json");
        if !model.exists() {
            let o = self.evaluate("cohort.csv");
            assert!(o.status.success(), "{}", stderr(&o));
        }
        model
    }

    fn predict(&self, model: &Path, table: &str, out: Option<&Path>) -> Output {
        let mut cmd = radial();
        cmd.arg("predict")
            .arg(model)
            .arg("--features")
            .arg(self.path(table));
        if let Some(out) = out {
            cmd.arg("--out").arg(out);
        }
        run(&mut cmd)
    }
}

// --- Outputs that are not regular files -------------------------------

#[test]
fn output_to_dev_full_is_an_error_and_the_device_survives() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("*** SKIPPED: no /dev/full on this system ***");
        return;
    }
    let s = Study::new();
    let model = s.model();
    let o = s.predict(&model, "cohort.csv", Some(full));
    assert_refused(&o, &["/dev/full"]);
    let meta = std::fs::metadata(full).unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/full was replaced");
}

#[test]
fn output_to_dev_null_writes_nothing_readable_and_keeps_the_device() {
    let s = Study::new();
    let model = s.model();
    let o = s.predict(&model, "cohort.csv", Some(Path::new("/dev/null")));
    assert!(o.status.success(), "{}", stderr(&o));
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device());
    assert!(std::fs::read("/dev/null").unwrap().is_empty());
}

#[test]
fn output_to_a_fifo_streams_into_it_and_keeps_the_fifo() {
    let s = Study::new();
    let model = s.model();
    let fifo = s.path("scores.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|st| st.success()) {
        eprintln!("*** SKIPPED: mkfifo not available ***");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = s.predict(&model, "cohort.csv", Some(&fifo));
    assert!(o.status.success(), "{}", stderr(&o));
    let received = reader.join().unwrap();
    assert!(received.starts_with("case_id,score,probability,predicted\n"));
    assert_eq!(received.lines().count(), 61);
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo(), "the FIFO was replaced");
    // Nothing else appeared beside it (no temporary left behind).
    let mut names: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["cohort.csv", "out", "proto.yaml", "scores.fifo"]);
}

#[test]
fn output_through_a_symlink_replaces_the_file_and_keeps_the_link() {
    let s = Study::new();
    let model = s.model();
    let real = s.path("real.csv");
    std::fs::write(&real, "old").unwrap();
    let link = s.path("link.csv");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = s.predict(&model, "cohort.csv", Some(&link));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .starts_with("case_id,score")
    );
}

#[test]
fn output_to_dev_stdout_goes_to_standard_output() {
    let s = Study::new();
    let model = s.model();
    let o = s.predict(&model, "cohort.csv", Some(Path::new("/dev/stdout")));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("case_id,score"));
}

#[test]
fn output_onto_a_directory_is_refused() {
    let s = Study::new();
    let model = s.model();
    let dir = s.path("out");
    let o = s.predict(&model, "cohort.csv", Some(&dir));
    assert_refused(&o, &["is a directory"]);
    assert!(dir.is_dir());
}

// --- Standard output that cannot be written ---------------------------

#[test]
fn a_full_standard_output_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("*** SKIPPED: no /dev/full on this system ***");
        return;
    };
    let s = Study::new();
    let model = s.model();
    let o = radial()
        .arg("predict")
        .arg(&model)
        .arg("--features")
        .arg(s.path("cohort.csv"))
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    assert_refused(&o, &["standard output"]);
}

#[test]
fn println_call_sites_report_a_full_standard_output_too() {
    // `radial inspect` prints through the same checked writer as predict.
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("*** SKIPPED: no /dev/full on this system ***");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = small_case(dir.path());
    let o = radial()
        .arg("inspect")
        .arg(&image)
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    assert_refused(&o, &["standard output"]);
}

#[test]
fn a_closed_pipe_on_standard_output_ends_quietly() {
    let s = Study::new();
    let model = s.model();
    let mut child = radial()
        .arg("predict")
        .arg(&model)
        .arg("--features")
        .arg(s.path("cohort.csv"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

// --- Feature tables: one rule for missing and infinite values ---------

#[test]
fn infinite_cells_are_refused_in_training_with_case_and_feature() {
    let s = Study::new();
    for token in ["inf", "-inf", "Infinity", "1e999"] {
        std::fs::write(
            s.path("bad.csv"),
            table_csv(|i| (i == 7).then(|| token.to_string())),
        )
        .unwrap();
        let o = s.evaluate("bad.csv");
        assert_refused(&o, &["`signal`", "`p07`", "infinite"]);
        assert!(!s.path("out/proto.model.json").exists(), "{token}");
    }
}

#[test]
fn missing_tokens_are_imputed_in_training_and_prediction() {
    let s = Study::new();
    let model = s.model();
    for token in ["", "NA", "nan", "NaN", " na "] {
        std::fs::write(
            s.path("gaps.csv"),
            table_csv(|i| (i % 9 == 0).then(|| token.to_string())),
        )
        .unwrap();
        let o = s.evaluate("gaps.csv");
        assert!(o.status.success(), "`{token}`: {}", stderr(&o));
        let o = s.predict(&model, "gaps.csv", None);
        assert!(o.status.success(), "`{token}`: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(text.lines().count(), 61, "`{token}`");
    }
}

#[test]
fn infinite_cells_are_refused_in_prediction() {
    let s = Study::new();
    let model = s.model();
    std::fs::write(
        s.path("bad.csv"),
        table_csv(|i| (i == 3).then(|| "inf".to_string())),
    )
    .unwrap();
    let o = s.predict(&model, "bad.csv", None);
    assert_refused(&o, &["`signal`", "`p03`", "infinite"]);
    assert!(o.stdout.is_empty());
}

#[test]
fn text_in_a_feature_column_names_case_and_value() {
    let s = Study::new();
    std::fs::write(
        s.path("bad.csv"),
        table_csv(|i| (i == 5).then(|| "high".to_string())),
    )
    .unwrap();
    let o = s.evaluate("bad.csv");
    assert_refused(&o, &["`signal`", "`p05`", "`high`", "not numeric"]);
}

// --- Hand-edited models -----------------------------------------------

type ModelEdit = dyn Fn(&mut serde_json::Value);

fn edit_model(s: &Study, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let mut model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.model()).unwrap()).unwrap();
    edit(&mut model);
    let path = s.path("edited.model.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&model).unwrap()).unwrap();
    path
}

#[test]
fn hand_edited_models_are_refused_at_load_with_the_field() {
    let s = Study::new();
    let cases: Vec<(&str, Box<ModelEdit>)> = vec![
        (
            "pipeline.preprocessor.scale",
            Box::new(|m| {
                m["pipeline"]["preprocessor"]["scale"]
                    .as_array_mut()
                    .unwrap()
                    .push(1.0.into())
            }),
        ),
        (
            "pipeline.columns",
            Box::new(|m| m["pipeline"]["columns"][0] = 99.into()),
        ),
        (
            "pipeline.classifier.model.weights",
            Box::new(|m| {
                m["pipeline"]["classifier"]["model"]["weights"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
        ),
        (
            "input_features",
            Box::new(|m| m["input_features"] = serde_json::json!([])),
        ),
    ];
    for (field, edit) in cases {
        let model = edit_model(&s, edit);
        let o = s.predict(&model, "cohort.csv", None);
        assert_refused(&o, &[field, "edited.model.json"]);
    }
}

#[test]
fn a_forest_whose_nodes_loop_or_point_nowhere_is_refused() {
    let s = Study::new();
    std::fs::write(
        s.path("forest.yaml"),
        "repeats: 1\nfolds: 3\nclassifier: { kind: random_forest, trees: 3 }\n",
    )
    .unwrap();
    let o = run(radial()
        .args(["evaluate", "--table"])
        .arg(s.path("cohort.csv"))
        .args([
            "--label-column",
            "group",
            "--positive",
            "case",
            "--protocol",
        ])
        .arg(s.path("forest.yaml"))
        .arg("--out")
        .arg(s.path("out")));
    assert!(o.status.success(), "{}", stderr(&o));
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out/forest.model.json")).unwrap()).unwrap();
    for (edit, needle) in [
        (
            serde_json::json!({"Split": {"feature": 0, "threshold": 0.5, "left": 0, "right": 0}}),
            "points to node 0",
        ),
        (
            serde_json::json!({"Split": {"feature": 7, "threshold": 0.5, "left": 1, "right": 2}}),
            "column 7",
        ),
    ] {
        let mut m = original.clone();
        m["pipeline"]["classifier"]["model"]["trees"][0]["nodes"][0] = edit;
        let path = s.path("edited.model.json");
        std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
        let o = s.predict(&path, "cohort.csv", None);
        assert_refused(&o, &["tree 0", needle]);
    }
}

// --- Settings whose memory cannot exist -------------------------------

/// A 12 x 10 x 8 image with a block ROI, written as NIfTI.
fn small_case(dir: &Path) -> (PathBuf, PathBuf) {
    let g = Geometry::new([1.0, 1.0, 2.0], [0.0; 3]);
    let image = Volume::new(
        Array3::from_shape_fn((8, 10, 12), |(k, j, i)| {
            ((i * 7 + j * 3 + k * 11) % 50) as f32
        }),
        g,
    );
    let mask = Volume::new(
        Array3::from_shape_fn((8, 10, 12), |(k, j, i)| {
            u8::from((2..6).contains(&k) && (3..7).contains(&j) && (3..9).contains(&i))
        }),
        g,
    );
    let (ip, mp) = (dir.join("image.nii.gz"), dir.join("mask.nii.gz"));
    radial::io::nifti::write(&ip, &image).unwrap();
    radial::io::nifti::write(&mp, &mask).unwrap();
    (ip, mp)
}

fn extract_with(settings: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (image, mask) = small_case(dir.path());
    let yaml = dir.path().join("settings.yaml");
    std::fs::write(&yaml, settings).unwrap();
    let o = run(radial()
        .arg("extract")
        .arg("--image")
        .arg(&image)
        .arg("--mask")
        .arg(&mask)
        .arg("--settings")
        .arg(&yaml)
        .arg("--out")
        .arg(dir.path().join("features.csv")));
    (o, dir)
}

#[test]
fn extract_writes_csv_to_dev_stdout_and_to_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let (image, mask) = small_case(dir.path());
    let yaml = dir.path().join("settings.yaml");
    std::fs::write(
        &yaml,
        "discretisation:\n  method: fixed_bin_number\n  bins: 8\n",
    )
    .unwrap();
    for out in ["/dev/stdout", "-"] {
        let o = run(radial()
            .arg("extract")
            .arg("--image")
            .arg(&image)
            .arg("--mask")
            .arg(&mask)
            .arg("--settings")
            .arg(&yaml)
            .arg("--out")
            .arg(out));
        assert!(o.status.success(), "--out {out}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.starts_with("case_id,"), "--out {out}: {text}");
        assert_eq!(text.lines().count(), 2, "--out {out}: {text}");
    }
    assert!(
        std::fs::metadata("/dev/stdout").is_ok(),
        "/dev/stdout is still there"
    );
}

#[test]
fn an_impossible_interpolation_grid_is_refused_before_allocating() {
    let (o, dir) = extract_with("interpolation:\n  spacing: [0.001, 0.001, 0.001]\n");
    assert_refused(
        &o,
        &["`interpolation.spacing`", "GB", "RADIAL_MEMORY_LIMIT"],
    );
    assert!(!dir.path().join("features.csv").exists());
    // Absurdly small spacings (an overflowing voxel count) too.
    let (o, _) = extract_with("interpolation:\n  spacing: [1.0e-300, 1, 1]\n");
    assert_refused(&o, &["`interpolation.spacing`"]);
}

#[test]
fn an_impossible_texture_distance_is_refused_before_allocating() {
    let (o, _) = extract_with(
        "discretisation: { method: fixed_bin_number, bins: 8 }\ntexture: { distance: 1000 }\n",
    );
    assert_refused(&o, &["`texture.distance`", "GB"]);
    // A distance larger than the ROI but affordable still runs.
    let (o, dir) = extract_with(
        "discretisation: { method: fixed_bin_number, bins: 8 }\ntexture: { distance: 20 }\nfamilies: [glcm]\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("features.csv").exists());
}

#[test]
fn impossible_grey_level_counts_are_refused() {
    let (o, _) = extract_with("discretisation: { method: fixed_bin_number, bins: 1000000000 }\n");
    assert_refused(
        &o,
        &["`discretisation.bins`", "1000000000 grey levels", "GB"],
    );
    let (o, _) =
        extract_with("discretisation: { method: fixed_bin_size, bin_width: 1.0e-12, min: 0 }\n");
    assert_refused(&o, &["`discretisation.bin_width`", "grey levels"]);
    let (o, _) = extract_with(
        "families: [ivh]\nivh: { method: fixed_bin_size, bin_width: 1.0e-9, min: 0 }\n",
    );
    assert_refused(&o, &["`ivh.bin_width`"]);
}

#[test]
fn a_malformed_memory_limit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (image, mask) = small_case(dir.path());
    let yaml = dir.path().join("settings.yaml");
    std::fs::write(
        &yaml,
        "discretisation: { method: fixed_bin_number, bins: 8 }\n",
    )
    .unwrap();
    let o = run(radial()
        .env("RADIAL_MEMORY_LIMIT", "plenty")
        .arg("extract")
        .arg("--image")
        .arg(&image)
        .arg("--mask")
        .arg(&mask)
        .arg("--settings")
        .arg(&yaml));
    assert_refused(&o, &["RADIAL_MEMORY_LIMIT", "plenty"]);
}
