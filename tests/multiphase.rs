//! Multi-phase cases (issue 16, item 1): manifest phase columns, `load` by
//! phase, phase-prefixed `collect` columns, the `derive` stage, what reruns
//! when one phase's image changes, and `radial synth --phases`.

mod pipeline_support;

use std::path::{Path, PathBuf};

use ndarray::Array3;
use pipeline_support::{counts, plan, write_file};
use radial::image::{Geometry, Volume};
use radial::pipeline::manifest::Manifest;
use radial::pipeline::{Registry, RunOptions, RunOutcome, TaskStatus};

/// Case `i`'s image in a phase: dyadic values, so that means are exact.
/// `level` shifts the phase; `None` gives an all-zero image.
fn phase_image(i: usize, level: Option<f32>, dims: (usize, usize, usize)) -> Volume<f32> {
    let data = Array3::from_shape_fn(dims, |(k, j, x)| match level {
        Some(l) => l + i as f32 + 0.25 * ((k + 2 * j + 3 * x) % 4) as f32 + 0.125,
        None => 0.0,
    });
    Volume::new(data, Geometry::new([1.0, 1.0, 2.0], [0.0; 3]))
}

const DIMS: (usize, usize, usize) = (3, 4, 4);

/// Three cases, phases `arterial` and `portal` sharing one mask (every
/// voxel of the grid); case 2's portal image is all zero.
fn write_cohort(dir: &Path) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let mut manifest = String::from("case_id,image.arterial,image.portal,mask,phenotype\n");
    for i in 0..3 {
        let mask = Volume::new(
            Array3::from_elem(DIMS, 1.0f32),
            Geometry::new([1.0, 1.0, 2.0], [0.0; 3]),
        );
        radial::io::nifti::write(&dir.join(format!("images/m{i}.nii")), &mask).unwrap();
        let portal = if i == 2 { None } else { Some(60.0) };
        for (phase, level) in [("arterial", Some(100.0)), ("portal", portal)] {
            let path = dir.join(format!("images/{phase}{i}.nii"));
            radial::io::nifti::write(&path, &phase_image(i, level, DIMS)).unwrap();
        }
        manifest.push_str(&format!(
            "c{i},images/arterial{i}.nii,images/portal{i}.nii,images/m{i}.nii,{}\n",
            i % 2
        ));
    }
    std::fs::write(dir.join("manifest.csv"), manifest).unwrap();
}

const PIPELINE: &str = "\
name: mp
manifest: manifest.csv
stages:
  - {id: load_a, kind: load, params: {phase: arterial}}
  - {id: load_p, kind: load, params: {phase: portal}}
  - {id: reseg_a, kind: resegment, inputs: [load_a]}
  - {id: reseg_p, kind: resegment, inputs: [load_p]}
  - {id: stats_a, kind: statistics, inputs: [reseg_a]}
  - {id: stats_p, kind: statistics, inputs: [reseg_p]}
  - id: derive
    kind: derive
    inputs: [stats_a, stats_p]
    params: {pairs: [[arterial, portal]], ops: [delta, relative, ratio], features: [stat_mean]}
  - {id: collect, kind: collect, inputs: [stats_a, stats_p, derive], params: {outcomes: [phenotype]}}
";

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path());
    let p = write_file(dir.path(), "mp.yaml", PIPELINE);
    (dir, p)
}

fn execute(pipeline: &Path) -> radial::Result<RunOutcome> {
    let p = plan(pipeline, &[], &Registry::standard())?;
    radial::pipeline::execute(&p, &RunOptions::default())
}

fn mean(v: &Volume<f32>) -> f64 {
    v.data.iter().map(|&x| x as f64).sum::<f64>() / v.data.len() as f64
}

/// The collected table: header and rows.
fn table(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(dir.join("results/collect.csv")).unwrap();
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect());
    (lines.next().unwrap(), lines.collect())
}

fn cell(header: &[String], row: &[String], column: &str) -> String {
    let i = header
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column} in {header:?}"));
    row[i].clone()
}

