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
