//! The texture families (IBSI 3.6-3.11) and the traversals they share.
//!
//! - [`grid`]: the padded, densely re-indexed grey-level grid every family reads;
//! - [`directions`] + [`directional`]: the 13-direction table and the
//!   aggregation driver of the GLCM and the GLRLM;
//! - [`zones`]: one connected-component pass (with the distance map) for the
//!   GLSZM and the GLDZM;
//! - [`neighbourhood`]: one neighbourhood pass for the NGTDM and the NGLDM;
//! - [`matrix`]: the sparse count matrix all of them build, and
//!   [`level_count`]: the features shared by the level × count matrices.
//!
//! Each family has the common `compute(input, out)` entry point;
//! [`compute_families`] computes several at once, running each shared
//! traversal a single time.

pub mod directional;
pub mod directions;
pub mod glcm;
pub mod gldzm;
pub mod glrlm;
pub mod glszm;
pub mod grid;
pub mod level_count;
pub mod matrix;
pub mod neighbourhood;
pub mod ngldm;
pub mod ngtdm;
pub mod zones;

use crate::Error;
use crate::Result;
use crate::features::{FamilyInput, FeatureSet};
use crate::processing::{Aggregation, Family, TextureSettings};
use grid::LevelGrid;

/// The inputs of a texture family, prepared once.
pub struct TextureContext<'a> {
    pub grid: LevelGrid,
    pub input: &'a FamilyInput<'a>,
    pub settings: &'a TextureSettings,
}

impl<'a> TextureContext<'a> {
    pub fn new(input: &'a FamilyInput<'a>, family: Family) -> Result<TextureContext<'a>> {
        let settings = &input.settings.texture;
        if settings.distance == 0 {
            return Err(Error::setting(
                "texture.distance",
                "the neighbourhood distance must be at least 1",
            ));
        }
        let discretised = input.require_discretised(family)?;
        check_grid_memory(discretised, settings.distance)?;
        let grid = LevelGrid::new(discretised, settings.distance as usize)?;
        Ok(TextureContext {
            grid,
            input,
            settings,
        })
    }
}

/// Refuses a texture distance whose padded grid cannot fit in memory: the
/// grid is padded by the distance on every side, and each padded voxel
/// holds its level code (4 bytes), a padded mask and the zone scratch (the
/// visited flags and the distance map: about 6 more).
fn check_grid_memory(discretised: &crate::processing::Discretised, distance: u32) -> Result<()> {
    let pad = distance.max(1) as f64;
    let padded: f64 = discretised
        .levels
        .shape()
        .iter()
        .map(|&n| n as f64 + 2.0 * pad)
        .product();
    crate::processing::estimate::check(
        "texture.distance",
        &format!("a texture grid padded by {distance} voxels on each side"),
        padded * 10.0,
    )
}

/// How the zone and neighbourhood families aggregate (IBSI 3.8.1): per slice
/// and averaged (2D), slices merged (2.5D), or one volume matrix (3D).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    TwoD,
    TwoHalfD,
    ThreeD,
}

impl Dimension {
    pub fn tag_suffix(self) -> &'static str {
        match self {
            Dimension::TwoD => "2D",
            Dimension::TwoHalfD => "2_5D",
            Dimension::ThreeD => "3D",
        }
    }

    /// The dimensions the aggregations ask for, once each, in request order
    /// (`_avg` and `_comb` map to the same dimension).
    pub fn requested(aggregations: &[Aggregation]) -> Vec<Dimension> {
        let mut out = Vec::new();
        for a in aggregations {
            let d = match a {
                Aggregation::TwoDAvg | Aggregation::TwoDComb => Dimension::TwoD,
                Aggregation::TwoHalfDAvg | Aggregation::TwoHalfDComb => Dimension::TwoHalfD,
                Aggregation::ThreeDAvg | Aggregation::ThreeDComb => Dimension::ThreeD,
            };
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }
}

/// Pushes `names[i]_suffix = values[i]`, or NaN for every name when the
/// features are undefined (e.g. no pair of voxels in any direction).
pub fn push_features(out: &mut FeatureSet, names: &[&str], suffix: &str, values: Option<&[f64]>) {
    for (i, name) in names.iter().enumerate() {
        let v = values.map_or(f64::NAN, |v| v[i]);
        out.push(format!("{name}_{suffix}"), v);
    }
}

/// Computes the texture families among `families` (others are ignored), in
/// the order given, sharing the grid, the zone labelling (GLSZM + GLDZM) and
/// the neighbourhood pass (NGTDM + NGLDM).
pub fn compute_families(
    families: &[Family],
    input: &FamilyInput,
    out: &mut FeatureSet,
) -> Result<()> {
    let texture: Vec<Family> = families
        .iter()
        .copied()
        .filter(|f| {
            matches!(
                f,
                Family::Glcm
                    | Family::Glrlm
                    | Family::Glszm
                    | Family::Gldzm
                    | Family::Ngtdm
                    | Family::Ngldm
            )
        })
        .collect();
    let Some(&first) = texture.first() else {
        return Ok(());
    };
    let ctx = TextureContext::new(input, first)?;
    let dims = Dimension::requested(&ctx.settings.aggregations);
    let need_zones = texture.contains(&Family::Glszm) || texture.contains(&Family::Gldzm);
    let zones = if need_zones {
        Some(zones::ZoneTables::compute(&ctx, &dims)?)
    } else {
        None
    };
    let need_nbh = texture.contains(&Family::Ngtdm) || texture.contains(&Family::Ngldm);
    let nbh = if need_nbh {
        Some(neighbourhood::NeighbourhoodTables::compute(&ctx, &dims))
    } else {
        None
    };
    for f in texture {
        match f {
            Family::Glcm => glcm::compute_with(&ctx, out),
            Family::Glrlm => glrlm::compute_with(&ctx, out),
            Family::Glszm => glszm::push(zones.as_ref().expect("zones computed"), &dims, out),
            Family::Gldzm => gldzm::push(zones.as_ref().expect("zones computed"), &dims, out),
            Family::Ngtdm => ngtdm::push(&ctx, nbh.as_ref().expect("pass computed"), &dims, out),
            Family::Ngldm => ngldm::push(&ctx, nbh.as_ref().expect("pass computed"), &dims, out),
            _ => {}
        }
    }
    Ok(())
}
