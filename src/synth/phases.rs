//! Multi-phase contrast CT (`radial synth --phases arterial,portal,delayed`):
//! each case is imaged in several phases after a contrast injection, on one
//! grid with one shared mask, and the two phenotypes differ in how the
//! lesion enhances over the phases, not in one phase's appearance.
//!
//! # The model
//! The lesion, its texture, the mask and the parenchyma are drawn as for the
//! single-phase cohort (the same random stream), except that the texture
//! class (homogeneous or heterogeneous) is drawn independently of the
//! phenotype: here texture says nothing about the class. Each phase then
//! adds, uniformly over the lesion, an enhancement (HU):
//!
//! | phase     | parenchyma | phenotype 1, washout | phenotype 0, progressive |
//! |-----------|-----------:|---------------------:|-------------------------:|
//! | native    |          0 |                    0 |                        0 |
//! | arterial  |         15 |                   60 |                       20 |
//! | portal    |         50 |                   30 |                       40 |
//! | delayed   |         30 |                   10 |                       55 |
//!
//! Phenotype 1 enhances in the arterial phase and washes out (as a
//! hepatocellular carcinoma does); phenotype 0 enhances progressively.
//! Per case, the lesion's enhancement is scaled by a gain of 0.7–1.3
//! (cardiac output, contrast dose), each phase's enhancement moves by
//! ±12 HU (bolus timing), and the whole lesion, every phase alike, by a
//! baseline of ±100 HU (what the lesion is made of: fat, haemorrhage,
//! calcification, and calibration). The baseline is large against the
//! phenotypes' difference in any one phase, so no single phase separates
//! them well, while a difference between phases cancels it.
//!
//! Every phase gets its own scanner noise (same level), from a stream of its
//! own; with `--centres`, each phase is seen through the case's centre's
//! scanner as in the single-phase cohort.

use super::case::{CaseParameters, draw_mask, render_object};
use super::field::{BINOMIAL_3, correlated_noise};
use super::random::{Purpose, stream, uniform};
use super::scanner::{ScannerEffect, scanned_image};
use super::{Phenotype, grid};
use crate::image::Volume;
use crate::{Error, Result};

/// (name, parenchyma, phenotype 1, phenotype 0) enhancement in HU.
pub const PHASES: [(&str, f64, f64, f64); 4] = [
    ("native", 0.0, 0.0, 0.0),
    ("arterial", 15.0, 60.0, 20.0),
    ("portal", 50.0, 30.0, 40.0),
    ("delayed", 30.0, 10.0, 55.0),
];

/// Ranges of the per-case draws.
pub mod ranges {
    /// Multiplies the lesion's enhancement in every phase.
    pub const GAIN: (f64, f64) = (0.7, 1.3);
    /// Added to the lesion's enhancement in one phase, HU.
    pub const PHASE_JITTER_HU: f64 = 12.0;
    /// Added to the lesion in every phase, HU.
    pub const BASELINE_HU: f64 = 100.0;
}

/// Checks a `--phases` list: known, distinct, at least one.
pub fn check_phases(phases: &[String]) -> Result<()> {
    let known: Vec<&str> = PHASES.iter().map(|p| p.0).collect();
    if phases.is_empty() {
        return Err(Error::setting("phases", "lists no phase"));
    }
    for (i, p) in phases.iter().enumerate() {
        if !known.contains(&p.as_str()) {
            return Err(Error::setting(
                "phases",
                format!("unknown phase `{p}` (known: {})", known.join(", ")),
            ));
        }
        if phases[..i].contains(p) {
            return Err(Error::setting(
                "phases",
                format!("phase `{p}` is listed twice"),
            ));
        }
    }
    Ok(())
}

/// One case's enhancement draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Enhancement {
    pub gain: f64,
    pub baseline_hu: f64,
    /// Per phase (order of the cohort's phases): the lesion's enhancement, HU.
    pub lesion_hu: Vec<f64>,
}

/// A generated multi-phase case: one image per phase, one mask.
#[derive(Debug, Clone)]
pub struct MultiphaseCase {
    pub images: Vec<Volume<i16>>,
    pub mask: Volume<u8>,
    pub parameters: CaseParameters,
    pub enhancement: Enhancement,
}

fn phase_row(name: &str) -> (f64, f64, f64) {
    let (_, parenchyma, washout, progressive) = PHASES
        .iter()
        .find(|p| p.0 == name)
        .copied()
        .unwrap_or(("", 0.0, 0.0, 0.0));
    (parenchyma, washout, progressive)
}

