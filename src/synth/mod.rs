//! `radial synth`: a deterministic generator of CT-like liver lesion cases,
//! the cohort of the end-to-end example (issue 7).
//!
//! # Output
//! `DIR/images/case_NNNN.nii.gz` (int16, HU), `DIR/masks/case_NNNN.nii.gz`
//! (uint8, the lesion has label 1), `DIR/manifest.csv` with columns
//! `case_id,image,mask,label,phenotype` (paths relative to the manifest;
//! `label` is the mask label, always 1; `phenotype` is the class: **0 =
//! homogeneous, 1 = heterogeneous**, the positive class), and
//! `DIR/parameters.csv`, every case's drawn parameters and true phenotype
//! (for inspection; not an input of any pipeline). Only these files are
//! written; anything else in `DIR` is left alone. Every file is written
//! atomically.
//!
//! # Determinism
//! Case `i` draws everything from its own ChaCha stream keyed by
//! `(seed, i)`, so files are bit-identical whatever the thread count, and
//! the first cases of a larger cohort are the cases of a smaller one. The
//! phenotypes are balanced by pairs: one draw per pair `(2p, 2p + 1)`
//! decides which of the two is heterogeneous.
//!
//! # The model
//! Grid: 96 × 96 × 24 voxels of 0.8 × 0.8 × 2.5 mm (76.8 × 76.8 × 60 mm),
//! identity direction, centred at LPS (−90, 20, 0) mm (the right liver lobe).
//! Every range below is a uniform draw, the same for both phenotypes unless
//! stated otherwise.
//! - **Parenchyma** fills the field of view at 52–68 HU.
//! - **Scanner noise**: Gaussian, standard deviation 9–15 HU, slightly
//!   correlated in-plane (white noise blurred by [1 2 1]/4 along x and y:
//!   neighbours correlate by 2/3), independent between slices.
//! - **Lesion shape**: a sphere of radius 8–20 mm deformed by 3–5 zonal
//!   harmonics of degree 2–4 about random axes, whose amplitudes add up to
//!   0.05–0.22 of the radius ([`shape`]); centre within ±3 mm (x, y) and
//!   ±2 mm (z) of the field of view's centre, so the lesion always lies
//!   inside it. The lesion–parenchyma edge is a smooth step 0.6–1.6 mm wide,
//!   and each slice averages the object over its 2.5 mm thickness (partial
//!   volume).
//! - **Mask**: the voxels whose centres lie inside the lesion's surface
//!   perturbed by 3 more harmonics (total amplitude 0–0.04) and shifted by
//!   −0.4 to +0.3 mm: a segmentation that follows the boundary, imperfectly.
//! - **Texture** ([`texture`]): each lesion has a heterogeneity `h` and is
//!   `base + faint + h · (heterogeneous − base)` where `base` is 28–42 HU,
//!   `faint` a blotch field of 1–4 HU, and the heterogeneous pattern a
//!   necrotic core (10–20 HU, 35–65 % of the radius), an enhancing rim
//!   (90–120 HU, 1.5–3.5 mm thick) and blotches of 10–20 HU (a smooth
//!   Gaussian random field with a correlation length of 1.5–3 mm).
//!   - phenotype 0, **homogeneous** (hypodense, near uniform): `h` in 0–0.3;
//!   - phenotype 1, **heterogeneous** (necrotic core, enhancing rim,
//!     blotchy): `h` in 0.15–1.
//!
//!   The ranges overlap, and noise level, contrast and size vary per case,
//!   so texture separates the classes well but not perfectly, and shape,
//!   drawn identically for both, hardly at all.
//!
//! # `--phases`
//! A multi-phase contrast CT cohort: one image per phase on one grid, one
//! shared mask, manifest columns `image.<phase>`; the phenotypes differ in
//! their enhancement pattern (1: arterial enhancement and washout, 0:
//! progressive enhancement), not in texture. See [`phases`].
//!
//! # `--centres`
//! The cases spread over N centres whose scanners differ in noise level,
//! sharpness and HU offset (`centre` column). A single-phase multi-centre
//! cohort carries the class in the lesion's attenuation (1: enhancing, 20
//! HU above 0: hypoenhancing), its texture drawn independently of the
//! phenotype, so that the scanners move the features that carry the class.
//! See [`scanner`].
//!
//! # `--null`
//! The images are those of the same seed without `--null`; only the
//! `phenotype` column differs: a balanced set of labels shuffled by a
//! stream of its own, independent of the images (for leakage checks). The
//! true phenotypes remain in `parameters.csv`.

