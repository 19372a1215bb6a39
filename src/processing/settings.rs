//! Settings of the IBSI processing chain and of the feature families: the
//! same structures are the parameters of the pipeline stages, so a settings
//! file for `radial extract` and a pipeline stage read identically.
//!
//! Every structure rejects unknown keys: a misspelled setting is an error,
//! never a silent default.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Everything `radial extract` needs to turn an image and a mask into features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// IBSI chapter 2 filters: the features of each named response map,
    /// prefixed with its name (see [`NamedFilter`]). Left out when empty, so
    /// settings without filters serialise (and hash) as before.
    #[serde(
        default,
        deserialize_with = "unique_filters",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub filters: Vec<NamedFilter>,
}

impl Default for ExtractionSettings {
    /// The same as an empty settings file: original grid, no
    /// re-segmentation, no discretisation, every family.
    fn default() -> Self {
        ExtractionSettings {
            interpolation: None,
            resegmentation: ResegmentationSettings::default(),
            discretisation: DiscretisationSettings::default(),
            ivh: DiscretisationSettings::default(),
            texture: TextureSettings::default(),
            families: Family::all(),
            filters: Vec::new(),
        }
    }
}

impl ExtractionSettings {
    /// Parses a YAML settings text and validates it. `source` (usually the
    /// file name) prefixes parse errors, which carry line and column.
    pub fn from_yaml_str(text: &str, source: &str) -> Result<Self> {
        let settings: ExtractionSettings = serde_saphyr::from_str(text).map_err(|e| {
            let place = e
                .location()
                .map(|l| format!("line {} column {}: ", l.line(), l.column()))
                .unwrap_or_default();
            Error::format(
                source,
                format!(
                    "invalid extraction settings: {place}{}",
                    crate::error::yaml_message(&e.to_string())
                ),
            )
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Reads, parses and validates a YAML settings file.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// Checks every value the computation cannot use; the error names the
    /// setting by its path in the settings file.
    pub fn validate(&self) -> Result<()> {
        if let Some(interpolation) = &self.interpolation {
            interpolation.validate()?;
        }
        self.resegmentation.validate()?;
        self.discretisation.validate("discretisation")?;
        self.ivh.validate("ivh")?;
        if self.texture.distance == 0 {
            return Err(Error::setting(
                "texture.distance",
                "must be at least 1 (a Chebyshev distance in voxels)",
            ));
        }
        if self.families.is_empty() && self.filters.is_empty() {
            return Err(Error::setting("families", "no feature family requested"));
        }
        for (i, filter) in self.filters.iter().enumerate() {
            filter.validate(i)?;
        }
        Ok(())
    }
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

impl InterpolationSettings {
    pub fn validate(&self) -> Result<()> {
        let axes = if self.in_plane_only { 2 } else { 3 };
        for (a, &s) in self.spacing.iter().enumerate().take(axes) {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::setting(
                    "interpolation.spacing",
                    format!(
                        "the {} spacing is {s} mm; every spacing must be a positive number",
                        ["x", "y", "z"][a]
                    ),
                ));
            }
        }
        let t = self.partial_volume_threshold;
        if !(t > 0.0 && t <= 1.0) {
            return Err(Error::setting(
                "interpolation.partial_volume_threshold",
                format!("{t} is outside (0, 1]"),
            ));
        }
        Ok(())
    }
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

impl ResegmentationSettings {
    /// The lower bound of the range, when there is one.
    pub fn range_min(&self) -> Option<f64> {
        self.range.and_then(|[low, _]| low)
    }

    pub fn validate(&self) -> Result<()> {
        if let Some([low, high]) = self.range {
            for bound in [low, high].into_iter().flatten() {
                if !bound.is_finite() {
                    return Err(Error::setting(
                        "resegmentation.range",
                        format!("bound {bound} is not a finite number"),
                    ));
                }
            }
            if let (Some(l), Some(h)) = (low, high)
                && l > h
            {
                return Err(Error::setting(
                    "resegmentation.range",
                    format!("lower bound {l} is above upper bound {h}"),
                ));
            }
        }
        if let Some(sigma) = self.outlier_sigma
            && !(sigma.is_finite() && sigma > 0.0)
        {
            return Err(Error::setting(
                "resegmentation.outlier_sigma",
                format!("{sigma} must be a positive number"),
            ));
        }
        Ok(())
    }
}

/// Discretisation of intensities into grey levels 1..=Ng (IBSI 2.6).
///
/// Written as a map tagged by `method`; read through [`RawDiscretisation`]
/// (a plain struct) because serde buffers an internally tagged enum before
/// reading it, which loses the position of every key: a mistyped `bins`
/// would be reported at the line of `discretisation:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "method",
    rename_all = "snake_case",
    try_from = "RawDiscretisation"
)]
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

/// The discretisation as written: every key of every method, each read
/// where it stands (so errors point at it), then checked against the method.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscretisation {
    #[serde(default)]
    method: Option<DiscretisationMethod>,
    #[serde(default)]
    bins: Option<u32>,
    #[serde(default)]
    bin_width: Option<f64>,
    #[serde(default)]
    min: Option<f64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum DiscretisationMethod {
    None,
    FixedBinNumber,
    FixedBinSize,
}

impl TryFrom<RawDiscretisation> for DiscretisationSettings {
    type Error = String;

