//! PyRadiomics' feature classes and feature names (version 3.0.1), in the
//! order it writes them: classes as enabled, features of a class in ASCII
//! order of their getter names (`getMeanAbsoluteDeviationFeatureValue` before
//! `getMeanFeatureValue`) unless the parameter file lists them.

/// A PyRadiomics feature class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureClass {
    FirstOrder,
    Shape,
    Shape2D,
    Glcm,
    Glrlm,
    Glszm,
    Gldm,
    Ngtdm,
}

/// The classes enabled when a parameter file names none, in PyRadiomics'
/// order (shape2D only with force2D, so not among them).
pub const DEFAULT_CLASSES: [FeatureClass; 7] = [
    FeatureClass::FirstOrder,
    FeatureClass::Glcm,
    FeatureClass::Gldm,
    FeatureClass::Glrlm,
    FeatureClass::Glszm,
    FeatureClass::Ngtdm,
    FeatureClass::Shape,
];

impl FeatureClass {
    pub const ALL: [FeatureClass; 8] = [
        FeatureClass::FirstOrder,
        FeatureClass::Shape,
        FeatureClass::Shape2D,
        FeatureClass::Glcm,
        FeatureClass::Glrlm,
        FeatureClass::Glszm,
        FeatureClass::Gldm,
        FeatureClass::Ngtdm,
    ];

    /// The name in parameter files and column names (`firstorder`).
    pub fn name(self) -> &'static str {
        match self {
            FeatureClass::FirstOrder => "firstorder",
            FeatureClass::Shape => "shape",
            FeatureClass::Shape2D => "shape2D",
            FeatureClass::Glcm => "glcm",
            FeatureClass::Glrlm => "glrlm",
            FeatureClass::Glszm => "glszm",
            FeatureClass::Gldm => "gldm",
            FeatureClass::Ngtdm => "ngtdm",
        }
    }

    /// Class names are case-sensitive in PyRadiomics.
    pub fn parse(name: &str) -> Option<FeatureClass> {
        FeatureClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The features enabled when the class is given without a list, in PyRadiomics' order.
    pub fn default_features(self) -> &'static [&'static str] {
        match self {
            FeatureClass::FirstOrder => &FIRSTORDER,
            FeatureClass::Shape => &SHAPE,
            FeatureClass::Shape2D => &SHAPE2D,
            FeatureClass::Glcm => &GLCM,
            FeatureClass::Glrlm => &GLRLM,
            FeatureClass::Glszm => &GLSZM,
            FeatureClass::Gldm => &GLDM,
            FeatureClass::Ngtdm => &NGTDM,
        }
    }

    /// Deprecated features: valid in a list, never enabled by default.
    pub fn deprecated_features(self) -> &'static [&'static str] {
        match self {
            FeatureClass::FirstOrder => &["StandardDeviation"],
            FeatureClass::Shape => &["Compactness1", "Compactness2", "SphericalDisproportion"],
            FeatureClass::Shape2D => &["SphericalDisproportion"],
            FeatureClass::Glcm => &[
                "Dissimilarity",
                "Homogeneity1",
                "Homogeneity2",
                "SumVariance",
            ],
            FeatureClass::Gldm => &["DependencePercentage", "GrayLevelNonUniformityNormalized"],
            FeatureClass::Glrlm | FeatureClass::Glszm | FeatureClass::Ngtdm => &[],
        }
    }

    /// Every name a parameter file may list for this class.
    pub fn all_features(self) -> Vec<&'static str> {
        let mut all: Vec<&str> = self.default_features().to_vec();
        all.extend_from_slice(self.deprecated_features());
        all
    }
}

pub const FIRSTORDER: [&str; 18] = [
    "10Percentile",
    "90Percentile",
    "Energy",
    "Entropy",
    "InterquartileRange",
    "Kurtosis",
    "Maximum",
    "MeanAbsoluteDeviation",
    "Mean",
    "Median",
    "Minimum",
    "Range",
    "RobustMeanAbsoluteDeviation",
    "RootMeanSquared",
    "Skewness",
    "TotalEnergy",
    "Uniformity",
    "Variance",
];

