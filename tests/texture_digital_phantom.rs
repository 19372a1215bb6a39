//! The six texture families with all six aggregations on the IBSI digital
//! phantom, against every texture row of the IBSI 1 reference table.
//!
//! The digital phantom references are given to 3 significant digits with a
//! tolerance of 0, so our value is rounded to 3 significant digits before
//! the comparison |ours − ref| ≤ tolerance.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use radial::features::texture::compute_families;
use radial::features::{FamilyInput, FeatureSet, compute_family};
use radial::processing::{Aggregation, Discretised, ExtractionSettings, Family, RoiImage};

const FAMILIES: [Family; 6] = [
    Family::Glcm,
    Family::Glrlm,
    Family::Glszm,
    Family::Gldzm,
    Family::Ngtdm,
    Family::Ngldm,
];
const PREFIXES: [&str; 6] = ["cm_", "rlm_", "szm_", "dzm_", "ngt_", "ngl_"];

fn all_aggregations() -> Vec<Aggregation> {
    vec![
        Aggregation::TwoDAvg,
        Aggregation::TwoDComb,
        Aggregation::TwoHalfDAvg,
        Aggregation::TwoHalfDComb,
        Aggregation::ThreeDAvg,
        Aggregation::ThreeDComb,
    ]
}

fn phantom(data: &Path) -> (RoiImage, Discretised) {
    let dir = data.join("ibsi/digital_phantom");
    let (image, mask) =
        radial::io::read_case(&dir.join("image.nii.gz"), &dir.join("mask.nii.gz"), 1)
            .expect("digital phantom reads");
    let levels = ndarray::Zip::from(&image.volume.data)
        .and(&mask.data)
        .map_collect(|&v, &m| if m { v.round() as u32 } else { 0 });
    let spacing = image.volume.geometry.spacing;
    let roi = RoiImage {
        image: image.volume,
        morph_mask: mask.data.clone(),
        int_mask: mask.data,
    };
    let discretised = Discretised {
        levels,
        n_levels: 6,
        spacing,
    };
    (roi, discretised)
}

/// (tag → (reference, tolerance)) for the texture rows of a reference table.
fn references(path: &Path) -> BTreeMap<String, (f64, f64)> {
    let text = std::fs::read_to_string(path).expect("reference table reads");
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let fields = split_csv(line);
        let tag = fields.last().expect("tag column").trim().to_string();
        if !PREFIXES.iter().any(|p| tag.starts_with(p)) {
            continue;
        }
        let (Ok(value), Ok(tol)) = (fields[4].parse::<f64>(), fields[5].parse::<f64>()) else {
            continue;
        };
        out.insert(tag, (value, tol));
    }
    out
}

/// Splits one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let (mut fields, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

