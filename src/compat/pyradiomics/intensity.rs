//! The voxel-wise intensity maps of PyRadiomics: normalisation of the
//! loaded image (`normalize`, `normalizeScale`, `removeOutliers`) and the
//! derived image types Square, SquareRoot, Logarithm and Exponential.
//!
//! Each is a function of one voxel's value and of statistics of the WHOLE
//! image (its mean and standard deviation, its largest magnitude), as
//! PyRadiomics computes them before cropping to the ROI. They are applied in
//! f64 to the original f32 intensities, as PyRadiomics casts to float64.

use super::params::{ImageType, Settings};
use crate::image::Volume;

/// A map from an original intensity to the intensity features see.
pub type IntensityMap = Box<dyn Fn(f32) -> f64 + Send + Sync>;

/// `normalize: true`: SimpleITK's Normalize (mean and the n−1 standard
/// deviation of every voxel, applied as (x − mean) × (1 / σ)), outliers
/// clipped at ±`removeOutliers`, then multiplied by `normalizeScale`.
#[derive(Debug, Clone, Copy)]
pub struct Normalisation {
    mean: f64,
    inverse_sigma: f64,
    outliers: Option<f64>,
    scale: f64,
}

impl Normalisation {
    /// The normalisation the settings ask for, if any.
    pub fn of(image: &Volume<f32>, s: &Settings) -> Option<Normalisation> {
        if s.normalize != Some(true) {
            return None;
        }
        let n = image.data.len() as f64;
        // Compensated sums: the mean and variance of millions of voxels
        // without the drift of a naive sum.
        let (mut sum, mut sum_c) = (0.0f64, 0.0f64);
        let (mut sq, mut sq_c) = (0.0f64, 0.0f64);
        for &v in image.data.iter() {
            let v = f64::from(v);
            kahan_add(&mut sum, &mut sum_c, v);
            kahan_add(&mut sq, &mut sq_c, v * v);
        }
        let mean = sum / n;
        let variance = (sq - sum * sum / n) / (n - 1.0);
        let sigma = variance.max(0.0).sqrt();
        Some(Normalisation {
            mean,
            // A constant image: SimpleITK divides by zero as well; keep the
            // values finite and unchanged in spread (all zero).
            inverse_sigma: if sigma > 0.0 { 1.0 / sigma } else { 0.0 },
            outliers: s.remove_outliers,
            scale: s.normalize_scale.unwrap_or(1.0),
        })
    }

    pub fn apply(&self, v: f64) -> f64 {
        let mut x = (v - self.mean) * self.inverse_sigma;
        if let Some(o) = self.outliers {
            x = x.clamp(-o, o);
        }
        x * self.scale
    }
}

fn kahan_add(sum: &mut f64, compensation: &mut f64, v: f64) {
    let y = v - *compensation;
    let t = *sum + y;
    *compensation = (t - *sum) - y;
    *sum = t;
}

/// The intensities of the ROI's voxels through `values`, in raster order.
pub fn roi_values(image: &Volume<f32>, mask: &Volume<bool>, values: &IntensityMap) -> Vec<f64> {
    image
        .data
        .iter()
        .zip(mask.data.iter())
        .filter(|(_, m)| **m)
        .map(|(&v, _)| values(v))
        .collect()
}

/// The intensities of the loaded image: normalised when asked.
pub fn loaded_map(normalisation: Option<Normalisation>) -> IntensityMap {
    match normalisation {
        Some(n) => Box::new(move |v| n.apply(f64::from(v))),
        None => Box::new(f64::from),
    }
}

