//! A cohort on disk: the cases generated in parallel, their NIfTI files, the
//! manifest and the parameter table.

use std::fmt::Write as _;
use std::path::Path;

use rand::Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::phases::{Enhancement, generate_multiphase_case};
use super::random::{Purpose, stream};
use super::{CaseParameters, Phenotype, ScannerEffect, generate_case_in_centre};
use crate::io::{atomic, nifti};
use crate::{Error, Result};

pub const MANIFEST_FILE: &str = "manifest.csv";
pub const PARAMETERS_FILE: &str = "parameters.csv";
/// The lesion's value in every mask.
pub const MASK_LABEL: u8 = 1;

/// What `radial synth` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CohortSettings {
    pub cases: usize,
    pub seed: u64,
    /// Write labels drawn independently of the images.
    pub null_labels: bool,
}

/// One case as written: paths relative to the cohort directory.
#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub case_id: String,
    pub image: String,
    pub mask: String,
    /// The manifest's `phenotype` value: the true phenotype, or with
    /// `--null` the independent label.
    pub label: u8,
    /// What the case was generated with, its true phenotype included.
    pub parameters: CaseParameters,
    pub mask_voxels: usize,
    /// The centre's scanner, in a multi-centre cohort.
    pub scanner: Option<ScannerEffect>,
    /// In a multi-phase cohort: (phase, image path) per phase, and the
    /// enhancement draws; `image` is then empty.
    pub phases: Vec<(String, String)>,
    pub enhancement: Option<Enhancement>,
}

pub fn case_id(index: usize) -> String {
    format!("case_{index:04}")
}

/// The true phenotype of case `index`: one fair draw per pair of cases
/// `(2p, 2p + 1)` picks which of the two is heterogeneous, so the classes
/// are balanced (to one case) in every prefix of the cohort.
pub fn phenotype_of(seed: u64, index: usize) -> Phenotype {
    let pair = (index / 2) as u64;
    let first_is_heterogeneous: bool = stream(seed, Purpose::Phenotype, pair).r#gen();
    if index.is_multiple_of(2) == first_is_heterogeneous {
        Phenotype::Heterogeneous
    } else {
        Phenotype::Homogeneous
    }
}

/// `--null` labels: `cases / 2` of each class (one more at random for an
/// odd count), shuffled by a stream that shares nothing with the images or
/// the true phenotypes.
pub fn null_labels(seed: u64, cases: usize) -> Vec<u8> {
    let mut rng = stream(seed, Purpose::NullLabel, 0);
    let mut labels: Vec<u8> = (0..cases).map(|i| (i % 2) as u8).collect();
    if !cases.is_multiple_of(2) {
        labels[cases - 1] = rng.gen_range(0..=1);
    }
    labels.shuffle(&mut rng);
    labels
}

/// Generates the cohort of `settings` into `dir` (created if needed).
/// Cases are generated in parallel; the records come back in case order.
pub fn write_cohort(dir: &Path, settings: &CohortSettings) -> Result<Vec<CaseRecord>> {
    write_cohort_in_centres(dir, settings, None)
}

/// [`write_cohort`] with the cases spread over `centres` scanners
/// ([`ScannerEffect`]); `None` writes exactly the single-centre cohort.
pub fn write_cohort_in_centres(
    dir: &Path,
    settings: &CohortSettings,
    centres: Option<usize>,
) -> Result<Vec<CaseRecord>> {
    write_cohort_with(dir, settings, centres, None)
}

