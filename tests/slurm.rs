//! The Slurm executor against a real Slurm (scripts/slurm-local.sh start):
//! byte-identical results to the local executor, a failing case reported
//! with its job log under --keep-going, a job cancelled from outside
//! resubmitted, a driver killed with kill -9 resumed without recomputing,
//! and the preflight errors.
//!
//! The tests run when `sinfo` answers (SLURM_CONF, or the configuration
//! slurm-local.sh writes in $RADIAL_SLURM_DIR, default /tmp/radial-slurm);
//! otherwise they say loudly that they are skipped, and with
//! RADIAL_REQUIRE_SLURM=1 (as in CI) they fail instead.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A small pipeline over a synthetic cohort: per-case chains of five
/// stages and one cohort stage.
const PIPELINE: &str = "\
name: slurm-test
manifest: cases/manifest.csv
stages:
  - id: load
    kind: load
  - id: resample
    kind: resample
    inputs: [load]
    params: {spacing: [2.0, 2.0, 2.0]}
  - id: resegment
    kind: resegment
    inputs: [resample]
    params: {range: [-100, 250]}
  - id: discretise
    kind: discretise
    inputs: [resegment]
    params: {method: fixed_bin_size, bin_width: 25}
  - {id: statistics, kind: statistics, inputs: [resegment]}
  - {id: glcm, kind: glcm, inputs: [discretise]}
  - id: collect
    kind: collect
    inputs: [statistics, glcm]
    params: {outcomes: [phenotype]}
";

/// The configuration of the cluster to use, when one answers.
fn slurm_conf(test: &str) -> Option<String> {
    let conf = std::env::var("SLURM_CONF").ok().unwrap_or_else(|| {
        let dir = std::env::var("RADIAL_SLURM_DIR").unwrap_or_else(|_| "/tmp/radial-slurm".into());
        format!("{dir}/slurm.conf")
    });
    let answers = Command::new("timeout")
        .args(["10", "sinfo", "--noheader"])
        .env("SLURM_CONF", &conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if answers {
        return Some(conf);
    }
    if std::env::var("RADIAL_REQUIRE_SLURM").as_deref() == Ok("1") {
        panic!(
            "{test}: no Slurm controller answers (SLURM_CONF={conf}); start one with scripts/slurm-local.sh start (RADIAL_REQUIRE_SLURM=1)"
        );
    }
    eprintln!(
        "\n*** SKIPPED {test}: no Slurm controller answers (SLURM_CONF={conf}; start one with scripts/slurm-local.sh start) ***\n"
    );
    None
}

fn radial(dir: &Path, conf: &str, args: &[&str]) -> Output {
    Command::new(common::radial_bin())
        .current_dir(dir)
        .env("SLURM_CONF", conf)
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

fn summary(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// A cohort of `n` synthetic cases and the test pipeline in `dir`.
fn cohort(dir: &Path, n: usize) {
    let o = Command::new(common::radial_bin())
        .current_dir(dir)
        .args(["synth", "--cases", &n.to_string(), "--out", "cases"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(dir.join("p.yaml"), PIPELINE).unwrap();
}

/// Every object of a store, by hash, with its bytes.
fn objects(store: &Path) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    for shard in std::fs::read_dir(store.join("objects")).unwrap() {
        for f in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            if !name.starts_with('.') {
                out.insert(name, std::fs::read(&f).unwrap());
            }
        }
    }
    out
}

/// Every worker record written under a store's `slurm/` directory.
fn worker_records(store: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let Ok(runs) = std::fs::read_dir(store.join("slurm")) else {
        return out;
    };
    for run in runs {
        for array in std::fs::read_dir(run.unwrap().path()).unwrap() {
            let array = array.unwrap().path();
            if !array.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&array).unwrap() {
                let f = f.unwrap().path();
                if f.to_string_lossy().ends_with(".result.json") {
                    let v: serde_json::Value =
                        serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
                    out.extend(v["records"].as_array().unwrap().iter().cloned());
                }
            }
        }
    }
    out
}

/// The queued elements (`JOB_INDEX`, state, name) of this store's runs.
fn queue(conf: &str, name_prefix: &str) -> Vec<(String, String)> {
    let o = Command::new("timeout")
        .args(["10", "squeue", "--noheader", "--array", "--format=%i %T %j"])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[2].starts_with(name_prefix) && !f[2].ends_with("-check"))
                .then(|| (f[0].to_string(), f[1].to_string()))
        })
        .collect()
}

