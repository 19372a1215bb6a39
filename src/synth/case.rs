//! One synthetic case: draws its parameters from the case's random stream,
//! renders the noise-free image with partial volume along z, adds correlated
//! scanner noise, and draws the segmentation mask.

use ndarray::Array3;
use rand::Rng;

use super::field::{BINOMIAL_3, convolve_kernels, correlated_noise, gaussian_kernel};
use super::random::{Purpose, stream, uniform};
use super::scanner::{ENHANCING_SHIFT_HU, ScannerEffect, scanned_image};
use super::shape::{StarShape, random_harmonics};
use super::texture::{LesionTexture, smoothstep};
use super::{Phenotype, grid};
use crate::image::Volume;

/// Parameter ranges of the case (uniform draws), apart from the lesion's
/// texture ([`super::texture::ranges`]). None depends on the phenotype.
pub mod ranges {
    /// Liver parenchyma, HU.
    pub const PARENCHYMA_HU: (f64, f64) = (52.0, 68.0);
    /// Standard deviation of the scanner noise, HU.
    pub const NOISE_SD_HU: (f64, f64) = (9.0, 15.0);
    /// Radius of the undeformed lesion, mm.
    pub const RADIUS_MM: (f64, f64) = (8.0, 20.0);
    /// Σ |a| of the lesion's harmonics: its largest relative departure from a sphere.
    pub const ROUGHNESS: (f64, f64) = (0.05, 0.22);
    /// Number of harmonics of the lesion's surface.
    pub const HARMONICS: (usize, usize) = (3, 5);
    /// Displacement of the lesion's centre from the centre of the field of view, mm (x, y, z).
    pub const CENTRE_JITTER_MM: [f64; 3] = [3.0, 3.0, 2.0];
    /// Width of the lesion–parenchyma transition, mm.
    pub const EDGE_WIDTH_MM: (f64, f64) = (0.6, 1.6);
    /// Σ |a| of the extra harmonics of the segmentation's surface.
    pub const SEGMENTATION_ROUGHNESS: (f64, f64) = (0.0, 0.04);
    /// Offset of the segmentation's surface from the lesion's, mm.
    pub const SEGMENTATION_OFFSET_MM: (f64, f64) = (-0.4, 0.3);
}

/// Sub-samples per voxel along z: the 2.5 mm slice integrates the object
/// over its thickness (partial volume), in-plane voxels are small enough.
const Z_SUBSAMPLES: usize = 3;

/// Everything drawn for one case, kept for `parameters.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseParameters {
    pub phenotype: Phenotype,
    /// The class whose heterogeneity range the texture was drawn from: the
    /// phenotype, except in a multi-phase or a multi-centre cohort, where it
    /// is drawn independently of it.
    pub texture_class: Phenotype,
    pub parenchyma_hu: f64,
    pub noise_sd_hu: f64,
    pub edge_width_mm: f64,
    /// Σ |a| of the lesion's harmonics.
    pub roughness: f64,
    pub lesion: StarShape,
    /// The segmented surface: the lesion's, slightly perturbed.
    pub segmentation: StarShape,
    pub texture: LesionTexture,
}

/// A generated case: an int16 CT-like image and its uint8 mask (label 1).
#[derive(Debug, Clone)]
pub struct SyntheticCase {
    pub image: Volume<i16>,
    pub mask: Volume<u8>,
    pub parameters: CaseParameters,
}

