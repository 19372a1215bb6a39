//! The inside of a lesion. One continuous model covers both phenotypes: a
//! homogeneous hypodense profile, blended by the case's *heterogeneity*
//! `h ∈ [0, 1]` towards a heterogeneous pattern (necrotic core, enhancing
//! rim, blotches). The phenotypes differ in the distribution of `h` (see the
//! module documentation of [`crate::synth`]), which overlap.

use rand::Rng;

use super::Phenotype;
use super::random::uniform;

/// Parameter ranges (uniform draws). Shared by both phenotypes except
/// the heterogeneity, so that only the texture carries the class.
pub mod ranges {
    /// Mean of the homogeneous lesion, HU.
    pub const BASE_HU: (f64, f64) = (28.0, 42.0);
    /// Necrotic core, HU.
    pub const CORE_HU: (f64, f64) = (10.0, 20.0);
    /// Enhancing rim, HU.
    pub const RIM_HU: (f64, f64) = (90.0, 120.0);
    /// Core radius as a fraction of the lesion's radius.
    pub const CORE_FRACTION: (f64, f64) = (0.35, 0.65);
    /// Rim thickness, mm.
    pub const RIM_THICKNESS_MM: (f64, f64) = (1.5, 3.5);
    /// Standard deviation of the heterogeneous blotches, HU.
    pub const BLOTCH_HU: (f64, f64) = (10.0, 20.0);
    /// Standard deviation of the faint texture every lesion has, HU.
    pub const FAINT_BLOTCH_HU: (f64, f64) = (1.0, 4.0);
    /// Correlation length (Gaussian sigma) of the blotches, mm.
    pub const BLOTCH_SCALE_MM: (f64, f64) = (1.5, 3.0);
    /// Heterogeneity of the homogeneous phenotype.
    pub const HETEROGENEITY_HOMOGENEOUS: (f64, f64) = (0.0, 0.3);
    /// Heterogeneity of the heterogeneous phenotype.
    pub const HETEROGENEITY_HETEROGENEOUS: (f64, f64) = (0.15, 1.0);
}

/// Hermite step from 0 (at `edge0`) to 1 (at `edge1`).
pub fn smoothstep(edge0: f64, edge1: f64, x: f64) -> f64 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The drawn texture parameters of one lesion.
#[derive(Debug, Clone, PartialEq)]
pub struct LesionTexture {
    /// Weight of the heterogeneous pattern: 0 homogeneous, 1 fully heterogeneous.
    pub heterogeneity: f64,
    pub base_hu: f64,
    pub core_hu: f64,
    pub rim_hu: f64,
    pub core_fraction: f64,
    pub rim_thickness_mm: f64,
    pub blotch_hu: f64,
    pub faint_blotch_hu: f64,
    pub blotch_scale_mm: f64,
}

impl LesionTexture {
    pub fn draw(rng: &mut impl Rng, phenotype: Phenotype) -> Self {
        use ranges::*;
        let mut draw = |(low, high): (f64, f64)| uniform(rng, low, high);
        let heterogeneity = draw(match phenotype {
            Phenotype::Homogeneous => HETEROGENEITY_HOMOGENEOUS,
            Phenotype::Heterogeneous => HETEROGENEITY_HETEROGENEOUS,
        });
        LesionTexture {
            heterogeneity,
            base_hu: draw(BASE_HU),
            core_hu: draw(CORE_HU),
            rim_hu: draw(RIM_HU),
            core_fraction: draw(CORE_FRACTION),
            rim_thickness_mm: draw(RIM_THICKNESS_MM),
            blotch_hu: draw(BLOTCH_HU),
            faint_blotch_hu: draw(FAINT_BLOTCH_HU),
            blotch_scale_mm: draw(BLOTCH_SCALE_MM),
        }
    }

    /// Noise-free intensity (HU) at normalised radius `rho` (0 at the
    /// centre, 1 on the surface), `depth_mm` below the surface along the ray,
    /// where the unit-variance blotch field has the value `blotch`.
    pub fn intensity(&self, rho: f64, depth_mm: f64, blotch: f64) -> f64 {
        let core = 1.0 - smoothstep(self.core_fraction - 0.12, self.core_fraction + 0.12, rho);
        let t = self.rim_thickness_mm;
        let rim = 1.0 - smoothstep(0.5 * t, 1.5 * t, depth_mm);
        let interior = self.core_hu * core + self.base_hu * (1.0 - core);
        let heterogeneous = interior + (self.rim_hu - interior) * rim + self.blotch_hu * blotch;
        self.base_hu
            + self.faint_blotch_hu * blotch
            + self.heterogeneity * (heterogeneous - self.base_hu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texture(heterogeneity: f64) -> LesionTexture {
        LesionTexture {
            heterogeneity,
            base_hu: 35.0,
            core_hu: 15.0,
            rim_hu: 100.0,
            core_fraction: 0.5,
            rim_thickness_mm: 2.0,
            blotch_hu: 10.0,
            faint_blotch_hu: 2.0,
            blotch_scale_mm: 2.0,
        }
    }

    #[test]
    fn smoothstep_runs_from_zero_to_one() {
        assert_eq!(smoothstep(1.0, 3.0, 0.0), 0.0);
        assert_eq!(smoothstep(1.0, 3.0, 2.0), 0.5);
        assert_eq!(smoothstep(1.0, 3.0, 5.0), 1.0);
    }

    #[test]
    fn homogeneous_profile_is_flat_apart_from_faint_blotches() {
        let t = texture(0.0);
        assert_eq!(t.intensity(0.0, 10.0, 0.0), 35.0);
        assert_eq!(t.intensity(0.99, 0.1, 0.0), 35.0);
        assert_eq!(t.intensity(0.7, 5.0, 1.0), 37.0);
    }

    #[test]
    fn heterogeneous_profile_has_core_rim_and_blotches() {
        let t = texture(1.0);
        // Centre, far below the surface: the core.
        assert_eq!(t.intensity(0.0, 10.0, 0.0), 15.0);
        // Between core and rim: the base.
        assert_eq!(t.intensity(0.8, 4.0, 0.0), 35.0);
        // On the surface: the rim.
        assert_eq!(t.intensity(1.0, 0.0, 0.0), 100.0);
        // Blotches: faint + heterogeneous amplitude.
        assert_eq!(t.intensity(0.8, 4.0, 1.0), 47.0);
        // Half-way: half of every departure from the base.
        assert_eq!(texture(0.5).intensity(0.0, 10.0, 0.0), 25.0);
    }
}
