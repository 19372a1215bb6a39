//! The learning layer as pipeline stages, end to end through `radial run`:
//! WDBC targets, caching, `--set` invalidation, a changed table file,
//! selection inside the folds (noise table), and bad pipelines.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rand::{Rng, SeedableRng};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn radial_run(pipeline: &Path, dir: &Path, extra: &[&str]) -> Output {
    radial_run_with_data(pipeline, dir, extra, None)
}

/// `radial run`, with `RADIAL_DATA_DIR` set for the child when given.
fn radial_run_with_data(
    pipeline: &Path,
    dir: &Path,
    extra: &[&str],
    data: Option<&Path>,
) -> Output {
    let mut cmd = Command::new(common::radial_bin());
    if let Some(data) = data {
        cmd.env("RADIAL_DATA_DIR", data);
    }
    cmd.arg("run")
        .arg(pipeline)
        .arg("--store")
        .arg(dir.join("store"))
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--json")
        .args(extra);
    cmd.output().expect("radial runs")
}

/// The `--json` summary of a successful run.
fn summary(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "radial run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON summary on stdout")
}

/// (run, cached) of one stage in a summary.
fn counts(summary: &Value, stage: &str) -> (u64, u64) {
    let s = summary["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == stage)
        .unwrap_or_else(|| panic!("no stage {stage} in {summary}"));
    (s["run"].as_u64().unwrap(), s["cached"].as_u64().unwrap())
}

fn totals(summary: &Value) -> (u64, u64, u64) {
    let t = &summary["totals"];
    (
        t["run"].as_u64().unwrap(),
        t["cached"].as_u64().unwrap(),
        t["failed"].as_u64().unwrap(),
    )
}

fn mean_auc(out_dir: &Path, stage: &str) -> f64 {
    let path = out_dir.join(format!("{stage}.metrics.json"));
    let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["summary"]["auc_mean"].as_f64().unwrap()
}

#[test]
fn wdbc_pipeline_reaches_targets_then_caches_and_reruns_only_what_changed() {
    let Some(data) = common::data_dir("wdbc_pipeline_reaches_targets") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // A copy, so the lock file written beside it stays out of the repository;
    // the data directory then comes from the variable the pipeline reads.
    let pipeline = tmp.path().join("wdbc.yaml");
    std::fs::copy(repo().join("pipelines/wdbc.yaml"), &pipeline).unwrap();
    let data = data.canonicalize().unwrap();
    let started = std::time::Instant::now();
    let first = summary(&radial_run_with_data(
        &pipeline,
        tmp.path(),
        &[],
        Some(&data),
    ));
    eprintln!("wdbc pipeline, first run: {:.2?}", started.elapsed());
    assert_eq!(totals(&first), (4, 0, 0), "{first}");
    let out = tmp.path().join("out");
    for (stage, target) in [
        ("eval-svm", 0.99),
        ("eval-logreg", 0.99),
        ("eval-rf", 0.985),
    ] {
        let auc = mean_auc(&out, stage);
        eprintln!("{stage}: mean AUC {auc:.4}");
        assert!(auc >= target, "{stage}: mean AUC {auc} < {target}");
        let html = std::fs::read_to_string(out.join(format!("{stage}.html"))).unwrap();
        assert!(html.contains("<svg"), "{stage}.html has no figure");
    }

    let second = summary(&radial_run_with_data(
        &pipeline,
        tmp.path(),
        &[],
        Some(&data),
    ));
    assert_eq!(totals(&second), (0, 4, 0), "{second}");

    let changed = summary(&radial_run_with_data(
        &pipeline,
        tmp.path(),
        &["--set", "eval-svm.classifier.c=2"],
        Some(&data),
    ));
    assert_eq!(totals(&changed), (1, 3, 0), "{changed}");
    assert_eq!(counts(&changed, "eval-svm"), (1, 0));
    for stage in ["wdbc-table", "eval-logreg", "eval-rf"] {
        assert_eq!(counts(&changed, stage), (0, 1), "{stage}");
    }
}

/// A separable two-feature table with an id and a text outcome.
fn write_small_table(path: &Path, n: usize, flip_first: bool) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut s = String::from("case_id,outcome,a,b\n");
    for i in 0..n {
        let pos = i % 2 == 0;
        let shift = if pos { 2.0 } else { 0.0 };
        let a: f64 = rng.gen_range(0.0..1.0) + shift;
        let a = if flip_first && i == 0 { -a } else { a };
        let b: f64 = rng.gen_range(0.0..1.0);
        let label = if pos { "yes" } else { "no" };
        s.push_str(&format!("c{i:03},{label},{a},{b}\n"));
    }
    std::fs::write(path, s).unwrap();
}