pub const SHAPE: [&str; 14] = [
    "Elongation",
    "Flatness",
    "LeastAxisLength",
    "MajorAxisLength",
    "Maximum2DDiameterColumn",
    "Maximum2DDiameterRow",
    "Maximum2DDiameterSlice",
    "Maximum3DDiameter",
    "MeshVolume",
    "MinorAxisLength",
    "Sphericity",
    "SurfaceArea",
    "SurfaceVolumeRatio",
    "VoxelVolume",
];

pub const SHAPE2D: [&str; 9] = [
    "Elongation",
    "MajorAxisLength",
    "MaximumDiameter",
    "MeshSurface",
    "MinorAxisLength",
    "Perimeter",
    "PerimeterSurfaceRatio",
    "PixelSurface",
    "Sphericity",
];

pub const GLCM: [&str; 24] = [
    "Autocorrelation",
    "ClusterProminence",
    "ClusterShade",
    "ClusterTendency",
    "Contrast",
    "Correlation",
    "DifferenceAverage",
    "DifferenceEntropy",
    "DifferenceVariance",
    "Id",
    "Idm",
    "Idmn",
    "Idn",
    "Imc1",
    "Imc2",
    "InverseVariance",
    "JointAverage",
    "JointEnergy",
    "JointEntropy",
    "MCC",
    "MaximumProbability",
    "SumAverage",
    "SumEntropy",
    "SumSquares",
];

pub const GLRLM: [&str; 16] = [
    "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized",
    "GrayLevelVariance",
    "HighGrayLevelRunEmphasis",
    "LongRunEmphasis",
    "LongRunHighGrayLevelEmphasis",
    "LongRunLowGrayLevelEmphasis",
    "LowGrayLevelRunEmphasis",
    "RunEntropy",
    "RunLengthNonUniformity",
    "RunLengthNonUniformityNormalized",
    "RunPercentage",
    "RunVariance",
    "ShortRunEmphasis",
    "ShortRunHighGrayLevelEmphasis",
    "ShortRunLowGrayLevelEmphasis",
];

pub const GLSZM: [&str; 16] = [
    "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized",
    "GrayLevelVariance",
    "HighGrayLevelZoneEmphasis",
    "LargeAreaEmphasis",
    "LargeAreaHighGrayLevelEmphasis",
    "LargeAreaLowGrayLevelEmphasis",
    "LowGrayLevelZoneEmphasis",
    "SizeZoneNonUniformity",
    "SizeZoneNonUniformityNormalized",
    "SmallAreaEmphasis",
    "SmallAreaHighGrayLevelEmphasis",
    "SmallAreaLowGrayLevelEmphasis",
    "ZoneEntropy",
    "ZonePercentage",
    "ZoneVariance",
];

pub const GLDM: [&str; 14] = [
    "DependenceEntropy",
    "DependenceNonUniformity",
    "DependenceNonUniformityNormalized",
    "DependenceVariance",
    "GrayLevelNonUniformity",
    "GrayLevelVariance",
    "HighGrayLevelEmphasis",
    "LargeDependenceEmphasis",
    "LargeDependenceHighGrayLevelEmphasis",
    "LargeDependenceLowGrayLevelEmphasis",
    "LowGrayLevelEmphasis",
    "SmallDependenceEmphasis",
    "SmallDependenceHighGrayLevelEmphasis",
    "SmallDependenceLowGrayLevelEmphasis",
];

pub const NGTDM: [&str; 5] = [
    "Busyness",
    "Coarseness",
    "Complexity",
    "Contrast",
    "Strength",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lists_are_in_getter_name_order() {
        for class in FeatureClass::ALL {
            let getters: Vec<String> = class
                .default_features()
                .iter()
                .map(|n| format!("get{n}FeatureValue"))
                .collect();
            assert!(getters.windows(2).all(|w| w[0] < w[1]), "{}", class.name());
        }
    }
}
