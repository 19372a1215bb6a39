//! Experiments through the built binary: `--set` runs leave the lock alone
//! and audit clean, sweeps compute shared tasks once, `radial runs` lists
//! and plots them, `radial promote` writes an experiment into the pipeline
//! file, and locks are portable between clones.

mod common;
mod pipeline_support;

use std::path::Path;
use std::process::{Command, Output};

use pipeline_support::{write_cohort, write_file};
use serde_json::Value;

/// Real image stages on the tiny test cohort.
const IMAGES: &str = "\
# Tiny study for the experiment tests.
name: exp
manifest: manifest.csv
stages:
  - id: load
    kind: load
  - id: resample
    kind: resample
    inputs: [load]
    params:
      spacing: [1.0, 1.0, 2.0]   # the cases' own grid
      image: linear
      mask: linear
  - id: resegment
    kind: resegment
    inputs: [resample]
    params: {range: [0, 100]}
  # The bin width is what the experiments change.
  - id: discretise
    kind: discretise
    inputs: [resegment]
    params: {method: fixed_bin_size, bin_width: 2}
  - {id: statistics, kind: statistics, inputs: [resegment]}
  - {id: glcm, kind: glcm, inputs: [discretise]}
  - id: collect
    kind: collect
    inputs: [statistics, glcm]
    params: {outcomes: [phenotype]}
";

/// A learning pipeline on a feature table (metrics for `radial runs`).
const TABLE: &str = "\
name: tab
stages:
  - id: t
    kind: table
    params: {path: table.csv, label_column: outcome, positive: 'yes'}
  - id: ev
    kind: evaluate
    inputs: [t]
    params: {folds: 3, repeats: 1, classifier: {kind: logistic}}
";

fn radial(dir: &Path, args: &[&str]) -> Output {
    Command::new(common::radial_bin())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("radial runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o));
    o
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn study(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), n);
    write_file(dir.path(), "exp.yaml", IMAGES);
    dir
}

fn write_table(dir: &Path, n: usize) {
    let mut s = String::from("case_id,outcome,a,b\n");
    for i in 0..n {
        let pos = i % 2 == 0;
        // Overlapping classes, so the AUC is not exactly 1.
        let a = (i * 37 % 11) as f64 / 11.0 + if pos { 0.6 } else { 0.0 };
        let b = (i * 13 % 7) as f64 / 7.0;
        s.push_str(&format!(
            "c{i:03},{},{a},{b}\n",
            if pos { "yes" } else { "no" }
        ));
    }
    std::fs::write(dir.join("table.csv"), s).unwrap();
}

#[test]
fn an_experiment_leaves_the_lock_alone_and_both_audits_pass() {
    let d = study(4);
    let dir = d.path();
    ok(radial(dir, &["run", "exp.yaml"]));
    let lock = std::fs::read(dir.join("exp.lock")).unwrap();
    let collect_csv = std::fs::read(dir.join("results/exp/collect.csv")).unwrap();
    let exp = json(&radial(
        dir,
        &[
            "run",
            "exp.yaml",
            "--set",
            "discretise.bin_width=10",
            "--json",
        ],
    ));
    let run_id = exp["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        exp["overrides"],
        serde_json::json!(["discretise.bin_width=10"])
    );
    assert_eq!(
        std::fs::read(dir.join("exp.lock")).unwrap(),
        lock,
        "an experiment does not rewrite the lock"
    );
    assert_eq!(
        std::fs::read(dir.join("results/exp/collect.csv")).unwrap(),
        collect_csv,
        "nor the results of the pipeline as written"
    );
    let exp_csv = dir.join(format!("results/exp/{run_id}/collect.csv"));
    assert!(exp_csv.is_file(), "{}", text(&radial(dir, &["runs"])));
    assert_ne!(std::fs::read(&exp_csv).unwrap(), collect_csv);
    let audit = ok(radial(dir, &["audit", "exp.yaml", "--sample", "5"]));
    assert!(text(&audit).contains("audit passed"), "{}", text(&audit));
    let audit_run = ok(radial(dir, &["audit", &run_id]));
    assert!(
        text(&audit_run).contains("inputs vs run") && text(&audit_run).contains("audit passed"),
        "{}",
        text(&audit_run)
    );
    // A named experiment goes to its own directory, found by name.
    ok(radial(
        dir,
        &[
            "run",
            "exp.yaml",
            "--set",
            "discretise.bin_width=4",
            "--name",
            "bw4",
        ],
    ));
    assert!(dir.join("results/exp/bw4/collect.csv").is_file());
    ok(radial(dir, &["audit", "bw4", "--sample", "3"]));
}

