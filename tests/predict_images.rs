//! `radial predict MODEL --image I --mask M`: a model trained on features
//! from `radial extract --settings S` (recorded with `radial evaluate
//! --extraction-settings S`) scores a case from its images exactly as from
//! its row of the feature table; models that cannot do so say why.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn radial(args: &[&str], dir: &Path) -> Output {
    Command::new(common::radial_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("radial runs")
}

fn stdout_of(args: &[&str], dir: &Path) -> String {
    let out = radial(args, dir);
    assert!(
        out.status.success(),
        "radial {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const SETTINGS: &str = "\
interpolation: {spacing: [1.5, 1.5, 1.5], image: linear, mask: linear, round_intensities: true}
resegmentation: {range: [-100, 250]}
families: [statistics]
";

const PROTOCOL: &str = "\
repeats: 1
folds: 3
standardise: true
selection:
  - univariate: {k: 3}
classifier: {kind: logistic}
";

/// A synthetic cohort, each case extracted with `SETTINGS`, joined into one
/// table (case_id, the stat_* features, phenotype).
fn cohort_table(dir: &Path) {
    stdout_of(&["synth", "--cases", "12", "--out", "cases"], dir);
    std::fs::write(dir.join("settings.yaml"), SETTINGS).unwrap();
    std::fs::write(dir.join("protocol.yaml"), PROTOCOL).unwrap();
    let manifest = std::fs::read_to_string(dir.join("cases/manifest.csv")).unwrap();
    let mut table = String::new();
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (case, image, mask, phenotype) = (f[0], f[1], f[2], f[4]);
        let row = stdout_of(
            &[
                "extract",
                "--image",
                &format!("cases/{image}"),
                "--mask",
                &format!("cases/{mask}"),
                "--settings",
                "settings.yaml",
                "--case-id",
                case,
            ],
            dir,
        );
        let mut lines = row.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let values: Vec<&str> = lines.next().unwrap().split(',').collect();
        let keep: Vec<usize> = (0..header.len())
            .filter(|&c| c == 0 || header[c].starts_with("stat_"))
            .collect();
        if table.is_empty() {
            let names: Vec<&str> = keep.iter().map(|&c| header[c]).collect();
            table += &format!("{},phenotype\n", names.join(","));
        }
        let cells: Vec<&str> = keep.iter().map(|&c| values[c]).collect();
        table += &format!("{},{phenotype}\n", cells.join(","));
    }
    std::fs::write(dir.join("table.csv"), table).unwrap();
}

fn evaluate(dir: &Path, id: &str, extra: &[&str]) {
    let mut args = vec![
        "evaluate",
        "--table",
        "table.csv",
        "--label-column",
        "phenotype",
        "--positive",
        "1",
        "--protocol",
        "protocol.yaml",
        "--out",
        "out",
        "--id",
        id,
    ];
    args.extend_from_slice(extra);
    stdout_of(&args, dir);
}

fn predict_image(dir: &Path, model: &str, case: &str) -> Output {
    radial(
        &[
            "predict",
            model,
            "--image",
            &format!("cases/images/{case}.nii.gz"),
            "--mask",
            &format!("cases/masks/{case}.nii.gz"),
            "--case-id",
            case,
        ],
        dir,
    )
}

#[test]
fn a_model_with_recorded_settings_scores_images_as_it_scores_their_features() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cohort_table(dir);
    evaluate(dir, "with", &["--extraction-settings", "settings.yaml"]);
    let from_table = stdout_of(
        &["predict", "out/with.model.json", "--features", "table.csv"],
        dir,
    );
    let scores: std::collections::BTreeSet<&str> = from_table
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert!(
        scores.len() > 6,
        "scores should differ between cases: {from_table}"
    );
    for case in ["case_0002", "case_0009"] {
        let out = predict_image(dir, "out/with.model.json", case);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert!(
            from_table.lines().any(|l| l == row),
            "{case}: `{row}` not in\n{from_table}"
        );
    }

    // A whole manifest scored from its images gives the table's scores,
    // case for case, in manifest order.
    let from_manifest = stdout_of(
        &[
            "predict",
            "out/with.model.json",
            "--manifest",
            "cases/manifest.csv",
        ],
        dir,
    );
    assert_eq!(from_manifest, from_table);

    // Trained on the table alone: the model cannot know how to extract.
    evaluate(dir, "without", &[]);
    let out = predict_image(dir, "out/without.model.json", "case_0002");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not record how its features were extracted"),
        "{stderr}"
    );

    // Recorded settings that do not produce the model's inputs.
    std::fs::write(dir.join("morphology.yaml"), "families: [morphology]\n").unwrap();
    evaluate(dir, "wrong", &["--extraction-settings", "morphology.yaml"]);
    let out = predict_image(dir, "out/wrong.model.json", "case_0002");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not produce the model's input feature `stat_"),
        "{stderr}"
    );
    assert!(stderr.contains("case_0002"), "{stderr}");
}

#[test]
fn predict_needs_a_table_or_an_image_and_a_mask() {
    let tmp = tempfile::tempdir().unwrap();
    let out = radial(
        &["predict", "model.json", "--image", "a.nii.gz"],
        tmp.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mask"));
    let out = radial(&["predict", "model.json"], tmp.path());
    assert!(!out.status.success());
}
