//! The five non-texture families (morphology, local intensity, statistics,
//! intensity histogram, intensity-volume histogram) on the IBSI digital
//! phantom, against every reference value of
//! `ibsi_1_reference_values_digital_phantom.csv` for their tags.
//!
//! The phantom is used as is (IBSI: no interpolation, no re-segmentation, no
//! discretisation: its intensities are already the grey levels 1..6).
//!
//! Matching rule: |ours − reference| <= tolerance. A tolerance of 0 means the
//! reference is exact to the digits it is printed with, so the value must
//! round to it: |ours − reference| <= half a unit of its last printed digit.

mod common;

use std::path::Path;
use std::time::Instant;

use radial::features::{FamilyInput, FeatureSet, compute_family};
use radial::processing::{
    Discretised, ExtractionSettings, Family, ResegmentationSettings, RoiImage,
};

const FAMILIES: [(Family, &str); 5] = [
    (Family::Morphology, "morph_"),
    (Family::LocalIntensity, "loc_"),
    (Family::Statistics, "stat_"),
    (Family::Histogram, "ih_"),
    (Family::Ivh, "ivh_"),
];

struct Reference {
    tag: String,
    value: f64,
    allowed: f64,
}

/// Splits one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(ch),
        }
    }
    fields
}

/// Half a unit of the last printed digit of a number such as `0.0946` or `1200`.
fn half_last_digit(text: &str) -> f64 {
    let mantissa = text.trim().split(['e', 'E']).next().unwrap();
    let exponent: i32 = text
        .trim()
        .split(['e', 'E'])
        .nth(1)
        .map_or(0, |e| e.parse().unwrap());
    let decimals = mantissa.split('.').nth(1).map_or(0, |d| d.len() as i32);
    0.5 * 10f64.powi(exponent - decimals)
}

fn references(csv: &Path) -> Vec<Reference> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header = split_csv(lines.next().unwrap().trim_start_matches('\u{feff}'));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (c_value, c_tol, c_tag) = (col("reference value"), col("tolerance"), col("tag"));
    let mut out: Vec<Reference> = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f = split_csv(line);
        let (value, tag) = (f[c_value].trim(), f[c_tag].trim().to_string());
        if value.is_empty() || out.iter().any(|r| r.tag == tag) {
            continue; // no reference value, or a repeated row
        }
        let tol: f64 = f[c_tol].trim().parse().unwrap_or(0.0);
        let allowed = if tol > 0.0 {
            tol
        } else {
            half_last_digit(value)
        };
        out.push(Reference {
            tag,
            value: value.parse().unwrap(),
            allowed,
        });
    }
    out
}

fn phantom_input(data: &Path) -> (RoiImage, Discretised) {
    let dir = data.join("ibsi/digital_phantom");
    let (image, mask) =
        radial::io::read_case(&dir.join("image.nii.gz"), &dir.join("mask.nii.gz"), 1).unwrap();
    let levels = image
        .volume
        .data
        .iter()
        .zip(mask.data.iter())
        .map(|(&v, &m)| if m { v.round() as u32 } else { 0 });
    let levels =
        ndarray::Array3::from_shape_vec(image.volume.data.raw_dim(), levels.collect()).unwrap();
    let discretised = Discretised {
        n_levels: *levels.iter().max().unwrap(),
        levels,
        spacing: image.volume.geometry.spacing,
    };
    let roi = RoiImage {
        morph_mask: mask.data.clone(),
        int_mask: mask.data,
        image: image.volume,
    };
    (roi, discretised)
}

#[test]
fn five_families_match_the_ibsi_digital_phantom() {
    let Some(data) = common::data_dir("five_families_match_the_ibsi_digital_phantom") else {
        return;
    };
    let (roi, discretised) = phantom_input(&data);
    let settings = ExtractionSettings::default();
    let input = FamilyInput {
        roi: &roi,
        discretised: Some(&discretised),
        settings: &settings,
    };
    let refs = references(&data.join("ibsi/reference/ibsi_1_reference_values_digital_phantom.csv"));
    let mut failures = Vec::new();
    for (family, prefix) in FAMILIES {
        let mut out = FeatureSet::new();
        compute_family(family, &input, &mut out).unwrap();
        let mut total = 0;
        let mut passed = 0;
        for r in refs.iter().filter(|r| r.tag.starts_with(prefix)) {
            total += 1;
            match out.get(&r.tag) {
                Some(v) if (v - r.value).abs() <= r.allowed + 1e-12 => passed += 1,
                Some(v) => failures.push(format!(
                    "{}: ours {v} vs reference {} ± {}",
                    r.tag, r.value, r.allowed
                )),
                None => failures.push(format!("{}: not computed", r.tag)),
            }
        }
        println!(
            "{family:?}: {passed}/{total} reference values match ({} features computed)",
            out.len()
        );
        for (name, v) in &out.values {
            println!("  {name} = {v}");
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} reference values do not match",
        failures.len()
    );
}