pub mod case;
pub mod cohort;
pub mod field;
pub mod phases;
pub mod random;
pub mod scanner;
pub mod shape;
pub mod texture;

pub use case::{CaseParameters, SyntheticCase, generate_case, generate_case_in_centre};
pub use cohort::{
    CaseRecord, CohortSettings, MANIFEST_FILE, MASK_LABEL, PARAMETERS_FILE, phenotype_names,
    phenotype_of, write_cohort, write_cohort_in_centres, write_cohort_with,
};
pub use scanner::ScannerEffect;

/// The class of a case, as written in the manifest's `phenotype` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phenotype {
    /// 0: a homogeneous hypodense lesion.
    Homogeneous = 0,
    /// 1: a heterogeneous lesion with a necrotic core and an enhancing rim.
    Heterogeneous = 1,
}

impl Phenotype {
    pub fn from_label(label: u8) -> Phenotype {
        if label == 0 {
            Phenotype::Homogeneous
        } else {
            Phenotype::Heterogeneous
        }
    }

    /// The manifest's value.
    pub fn label(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            Phenotype::Homogeneous => "homogeneous",
            Phenotype::Heterogeneous => "heterogeneous",
        }
    }

    /// A fair draw of a texture class (one boolean from `rng`), for the
    /// cohorts whose texture is independent of the phenotype.
    pub fn fair_draw(rng: &mut impl rand::Rng) -> Phenotype {
        if rng.r#gen::<bool>() {
            Phenotype::Heterogeneous
        } else {
            Phenotype::Homogeneous
        }
    }
}

/// The grid every case shares.
pub mod grid {
    use crate::image::Geometry;

    /// Voxels along x, y, z.
    pub const DIMS: [usize; 3] = [96, 96, 24];
    /// Voxel spacing along x, y, z, mm.
    pub const SPACING: [f64; 3] = [0.8, 0.8, 2.5];
    /// LPS position of the centre of the field of view, mm.
    pub const CENTRE_LPS: [f64; 3] = [-90.0, 20.0, 0.0];

    /// The array shape `[nz, ny, nx]`.
    pub fn array_shape() -> [usize; 3] {
        [DIMS[2], DIMS[1], DIMS[0]]
    }

    /// Position (mm) of voxel (i, j, k) relative to the centre of the field of view.
    pub fn local_position(i: usize, j: usize, k: usize) -> [f64; 3] {
        let index = [i, j, k];
        [0, 1, 2].map(|a| (index[a] as f64 - (DIMS[a] as f64 - 1.0) / 2.0) * SPACING[a])
    }

    pub fn geometry() -> Geometry {
        let origin = [0, 1, 2].map(|a| CENTRE_LPS[a] + local_position(0, 0, 0)[a]);
        Geometry::new(SPACING, origin)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_centre_of_the_field_of_view_is_its_lps_centre() {
            let g = geometry();
            let far = [DIMS[0] - 1, DIMS[1] - 1, DIMS[2] - 1].map(|n| n as f64);
            let a = g.index_to_physical([0.0; 3]);
            let b = g.index_to_physical(far);
            for axis in 0..3 {
                assert!(((a[axis] + b[axis]) / 2.0 - CENTRE_LPS[axis]).abs() < 1e-9);
            }
            let corner = local_position(0, 0, 0);
            for (got, want) in corner.iter().zip([-38.0, -38.0, -28.75]) {
                assert!((got - want).abs() < 1e-9, "{corner:?}");
            }
        }
    }
}