impl CaseParameters {
    pub fn draw(rng: &mut impl Rng, phenotype: Phenotype) -> Self {
        use ranges::*;
        let draw = |rng: &mut _, (low, high): (f64, f64)| uniform(rng, low, high);
        let parenchyma_hu = draw(rng, PARENCHYMA_HU);
        let noise_sd_hu = draw(rng, NOISE_SD_HU);
        let edge_width_mm = draw(rng, EDGE_WIDTH_MM);
        let centre = CENTRE_JITTER_MM.map(|j| uniform(rng, -j, j));
        let radius = draw(rng, RADIUS_MM);
        let roughness = draw(rng, ROUGHNESS);
        let count = rng.gen_range(HARMONICS.0..=HARMONICS.1);
        let lesion = StarShape {
            centre,
            base_radius: radius,
            harmonics: random_harmonics(rng, count, roughness),
            offset: 0.0,
        };
        let segmentation_roughness = draw(rng, SEGMENTATION_ROUGHNESS);
        let extra = random_harmonics(rng, 3, segmentation_roughness);
        let segmentation = lesion.perturbed(extra, draw(rng, SEGMENTATION_OFFSET_MM));
        let texture = LesionTexture::draw(rng, phenotype);
        CaseParameters {
            phenotype,
            texture_class: phenotype,
            parenchyma_hu,
            noise_sd_hu,
            edge_width_mm,
            roughness,
            lesion,
            segmentation,
            texture,
        }
    }
}

/// Case `index` of the cohort of `seed`, with the given phenotype.
pub fn generate_case(seed: u64, index: u64, phenotype: Phenotype) -> SyntheticCase {
    generate_case_in_centre(seed, index, phenotype, None)
}

/// [`generate_case`] seen through a centre's scanner: the lesion's shape,
/// mask and noise draws are those of the single-centre cohort; its texture
/// class and attenuation follow the multi-centre phenotype model
/// ([`super::scanner`]); then the scanner's blur, noise level and HU offset
/// ([`ScannerEffect`]). Without a scanner, exactly [`generate_case`].
pub fn generate_case_in_centre(
    seed: u64,
    index: u64,
    phenotype: Phenotype,
    scanner: Option<&ScannerEffect>,
) -> SyntheticCase {
    let mut rng = stream(seed, Purpose::Image, index);
    let parameters = match scanner {
        None => CaseParameters::draw(&mut rng, phenotype),
        Some(_) => multicentre_parameters(seed, index, phenotype, &mut rng),
    };
    let geometry = grid::geometry();
    let mut object = render_object(&parameters, &mut rng);
    // The scanner's reconstruction kernel shapes the noise as well as the
    // object (its noise power spectrum): the noise's in-plane kernel is the
    // base kernel blurred by the scanner's. The noise keeps unit variance
    // and the same random draws, so only its texture changes.
    let in_plane_kernel = |geometry_axis: usize| match scanner {
        Some(s) if s.blur_mm > 0.0 => convolve_kernels(
            &BINOMIAL_3,
            &gaussian_kernel(s.blur_mm / grid::SPACING[geometry_axis]),
        ),
        _ => BINOMIAL_3.to_vec(),
    };
    let (noise_x, noise_y) = (in_plane_kernel(0), in_plane_kernel(1));
    let noise = correlated_noise(&mut rng, grid::array_shape(), [&noise_x, &noise_y, &[1.0]]);
    let image = scanned_image(&mut object, &noise, parameters.noise_sd_hu, scanner);
    let mask = draw_mask(&parameters.segmentation);
    SyntheticCase {
        image,
        mask: Volume::new(mask, geometry),
        parameters,
    }
}

/// A single-phase multi-centre case's parameters ([`super::scanner`]): the
/// texture class drawn from a stream of its own, independently of
/// `phenotype`; an enhancing lesion's levels raised by
/// [`ENHANCING_SHIFT_HU`].
fn multicentre_parameters(
    seed: u64,
    index: u64,
    phenotype: Phenotype,
    rng: &mut impl Rng,
) -> CaseParameters {
    let texture_class = Phenotype::fair_draw(&mut stream(seed, Purpose::TextureClass, index));
    let mut parameters = CaseParameters::draw(rng, texture_class);
    parameters.phenotype = phenotype;
    if phenotype == Phenotype::Heterogeneous {
        let t = &mut parameters.texture;
        t.base_hu += ENHANCING_SHIFT_HU;
        t.core_hu += ENHANCING_SHIFT_HU;
        t.rim_hu += ENHANCING_SHIFT_HU;
    }
    parameters
}

