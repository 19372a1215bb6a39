//! The IBSI diagnostic values (reference manual, "Diagnostic features"):
//! how the image and the ROI masks change at each processing step. Tags are
//! those of the IBSI reference tables, e.g. `img_dim_x_init_img`,
//! `int_mask_vox_count_reseg_roi`.

use ndarray::Array3;

use super::crop::{bounding_box, box_extent};
use crate::features::FeatureSet;

const AXES: [&str; 3] = ["x", "y", "z"];

/// Mean, minimum and maximum of a set of intensities (NaN when empty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntensityStats {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl IntensityStats {
    pub fn of(values: impl Iterator<Item = f64>) -> Self {
        let mut acc = StatsAccumulator::default();
        values.for_each(|v| acc.add(v));
        acc.finish()
    }
}

/// Running count, sum, minimum and maximum. Partial accumulators merged in
/// a fixed order give the same result whatever thread computed each part.
#[derive(Debug, Clone, Copy)]
pub struct StatsAccumulator {
    n: usize,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for StatsAccumulator {
    fn default() -> Self {
        StatsAccumulator {
            n: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl StatsAccumulator {
    pub fn add(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn merge(self, other: StatsAccumulator) -> StatsAccumulator {
        StatsAccumulator {
            n: self.n + other.n,
            sum: self.sum + other.sum,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    pub fn finish(self) -> IntensityStats {
        if self.n == 0 {
            return IntensityStats {
                mean: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        IntensityStats {
            mean: self.sum / self.n as f64,
            min: self.min,
            max: self.max,
        }
    }
}

/// The image diagnostics (`stage` is `init_img` or `interp_img`).
pub fn push_image(
    out: &mut FeatureSet,
    stage: &str,
    dims: [usize; 3],
    spacing: [f64; 3],
    stats: IntensityStats,
) {
    for a in 0..3 {
        out.push(format!("img_dim_{}_{stage}", AXES[a]), dims[a] as f64);
    }
    for a in 0..3 {
        out.push(format!("vox_dim_{}_{stage}", AXES[a]), spacing[a]);
    }
    out.push(format!("mean_int_{stage}"), stats.mean);
    out.push(format!("min_int_{stage}"), stats.min);
    out.push(format!("max_int_{stage}"), stats.max);
}

/// The ROI diagnostics (`stage` is `init_roi`, `interp_roi` or
/// `reseg_roi`). `grid_dims` is the size of the whole image grid (the masks
/// given may be a crop of it); intensities are read where `int_mask` is set.
pub fn push_roi<T: Copy + Into<f64>>(
    out: &mut FeatureSet,
    stage: &str,
    grid_dims: [usize; 3],
    image: &Array3<T>,
    int_mask: &Array3<bool>,
    morph_mask: &Array3<bool>,
) {
    let int_bb = box_extent(bounding_box(int_mask));
    let morph_bb = box_extent(bounding_box(morph_mask));
    for a in 0..3 {
        out.push(
            format!("int_mask_dim_{}_{stage}", AXES[a]),
            grid_dims[a] as f64,
        );
    }
    for a in 0..3 {
        out.push(
            format!("int_mask_bb_dim_{}_{stage}", AXES[a]),
            int_bb[a] as f64,
        );
    }
    for a in 0..3 {
        out.push(
            format!("morph_mask_bb_dim_{}_{stage}", AXES[a]),
            morph_bb[a] as f64,
        );
    }
    let count = |m: &Array3<bool>| m.iter().filter(|&&b| b).count() as f64;
    out.push(format!("int_mask_vox_count_{stage}"), count(int_mask));
    out.push(format!("morph_mask_vox_count_{stage}"), count(morph_mask));
    let stats = IntensityStats::of(
        image
            .iter()
            .zip(int_mask.iter())
            .filter(|(_, m)| **m)
            .map(|(v, _)| (*v).into()),
    );
    out.push(format!("int_mask_mean_int_{stage}"), stats.mean);
    out.push(format!("int_mask_min_int_{stage}"), stats.min);
    out.push(format!("int_mask_max_int_{stage}"), stats.max);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_diagnostics_by_hand() {
        let image =
            Array3::from_shape_vec((1, 2, 3), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let morph =
            Array3::from_shape_vec((1, 2, 3), vec![true, true, false, false, true, true]).unwrap();
        let mut int = morph.clone();
        int[[0, 1, 2]] = false;
        let mut out = FeatureSet::new();
        push_roi(&mut out, "reseg_roi", [3, 2, 1], &image, &int, &morph);
        assert_eq!(out.get("int_mask_dim_x_reseg_roi"), Some(3.0));
        assert_eq!(out.get("int_mask_bb_dim_x_reseg_roi"), Some(2.0));
        assert_eq!(out.get("morph_mask_bb_dim_x_reseg_roi"), Some(3.0));
        assert_eq!(out.get("morph_mask_bb_dim_y_reseg_roi"), Some(2.0));
        assert_eq!(out.get("int_mask_vox_count_reseg_roi"), Some(3.0));
        assert_eq!(out.get("morph_mask_vox_count_reseg_roi"), Some(4.0));
        assert_eq!(out.get("int_mask_mean_int_reseg_roi"), Some(8.0 / 3.0));
        assert_eq!(out.get("int_mask_min_int_reseg_roi"), Some(1.0));
        assert_eq!(out.get("int_mask_max_int_reseg_roi"), Some(5.0));
        assert_eq!(out.len(), 14);
    }
}
