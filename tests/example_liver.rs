//! The README's example study end to end: a synthetic cohort through
//! `pipelines/example-liver.yaml` separates the two phenotypes, labels drawn
//! independently of the images do not, and a new bin width reruns only what
//! reads the discretised image.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn radial(args: &[&str], dir: &Path) -> String {
    let out = Command::new(common::radial_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("radial runs");
    assert!(
        out.status.success(),
        "radial {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Synthesises a cohort in `dir/cases` and runs the example pipeline on it.
fn run_study(dir: &Path, null: bool, extra: &[&str]) -> Value {
    let synth: &[&str] = if null { &["--null"] } else { &[] };
    run_pipeline(dir, "example-liver.yaml", synth, extra)
}

/// Synthesises a 60-case cohort in `dir/cases` (`radial synth` with
/// `synth_args`) unless it is there, and runs `pipelines/<pipeline>` on it.
fn run_pipeline(dir: &Path, pipeline: &str, synth_args: &[&str], extra: &[&str]) -> Value {
    let cases = dir.join("cases");
    if !cases.join("manifest.csv").exists() {
        let mut args = vec!["synth", "--cases", "60", "--out", "cases"];
        args.extend_from_slice(synth_args);
        radial(&args, dir);
    }
    std::fs::copy(repo().join("pipelines").join(pipeline), dir.join(pipeline)).unwrap();
    let mut args = vec![
        "run",
        pipeline,
        "--manifest",
        "cases/manifest.csv",
        "--store",
        ".radial",
        "--out",
        "results",
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&radial(&args, dir)).unwrap()
}

fn mean_auc(dir: &Path) -> f64 {
    auc_of(dir, "evaluate").0
}

/// The mean and the pooled cross-validated AUC of an `evaluate` stage.
fn auc_of(dir: &Path, stage: &str) -> (f64, f64) {
    let text = std::fs::read_to_string(dir.join(format!("results/{stage}.metrics.json"))).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    (
        v["summary"]["auc_mean"].as_f64().unwrap(),
        v["pooled"]["auc"]["value"].as_f64().unwrap(),
    )
}

fn stage_counts(summary: &Value, id: &str) -> (u64, u64) {
    let s = summary["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no stage {id}"));
    (s["run"].as_u64().unwrap(), s["cached"].as_u64().unwrap())
}

#[test]
fn the_example_study_separates_phenotypes_and_reruns_only_what_the_bin_width_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run_study(dir, false, &[]);
    let auc = mean_auc(dir);
    eprintln!("example study: mean cross-validated AUC {auc:.3}");
    assert!(auc > 0.85, "AUC {auc}");
    assert!(dir.join("results/report.html").exists());
    assert!(dir.join("results/train.model.json").exists());
    // The filter branches: statistics of each response map, prefixed.
    let filtered = std::fs::read_to_string(dir.join("results/filtered.csv")).unwrap();
    let header = filtered.lines().next().unwrap();
    for name in [
        "log_s2_stat_mean",
        "wavelet_coif1_llh_stat_mean",
        "phenotype",
    ] {
        assert!(header.split(',').any(|c| c == name), "{header}");
    }
    assert_eq!(filtered.lines().count(), 61);
    scoring_from_images_matches_scoring_the_collected_features(dir);

    let again = run_study(dir, false, &[]);
    assert_eq!(again["totals"]["run"], 0, "{again}");

    let rerun = run_study(dir, false, &["--set", "discretise.bin_width=10"]);
    for id in [
        "load",
        "resample",
        "resegment",
        "morphology",
        "local_intensity",
        "statistics",
        "ivh",
        "log_s2",
        "log_s2_statistics",
        "wavelet_coif1_llh",
        "wavelet_coif1_llh_statistics",
    ] {
        assert_eq!(stage_counts(&rerun, id), (0, 60), "{id}");
    }
    for id in [
        "discretise",
        "histogram",
        "glcm",
        "glrlm",
        "glszm",
        "gldzm",
        "ngtdm",
        "ngldm",
    ] {
        assert_eq!(stage_counts(&rerun, id), (60, 0), "{id}");
    }
    // The --set run was an experiment: the lock still describes the
    // pipeline file as written, so its audit passes, and so does the
    // experiment's own.
    radial(
        &[
            "audit",
            "example-liver.yaml",
            "--manifest",
            "cases/manifest.csv",
            "--store",
            ".radial",
            "--sample",
            "5",
        ],
        dir,
    );
    let experiment = rerun["run_id"].as_str().unwrap();
    assert!(
        dir.join(format!("results/{experiment}/evaluate.metrics.json"))
            .is_file()
    );
    radial(
        &["audit", experiment, "--store", ".radial", "--sample", "5"],
        dir,
    );
}

