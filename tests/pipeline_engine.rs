//! The engine's mechanics, in process, with the real `load` and `collect`
//! and test stage kinds injected through the registry.

mod pipeline_support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use pipeline_support::*;
use radial::pipeline::RunOptions;

fn setup(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), n);
    let p = write_file(dir.path(), "test.yaml", TEST_PIPELINE);
    (dir, p)
}

#[test]
fn second_run_is_fully_cached_and_reads_no_image() {
    let (dir, p) = setup(4);
    let c = Arc::new(Counters::default());
    let r = registry(&c, 0, None);
    let first = run(&p, &[], &r);
    assert_eq!(counts(&first, "load"), (4, 0, 0));
    assert_eq!(counts(&first, "tex"), (4, 0, 0));
    assert_eq!(counts(&first, "table"), (1, 0, 0));
    let csv = std::fs::read_to_string(dir.path().join("results/table.csv")).unwrap();
    assert!(
        csv.starts_with("case_id,t_mean,t_levels_weighted,phenotype\ncase000,"),
        "{csv}"
    );
    assert!(dir.path().join("results/table.parquet").is_file());
    assert!(dir.path().join("test.lock").is_file());
    // A cached run only stats the images. (A chmod would now count as a
    // change: it moves the inode change time, part of the stamp.)
    let before = c.runs.load(Ordering::SeqCst);
    let second = run(&p, &[], &r);
    assert!(
        second
            .tasks
            .iter()
            .all(|t| t.status == radial::pipeline::TaskStatus::Cached)
    );
    assert_eq!(c.runs.load(Ordering::SeqCst), before);
    // Every image was only stat()ed.
    assert_eq!(first.files_hashed, 8);
    assert_eq!(second.files_hashed, 0);
    let lock1 = std::fs::read_to_string(dir.path().join("test.lock")).unwrap();
    assert!(lock1.contains("\"disc\"") && !lock1.contains(&second.run_id));
}

#[test]
fn changing_the_bin_width_reruns_exactly_the_dependent_tasks() {
    let (_dir, p) = setup(5);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    run(&p, &[], &r);
    let o = run(&p, &["disc.width=0.5"], &r);
    assert_eq!(counts(&o, "load"), (0, 5, 0));
    assert_eq!(counts(&o, "stat"), (0, 5, 0));
    assert_eq!(counts(&o, "disc"), (5, 0, 0));
    assert_eq!(counts(&o, "tex"), (5, 0, 0));
    assert_eq!(counts(&o, "table"), (1, 0, 0));
    // Same canonical parameter (1 and 1.0): nothing reruns.
    let o = run(&p, &["disc.width=1.0"], &r);
    assert_eq!(
        o.tasks
            .iter()
            .filter(|t| t.status == radial::pipeline::TaskStatus::Run)
            .count(),
        0
    );
}

#[test]
fn identical_output_cuts_off_downstream_tasks() {
    let (_dir, p) = setup(3);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    run(&p, &[], &r);
    // Integer intensities below 5: widths 1 and 0.9 give the same levels.
    let o = run(&p, &["disc.width=0.9"], &r);
    assert_eq!(counts(&o, "disc"), (3, 0, 0));
    assert_eq!(counts(&o, "tex"), (0, 3, 0));
    assert_eq!(counts(&o, "table"), (0, 1, 0));
}

#[test]
fn adding_a_case_runs_only_its_tasks_and_the_cohort_task() {
    let (dir, p) = setup(3);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    run(&p, &[], &r);
    write_case(dir.path(), 3);
    let m = dir.path().join("manifest.csv");
    let mut text = std::fs::read_to_string(&m).unwrap();
    text.push_str("case003,images/case003.nii,images/case003_mask.nii,1,1\n");
    std::fs::write(&m, text).unwrap();
    let o = run(&p, &[], &r);
    for stage in ["load", "stat", "disc", "tex"] {
        assert_eq!(counts(&o, stage), (1, 3, 0), "{stage}");
    }
    assert_eq!(counts(&o, "table"), (1, 0, 0));
    let o = run(&p, &[], &r);
    assert_eq!(counts(&o, "table"), (0, 1, 0));
}

