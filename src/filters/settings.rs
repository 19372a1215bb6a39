//! The settings of one filter (IBSI chapter 2), as written in YAML:
//!
//! ```yaml
//! kind: log          # mean | log | laws | gabor | wavelet | simoncelli | riesz
//! sigma: 1.5         # mm
//! dimensions: 3      # 2: slice by slice in the (i, j) plane; 3: volumetric
//! boundary: mirror   # zero | nearest | periodic | mirror (IBSI mirror repeats the edge voxel)
//! ```
//!
//! Values that no computation can use (a zero σ, an unknown Laws letter, a
//! sub-band of the wrong length) are rejected while parsing, so the error
//! carries the line and column of the offending value; checks that relate
//! two settings (a sub-band's length against `dimensions`) run in
//! [`FilterSettings::validate`] and name the setting.

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Error, Result};

use super::boundary::Boundary;
use super::rotation::Pooling;

/// One filter and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FilterSettings {
    /// Mean over a cube (3D) or square (2D) of `support` voxels a side.
    Mean {
        #[serde(deserialize_with = "odd_support")]
        support: usize,
        #[serde(default)]
        dimensions: Dimensions,
        #[serde(default)]
        boundary: Boundary,
    },
    /// Laplacian of Gaussian; σ in mm, the kernel reaches `cutoff` σ.
    Log {
        #[serde(deserialize_with = "sigma")]
        sigma: f64,
        #[serde(default = "default_cutoff", deserialize_with = "cutoff")]
        cutoff: f64,
        #[serde(default)]
        dimensions: Dimensions,
        #[serde(default)]
        boundary: Boundary,
    },
    /// Laws kernels: one 1D kernel per axis (`E5L5S5`: E5 along i, L5 along j, S5 along k).
    Laws {
        #[serde(
            deserialize_with = "laws_kernels",
            serialize_with = "laws_kernels_text"
        )]
        kernel: Vec<LawsKernel>,
        #[serde(default)]
        rotation_invariant: bool,
        #[serde(default)]
        pooling: Pooling,
        /// Energy map: mean of the absolute response over a window of 2δ+1 voxels.
        #[serde(default)]
        energy: Option<EnergySettings>,
        #[serde(default)]
        dimensions: Dimensions,
        #[serde(default)]
        boundary: Boundary,
    },
    /// Gabor filter in 2D planes; σ and λ in mm, θ in degrees.
    Gabor {
        #[serde(deserialize_with = "sigma")]
        sigma: f64,
        #[serde(deserialize_with = "lambda")]
        lambda: f64,
        #[serde(deserialize_with = "gamma")]
        gamma: f64,
        #[serde(default, deserialize_with = "finite")]
        theta: f64,
        /// Pool over θ, θ + Δθ, ... around the circle.
        #[serde(default, deserialize_with = "theta_step")]
        theta_step: Option<f64>,
        #[serde(default)]
        response: GaborResponse,
        /// Axial planes only, or the three orthogonal planes (pooled).
        #[serde(default)]
        planes: GaborPlanes,
        #[serde(default)]
        pooling: Pooling,
        /// The kernel reaches `cutoff` σ along its widest axis (at most the image size).
        #[serde(default = "default_cutoff", deserialize_with = "cutoff")]
        cutoff: f64,
        #[serde(default)]
        boundary: Boundary,
    },
    /// Undecimated separable wavelet; `subband` has one letter (L or H) per axis.
    Wavelet {
        family: WaveletFamily,
        #[serde(deserialize_with = "subband")]
        subband: String,
        #[serde(default = "one", deserialize_with = "level")]
        level: usize,
        #[serde(default)]
        rotation_invariant: bool,
        #[serde(default)]
        pooling: Pooling,
        #[serde(default)]
        dimensions: Dimensions,
        #[serde(default)]
        boundary: Boundary,
    },
    /// Simoncelli non-separable wavelet: the band-pass map at `level`.
    Simoncelli {
        #[serde(default = "one", deserialize_with = "level")]
        level: usize,
        #[serde(default)]
        dimensions: Dimensions,
        #[serde(default = "periodic")]
        boundary: Boundary,
    },
    /// Riesz transform of order `order` (one integer per axis: i, j, k) of a
    /// LoG or Simoncelli response.
    Riesz {
        order: Vec<usize>,
        base: RieszBase,
        #[serde(default)]
        dimensions: Dimensions,
        #[serde(default)]
        boundary: Boundary,
    },
}