/// `radial predict --image --mask` replays the pipeline's chain recorded in
/// the model: for cohort cases, the score equals the one computed from the
/// collected feature table, digit for digit.
fn scoring_from_images_matches_scoring_the_collected_features(dir: &Path) {
    let model = "results/train.model.json";
    let from_table = radial(
        &["predict", model, "--features", "results/collect.csv"],
        dir,
    );
    for case in ["case_0000", "case_0007"] {
        let image = format!("cases/images/{case}.nii.gz");
        let mask = format!("cases/masks/{case}.nii.gz");
        let from_image = radial(
            &[
                "predict",
                model,
                "--image",
                &image,
                "--mask",
                &mask,
                "--case-id",
                case,
            ],
            dir,
        );
        let row = from_image.lines().nth(1).expect("one prediction row");
        assert!(
            from_table.lines().any(|l| l == row),
            "{case}: `{row}` is not among the table's predictions:\n{from_table}"
        );
    }
}

#[test]
fn with_labels_independent_of_the_images_the_auc_is_chance() {
    let tmp = tempfile::tempdir().unwrap();
    run_study(tmp.path(), true, &[]);
    let auc = mean_auc(tmp.path());
    eprintln!("example study, null labels: mean cross-validated AUC {auc:.3}");
    assert!((0.35..=0.65).contains(&auc), "null AUC {auc}");
}

/// `radial synth --centres 3` through `pipelines/example-liver-centres.yaml`:
/// the scanners shift the attenuation that carries the phenotype, so the
/// pooled classifier loses to ComBat fitted inside the folds; with labels
/// independent of the images, ComBat in the pipeline stays at chance.
#[test]
fn across_three_centres_combat_in_the_folds_raises_the_auc_and_null_labels_stay_at_chance() {
    let tmp = tempfile::tempdir().unwrap();
    run_pipeline(
        tmp.path(),
        "example-liver-centres.yaml",
        &["--centres", "3"],
        &[],
    );
    let (without_mean, without) = auc_of(tmp.path(), "evaluate");
    let (with_mean, with) = auc_of(tmp.path(), "evaluate_combat");
    eprintln!(
        "three centres: pooled AUC without ComBat {without:.3} (mean {without_mean:.3}), \
         with ComBat in the folds {with:.3} (mean {with_mean:.3})"
    );
    assert!(with > without + 0.05, "without {without}, with {with}");
    assert!(
        with_mean > without_mean + 0.05,
        "without {without_mean}, with {with_mean}"
    );

    let null = tempfile::tempdir().unwrap();
    run_pipeline(
        null.path(),
        "example-liver-centres.yaml",
        &["--centres", "3", "--null"],
        &[],
    );
    let (null_mean, null_pooled) = auc_of(null.path(), "evaluate_combat");
    eprintln!(
        "three centres, null labels, ComBat in the folds: mean AUC {null_mean:.3}, pooled {null_pooled:.3}"
    );
    assert!((0.35..=0.65).contains(&null_mean), "null AUC {null_mean}");
}
