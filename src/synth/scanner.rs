//! Per-centre scanner effects for a multi-centre cohort (`radial synth
//! --centres N`): what makes the same lesion look different from one
//! hospital's CT to another's. Three effects, applied to the case's
//! noise-free image and noise after everything else is drawn:
//!
//! - **sharpness**: the reconstruction kernel, an in-plane Gaussian blur
//!   (standard deviation in mm, 0 = none) of the noise-free image and of the
//!   noise's texture (its correlation length; the noise keeps its level);
//! - **noise level**: the case's noise standard deviation times a factor
//!   (dose, reconstruction);
//! - **HU offset**: a calibration offset added to every voxel.
//!
//! Centres are assigned deterministically: case `i` is in centre
//! `i mod N + 1`, named `centre_1` ... `centre_N`, so each centre holds
//! every N-th case and about as many cases of each phenotype. The effects
//! of centre `c` are row `c - 1` of [`PROFILES`] (repeating after six
//! centres). Sizes are chosen to be of the order reported between CT
//! scanners (offsets of tens of HU, noise up to about twice as high, a
//! smoother kernel of about 1 mm).
//!
//! # The phenotypes of a multi-centre cohort
//! Harmonisation matters when the scanners move the features that carry
//! the class, and a classifier cannot read the class from features the
//! scanners leave alone. The single-centre cohort's phenotypes differ in
//! structured heterogeneity (necrotic core, rim), which scale- and
//! shift-invariant texture features read whatever the scanner
//! (`cm_info_corr2`): pooled over three centres its cross-validated AUC lost
//! nothing that ComBat could give back (the README's harmonisation section
//! has the measurements). So a (single-phase) multi-centre cohort carries
//! the class in the lesion's **attenuation**, as a portal-venous study of
//! lesions that retain contrast against lesions that do not would:
//!
//! - the lesion's texture class (homogeneous or heterogeneous, the ranges of
//!   [`super::texture`]) is drawn independently of the phenotype, from a
//!   stream of its own (the rest of the lesion is the single-centre
//!   cohort's), so texture says nothing about the class;
//! - phenotype 1, **enhancing**, has every level of its lesion (base, core,
//!   rim) [`ENHANCING_SHIFT_HU`] higher than phenotype 0, **hypoenhancing**.
//!
//! The shift (20 HU) is chosen, before any measurement, smaller than the
//! spread of the centres' offsets (0, +30 and −25 HU for three centres), the
//! regime harmonisation studies report, where the scanner moves attenuation
//! features more than the phenotype does. `--centres 1` is the same cohort
//! through one scanner (no effect): the reference without centre effects.
//! A multi-phase cohort (`--phases`) keeps its own phenotype model
//! ([`super::phases`]), its scanners applied per phase.

use ndarray::Array3;

use super::field::{convolve_axis, gaussian_kernel};
use super::grid;
use crate::image::Volume;

/// How much higher every level of an enhancing lesion (phenotype 1) is than
/// a hypoenhancing one's (phenotype 0) in a single-phase multi-centre
/// cohort, HU.
pub const ENHANCING_SHIFT_HU: f64 = 20.0;

/// One centre's scanner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScannerEffect {
    /// 1-based centre number.
    pub centre: usize,
    /// Added to every voxel, HU.
    pub hu_offset: f64,
    /// Multiplies the case's noise standard deviation.
    pub noise_factor: f64,
    /// In-plane Gaussian blur of the noise-free image, standard deviation in mm.
    pub blur_mm: f64,
}

/// (HU offset, noise factor, blur mm) of centres 1 to 6.
pub const PROFILES: [(f64, f64, f64); 6] = [
    (0.0, 1.0, 0.0),
    (30.0, 1.8, 0.0),
    (-25.0, 0.6, 1.2),
    (15.0, 0.8, 0.8),
    (-10.0, 1.5, 0.4),
    (40.0, 1.2, 1.0),
];

impl ScannerEffect {
    /// The scanner of case `index` among `centres` centres.
    pub fn of_case(index: usize, centres: usize) -> ScannerEffect {
        let c = index % centres.max(1);
        let (hu_offset, noise_factor, blur_mm) = PROFILES[c % PROFILES.len()];
        ScannerEffect {
            centre: c + 1,
            hu_offset,
            noise_factor,
            blur_mm,
        }
    }

    /// The manifest's value: `centre_1` ...
    pub fn name(&self) -> String {
        format!("centre_{}", self.centre)
    }
}

/// The image a scanner makes of a noise-free `object` (HU) and unit-variance
/// `noise`: the object blurred in-plane by the scanner's kernel, plus the
/// noise at `noise_sd_hu` times the scanner's factor, plus its offset,
/// rounded to int16. Without a scanner: object plus noise at `noise_sd_hu`.
pub(super) fn scanned_image(
    object: &mut Array3<f32>,
    noise: &Array3<f32>,
    noise_sd_hu: f64,
    scanner: Option<&ScannerEffect>,
) -> Volume<i16> {
    let (offset, noise_sd) = match scanner {
        None => (0.0, noise_sd_hu),
        Some(s) => {
            // Array axes are (z, y, x): blur along y and x.
            for axis in [1, 2] {
                let sigma = s.blur_mm / grid::SPACING[2 - axis];
                convolve_axis(object, axis, &gaussian_kernel(sigma));
            }
            (s.hu_offset, noise_sd_hu * s.noise_factor)
        }
    };
    let image = ndarray::Zip::from(&*object)
        .and(noise)
        .map_collect(|&o, &n| {
            (o as f64 + noise_sd * n as f64 + offset)
                .round()
                .clamp(-1024.0, 3071.0) as i16
        });
    Volume::new(image, grid::geometry())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centres_cycle_through_the_cases() {
        let names: Vec<String> = (0..7)
            .map(|i| ScannerEffect::of_case(i, 3).name())
            .collect();
        assert_eq!(
            names,
            [
                "centre_1", "centre_2", "centre_3", "centre_1", "centre_2", "centre_3", "centre_1"
            ]
        );
        assert_eq!(ScannerEffect::of_case(4, 3).hu_offset, 30.0);
        assert_eq!(ScannerEffect::of_case(8, 9).name(), "centre_9");
        // Centre 7 of 9 repeats centre 1's scanner.
        assert_eq!(ScannerEffect::of_case(6, 9).hu_offset, 0.0);
    }
}