fn write_pipeline(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("p.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

const SMALL: &str = "name: small
stages:
  - id: t
    kind: table
    params: {path: table.csv, label_column: outcome, positive: 'yes'}
  - id: ev
    kind: evaluate
    inputs: [t]
    params: {folds: 3, repeats: 1, classifier: {kind: logistic}}
  - id: model
    kind: train
    inputs: [t]
    params: {classifier: {kind: logistic}}
  - id: report
    kind: report
    inputs: [ev]
";

#[test]
fn a_changed_table_file_reruns_its_stage_and_a_touched_one_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("table.csv");
    write_small_table(&csv, 30, false);
    let p = write_pipeline(tmp.path(), SMALL);
    let first = summary(&radial_run(&p, tmp.path(), &[]));
    assert_eq!(totals(&first), (4, 0, 0), "{first}");
    let out = tmp.path().join("out");
    for f in [
        "t.csv",
        "ev.metrics.json",
        "ev.html",
        "model.model.json",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} not materialised");
    }
    // Same content, new mtime: nothing reruns.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_small_table(&csv, 30, false);
    let touched = summary(&radial_run(&p, tmp.path(), &[]));
    assert_eq!(totals(&touched), (0, 4, 0), "{touched}");
    // The lock records the table file's hash, so an audit notices a change.
    let lock = std::fs::read_to_string(tmp.path().join("p.lock")).unwrap();
    assert!(
        lock.contains("table.csv") && lock.contains("\"files\""),
        "{lock}"
    );
    // One value changed: the audit fails naming the file, then the table and
    // everything reading it rerun.
    write_small_table(&csv, 30, true);
    let audit = Command::new(common::radial_bin())
        .args(["audit", "p.yaml", "--sample", "0"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let audit_text = String::from_utf8_lossy(&audit.stdout).to_string()
        + &String::from_utf8_lossy(&audit.stderr);
    assert!(!audit.status.success(), "{audit_text}");
    assert!(
        audit_text.contains("stage `t`") && audit_text.contains("table.csv hashes to"),
        "{audit_text}"
    );
    let changed = summary(&radial_run(&p, tmp.path(), &[]));
    assert_eq!(counts(&changed, "t"), (1, 0), "{changed}");
    assert_eq!(counts(&changed, "ev"), (1, 0), "{changed}");
    assert_eq!(counts(&changed, "model"), (1, 0), "{changed}");
    // The model artifact scores a table through `radial predict`.
    let predicted = Command::new(common::radial_bin())
        .arg("predict")
        .arg(out.join("model.model.json"))
        .arg("--features")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        predicted.status.success(),
        "{}",
        String::from_utf8_lossy(&predicted.stderr)
    );
}

#[test]
fn a_select_stage_feeding_evaluate_selects_inside_the_folds() {
    // 100 cases x 2000 pure-noise features, random labels: selecting 10
    // features inside each training fold gives a chance-level AUC.
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let mut s = String::from("case_id,y");
    for j in 0..2000 {
        s.push_str(&format!(",f{j}"));
    }
    s.push('\n');
    for i in 0..100 {
        s.push_str(&format!("n{i},{}", if i % 2 == 0 { 1 } else { 0 }));
        for _ in 0..2000 {
            let v: f64 = rng.gen_range(-1.0..1.0);
            s.push_str(&format!(",{v}"));
        }
        s.push('\n');
    }
    std::fs::write(tmp.path().join("noise.csv"), s).unwrap();
    let p = write_pipeline(
        tmp.path(),
        "name: noise
stages:
  - id: t
    kind: table
    params: {path: noise.csv, label_column: 'y', positive: '1'}
  - id: sel
    kind: select
    inputs: [t]
    params:
      selection: [{univariate: {test: mann_whitney, k: 10}}]
  - id: ev
    kind: evaluate
    inputs: [sel]
    params: {folds: 5, repeats: 4, classifier: {kind: svm, kernel: rbf}}
",
    );
    let run = summary(&radial_run(&p, tmp.path(), &[]));
    assert_eq!(totals(&run), (3, 0, 0), "{run}");
    let out = tmp.path().join("out");
    let auc = mean_auc(&out, "ev");
    assert!((0.35..=0.65).contains(&auc), "mean AUC {auc} on noise");
    // The per-fold selections were fitted in the folds (10 features each).
    let eval: Value =
        serde_json::from_slice(&std::fs::read(out.join("ev.metrics.json")).unwrap()).unwrap();
    for fold in eval["folds"].as_array().unwrap() {
        assert_eq!(fold["selected"].as_array().unwrap().len(), 10);
    }
    // The informational whole-cohort list.
    let kept = std::fs::read_to_string(out.join("sel.csv")).unwrap();
    assert_eq!(kept.lines().count(), 11, "{kept}");
}

fn failure(p: &Path, dir: &Path) -> String {
    let out = radial_run(p, dir, &[]);
    assert!(!out.status.success(), "the run should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_learning_pipelines_fail_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    write_small_table(&tmp.path().join("table.csv"), 30, false);

    // Selection both in a select stage and in the evaluate reading it.
    let p = write_pipeline(
        tmp.path(),
        "name: bad
stages:
  - id: t
    kind: table
    params: {path: table.csv, label_column: outcome, positive: 'yes'}
  - id: sel
    kind: select
    inputs: [t]
    params: {selection: [{univariate: {k: 1}}]}
  - id: ev
    kind: evaluate
    inputs: [sel]
    params: {folds: 3, repeats: 1, selection: [{mrmr: {k: 1}}], classifier: {kind: logistic}}
",
    );
    let e = failure(&p, tmp.path());
    // Found at planning (file and line of the stage), before the table task runs.
    assert!(
        e.contains("p.yaml:") && e.contains("stage `ev`") && e.contains("select stage"),
        "{e}"
    );
    assert!(
        !tmp.path().join("out/t.csv").exists(),
        "no task should have run"
    );

    // No label column: a parameter error before any task, with its place.
    let p = write_pipeline(
        tmp.path(),
        "name: bad
stages:
  - id: t
    kind: table
    params: {path: table.csv, positive: 'yes'}
",
    );
    let e = failure(&p, tmp.path());
    assert!(e.contains("p.yaml:") && e.contains("label_column"), "{e}");

    // A label column the file does not have.
    let p = write_pipeline(
        tmp.path(),
        "name: bad
stages:
  - id: t
    kind: table
    params: {path: table.csv, label_column: diagnosis, positive: 'yes'}
",
    );
    let e = failure(&p, tmp.path());
    assert!(e.contains("diagnosis"), "{e}");

    // A table file that does not exist: before any task.
    let p = write_pipeline(
        tmp.path(),
        "name: bad
stages:
  - id: t
    kind: table
    params: {path: missing.csv, label_column: outcome, positive: 'yes'}
",
    );
    let e = failure(&p, tmp.path());
    assert!(
        e.contains("missing.csv") && e.contains("does not exist"),
        "{e}"
    );

    // One class only.
    std::fs::write(
        tmp.path().join("one.csv"),
        "case_id,outcome,a\nx,yes,1\ny,yes,2\nz,yes,3\n",
    )
    .unwrap();
    let p = write_pipeline(
        tmp.path(),
        "name: bad
stages:
  - id: t
    kind: table
    params: {path: one.csv, label_column: outcome, positive: 'yes'}
",
    );
    let e = failure(&p, tmp.path());
    assert!(e.contains("outcome") && e.contains("single class"), "{e}");

    // evaluate cannot read a report, and report only an evaluate.
    let p = write_pipeline(
        tmp.path(),
        "name: bad
stages:
  - id: t
    kind: table
    params: {path: table.csv, label_column: outcome, positive: 'yes'}
  - id: r
    kind: report
    inputs: [t]
",
    );
    let e = failure(&p, tmp.path());
    assert!(e.contains("`r`") && e.contains("evaluate"), "{e}");
}
