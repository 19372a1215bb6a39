//! ComBat against neuroCombat (tests/combat/, made by `generate.py`; see its
//! README), the protocol's ComBat step, and its bad inputs.

use std::path::Path;

use ndarray::Array2;

use radial::learn::combat::{Combat, CombatOptions, CombatRows};

/// The reference tables' directory.
fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/combat"))
}

/// A small CSV: header and rows of text cells (no quoting in these files).
fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

const FEATURES: usize = 8;

/// input.csv: case_id, batch, age, f1..f8.
fn input() -> (Vec<String>, Array2<f64>, CombatRows, CombatRows) {
    let (header, rows) = read_csv("input.csv");
    assert_eq!(header[..3], ["case_id", "batch", "age"]);
    let ids = rows.iter().map(|r| r[0].clone()).collect();
    let batch: Vec<String> = rows.iter().map(|r| r[1].clone()).collect();
    let age = Array2::from_shape_fn((rows.len(), 1), |(i, _)| rows[i][2].parse().unwrap());
    let x = Array2::from_shape_fn((rows.len(), FEATURES), |(i, j)| {
        rows[i][3 + j].parse().unwrap()
    });
    let with_age = CombatRows {
        batch: batch.clone(),
        covariates: age,
    };
    (ids, x, CombatRows::batches_only(batch), with_age)
}

/// The largest absolute and relative differences from a reference table.
fn compare(name: &str, ids: &[String], got: &Array2<f64>) -> (f64, f64) {
    let (header, rows) = read_csv(name);
    assert_eq!(header.len(), FEATURES + 1, "{name}");
    let (mut abs, mut rel) = (0.0f64, 0.0f64);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], ids[i], "{name}: row order");
        for j in 0..FEATURES {
            let want: f64 = row[1 + j].parse().unwrap();
            let d = (got[[i, j]] - want).abs();
            abs = abs.max(d);
            rel = rel.max(d / want.abs());
        }
    }
    (abs, rel)
}

#[test]
fn radial_combat_agrees_with_neurocombat_to_1e_6_relative() {
    let (ids, x, plain, with_age) = input();
    let age = ["age".to_string()];
    let configs: [(&str, bool, bool, &CombatRows, &[String]); 5] = [
        ("parametric", true, false, &plain, &[]),
        ("parametric_age", true, false, &with_age, &age),
        ("nonparametric", false, false, &plain, &[]),
        ("nonparametric_age", false, false, &with_age, &age),
        ("parametric_mean_only", true, true, &plain, &[]),
    ];
    for (name, parametric, mean_only, rows, names) in configs {
        let options = CombatOptions {
            parametric,
            mean_only,
            ..CombatOptions::default()
        };
        let model = Combat::fit(x.view(), rows, names, options).unwrap();
        let harmonised = model.apply(x.view(), rows).unwrap();
        let (abs, rel) = compare(&format!("{name}.csv"), &ids, &harmonised);
        eprintln!("{name}: max abs difference {abs:.3e}, max rel difference {rel:.3e}");
        // Relative to the reference value (all lie between about 10 and 500).
        assert!(rel <= 1e-6, "{name}: relative difference {rel:e}");
        // The estimates serialised (as in a model file) and read back give
        // the same values (serde_json's float parsing may differ in the
        // last bit, so not necessarily the same bytes).
        let json = serde_json::to_string(&model).unwrap();
        let back: Combat = serde_json::from_str(&json).unwrap();
        let again = back.apply(x.view(), rows).unwrap();
        for (a, b) in again.iter().zip(&harmonised) {
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{name}: {a} vs {b}");
        }
    }
}