/// Case `index` of the cohort of `seed` in `phases` (checked by
/// [`check_phases`]), with phenotype `phenotype`, seen through `scanner`.
pub fn generate_multiphase_case(
    seed: u64,
    index: u64,
    phenotype: Phenotype,
    phases: &[String],
    scanner: Option<&ScannerEffect>,
) -> MultiphaseCase {
    let mut draws = stream(seed, Purpose::Enhancement, index);
    let texture_class = Phenotype::fair_draw(&mut draws);
    let gain = uniform(&mut draws, ranges::GAIN.0, ranges::GAIN.1);
    let baseline_hu = uniform(&mut draws, -ranges::BASELINE_HU, ranges::BASELINE_HU);
    let lesion_hu: Vec<f64> = phases
        .iter()
        .map(|p| {
            let (_, washout, progressive) = phase_row(p);
            let mean = match phenotype {
                Phenotype::Heterogeneous => washout,
                Phenotype::Homogeneous => progressive,
            };
            let jitter = uniform(
                &mut draws,
                -ranges::PHASE_JITTER_HU,
                ranges::PHASE_JITTER_HU,
            );
            baseline_hu + gain * mean + jitter
        })
        .collect();
    let mut rng = stream(seed, Purpose::Image, index);
    let mut parameters = CaseParameters::draw(&mut rng, texture_class);
    parameters.phenotype = phenotype;
    let mask = draw_mask(&parameters.segmentation);
    let images = phases
        .iter()
        .enumerate()
        .map(|(k, phase)| {
            let mut p = parameters.clone();
            p.parenchyma_hu += phase_row(phase).0;
            // Shifting every texture level shifts the whole lesion.
            let shift = lesion_hu[k];
            p.texture.base_hu += shift;
            p.texture.core_hu += shift;
            p.texture.rim_hu += shift;
            // The same lesion in every phase: the same blotches.
            let mut object = render_object(&p, &mut rng.clone());
            let mut noise_rng = stream(seed, Purpose::PhaseNoise, (index << 8) | k as u64);
            let noise = correlated_noise(
                &mut noise_rng,
                grid::array_shape(),
                [&BINOMIAL_3, &BINOMIAL_3, &[1.0]],
            );
            scanned_image(&mut object, &noise, parameters.noise_sd_hu, scanner)
        })
        .collect();
    MultiphaseCase {
        images,
        mask: Volume::new(mask, grid::geometry()),
        parameters,
        enhancement: Enhancement {
            gain,
            baseline_hu,
            lesion_hu,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn unknown_and_repeated_phases_are_setting_errors() {
        assert!(check_phases(&names(&["arterial", "portal", "delayed"])).is_ok());
        let e = check_phases(&names(&["arterial", "venous"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`venous`") && e.contains("portal"), "{e}");
        let e = check_phases(&names(&["portal", "portal"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
        assert!(check_phases(&[]).is_err());
    }

    #[test]
    fn phases_share_the_lesion_and_differ_by_the_enhancement() {
        let phases = names(&["arterial", "delayed"]);
        let washout = generate_multiphase_case(4, 0, Phenotype::Heterogeneous, &phases, None);
        let progressive = generate_multiphase_case(4, 0, Phenotype::Homogeneous, &phases, None);
        // Same draws apart from the phenotype: same mask, same baseline.
        assert_eq!(washout.mask, progressive.mask);
        assert_eq!(washout.enhancement.gain, progressive.enhancement.gain);
        let mean_in_mask = |v: &Volume<i16>, m: &Volume<u8>| {
            let (mut sum, mut n) = (0.0, 0.0);
            for (x, &l) in v.data.iter().zip(m.data.iter()) {
                if l == 1 {
                    sum += *x as f64;
                    n += 1.0;
                }
            }
            sum / n
        };
        let delta = |c: &MultiphaseCase| {
            mean_in_mask(&c.images[0], &c.mask) - mean_in_mask(&c.images[1], &c.mask)
        };
        // Washout: arterial above delayed; progressive: below. The same
        // draws differ by the gain times (60 - 10) - (20 - 55) = 85 HU,
        // diluted a little by the partial volume at the lesion's edge.
        let gap = delta(&washout) - delta(&progressive);
        assert!(gap > 0.7 * 85.0 * 0.8, "{gap}");
    }
}