fn round_significant(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

fn compute_all(roi: &RoiImage, d: &Discretised, settings: &ExtractionSettings) -> FeatureSet {
    let input = FamilyInput {
        roi,
        discretised: Some(d),
        settings,
    };
    let mut out = FeatureSet::new();
    compute_families(&FAMILIES, &input, &mut out).expect("texture features compute");
    out
}

fn settings() -> ExtractionSettings {
    let mut s = ExtractionSettings::default();
    s.texture.aggregations = all_aggregations();
    s
}

/// Compares every texture row of `table` with `features`; prints pass/total
/// per family and aggregation and the failing tags; returns the failures.
fn compare(features: &FeatureSet, table: &Path, round_to_3_digits: bool) -> Vec<String> {
    let refs = references(table);
    assert!(!refs.is_empty(), "no texture rows in {}", table.display());
    let mut groups: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (tag, &(reference, tol)) in &refs {
        let prefix = PREFIXES.iter().find(|p| tag.starts_with(*p)).unwrap();
        let suffix = SUFFIXES.iter().find(|s| tag.ends_with(*s)).unwrap();
        let group = groups.entry(format!("{prefix}*{suffix}")).or_default();
        group.1 += 1;
        let ours = features.get(tag);
        let pass = ours.is_some_and(|v| {
            let v = if round_to_3_digits {
                round_significant(v, 3)
            } else {
                v
            };
            (v - reference).abs() <= tol + 1e-9 * reference.abs()
        });
        if pass {
            group.0 += 1;
        } else {
            failures.push(format!(
                "{tag}: ours {ours:?} vs ref {reference} (tol {tol})"
            ));
        }
    }
    println!("{}", table.display());
    for (g, (pass, total)) in &groups {
        println!("{g:<16} {pass}/{total}");
    }
    let passed: usize = groups.values().map(|g| g.0).sum();
    println!("total {passed}/{}", refs.len());
    for f in &failures {
        println!("FAIL {f}");
    }
    failures
}

const SUFFIXES: [&str; 9] = [
    "_2D_avg",
    "_2D_comb",
    "_2_5D_avg",
    "_2_5D_comb",
    "_3D_avg",
    "_3D_comb",
    "_2D",
    "_2_5D",
    "_3D",
];

#[test]
fn digital_phantom_texture_matches_ibsi_references() {
    let Some(data) = common::data_dir("digital_phantom_texture_matches_ibsi_references") else {
        return;
    };
    let (roi, d) = phantom(&data);
    let features = compute_all(&roi, &d, &settings());
    let table = data.join("ibsi/reference/ibsi_1_reference_values_digital_phantom.csv");
    assert_eq!(references(&table).len(), 408);
    let failures = compare(&features, &table, true);
    assert!(
        failures.is_empty(),
        "{} texture features fail",
        failures.len()
    );
}

/// IBSI configuration A on the CT phantom: no interpolation, intensity mask
/// re-segmented to [-500, 400] HU, fixed bin size 25 HU from -500, 2D
/// aggregations. The discretisation is done here (the chain is not ours).
#[test]
fn ct_phantom_config_a_texture_matches_ibsi_references() {
    let Some(data) = common::data_dir("ct_phantom_config_a_texture_matches_ibsi_references") else {
        return;
    };
    let dir = data.join("ibsi/ct_phantom");
    let (image, mask) =
        radial::io::read_case(&dir.join("image.nii.gz"), &dir.join("mask.nii.gz"), 1)
            .expect("CT phantom reads");
    let int_mask = ndarray::Zip::from(&image.volume.data)
        .and(&mask.data)
        .map_collect(|&v, &m| m && (-500.0..=400.0).contains(&v));
    let levels = ndarray::Zip::from(&image.volume.data)
        .and(&int_mask)
        .map_collect(|&v, &m| {
            if m {
                ((v as f64 + 500.0) / 25.0).floor() as u32 + 1
            } else {
                0
            }
        });
    let n_levels = levels.iter().copied().max().unwrap();
    let spacing = image.volume.geometry.spacing;
    let roi = RoiImage {
        image: image.volume,
        morph_mask: mask.data,
        int_mask,
    };
    let d = Discretised {
        levels,
        n_levels,
        spacing,
    };
    let mut s = ExtractionSettings::default();
    s.texture.aggregations = vec![
        Aggregation::TwoDAvg,
        Aggregation::TwoDComb,
        Aggregation::TwoHalfDAvg,
        Aggregation::TwoHalfDComb,
    ];
    let features = compute_all(&roi, &d, &s);
    let table = data.join("ibsi/reference/ibsi_1_reference_values_config_A.csv");
    let failures = compare(&features, &table, false);
    assert!(
        failures.is_empty(),
        "{} texture features fail",
        failures.len()
    );
}

#[test]
fn shared_passes_equal_the_single_family_entry_points() {
    let Some(data) = common::data_dir("shared_passes_equal_the_single_family_entry_points") else {
        return;
    };
    let (roi, d) = phantom(&data);
    let s = settings();
    let combined = compute_all(&roi, &d, &s);
    let input = FamilyInput {
        roi: &roi,
        discretised: Some(&d),
        settings: &s,
    };
    let mut separate = FeatureSet::new();
    for f in FAMILIES {
        compute_family(f, &input, &mut separate).expect("family computes");
    }
    assert_eq!(combined.len(), 6 * (25 + 16) + 3 * (16 + 16 + 5 + 17));
    assert_eq!(
        format!("{:?}", combined.values),
        format!("{:?}", separate.values)
    );
}

#[test]
fn results_are_bit_identical_with_one_and_two_threads() {
    let Some(data) = common::data_dir("results_are_bit_identical_with_one_and_two_threads") else {
        return;
    };
    let (roi, d) = phantom(&data);
    let s = settings();
    let run = |n: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("thread pool")
            .install(|| compute_all(&roi, &d, &s))
    };
    let (one, two) = (run(1), run(2));
    let bits = |f: &FeatureSet| {
        f.values
            .iter()
            .map(|(n, v)| (n.clone(), v.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&one), bits(&two));
}

/// Timing on a synthetic 100×100×90 ROI with 50 grey levels, all six
/// families, 3D aggregations, one thread and the default pool. Run with
/// `cargo test --release --test texture_digital_phantom -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_six_families_3d_on_a_synthetic_roi() {
    let shape = (90, 100, 100);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let levels = ndarray::Array3::from_shape_fn(shape, |(k, j, i)| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Smooth structure plus noise, so zones and runs have various sizes.
        let smooth = (i / 6 + j / 8 + k / 5) as u64;
        1 + ((smooth + state % 4) % 50) as u32
    });
    let mask = levels.map(|_| true);
    let roi = RoiImage {
        image: radial::image::Volume::new(
            levels.map(|&l| l as f32),
            radial::image::Geometry::new([1.0; 3], [0.0; 3]),
        ),
        morph_mask: mask.clone(),
        int_mask: mask,
    };
    let d = Discretised {
        levels,
        n_levels: 50,
        spacing: [1.0; 3],
    };
    let s = ExtractionSettings::default(); // 3D_avg + 3D_comb
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let start = std::time::Instant::now();
        let f = pool.install(|| compute_all(&roi, &d, &s));
        println!(
            "{threads} thread(s): {} features in {:.3} s",
            f.len(),
            start.elapsed().as_secs_f64()
        );
    }
}