/// The filter whose response a Riesz transform is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RieszBase {
    Log {
        #[serde(deserialize_with = "sigma")]
        sigma: f64,
        #[serde(default = "default_cutoff", deserialize_with = "cutoff")]
        cutoff: f64,
    },
    Simoncelli {
        #[serde(default = "one", deserialize_with = "level")]
        level: usize,
    },
}

/// Energy map settings of a Laws filter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergySettings {
    /// Half-width δ of the averaging window, in voxels.
    pub delta: usize,
}

/// 2: each axial slice on its own; 3: the volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dimensions {
    Two,
    #[default]
    Three,
}

impl Dimensions {
    pub fn count(self) -> usize {
        match self {
            Dimensions::Two => 2,
            Dimensions::Three => 3,
        }
    }
}

impl Serialize for Dimensions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u64(self.count() as u64)
    }
}

impl<'de> Deserialize<'de> for Dimensions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match u64::deserialize(d)? {
            2 => Ok(Dimensions::Two),
            3 => Ok(Dimensions::Three),
            n => Err(serde::de::Error::custom(format!(
                "dimensions: {n} is neither 2 (slice by slice) nor 3 (volumetric)"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GaborResponse {
    #[default]
    Modulus,
    Real,
    Imaginary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GaborPlanes {
    /// The (i, j) planes only.
    #[default]
    Axial,
    /// The (i, j), (i, k) and (j, k) planes, pooled with the orientations.
    Orthogonal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveletFamily {
    Haar,
    Db2,
    Db3,
    Coif1,
}

/// The 1D Laws kernels (Laws 1980; Suzuki 1999 for the 3-tap ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LawsKernel {
    L3,
    E3,
    S3,
    L5,
    E5,
    S5,
    W5,
    R5,
}

impl LawsKernel {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "L3" => LawsKernel::L3,
            "E3" => LawsKernel::E3,
            "S3" => LawsKernel::S3,
            "L5" => LawsKernel::L5,
            "E5" => LawsKernel::E5,
            "S5" => LawsKernel::S5,
            "W5" => LawsKernel::W5,
            "R5" => LawsKernel::R5,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            LawsKernel::L3 => "L3",
            LawsKernel::E3 => "E3",
            LawsKernel::S3 => "S3",
            LawsKernel::L5 => "L5",
            LawsKernel::E5 => "E5",
            LawsKernel::S5 => "S5",
            LawsKernel::W5 => "W5",
            LawsKernel::R5 => "R5",
        }
    }
}

impl Serialize for LawsKernel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

fn default_cutoff() -> f64 {
    4.0
}

fn one() -> usize {
    1
}

fn periodic() -> Boundary {
    Boundary::Periodic
}

fn positive_setting<'de, D: Deserializer<'de>>(
    d: D,
    name: &str,
) -> std::result::Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "`{name}`: {v} must be a positive number"
        )))
    }
}

fn sigma<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    positive_setting(d, "sigma")
}

fn lambda<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    positive_setting(d, "lambda")
}

fn gamma<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    positive_setting(d, "gamma")
}

fn cutoff<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    positive_setting(d, "cutoff")
}

fn finite<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "`theta`: {v} is not a number"
        )))
    }
}

fn odd_support<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    let v = i64::deserialize(d)?;
    if v > 0 && v % 2 == 1 {
        Ok(v as usize)
    } else {
        Err(serde::de::Error::custom(format!(
            "`support`: {v} must be a positive odd number of voxels"
        )))
    }
}

fn level<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    let v = i64::deserialize(d)?;
    if v >= 1 {
        Ok(v as usize)
    } else {
        Err(serde::de::Error::custom(format!(
            "`level`: {v} is below 1 (the first decomposition level is 1)"
        )))
    }
}

fn theta_step<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<f64>, D::Error> {
    let Some(v) = Option::<f64>::deserialize(d)? else {
        return Ok(None);
    };
    let parts = 360.0 / v;
    if !(v.is_finite() && v > 0.0) || (parts - parts.round()).abs() > 1e-9 {
        return Err(serde::de::Error::custom(format!(
            "`theta_step`: {v} must be a positive angle in degrees that divides 360"
        )));
    }
    Ok(Some(v))
}

