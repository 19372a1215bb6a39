//! Robustness by perturbation (issue 16, item 3): the `perturb` stage fans
//! each case out into variants, the stages downstream run once per (case,
//! variant), cached like any task, and `collect` writes one row per (case,
//! variant) with a `variant` column. The perturbations themselves are unit
//! tested in src/processing/perturb/.

mod common;
mod pipeline_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::Array3;
use pipeline_support::{counts, plan, write_file};
use radial::image::{Geometry, Volume};
use radial::pipeline::{Registry, RunOptions, RunOutcome};

const DIMS: (usize, usize, usize) = (6, 14, 14);

/// Three cases: a tilted ramp with a deterministic texture, and a ball-like
/// ROI a little larger in each case.
fn write_cohort(dir: &Path) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let g = Geometry::new([1.0, 1.0, 2.0], [0.0; 3]);
    let mut manifest = String::from("case_id,image,mask,phenotype\n");
    for c in 0..3 {
        let image = Array3::from_shape_fn(DIMS, |(k, j, i)| {
            let texture = ((i * 7 + j * 13 + k * 29 + c * 3) % 9) as f32 - 4.0;
            100.0 + 5.0 * i as f32 + 3.0 * j as f32 + 2.0 * k as f32 + 4.0 * texture
        });
        let mask = Array3::from_shape_fn(DIMS, |(k, j, i)| {
            let d2 = (i as f64 - 6.5).powi(2)
                + (j as f64 - 6.5).powi(2)
                + (2.0 * (k as f64 - 2.5)).powi(2);
            if d2 <= 16.0 + 2.0 * c as f64 {
                1.0f32
            } else {
                0.0
            }
        });
        radial::io::nifti::write(
            &dir.join(format!("images/c{c}.nii")),
            &Volume::new(image, g),
        )
        .unwrap();
        radial::io::nifti::write(&dir.join(format!("images/m{c}.nii")), &Volume::new(mask, g))
            .unwrap();
        manifest.push_str(&format!("c{c},images/c{c}.nii,images/m{c}.nii,{}\n", c % 2));
    }
    std::fs::write(dir.join("manifest.csv"), manifest).unwrap();
}

const PIPELINE: &str = "\
name: pt
manifest: manifest.csv
stages:
  - {id: load, kind: load}
  - id: perturb
    kind: perturb
    inputs: [load]
    params:
      variants: 4
      rotation: {angles: [-10, 0, 10]}
      translation: {fractions: [0.0, 0.5]}
      noise: {repeats: 1}
      volume: {fractions: [-0.1, 0.1]}
      contour: {repeats: 1}
  - {id: reseg, kind: resegment, inputs: [perturb]}
  - {id: stats, kind: statistics, inputs: [reseg]}
  - {id: disc, kind: discretise, inputs: [reseg], params: {method: fixed_bin_number, bins: 8}}
  - {id: glcm, kind: glcm, inputs: [disc]}
  - {id: plain, kind: resegment, inputs: [load]}
  - {id: morph, kind: morphology, inputs: [plain]}
  - {id: collect, kind: collect, inputs: [stats, glcm, morph], params: {outcomes: [phenotype]}}
";

fn setup(pipeline: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path());
    let p = write_file(dir.path(), "pt.yaml", pipeline);
    (dir, p)
}

fn execute(pipeline: &Path, overrides: &[&str], jobs: usize) -> RunOutcome {
    let p = plan(pipeline, overrides, &Registry::standard()).unwrap();
    radial::pipeline::execute(
        &p,
        &RunOptions {
            jobs: Some(jobs),
            ..Default::default()
        },
    )
    .unwrap()
}

fn collect_csv(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("results/collect.csv")).unwrap()
}

