//! Image perturbations for robustness studies (Zwanenburg et al. 2019,
//! "Assessing robustness of radiomic features by image perturbation",
//! Sci Rep 9:614): each variant of a case is the case's image and mask
//! changed by a combination of noise, rotation, translation, volume
//! adaptation and contour randomisation, a deterministic function of
//! (seed, case id, variant index, settings).
//!
//! The perturbations are applied in the paper's order: noise is added to the
//! image as acquired, the image and mask are then rotated and translated
//! (image and mask interpolated together, the mask re-thresholded at 0.5 as
//! IBSI interpolation does), and the ROI is finally adapted (volume, then
//! contour) on the perturbed grid.

mod contour;
mod distance;
mod noise;
mod rotation;
mod supervoxel;
mod translation;
mod volume;

pub use contour::{randomise_contour_by_blocks, randomise_contour_by_supervoxels};
pub use noise::{add_noise, estimate_noise_sd};
pub use rotation::rotate_axial;
pub use translation::translate;
pub use volume::adapt_volume;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::image::Volume;
use crate::{Error, Result};

/// The most variants one perturb stage may ask for (each is a task per case
/// and per downstream stage).
pub const MAX_VARIANTS: u32 = 10_000;

/// The `perturb` stage's settings. Every perturbation is optional; the
/// variants combine those given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerturbSettings {
    /// Seeds every random choice (with the case id and the variant index).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Number of variants. Absent: one variant per point of the grid of the
    /// lists given (angles × translation fractions × volume fractions ×
    /// noise repeats × contour repeats). Given: each variant draws its
    /// angle, its translation (per axis) and its volume fraction from the
    /// lists at random.
    #[serde(default)]
    pub variants: Option<u32>,
    #[serde(default)]
    pub rotation: Option<RotationSettings>,
    #[serde(default)]
    pub translation: Option<TranslationSettings>,
    #[serde(default)]
    pub noise: Option<RepeatSettings>,
    #[serde(default)]
    pub volume: Option<VolumeSettings>,
    #[serde(default)]
    pub contour: Option<ContourSettings>,
}

fn default_seed() -> u64 {
    42
}

/// Rotation about the axial (z) axis through the grid centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationSettings {
    /// Angles in degrees.
    pub angles: Vec<f64>,
}

/// Translation by fractions of a voxel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslationSettings {
    /// Fractions of the voxel spacing; in grid mode the same fraction is
    /// applied along x, y and z, with `variants` each axis draws its own.
    pub fractions: Vec<f64>,
}

/// A random perturbation repeated with fresh draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatSettings {
    #[serde(default = "one")]
    pub repeats: u32,
}

/// Growth (positive) or shrinkage (negative) of the ROI by a fraction of
/// its volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSettings {
    pub fractions: Vec<f64>,
}

/// Contour randomisation: over SLIC supervoxels of about `supervoxel_mm3`
/// (default 500 mm³, as MIRP), or over blocks of about `block_mm` per side
/// (default 3 mm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContourSettings {
    #[serde(default = "one")]
    pub repeats: u32,
    #[serde(default)]
    pub method: ContourMethod,
    #[serde(default)]
    pub supervoxel_mm3: Option<f64>,
    #[serde(default)]
    pub block_mm: Option<f64>,
}

/// How a contour is redrawn (see [`contour`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContourMethod {
    /// SLIC supervoxels of the image, as the paper does.
    #[default]
    Supervoxel,
    /// Cubes on a randomly offset grid, blind to the image.
    Block,
}

fn one() -> u32 {
    1
}

const DEFAULT_BLOCK_MM: f64 = 3.0;
const DEFAULT_SUPERVOXEL_MM3: f64 = 500.0;

/// What one variant does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variant {
    /// Degrees about the axial axis.
    pub angle: f64,
    /// Fractions of a voxel along (x, y, z).
    pub translation: [f64; 3],
    pub noise: bool,
    /// Fraction of the ROI volume to add (negative: remove).
    pub volume: f64,
    pub contour: bool,
}

