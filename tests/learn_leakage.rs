//! The leakage test of issue 6: on pure noise, selection inside the folds
//! gives chance AUC, while selecting on the whole table first (only possible
//! through library internals, not through a protocol) looks predictive.

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use radial::learn::protocol::{UnivariateTest, from_yaml};
use radial::learn::select::relevance;
use radial::learn::{FeatureTable, evaluate};

fn noise_table(cases: usize, features: usize, seed: u64) -> FeatureTable {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((cases, features), |_| rng.r#gen::<f64>());
    // Random labels, exactly half positive.
    let mut labels: Vec<bool> = (0..cases).map(|i| i < cases / 2).collect();
    rand::seq::SliceRandom::shuffle(labels.as_mut_slice(), &mut rng);
    FeatureTable::new(
        (0..cases).map(|i| format!("case{i:03}")).collect(),
        (0..features).map(|j| format!("noise{j:04}")).collect(),
        x,
        labels,
        "yes",
        "no",
    )
    .unwrap()
}

#[test]
fn selection_inside_folds_is_at_chance_and_leaky_selection_is_not() {
    let table = noise_table(100, 2000, 2026);
    let honest = from_yaml(
        "repeats: 4\nselection:\n  - univariate: { test: mann_whitney, k: 10 }\nclassifier: { kind: svm, kernel: rbf }\n",
    )
    .unwrap();
    let eval = evaluate(&table, &honest, honest.seed).unwrap();
    let inside = eval.summary.auc_mean;
    eprintln!("selection inside folds: mean AUC {inside:.3}");
    assert!((0.35..=0.65).contains(&inside), "{inside}");

    // The leaky protocol: rank on all cases, keep the top 10, then CV the SVM alone.
    let all: Vec<usize> = (0..2000).collect();
    let scores = relevance(
        table.features.view(),
        &table.labels,
        &all,
        UnivariateTest::MannWhitney,
    );
    let mut order = all.clone();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let top: Vec<usize> = order[..10].to_vec();
    let leaky_table = FeatureTable::new(
        table.case_ids.clone(),
        top.iter()
            .map(|&j| table.feature_names[j].clone())
            .collect(),
        table.features.select(Axis(1), &top),
        table.labels.clone(),
        "yes",
        "no",
    )
    .unwrap();
    let classifier_only =
        from_yaml("repeats: 4\nclassifier: { kind: svm, kernel: rbf }\n").unwrap();
    let leaky = evaluate(&leaky_table, &classifier_only, classifier_only.seed)
        .unwrap()
        .summary
        .auc_mean;
    eprintln!("selection on the whole table first: mean AUC {leaky:.3}");
    assert!(leaky > 0.75, "{leaky}");
}
