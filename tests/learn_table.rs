//! A feature table written as CSV and Parquet reads back identically.

use ndarray::array;

use radial::learn::{FeatureTable, TableSpec};

#[test]
fn csv_and_parquet_round_trip_with_missing_values() {
    let table = FeatureTable::new(
        vec!["a".into(), "b".into(), "c".into()],
        vec!["f1".into(), "f2".into()],
        array![[1.5, f64::NAN], [2.25, 3.0], [-4.0, 0.1]],
        vec![true, false, true],
        "yes",
        "no",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (csv, parquet) = (dir.path().join("t.csv"), dir.path().join("t.parquet"));
    table.write(&csv, &parquet).unwrap();
    let spec = TableSpec::new("label", "yes");
    for path in [&csv, &parquet] {
        let back = FeatureTable::read(path, &spec).unwrap();
        assert_eq!(back.case_ids, table.case_ids);
        assert_eq!(back.feature_names, table.feature_names);
        assert_eq!(back.labels, table.labels);
        assert_eq!(back.negative, "no");
        for (x, y) in back.features.iter().zip(table.features.iter()) {
            assert!(x == y || (x.is_nan() && y.is_nan()), "{x} {y}");
        }
    }
}
