//! `radial evaluate` then `radial predict` on a small synthetic table.

mod common;

use std::process::Command;

#[test]
fn evaluate_writes_metrics_report_and_model_and_predict_scores() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("cohort.csv");
    let mut csv = String::from("case_id,group,signal,noise\n");
    for i in 0..60 {
        let positive = i % 2 == 0;
        let signal = if positive { 1.0 } else { 0.0 } + ((i * 37) % 11) as f64 / 10.0;
        csv += &format!(
            "p{i:02},{},{signal},{}\n",
            if positive { "case" } else { "control" },
            (i * 13) % 7
        );
    }
    std::fs::write(&table, csv).unwrap();
    let protocol = dir.path().join("proto.yaml");
    std::fs::write(
        &protocol,
        "repeats: 2\nselection:\n  - univariate: { k: 1 }\nclassifier: { kind: logistic }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let status = Command::new(common::radial_bin())
        .args(["evaluate", "--table"])
        .arg(&table)
        .args([
            "--label-column",
            "group",
            "--positive",
            "case",
            "--protocol",
        ])
        .arg(&protocol)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("proto.metrics.json")).unwrap()).unwrap();
    assert!(metrics["summary"]["auc_mean"].as_f64().unwrap() > 0.8);
    assert!(metrics["pooled"]["auc"]["lower"].is_number());
    assert_eq!(metrics["folds"].as_array().unwrap().len(), 10);
    let html = std::fs::read_to_string(out.join("proto.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("signal") && html.contains("Provenance"));

    let predictions = dir.path().join("pred.csv");
    let status = Command::new(common::radial_bin())
        .arg("predict")
        .arg(out.join("proto.model.json"))
        .arg("--features")
        .arg(&table)
        .arg("--out")
        .arg(&predictions)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&predictions).unwrap();
    assert_eq!(text.lines().count(), 61);
    assert!(text.starts_with("case_id,score,probability,predicted\np00,"));
}