fn subband<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let v = String::deserialize(d)?;
    let upper = v.to_ascii_uppercase();
    if upper.is_empty() || !upper.chars().all(|c| c == 'L' || c == 'H') {
        return Err(serde::de::Error::custom(format!(
            "`subband`: `{v}` must be made of the letters L and H, one per axis (e.g. LHL)"
        )));
    }
    Ok(upper)
}

fn laws_kernels<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<LawsKernel>, D::Error> {
    let v = String::deserialize(d)?;
    let upper = v.to_ascii_uppercase();
    let chars: Vec<char> = upper.chars().collect();
    if chars.is_empty() || !chars.len().is_multiple_of(2) {
        return Err(serde::de::Error::custom(format!(
            "`kernel`: `{v}` must be a sequence of Laws kernel names such as E5L5S5"
        )));
    }
    chars
        .chunks(2)
        .map(|pair| {
            let name: String = pair.iter().collect();
            LawsKernel::parse(&name).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`kernel`: `{v}` has an unknown Laws kernel `{name}` (known: L3, E3, S3, L5, E5, S5, W5, R5)"
                ))
            })
        })
        .collect()
}

/// Writes the kernels as they are read (`E5L5S5`), so settings round-trip.
fn laws_kernels_text<S: serde::Serializer>(
    kernels: &[LawsKernel],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&kernels.iter().map(|k| k.name()).collect::<String>())
}

/// A parse error as `source:line:column: invalid filter settings: message`.
pub fn located(source: &str, e: &serde_saphyr::Error) -> Error {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // saphyr may start the message with its own `line L column C: `.
    let message = match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((position, message)) if position.contains(" column ") => message,
        _ => first,
    };
    let at = match e.location() {
        Some(loc) => format!("{source}:{}:{}", loc.line(), loc.column()),
        None => source.to_string(),
    };
    Error::format(at, format!("invalid filter settings: {message}"))
}

impl FilterSettings {
    /// Parses a YAML text holding one filter and validates it. `source`
    /// (usually the file name) prefixes errors.
    pub fn from_yaml_str(text: &str, source: &str) -> Result<Self> {
        let settings: FilterSettings =
            serde_saphyr::from_str(text).map_err(|e| located(source, &e))?;
        settings
            .validate()
            .map_err(|e| Error::format(source, e.to_string()))?;
        Ok(settings)
    }