/// Index range (inclusive) along geometry axis `a` of the voxels whose
/// centres lie within `extent` mm of `centre`, clamped to the grid.
fn index_range(a: usize, centre: f64, extent: f64) -> (usize, usize) {
    let n = grid::DIMS[a];
    let to_index = |mm: f64| mm / grid::SPACING[a] + (n as f64 - 1.0) / 2.0;
    let low = to_index(centre - extent).floor().max(0.0) as usize;
    let high = (to_index(centre + extent).ceil().max(0.0) as usize).min(n - 1);
    (low, high.max(low))
}

/// Bounding box (inclusive index ranges along x, y, z) of `shape` grown by `margin` mm.
fn bounding_box(shape: &StarShape, margin: f64) -> [(usize, usize); 3] {
    let extent = shape.max_radius() + margin;
    [0, 1, 2].map(|a| index_range(a, shape.centre[a], extent))
}

/// The noise-free image: parenchyma everywhere, the lesion blended in with
/// a soft edge, each voxel averaged over its slice thickness.
pub(super) fn render_object(p: &CaseParameters, rng: &mut impl Rng) -> Array3<f32> {
    let mut object = Array3::from_elem(grid::array_shape(), p.parenchyma_hu as f32);
    let half_edge = 0.5 * p.edge_width_mm;
    let bbox = bounding_box(&p.lesion, half_edge + grid::SPACING[2]);
    let [(i0, i1), (j0, j1), (k0, k1)] = bbox;
    // The blotch field covers the bounding box only: it is not seen elsewhere.
    let scale = p.texture.blotch_scale_mm;
    let kernels = [0, 1, 2].map(|a| gaussian_kernel(scale / grid::SPACING[a]));
    let blotches = correlated_noise(
        rng,
        [k1 - k0 + 1, j1 - j0 + 1, i1 - i0 + 1],
        [&kernels[0], &kernels[1], &kernels[2]],
    );
    let dz = grid::SPACING[2];
    for k in k0..=k1 {
        for j in j0..=j1 {
            for i in i0..=i1 {
                let centre = grid::local_position(i, j, k);
                let blotch = blotches[[k - k0, j - j0, i - i0]] as f64;
                let mut sum = 0.0;
                for s in 0..Z_SUBSAMPLES {
                    let offset = ((s as f64 + 0.5) / Z_SUBSAMPLES as f64 - 0.5) * dz;
                    let point = [centre[0], centre[1], centre[2] + offset];
                    sum += blend(p, point, blotch, half_edge);
                }
                object[[k, j, i]] = (sum / Z_SUBSAMPLES as f64) as f32;
            }
        }
    }
    object
}

/// Noise-free intensity at `point`: the lesion's texture inside, the
/// parenchyma outside, a smooth step of `2 · half_edge` mm between them.
fn blend(p: &CaseParameters, point: [f64; 3], blotch: f64, half_edge: f64) -> f64 {
    let (rho, radius) = p.lesion.locate(point);
    let outside_mm = (rho - 1.0) * radius;
    let lesion_weight = 1.0 - smoothstep(-half_edge, half_edge, outside_mm);
    if lesion_weight == 0.0 {
        return p.parenchyma_hu;
    }
    let lesion = p.texture.intensity(rho, -outside_mm, blotch);
    p.parenchyma_hu + lesion_weight * (lesion - p.parenchyma_hu)
}

