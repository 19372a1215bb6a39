//! PyRadiomics parameter files (its `paramSchema.yaml`, version 3.0.1): the
//! four top-level maps `imageType`, `featureClass`, `setting` and
//! `voxelSetting`. Every key is accepted and typed, or refused by name, as
//! PyRadiomics' schema validation does: an unknown key, a value of the wrong
//! type, a value out of its range, an unknown image type, feature class or
//! feature name. Two refusals go beyond the schema because the combination
//! cannot mean anything: `binWidth` with `binCount`, and a `resegmentRange`
//! that is not one or two increasing values.
//!
//! Parsing is complete; what radial computes of the parsed settings is
//! decided by the extraction, which refuses by name what it cannot do yet.

use std::path::Path;

use serde_json::Value;

use super::names::{self, FeatureClass};
use crate::{Error, Result};

/// PyRadiomics' image types, in its spelling (names are matched without
/// regard to case, as PyRadiomics does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    Original,
    LoG,
    Wavelet,
    Square,
    SquareRoot,
    Logarithm,
    Exponential,
    Gradient,
    Lbp2D,
    Lbp3D,
}

impl ImageType {
    pub const ALL: [ImageType; 10] = [
        ImageType::Original,
        ImageType::LoG,
        ImageType::Wavelet,
        ImageType::Square,
        ImageType::SquareRoot,
        ImageType::Logarithm,
        ImageType::Exponential,
        ImageType::Gradient,
        ImageType::Lbp2D,
        ImageType::Lbp3D,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ImageType::Original => "Original",
            ImageType::LoG => "LoG",
            ImageType::Wavelet => "Wavelet",
            ImageType::Square => "Square",
            ImageType::SquareRoot => "SquareRoot",
            ImageType::Logarithm => "Logarithm",
            ImageType::Exponential => "Exponential",
            ImageType::Gradient => "Gradient",
            ImageType::Lbp2D => "LBP2D",
            ImageType::Lbp3D => "LBP3D",
        }
    }

    fn parse(name: &str) -> Option<ImageType> {
        ImageType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

/// How the mask is re-segmented (`resegmentMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResegmentMode {
    Absolute,
    Relative,
    Sigma,
}

/// `weightingNorm` of the GLCM and GLRLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightingNorm {
    Manhattan,
    Euclidean,
    Infinity,
    NoWeighting,
}

/// The SimpleITK interpolators PyRadiomics accepts, by name or number.
pub const INTERPOLATORS: [&str; 10] = [
    "sitkNearestNeighbor",
    "sitkLinear",
    "sitkBSpline",
    "sitkGaussian",
    "sitkLabelGaussian",
    "sitkHammingWindowedSinc",
    "sitkCosineWindowedSinc",
    "sitkWelchWindowedSinc",
    "sitkLanczosWindowedSinc",
    "sitkBlackmanWindowedSinc",
];

/// Every key of PyRadiomics' `setting` map (also allowed per image type).
/// `None` means "not given": PyRadiomics' default applies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub minimum_roi_dimensions: Option<i64>,
    pub minimum_roi_size: Option<i64>,
    pub geometry_tolerance: Option<f64>,
    pub correct_mask: Option<bool>,
    pub additional_info: Option<bool>,
    pub label: Option<i64>,
    pub label_channel: Option<i64>,
    pub bin_width: Option<f64>,
    pub bin_count: Option<i64>,
    pub normalize: Option<bool>,
    pub normalize_scale: Option<f64>,
    pub remove_outliers: Option<f64>,
    pub resampled_pixel_spacing: Option<Vec<f64>>,
    /// A name of [`INTERPOLATORS`].
    pub interpolator: Option<&'static str>,
    pub pad_distance: Option<i64>,
    pub distances: Option<Vec<i64>>,
    pub force_2d: Option<bool>,
    pub force_2d_dimension: Option<i64>,
    pub resegment_range: Option<Vec<f64>>,
    pub resegment_mode: Option<ResegmentMode>,
    pub resegment_shape: Option<bool>,
    pub pre_crop: Option<bool>,
    pub sigma: Option<Vec<f64>>,
    /// Each sigma as Python writes it (`1.0`, `2`), for the LoG image names.
    pub sigma_names: Option<Vec<String>>,
    pub start_level: Option<i64>,
    pub level: Option<i64>,
    pub wavelet: Option<String>,
    pub gradient_use_spacing: Option<bool>,
    pub lbp2d_radius: Option<f64>,
    pub lbp2d_samples: Option<i64>,
    pub lbp2d_method: Option<String>,
    pub lbp3d_levels: Option<i64>,
    pub lbp3d_icosphere_radius: Option<f64>,
    pub lbp3d_icosphere_subdivision: Option<i64>,
    pub voxel_array_shift: Option<i64>,
    pub symmetrical_glcm: Option<bool>,
    pub weighting_norm: Option<WeightingNorm>,
    pub gldm_a: Option<i64>,
}