impl ContourSettings {
    /// A size must be positive and belong to the method chosen.
    fn validate(&self) -> Result<()> {
        let sizes = [
            (
                "contour.supervoxel_mm3",
                self.supervoxel_mm3,
                ContourMethod::Supervoxel,
            ),
            ("contour.block_mm", self.block_mm, ContourMethod::Block),
        ];
        for (name, size, method) in sizes {
            let Some(size) = size else { continue };
            if method != self.method {
                return Err(Error::setting(
                    name,
                    format!(
                        "applies to `method: {}`, not to `method: {}`",
                        method.name(),
                        self.method.name()
                    ),
                ));
            }
            if !(size.is_finite() && size > 0.0) {
                return Err(Error::setting(
                    name,
                    format!("{size} is not a positive size"),
                ));
            }
        }
        Ok(())
    }

    /// The mask redrawn by the chosen method.
    fn randomise(
        &self,
        image: &Volume<f32>,
        mask: &Volume<bool>,
        rng: &mut impl Rng,
    ) -> Volume<bool> {
        match self.method {
            ContourMethod::Supervoxel => randomise_contour_by_supervoxels(
                image,
                mask,
                self.supervoxel_mm3.unwrap_or(DEFAULT_SUPERVOXEL_MM3),
                rng,
            ),
            ContourMethod::Block => {
                randomise_contour_by_blocks(mask, self.block_mm.unwrap_or(DEFAULT_BLOCK_MM), rng)
            }
        }
    }
}

impl ContourMethod {
    fn name(self) -> &'static str {
        match self {
            ContourMethod::Supervoxel => "supervoxel",
            ContourMethod::Block => "block",
        }
    }
}

fn list_or_zero(list: Option<&Vec<f64>>) -> Vec<f64> {
    match list {
        Some(l) if !l.is_empty() => l.clone(),
        _ => vec![0.0],
    }
}