#[test]
fn downstream_stages_run_per_variant_and_collect_writes_a_row_per_case_and_variant() {
    let (dir, p) = setup(PIPELINE);
    let out = execute(&p, &[], 2);
    assert!(out.failed().is_empty(), "{:?}", out.failed());
    assert_eq!(counts(&out, "load"), (3, 0, 0));
    for stage in ["perturb", "reseg", "stats", "disc", "glcm"] {
        assert_eq!(counts(&out, stage), (12, 0, 0), "{stage}");
    }
    assert_eq!(counts(&out, "morph"), (3, 0, 0));
    let csv = collect_csv(dir.path());
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("case_id,variant,"), "{}", lines[0]);
    assert!(lines[0].ends_with(",phenotype"));
    let keys: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
        .collect();
    let want: Vec<String> = (0..3)
        .flat_map(|c| (0..4).map(move |v| format!("c{c},{v}")))
        .collect();
    assert_eq!(keys, want);
    // Variants differ (the perturbations did something), and the
    // morphology of the unperturbed ROI is the same in every variant row
    // of a case.
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let cell = |row: usize, name: &str| lines[1 + row].split(',').nth(col(name)).unwrap();
    let means: Vec<&str> = (0..4).map(|v| cell(v, "stat_mean")).collect();
    assert!(means.iter().any(|m| *m != means[0]), "{means:?}");
    let volume = "morph_volume";
    assert!((0..4).all(|v| cell(v, volume) == cell(0, volume)));
    assert_ne!(cell(0, volume), cell(4, volume));
    // Task names carry the variant in the lock; the plain chain's do not.
    let lock = std::fs::read_to_string(dir.path().join("pt.lock")).unwrap();
    assert!(lock.contains("\"c2~v03\""), "{lock}");
    assert!(!lock.contains("\"c2~v04\""));
    let lock: serde_json::Value = serde_json::from_str(&lock).unwrap();
    let morph_tasks = lock["stages"]["morph"]["tasks"].as_object().unwrap();
    assert_eq!(morph_tasks.keys().collect::<Vec<_>>(), ["c0", "c1", "c2"]);
    // Rerunning unchanged computes nothing.
    let again = execute(&p, &[], 2);
    assert!(
        again
            .tasks
            .iter()
            .all(|t| t.status == radial::pipeline::TaskStatus::Cached)
    );
    assert_eq!(collect_csv(dir.path()), csv);
    // `radial status` and `radial dag` see the variant tasks.
    let radial = |args: &[&str]| {
        let out = Command::new(common::radial_bin())
            .args(args)
            .arg(&p)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let status = radial(&["status"]);
    assert!(status.contains("glcm: 0 to run, 12 cached"), "{status}");
    let dag = radial(&["dag"]);
    assert!(
        dag.contains("per case ×3 × 4 variants of `perturb`"),
        "{dag}"
    );
    assert!(dag.contains("morph [morphology v1, per case ×3]"), "{dag}");
}