/// The map of a voxel-wise image type, on top of the loaded image's map;
/// `None` for the image types that are not voxel-wise (filters).
pub fn image_type_map(
    t: ImageType,
    image: &Volume<f32>,
    loaded: IntensityMap,
) -> Option<IntensityMap> {
    if t == ImageType::Original {
        return Some(loaded);
    }
    if !matches!(
        t,
        ImageType::Square | ImageType::SquareRoot | ImageType::Logarithm | ImageType::Exponential
    ) {
        return None;
    }
    // max(|x|) over the whole loaded image.
    let max_abs = image
        .data
        .iter()
        .map(|&v| loaded(v).abs())
        .fold(0.0f64, f64::max);
    Some(match t {
        ImageType::Square => {
            let c = 1.0 / max_abs.sqrt();
            Box::new(move |v| (c * loaded(v)).powi(2))
        }
        ImageType::SquareRoot => Box::new(move |v| {
            let x = loaded(v);
            if x > 0.0 {
                (x * max_abs).sqrt()
            } else if x < 0.0 {
                -(-x * max_abs).sqrt()
            } else {
                x
            }
        }),
        ImageType::Logarithm => {
            // PyRadiomics rescales by max|x| / max|log|, the latter being
            // the log of the voxel of largest magnitude.
            let log = |x: f64| {
                if x > 0.0 {
                    (x + 1.0).ln()
                } else if x < 0.0 {
                    -(-(x - 1.0)).ln()
                } else {
                    x
                }
            };
            let max_log = image
                .data
                .iter()
                .map(|&v| log(loaded(v)).abs())
                .fold(0.0f64, f64::max);
            let c = max_abs / max_log;
            Box::new(move |v| log(loaded(v)) * c)
        }
        ImageType::Exponential => {
            let c = max_abs.ln() / max_abs;
            Box::new(move |v| (c * loaded(v)).exp())
        }
        _ => unreachable!("voxel-wise types only"),
    })
}

/// The column prefix PyRadiomics gives a voxel-wise image type.
pub fn prefix(t: ImageType) -> Option<&'static str> {
    Some(match t {
        ImageType::Original => "original",
        ImageType::Square => "square",
        ImageType::SquareRoot => "squareroot",
        ImageType::Logarithm => "logarithm",
        ImageType::Exponential => "exponential",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    fn volume(values: &[f32]) -> Volume<f32> {
        let data = ndarray::Array3::from_shape_vec((1, 1, values.len()), values.to_vec()).unwrap();
        Volume::new(data, Geometry::new([1.0; 3], [0.0; 3]))
    }

    #[test]
    fn normalisation_uses_the_sample_deviation_then_clips_then_scales() {
        // SimpleITK's Normalize of [1, 2, 3, 10]: mean 4, sample sd
        // sqrt(50 / 3); it gives -0.73484692 for 1.
        let image = volume(&[1.0, 2.0, 3.0, 10.0]);
        let s = Settings {
            normalize: Some(true),
            normalize_scale: Some(100.0),
            remove_outliers: Some(1.0),
            ..Default::default()
        };
        let map = loaded_map(Normalisation::of(&image, &s));
        let sd = (50.0f64 / 3.0).sqrt();
        assert!((map(1.0) - 100.0 * (-3.0 / sd)).abs() < 1e-12);
        assert!((map(1.0) / 100.0 + 0.73484692).abs() < 1e-8);
        // (10 - 4) / sd = 1.41 is clipped to 1 before the scale.
        assert_eq!(map(10.0), 100.0);
    }

    #[test]
    fn derived_types_follow_pyradiomics_formulas() {
        let image = volume(&[-4.0, 0.0, 1.0, 16.0]);
        let id = || loaded_map(None);
        let square = image_type_map(ImageType::Square, &image, id()).unwrap();
        assert!((square(16.0) - 16.0).abs() < 1e-12 && (square(-4.0) - 1.0).abs() < 1e-12);
        let root = image_type_map(ImageType::SquareRoot, &image, id()).unwrap();
        assert_eq!((root(16.0), root(-4.0), root(0.0)), (16.0, -8.0, 0.0));
        let log = image_type_map(ImageType::Logarithm, &image, id()).unwrap();
        assert!((log(16.0) - 16.0).abs() < 1e-12);
        assert!((log(-4.0) + 5.0f64.ln() * 16.0 / 17.0f64.ln()).abs() < 1e-12);
        let exp = image_type_map(ImageType::Exponential, &image, id()).unwrap();
        assert!((exp(16.0) - 16.0).abs() < 1e-9 && (exp(0.0) - 1.0).abs() < 1e-12);
        assert!(image_type_map(ImageType::LoG, &image, id()).is_none());
    }
}