    /// Reads, parses and validates a filter settings file.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// The checks that relate settings to one another.
    pub fn validate(&self) -> Result<()> {
        match self {
            FilterSettings::Laws {
                kernel, dimensions, ..
            } if kernel.len() != dimensions.count() => {
                return Err(Error::setting(
                    "kernel",
                    format!(
                        "{} kernels given for a {}D filter: give one per axis",
                        kernel.len(),
                        dimensions.count()
                    ),
                ));
            }
            FilterSettings::Wavelet {
                subband,
                dimensions,
                ..
            } if subband.len() != dimensions.count() => {
                return Err(Error::setting(
                    "subband",
                    format!(
                        "`{subband}` has {} letters but the filter is {}D: give one letter per axis",
                        subband.len(),
                        dimensions.count()
                    ),
                ));
            }
            FilterSettings::Riesz {
                order, dimensions, ..
            } => {
                if order.len() != dimensions.count() {
                    return Err(Error::setting(
                        "order",
                        format!(
                            "{} orders given for a {}D filter: give one per axis",
                            order.len(),
                            dimensions.count()
                        ),
                    ));
                }
                if order.iter().sum::<usize>() == 0 {
                    return Err(Error::setting(
                        "order",
                        "all orders are 0: the transform would be the identity",
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The kind, as written in the settings.
    pub fn kind(&self) -> &'static str {
        match self {
            FilterSettings::Mean { .. } => "mean",
            FilterSettings::Log { .. } => "log",
            FilterSettings::Laws { .. } => "laws",
            FilterSettings::Gabor { .. } => "gabor",
            FilterSettings::Wavelet { .. } => "wavelet",
            FilterSettings::Simoncelli { .. } => "simoncelli",
            FilterSettings::Riesz { .. } => "riesz",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FilterSettings> {
        FilterSettings::from_yaml_str(text, "test.yaml")
    }

    fn error(text: &str) -> String {
        let e = parse(text).unwrap_err().to_string();
        println!("{e}");
        e
    }

    #[test]
    fn reads_each_kind_with_defaults() {
        let s = parse("kind: log\nsigma: 3\n").unwrap();
        assert_eq!(
            s,
            FilterSettings::Log {
                sigma: 3.0,
                cutoff: 4.0,
                dimensions: Dimensions::Three,
                boundary: Boundary::Mirror
            }
        );
        let s = parse("kind: laws\nkernel: e5l5s5\nenergy: {delta: 7}\nrotation_invariant: true\npooling: max\n")
            .unwrap();
        match s {
            FilterSettings::Laws { kernel, energy, .. } => {
                assert_eq!(kernel, vec![LawsKernel::E5, LawsKernel::L5, LawsKernel::S5]);
                assert_eq!(energy, Some(EnergySettings { delta: 7 }));
            }
            other => panic!("{other:?}"),
        }
        let s = parse("kind: wavelet\nfamily: db2\nsubband: lhl\n").unwrap();
        assert!(
            matches!(s, FilterSettings::Wavelet { level: 1, ref subband, .. } if subband == "LHL")
        );
        let s = parse("kind: simoncelli\nlevel: 2\n").unwrap();
        assert!(matches!(
            s,
            FilterSettings::Simoncelli {
                level: 2,
                boundary: Boundary::Periodic,
                ..
            }
        ));
    }

    #[test]
    fn rejects_bad_values_naming_the_setting() {
        let e = error("kind: log\nsigma: -1\n");
        assert!(
            e.contains("`sigma`: -1 must be a positive number") && e.contains("test.yaml"),
            "{e}"
        );
        let e = error("kind: log\nsigma: 0\n");
        assert!(e.contains("positive"), "{e}");
        let e = error("kind: gabor\nsigma: 10\nlambda: 0\ngamma: 1\n");
        assert!(e.contains("`lambda`: 0 must be a positive"), "{e}");
        let e = error("kind: mean\nsupport: 0\n");
        assert!(e.contains("`support`: 0"), "{e}");
        let e = error("kind: mean\nsupport: 4\n");
        assert!(e.contains("odd"), "{e}");
        let e = error("kind: laws\nkernel: E5X5S5\n");
        assert!(e.contains("`kernel`") && e.contains("`X5`"), "{e}");
        let e = error("kind: wavelet\nfamily: db9\nsubband: LLH\n");
        assert!(e.contains("db9"), "{e}");
        let e = error("kind: wavelet\nfamily: haar\nsubband: LH\n");
        assert!(e.contains("`subband`") && e.contains("LH"), "{e}");
        let e = error("kind: wavelet\nfamily: haar\nsubband: LLH\ndimensions: 2\n");
        assert!(e.contains("`subband`"), "{e}");
        let e = error("kind: wavelet\nfamily: haar\nsubband: LLH\nlevel: 0\n");
        assert!(e.contains("`level`: 0 is below 1"), "{e}");
        let e = error("kind: mean\nsupport: 3\nboundary: reflect\n");
        assert!(e.contains("reflect"), "{e}");
        let e = error("kind: mean\nsupport: 3\nsigma: 3\n");
        assert!(e.contains("sigma"), "{e}");
        let e = error("kind: laws\nkernel: L5E5\n");
        assert!(e.contains("`kernel`") && e.contains("3D"), "{e}");
        let e = error("kind: gabor\nsigma: 1\nlambda: 1\ngamma: 1\ntheta_step: 50\n");
        assert!(e.contains("divides 360"), "{e}");
        let e = error("kind: riesz\norder: [1, 0]\nbase: {kind: log, sigma: 2}\n");
        assert!(e.contains("`order`"), "{e}");
        let e = error("kind: riesz\norder: [0, 0, 0]\nbase: {kind: simoncelli}\n");
        assert!(e.contains("identity"), "{e}");
        let e = error("kind: riesz\norder: [1, 0, 0]\nbase: {kind: log, sigma: 0}\n");
        assert!(e.contains("positive"), "{e}");
        let e = error("kind: blur\n");
        assert!(e.contains("blur"), "{e}");
    }
}
