//! The pipeline commands through the built binary: the JSON summary, bad
//! input, status/dag/diff/audit/gc, two concurrent processes on one store,
//! and kill -9 in the middle of a run.

mod common;
mod pipeline_support;

use std::path::Path;
use std::process::{Command, Output};

use pipeline_support::{write_cohort, write_file};

const LOAD_ONLY: &str =
    "name: cli\nmanifest: manifest.csv\nstages:\n  - id: load\n    kind: load\n";

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

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[test]
fn run_prints_the_json_summary_and_reruns_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), 3);
    write_file(dir.path(), "cli.yaml", LOAD_ONLY);
    let first = json(&radial(dir.path(), &["run", "cli.yaml", "--json"]));
    assert_eq!(first["stages"][0]["id"], "load");
    assert_eq!(first["stages"][0]["run"], 3);
    assert_eq!(first["stages"][0]["outputs"], serde_json::json!([]));
    assert_eq!(
        first["totals"],
        serde_json::json!({"run": 3, "cached": 0, "failed": 0})
    );
    let run_a = first["run_id"].as_str().unwrap().to_string();
    assert!(
        dir.path()
            .join(format!(".radial/runs/{run_a}.json"))
            .is_file()
    );
    let second = json(&radial(
        dir.path(),
        &["run", "cli.yaml", "--json", "--jobs", "1"],
    ));
    assert_eq!(
        second["totals"],
        serde_json::json!({"run": 0, "cached": 3, "failed": 0})
    );
    let run_b = second["run_id"].as_str().unwrap();

    let status = radial(dir.path(), &["status", "cli.yaml"]);
    assert!(
        text(&status).contains("load: 0 to run, 3 cached"),
        "{}",
        text(&status)
    );
    let dag = radial(dir.path(), &["dag", "cli.yaml"]);
    assert!(
        text(&dag).contains("load [load v3, per case ×3]"),
        "{}",
        text(&dag)
    );
    let dot = radial(dir.path(), &["dag", "cli.yaml", "--dot"]);
    assert!(
        text(&dot).starts_with("digraph \"cli\" {"),
        "{}",
        text(&dot)
    );
    let diff = radial(dir.path(), &["diff", &run_a, run_b]);
    assert!(
        diff.status.success() && text(&diff).contains("no differences"),
        "{}",
        text(&diff)
    );
    let audit = radial(dir.path(), &["audit", "cli.yaml", "--sample", "2"]);
    assert!(
        audit.status.success() && text(&audit).contains("recomputed: 2 task(s), 0 differ"),
        "{}",
        text(&audit)
    );
    let audit_run = radial(dir.path(), &["audit", &run_a]);
    assert!(audit_run.status.success(), "{}", text(&audit_run));
    let gc = radial(dir.path(), &["gc", "--keep-days", "0"]);
    assert!(
        gc.status.success() && text(&gc).contains("0 object(s) removed"),
        "{}",
        text(&gc)
    );
    // A changed image: status names the file, the run recomputes that case only.
    pipeline_support::write_case(dir.path(), 7);
    std::fs::copy(
        dir.path().join("images/case007.nii"),
        dir.path().join("images/case001.nii"),
    )
    .unwrap();
    let status = radial(dir.path(), &["status", "cli.yaml"]);
    assert!(
        text(&status).contains("changed input file") && text(&status).contains("case001.nii"),
        "{}",
        text(&status)
    );
    let third = json(&radial(dir.path(), &["run", "cli.yaml", "--json"]));
    assert_eq!(
        third["totals"],
        serde_json::json!({"run": 1, "cached": 2, "failed": 0})
    );
    let audit = radial(dir.path(), &["audit", &run_a]);
    assert!(!audit.status.success(), "{}", text(&audit));
}