#[test]
fn manifest_phase_columns_and_their_errors() {
    let p = Path::new("/d/m.csv");
    let m = Manifest::parse(
        p,
        "case_id,image,image.arterial,mask,mask.arterial,image_sha256.arterial,phenotype\n\
         a,a.nii,a_art.nii,a_m.nii,,,1\n\
         b,b.nii,b_art.nii,b_m.nii,b_art_m.nii,,0\n",
    )
    .unwrap();
    assert_eq!(m.phases, vec!["arterial"]);
    assert_eq!(
        m.outcome_columns,
        vec!["phenotype"],
        "suffixed columns are not outcomes"
    );
    assert!(m.has_default_image);
    let a = m.phase_files_of(0, "arterial").unwrap();
    assert_eq!(a.image, Path::new("/d/a_art.nii"));
    // An empty phase mask cell: the case's mask.
    assert_eq!(a.mask_of(&m.cases[0]), Path::new("/d/a_m.nii"));
    let b = m.phase_files_of(1, "arterial").unwrap();
    assert_eq!(b.mask_of(&m.cases[1]), Path::new("/d/b_art_m.nii"));

    // Without `image`: phases only; the default is absent.
    let m = Manifest::parse(
        p,
        "case_id,image.portal,image.arterial,mask\na,p.nii,x.nii,m.nii\n",
    )
    .unwrap();
    assert_eq!(m.phases, vec!["portal", "arterial"]);
    assert!(!m.has_default_image);

    let err = |text: &str| Manifest::parse(p, text).unwrap_err().to_string();
    let e = err("case_id,image,mask,mask.venous\na,a.nii,m.nii,v.nii\n");
    assert!(
        e.contains("line 1") && e.contains("`mask.venous`") && e.contains("image.venous"),
        "{e}"
    );
    let e = err("case_id,image,mask,image.arterial,mask_sha256.arterial\na,a,m,x,\n");
    assert!(
        e.contains("`mask_sha256.arterial`") && e.contains("mask.arterial"),
        "{e}"
    );
    let e = err("case_id,image,mask,image.arterial\na,a.nii,m.nii,\n");
    assert!(
        e.contains("line 2") && e.contains("`a`") && e.contains("empty image.arterial path"),
        "{e}"
    );
    let e = err("case_id,image,mask,image.art-1\na,a.nii,m.nii,x\n");
    assert!(
        e.contains("`image.art-1`") && e.contains("phase name"),
        "{e}"
    );
    // A single-image manifest has no phases.
    let m = Manifest::parse(p, "case_id,image,mask\na,a.nii,m.nii\n").unwrap();
    assert!(m.phases.is_empty() && m.has_default_image);
}

#[test]
fn loads_by_phase_prefixes_collect_columns_and_derives_exact_values() {
    let (dir, pipeline) = setup();
    let o = execute(&pipeline).unwrap();
    assert_eq!(counts(&o, "load_a"), (3, 0, 0));
    assert_eq!(counts(&o, "collect"), (1, 0, 0));
    let (header, rows) = table(dir.path());
    assert!(
        header.contains(&"arterial_stat_mean".to_string()),
        "{header:?}"
    );
    assert!(
        header.contains(&"portal_stat_mean".to_string()),
        "{header:?}"
    );
    assert!(!header.contains(&"stat_mean".to_string()), "{header:?}");
    // Derived names say what they are, in the order ops, then features.
    let derived: Vec<&String> = header.iter().filter(|h| h.contains("_arterial_")).collect();
    assert_eq!(
        derived,
        [
            "delta_arterial_minus_portal_stat_mean",
            "relative_arterial_vs_portal_stat_mean",
            "ratio_arterial_over_portal_stat_mean"
        ]
    );
    for (i, row) in rows.iter().enumerate() {
        let a = mean(&phase_image(i, Some(100.0), DIMS));
        let b = mean(&phase_image(i, (i != 2).then_some(60.0), DIMS));
        let got = |c: &str| cell(&header, row, c);
        assert_eq!(got("arterial_stat_mean").parse::<f64>().unwrap(), a);
        assert_eq!(got("portal_stat_mean").parse::<f64>().unwrap(), b);
        assert_eq!(
            got("delta_arterial_minus_portal_stat_mean")
                .parse::<f64>()
                .unwrap(),
            a - b
        );
        if i == 2 {
            // b = 0: not a number, never an infinity.
            assert_eq!(got("relative_arterial_vs_portal_stat_mean"), "NaN");
            assert_eq!(got("ratio_arterial_over_portal_stat_mean"), "NaN");
        } else {
            assert_eq!(
                got("relative_arterial_vs_portal_stat_mean")
                    .parse::<f64>()
                    .unwrap(),
                (a - b) / b.abs()
            );
            assert_eq!(
                got("ratio_arterial_over_portal_stat_mean")
                    .parse::<f64>()
                    .unwrap(),
                a / b
            );
        }
        assert_eq!(got("phenotype"), (i % 2).to_string());
    }
}

