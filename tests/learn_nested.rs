//! Nested cross-validation: the grid is searched inside each outer training
//! fold, and the choice is recorded per fold.

use ndarray::Array2;

use radial::learn::protocol::from_yaml;
use radial::learn::{FeatureTable, evaluate};

#[test]
fn grid_search_runs_inside_each_outer_fold() {
    // Feature 0 carries the class, features 1-5 are deterministic clutter.
    let n = 60;
    let labels: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
    let x = Array2::from_shape_fn((n, 6), |(i, j)| {
        let clutter = ((i * (j + 5) * 31) % 17) as f64 / 17.0;
        if j == 0 {
            labels[i] as u8 as f64 * 0.8 + clutter
        } else {
            clutter
        }
    });
    let table = FeatureTable::new(
        (0..n).map(|i| format!("c{i}")).collect(),
        (0..6).map(|j| format!("f{j}")).collect(),
        x,
        labels,
        "pos",
        "neg",
    )
    .unwrap();
    let protocol = from_yaml(
        "repeats: 2\nbootstrap: 100\nselection:\n  - univariate: { test: anova_f, k: 3 }\nclassifier: { kind: logistic }\nsearch: { inner_folds: 3, grid: { c: [0.01, 1.0], k: [1, 3] } }\n",
    )
    .unwrap();
    let eval = evaluate(&table, &protocol, 5).unwrap();
    assert_eq!(eval.folds.len(), 10);
    for fold in &eval.folds {
        assert!(fold.chosen_candidate.is_some_and(|c| c < 4));
        assert!(fold.inner_auc.is_some_and(|a| (0.0..=1.0).contains(&a)));
        // k is 1 or 3 depending on the chosen candidate, and f0 is always kept.
        assert!(fold.selected.len() == 1 || fold.selected.len() == 3);
        assert!(fold.selected.contains(&"f0".to_string()));
    }
    assert_eq!(eval.selection_frequency[0].feature, "f0");
    assert_eq!(eval.selection_frequency[0].frequency, 1.0);
    assert!(eval.summary.auc_mean > 0.8);
    assert!(eval.pooled.auc_bootstrap.is_some());
}