#[test]
fn results_are_restored_after_a_hand_edit_and_never_mix_runs() {
    let d = study(3);
    let dir = d.path();
    ok(radial(dir, &["run", "exp.yaml"]));
    let csv = dir.join("results/exp/collect.csv");
    let good = std::fs::read(&csv).unwrap();
    std::fs::write(&csv, b"case_id,edited\n").unwrap();
    let again = json(&radial(dir, &["run", "exp.yaml", "--json"]));
    assert_eq!(again["totals"]["run"], 0, "{again}");
    assert_eq!(
        std::fs::read(&csv).unwrap(),
        good,
        "the rerun restores the file"
    );
    std::fs::remove_file(&csv).unwrap();
    ok(radial(dir, &["run", "exp.yaml"]));
    assert_eq!(std::fs::read(&csv).unwrap(), good);
    // Two concurrent experiments with one name: whichever writes last,
    // the directory holds one run's files (its run id in .radial-run).
    let children: Vec<_> = ["2", "5"]
        .iter()
        .map(|w| {
            Command::new(common::radial_bin())
                .current_dir(dir)
                .args(["run", "exp.yaml", "--name", "same", "--json"])
                .arg("--set")
                .arg(format!("discretise.bin_width={w}"))
                .output()
                .unwrap()
        })
        .collect();
    let ids: Vec<String> = children
        .iter()
        .map(|o| json(o)["run_id"].as_str().unwrap().to_string())
        .collect();
    let writer = std::fs::read_to_string(dir.join("results/exp/same/.radial-run")).unwrap();
    let writer = writer.trim();
    assert!(ids.iter().any(|i| i == writer), "{writer} {ids:?}");
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!(".radial/runs/{writer}.json"))).unwrap(),
    )
    .unwrap();
    let want = record["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["stage"] == "collect")
        .unwrap()["output"]
        .as_str()
        .unwrap()
        .to_string();
    let stored = std::fs::read(dir.join(format!(".radial/objects/{}/{want}", &want[..2]))).unwrap();
    assert_eq!(
        std::fs::read(dir.join("results/exp/same/collect.csv")).unwrap(),
        stored,
        "the table is the one of the run that wrote the directory last"
    );
}

