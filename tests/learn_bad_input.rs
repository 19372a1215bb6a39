//! Bad tables give errors naming the column or case, never a panic.

use radial::learn::protocol::from_yaml;
use radial::learn::{FeatureTable, TableSpec, evaluate};

fn read(csv: &str) -> radial::Result<FeatureTable> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, csv).unwrap();
    FeatureTable::read(&path, &TableSpec::new("outcome", "yes"))
}

fn message(r: radial::Result<FeatureTable>) -> String {
    r.expect_err("must fail").to_string()
}

#[test]
fn one_class_label_names_the_column() {
    let m = message(read("case_id,outcome,f1\na,yes,1\nb,yes,2\nc,yes,3\n"));
    assert!(m.contains("`outcome`") && m.contains("single class"), "{m}");
}

#[test]
fn text_feature_names_the_column() {
    let m = message(read("case_id,outcome,f1,grade\na,yes,1,high\nb,no,2,low\n"));
    assert!(m.contains("`grade`") && m.contains("not numeric"), "{m}");
}

#[test]
fn duplicate_case_id_names_the_case() {
    let m = message(read("case_id,outcome,f1\na,yes,1\nb,no,2\na,no,3\n"));
    assert!(m.contains("duplicate case id `a`"), "{m}");
}

#[test]
fn missing_label_column_and_absent_positive_value_are_named() {
    let m = message(read("case_id,diagnosis,f1\na,yes,1\nb,no,2\n"));
    assert!(m.contains("no column `outcome`"), "{m}");
    let m = message(read("case_id,outcome,f1\na,y,1\nb,n,2\n"));
    assert!(m.contains("no value `yes`"), "{m}");
}

#[test]
fn fewer_cases_in_a_class_than_folds_names_column_and_class() {
    let table =
        read("case_id,outcome,f1\na,yes,1\nb,yes,2\nc,no,3\nd,no,4\ne,no,5\nf,no,6\n").unwrap();
    let protocol = from_yaml("folds: 3\nclassifier: { kind: logistic }\n").unwrap();
    let m = evaluate(&table, &protocol, 1).unwrap_err().to_string();
    assert!(
        m.contains("`outcome`") && m.contains("class `yes` has 2 cases") && m.contains("3 folds"),
        "{m}"
    );
}

#[test]
fn missing_values_are_imputed_not_rejected() {
    let mut csv = String::from("case_id,outcome,f1,f2\n");
    for i in 0..20 {
        let f2 = if i % 7 == 0 {
            String::new()
        } else {
            format!("{}", i % 3)
        };
        csv += &format!(
            "c{i},{},{},{f2}\n",
            if i % 2 == 0 { "yes" } else { "no" },
            i
        );
    }
    let table = read(&csv).unwrap();
    assert!(table.features[[0, 1]].is_nan());
    let protocol = from_yaml("repeats: 1\nclassifier: { kind: logistic }\n").unwrap();
    let eval = evaluate(&table, &protocol, 1).unwrap();
    assert!(eval.summary.auc_mean.is_finite());
}

/// One rule for every cell: empty, `NA` and `NaN` (any case) are missing
/// values, whether the CSV reader typed the column as numbers or as text.
#[test]
fn every_missing_token_is_a_missing_value() {
    for token in ["", "NA", "na", "NaN", "nan", "NAN", " NA "] {
        let t = read(&format!(
            "case_id,outcome,f1,f2\na,yes,1,{token}\nb,no,2,3\nc,yes,3,4\n"
        ))
        .unwrap_or_else(|e| panic!("`{token}`: {e}"));
        assert!(t.features[[0, 1]].is_nan(), "`{token}`");
        assert_eq!(t.features[[1, 1]], 3.0);
    }
}

#[test]
fn infinite_values_are_refused_with_feature_and_case() {
    for token in ["inf", "-inf", "+Infinity", "INF", "1e999"] {
        let m = message(read(&format!(
            "case_id,outcome,f1,f2\na,yes,1,2\nb,no,2,{token}\nc,yes,3,4\n"
        )));
        assert!(
            m.contains("`f2`") && m.contains("case `b`") && m.contains("infinite"),
            "`{token}`: {m}"
        );
    }
}

#[test]
fn a_table_built_in_memory_refuses_infinite_values_too() {
    let x = ndarray::array![[1.0, f64::INFINITY], [2.0, 3.0]];
    let e = FeatureTable::new(
        vec!["a".into(), "b".into()],
        vec!["f1".into(), "f2".into()],
        x,
        vec![true, false],
        "yes",
        "no",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`f2`") && e.contains("case `a`"), "{e}");
}

#[test]
fn a_missing_label_token_is_a_missing_label() {
    let m = message(read("case_id,outcome,f1\na,yes,1\nb,NA,2\nc,no,3\n"));
    assert!(m.contains("case `b` has no value in label column"), "{m}");
}