/// Label 1 at the voxels whose centres lie inside the segmented surface.
pub(super) fn draw_mask(segmentation: &StarShape) -> Array3<u8> {
    let mut mask = Array3::zeros(grid::array_shape());
    let [(i0, i1), (j0, j1), (k0, k1)] = bounding_box(segmentation, 0.0);
    for k in k0..=k1 {
        for j in j0..=j1 {
            for i in i0..=i1 {
                if segmentation.contains(grid::local_position(i, j, k)) {
                    mask[[k, j, i]] = 1;
                }
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_range_covers_the_extent_and_clamps() {
        // x: 96 voxels of 0.8 mm, centre between voxels 47 and 48 (at 47.5).
        assert_eq!(index_range(0, 0.0, 0.4), (47, 48));
        assert_eq!(index_range(0, 0.0, 1000.0), (0, 95));
        // z: 24 slices of 2.5 mm; 5 mm above the centre is index 13.5.
        assert_eq!(index_range(2, 5.0, 0.0), (13, 14));
    }

    #[test]
    fn mask_of_a_sphere_counts_its_voxels() {
        let mask = draw_mask(&StarShape::sphere([0.0; 3], 10.0));
        let count = mask.iter().filter(|&&v| v == 1).count();
        // Volume 4/3 π 10³ ≈ 4189 mm³ over voxels of 1.6 mm³ ≈ 2618.
        assert!((count as f64 - 2618.0).abs() < 0.04 * 2618.0, "{count}");
    }

    #[test]
    fn lesion_and_parenchyma_appear_at_their_intensities() {
        let mut rng = stream(1, Purpose::Image, 0);
        let mut p = CaseParameters::draw(&mut rng, Phenotype::Homogeneous);
        p.lesion = StarShape::sphere([0.0; 3], 12.0);
        p.texture.heterogeneity = 0.0;
        p.texture.faint_blotch_hu = 0.0;
        let object = render_object(&p, &mut rng);
        // Voxel (47, 47, 11) is 0.4 mm, 0.4 mm, -1.25 mm from the centre.
        assert!((object[[11, 47, 47]] as f64 - p.texture.base_hu).abs() < 1e-4);
        assert!((object[[0, 0, 0]] as f64 - p.parenchyma_hu).abs() < 1e-4);
    }

    #[test]
    fn a_multicentre_enhancing_lesion_is_the_hypoenhancing_one_raised() {
        use crate::synth::scanner::PROFILES;
        // Centre 1's scanner has no effect: the two phenotypes of one case
        // differ by the shift alone (less at the partial-volume edge).
        let (offset, noise, blur) = PROFILES[0];
        assert_eq!((offset, noise, blur), (0.0, 1.0, 0.0));
        let centre = ScannerEffect::of_case(0, 3);
        let hypo = generate_case_in_centre(3, 0, Phenotype::Homogeneous, Some(&centre));
        let enhancing = generate_case_in_centre(3, 0, Phenotype::Heterogeneous, Some(&centre));
        assert_eq!(hypo.mask, enhancing.mask);
        assert_eq!(
            hypo.parameters.texture_class,
            enhancing.parameters.texture_class
        );
        assert_eq!(
            hypo.parameters.texture.heterogeneity,
            enhancing.parameters.texture.heterogeneity
        );
        let mean_in_mask = |c: &SyntheticCase| {
            let inside: Vec<f64> = c
                .image
                .data
                .iter()
                .zip(c.mask.data.iter())
                .filter(|(_, m)| **m == 1)
                .map(|(v, _)| *v as f64)
                .collect();
            inside.iter().sum::<f64>() / inside.len() as f64
        };
        let gap = mean_in_mask(&enhancing) - mean_in_mask(&hypo);
        assert!(
            gap > 0.8 * ENHANCING_SHIFT_HU && gap <= ENHANCING_SHIFT_HU + 0.5,
            "{gap}"
        );
        // The texture class is drawn apart: over cases, it disagrees with
        // the phenotype about as often as it agrees.
        let agree = (0..40)
            .filter(|&i| {
                let c = generate_case_in_centre(3, i, Phenotype::Heterogeneous, Some(&centre));
                c.parameters.texture_class == Phenotype::Heterogeneous
            })
            .count();
        assert!((10..=30).contains(&agree), "{agree} of 40");
    }
}