#[test]
fn concurrent_runs_on_one_store_compute_each_task_once() {
    let (dir, p) = setup(6);
    let c = Arc::new(Counters::default());
    let r = registry(&c, 30, None);
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2).map(|_| s.spawn(|| run(&p, &[], &r))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // 3 test stages × 6 cases computed once in total.
    assert_eq!(c.runs.load(Ordering::SeqCst), 18);
    let total_run: usize = outcomes
        .iter()
        .map(|o| {
            o.tasks
                .iter()
                .filter(|t| t.status == radial::pipeline::TaskStatus::Run)
                .count()
        })
        .sum();
    assert_eq!(total_run, 6 * 4 + 1);
    let a: Vec<_> = outcomes[0].tasks.iter().map(|t| t.output.clone()).collect();
    let b: Vec<_> = outcomes[1].tasks.iter().map(|t| t.output.clone()).collect();
    assert_eq!(a, b);
    let plan = plan(&p, &[], &r).unwrap();
    let report = radial::pipeline::audit::audit(&plan, &Default::default()).unwrap();
    assert!(report.ok(), "{}", report.text());
    drop(dir);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (dir, p) = setup(6);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    let mut locks = Vec::new();
    for (jobs, store) in [(1, "s1"), (2, "s2")] {
        let opts = radial::pipeline::PlanOptions {
            store: Some(dir.path().join(store)),
            out: Some(dir.path().join(format!("out-{store}"))),
            ..Default::default()
        };
        let plan = radial::pipeline::Plan::new(&p, &opts, &r).unwrap();
        let o = radial::pipeline::execute(
            &plan,
            &RunOptions {
                jobs: Some(jobs),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(counts(&o, "tex"), (6, 0, 0));
        locks.push(std::fs::read(dir.path().join("test.lock")).unwrap());
        locks.push(std::fs::read(dir.path().join(format!("out-{store}/table.csv"))).unwrap());
        locks.push(std::fs::read(dir.path().join(format!("out-{store}/table.parquet"))).unwrap());
    }
    assert_eq!(locks[0], locks[3]);
    assert_eq!(locks[1], locks[4]);
    assert_eq!(locks[2], locks[5]);
}

#[test]
fn keep_going_runs_the_other_cases_and_names_the_failure() {
    let (_dir, p) = setup(4);
    let r = registry(&Arc::new(Counters::default()), 0, Some("case002"));
    let plan = plan(&p, &[], &r).unwrap();
    let o = radial::pipeline::execute(
        &plan,
        &RunOptions {
            keep_going: true,
            jobs: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(counts(&o, "stat"), (3, 0, 1));
    assert_eq!(counts(&o, "table"), (1, 0, 0));
    let errors: Vec<_> = o.failed().iter().filter_map(|t| t.error.clone()).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("case `case002`, stage `stat`") && e.contains("deliberate")),
        "{errors:?}"
    );
    // Without --keep-going, the run stops: the cohort task does not run.
    let o = radial::pipeline::execute(
        &plan,
        &RunOptions {
            jobs: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(counts(&o, "table").0, 0);
    assert!(!o.failed().is_empty());
}

#[test]
fn status_names_the_changed_parameter_with_old_and_new_values() {
    let (_dir, p) = setup(2);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    run(&p, &[], &r);
    let plan = plan(&p, &["disc.width=2"], &r).unwrap();
    let states = radial::pipeline::inspect::status(&plan).unwrap();
    let disc: Vec<_> = states.iter().filter(|s| s.stage == "disc").collect();
    assert!(disc.iter().all(|s| s.would_run));
    assert!(
        disc[0]
            .reasons
            .iter()
            .any(|r| r == "parameter width: 1.0 → 2.0"),
        "{:?}",
        disc[0].reasons
    );
    let tex = states.iter().find(|s| s.stage == "tex").unwrap();
    assert!(
        tex.reasons
            .iter()
            .any(|r| r.contains("input stage `disc` would run")),
        "{:?}",
        tex.reasons
    );
    assert!(
        states
            .iter()
            .filter(|s| s.stage == "load" || s.stage == "stat")
            .all(|s| !s.would_run)
    );
    let text = radial::pipeline::inspect::status_text(&plan, &states);
    assert!(text.contains("disc: 2 to run, 0 cached"), "{text}");
}

#[test]
fn audit_detects_a_corrupted_object_and_gc_keeps_live_objects() {
    let (dir, p) = setup(2);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    run(&p, &[], &r);
    // An experiment: recorded, but the lock still describes the file.
    let experiment = run(&p, &["disc.width=0.5"], &r);
    let plan = plan(&p, &[], &r).unwrap();
    let ok = radial::pipeline::audit::audit(
        &plan,
        &radial::pipeline::audit::AuditOptions {
            sample: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(ok.ok(), "{}", ok.text());
    assert_eq!(ok.recomputed, 3);
    // gc with no recent runs keeps what the lock refers to and removes the
    // experiment's own outputs.
    let store = radial::pipeline::store::Store::open(&dir.path().join(".radial")).unwrap();
    let report = radial::pipeline::gc::gc(
        &store,
        &radial::pipeline::gc::GcOptions {
            keep_days: 0.0,
            dry_run: false,
        },
    )
    .unwrap();
    assert!(report.objects_removed > 0);
    let again = radial::pipeline::audit::audit(&plan, &Default::default()).unwrap();
    assert!(again.ok(), "{}", again.text());
    let old_tex = experiment
        .tasks
        .iter()
        .find(|t| t.stage == "tex")
        .unwrap()
        .output
        .clone()
        .unwrap();
    assert!(!store.has_object(&old_tex));
    // Corrupt one live object.
    let live = again.objects_checked;
    assert!(live > 0);
    let hash = store.object_hashes().unwrap()[0].clone();
    std::fs::write(store.object_path(&hash), b"tampered").unwrap();
    let bad = radial::pipeline::audit::audit(&plan, &Default::default()).unwrap();
    assert!(!bad.ok());
    assert!(bad.corrupt_objects[0].starts_with(&hash), "{}", bad.text());
}

#[test]
fn manifest_hash_mismatch_is_an_error_before_any_task() {
    let (dir, p) = setup(2);
    let c = Arc::new(Counters::default());
    let r = registry(&c, 0, None);
    let m = dir.path().join("manifest.csv");
    let text = std::fs::read_to_string(&m).unwrap().replace(
        "case_id,image,mask,label,phenotype",
        "case_id,image,mask,label,phenotype,image_sha256",
    );
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for l in lines.iter_mut().skip(1) {
        l.push_str(&format!(",{}", "0".repeat(64)));
    }
    std::fs::write(&m, lines.join("\n")).unwrap();
    let plan = plan(&p, &[], &r).unwrap();
    let e = radial::pipeline::execute(&plan, &RunOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("no longer matches") && e.contains("case00"),
        "{e}"
    );
    assert_eq!(c.runs.load(Ordering::SeqCst), 0);
}

#[test]
fn bad_pipelines_are_errors_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), 1);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    let check = |text: &str, overrides: &[&str], want: &[&str]| {
        let p = write_file(dir.path(), "bad.yaml", text);
        let e = match plan(&p, overrides, &r) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        };
        for w in want {
            assert!(e.contains(w), "`{w}` not in: {e}");
        }
    };
    let base = "name: t\nmanifest: manifest.csv\nstages:\n  - id: load\n    kind: load\n";
    check(
        &format!("{base}  - id: s\n    kind: t_stat\n    inputs: [lod]\n"),
        &[],
        &["bad.yaml:8:", "`lod`", "not a stage"],
    );
    check(
        &format!("{base}  - id: s\n    kind: t_sta\n    inputs: [load]\n"),
        &[],
        &["bad.yaml:7:", "unknown kind `t_sta`"],
    );
    check(
        &format!(
            "{base}  - id: d\n    kind: t_disc\n    inputs: [load]\n    params: {{width: wide}}\n"
        ),
        &[],
        &["bad.yaml:9:", "parameter `width`", "invalid type"],
    );
    check(
        &format!(
            "{base}  - id: d\n    kind: t_disc\n    inputs: [load]\n    params:\n      width: 2\n      colour: red\n"
        ),
        &[],
        &["bad.yaml:11:", "unknown field `colour`"],
    );
    check(
        &format!(
            "{base}  - id: d\n    kind: t_disc\n    inputs: [load]\n    params: {{width: 2}}\n"
        ),
        &["d.widht=3"],
        &["--set d.widht=3", "has no parameter `widht`"],
    );
    check(base, &["nope.width=3"], &["no stage `nope`"]);
    check(
        "name: t\nmanifest: manifest.csv\nstages:\n  - id: a\n    kind: t_stat\n    inputs: [b]\n  - id: b\n    kind: t_stat\n    inputs: [a]\n",
        &[],
        &["bad.yaml:", "cycle", "a, b"],
    );
    check(
        &format!("{base}  - id: s\n    kind: t_stat\n"),
        &[],
        &["bad.yaml:6:", "expects one input"],
    );
    // Missing image and empty path: before any task.
    let p = write_file(dir.path(), "ok.yaml", base);
    write_file(
        dir.path(),
        "manifest.csv",
        "case_id,image,mask\nA,missing.nii,images/case000_mask.nii\n",
    );
    let e = plan(&p, &[], &r).err().unwrap().to_string();
    assert!(
        e.contains("case `A`: image file")
            && e.contains("missing.nii")
            && e.contains("does not exist"),
        "{e}"
    );
    write_file(
        dir.path(),
        "manifest.csv",
        "case_id,image,mask\nA,,images/case000_mask.nii\n",
    );
    let e = plan(&p, &[], &r).err().unwrap().to_string();
    assert!(
        e.contains("line 2") && e.contains("empty image path"),
        "{e}"
    );
}

#[test]
fn cached_runs_of_500_cases_and_8_stages_take_well_under_a_second() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), 500);
    let mut text = String::from(TEST_PIPELINE);
    text.push_str("  - id: stat2\n    kind: t_stat\n    inputs: [load]\n  - id: tex2\n    kind: t_tex\n    inputs: [disc]\n  - id: stat3\n    kind: t_stat\n    inputs: [load]\n");
    let p = write_file(dir.path(), "big.yaml", &text);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    let first = run(&p, &[], &r);
    assert_eq!(first.tasks.len(), 500 * 7 + 1);
    let start = std::time::Instant::now();
    let plan = plan(&p, &[], &r).unwrap();
    let o = radial::pipeline::execute(&plan, &RunOptions::default()).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(
        o.tasks
            .iter()
            .all(|t| t.status == radial::pipeline::TaskStatus::Cached)
    );
    let per_task_ms =
        o.tasks.iter().map(|t| t.seconds).sum::<f64>() * 1000.0 / o.tasks.len() as f64;
    eprintln!(
        "cached run: 3501 tasks (8 stages, 500 cases) in {secs:.3} s (plan + execute + records); {per_task_ms:.4} ms per task lookup"
    );
    assert!(per_task_ms < 1.0, "{per_task_ms} ms per cached task");
    assert!(secs < 3.0, "{secs} s");
}