fn job_names(store: &Path) -> Vec<String> {
    std::fs::read_dir(store.join("slurm"))
        .map(|d| {
            d.map(|e| format!("radial-{}", e.unwrap().file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default()
}

/// Cancels whatever jobs of a test store are still queued.
fn cancel_all(conf: &str, store: &Path) {
    for name in job_names(store) {
        let _ = Command::new("timeout")
            .args(["10", "scancel", &format!("--name={name}")])
            .env("SLURM_CONF", conf)
            .status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Every path under `root` (none when it does not exist).
fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn slurm_results_are_byte_identical_to_the_local_run() {
    let Some(conf) = slurm_conf("slurm_results_are_byte_identical_to_the_local_run") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 6);
    let local = radial(
        dir.path(),
        &conf,
        &[
            "run",
            "p.yaml",
            "--json",
            "--store",
            "local-store",
            "--out",
            "local-out",
        ],
    );
    assert!(local.status.success(), "{}", text(&local));
    let slurm = radial(
        dir.path(),
        &conf,
        &[
            "run",
            "p.yaml",
            "--json",
            "--store",
            "slurm-store",
            "--out",
            "slurm-out",
            "--executor",
            "slurm",
            "--bundle",
            "2",
        ],
    );
    assert!(slurm.status.success(), "{}", text(&slurm));
    let (l, s) = (summary(&local), summary(&slurm));
    assert_eq!(
        l["totals"],
        serde_json::json!({"run": 37, "cached": 0, "failed": 0})
    );
    assert_eq!(s["totals"], l["totals"], "{}", text(&slurm));
    // One sbatch per array: the cases (3 bundles of 2) and the cohort job.
    assert!(
        text(&slurm).contains("slurm: 2 array(s) submitted with 2 sbatch call(s)"),
        "{}",
        text(&slurm)
    );
    for file in ["collect.csv", "collect.parquet"] {
        let a = std::fs::read(dir.path().join("local-out").join(file));
        let b = std::fs::read(dir.path().join("slurm-out").join(file));
        assert!(a.is_ok(), "{file} missing from the local output");
        assert_eq!(a.unwrap(), b.unwrap(), "{file} differs");
    }
    let (a, b) = (
        objects(&dir.path().join("local-store")),
        objects(&dir.path().join("slurm-store")),
    );
    assert_eq!(a.len(), b.len());
    assert!(a == b, "the stores hold different objects");
    // Every task was computed by a worker on the cluster, once.
    let run_by_workers = worker_records(&dir.path().join("slurm-store"))
        .iter()
        .filter(|r| r["status"] == "run")
        .count();
    assert_eq!(run_by_workers, 37);
    // A second run submits nothing: everything is adopted from the store.
    let again = radial(
        dir.path(),
        &conf,
        &[
            "run",
            "p.yaml",
            "--json",
            "--store",
            "slurm-store",
            "--out",
            "slurm-out",
            "--executor",
            "slurm",
        ],
    );
    assert_eq!(
        summary(&again)["totals"],
        serde_json::json!({"run": 0, "cached": 37, "failed": 0}),
        "{}",
        text(&again)
    );
    assert!(
        text(&again).contains("slurm: 0 array(s)"),
        "{}",
        text(&again)
    );
}

#[test]
fn a_sweep_runs_on_slurm_and_gc_removes_its_job_directories() {
    let Some(conf) = slurm_conf("a_sweep_runs_on_slurm_and_gc_removes_its_job_directories") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 3);
    let sweep = |store: &str, out: &str, slurm: bool| {
        let mut args = vec![
            "run",
            "p.yaml",
            "--json",
            "--store",
            store,
            "--out",
            out,
            "--sweep",
            "discretise.bin_width=25,50",
            "--name",
            "bw",
        ];
        if slurm {
            args.extend(["--executor", "slurm", "--bundle", "3"]);
        }
        radial(dir.path(), &conf, &args)
    };
    let local = sweep("local-store", "local-out", false);
    assert!(local.status.success(), "{}", text(&local));
    let slurm = sweep("slurm-store", "slurm-out", true);
    assert!(slurm.status.success(), "{}", text(&slurm));
    let (l, s) = (summary(&local), summary(&slurm));
    // Experiment 2 recomputes only what the bin width changes (discretise
    // and glcm of 3 cases, then collect); the rest is found in the store.
    let totals = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["totals"].clone())
            .collect()
    };
    assert_eq!(
        totals(&s),
        vec![
            serde_json::json!({"run": 19, "cached": 0, "failed": 0}),
            serde_json::json!({"run": 7, "cached": 12, "failed": 0}),
        ],
        "{}",
        text(&slurm)
    );
    assert_eq!(totals(&l), totals(&s));
    for experiment in ["bw-1", "bw-2"] {
        let a = std::fs::read(
            dir.path()
                .join("local-out")
                .join(experiment)
                .join("collect.csv"),
        );
        let b = std::fs::read(
            dir.path()
                .join("slurm-out")
                .join(experiment)
                .join("collect.csv"),
        );
        assert!(
            a.is_ok(),
            "{experiment}: collect.csv missing from the local sweep"
        );
        assert_eq!(a.unwrap(), b.unwrap(), "{experiment}: collect.csv differs");
    }
    assert_eq!(
        objects(&dir.path().join("local-store")),
        objects(&dir.path().join("slurm-store"))
    );
    // One job directory per experiment; gc keeps them while their runs
    // are kept, and removes them with the runs.
    let job_dirs = || {
        std::fs::read_dir(dir.path().join("slurm-store/slurm"))
            .unwrap()
            .count()
    };
    assert_eq!(job_dirs(), 2);
    let gc = |days: &str| {
        radial(
            dir.path(),
            &conf,
            &["gc", "--store", "slurm-store", "--keep-days", days],
        )
    };
    let kept = gc("30");
    assert!(kept.status.success(), "{}", text(&kept));
    assert!(
        text(&kept).contains("0 Slurm job director(ies) removed"),
        "{}",
        text(&kept)
    );
    assert_eq!(job_dirs(), 2);
    let removed = gc("0");
    assert!(
        text(&removed).contains("2 Slurm job director(ies) removed"),
        "{}",
        text(&removed)
    );
    assert_eq!(job_dirs(), 0);
}

#[test]
fn a_corrupt_case_fails_with_its_job_log_and_the_others_finish() {
    let Some(conf) = slurm_conf("a_corrupt_case_fails_with_its_job_log_and_the_others_finish")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 4);
    std::fs::write(
        dir.path().join("cases/images/case_0002.nii.gz"),
        b"not a NIfTI file",
    )
    .unwrap();
    let o = radial(
        dir.path(),
        &conf,
        &[
            "run",
            "p.yaml",
            "--json",
            "--executor",
            "slurm",
            "--keep-going",
        ],
    );
    assert!(!o.status.success(), "{}", text(&o));
    let all = text(&o);
    assert!(
        all.contains("case `case_0002`, stage `load`") && all.contains("job log"),
        "{all}"
    );
    // The job log's own last lines are quoted (the worker's summary line).
    assert!(all.contains("| worker on "), "{all}");
    let s = summary(&o);
    assert_eq!(s["stages"][0]["run"], 3, "{all}");
    assert_eq!(s["stages"][0]["failed"], 1, "{all}");
    // The cohort table still came out, over the three good cases.
    let table = std::fs::read_to_string(dir.path().join("results/slurm-test/collect.csv")).unwrap();
    assert_eq!(table.lines().count(), 4, "{table}");
}

#[test]
fn a_job_cancelled_from_outside_is_resubmitted() {
    let Some(conf) = slurm_conf("a_job_cancelled_from_outside_is_resubmitted") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 4);
    // One element at a time: the last ones wait in the queue long enough
    // to be cancelled by hand.
    let child = Command::new(common::radial_bin())
        .current_dir(dir.path())
        .env("SLURM_CONF", &conf)
        .args([
            "run",
            "p.yaml",
            "--json",
            "--executor",
            "slurm",
            "--max-jobs",
            "1",
            "--cohort-local",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let store = dir.path().join(".radial");
    let deadline = Instant::now() + Duration::from_secs(60);
    let cancelled = loop {
        assert!(Instant::now() < deadline, "no pending element to cancel");
        let names = job_names(&store);
        let pending = names
            .iter()
            .flat_map(|n| queue(&conf, n))
            .find(|(id, state)| state == "PENDING" && id.ends_with("_3"));
        if let Some((id, _)) = pending {
            let st = Command::new("timeout")
                .args(["10", "scancel", &id])
                .env("SLURM_CONF", &conf)
                .status()
                .unwrap();
            assert!(st.success());
            break id;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "cancelled {cancelled}: {}", text(&o));
    assert!(
        text(&o).contains(&format!("job {cancelled} ended CANCELLED"))
            && text(&o).contains("resubmitting"),
        "{}",
        text(&o)
    );
    assert_eq!(
        summary(&o)["totals"],
        serde_json::json!({"run": 25, "cached": 0, "failed": 0}),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("slurm: 2 array(s)"), "{}", text(&o));
}

#[test]
fn a_driver_killed_mid_run_resumes_without_recomputing() {
    let Some(conf) = slurm_conf("a_driver_killed_mid_run_resumes_without_recomputing") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 6);
    let store = dir.path().join(".radial");
    let mut child = Command::new(common::radial_bin())
        .current_dir(dir.path())
        .env("SLURM_CONF", &conf)
        .args([
            "run",
            "p.yaml",
            "--json",
            "--executor",
            "slurm",
            "--max-jobs",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while worker_records(&store).len() < 10 {
        assert!(Instant::now() < deadline, "no job finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: the driver gets no chance to clean up.
    child.wait().unwrap();
    let finished_before = worker_records(&store)
        .iter()
        .filter(|r| r["status"] == "run")
        .count();
    assert!((10..37).contains(&finished_before), "{finished_before}");
    // The orphaned jobs may still run: they and the new run's jobs share
    // the store's task locks.
    let o = radial(
        dir.path(),
        &conf,
        &["run", "p.yaml", "--json", "--executor", "slurm"],
    );
    cancel_all(&conf, &store);
    assert!(o.status.success(), "{}", text(&o));
    let s = summary(&o);
    let totals = &s["totals"];
    assert_eq!(totals["failed"], 0);
    assert_eq!(
        totals["run"].as_u64().unwrap() + totals["cached"].as_u64().unwrap(),
        37
    );
    assert!(
        totals["cached"].as_u64().unwrap() >= finished_before as u64,
        "{}",
        text(&o)
    );
    // No task was computed twice, by either run's workers.
    let mut computed: HashMap<(String, String), usize> = HashMap::new();
    for r in worker_records(&store)
        .iter()
        .filter(|r| r["status"] == "run")
    {
        *computed
            .entry((r["stage"].to_string(), r["case"].to_string()))
            .or_default() += 1;
    }
    assert!(computed.values().all(|&n| n == 1), "{computed:?}");
    assert_eq!(computed.len(), 37);
}

#[test]
fn preflight_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 1);
    // No sbatch on the PATH (needs no cluster).
    let o = Command::new(common::radial_bin())
        .current_dir(dir.path())
        .env("PATH", dir.path())
        .args(["run", "p.yaml", "--executor", "slurm"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("no `sbatch` on the PATH"), "{}", text(&o));
    assert!(!dir.path().join("results").exists());
    let Some(conf) = slurm_conf("preflight_names_the_fix") else {
        return;
    };
    let o = radial(
        dir.path(),
        &conf,
        &[
            "run",
            "p.yaml",
            "--executor",
            "slurm",
            "--slurm-partition",
            "nowhere",
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("unknown partition `nowhere` (this cluster has: debug)"),
        "{}",
        text(&o)
    );
    // A store the jobs cannot write: the store check job runs as another
    // user (root may submit as anyone), who cannot enter the test's
    // private (0700) directory, as a node without the shared filesystem
    // could not.
    if is_root() {
        let o = radial(
            dir.path(),
            &conf,
            &[
                "run",
                "p.yaml",
                "--executor",
                "slurm",
                "--slurm-option=--uid=nobody",
            ],
        );
        assert!(!o.status.success());
        assert!(
            text(&o).contains("the store is not visible from the compute nodes")
                && text(&o).contains("could not write"),
            "{}",
            text(&o)
        );
        // Nothing was submitted beyond the check, nothing written.
        assert!(!dir.path().join("results").exists());
        let submitted: Vec<_> = walk(&dir.path().join(".radial/slurm"))
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("array-"))
            .collect();
        assert!(submitted.is_empty(), "{submitted:?}");
    } else {
        eprintln!(
            "\n*** preflight_names_the_fix: the unwritable-store check needs root (sbatch --uid); skipped ***\n"
        );
    }
    // A controller that does not answer: a configuration naming a port
    // nobody listens on.
    let dead = dir.path().join("dead.conf");
    let conf_text = std::fs::read_to_string(&conf).unwrap();
    let port = |l: &str| l.starts_with("SlurmctldPort=");
    let dead_text: String = conf_text
        .lines()
        .map(|l| {
            if port(l) {
                "SlurmctldPort=1".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&dead, dead_text).unwrap();
    let start = Instant::now();
    let o = Command::new(common::radial_bin())
        .current_dir(dir.path())
        .env("SLURM_CONF", &dead)
        .env("RADIAL_SLURM_CLIENT_TIMEOUT", "3")
        .args(["run", "p.yaml", "--executor", "slurm"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("the Slurm controller does not answer")
            && text(&o).contains("SLURM_CONF"),
        "{}",
        text(&o)
    );
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn ctrl_c_cancels_the_jobs_of_the_run() {
    let Some(conf) = slurm_conf("ctrl_c_cancels_the_jobs_of_the_run") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 6);
    let store = dir.path().join(".radial");
    let child = Command::new(common::radial_bin())
        .current_dir(dir.path())
        .env("SLURM_CONF", &conf)
        .args(["run", "p.yaml", "--executor", "slurm", "--max-jobs", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while worker_records(&store).is_empty() {
        assert!(Instant::now() < deadline, "no job finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    let names = job_names(&store);
    assert!(
        names.iter().any(|n| !queue(&conf, n).is_empty()),
        "jobs are queued"
    );
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("interrupted: the jobs of this run"),
        "{}",
        text(&o)
    );
    // A cancelled running job may show as COMPLETING for a moment.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left: Vec<_> = names.iter().flat_map(|n| queue(&conf, n)).collect();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still queued: {left:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