#[test]
fn a_corrupt_object_is_reported_and_its_task_recomputed() {
    let d = study(2);
    let dir = d.path();
    let first = json(&radial(dir, &["run", "exp.yaml", "--json"]));
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("exp.lock")).unwrap()).unwrap();
    let disc = lock["stages"]["discretise"]["tasks"]["case001"]["output"]
        .as_str()
        .unwrap()
        .to_string();
    let obj = dir.join(format!(".radial/objects/{}/{disc}", &disc[..2]));
    let mut bytes = std::fs::read(&obj).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&obj, &bytes).unwrap();
    // A run that reads the discretised image: the glcm of case001 reruns.
    let out = radial(
        dir,
        &["run", "exp.yaml", "--set", "glcm.distance=2", "--json"],
    );
    let summary = json(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("object {disc}"))
            && err.contains("case `case001`, stage `discretise`")
            && err.contains("recomputing"),
        "{err}"
    );
    let stage = |name: &str| {
        summary["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(stage("discretise")["run"], 1, "{summary}");
    assert_eq!(std::fs::read(&obj).unwrap().len(), bytes.len());
    assert_ne!(std::fs::read(&obj).unwrap(), bytes, "the store healed");
    // The healed store gives the same numbers as the first run.
    let again = json(&radial(dir, &["run", "exp.yaml", "--json"]));
    assert_eq!(again["totals"]["run"], 0);
    assert_eq!(first["totals"]["failed"], 0);
    ok(radial(dir, &["audit", "exp.yaml"]));
}

#[test]
fn a_sweep_computes_each_shared_task_once_and_lists_its_runs() {
    let d = study(3);
    let dir = d.path();
    let out = radial(
        dir,
        &[
            "run",
            "exp.yaml",
            "--sweep",
            "discretise.bin_width=1,2,4",
            "--sweep",
            "resample.spacing=[1,1,2],[2,2,2]",
            "--name",
            "grid",
            "--json",
        ],
    );
    let runs = json(&out);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 6);
    let computed = |stage: &str| -> u64 {
        runs.iter()
            .flat_map(|r| r["stages"].as_array().unwrap().iter())
            .filter(|s| s["id"] == stage)
            .map(|s| s["run"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(computed("load"), 3, "load once per case");
    assert_eq!(
        computed("resample"),
        6,
        "resample once per case and spacing"
    );
    assert_eq!(
        computed("statistics"),
        6,
        "statistics once per case and spacing"
    );
    assert_eq!(computed("discretise"), 18);
    assert_eq!(runs[0]["name"], "grid-1");
    assert!(dir.join("results/exp/grid-6/collect.csv").is_file());
    assert!(
        !dir.join("exp.lock").exists(),
        "a sweep does not write the lock"
    );
    let listed = json(&radial(dir, &["runs", "exp.yaml", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 6);
    ok(radial(dir, &["audit", "grid-4", "--sample", "4"]));
}

#[test]
fn bad_sweeps_fail_before_any_task_runs() {
    let d = study(2);
    let dir = d.path();
    let cases: [(&[&str], &str); 6] = [
        (&["--sweep", "nope.bin_width=1,2"], "no stage `nope`"),
        (
            &["--sweep", "discretise.colour=1,2"],
            "has no parameter `colour`",
        ),
        (&["--sweep", "discretise.bin_width=1,abc"], "experiment 2"),
        (&["--sweep", "discretise.bin_width="], "empty"),
        (&["--sweep", "discretise.bin_width=-1,2"], "bin_width"),
        (
            &[
                "--sweep",
                "discretise.bin_width=1,2,3",
                "--sweep",
                "glcm.distance=1,2,3",
                "--max-experiments",
                "8",
            ],
            "9 experiments",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["run", "exp.yaml"];
        args.extend_from_slice(extra);
        let o = radial(dir, &args);
        assert!(!o.status.success(), "{extra:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{extra:?}: {}", text(&o));
        assert!(
            !dir.join(".radial/objects").exists()
                || std::fs::read_dir(dir.join(".radial/objects"))
                    .unwrap()
                    .count()
                    == 0,
            "{extra:?}: no task ran"
        );
    }
    for (args, want) in [
        (vec!["run", "exp.yaml", "--jobs", "100000"], "--jobs 100000"),
        (vec!["run", "exp.yaml", "--name", "../x"], "--name"),
        (
            vec!["run", "exp.yaml", "--set", "discretise.bin_width=-5"],
            "bin_width",
        ),
    ] {
        let o = radial(dir, &args);
        assert!(
            !o.status.success() && text(&o).contains(want),
            "{args:?}: {}",
            text(&o)
        );
    }
}

#[test]
fn runs_lists_metrics_newest_first_and_writes_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_table(dir, 30);
    write_file(dir, "tab.yaml", TABLE);
    ok(radial(dir, &["run", "tab.yaml"]));
    ok(radial(
        dir,
        &[
            "run",
            "tab.yaml",
            "--sweep",
            "ev.folds=3,5",
            "--name",
            "folds",
        ],
    ));
    let rows = json(&radial(
        dir,
        &["runs", "tab.yaml", "--json", "--metric", "ev.auc"],
    ));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[2]["overrides"],
        serde_json::json!([]),
        "the oldest is last"
    );
    let auc = &rows[0]["metrics"]["ev.auc"];
    assert!(auc["lower"].as_f64().unwrap() <= auc["value"].as_f64().unwrap());
    let table = ok(radial(dir, &["runs", "tab.yaml"]));
    assert!(
        text(&table).contains("ev.auc") && text(&table).contains("ev.folds=5"),
        "{}",
        text(&table)
    );
    let csv = ok(radial(dir, &["runs", "--csv"]));
    assert_eq!(String::from_utf8_lossy(&csv.stdout).lines().count(), 4);
    ok(radial(dir, &["runs", "--html", "runs.html"]));
    let page = std::fs::read_to_string(dir.join("runs.html")).unwrap();
    assert!(page.contains("<svg") && page.contains("ev.folds") && page.contains("<polygon"));
    let bad = radial(dir, &["runs", "--metric", "ev.nope"]);
    assert!(
        !bad.status.success() && text(&bad).contains("ev.nope"),
        "{}",
        text(&bad)
    );
}

#[test]
fn promote_writes_the_overrides_into_the_pipeline_and_its_lock() {
    let d = study(2);
    let dir = d.path();
    ok(radial(dir, &["run", "exp.yaml"]));
    let exp = json(&radial(
        dir,
        &[
            "run",
            "exp.yaml",
            "--set",
            "discretise.bin_width=4",
            "--json",
        ],
    ));
    let run_id = exp["run_id"].as_str().unwrap().to_string();
    let promoted = ok(radial(dir, &["promote", &run_id]));
    let text_now = std::fs::read_to_string(dir.join("exp.yaml")).unwrap();
    assert_eq!(
        text_now,
        IMAGES.replace("bin_width: 2}", "bin_width: 4}"),
        "{}",
        text(&promoted)
    );
    assert!(
        text(&promoted).contains("0 task(s) computed"),
        "{}",
        text(&promoted)
    );
    ok(radial(dir, &["audit", "exp.yaml", "--sample", "3"]));
    // The file changed since that run: refused.
    let again = radial(dir, &["promote", &run_id]);
    assert!(
        !again.status.success() && text(&again).contains("changed since run"),
        "{}",
        text(&again)
    );
    // A run of another pipeline: refused.
    write_file(
        dir,
        "other.yaml",
        &IMAGES.replace("name: exp", "name: other"),
    );
    let o = json(&radial(
        dir,
        &[
            "run",
            "other.yaml",
            "--set",
            "discretise.bin_width=8",
            "--json",
        ],
    ));
    let other = o["run_id"].as_str().unwrap();
    let refused = radial(dir, &["promote", other, "--pipeline", "exp.yaml"]);
    assert!(
        !refused.status.success() && text(&refused).contains("is a run of pipeline `other`"),
        "{}",
        text(&refused)
    );
}

#[test]
fn a_lock_made_in_one_clone_validates_in_another() {
    let a = study(3);
    let b = tempfile::tempdir().unwrap();
    // The same repository and data in a second place.
    for entry in walk(a.path()) {
        let rel = entry.strip_prefix(a.path()).unwrap();
        let to = b.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
    ok(radial(a.path(), &["run", "exp.yaml"]));
    let lock_a = std::fs::read_to_string(a.path().join("exp.lock")).unwrap();
    assert!(
        !lock_a.contains(&a.path().display().to_string()),
        "no absolute path of the checkout in the lock:\n{lock_a}"
    );
    std::fs::write(b.path().join("exp.lock"), &lock_a).unwrap();
    // The clone recomputes from scratch and its audit against A's lock passes.
    ok(radial(b.path(), &["run", "exp.yaml"]));
    assert_eq!(
        std::fs::read_to_string(b.path().join("exp.lock")).unwrap(),
        lock_a,
        "the same lock"
    );
    ok(radial(b.path(), &["audit", "exp.yaml"]));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
