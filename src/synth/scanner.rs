//! Per-centre scanner effects for a multi-centre cohort (`radial synth
//! --centres N`): what makes the same lesion look different from one
//! hospital's CT to another's. Three effects, applied to the case's
//! noise-free image and noise after everything else is drawn (so a case's
//! random draws, and its lesion, are those of the single-centre cohort):
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
//! smoother kernel of about 1 mm). They shift many features by centre
//! (per-centre standardisation raises the univariate AUC of, e.g.,
//! `stat_rmad` from 0.82 to 0.95 on 60 cases), but the phenotype is
//! also carried by texture features that barely move with the scanner
//! (`cm_info_corr2`), so a multivariate classifier pooled over the centres
//! loses little: this cohort does not show a consistent benefit of ComBat
//! (see the README's harmonisation section for the measurements).

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