#[test]
fn diff_reports_changed_parameters_and_outputs_between_runs() {
    let (dir, p) = setup(3);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    let a = run(&p, &[], &r);
    let b = run(&p, &["disc.width=0.5"], &r);
    let store = dir.path().join(".radial");
    let ra = radial::pipeline::runs::read_run_record(&a.run_id, &store).unwrap();
    let rb =
        radial::pipeline::runs::read_run_record(&b.record_path.to_string_lossy(), &store).unwrap();
    assert_eq!(
        ra.stages.iter().find(|s| s.id == "disc").unwrap().params["width"],
        1.0
    );
    assert_eq!(ra.tasks.len(), 3 * 4 + 1);
    assert!(!ra.host.is_empty() && ra.radial_version == radial::VERSION);
    let (text, differs) = radial::pipeline::inspect::diff_runs(&ra, &rb);
    assert!(differs);
    assert!(
        text.contains("stage disc:\n  parameter width: 1.0 → 0.5\n  3 output(s) differ"),
        "{text}"
    );
    assert!(
        text.contains("stage table:\n  1 output(s) differ"),
        "{text}"
    );
    assert!(!text.contains("stage load"), "{text}");
}

#[test]
fn a_new_kind_version_reruns_its_tasks_and_status_says_so() {
    let (_dir, p) = setup(2);
    let c = Arc::new(Counters::default());
    let r = registry(&c, 0, None);
    run(&p, &[], &r);
    let r2 = r.clone().with_kind(Arc::new(TestKind {
        name: "t_stat",
        version: 2,
        counters: c.clone(),
        delay_ms: 0,
        fail_case: None,
        body: |bytes, _| Ok(vec![("t_mean".into(), bytes.len() as f64)]),
    }));
    let plan = plan(&p, &[], &r2).unwrap();
    let states = radial::pipeline::inspect::status(&plan).unwrap();
    let stat = states.iter().find(|s| s.stage == "stat").unwrap();
    assert_eq!(
        stat.reasons,
        vec!["code version of `t_stat` changed: 1 → 2".to_string()]
    );
    let o = run(&p, &[], &r2);
    assert_eq!(counts(&o, "stat"), (2, 0, 0));
    assert_eq!(counts(&o, "tex"), (0, 2, 0));
    assert_eq!(counts(&o, "table"), (1, 0, 0));
}