impl Settings {
    /// These settings with `over`'s given values replacing them (an image
    /// type's own settings over the file's `setting`).
    pub fn merged(&self, over: &Settings) -> Settings {
        Settings {
            minimum_roi_dimensions: over.minimum_roi_dimensions.or(self.minimum_roi_dimensions),
            minimum_roi_size: over.minimum_roi_size.or(self.minimum_roi_size),
            geometry_tolerance: over.geometry_tolerance.or(self.geometry_tolerance),
            correct_mask: over.correct_mask.or(self.correct_mask),
            additional_info: over.additional_info.or(self.additional_info),
            label: over.label.or(self.label),
            label_channel: over.label_channel.or(self.label_channel),
            bin_width: over.bin_width.or(self.bin_width),
            bin_count: over.bin_count.or(self.bin_count),
            normalize: over.normalize.or(self.normalize),
            normalize_scale: over.normalize_scale.or(self.normalize_scale),
            remove_outliers: over.remove_outliers.or(self.remove_outliers),
            resampled_pixel_spacing: over
                .resampled_pixel_spacing
                .clone()
                .or_else(|| self.resampled_pixel_spacing.clone()),
            interpolator: over.interpolator.or(self.interpolator),
            pad_distance: over.pad_distance.or(self.pad_distance),
            distances: over.distances.clone().or_else(|| self.distances.clone()),
            force_2d: over.force_2d.or(self.force_2d),
            force_2d_dimension: over.force_2d_dimension.or(self.force_2d_dimension),
            resegment_range: over
                .resegment_range
                .clone()
                .or_else(|| self.resegment_range.clone()),
            resegment_mode: over.resegment_mode.or(self.resegment_mode),
            resegment_shape: over.resegment_shape.or(self.resegment_shape),
            pre_crop: over.pre_crop.or(self.pre_crop),
            sigma: over.sigma.clone().or_else(|| self.sigma.clone()),
            sigma_names: over
                .sigma_names
                .clone()
                .or_else(|| self.sigma_names.clone()),
            start_level: over.start_level.or(self.start_level),
            level: over.level.or(self.level),
            wavelet: over.wavelet.clone().or_else(|| self.wavelet.clone()),
            gradient_use_spacing: over.gradient_use_spacing.or(self.gradient_use_spacing),
            lbp2d_radius: over.lbp2d_radius.or(self.lbp2d_radius),
            lbp2d_samples: over.lbp2d_samples.or(self.lbp2d_samples),
            lbp2d_method: over
                .lbp2d_method
                .clone()
                .or_else(|| self.lbp2d_method.clone()),
            lbp3d_levels: over.lbp3d_levels.or(self.lbp3d_levels),
            lbp3d_icosphere_radius: over.lbp3d_icosphere_radius.or(self.lbp3d_icosphere_radius),
            lbp3d_icosphere_subdivision: over
                .lbp3d_icosphere_subdivision
                .or(self.lbp3d_icosphere_subdivision),
            voxel_array_shift: over.voxel_array_shift.or(self.voxel_array_shift),
            symmetrical_glcm: over.symmetrical_glcm.or(self.symmetrical_glcm),
            weighting_norm: over.weighting_norm.or(self.weighting_norm),
            gldm_a: over.gldm_a.or(self.gldm_a),
        }
    }
}

/// `voxelSetting` (voxel-based extraction; parsed, not computed by radial).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoxelSettings {
    pub kernel_radius: Option<i64>,
    pub masked_kernel: Option<bool>,
    pub init_value: Option<f64>,
    pub voxel_batch: Option<i64>,
}

/// A feature class and its features: `None` for "all non-deprecated ones".
#[derive(Debug, Clone, PartialEq)]
pub struct ClassRequest {
    pub class: FeatureClass,
    pub features: Option<Vec<String>>,
}

/// A whole parameter file.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Enabled image types in file order, each with its own settings.
    pub image_types: Vec<(ImageType, Settings)>,
    /// Enabled classes in file order (`None` in the file: every class).
    pub feature_classes: Vec<ClassRequest>,
    pub settings: Settings,
    pub voxel_settings: VoxelSettings,
}

impl Default for Params {
    /// PyRadiomics' extractor without a parameter file: the original image,
    /// every class with its non-deprecated features, default settings.
    fn default() -> Self {
        Params {
            image_types: vec![(ImageType::Original, Settings::default())],
            feature_classes: names::DEFAULT_CLASSES
                .iter()
                .map(|&class| ClassRequest {
                    class,
                    features: None,
                })
                .collect(),
            settings: Settings::default(),
            voxel_settings: VoxelSettings::default(),
        }
    }
}

/// Reads and validates a parameter file; errors name the file.
pub fn read(path: &Path) -> Result<Params> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text).map_err(|e| match e {
        Error::Setting { setting, message } => {
            Error::format(path, format!("parameter `{setting}`: {message}"))
        }
        other => Error::format(path, other.to_string()),
    })
}

