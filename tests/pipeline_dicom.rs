//! A manifest row can name a DICOM series directory and an RTSTRUCT ROI: the
//! pipeline hashes the series as a directory and rasterises the ROI.

mod common;

use std::process::Command;

#[test]
fn a_dicom_series_with_an_rtstruct_roi_runs_through_a_pipeline() {
    let Some(data) =
        common::data_dir("a_dicom_series_with_an_rtstruct_roi_runs_through_a_pipeline")
    else {
        return;
    };
    let data = data.canonicalize().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let dicom = data.join("ibsi/ct_phantom/dicom");
    std::fs::write(
        dir.join("manifest.csv"),
        format!(
            "case_id,image,mask,roi\nphantom,{},{},GTV-1\n",
            dicom.join("image").display(),
            dicom.join("mask/DCM_RS_00060.dcm").display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("p.yaml"),
        "name: dicom\nmanifest: manifest.csv\nstages:\n  \
         - {id: load, kind: load}\n  \
         - {id: resegment, kind: resegment, inputs: [load], params: {range: [-500, 400]}}\n  \
         - {id: statistics, kind: statistics, inputs: [resegment]}\n  \
         - {id: features, kind: collect, inputs: [statistics]}\n",
    )
    .unwrap();
    let run = || {
        let out = Command::new(common::radial_bin())
            .current_dir(dir)
            .args(["run", "p.yaml", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(run()["totals"]["run"], 4);
    assert_eq!(run()["totals"]["cached"], 4);
    let table = std::fs::read_to_string(dir.join("results/dicom/features.csv")).unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mean: f64 = row[header.iter().position(|h| *h == "stat_mean").unwrap()]
        .parse()
        .unwrap();
    // IBSI configuration A (no interpolation, range [-500, 400]): stat_mean 13.4 ± 1.1
    // on the same ROI from the NIfTI phantom.
    assert!((mean - 13.4).abs() <= 1.1, "stat_mean {mean}");
}
