//! `radial extract` end to end on the IBSI digital phantom.

mod common;

use std::process::Command;

#[test]
fn extract_writes_one_row_with_case_id_and_diagnostics() {
    let Some(data) = common::data_dir("extract_writes_one_row_with_case_id_and_diagnostics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("s.yaml");
    // Families that are computed by the chain alone would be empty: ask for
    // statistics only when it exists; diagnostics are always written.
    std::fs::write(&settings, "families: [statistics]\n").unwrap();
    let image = data.join("ibsi/digital_phantom/image.nii.gz");
    let mask = data.join("ibsi/digital_phantom/mask.nii.gz");
    let out = dir.path().join("row.csv");
    let status = Command::new(common::radial_bin())
        .args(["extract", "--image"])
        .arg(&image)
        .arg("--mask")
        .arg(&mask)
        .arg("--settings")
        .arg(&settings)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    if !status.status.success() {
        // Until the statistics family lands, the error must name it.
        assert!(stderr.contains("statistics"), "{stderr}");
        assert!(!out.exists());
        return;
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(header.len(), row.len());
    assert_eq!(header[0], "case_id");
    assert_eq!(row[0], "image");
    let count = header
        .iter()
        .position(|h| *h == "morph_mask_vox_count_init_roi")
        .unwrap();
    assert_eq!(row[count], "74");
}

#[test]
fn extract_reports_bad_settings_with_the_setting_name() {
    let Some(data) = common::data_dir("extract_reports_bad_settings_with_the_setting_name") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("bad.yaml");
    std::fs::write(
        &settings,
        "discretisation:\n  method: fixed_bin_number\n  bins: 0\n",
    )
    .unwrap();
    let output = Command::new(common::radial_bin())
        .args(["extract", "--image"])
        .arg(data.join("ibsi/digital_phantom/image.nii.gz"))
        .arg("--mask")
        .arg(data.join("ibsi/digital_phantom/mask.nii.gz"))
        .arg("--settings")
        .arg(&settings)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("discretisation.bins"), "{stderr}");
}