/// Parses and validates the text of a parameter file.
pub fn parse(text: &str) -> Result<Params> {
    let doc: Node = serde_saphyr::from_str(text).map_err(|e| {
        Error::setting(
            "(file)",
            format!(
                "not valid YAML: {}",
                crate::error::yaml_message(&e.to_string())
            ),
        )
    })?;
    let top = match doc {
        Node::Map(m) => m,
        Node::Other(Value::Null) => Vec::new(),
        Node::Other(other) => {
            return Err(Error::setting(
                "(file)",
                format!(
                    "expected a map of imageType, featureClass, setting, voxelSetting; found {}",
                    kind(&other)
                ),
            ));
        }
    };
    let mut params = Params::default();
    let get = |key: &str| top.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    for (key, _) in &top {
        if !["imageType", "featureClass", "setting", "voxelSetting"].contains(&key.as_str()) {
            return Err(Error::setting(
                key.as_str(),
                "unknown key (PyRadiomics' parameter files have imageType, featureClass, setting and voxelSetting)",
            ));
        }
    }
    if let Some(v) = get("setting") {
        params.settings = parse_settings("setting", &v.value())?;
    }
    if let Some(v) = get("voxelSetting") {
        params.voxel_settings = parse_voxel_settings(&v.value())?;
    }
    if let Some(v) = get("imageType") {
        params.image_types = parse_image_types(v)?;
    }
    if let Some(v) = get("featureClass") {
        params.feature_classes = parse_feature_classes(v)?;
    }
    Ok(params)
}

/// A YAML value whose maps keep their order (serde_json's maps sort their
/// keys, but image types and feature classes are written in file order).
#[derive(Debug, Clone)]
enum Node {
    Map(Vec<(String, Node)>),
    Other(Value),
}