#[test]
fn cosmetic_edits_rerun_nothing_and_a_rename_reruns_only_direct_readers() {
    let (dir, p) = setup(3);
    let r = registry(&Arc::new(Counters::default()), 0, None);
    run(&p, &[], &r);
    // Comments, flow style, reordered keys, an explicit default: all cosmetic.
    let cosmetic = TEST_PIPELINE
        .replace("name: test\n", "# a comment\nname: test\n")
        .replace(
            "    kind: t_disc\n    inputs: [load]\n    params: {width: 1}",
            "    params:\n      width: 1.0  # same value\n    inputs: [load]\n    kind: t_disc",
        );
    assert_ne!(cosmetic, TEST_PIPELINE);
    std::fs::write(&p, &cosmetic).unwrap();
    let o = run(&p, &[], &r);
    assert_eq!(
        o.tasks
            .iter()
            .filter(|t| t.status == radial::pipeline::TaskStatus::Run)
            .count(),
        0
    );
    // Renaming `disc`: its tasks stay cached, its reader `tex` reruns with
    // identical output, so the table stays cached.
    std::fs::write(
        &p,
        cosmetic
            .replace("id: disc", "id: levels")
            .replace("inputs: [disc]", "inputs: [levels]"),
    )
    .unwrap();
    let o = run(&p, &[], &r);
    assert_eq!(counts(&o, "levels"), (0, 3, 0));
    assert_eq!(counts(&o, "tex"), (3, 0, 0));
    assert_eq!(counts(&o, "table"), (0, 1, 0));
    drop(dir);
}