impl PerturbSettings {
    /// Value checks, at planning: the messages name the setting.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, m: String| Err(Error::setting(what, m));
        if self.rotation.is_none()
            && self.translation.is_none()
            && self.noise.is_none()
            && self.volume.is_none()
            && self.contour.is_none()
        {
            return bad(
                "perturb",
                "no perturbation given: set at least one of rotation, translation, noise, volume, contour"
                    .into(),
            );
        }
        let lists = [
            ("rotation.angles", self.rotation.as_ref().map(|r| &r.angles)),
            (
                "translation.fractions",
                self.translation.as_ref().map(|t| &t.fractions),
            ),
            (
                "volume.fractions",
                self.volume.as_ref().map(|v| &v.fractions),
            ),
        ];
        for (name, list) in lists {
            let Some(list) = list else { continue };
            if list.is_empty() {
                return bad(name, "the list is empty".into());
            }
            if let Some(v) = list.iter().find(|v| !v.is_finite()) {
                return bad(name, format!("{v} is not a finite number"));
            }
        }
        if let Some(v) = &self.volume
            && let Some(f) = v.fractions.iter().find(|&&f| f <= -1.0)
        {
            return bad(
                "volume.fractions",
                format!(
                    "{f}: a ROI cannot shrink by its whole volume or more (fractions must be above -1)"
                ),
            );
        }
        for (name, r) in [
            ("noise.repeats", self.noise.as_ref().map(|n| n.repeats)),
            ("contour.repeats", self.contour.as_ref().map(|c| c.repeats)),
        ] {
            if r == Some(0) {
                return bad(name, "must be at least 1".into());
            }
        }
        if let Some(c) = &self.contour {
            c.validate()?;
        }
        match self.variants {
            Some(0) => bad("variants", "must be at least 1".into()),
            Some(n) if n > MAX_VARIANTS => bad(
                "variants",
                format!("{n} is more than the {MAX_VARIANTS} variants allowed"),
            ),
            None if self.grid_size() > MAX_VARIANTS as u64 => bad(
                "variants",
                format!(
                    "the grid of the lists given has {} points, more than the {MAX_VARIANTS} variants allowed: set `variants`",
                    self.grid_size()
                ),
            ),
            _ => Ok(()),
        }
    }

    fn grid_axes(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>, u32, u32) {
        (
            list_or_zero(self.rotation.as_ref().map(|r| &r.angles)),
            list_or_zero(self.translation.as_ref().map(|t| &t.fractions)),
            list_or_zero(self.volume.as_ref().map(|v| &v.fractions)),
            self.noise.as_ref().map_or(1, |n| n.repeats),
            self.contour.as_ref().map_or(1, |c| c.repeats),
        )
    }

    fn grid_size(&self) -> u64 {
        let (a, t, v, n, c) = self.grid_axes();
        a.len() as u64 * t.len() as u64 * v.len() as u64 * u64::from(n) * u64::from(c)
    }

    /// How many variants each case fans out into.
    pub fn variant_count(&self) -> u32 {
        self.variants
            .unwrap_or_else(|| self.grid_size().min(u64::from(MAX_VARIANTS)) as u32)
    }

    /// Variant `v` of case `case_id`: a grid point (angle slowest, contour
    /// repeat fastest), or with `variants` a random draw from the lists.
    pub fn variant(&self, case_id: &str, v: u32) -> Variant {
        let (angles, fractions, volumes, noise_repeats, contour_repeats) = self.grid_axes();
        let (angle, translation, volume) = if self.variants.is_some() {
            let mut rng = self.rng(case_id, v, "design");
            let mut pick = |list: &[f64]| list[rng.gen_range(0..list.len())];
            let angle = pick(&angles);
            let translation = [pick(&fractions), pick(&fractions), pick(&fractions)];
            (angle, translation, pick(&volumes))
        } else {
            let mut k = v as usize / (noise_repeats as usize * contour_repeats as usize);
            let volume = volumes[k % volumes.len()];
            k /= volumes.len();
            let t = fractions[k % fractions.len()];
            k /= fractions.len();
            (angles[k % angles.len()], [t, t, t], volume)
        };
        Variant {
            angle,
            translation,
            noise: self.noise.is_some(),
            volume,
            contour: self.contour.is_some(),
        }
    }

    /// The random stream of one purpose of one variant: independent of
    /// every other variant, case and purpose, and of the thread running it.
    pub fn rng(&self, case_id: &str, v: u32, purpose: &str) -> ChaCha8Rng {
        let mut h = Sha256::new();
        h.update(
            format!(
                "radial perturb 1\n{}\n{case_id:?}\n{v}\n{purpose}\n",
                self.seed
            )
            .as_bytes(),
        );
        ChaCha8Rng::from_seed(h.finalize().into())
    }

    /// Variant `v` of a case's image and mask.
    pub fn apply(
        &self,
        case_id: &str,
        v: u32,
        image: &Volume<f32>,
        mask: &Volume<bool>,
    ) -> Result<(Volume<f32>, Volume<bool>)> {
        if image.dims() != mask.dims() {
            return Err(Error::data(format!(
                "case `{case_id}`: image and mask grids differ: {:?} vs {:?} voxels",
                image.dims(),
                mask.dims()
            )));
        }
        let variant = self.variant(case_id, v);
        let mut image = image.clone();
        let mut mask = mask.clone();
        if variant.noise {
            let sd = estimate_noise_sd(&image);
            add_noise(&mut image, sd, &mut self.rng(case_id, v, "noise"));
        }
        if variant.angle != 0.0 {
            (image, mask) = rotate_axial(&image, &mask, variant.angle);
        }
        if variant.translation != [0.0; 3] {
            (image, mask) = translate(&image, &mask, variant.translation);
        }
        if variant.volume != 0.0 {
            mask = adapt_volume(&mask, variant.volume).map_err(|e| {
                Error::data(format!(
                    "case `{case_id}`, variant {v}: volume adaptation by {}: {e}",
                    variant.volume
                ))
            })?;
        }
        if variant.contour
            && let Some(contour) = &self.contour
        {
            mask = contour.randomise(&image, &mask, &mut self.rng(case_id, v, "contour"));
        }
        if !mask.data.iter().any(|&m| m) {
            return Err(Error::data(format!(
                "case `{case_id}`, variant {v}: the perturbed ROI is empty ({variant:?})"
            )));
        }
        Ok((image, mask))
    }
}