#[test]
fn combat_applies_to_rows_it_was_not_fitted_on_as_to_its_own() {
    // Fitted on 24 rows, each held-out row is harmonised exactly as if it
    // had been among them: the adjustment of a row depends only on its own
    // values, batch and covariates and on the fitted estimates.
    let (_, x, _, with_age) = input();
    let train: Vec<usize> = (0..24).collect();
    let test: Vec<usize> = (24..30).collect();
    let names = ["age".to_string()];
    let xt = x.select(ndarray::Axis(0), &train);
    let model = Combat::fit(
        xt.view(),
        &with_age.select(&train),
        &names,
        CombatOptions::default(),
    )
    .unwrap();
    let all = model.apply(x.view(), &with_age).unwrap();
    let held_out = model
        .apply(
            x.select(ndarray::Axis(0), &test).view(),
            &with_age.select(&test),
        )
        .unwrap();
    for (k, &i) in test.iter().enumerate() {
        assert_eq!(held_out.row(k), all.row(i));
    }
}

// ------------------------------------------------------------ in the folds

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use radial::learn::protocol::from_yaml;
use radial::learn::{FeatureTable, evaluate, fit_final};

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.r#gen::<f64>();
    let u2 = rng.r#gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `cases` cases in 3 centres (case i in centre i mod 3) whose scanners
/// shift every feature and scale its spread (0.3, 1 and 3 times); the first
/// `signal` features move with the label by `effect` standard deviations.
/// `null`: labels drawn independently of everything.
fn centre_table(
    cases: usize,
    features: usize,
    signal: usize,
    effect: f64,
    null: bool,
) -> FeatureTable {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let scale = [0.3, 1.0, 3.0];
    let shift: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..features).map(|_| 2.0 * normal(&mut rng)).collect())
        .collect();
    let mut labels: Vec<bool> = (0..cases).map(|i| (i / 3) % 2 == 0).collect();
    if null {
        rand::seq::SliceRandom::shuffle(labels.as_mut_slice(), &mut rng);
    }
    let truth: Vec<bool> = (0..cases).map(|i| (i / 3) % 2 == 0).collect();
    let x = Array2::from_shape_fn((cases, features), |(i, j)| {
        let c = i % 3;
        let signal = if j < signal && truth[i] { effect } else { 0.0 };
        10.0 + shift[c][j] + scale[c] * (normal(&mut rng) + signal)
    });
    table_in_centres(
        x,
        labels,
        |i| format!("case{i:03}"),
        |j| format!("f{j:03}"),
        |i| format!("centre_{}", i % 3 + 1),
    )
}

/// A feature table of `x` with a `centre` side column, ids and names made
/// by the given functions of the row or column index.
fn table_in_centres(
    x: Array2<f64>,
    labels: Vec<bool>,
    case_id: impl Fn(usize) -> String,
    feature: impl Fn(usize) -> String,
    centre: impl Fn(usize) -> String,
) -> FeatureTable {
    let (cases, features) = x.dim();
    FeatureTable::new(
        (0..cases).map(&case_id).collect(),
        (0..features).map(feature).collect(),
        x,
        labels,
        "1",
        "0",
    )
    .unwrap()
    .with_side_column("centre", (0..cases).map(centre).collect())
    .unwrap()
}

const PROTOCOL: &str = "folds: 5\nrepeats: 2\nselection:\n  - univariate: { test: mann_whitney, k: 10 }\nclassifier: { kind: logistic, c: 1.0 }\n";

fn with_combat(extra: &str) -> radial::learn::Protocol {
    from_yaml(&format!("{PROTOCOL}combat: {{ batch: centre{extra} }}\n")).unwrap()
}

/// Null labels within every centre, but centres that differ in case mix
/// (80 %, 50 % and 20 % positive), as real centres do; each centre's
/// scanner shifts every feature. Nothing about a lesion predicts its label.
fn null_table_with_case_mix(seed: u64) -> FeatureTable {
    let (cases, features) = (90, 200);
    let prevalence = [0.8, 0.5, 0.2];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let shift: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..features).map(|_| 2.0 * normal(&mut rng)).collect())
        .collect();
    let labels: Vec<bool> = (0..cases)
        .map(|i| rng.r#gen::<f64>() < prevalence[i % 3])
        .collect();
    let x = Array2::from_shape_fn((cases, features), |(i, j)| {
        10.0 + shift[i % 3][j] + normal(&mut rng)
    });
    table_in_centres(
        x,
        labels,
        |i| format!("c{i:03}"),
        |j| format!("f{j}"),
        |i| format!("k{}", i % 3),
    )
}

