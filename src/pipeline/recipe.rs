//! The extraction recipe of a `train` stage: the chain of image stages
//! behind every feature family its table was collected from, recorded in
//! the model so that `radial predict --image --mask` computes new cases'
//! features as the pipeline did. The planner adds it to the stage's
//! parameters (key `extraction`), so a change anywhere upstream is also a
//! change of the model's key.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::plan::PlannedStage;
use crate::learn::recipe::{ExtractionRecipe, FeatureSource};
use crate::processing::{DiscretisationSettings, ExtractionSettings, Family, NamedFilter};

/// The parameter key the planner adds to `train` stages.
pub const EXTRACTION_PARAM: &str = "extraction";

/// The recipe of the `train` stage `train`, or `None` when its table does
/// not come from images (a `table` stage) or from several per case (phases).
pub fn extraction_recipe(stages: &[PlannedStage], train: usize) -> Option<ExtractionRecipe> {
    let mut table = *stages[train].inputs.first()?;
    if stages[table].kind.name() == "select" {
        table = *stages[table].inputs.first()?;
    }
    let collect = &stages[table];
    if collect.kind.name() != "collect" {
        return None;
    }
    let prefix = collect.params["prefix_stage_id"].as_bool().unwrap_or(false);
    let sources = collect
        .inputs
        .iter()
        .map(|&f| {
            let stage = &stages[f];
            Some(FeatureSource {
                prefix: prefix.then(|| stage.id.clone()),
                settings: family_settings(stages, f)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ExtractionRecipe { sources })
}

/// The settings of one family stage and the image stages upstream of it.
///
/// A family behind a `filter` stage (directly, or through a `discretise`
/// stage of the response map) becomes one entry of `filters:` named after
/// the filter stage, which is how its features are named in the table
/// (`log_s2_stat_mean`); the chain then continues from the filter's ROI
/// input, whose interpolation and re-segmentation the filter stage uses.
fn family_settings(stages: &[PlannedStage], family_stage: usize) -> Option<ExtractionSettings> {
    let stage = &stages[family_stage];
    let family: Family = serde_json::from_value(Value::String(stage.kind.name().into())).ok()?;
    let mut settings = ExtractionSettings {
        families: vec![family],
        ..ExtractionSettings::default()
    };
    if family == Family::Ivh {
        settings.ivh = typed(&stage.params)?;
    } else if family.needs_discretisation() && family != Family::Histogram {
        settings.texture = typed(&stage.params)?;
    }
    // A discretisation read before any filter: the response map's if a
    // filter follows, the image's otherwise.
    let mut discretisation: Option<DiscretisationSettings> = None;
    let mut current = *stage.inputs.first()?;
    loop {
        let upstream = &stages[current];
        match upstream.kind.name() {
            "discretise" => discretisation = Some(typed(&upstream.params)?),
            "filter" if settings.filters.is_empty() => {
                settings.filters.push(NamedFilter {
                    name: upstream.id.clone(),
                    filter: typed(&upstream.params)?,
                    families: std::mem::take(&mut settings.families),
                    discretisation: discretisation.take().unwrap_or_default(),
                });
                current = *upstream
                    .inputs
                    .iter()
                    .find(|&&i| stages[i].kind.name() != "load")?;
                continue;
            }
            "resegment" => settings.resegmentation = typed(&upstream.params)?,
            "resample" => settings.interpolation = Some(typed(&upstream.params)?),
            // A phased load's features are phase-prefixed and come with the
            // other phases' images; a recipe replays one image, so such a
            // model records none and `radial predict --image` asks for a
            // feature table instead of failing on a missing feature.
            "load" if upstream.params.get("phase").is_some() => return None,
            "load" => break,
            _ => return None,
        }
        current = *upstream.inputs.first()?;
    }
    if let Some(d) = discretisation {
        settings.discretisation = d;
    }
    Some(settings)
}

fn typed<T: DeserializeOwned>(params: &Value) -> Option<T> {
    serde_json::from_value(params.clone()).ok()
}
