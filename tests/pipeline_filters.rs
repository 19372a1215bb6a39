//! The `filter` stage kind (issue 14 item 5): response-map features in a
//! pipeline equal those of extraction settings' `filters:` (the same IBSI
//! order: interpolation, filtering of the whole image, ROI re-segmented on
//! unfiltered intensities), carry the filter stage's id as prefix, and a
//! changed filter parameter reruns only that filter and its readers.

mod common;
mod pipeline_support;

use std::path::Path;

use ndarray::Array3;
use pipeline_support::{counts, plan, run, write_file};
use radial::image::{Geometry, Volume};
use radial::pipeline::Registry;
use radial::pipeline::stages::Table;

/// Cases of 24 x 20 x 10 voxels (1 x 1 x 2 mm) with a small cubic ROI well
/// inside, so that the whole image and the ROI's box differ.
fn write_cohort(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let mut csv = String::from("case_id,image,mask,label,phenotype\n");
    for c in 0..n {
        let g = Geometry::new([1.0, 1.0, 2.0], [0.0; 3]);
        let data = Array3::from_shape_fn((10, 20, 24), |(k, j, i)| {
            // A smooth structure plus deterministic texture, different per case.
            let r = ((i as f64 - 12.0).powi(2) + (j as f64 - 9.0).powi(2)).sqrt();
            (100.0 - 4.0 * r + ((i * 7 + j * 13 + k * 29 + c * 31) % 17) as f64 * 3.0) as f32
        });
        let mask = Array3::from_shape_fn((10, 20, 24), |(k, j, i)| {
            let inside = (3..7).contains(&k) && (6..13).contains(&j) && (8..16).contains(&i);
            if inside { 1.0f32 } else { 0.0 }
        });
        let image = dir.join(format!("images/c{c}.nii"));
        let m = dir.join(format!("images/c{c}_mask.nii"));
        radial::io::nifti::write(&image, &Volume::new(data, g)).unwrap();
        radial::io::nifti::write(&m, &Volume::new(mask, g)).unwrap();
        csv.push_str(&format!(
            "c{c},images/c{c}.nii,images/c{c}_mask.nii,1,{}\n",
            c % 2
        ));
    }
    std::fs::write(dir.join("manifest.csv"), csv).unwrap();
}

const INTERPOLATION: &str = "{spacing: [1.5, 1.5, 1.5], image: linear, mask: linear}";
const RESEGMENTATION: &str = "{range: [20, null]}";

fn pipeline() -> String {
    format!(
        "\
name: filters
manifest: manifest.csv
stages:
  - id: load
    kind: load
  - id: resample
    kind: resample
    inputs: [load]
    params: {INTERPOLATION}
  - id: resegment
    kind: resegment
    inputs: [resample]
    params: {RESEGMENTATION}
  - {{id: statistics, kind: statistics, inputs: [resegment]}}
  - id: log_s1
    kind: filter
    inputs: [load, resegment]
    params: {{kind: log, sigma: 1.5, boundary: mirror}}
  - {{id: log_stats, kind: statistics, inputs: [log_s1]}}
  - id: log_disc
    kind: discretise
    inputs: [log_s1]
    params: {{method: fixed_bin_number, bins: 8}}
  - {{id: log_hist, kind: histogram, inputs: [log_disc]}}
  - id: wav
    kind: filter
    inputs: [resegment, load]
    params: {{kind: wavelet, family: coif1, subband: LLH, boundary: periodic}}
  - {{id: wav_stats, kind: statistics, inputs: [wav]}}
  - id: table
    kind: collect
    inputs: [statistics, log_stats, log_hist, wav_stats]
"
    )
}

/// The features `radial extract` computes with the same chain and the two
/// filters in `filters:`.
fn extracted(dir: &Path, case: usize) -> Vec<(String, f64)> {
    let settings = radial::processing::ExtractionSettings::from_yaml_str(
        &format!(
            "\
interpolation: {INTERPOLATION}
resegmentation: {RESEGMENTATION}
families: [statistics]
filters:
  - name: log_s1
    filter: {{kind: log, sigma: 1.5, boundary: mirror}}
    families: [statistics, histogram]
    discretisation: {{method: fixed_bin_number, bins: 8}}
  - name: wav
    filter: {{kind: wavelet, family: coif1, subband: LLH, boundary: periodic}}
"
        ),
        "settings.yaml",
    )
    .unwrap();
    let (image, mask) = radial::io::load_case(
        &dir.join(format!("images/c{case}.nii")),
        None,
        &dir.join(format!("images/c{case}_mask.nii")),
        radial::io::RoiChoice::Label(1),
    )
    .unwrap();
    radial::extract::extract_case(&image.volume, &mask, &settings)
        .unwrap()
        .values
}