/// [`write_cohort_in_centres`], and with `phases` a multi-phase cohort
/// ([`super::phases`]): one image per phase and case
/// (`images/case_NNNN_<phase>.nii.gz`), one mask, manifest columns
/// `image.<phase>`. `None` writes exactly the single-phase cohort.
pub fn write_cohort_with(
    dir: &Path,
    settings: &CohortSettings,
    centres: Option<usize>,
    phases: Option<&[String]>,
) -> Result<Vec<CaseRecord>> {
    if let Some(phases) = phases {
        super::phases::check_phases(phases)?;
    }
    if settings.cases == 0 {
        return Err(Error::setting("cases", "must be at least 1"));
    }
    if centres == Some(0) {
        return Err(Error::setting("centres", "must be at least 1"));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let labels: Vec<u8> = if settings.null_labels {
        null_labels(settings.seed, settings.cases)
    } else {
        (0..settings.cases)
            .map(|i| phenotype_of(settings.seed, i).label())
            .collect()
    };
    let records = (0..settings.cases)
        .into_par_iter()
        .map(|index| {
            let scanner = centres.map(|n| ScannerEffect::of_case(index, n));
            match phases {
                None => write_case(dir, settings.seed, index, labels[index], scanner),
                Some(phases) => {
                    write_multiphase_case(dir, settings.seed, index, labels[index], phases, scanner)
                }
            }
        })
        .collect::<Result<Vec<_>>>()?;
    atomic::write_bytes(&dir.join(MANIFEST_FILE), manifest_csv(&records).as_bytes())?;
    atomic::write_bytes(
        &dir.join(PARAMETERS_FILE),
        parameters_csv(&records).as_bytes(),
    )?;
    Ok(records)
}

fn write_case(
    dir: &Path,
    seed: u64,
    index: usize,
    label: u8,
    scanner: Option<ScannerEffect>,
) -> Result<CaseRecord> {
    let case = generate_case_in_centre(
        seed,
        index as u64,
        phenotype_of(seed, index),
        scanner.as_ref(),
    );
    let case_id = case_id(index);
    let image = format!("images/{case_id}.nii.gz");
    let mask = format!("masks/{case_id}.nii.gz");
    nifti::write(&dir.join(&image), &case.image)?;
    nifti::write(&dir.join(&mask), &case.mask)?;
    let mask_voxels = case.mask.data.iter().filter(|&&v| v == MASK_LABEL).count();
    Ok(CaseRecord {
        case_id,
        image,
        mask,
        label,
        parameters: case.parameters,
        mask_voxels,
        scanner,
        phases: Vec::new(),
        enhancement: None,
    })
}

fn write_multiphase_case(
    dir: &Path,
    seed: u64,
    index: usize,
    label: u8,
    phases: &[String],
    scanner: Option<ScannerEffect>,
) -> Result<CaseRecord> {
    let case = generate_multiphase_case(
        seed,
        index as u64,
        phenotype_of(seed, index),
        phases,
        scanner.as_ref(),
    );
    let case_id = case_id(index);
    let mut images = Vec::with_capacity(phases.len());
    for (phase, volume) in phases.iter().zip(&case.images) {
        let image = format!("images/{case_id}_{phase}.nii.gz");
        nifti::write(&dir.join(&image), volume)?;
        images.push((phase.clone(), image));
    }
    let mask = format!("masks/{case_id}.nii.gz");
    nifti::write(&dir.join(&mask), &case.mask)?;
    let mask_voxels = case.mask.data.iter().filter(|&&v| v == MASK_LABEL).count();
    Ok(CaseRecord {
        case_id,
        image: String::new(),
        mask,
        label,
        parameters: case.parameters,
        mask_voxels,
        scanner,
        phases: images,
        enhancement: Some(case.enhancement),
    })
}

/// `case_id,image,mask,label,phenotype`, one row per case, and `centre` in
/// a multi-centre cohort.
pub fn manifest_csv(records: &[CaseRecord]) -> String {
    if records.first().is_some_and(|r| !r.phases.is_empty()) {
        return multiphase_manifest_csv(records);
    }
    let centres = records.iter().any(|r| r.scanner.is_some());
    let mut csv = String::from("case_id,image,mask,label,phenotype");
    csv.push_str(if centres { ",centre\n" } else { "\n" });
    for r in records {
        let _ = write!(
            csv,
            "{},{},{},{},{}",
            r.case_id, r.image, r.mask, MASK_LABEL, r.label
        );
        if let Some(s) = &r.scanner {
            let _ = write!(csv, ",{}", s.name());
        }
        csv.push('\n');
    }
    csv
}

/// `case_id,image.<phase>...,mask,label,phenotype[,centre]`.
fn multiphase_manifest_csv(records: &[CaseRecord]) -> String {
    let centres = records.iter().any(|r| r.scanner.is_some());
    let mut csv = String::from("case_id");
    for (phase, _) in &records[0].phases {
        let _ = write!(csv, ",image.{phase}");
    }
    csv.push_str(",mask,label,phenotype");
    csv.push_str(if centres { ",centre\n" } else { "\n" });
    for r in records {
        csv.push_str(&r.case_id);
        for (_, image) in &r.phases {
            let _ = write!(csv, ",{image}");
        }
        let _ = write!(csv, ",{},{},{}", r.mask, MASK_LABEL, r.label);
        if let Some(s) = &r.scanner {
            let _ = write!(csv, ",{}", s.name());
        }
        csv.push('\n');
    }
    csv
}

/// The drawn parameters of every case, with its true phenotype.
pub fn parameters_csv(records: &[CaseRecord]) -> String {
    let centres = records.iter().any(|r| r.scanner.is_some());
    let mut csv = String::from(
        "case_id,phenotype,phenotype_name,heterogeneity,radius_mm,roughness,mask_voxels,\
         parenchyma_hu,noise_sd_hu,lesion_hu,core_hu,rim_hu,blotch_hu,blotch_scale_mm",
    );
    // The drawn noise_sd_hu is before the centre's noise factor.
    csv.push_str(if centres {
        ",centre,hu_offset,noise_factor,blur_mm"
    } else {
        ""
    });
    // Multi-phase and multi-centre cohorts draw the texture class apart
    // from the phenotype; a multi-phase one's phenotype 1 washes out, 0
    // enhances progressively.
    let phases = records.first().map(|r| r.phases.as_slice()).unwrap_or(&[]);
    if centres || !phases.is_empty() {
        csv.push_str(",texture_class");
    }
    if !phases.is_empty() {
        csv.push_str(",enhancement_gain,baseline_hu");
        for (phase, _) in phases {
            let _ = write!(csv, ",lesion_enhancement_hu.{phase}");
        }
    }
    csv.push('\n');
    for r in records {
        let p = &r.parameters;
        let t = &p.texture;
        let _ = write!(
            csv,
            "{},{},{},{:.3},{:.2},{:.3},{},{:.1},{:.1},{:.1},{:.1},{:.1},{:.1},{:.2}",
            r.case_id,
            p.phenotype.label(),
            phenotype_name(r),
            t.heterogeneity,
            p.lesion.base_radius,
            p.roughness,
            r.mask_voxels,
            p.parenchyma_hu,
            p.noise_sd_hu,
            t.base_hu,
            t.core_hu,
            t.rim_hu,
            t.blotch_hu,
            t.blotch_scale_mm
        );
        if let Some(s) = &r.scanner {
            let _ = write!(
                csv,
                ",{},{},{},{}",
                s.name(),
                s.hu_offset,
                s.noise_factor,
                s.blur_mm
            );
        }
        if centres || !phases.is_empty() {
            let _ = write!(csv, ",{}", p.texture_class.name());
        }
        if let Some(e) = &r.enhancement {
            let _ = write!(csv, ",{:.3},{:.1}", e.gain, e.baseline_hu);
            for v in &e.lesion_hu {
                let _ = write!(csv, ",{v:.1}");
            }
        }
        csv.push('\n');
    }
    csv
}

/// The names of phenotypes 0 and 1 in a cohort's model: texture in a
/// single-centre cohort, the enhancement pattern in a multi-phase one, the
/// attenuation in a single-phase multi-centre one ([`super::scanner`]).
pub fn phenotype_names(multiphase: bool, multicentre: bool) -> [&'static str; 2] {
    match (multiphase, multicentre) {
        (true, _) => ["progressive", "washout"],
        (false, true) => ["hypoenhancing", "enhancing"],
        (false, false) => [
            Phenotype::Homogeneous.name(),
            Phenotype::Heterogeneous.name(),
        ],
    }
}

/// What the case's phenotype is in its cohort's model.
fn phenotype_name(r: &CaseRecord) -> &'static str {
    let names = phenotype_names(r.enhancement.is_some(), r.scanner.is_some());
    names[r.parameters.phenotype.label() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_hold_one_case_of_each_phenotype() {
        for p in 0..50 {
            let a = phenotype_of(11, 2 * p);
            let b = phenotype_of(11, 2 * p + 1);
            assert_ne!(a, b, "pair {p}");
        }
        let first: Vec<_> = (0..40).step_by(2).map(|i| phenotype_of(11, i)).collect();
        let heterogeneous = first
            .iter()
            .filter(|&&p| p == Phenotype::Heterogeneous)
            .count();
        assert!((5..=15).contains(&heterogeneous), "{heterogeneous} of 20");
    }

    #[test]
    fn null_labels_are_balanced_and_shuffled() {
        let labels = null_labels(3, 40);
        assert_eq!(labels.iter().filter(|&&l| l == 1).count(), 20);
        let alternating: Vec<u8> = (0..40).map(|i| (i % 2) as u8).collect();
        assert_ne!(labels, alternating);
        let odd = null_labels(3, 41);
        let ones = odd.iter().filter(|&&l| l == 1).count();
        assert!(ones == 20 || ones == 21);
    }

    #[test]
    fn zero_cases_is_a_setting_error() {
        let dir = tempfile::tempdir().unwrap();
        let settings = CohortSettings {
            cases: 0,
            seed: 1,
            null_labels: false,
        };
        let err = write_cohort(dir.path(), &settings).unwrap_err().to_string();
        assert!(err.contains("cases"), "{err}");
    }
}
