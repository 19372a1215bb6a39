//! `radial synth` on disk: determinism, manifest, balance, masks, `--null`.

mod common;

use std::path::Path;
use std::process::Command;

use radial::io::{read_case, read_image};
use radial::synth::{CohortSettings, MANIFEST_FILE, write_cohort};

fn settings(cases: usize, seed: u64, null_labels: bool) -> CohortSettings {
    CohortSettings {
        cases,
        seed,
        null_labels,
    }
}

/// Manifest rows (header removed), split on commas.
fn manifest_rows(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("case_id,image,mask,label,phenotype"));
    lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn voxels(path: &Path) -> Vec<f32> {
    read_image(path)
        .unwrap()
        .volume
        .data
        .iter()
        .copied()
        .collect()
}

fn write_with_threads(dir: &Path, settings: &CohortSettings, threads: usize) {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| write_cohort(dir, settings))
        .unwrap();
}

#[test]
fn same_seed_gives_identical_cases_whatever_the_thread_count() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_with_threads(a.path(), &settings(5, 42, false), 1);
    write_with_threads(b.path(), &settings(5, 42, false), 3);
    assert_eq!(manifest_rows(a.path()), manifest_rows(b.path()));
    for row in manifest_rows(a.path()) {
        for file in [&row[1], &row[2]] {
            assert_eq!(
                voxels(&a.path().join(file)),
                voxels(&b.path().join(file)),
                "{file}"
            );
        }
    }
    let parameters = |d: &Path| std::fs::read(d.join("parameters.csv")).unwrap();
    assert_eq!(parameters(a.path()), parameters(b.path()));
}

#[test]
fn different_seeds_give_different_images() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_cohort(a.path(), &settings(2, 1, false)).unwrap();
    write_cohort(b.path(), &settings(2, 2, false)).unwrap();
    for row in manifest_rows(a.path()) {
        assert_ne!(
            voxels(&a.path().join(&row[1])),
            voxels(&b.path().join(&row[1]))
        );
        assert_ne!(
            voxels(&a.path().join(&row[2])),
            voxels(&b.path().join(&row[2]))
        );
    }
}

#[test]
fn manifest_lists_every_case_with_relative_paths_label_and_balanced_phenotypes() {
    let dir = tempfile::tempdir().unwrap();
    let records = write_cohort(dir.path(), &settings(40, 7, false)).unwrap();
    let rows = manifest_rows(dir.path());
    assert_eq!(rows.len(), 40);
    assert_eq!(records.len(), 40);
    let mut ids = std::collections::BTreeSet::new();
    for (row, record) in rows.iter().zip(&records) {
        assert_eq!(row.len(), 5, "{row:?}");
        assert!(ids.insert(row[0].clone()), "duplicate case id {}", row[0]);
        assert_eq!(row[0], record.case_id);
        for file in [&row[1], &row[2]] {
            assert!(Path::new(file).is_relative(), "{file}");
            assert!(dir.path().join(file).is_file(), "{file}");
        }
        assert_eq!(row[3], "1");
        assert!(row[4] == "0" || row[4] == "1", "{row:?}");
        // Without --null the label is the phenotype the case was made with.
        assert_eq!(
            row[4],
            record.parameters.phenotype.label().to_string(),
            "{row:?}"
        );
    }
    // Pairs of cases hold one of each phenotype: exactly half for an even count.
    let heterogeneous = rows.iter().filter(|r| r[4] == "1").count();
    assert_eq!(heterogeneous, 20);
}

#[test]
fn masks_are_non_empty_label_one_on_the_image_grid_and_inside_the_field_of_view() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), &settings(12, 3, false)).unwrap();
    for row in manifest_rows(dir.path()) {
        let (image, roi) = read_case(&dir.path().join(&row[1]), &dir.path().join(&row[2]), 1)
            .unwrap_or_else(|e| panic!("{}: {e}", row[0]));
        assert_eq!(image.datatype, "int16");
        assert_eq!(image.volume.dims(), [96, 96, 24]);
        // The header stores float32: compare within the geometry tolerance.
        let grid = radial::synth::grid::geometry();
        assert_eq!(grid.spacing, [0.8, 0.8, 2.5]);
        assert!(image.volume.geometry.differences(&grid).is_none());
        let mask = read_image(&dir.path().join(&row[2])).unwrap();
        assert_eq!(mask.datatype, "uint8");
        assert!(mask.volume.data.iter().all(|&v| v == 0.0 || v == 1.0));
        let count = roi.data.iter().filter(|&&b| b).count();
        // Smallest lesion: radius 8 mm shrunk by 22 %, ≈ 1000 voxels of 1.6 mm³.
        assert!(count > 500, "{}: {count} voxels", row[0]);
        let (nz, ny, nx) = roi.data.dim();
        for ((k, j, i), &inside) in roi.data.indexed_iter() {
            if inside {
                let on_border =
                    k == 0 || j == 0 || i == 0 || k == nz - 1 || j == ny - 1 || i == nx - 1;
                assert!(
                    !on_border,
                    "{}: mask touches the border at {i},{j},{k}",
                    row[0]
                );
            }
        }
        // A homogeneous lesion is hypodense: the image inside the mask is
        // darker than outside. (A heterogeneous one may average out.)
        if row[4] == "1" {
            continue;
        }
        let (mut inside, mut outside) = ((0.0, 0.0), (0.0, 0.0));
        for (&v, &m) in image.volume.data.iter().zip(roi.data.iter()) {
            let acc = if m { &mut inside } else { &mut outside };
            acc.0 += v as f64;
            acc.1 += 1.0;
        }
        let contrast = outside.0 / outside.1 - inside.0 / inside.1;
        assert!(contrast > 5.0, "{}: contrast {contrast} HU", row[0]);
    }
}

#[test]
fn null_labels_keep_the_images_and_change_the_labels() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_cohort(a.path(), &settings(40, 9, false)).unwrap();
    write_cohort(b.path(), &settings(40, 9, true)).unwrap();
    let (real, null) = (manifest_rows(a.path()), manifest_rows(b.path()));
    for (r, n) in real.iter().zip(&null).take(4) {
        assert_eq!(r[..4], n[..4]);
        assert_eq!(voxels(&a.path().join(&r[1])), voxels(&b.path().join(&n[1])));
        assert_eq!(voxels(&a.path().join(&r[2])), voxels(&b.path().join(&n[2])));
    }
    let differing = real.iter().zip(&null).filter(|(r, n)| r[4] != n[4]).count();
    assert!(
        (8..=32).contains(&differing),
        "{differing} of 40 labels differ"
    );
    assert_eq!(null.iter().filter(|n| n[4] == "1").count(), 20);
}

#[test]
fn only_generated_files_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
    std::fs::write(dir.path().join(MANIFEST_FILE), "stale").unwrap();
    write_cohort(dir.path(), &settings(2, 1, false)).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(manifest_rows(dir.path()).len(), 2);
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".tmp")), "{names:?}");
}

#[test]
fn cli_writes_a_cohort_and_rejects_zero_cases() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cohort");
    let ok = Command::new(common::radial_bin())
        .args(["synth", "--cases", "4", "--seed", "5", "--null", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(stdout.contains("synthesised 4 cases"), "{stdout}");
    assert_eq!(manifest_rows(&out).len(), 4);
    let bad = Command::new(common::radial_bin())
        .args(["synth", "--cases", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("cases") && stderr.contains("at least 1"),
        "{stderr}"
    );
}