#[test]
fn combat_fitted_on_the_whole_cohort_with_the_label_leaks_and_in_fold_combat_does_not() {
    let table = null_table_with_case_mix(16);
    let honest = evaluate(&table, &with_combat(""), 42).unwrap();
    let inside = honest.pooled.auc.value;

    // The procedure neuroCombat users write: harmonise the whole cohort,
    // preserving the outcome as a covariate, then cross-validate. The
    // label covariate keeps the scanner differences that coincide with the
    // case mix as if they were outcome effects, and every held-out case's
    // own label enters its harmonised values.
    let rows = CombatRows {
        batch: table.side_columns["centre"].clone(),
        covariates: Array2::from_shape_fn((table.n_cases(), 1), |(i, _)| {
            f64::from(u8::from(table.labels[i]))
        }),
    };
    let label = ["label".to_string()];
    let combat = Combat::fit(
        table.features.view(),
        &rows,
        &label,
        CombatOptions::default(),
    )
    .unwrap();
    let harmonised = combat.apply(table.features.view(), &rows).unwrap();
    let leaky_table = FeatureTable::new(
        table.case_ids.clone(),
        table.feature_names.clone(),
        harmonised,
        table.labels.clone(),
        "1",
        "0",
    )
    .unwrap();
    let plain = from_yaml(PROTOCOL).unwrap();
    let leaky = evaluate(&leaky_table, &plain, 42).unwrap().pooled.auc.value;
    eprintln!(
        "null labels: in-fold ComBat AUC {inside:.3}, whole-cohort ComBat with the label {leaky:.3}"
    );
    assert!((0.35..=0.65).contains(&inside), "in-fold ComBat: {inside}");
    assert!(
        leaky > 0.7,
        "the leaky procedure should look predictive: {leaky}"
    );
}

#[test]
fn in_fold_combat_recovers_a_signal_that_centre_effects_hide() {
    let table = centre_table(90, 60, 6, 0.8, false);
    let without = evaluate(&table, &from_yaml(PROTOCOL).unwrap(), 42)
        .unwrap()
        .pooled
        .auc
        .value;
    let with = evaluate(&table, &with_combat(""), 42)
        .unwrap()
        .pooled
        .auc
        .value;
    eprintln!(
        "centre effects: AUC without ComBat {without:.3}, with ComBat in the folds {with:.3}"
    );
    assert!(with > without + 0.05, "without {without}, with {with}");
}