/// Timing on the IBSI CT phantom at its own grid (125k-voxel ROI, no
/// interpolation), intensity mask re-segmented to [-500, 400] HU as in
/// configurations A/B. Run with `cargo test --release --test
/// features_digital_phantom -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_on_the_ct_phantom() {
    let Some(data) = common::data_dir("timing_on_the_ct_phantom") else {
        return;
    };
    let dir = data.join("ibsi/ct_phantom");
    let (image, mask) =
        radial::io::read_case(&dir.join("image.nii.gz"), &dir.join("mask.nii.gz"), 1).unwrap();
    // Crop around the ROI with a margin of 4 voxels (>= the 6.2 mm sphere in x, y; 3 slices in z).
    let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
    for ((k, j, i), &m) in mask.data.indexed_iter() {
        if m {
            for (d, v) in [k, j, i].into_iter().enumerate() {
                lo[d] = lo[d].min(v);
                hi[d] = hi[d].max(v);
            }
        }
    }
    let shape = mask.data.shape().to_vec();
    let s: Vec<ndarray::SliceInfoElem> = (0..3)
        .map(|d| ndarray::Slice::from(lo[d].saturating_sub(4)..(hi[d] + 5).min(shape[d])).into())
        .collect();
    let info = ndarray::SliceInfo::<_, ndarray::Ix3, ndarray::Ix3>::try_from(s).unwrap();
    let img = image.volume.data.slice(info.clone()).to_owned();
    let morph = mask.data.slice(info).to_owned();
    let int_mask = ndarray::Zip::from(&img)
        .and(&morph)
        .map_collect(|&v, &m| m && (-500.0..=400.0).contains(&v));
    let n_levels = 36;
    let levels = ndarray::Zip::from(&img)
        .and(&int_mask)
        .map_collect(|&v, &m| {
            if m {
                (((v + 500.0) / 25.0).floor() as u32 + 1).min(n_levels)
            } else {
                0
            }
        });
    let spacing = image.volume.geometry.spacing;
    let roi = RoiImage {
        image: radial::image::Volume::new(img, image.volume.geometry),
        morph_mask: morph,
        int_mask,
    };
    let discretised = Discretised {
        levels,
        n_levels,
        spacing,
    };
    let settings = ExtractionSettings {
        resegmentation: ResegmentationSettings {
            range: Some([Some(-500.0), Some(400.0)]),
            outlier_sigma: None,
        },
        ..Default::default()
    };
    let input = FamilyInput {
        roi: &roi,
        discretised: Some(&discretised),
        settings: &settings,
    };
    println!(
        "crop {:?}, ROI {} voxels",
        roi.image.data.shape(),
        roi.morph_mask.iter().filter(|&&m| m).count()
    );
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    for (family, _) in FAMILIES {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let mut out = FeatureSet::new();
        compute_family(family, &input, &mut out).unwrap();
        println!(
            "{family:?}: {:.1} ms wall, {:.0} ms CPU",
            t.elapsed().as_secs_f64() * 1e3,
            (cpu_seconds() - cpu) * 1e3
        );
        for (name, v) in &out.values {
            println!("  {name} = {v}");
        }
    }
    println!(
        "five families: {:.1} ms wall, {:.0} ms CPU",
        start.elapsed().as_secs_f64() * 1e3,
        (cpu_seconds() - cpu_start) * 1e3
    );
}

/// CPU time (user + system, all threads) of this process, from /proc (Linux;
/// 0 elsewhere). On a loaded machine wall time says little; CPU time is the work.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').map_or(0, |p| p + 2)..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}