impl Node {
    /// The value with maps as JSON objects (order no longer needed).
    fn value(&self) -> Value {
        match self {
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value()))
                    .collect(),
            ),
            Node::Other(v) => v.clone(),
        }
    }

    /// The entries of a map in file order; `None` for an empty value.
    fn ordered(&self, path: &str) -> Result<Option<&[(String, Node)]>> {
        match self {
            Node::Map(entries) => Ok(Some(entries)),
            Node::Other(Value::Null) => Ok(None),
            Node::Other(other) => Err(Error::setting(
                path,
                format!("expected a map, found {}", kind(other)),
            )),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Node, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Node, E> {
                Ok(Node::Other(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Node, E> {
                Ok(Node::Other(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Node, E> {
                Ok(Node::Other(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Node, E> {
                Ok(Node::Other(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Node, E> {
                Ok(Node::Other(Value::String(v.to_string())))
            }
            fn visit_unit<E>(self) -> std::result::Result<Node, E> {
                Ok(Node::Other(Value::Null))
            }
            fn visit_none<E>(self) -> std::result::Result<Node, E> {
                Ok(Node::Other(Value::Null))
            }
            fn visit_some<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Node, D::Error> {
                <Node as serde::Deserialize>::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Node>()? {
                    items.push(item.value());
                }
                Ok(Node::Other(Value::Array(items)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Node>()? {
                    entries.push((k, v));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn map_of<'a>(path: &str, v: &'a Value) -> Result<Option<&'a serde_json::Map<String, Value>>> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        other => Err(Error::setting(
            path,
            format!("expected a map, found {}", kind(other)),
        )),
    }
}

fn parse_image_types(v: &Node) -> Result<Vec<(ImageType, Settings)>> {
    let Some(map) = v.ordered("imageType")? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(ImageType, Settings)> = Vec::new();
    for (name, value) in map {
        let path = format!("imageType.{name}");
        let t = ImageType::parse(name).ok_or_else(|| {
            Error::setting(
                &path,
                format!(
                    "unknown image type {name:?} (known: {})",
                    ImageType::ALL.map(ImageType::name).join(", ")
                ),
            )
        })?;
        if out.iter().any(|(u, _)| *u == t) {
            return Err(Error::setting(&path, "image type given twice"));
        }
        out.push((t, parse_settings(&path, &value.value())?));
    }
    Ok(out)
}

fn parse_feature_classes(v: &Node) -> Result<Vec<ClassRequest>> {
    let Some(map) = v.ordered("featureClass")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, value) in map {
        let path = format!("featureClass.{name}");
        let class = FeatureClass::parse(name).ok_or_else(|| {
            Error::setting(
                &path,
                format!(
                    "unknown feature class {name:?} (known: {})",
                    FeatureClass::ALL.map(FeatureClass::name).join(", ")
                ),
            )
        })?;
        let features = match value.value() {
            Value::Null => None,
            Value::Array(items) => {
                let mut list = Vec::new();
                for item in items {
                    let Value::String(f) = item else {
                        return Err(Error::setting(
                            &path,
                            format!("feature names are strings, found {}", kind(&item)),
                        ));
                    };
                    if !class.all_features().contains(&f.as_str()) {
                        return Err(Error::setting(
                            &path,
                            format!(
                                "unknown feature {f:?} of class {} (known: {})",
                                class.name(),
                                class.all_features().join(", ")
                            ),
                        ));
                    }
                    list.push(f.clone());
                }
                Some(list)
            }
            other => {
                return Err(Error::setting(
                    &path,
                    format!(
                        "expected nothing (all features) or a list of feature names, found {}",
                        kind(&other)
                    ),
                ));
            }
        };
        out.push(ClassRequest { class, features });
    }
    Ok(out)
}

/// Typed readers: each names the key in its error.
struct Reader<'a> {
    path: &'a str,
}

impl Reader<'_> {
    fn name(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn err(&self, key: &str, message: impl Into<String>) -> Error {
        Error::setting(self.name(key), message)
    }

    fn int(&self, key: &str, v: &Value) -> Result<i64> {
        v.as_i64()
            .filter(|_| !v.is_f64())
            .ok_or_else(|| self.err(key, format!("expected an integer, found {}", kind(v))))
    }

    fn float(&self, key: &str, v: &Value) -> Result<f64> {
        // As in PyRadiomics' schema, an integer is a valid float.
        match v {
            Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
            _ => None,
        }
        .ok_or_else(|| self.err(key, format!("expected a number, found {}", kind(v))))
    }

    fn boolean(&self, key: &str, v: &Value) -> Result<bool> {
        v.as_bool()
            .ok_or_else(|| self.err(key, format!("expected true or false, found {}", kind(v))))
    }

    fn string<'v>(&self, key: &str, v: &'v Value) -> Result<&'v str> {
        v.as_str()
            .ok_or_else(|| self.err(key, format!("expected a string, found {}", kind(v))))
    }

    fn list<'v>(&self, key: &str, v: &'v Value) -> Result<&'v [Value]> {
        v.as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.err(key, format!("expected a list, found {}", kind(v))))
    }

    /// An integer in `[min, max]` (`None`: unbounded); `min_exclusive`
    /// makes the lower bound strict.
    fn int_in(
        &self,
        key: &str,
        v: &Value,
        min: i64,
        min_exclusive: bool,
        max: Option<i64>,
    ) -> Result<i64> {
        let x = self.int(key, v)?;
        check_range(
            self,
            key,
            x as f64,
            min as f64,
            min_exclusive,
            max.map(|m| m as f64),
        )?;
        Ok(x)
    }

    fn positive_float(&self, key: &str, v: &Value) -> Result<f64> {
        let x = self.float(key, v)?;
        check_range(self, key, x, 0.0, true, None)?;
        Ok(x)
    }
}

fn check_range(
    r: &Reader,
    key: &str,
    x: f64,
    min: f64,
    min_exclusive: bool,
    max: Option<f64>,
) -> Result<()> {
    let low_ok = if min_exclusive { x > min } else { x >= min };
    if !low_ok {
        let rel = if min_exclusive { ">" } else { "≥" };
        return Err(r.err(key, format!("{x} is out of range: it must be {rel} {min}")));
    }
    if let Some(max) = max
        && x > max
    {
        return Err(r.err(key, format!("{x} is out of range: it must be ≤ {max}")));
    }
    Ok(())
}

fn parse_settings(path: &str, v: &Value) -> Result<Settings> {
    let mut s = Settings::default();
    let Some(map) = map_of(path, v)? else {
        return Ok(s);
    };
    let r = Reader { path };
    for (key, v) in map {
        let k = key.as_str();
        match k {
            "minimumROIDimensions" => {
                s.minimum_roi_dimensions = Some(r.int_in(k, v, 1, false, Some(3))?)
            }
            "minimumROISize" => s.minimum_roi_size = Some(r.int_in(k, v, 0, true, None)?),
            "geometryTolerance" => s.geometry_tolerance = Some(r.positive_float(k, v)?),
            "correctMask" => s.correct_mask = Some(r.boolean(k, v)?),
            "additionalInfo" => s.additional_info = Some(r.boolean(k, v)?),
            "label" => s.label = Some(r.int_in(k, v, 0, true, None)?),
            "label_channel" => s.label_channel = Some(r.int_in(k, v, 0, false, None)?),
            "binWidth" => s.bin_width = Some(r.positive_float(k, v)?),
            "binCount" => s.bin_count = Some(r.int_in(k, v, 0, true, None)?),
            "normalize" => s.normalize = Some(r.boolean(k, v)?),
            "normalizeScale" => s.normalize_scale = Some(r.positive_float(k, v)?),
            "removeOutliers" => s.remove_outliers = Some(r.positive_float(k, v)?),
            "resampledPixelSpacing" => {
                let items = r.list(k, v)?;
                let mut spacing = Vec::new();
                for item in items {
                    let x = r.float(k, item)?;
                    check_range(&r, k, x, 0.0, false, None)?;
                    spacing.push(x);
                }
                if spacing.len() != 3 {
                    return Err(r.err(
                        k,
                        format!("expected 3 spacings (x, y, z), found {}", spacing.len()),
                    ));
                }
                s.resampled_pixel_spacing = Some(spacing);
            }
            "interpolator" => s.interpolator = Some(parse_interpolator(&r, k, v)?),
            "padDistance" => s.pad_distance = Some(r.int_in(k, v, 0, false, None)?),
            "distances" => {
                let mut d = Vec::new();
                for item in r.list(k, v)? {
                    d.push(r.int_in(k, item, 0, true, None)?);
                }
                if d.is_empty() {
                    return Err(r.err(k, "expected at least one distance"));
                }
                s.distances = Some(d);
            }
            "force2D" => s.force_2d = Some(r.boolean(k, v)?),
            "force2Ddimension" => s.force_2d_dimension = Some(r.int_in(k, v, 0, false, Some(2))?),
            "resegmentRange" => {
                let mut range = Vec::new();
                for item in r.list(k, v)? {
                    range.push(r.float(k, item)?);
                }
                let ok = match range.as_slice() {
                    [_] => true,
                    [lo, hi] => lo <= hi,
                    _ => false,
                };
                if !ok {
                    return Err(r.err(
                        k,
                        format!(
                            "expected [lower] or [lower, upper] with lower ≤ upper, found {range:?}"
                        ),
                    ));
                }
                s.resegment_range = Some(range);
            }
            "resegmentMode" => {
                s.resegment_mode = Some(match r.string(k, v)? {
                    "absolute" => ResegmentMode::Absolute,
                    "relative" => ResegmentMode::Relative,
                    "sigma" => ResegmentMode::Sigma,
                    other => {
                        return Err(r.err(
                            k,
                            format!("unknown mode {other:?} (known: absolute, relative, sigma)"),
                        ));
                    }
                })
            }
            "resegmentShape" => s.resegment_shape = Some(r.boolean(k, v)?),
            "preCrop" => s.pre_crop = Some(r.boolean(k, v)?),
            "sigma" => {
                let mut sigmas = Vec::new();
                let mut names = Vec::new();
                for item in r.list(k, v)? {
                    let sigma = r.positive_float(k, item)?;
                    names.push(match item {
                        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                        _ => python_float_text(sigma),
                    });
                    sigmas.push(sigma);
                }
                s.sigma = Some(sigmas);
                s.sigma_names = Some(names);
            }
            "start_level" => s.start_level = Some(r.int_in(k, v, 0, false, None)?),
            "level" => s.level = Some(r.int_in(k, v, 0, true, None)?),
            "wavelet" => {
                let w = r.string(k, v)?;
                if !is_wavelet(w) {
                    return Err(r.err(k, format!("unknown wavelet {w:?} (PyWavelets' discrete wavelets: haar, dbN, symN, coifN, biorN.M, rbioN.M, dmey)")));
                }
                s.wavelet = Some(w.to_string());
            }
            "gradientUseSpacing" => s.gradient_use_spacing = Some(r.boolean(k, v)?),
            "lbp2DRadius" => s.lbp2d_radius = Some(r.positive_float(k, v)?),
            "lbp2DSamples" => s.lbp2d_samples = Some(r.int_in(k, v, 1, false, None)?),
            "lbp2DMethod" => {
                let m = r.string(k, v)?;
                if !["default", "ror", "uniform", "var"].contains(&m) {
                    return Err(r.err(
                        k,
                        format!("unknown method {m:?} (known: default, ror, uniform, var)"),
                    ));
                }
                s.lbp2d_method = Some(m.to_string());
            }
            "lbp3DLevels" => s.lbp3d_levels = Some(r.int_in(k, v, 1, false, None)?),
            "lbp3DIcosphereRadius" => s.lbp3d_icosphere_radius = Some(r.positive_float(k, v)?),
            "lbp3DIcosphereSubdivision" => {
                s.lbp3d_icosphere_subdivision = Some(r.int_in(k, v, 0, false, None)?)
            }
            "voxelArrayShift" => s.voxel_array_shift = Some(r.int(k, v)?),
            "symmetricalGLCM" => s.symmetrical_glcm = Some(r.boolean(k, v)?),
            "weightingNorm" => {
                s.weighting_norm = match v {
                    Value::Null => None,
                    _ => Some(match r.string(k, v)? {
                        "manhattan" => WeightingNorm::Manhattan,
                        "euclidean" => WeightingNorm::Euclidean,
                        "infinity" => WeightingNorm::Infinity,
                        "no_weighting" => WeightingNorm::NoWeighting,
                        other => {
                            return Err(r.err(k, format!("unknown norm {other:?} (known: manhattan, euclidean, infinity, no_weighting)")));
                        }
                    }),
                }
            }
            "gldm_a" => s.gldm_a = Some(r.int_in(k, v, 0, false, None)?),
            _ => return Err(r.err(k, "unknown setting")),
        }
    }
    if s.bin_width.is_some() && s.bin_count.is_some() {
        return Err(Error::setting(
            format!("{path}.binCount"),
            "binWidth and binCount are both given: choose one discretisation",
        ));
    }
    Ok(s)
}

fn parse_interpolator(r: &Reader, key: &str, v: &Value) -> Result<&'static str> {
    match v {
        Value::String(name) => INTERPOLATORS
            .iter()
            .copied()
            .find(|n| n == name)
            .ok_or_else(|| {
                r.err(
                    key,
                    format!(
                        "unknown interpolator {name:?} (known: {})",
                        INTERPOLATORS.join(", ")
                    ),
                )
            }),
        // SimpleITK's enumeration values: sitkNearestNeighbor = 1 ... sitkBlackmanWindowedSinc = 10.
        Value::Number(_) => {
            let n = r.int(key, v)?;
            usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| INTERPOLATORS.get(i).copied())
                .ok_or_else(|| {
                    r.err(
                        key,
                        format!("unknown interpolator number {n} (SimpleITK's are 1 to 10)"),
                    )
                })
        }
        other => Err(r.err(
            key,
            format!("expected an interpolator name, found {}", kind(other)),
        )),
    }
}

/// Python's `str` of a float: the shortest text that reads back, with
/// `.0` for whole numbers and a two-digit exponent outside [1e-4, 1e16).
pub fn python_float_text(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').expect("scientific notation");
        let exp: i32 = exp.parse().expect("an exponent");
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// PyWavelets' discrete wavelet names (`pywt.wavelist(kind='discrete')`).
fn is_wavelet(name: &str) -> bool {
    let numbered = |prefix: &str, lo: u32, hi: u32| {
        name.strip_prefix(prefix)
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (lo..=hi).contains(&n))
    };
    const BIOR: [&str; 15] = [
        "1.1", "1.3", "1.5", "2.2", "2.4", "2.6", "2.8", "3.1", "3.3", "3.5", "3.7", "3.9", "4.4",
        "5.5", "6.8",
    ];
    name == "haar"
        || name == "dmey"
        || numbered("db", 1, 38)
        || numbered("sym", 2, 20)
        || numbered("coif", 1, 17)
        || name.strip_prefix("bior").is_some_and(|n| BIOR.contains(&n))
        || name.strip_prefix("rbio").is_some_and(|n| BIOR.contains(&n))
}

fn parse_voxel_settings(v: &Value) -> Result<VoxelSettings> {
    let mut s = VoxelSettings::default();
    let Some(map) = map_of("voxelSetting", v)? else {
        return Ok(s);
    };
    let r = Reader {
        path: "voxelSetting",
    };
    for (key, v) in map {
        let k = key.as_str();
        match k {
            "kernelRadius" => s.kernel_radius = Some(r.int_in(k, v, 0, true, None)?),
            "maskedKernel" => s.masked_kernel = Some(r.boolean(k, v)?),
            "initValue" => s.init_value = Some(r.float(k, v)?),
            "voxelBatch" => s.voxel_batch = Some(r.int_in(k, v, 0, true, None)?),
            _ => return Err(r.err(k, "unknown voxel setting")),
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        match parse(text) {
            Ok(p) => panic!("accepted: {text}\n{p:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn example_ct_settings_are_read() {
        let p = parse(
            "imageType:\n  Original: {}\n  LoG:\n    sigma: [1.0, 2.0]\n  Wavelet: {}\n\
             featureClass:\n  shape:\n  glcm: ['Contrast', 'Idmn']\n\
             setting:\n  interpolator: 'sitkBSpline'\n  resampledPixelSpacing: [1, 1, 1]\n  \
             padDistance: 10\n  binWidth: 25\n  voxelArrayShift: 1000\n  label: 1\n",
        )
        .unwrap();
        let types: Vec<_> = p.image_types.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            types,
            [ImageType::Original, ImageType::LoG, ImageType::Wavelet]
        );
        assert_eq!(p.image_types[1].1.sigma, Some(vec![1.0, 2.0]));
        assert_eq!(p.feature_classes[0].class, FeatureClass::Shape);
        assert_eq!(p.feature_classes[0].features, None);
        assert_eq!(
            p.feature_classes[1].features,
            Some(vec!["Contrast".to_string(), "Idmn".to_string()])
        );
        assert_eq!(p.settings.interpolator, Some("sitkBSpline"));
        assert_eq!(p.settings.resampled_pixel_spacing, Some(vec![1.0; 3]));
        assert_eq!(p.settings.bin_width, Some(25.0));
        assert_eq!(p.settings.voxel_array_shift, Some(1000));
    }

    #[test]
    fn image_type_settings_replace_the_file_settings() {
        let p =
            parse("imageType:\n  Original: {binWidth: 10}\nsetting:\n  binWidth: 25\n  label: 2\n")
                .unwrap();
        let merged = p.settings.merged(&p.image_types[0].1);
        assert_eq!(merged.bin_width, Some(10.0));
        assert_eq!(merged.label, Some(2));
    }

    #[test]
    fn sigma_names_are_python_texts() {
        let p = parse("imageType:\n  LoG: {sigma: [1, 2.5, 3.0, 0.00001]}\n").unwrap();
        assert_eq!(
            p.image_types[0].1.sigma_names,
            Some(vec!["1".into(), "2.5".into(), "3.0".into(), "1e-05".into()])
        );
    }

    #[test]
    fn an_empty_file_means_the_defaults() {
        assert_eq!(parse("").unwrap(), Params::default());
    }

    #[test]
    fn image_type_names_ignore_case() {
        let p = parse("imageType:\n  wavelet: {}\n  log: {sigma: [2]}\n").unwrap();
        assert_eq!(p.image_types[0].0, ImageType::Wavelet);
        assert_eq!(p.image_types[1].0, ImageType::LoG);
    }

    #[test]
    fn unknown_top_level_key_is_named() {
        let e = refused("settings:\n  binWidth: 25\n");
        assert!(e.contains("`settings`") && e.contains("unknown key"), "{e}");
    }

    #[test]
    fn unknown_image_type_is_named() {
        let e = refused("imageType:\n  Gabor: {}\n");
        assert!(
            e.contains("imageType.Gabor") && e.contains("unknown image type"),
            "{e}"
        );
    }

    #[test]
    fn misspelled_feature_class_is_named() {
        let e = refused("featureClass:\n  glcmm:\n");
        assert!(
            e.contains("featureClass.glcmm") && e.contains("unknown feature class"),
            "{e}"
        );
    }

    #[test]
    fn misspelled_feature_name_is_named() {
        let e = refused("featureClass:\n  glcm: ['Contrastt']\n");
        assert!(
            e.contains("featureClass.glcm") && e.contains("\"Contrastt\""),
            "{e}"
        );
    }

    #[test]
    fn feature_list_must_be_a_list_of_names() {
        let e = refused("featureClass:\n  glcm: 3\n");
        assert!(
            e.contains("featureClass.glcm") && e.contains("found an integer"),
            "{e}"
        );
    }

    #[test]
    fn bin_width_and_bin_count_together_are_refused() {
        let e = refused("setting:\n  binWidth: 25\n  binCount: 32\n");
        assert!(e.contains("binWidth and binCount"), "{e}");
    }

    #[test]
    fn negative_sigma_is_refused() {
        let e = refused("imageType:\n  LoG:\n    sigma: [1.0, -2.0]\n");
        assert!(e.contains("imageType.LoG.sigma") && e.contains("-2"), "{e}");
    }

    #[test]
    fn unknown_setting_is_named() {
        let e = refused("setting:\n  binwidth: 25\n");
        assert!(
            e.contains("setting.binwidth") && e.contains("unknown setting"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_are_named() {
        let e = refused("setting:\n  binCount: 2.5\n");
        assert!(
            e.contains("setting.binCount") && e.contains("integer"),
            "{e}"
        );
        let e = refused("setting:\n  binWidth: 'wide'\n");
        assert!(
            e.contains("setting.binWidth") && e.contains("number"),
            "{e}"
        );
        let e = refused("setting:\n  normalize: 1\n");
        assert!(
            e.contains("setting.normalize") && e.contains("true or false"),
            "{e}"
        );
        let e = refused("setting:\n  distances: 1\n");
        assert!(e.contains("setting.distances") && e.contains("list"), "{e}");
    }

    #[test]
    fn out_of_range_values_are_named() {
        let e = refused("setting:\n  binWidth: 0\n");
        assert!(
            e.contains("setting.binWidth") && e.contains("out of range"),
            "{e}"
        );
        let e = refused("setting:\n  minimumROIDimensions: 4\n");
        assert!(e.contains("setting.minimumROIDimensions"), "{e}");
        let e = refused("setting:\n  force2Ddimension: 3\n");
        assert!(e.contains("setting.force2Ddimension"), "{e}");
        let e = refused("setting:\n  label: 0\n");
        assert!(e.contains("setting.label"), "{e}");
        let e = refused("setting:\n  distances: [1, 0]\n");
        assert!(e.contains("setting.distances"), "{e}");
        let e = refused("setting:\n  resampledPixelSpacing: [1, -1, 1]\n");
        assert!(e.contains("setting.resampledPixelSpacing"), "{e}");
        let e = refused("setting:\n  resampledPixelSpacing: [1, 1]\n");
        assert!(e.contains("3 spacings"), "{e}");
    }

    #[test]
    fn unknown_enumerated_values_are_named() {
        let e = refused("setting:\n  interpolator: 'sitkCubic'\n");
        assert!(
            e.contains("setting.interpolator") && e.contains("sitkCubic"),
            "{e}"
        );
        let e = refused("setting:\n  resegmentMode: 'percent'\n");
        assert!(
            e.contains("setting.resegmentMode") && e.contains("percent"),
            "{e}"
        );
        let e = refused("setting:\n  weightingNorm: 'l2'\n");
        assert!(e.contains("setting.weightingNorm"), "{e}");
        let e = refused("imageType:\n  Wavelet: {wavelet: 'db99'}\n");
        assert!(
            e.contains("imageType.Wavelet.wavelet") && e.contains("db99"),
            "{e}"
        );
        let e = refused("setting:\n  lbp2DMethod: 'fancy'\n");
        assert!(e.contains("setting.lbp2DMethod"), "{e}");
    }

    #[test]
    fn lbp3d_settings_outside_the_schema_are_named() {
        for (text, key) in [
            ("setting:\n  lbp3DLevels: 0\n", "setting.lbp3DLevels"),
            ("setting:\n  lbp3DLevels: 1.5\n", "setting.lbp3DLevels"),
            (
                "setting:\n  lbp3DIcosphereRadius: 0\n",
                "setting.lbp3DIcosphereRadius",
            ),
            (
                "setting:\n  lbp3DIcosphereSubdivision: -1\n",
                "setting.lbp3DIcosphereSubdivision",
            ),
            (
                "imageType:\n  LBP3D: {lbp3DLevels: -2}\n",
                "imageType.LBP3D.lbp3DLevels",
            ),
            ("imageType:\n  LBP3D: {lbp3DRadius: 2}\n", "lbp3DRadius"),
        ] {
            let e = refused(text);
            assert!(e.contains(key), "{text}: {e}");
        }
        let p =
            parse("imageType:\n  LBP3D: {lbp3DIcosphereSubdivision: 0, lbp3DLevels: 3}\n").unwrap();
        let own = &p.image_types[0].1;
        assert_eq!(own.lbp3d_icosphere_subdivision, Some(0));
        assert_eq!(own.lbp3d_levels, Some(3));
    }

    #[test]
    fn interpolator_by_number_is_simpleitk_numbering() {
        let p = parse("setting:\n  interpolator: 3\n").unwrap();
        assert_eq!(p.settings.interpolator, Some("sitkBSpline"));
        let e = refused("setting:\n  interpolator: 11\n");
        assert!(e.contains("setting.interpolator"), "{e}");
    }

    #[test]
    fn resegment_range_must_be_one_or_two_increasing_values() {
        assert_eq!(
            parse("setting:\n  resegmentRange: [-100, 200]\n")
                .unwrap()
                .settings
                .resegment_range,
            Some(vec![-100.0, 200.0])
        );
        let e = refused("setting:\n  resegmentRange: [200, -100]\n");
        assert!(e.contains("setting.resegmentRange"), "{e}");
        let e = refused("setting:\n  resegmentRange: [1, 2, 3]\n");
        assert!(e.contains("setting.resegmentRange"), "{e}");
    }

    #[test]
    fn every_schema_key_is_accepted() {
        let p = parse(
            "setting:\n  minimumROIDimensions: 2\n  minimumROISize: 50\n  geometryTolerance: 0.001\n  \
             correctMask: true\n  additionalInfo: false\n  label: 2\n  label_channel: 0\n  binCount: 32\n  \
             normalize: true\n  normalizeScale: 500\n  removeOutliers: 3\n  resampledPixelSpacing: [1, 1, 0]\n  \
             interpolator: sitkLinear\n  padDistance: 5\n  distances: [1, 2]\n  force2D: true\n  \
             force2Ddimension: 0\n  resegmentRange: [-3, 3]\n  resegmentMode: sigma\n  resegmentShape: true\n  \
             preCrop: true\n  sigma: [1, 2.5]\n  start_level: 0\n  level: 1\n  wavelet: coif1\n  \
             gradientUseSpacing: true\n  lbp2DRadius: 1\n  lbp2DSamples: 9\n  lbp2DMethod: uniform\n  \
             lbp3DLevels: 2\n  lbp3DIcosphereRadius: 1\n  lbp3DIcosphereSubdivision: 1\n  \
             voxelArrayShift: 1000\n  symmetricalGLCM: false\n  weightingNorm: euclidean\n  gldm_a: 1\n\
             voxelSetting:\n  kernelRadius: 1\n  maskedKernel: true\n  initValue: 0\n  voxelBatch: 100\n",
        )
        .unwrap();
        let s = &p.settings;
        assert_eq!(s.minimum_roi_size, Some(50));
        assert_eq!(s.bin_count, Some(32));
        assert_eq!(s.resegment_mode, Some(ResegmentMode::Sigma));
        assert_eq!(s.weighting_norm, Some(WeightingNorm::Euclidean));
        assert_eq!(s.distances, Some(vec![1, 2]));
        assert_eq!(s.gldm_a, Some(1));
        assert_eq!(s.wavelet.as_deref(), Some("coif1"));
        assert_eq!(p.voxel_settings.kernel_radius, Some(1));
    }
}
