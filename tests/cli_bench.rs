//! `radial bench lung2 --repeat 1 --json` runs and reports sensible fields.
//! No timing assertions: the machine's load is unknown.

mod common;

use std::process::Command;

#[test]
fn bench_lung2_reports_its_measurements() {
    let Some(data) = common::data_dir("bench_lung2_reports_its_measurements") else {
        return;
    };
    let out = Command::new(common::radial_bin())
        .args([
            "bench",
            "lung2",
            "--repeat",
            "1",
            "--threads",
            "1",
            "--json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RADIAL_DATA_DIR", &data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "radial bench failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &report.as_array().expect("one summary per scenario")[0];
    assert_eq!(s["scenario"], "lung2");
    assert_eq!(s["runs"], 1);
    // The README of the data: lung2 label 1 has 24,644 voxels.
    assert_eq!(s["roi_voxels"], 24_644);
    let wall = s["wall_median_s"].as_f64().unwrap();
    assert!(wall > 0.0 && wall == s["wall_min_s"].as_f64().unwrap());
    assert!(s["load_median_s"].as_f64().unwrap() <= wall);
    let rate = s["roi_voxels_per_s"].as_f64().unwrap();
    assert!((rate * wall - 24_644.0).abs() < 1e-6 * 24_644.0);
    // A child process that read a 16 M voxel case (a 61 MB f32 volume) used
    // that much memory, and stays below the 150 MB budget of the benchmark.
    let peak = s["peak_rss_mb"].as_f64().unwrap();
    assert!(peak > 61.0 && peak < 150.0, "{peak} MB");
    assert!(s["error"].is_null(), "extraction failed: {s}");
    assert!(s["features"].as_u64().unwrap() > 100, "{s}");
}

#[test]
fn bench_rejects_an_unknown_scenario() {
    let out = Command::new(common::radial_bin())
        .args(["bench", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lung2"));
}