#[test]
fn bad_input_fails_before_any_task_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), 2);
    write_file(dir.path(), "cli.yaml", LOAD_ONLY);
    let cases = [
        (
            vec!["run", "cli.yaml", "--set", "load.spacing=2"],
            "has no parameter `spacing`",
        ),
        (
            vec!["run", "cli.yaml", "--set", "lod.x=2"],
            "no stage `lod`",
        ),
    ];
    for (args, want) in cases {
        let o = radial(dir.path(), &args);
        assert!(
            !o.status.success() && text(&o).contains(want),
            "{args:?}: {}",
            text(&o)
        );
    }
    write_file(
        dir.path(),
        "ref.yaml",
        "name: r\nmanifest: manifest.csv\nstages:\n  - id: t\n    kind: collect\n    inputs: [glcm]\n",
    );
    let o = radial(dir.path(), &["run", "ref.yaml"]);
    assert!(
        text(&o).contains("ref.yaml:6:") && text(&o).contains("`glcm`"),
        "{}",
        text(&o)
    );
    write_file(
        dir.path(),
        "bad.csv",
        "case_id,image,mask\nA,images/nope.nii,images/case000_mask.nii\n",
    );
    let o = radial(dir.path(), &["run", "cli.yaml", "--manifest", "bad.csv"]);
    assert!(
        text(&o).contains("case `A`: image file") && text(&o).contains("does not exist"),
        "{}",
        text(&o)
    );
    assert!(
        !dir.path().join(".radial/runs").exists()
            || std::fs::read_dir(dir.path().join(".radial/runs"))
                .unwrap()
                .count()
                == 0
    );
}

#[test]
fn two_concurrent_processes_compute_each_task_once() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), 60);
    write_file(dir.path(), "cli.yaml", LOAD_ONLY);
    let spawn = || {
        Command::new(common::radial_bin())
            .current_dir(dir.path())
            .args(["run", "cli.yaml", "--json", "--store", "shared"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        json(&a.wait_with_output().unwrap()),
        json(&b.wait_with_output().unwrap()),
    );
    let run = a["totals"]["run"].as_u64().unwrap() + b["totals"]["run"].as_u64().unwrap();
    assert_eq!(run, 60, "{a}\n{b}");
    let audit = radial(dir.path(), &["audit", "cli.yaml", "--store", "shared"]);
    assert!(audit.status.success(), "{}", text(&audit));
}

#[test]
fn kill_9_mid_run_then_rerun_gives_byte_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let n = 150;
    write_cohort(dir.path(), n);
    write_file(dir.path(), "cli.yaml", LOAD_ONLY);
    // Reference: an uninterrupted run on its own store.
    json(&radial(
        dir.path(),
        &["run", "cli.yaml", "--json", "--store", "ref"],
    ));
    let reference_lock = std::fs::read(dir.path().join("cli.lock")).unwrap();
    std::fs::remove_file(dir.path().join("cli.lock")).unwrap();

    let mut child = Command::new(common::radial_bin())
        .current_dir(dir.path())
        .args(["run", "cli.yaml", "--store", "killed", "--jobs", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let objects = dir.path().join("killed/objects");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let stored = radial::pipeline::store::files_under(&objects)
            .map(|f| f.len())
            .unwrap_or(0);
        if stored >= 10 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !dir.path().join("cli.lock").exists(),
        "the run finished before it was killed"
    );

    let resumed = json(&radial(
        dir.path(),
        &["run", "cli.yaml", "--json", "--store", "killed"],
    ));
    let cached = resumed["totals"]["cached"].as_u64().unwrap();
    assert!(cached >= 9 && cached < n as u64, "{resumed}");
    assert_eq!(
        std::fs::read(dir.path().join("cli.lock")).unwrap(),
        reference_lock
    );
    let store = |name: &str| radial::pipeline::store::Store::open(&dir.path().join(name)).unwrap();
    let (a, b) = (store("ref"), store("killed"));
    assert_eq!(a.object_hashes().unwrap(), b.object_hashes().unwrap());
    for h in a.object_hashes().unwrap() {
        assert_eq!(
            std::fs::read(a.object_path(&h)).unwrap(),
            std::fs::read(b.object_path(&h)).unwrap()
        );
    }
    let audit = radial(
        dir.path(),
        &["audit", "cli.yaml", "--store", "killed", "--sample", "5"],
    );
    assert!(audit.status.success(), "{}", text(&audit));
}