/// A mask interpolated as 0/1 values, thresholded at 0.5 (IBSI 2.4).
fn threshold(values: ndarray::Array3<f64>) -> ndarray::Array3<bool> {
    values.mapv(|m| m >= 0.5)
}

#[cfg(test)]
pub(crate) mod test_volumes {
    use ndarray::Array3;

    use crate::image::{Geometry, Volume};

    /// A `n`³ grid with spacing `s` holding a ball of radius `r` voxels.
    pub fn ball(n: usize, r: f64, s: [f64; 3]) -> (Volume<f32>, Volume<bool>) {
        let c = (n as f64 - 1.0) / 2.0;
        let mask = Array3::from_shape_fn((n, n, n), |(k, j, i)| {
            let d2 = (i as f64 - c).powi(2) + (j as f64 - c).powi(2) + (k as f64 - c).powi(2);
            d2 <= r * r
        });
        let image = Array3::from_shape_fn((n, n, n), |(k, j, i)| {
            (i as f32) * 3.0 + (j as f32) * 2.0 + k as f32
        });
        let g = Geometry::new(s, [0.0; 3]);
        (Volume::new(image, g), Volume::new(mask, g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: serde_json::Value) -> PerturbSettings {
        serde_json::from_value(yaml).unwrap()
    }

    #[test]
    fn the_grid_enumerates_every_combination_angle_slowest() {
        let s = settings(serde_json::json!({
            "rotation": {"angles": [-5.0, 5.0]},
            "translation": {"fractions": [0.0, 0.5]},
            "noise": {"repeats": 2}
        }));
        s.validate().unwrap();
        assert_eq!(s.variant_count(), 8);
        let v: Vec<Variant> = (0..8).map(|v| s.variant("a", v)).collect();
        assert_eq!(v[0].angle, -5.0);
        assert_eq!(v[0].translation, [0.0; 3]);
        assert_eq!(v[1].translation, [0.0; 3]);
        assert_eq!(v[2].translation, [0.5; 3]);
        assert_eq!(v[4].angle, 5.0);
        assert!(v.iter().all(|v| v.noise && !v.contour && v.volume == 0.0));
    }

    #[test]
    fn random_variants_depend_on_seed_case_and_index_only() {
        let s = settings(serde_json::json!({
            "variants": 20, "rotation": {"angles": [-15.0, 0.0, 15.0]},
            "volume": {"fractions": [-0.1, 0.0, 0.1]}
        }));
        let a: Vec<Variant> = (0..20).map(|v| s.variant("a", v)).collect();
        let again: Vec<Variant> = (0..20).rev().map(|v| s.variant("a", v)).rev().collect();
        assert_eq!(a, again);
        let b: Vec<Variant> = (0..20).map(|v| s.variant("b", v)).collect();
        assert_ne!(a, b);
        assert!(a.iter().any(|v| v.angle == 15.0) && a.iter().any(|v| v.angle == -15.0));
    }

    #[test]
    fn bad_values_are_refused_naming_the_setting() {
        let cases = [
            (serde_json::json!({"variants": 0, "noise": {}}), "variants"),
            (
                serde_json::json!({"volume": {"fractions": [-1.5]}}),
                "volume.fractions",
            ),
            (
                serde_json::json!({"rotation": {"angles": []}}),
                "rotation.angles",
            ),
            (
                serde_json::json!({"contour": {"repeats": 0}}),
                "contour.repeats",
            ),
            (serde_json::json!({"seed": 1}), "no perturbation"),
        ];
        for (json, want) in cases {
            let e = settings(json.clone()).validate().unwrap_err().to_string();
            assert!(e.contains(want), "{json}: {e}");
        }
        let unknown = serde_json::from_value::<PerturbSettings>(serde_json::json!({"blur": {}}));
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown field `blur`")
        );
    }
}
