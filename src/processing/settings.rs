//! Settings of the IBSI processing chain and of the feature families: the
//! same structures are the parameters of the pipeline stages, so a settings
//! file for `radial extract` and a pipeline stage read identically.
//!
//! Every structure rejects unknown keys: a misspelled setting is an error,
//! never a silent default.

use serde::{Deserialize, Serialize};

/// Everything `radial extract` needs to turn an image and a mask into features.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractionSettings {
    /// Resampling to a new grid; absent: keep the original grid.
    #[serde(default)]
    pub interpolation: Option<InterpolationSettings>,
    #[serde(default)]
    pub resegmentation: ResegmentationSettings,
    /// Discretisation for the intensity histogram and the texture families.
    #[serde(default)]
    pub discretisation: DiscretisationSettings,
    /// Discretisation for the intensity-volume histogram (IBSI treats it separately).
    #[serde(default)]
    pub ivh: DiscretisationSettings,
    #[serde(default)]
    pub texture: TextureSettings,
    /// Feature families to compute, in output order. Default: all of them.
    #[serde(default = "Family::all")]
    pub families: Vec<Family>,
}

/// Interpolation of image and mask to a new voxel spacing (IBSI 2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterpolationSettings {
    /// New voxel spacing (x, y, z) in mm. With `in_plane_only`, z is ignored.
    pub spacing: [f64; 3],
    /// Interpolate within each axial slice only (2D), keeping the slices.
    #[serde(default)]
    pub in_plane_only: bool,
    #[serde(default = "Interpolator::linear")]
    pub image: Interpolator,
    #[serde(default = "Interpolator::linear")]
    pub mask: Interpolator,
    /// An interpolated mask voxel belongs to the ROI when its value is at least this.
    #[serde(default = "default_partial_volume")]
    pub partial_volume_threshold: f64,
    /// Round interpolated intensities to the nearest integer (CT: Hounsfield units).
    #[serde(default)]
    pub round_intensities: bool,
}

fn default_partial_volume() -> f64 {
    0.5
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolator {
    Nearest,
    Linear,
    /// Tricubic spline.
    Cubic,
}

impl Interpolator {
    fn linear() -> Self {
        Interpolator::Linear
    }
}

/// Re-segmentation of the intensity mask (IBSI 2.5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResegmentationSettings {
    /// Keep voxels whose intensity lies in `[low, high]`; `null` leaves a side open.
    #[serde(default)]
    pub range: Option<[Option<f64>; 2]>,
    /// Remove voxels outside mean ± `outlier_sigma`·σ (IBSI uses 3).
    #[serde(default)]
    pub outlier_sigma: Option<f64>,
}

/// Discretisation of intensities into grey levels 1..=Ng (IBSI 2.6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum DiscretisationSettings {
    /// Intensities are already grey levels (the digital phantom).
    #[default]
    None,
    /// Fixed bin number.
    FixedBinNumber { bins: u32 },
    /// Fixed bin size; the first bin starts at `min`, by default the lower
    /// bound of the re-segmentation range.
    FixedBinSize {
        bin_width: f64,
        #[serde(default)]
        min: Option<f64>,
    },
}

/// Settings shared by the texture families (IBSI 3.6-3.11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextureSettings {
    /// Chebyshev distance of the neighbourhood.
    #[serde(default = "default_distance")]
    pub distance: u32,
    /// Which aggregation methods to compute.
    #[serde(default = "Aggregation::default_set")]
    pub aggregations: Vec<Aggregation>,
    /// NGLDM coarseness parameter α.
    #[serde(default)]
    pub ngldm_alpha: u32,
}

fn default_distance() -> u32 {
    1
}

impl Default for TextureSettings {
    fn default() -> Self {
        TextureSettings {
            distance: 1,
            aggregations: Aggregation::default_set(),
            ngldm_alpha: 0,
        }
    }
}

/// How texture matrices are built and combined (IBSI 3.1.2). The GLCM and
/// GLRLM use all six; the zone and neighbourhood families use the plain
/// `2D`, `2.5D` and `3D` (their `_avg` and `_comb` forms map to the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Aggregation {
    #[serde(rename = "2D_avg")]
    TwoDAvg,
    #[serde(rename = "2D_comb")]
    TwoDComb,
    #[serde(rename = "2.5D_avg")]
    TwoHalfDAvg,
    #[serde(rename = "2.5D_comb")]
    TwoHalfDComb,
    #[serde(rename = "3D_avg")]
    ThreeDAvg,
    #[serde(rename = "3D_comb")]
    ThreeDComb,
}

impl Aggregation {
    pub fn default_set() -> Vec<Aggregation> {
        vec![Aggregation::ThreeDAvg, Aggregation::ThreeDComb]
    }

    /// The suffix IBSI uses in feature tags, e.g. `2_5D_avg`.
    pub fn tag_suffix(self) -> &'static str {
        match self {
            Aggregation::TwoDAvg => "2D_avg",
            Aggregation::TwoDComb => "2D_comb",
            Aggregation::TwoHalfDAvg => "2_5D_avg",
            Aggregation::TwoHalfDComb => "2_5D_comb",
            Aggregation::ThreeDAvg => "3D_avg",
            Aggregation::ThreeDComb => "3D_comb",
        }
    }
}

/// The IBSI chapter 1 feature families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Morphology,
    LocalIntensity,
    Statistics,
    Histogram,
    Ivh,
    Glcm,
    Glrlm,
    Glszm,
    Gldzm,
    Ngtdm,
    Ngldm,
}

impl Family {
    pub fn all() -> Vec<Family> {
        use Family::*;
        vec![
            Morphology,
            LocalIntensity,
            Statistics,
            Histogram,
            Ivh,
            Glcm,
            Glrlm,
            Glszm,
            Gldzm,
            Ngtdm,
            Ngldm,
        ]
    }

    /// Whether the family reads the discretised image.
    pub fn needs_discretisation(self) -> bool {
        !matches!(
            self,
            Family::Morphology | Family::LocalIntensity | Family::Statistics | Family::Ivh
        )
    }
}