#[test]
fn changing_one_phase_image_reruns_only_that_phase_chain() {
    let (dir, pipeline) = setup();
    execute(&pipeline).unwrap();
    // Case 1's arterial image changes; its portal image does not.
    let path = dir.path().join("images/arterial1.nii");
    radial::io::nifti::write(&path, &phase_image(7, Some(100.0), DIMS)).unwrap();
    let o = execute(&pipeline).unwrap();
    for stage in ["load_a", "reseg_a", "stats_a", "derive"] {
        assert_eq!(counts(&o, stage), (1, 2, 0), "{stage}");
    }
    for stage in ["load_p", "reseg_p", "stats_p"] {
        assert_eq!(counts(&o, stage), (0, 3, 0), "{stage}");
    }
    assert_eq!(counts(&o, "collect"), (1, 0, 0));
    let o = execute(&pipeline).unwrap();
    assert!(o.tasks.iter().all(|t| t.status == TaskStatus::Cached));
}

#[test]
fn a_phase_on_another_grid_without_its_own_mask_names_case_and_phase() {
    let (dir, pipeline) = setup();
    let path = dir.path().join("images/portal1.nii");
    radial::io::nifti::write(&path, &phase_image(1, Some(60.0), (3, 4, 5))).unwrap();
    let message = match execute(&pipeline) {
        Err(e) => e.to_string(),
        Ok(o) => o
            .tasks
            .iter()
            .filter_map(|t| t.error.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    };
    assert!(
        message.contains("case `c1`")
            && message.contains("phase `portal`")
            && message.contains("portal1.nii")
            && message.contains("m1.nii")
            && message.contains("mask.portal"),
        "{message}"
    );
}

fn plan_error(pipeline: &Path, overrides: &[&str], reg: &Registry) -> String {
    match plan(pipeline, overrides, reg) {
        Ok(_) => panic!("{overrides:?} planned"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_phases_and_derive_settings_fail_at_planning() {
    let (dir, pipeline) = setup();
    let reg = Registry::standard();
    let err = |overrides: &[&str]| plan_error(&pipeline, overrides, &reg);
    let e = err(&["load_p.phase=venous"]);
    assert!(
        e.contains("`load_p`") && e.contains("`venous`") && e.contains("arterial, portal"),
        "{e}"
    );
    let e = err(&["derive.pairs=[[arterial, delayed]]"]);
    assert!(
        e.contains("`derive`") && e.contains("`pairs`") && e.contains("`delayed`"),
        "{e}"
    );
    let e = err(&["derive.ops=[delta, sum]"]);
    assert!(e.contains("`derive`") && e.contains("`sum`"), "{e}");
    let e = err(&["derive.features=[]"]);
    assert!(e.contains("`features` is empty"), "{e}");
    // A chain reading two phases.
    let mixed = PIPELINE.replace(
        "{id: stats_p, kind: statistics, inputs: [reseg_p]}",
        "{id: stats_p, kind: statistics, inputs: [reseg_p]}\n  - {id: f, kind: filter, inputs: [load_a, reseg_p], params: {kind: mean, support: 3}}",
    );
    let p = write_file(dir.path(), "mixed.yaml", &mixed);
    let e = plan_error(&p, &[], &reg);
    assert!(
        e.contains("`f`") && e.contains("phase `arterial`") && e.contains("phase `portal`"),
        "{e}"
    );
    // A load without a phase on a manifest without `image`.
    let p = write_file(
        dir.path(),
        "plain.yaml",
        "name: plain\nmanifest: manifest.csv\nstages:\n  - {id: load, kind: load}\n",
    );
    let e = plan_error(&p, &[], &reg);
    assert!(
        e.contains("`load`") && e.contains("no `image` column"),
        "{e}"
    );
}

#[test]
fn same_columns_from_two_chains_is_an_error_naming_both_stages() {
    let (dir, _) = setup();
    // Two unphased statistics stages of the same phase.
    let twice = PIPELINE.replace(
        "inputs: [stats_a, stats_p, derive]",
        "inputs: [stats_a, stats_a2]",
    ) + "  - {id: stats_a2, kind: statistics, inputs: [reseg_a]}\n";
    let p = write_file(dir.path(), "twice.yaml", &twice);
    let message = match execute(&p) {
        Err(e) => e.to_string(),
        Ok(o) => o
            .tasks
            .iter()
            .filter_map(|t| t.error.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    };
    assert!(
        message.contains("`stats_a`") && message.contains("`stats_a2`"),
        "{message}"
    );
}

#[test]
fn synth_phases_is_deterministic_and_writes_one_image_per_phase() {
    use radial::synth::{CohortSettings, write_cohort_with};
    let settings = CohortSettings {
        cases: 2,
        seed: 5,
        null_labels: false,
    };
    let phases: Vec<String> = ["arterial", "portal", "delayed"].map(String::from).to_vec();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, threads) in [(&a, 1), (&b, 2)] {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| write_cohort_with(dir.path(), &settings, None, Some(&phases)))
            .unwrap();
    }
    let manifest = std::fs::read_to_string(a.path().join("manifest.csv")).unwrap();
    assert!(
        manifest.starts_with(
            "case_id,image.arterial,image.portal,image.delayed,mask,label,phenotype\n\
             case_0000,images/case_0000_arterial.nii.gz,images/case_0000_portal.nii.gz,\
             images/case_0000_delayed.nii.gz,masks/case_0000.nii.gz,1,"
        ),
        "{manifest}"
    );
    let m = Manifest::read(&a.path().join("manifest.csv")).unwrap();
    assert_eq!(m.phases, phases);
    for rel in [
        "manifest.csv",
        "parameters.csv",
        "images/case_0001_arterial.nii.gz",
        "images/case_0001_delayed.nii.gz",
        "masks/case_0001.nii.gz",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(rel)).unwrap(),
            std::fs::read(b.path().join(rel)).unwrap(),
            "{rel}"
        );
    }
    // The phases differ: the lesion enhances differently in each.
    let art = radial::io::read_image(&a.path().join("images/case_0000_arterial.nii.gz")).unwrap();
    let del = radial::io::read_image(&a.path().join("images/case_0000_delayed.nii.gz")).unwrap();
    assert_ne!(art.volume.data, del.volume.data);
    // An unknown phase is refused, naming it.
    let c = tempfile::tempdir().unwrap();
    let e = write_cohort_with(c.path(), &settings, None, Some(&["venous".to_string()]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`venous`") && e.contains("phases"), "{e}");
}

#[test]
fn a_model_of_phased_features_records_no_extraction_recipe() {
    // `radial predict --image` replays one image; a model of phase-prefixed
    // features must refuse it (asking for a feature table) rather than miss
    // `arterial_stat_mean` at scoring time.
    let (dir, _) = setup();
    let with_train = format!(
        "{PIPELINE}  - {{id: phases, kind: collect, inputs: [stats_a, stats_p]}}\n  \
         - id: train\n    kind: train\n    inputs: [phases]\n    \
         params: {{label_column: phenotype, positive: \"1\", classifier: {{kind: logistic}}}}\n"
    );
    let p = write_file(dir.path(), "train.yaml", &with_train);
    let plan = plan(&p, &[], &Registry::standard()).unwrap();
    let train = plan.stage_index("train").unwrap();
    assert!(
        plan.stages[train].params.get("extraction").is_none(),
        "{}",
        plan.stages[train].params
    );
}

#[test]
fn filter_chains_named_after_their_phase_pair_across_phases() {
    // A filter stage per phase, its id ending with the phase: the columns
    // read `<phase>_<filter>_<feature>` and derive pairs them.
    let (dir, _) = setup();
    let filtered = "\
name: filtered
manifest: manifest.csv
stages:
  - {id: load_a, kind: load, params: {phase: arterial}}
  - {id: load_p, kind: load, params: {phase: portal}}
  - {id: reseg_a, kind: resegment, inputs: [load_a]}
  - {id: reseg_p, kind: resegment, inputs: [load_p]}
  - {id: mean3_arterial, kind: filter, inputs: [load_a, reseg_a], params: {kind: mean, support: 3}}
  - {id: mean3_portal, kind: filter, inputs: [load_p, reseg_p], params: {kind: mean, support: 3}}
  - {id: stats_a, kind: statistics, inputs: [mean3_arterial]}
  - {id: stats_p, kind: statistics, inputs: [mean3_portal]}
  - id: derive
    kind: derive
    inputs: [stats_a, stats_p]
    params: {pairs: [[arterial, portal]], ops: [delta], features: [mean3_stat_mean]}
  - {id: collect, kind: collect, inputs: [stats_a, stats_p, derive]}
";
    let p = write_file(dir.path(), "filtered.yaml", filtered);
    let o = execute(&p).unwrap();
    assert_eq!(counts(&o, "derive"), (3, 0, 0));
    let text = std::fs::read_to_string(dir.path().join("results/collect.csv")).unwrap();
    let mut lines = text.lines().map(|l| l.split(',').collect::<Vec<_>>());
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    let at = |c: &str| {
        let i = header
            .iter()
            .position(|h| *h == c)
            .unwrap_or_else(|| panic!("{c}: {header:?}"));
        row[i].parse::<f64>().unwrap()
    };
    assert_eq!(
        at("delta_arterial_minus_portal_mean3_stat_mean"),
        at("arterial_mean3_stat_mean") - at("portal_mean3_stat_mean")
    );
}