#[test]
fn filter_stages_match_extraction_prefix_features_and_rerun_only_their_readers() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), 3);
    let p = write_file(dir.path(), "filters.yaml", &pipeline());
    let r = Registry::standard();
    let first = run(&p, &[], &r);
    assert!(first.failed().is_empty(), "{:?}", first.failed());
    let csv = std::fs::read(dir.path().join("results/table.csv")).unwrap();
    let table = Table::from_csv(&csv).unwrap();
    let h = &table.header;
    for name in [
        "stat_mean",
        "log_s1_stat_mean",
        "log_s1_ih_entropy",
        "wav_stat_mean",
    ] {
        assert!(h.iter().any(|c| c == name), "no column {name}: {h:?}");
    }
    // Unprefixed columns are the unfiltered image's only.
    assert!(!h.iter().any(|c| c.starts_with("log_s1_log_s1")), "{h:?}");

    // The same values as extraction settings' `filters:`, bit for bit.
    let mut compared = 0;
    for (row, case) in table.rows.iter().zip(0..) {
        let expected = extracted(dir.path(), case);
        for (col, cell) in h.iter().zip(row).skip(1) {
            if col == "phenotype" {
                continue;
            }
            let want = expected
                .iter()
                .find(|(n, _)| n == col)
                .unwrap_or_else(|| panic!("extraction has no {col}"))
                .1;
            let got: f64 = cell.parse().unwrap();
            assert!(
                got == want || (got.is_nan() && want.is_nan()),
                "case {case} {col}: pipeline {got}, extraction {want}"
            );
            compared += 1;
        }
    }
    assert!(compared > 3 * 40, "{compared}");
    // A filtered map's statistics differ from the image's.
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    assert_ne!(
        table.rows[0][col("stat_mean")],
        table.rows[0][col("log_s1_stat_mean")]
    );

    // A new σ reruns the LoG filter and its readers only.
    let o = run(&p, &["log_s1.sigma=2.5"], &r);
    for stage in ["log_s1", "log_stats", "log_disc", "log_hist"] {
        assert_eq!(counts(&o, stage), (3, 0, 0), "{stage}");
    }
    for stage in [
        "load",
        "resample",
        "resegment",
        "statistics",
        "wav",
        "wav_stats",
    ] {
        assert_eq!(counts(&o, stage), (0, 3, 0), "{stage}");
    }
    assert_eq!(counts(&o, "table"), (1, 0, 0));
}

#[test]
fn bad_filter_params_and_inputs_fail_at_planning_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), 1);
    let p = write_file(dir.path(), "filters.yaml", &pipeline());
    let r = Registry::standard();
    let e = plan(&p, &["log_s1.sigma=-1"], &r)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("log_s1") && e.contains("`sigma`"), "{e}");
    let e = plan(&p, &["wav.subband=LH"], &r).err().unwrap().to_string();
    assert!(e.contains("wav") && e.contains("subband"), "{e}");
    let e = plan(&p, &["wav.family=db9"], &r).err().unwrap().to_string();
    assert!(e.contains("db9"), "{e}");
    let one_input = pipeline().replace("inputs: [load, resegment]", "inputs: [resegment]");
    let p = write_file(dir.path(), "one_input.yaml", &one_input);
    let e = plan(&p, &[], &r).err().unwrap().to_string();
    assert!(e.contains("log_s1") && e.contains("load stage"), "{e}");
}

/// A `train` stage reading filter-stage features records the filters in its
/// extraction recipe, so `radial predict --image` computes them as the
/// pipeline did: the recipe's features of each case equal the collected
/// table's, bit for bit (statistics of the image, of a LoG response map and
/// of a wavelet response map, and the histogram of the discretised LoG map).
#[test]
fn a_model_on_filter_stage_features_records_the_filters_in_its_recipe() {
    let dir = tempfile::tempdir().unwrap();
    write_cohort(dir.path(), 3);
    let r = Registry::standard();
    let p = write_file(dir.path(), "filters.yaml", &pipeline());
    let outcome = run(&p, &[], &r);
    assert!(outcome.failed().is_empty(), "{:?}", outcome.failed());
    let csv = std::fs::read(dir.path().join("results/table.csv")).unwrap();
    let table = Table::from_csv(&csv).unwrap();

    let with_train = format!(
        "{}  - id: train\n    kind: train\n    inputs: [table]\n    params: \
         {{label_column: phenotype, positive: '1', classifier: {{kind: logistic}}}}\n",
        pipeline()
    );
    let q = write_file(dir.path(), "train.yaml", &with_train);
    let planned = plan(&q, &[], &r).unwrap();
    let train = planned.stage_index("train").unwrap();
    let recipe: radial::learn::recipe::ExtractionRecipe = serde_json::from_value(
        planned.stages[train].params[radial::pipeline::recipe::EXTRACTION_PARAM].clone(),
    )
    .expect("the train stage records an extraction recipe");
    let filters: Vec<&str> = recipe
        .sources
        .iter()
        .flat_map(|s| s.settings.filters.iter().map(|f| f.name.as_str()))
        .collect();
    assert_eq!(filters, ["log_s1", "log_s1", "wav"]);

    let mut compared = 0;
    for (row, case) in table.rows.iter().zip(0..) {
        let (image, mask) = radial::io::load_case(
            &dir.path().join(format!("images/c{case}.nii")),
            None,
            &dir.path().join(format!("images/c{case}_mask.nii")),
            radial::io::RoiChoice::Label(1),
        )
        .unwrap();
        let replayed = recipe.extract(&image.volume, &mask).unwrap();
        for (col, cell) in table.header.iter().zip(row).skip(1) {
            if col == "phenotype" {
                continue;
            }
            let want: f64 = cell.parse().unwrap();
            let got = replayed
                .get(col)
                .unwrap_or_else(|| panic!("the recipe computes no {col}"));
            assert!(
                got == want || (got.is_nan() && want.is_nan()),
                "case {case} {col}: recipe {got}, pipeline {want}"
            );
            compared += 1;
        }
    }
    assert!(compared > 3 * 40, "{compared}");
}