#[test]
fn variants_are_the_same_bytes_whatever_the_thread_count() {
    let (one, p1) = setup(PIPELINE);
    let (two, p2) = setup(PIPELINE);
    for (p, jobs) in [(&p1, "1"), (&p2, "2")] {
        let out = Command::new(common::radial_bin())
            .args(["run", p.to_str().unwrap(), "--jobs", jobs])
            .current_dir(p.parent().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let a = std::fs::read(one.path().join("results/pt/collect.csv")).unwrap();
    let b = std::fs::read(two.path().join("results/pt/collect.csv")).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        std::fs::read_to_string(p1.with_extension("lock")).unwrap(),
        std::fs::read_to_string(p2.with_extension("lock")).unwrap()
    );
}

#[test]
fn a_family_change_reruns_its_variant_tasks_and_a_perturb_change_reruns_everything_below_it() {
    let (_dir, p) = setup(PIPELINE);
    execute(&p, &[], 2);
    let family = execute(&p, &["disc.bins=6"], 2);
    assert_eq!(counts(&family, "perturb"), (0, 12, 0));
    assert_eq!(counts(&family, "stats"), (0, 12, 0));
    assert_eq!(counts(&family, "disc"), (12, 0, 0));
    assert_eq!(counts(&family, "glcm"), (12, 0, 0));
    assert_eq!(counts(&family, "morph"), (0, 3, 0));
    assert_eq!(counts(&family, "collect"), (1, 0, 0));
    let seed = execute(&p, &["perturb.seed=7"], 2);
    assert_eq!(counts(&seed, "load"), (0, 3, 0));
    for stage in ["perturb", "reseg", "stats", "disc", "glcm"] {
        assert_eq!(counts(&seed, stage), (12, 0, 0), "{stage}");
    }
    assert_eq!(counts(&seed, "morph"), (0, 3, 0));
}

#[test]
fn a_grid_without_variants_enumerates_the_lists() {
    let pipeline = PIPELINE.replace("      variants: 4\n", "").replace(
        "      noise: {repeats: 1}\n      volume: {fractions: [-0.1, 0.1]}\n      contour: {repeats: 1}\n",
        "",
    );
    let (dir, p) = setup(&pipeline);
    let out = execute(&p, &[], 2);
    assert_eq!(counts(&out, "perturb"), (18, 0, 0));
    let csv = collect_csv(dir.path());
    assert_eq!(csv.lines().count(), 1 + 3 * 6);
    // The grid is angle (slowest) × shift: variant 2 (angle 0, no shift)
    // is the case itself.
    let rows: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = rows[0].split(',').collect();
    let m = header.iter().position(|h| *h == "stat_mean").unwrap();
    let plain = execute(
        &write_file(
            dir.path(),
            "plain.yaml",
            "name: plain\nmanifest: manifest.csv\nstages:\n  - {id: load, kind: load}\n  - {id: reseg, kind: resegment, inputs: [load]}\n  - {id: stats, kind: statistics, inputs: [reseg]}\n  - {id: collect, kind: collect, inputs: [stats]}\n",
        ),
        &[],
        1,
    );
    assert!(plain.failed().is_empty());
    let plain_csv = std::fs::read_to_string(dir.path().join("results/collect.csv")).unwrap();
    let plain_mean = plain_csv.lines().nth(1).unwrap().split(',').nth(
        plain_csv
            .lines()
            .next()
            .unwrap()
            .split(',')
            .position(|h| h == "stat_mean")
            .unwrap(),
    );
    assert_eq!(
        rows[1 + 2].split(',').nth(m),
        plain_mean,
        "identity variant"
    );
}

fn run_err(pipeline: &str, extra: &[&str]) -> String {
    let (_dir, p) = setup(pipeline);
    let out = Command::new(common::radial_bin())
        .args(["run", p.to_str().unwrap()])
        .args(extra)
        .current_dir(p.parent().unwrap())
        .output()
        .unwrap();
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_perturbations_are_refused_at_planning_naming_the_stage_and_setting() {
    let e = run_err(
        &PIPELINE.replace("noise: {repeats: 1}", "blur: {sigma: 1}"),
        &[],
    );
    assert!(e.contains("perturb") && e.contains("blur"), "{e}");
    let e = run_err(&PIPELINE.replace("[-0.1, 0.1]", "[-1.5, 0.1]"), &[]);
    assert!(e.contains("volume.fractions") && e.contains("-1.5"), "{e}");
    let e = run_err(&PIPELINE.replace("variants: 4", "variants: 0"), &[]);
    assert!(e.contains("variants") && e.contains("at least 1"), "{e}");
    let e = run_err(
        &PIPELINE.replace(
            "contour: {repeats: 1}",
            "contour: {method: block, supervoxel_mm3: 500}",
        ),
        &[],
    );
    assert!(
        e.contains("contour.supervoxel_mm3") && e.contains("method: block"),
        "{e}"
    );
    let e = run_err(
        &PIPELINE.replace("contour: {repeats: 1}", "contour: {supervoxel_mm3: -5}"),
        &[],
    );
    assert!(
        e.contains("contour.supervoxel_mm3") && e.contains("-5"),
        "{e}"
    );
    let e = run_err(
        &PIPELINE.replace("contour: {repeats: 1}", "contour: {method: slic}"),
        &[],
    );
    assert!(e.contains("slic") && e.contains("supervoxel"), "{e}");
    let nested = PIPELINE.replace(
        "  - {id: reseg, kind: resegment, inputs: [perturb]}",
        "  - {id: again, kind: perturb, inputs: [perturb], params: {noise: {}}}\n  - {id: reseg, kind: resegment, inputs: [again]}",
    );
    let e = run_err(&nested, &[]);
    assert!(e.contains("`again`") && e.contains("do not nest"), "{e}");
    let e = run_err(PIPELINE, &["--executor", "slurm", "--plan-only"]);
    assert!(
        e.contains("`perturb`") && e.contains("local executor"),
        "{e}"
    );
}

/// The whole item end to end: perturb -> families per variant -> collect ->
/// stability -> a `stable` step. The ICC of a feature from the chain that
/// is not under the perturb (morphology of the unperturbed ROI, the same in
/// every variant row of a case) is exactly 1; perturbed statistics vary
/// within cases, so their ICC is below 1; and the `select` stage's stable
/// list is exactly the features at or above `min_icc`.
#[test]
fn collected_variants_feed_a_stability_stage_and_a_stable_step() {
    let pipeline = format!(
        "{PIPELINE}  - {{id: icc, kind: stability, inputs: [collect]}}
  - {{id: plain_stats, kind: statistics, inputs: [plain]}}
  - {{id: table, kind: collect, inputs: [plain_stats, morph], params: {{outcomes: [phenotype]}}}}
  - id: sel
    kind: select
    inputs: [table, icc]
    params:
      label_column: phenotype
      positive: '1'
      selection: [{{stable: {{min_icc: 0.9, from: icc}}}}]
"
    );
    let (dir, p) = setup(&pipeline);
    let out = execute(&p, &[], 2);
    assert!(out.failed().is_empty(), "{:?}", out.failed());
    let icc = std::fs::read_to_string(dir.path().join("results/icc.csv")).unwrap();
    let mut lines = icc.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let value = |feature: &str, column: &str| -> String {
        rows.iter()
            .find(|r| r[col("feature")] == feature)
            .unwrap_or_else(|| panic!("no ICC row for {feature}"))[col(column)]
        .to_string()
    };
    assert_eq!(value("morph_volume", "icc"), "1");
    assert_eq!(value("morph_volume", "n_variants"), "4");
    assert_eq!(value("morph_volume", "n_cases"), "3");
    assert!(icc.contains(",\"ICC(1,1)\","), "{icc}");
    let mean: f64 = value("stat_mean", "icc").parse().unwrap();
    assert!(mean < 1.0, "stat_mean ICC {mean}");

    // The stable list: the table's features whose ICC is at least 0.9.
    let stable: Vec<String> = rows
        .iter()
        .filter(|r| r[col("icc")].parse::<f64>().is_ok_and(|v| v >= 0.9))
        .map(|r| r[col("feature")].to_string())
        .collect();
    let table = std::fs::read_to_string(dir.path().join("results/table.csv")).unwrap();
    let expected: Vec<&str> = table
        .lines()
        .next()
        .unwrap()
        .split(',')
        .filter(|f| stable.iter().any(|s| s == f))
        .collect();
    assert!(!expected.is_empty() && expected.iter().any(|f| f.starts_with("morph_")));
    let selected = std::fs::read_to_string(dir.path().join("results/sel.csv")).unwrap();
    assert_eq!(selected, format!("feature\n{}\n", expected.join("\n")));
}

/// `radial audit` recomputes every per-variant task in a scratch store
/// (the perturbation included: its random draws are a function of the
/// seed, the case and the variant) and finds the same bytes.
#[test]
fn an_audit_recomputes_the_variant_tasks_bit_for_bit() {
    let (dir, p) = setup(PIPELINE);
    let radial = |args: &[&str]| {
        Command::new(common::radial_bin())
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let run = radial(&["run", p.to_str().unwrap(), "--jobs", "2"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let audit = radial(&["audit", "pt.yaml"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&audit.stdout),
        String::from_utf8_lossy(&audit.stderr)
    );
    // 3 loads, 12 tasks (3 cases x 4 variants) in each of the 5 stages under
    // the perturb, 3 + 3 for the unperturbed chain and 1 collect.
    assert!(
        audit.status.success() && text.contains("recomputed: 70 task(s), 0 differ"),
        "{text}"
    );
}