    fn try_from(raw: RawDiscretisation) -> std::result::Result<Self, String> {
        use DiscretisationMethod as M;
        let method = raw.method.ok_or(
            "missing field `method` (none, fixed_bin_number or fixed_bin_size)".to_string(),
        )?;
        let (name, allowed): (&str, &[&str]) = match method {
            M::None => ("none", &[]),
            M::FixedBinNumber => ("fixed_bin_number", &["bins"]),
            M::FixedBinSize => ("fixed_bin_size", &["bin_width", "min"]),
        };
        let given = [
            ("bins", raw.bins.is_some()),
            ("bin_width", raw.bin_width.is_some()),
            ("min", raw.min.is_some()),
        ];
        if let Some((key, _)) = given.iter().find(|(k, g)| *g && !allowed.contains(k)) {
            return Err(format!(
                "`{key}` is not a setting of method `{name}` ({})",
                if allowed.is_empty() {
                    "which has none".to_string()
                } else {
                    format!("which has {}", allowed.join(", "))
                }
            ));
        }
        Ok(match method {
            M::None => DiscretisationSettings::None,
            M::FixedBinNumber => DiscretisationSettings::FixedBinNumber {
                bins: raw
                    .bins
                    .ok_or("missing field `bins` (method fixed_bin_number)")?,
            },
            M::FixedBinSize => DiscretisationSettings::FixedBinSize {
                bin_width: raw
                    .bin_width
                    .ok_or("missing field `bin_width` (method fixed_bin_size)")?,
                min: raw.min,
            },
        })
    }
}

impl DiscretisationSettings {
    /// Checks the values; `prefix` is where these settings sit in the file
    /// (`discretisation` or `ivh`).
    pub fn validate(&self, prefix: &str) -> Result<()> {
        match *self {
            DiscretisationSettings::None => Ok(()),
            DiscretisationSettings::FixedBinNumber { bins } => {
                if bins == 0 {
                    Err(Error::setting(
                        format!("{prefix}.bins"),
                        "a fixed bin number needs at least 1 bin",
                    ))
                } else {
                    Ok(())
                }
            }
            DiscretisationSettings::FixedBinSize { bin_width, min } => {
                if !(bin_width.is_finite() && bin_width > 0.0) {
                    return Err(Error::setting(
                        format!("{prefix}.bin_width"),
                        format!("{bin_width} must be a positive number"),
                    ));
                }
                if let Some(m) = min
                    && !m.is_finite()
                {
                    return Err(Error::setting(
                        format!("{prefix}.min"),
                        format!("{m} is not a finite number"),
                    ));
                }
                Ok(())
            }
        }
    }
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

/// One filter of an extraction (IBSI chapter 2): the image is filtered after
/// interpolation, the ROI is the one re-segmented on the unfiltered
/// intensities, and `families` are computed on the response map inside it,
/// each feature named `<name>_<tag>` (`log_s1_stat_mean`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedFilter {
    pub name: String,
    pub filter: crate::filters::FilterSettings,
    /// Families computed on the response map; default: intensity statistics.
    #[serde(default = "statistics_only")]
    pub families: Vec<Family>,
    /// Discretisation of the response map, for histogram and texture families.
    #[serde(default)]
    pub discretisation: DiscretisationSettings,
}

fn statistics_only() -> Vec<Family> {
    vec![Family::Statistics]
}

/// A list of filters whose names are distinct: a repeated name is an error
/// while parsing, so it carries the position in the file.
fn unique_filters<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<NamedFilter>, D::Error> {
    let filters = Vec::<NamedFilter>::deserialize(d)?;
    for (i, f) in filters.iter().enumerate() {
        if let Some(j) = filters[..i].iter().position(|g| g.name == f.name) {
            return Err(serde::de::Error::custom(format!(
                "filters: the name `{}` is given to filters {} and {}; each filter needs its own name",
                f.name,
                j + 1,
                i + 1
            )));
        }
    }
    Ok(filters)
}

impl NamedFilter {
    /// Checks the filter at position `index` of `filters`.
    pub fn validate(&self, index: usize) -> Result<()> {
        let at = |field: &str| format!("filters[{index}].{field}");
        let valid_name = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(Error::setting(
                at("name"),
                format!(
                    "`{}` must be a non-empty name of letters, digits and underscores (it prefixes feature names)",
                    self.name
                ),
            ));
        }
        self.filter.validate().map_err(|e| match e {
            Error::Setting { setting, message } => {
                Error::setting(at(&format!("filter.{setting}")), message)
            }
            other => other,
        })?;
        if self.families.is_empty() {
            return Err(Error::setting(
                at("families"),
                "no feature family requested",
            ));
        }
        self.discretisation.validate(&at("discretisation"))?;
        if self.discretisation == DiscretisationSettings::None
            && let Some(f) = self.families.iter().find(|f| f.needs_discretisation())
        {
            return Err(Error::setting(
                at("discretisation"),
                format!("the {f:?} family of a response map needs a discretisation"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default() {
        let s = ExtractionSettings::from_yaml_str("{}", "t.yaml").unwrap();
        assert_eq!(s, ExtractionSettings::default());
        assert_eq!(s.families.len(), 11);
    }

    #[test]
    fn unknown_keys_and_families_are_errors_with_position() {
        let e = ExtractionSettings::from_yaml_str(
            "interpolation:\n  spacing: [1, 1, 1]\n  spacnig: 2\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.yaml") && e.contains("spacnig"), "{e}");
        assert!(e.contains('3'), "line 3 expected: {e}");
        let e = ExtractionSettings::from_yaml_str("families: [morphology, glcn]\n", "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("glcn"), "{e}");
        let e = ExtractionSettings::from_yaml_str(
            "discretisation:\n  method: fixed_bin_number\n  bins: 8\n  width: 3\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("width"), "{e}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases = [
            (
                "interpolation:\n  spacing: [1, 0, 1]\n",
                "interpolation.spacing",
            ),
            (
                "interpolation:\n  spacing: [1, 1, -2]\n",
                "interpolation.spacing",
            ),
            (
                "interpolation:\n  spacing: [1, 1, 1]\n  partial_volume_threshold: 0\n",
                "interpolation.partial_volume_threshold",
            ),
            (
                "discretisation:\n  method: fixed_bin_number\n  bins: 0\n",
                "discretisation.bins",
            ),
            (
                "discretisation:\n  method: fixed_bin_size\n  bin_width: 0\n",
                "discretisation.bin_width",
            ),
            (
                "ivh:\n  method: fixed_bin_size\n  bin_width: -1\n",
                "ivh.bin_width",
            ),
            (
                "resegmentation:\n  range: [400, -500]\n",
                "resegmentation.range",
            ),
            (
                "resegmentation:\n  outlier_sigma: 0\n",
                "resegmentation.outlier_sigma",
            ),
            ("texture:\n  distance: 0\n", "texture.distance"),
            ("families: []\n", "families"),
        ];
        for (text, setting) in cases {
            let e = ExtractionSettings::from_yaml_str(text, "t.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("`{setting}`")), "{text}: {e}");
        }
        // 2D interpolation ignores the z spacing.
        ExtractionSettings::from_yaml_str(
            "interpolation:\n  spacing: [2, 2, 0]\n  in_plane_only: true\n",
            "t.yaml",
        )
        .unwrap();
    }

    #[test]
    fn discretisation_errors_point_at_the_key_not_its_parent() {
        let e = ExtractionSettings::from_yaml_str(
            "families: [glcm]\ndiscretisation:\n  method: fixed_bin_number\n  bins: -3\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 4 column 9") && e.contains("u32"), "{e}");
        let e = ExtractionSettings::from_yaml_str(
            "discretisation:\n  method: fixed_bin_number\n  binz: 3\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 3 column") && e.contains("binz"), "{e}");
        // One line, the position given once.
        assert_eq!(e.lines().count(), 1, "{e}");
        let e = ExtractionSettings::from_yaml_str(
            "discretisation:\n  method: fixed_bin_size\n  bin_width: 25\n  bins: 3\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`bins` is not a setting of method `fixed_bin_size`"),
            "{e}"
        );
        // Written as before (the cache keys of pipeline stages depend on it).
        let s = ExtractionSettings::from_yaml_str(
            "discretisation: { method: fixed_bin_size, bin_width: 25, min: null }\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&s.discretisation).unwrap(),
            r#"{"method":"fixed_bin_size","bin_width":25.0,"min":null}"#
        );
    }

    #[test]
    fn open_range_sides_are_null() {
        let s =
            ExtractionSettings::from_yaml_str("resegmentation:\n  range: [-500, null]\n", "t.yaml")
                .unwrap();
        assert_eq!(s.resegmentation.range, Some([Some(-500.0), None]));
        assert_eq!(s.resegmentation.range_min(), Some(-500.0));
    }
}