#[test]
fn the_final_model_stores_combat_and_scores_new_cases_of_known_batches() {
    let table = centre_table(60, 30, 4, 1.0, false);
    let model = fit_final(&table, &with_combat(", unseen_batch: error")).unwrap();
    let h = model
        .pipeline
        .harmonisation
        .as_ref()
        .expect("harmonisation stored");
    assert_eq!(h.combat.known_batches(), "centre_1, centre_2, centre_3");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.model.json");
    model.save(&path).unwrap();
    let loaded = radial::learn::ModelArtifact::load(&path).unwrap();
    let row: Vec<f64> = loaded
        .input_features
        .iter()
        .map(|f| table.features[[0, table.feature_names.iter().position(|n| n == f).unwrap()]])
        .collect();
    let batch = |b: &str| radial::learn::model::CaseBatch {
        batch: b.into(),
        ..Default::default()
    };
    let p = loaded
        .predict_row("case000", row.clone(), Some(&batch("centre_1")))
        .unwrap();
    assert!((0.0..=1.0).contains(&p.probability));
    let e = loaded
        .predict_row("x", row.clone(), Some(&batch("centre_9")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`centre_9`") && e.contains("centre_1, centre_2, centre_3"),
        "{e}"
    );
    let e = loaded
        .predict_row("x", row.clone(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--batch") && e.contains("`centre`"), "{e}");
    // Pooled: an unseen batch is scored on unadjusted values.
    let pooled = fit_final(&table, &with_combat(", unseen_batch: pooled")).unwrap();
    let unseen = pooled
        .predict_row("x", row, Some(&batch("centre_9")))
        .unwrap();
    assert!((0.0..=1.0).contains(&unseen.probability));
    // The batch column is not an input feature.
    assert!(!model.input_features.iter().any(|f| f == "centre"));
}

#[test]
fn a_model_without_combat_keeps_its_bytes_and_old_files_load() {
    let table = centre_table(30, 10, 2, 1.0, false);
    let model = fit_final(&table, &from_yaml(PROTOCOL).unwrap()).unwrap();
    let json = serde_json::to_string(&model).unwrap();
    assert!(
        !json.contains("harmonisation") && !json.contains("combat"),
        "{json}"
    );
}

// ------------------------------------------------------------ bad input

#[test]
fn a_batch_with_one_case_in_a_training_fold_is_an_error_naming_batch_and_fold() {
    let table = centre_table(30, 10, 2, 1.0, false);
    let mut centres = table.side_columns["centre"].clone();
    centres[4] = "centre_rare".into();
    centres[5] = "centre_rare".into();
    let table = table.with_side_column("centre", centres).unwrap();
    let e = evaluate(&table, &with_combat(", unseen_batch: pooled"), 42)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("batch `centre_rare`")
            && e.contains("single case")
            && e.contains("repeat 1 fold"),
        "{e}"
    );
    // Without pooling, the first fold that holds both rare cases out fails
    // first or one holds one: either way the message names batch and fold.
    let e = evaluate(&table, &with_combat(""), 42)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`centre_rare`") && e.contains("fold"), "{e}");
}

#[test]
fn a_missing_batch_column_or_batch_value_is_named() {
    let table = centre_table(30, 10, 2, 1.0, false);
    let e = evaluate(
        &table,
        &from_yaml(&format!("{PROTOCOL}combat: {{ batch: scanner }}\n")).unwrap(),
        42,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("no column `scanner`") && e.contains("centre"),
        "{e}"
    );
    let mut centres = table.side_columns["centre"].clone();
    centres[7] = "NaN".into();
    let table = table.with_side_column("centre", centres).unwrap();
    let e = evaluate(&table, &with_combat(""), 42)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("case `case007`") && e.contains("batch column `centre`"),
        "{e}"
    );
}

#[test]
fn the_outcome_cannot_be_a_covariate() {
    let table = centre_table(30, 10, 2, 1.0, false);
    let e = evaluate(
        &table,
        &from_yaml(&format!(
            "{PROTOCOL}combat: {{ batch: centre, covariates: [label] }}\n"
        ))
        .unwrap(),
        42,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`label` is the outcome"), "{e}");
}

// ------------------------------------------------------------ synth --centres

use radial::synth::{CohortSettings, write_cohort, write_cohort_in_centres};

fn sha256(path: &Path) -> String {
    radial::learn::table::sha256_file(path).unwrap()
}

#[test]
fn synth_without_centres_is_unchanged_and_centres_change_the_scanner_and_the_class_model() {
    let settings = CohortSettings {
        cases: 4,
        seed: 3,
        null_labels: false,
    };
    let single = tempfile::tempdir().unwrap();
    write_cohort(single.path(), &settings).unwrap();
    // `radial synth --cases 4 --seed 3` before `--centres` existed.
    for (file, hash) in [
        (
            "manifest.csv",
            "e40375eb3eb125157af9b227528b80626a2980043872b5f94d4b009e7f2218f9",
        ),
        (
            "parameters.csv",
            "5e852275556e25035ac5385523cf73a5aaf6e068b3b8f5ad841b66a2b4d0cd9b",
        ),
        (
            "images/case_0001.nii.gz",
            "d98bc8affcc75483eab6a8268305a2e6650275557fb7f4862105c38639c018a6",
        ),
        (
            "masks/case_0002.nii.gz",
            "0ab1a931ae269a6295b230c145ca324ab85039c08964f7f4fa0b9f8c442e51c1",
        ),
    ] {
        assert_eq!(sha256(&single.path().join(file)), hash, "{file}");
    }

    let multi = tempfile::tempdir().unwrap();
    write_cohort_in_centres(multi.path(), &settings, Some(3)).unwrap();
    let manifest = std::fs::read_to_string(multi.path().join("manifest.csv")).unwrap();
    let centres: Vec<&str> = manifest
        .lines()
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(
        centres,
        ["centre", "centre_1", "centre_2", "centre_3", "centre_1"]
    );
    // A multi-centre cohort carries the class in attenuation, with texture
    // drawn apart (src/synth/scanner.rs; unit-tested in synth::case): its
    // masks are the single-centre ones. Centre 1's scanner has no
    // effect, so its cases are those of the same cohort through one
    // scanner (`--centres 1`); the other centres' differ in the image only.
    let one = tempfile::tempdir().unwrap();
    write_cohort_in_centres(one.path(), &settings, Some(1)).unwrap();
    for (case, same_image) in [(0, true), (1, false), (2, false), (3, true)] {
        let image = format!("images/case_{case:04}.nii.gz");
        let mask = format!("masks/case_{case:04}.nii.gz");
        assert_eq!(
            sha256(&multi.path().join(&image)) == sha256(&one.path().join(&image)),
            same_image,
            "{image}"
        );
        for other in [&one, &single] {
            assert_eq!(
                sha256(&multi.path().join(&mask)),
                sha256(&other.path().join(&mask))
            );
        }
    }
    let e = write_cohort_in_centres(multi.path(), &settings, Some(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("centres"), "{e}");
}

#[test]
fn predict_from_a_table_reads_each_case_batch_from_its_column() {
    let table = centre_table(60, 30, 4, 1.0, false);
    let model = fit_final(&table, &with_combat("")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("new.csv");
    let mut text = String::from("case_id,centre");
    for f in &model.input_features {
        text.push(',');
        text.push_str(f);
    }
    text.push('\n');
    for i in 0..3 {
        text.push_str(&format!("n{i},{}", table.side_columns["centre"][i]));
        for f in &model.input_features {
            let j = table.feature_names.iter().position(|n| n == f).unwrap();
            text.push_str(&format!(",{}", table.features[[i, j]]));
        }
        text.push('\n');
    }
    std::fs::write(&csv, &text).unwrap();
    let scored = model.predict_file(&csv, "case_id").unwrap();
    assert_eq!(scored.len(), 3);
    // The same values scored one by one with their batch give the same scores.
    for (i, p) in scored.iter().enumerate() {
        let row = model
            .input_features
            .iter()
            .map(|f| table.features[[i, table.feature_names.iter().position(|n| n == f).unwrap()]])
            .collect();
        let batch = radial::learn::model::CaseBatch {
            batch: table.side_columns["centre"][i].clone(),
            ..Default::default()
        };
        let one = model.predict_row(&p.case_id, row, Some(&batch)).unwrap();
        assert_eq!(one.score, p.score);
    }
    // A table without the batch column is refused, naming it.
    std::fs::write(&csv, text.replace("case_id,centre", "case_id,site")).unwrap();
    let e = model.predict_file(&csv, "case_id").unwrap_err().to_string();
    assert!(e.contains("`centre`"), "{e}");
}
