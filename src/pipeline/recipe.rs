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
use crate::processing::{ExtractionSettings, Family};

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
    let mut current = *stage.inputs.first()?;
    loop {
        let upstream = &stages[current];
        match upstream.kind.name() {
            "discretise" => settings.discretisation = typed(&upstream.params)?,
            "resegment" => settings.resegmentation = typed(&upstream.params)?,
            "resample" => settings.interpolation = Some(typed(&upstream.params)?),
            // A phased load's features are phase-prefixed and come with the
            // other phases' images; a recipe replays one image, so such a
            // model records none and `radial predict --image` asks for a
            // feature table instead of failing on a missing feature.
            "load" if upstream.params.get("phase").is_some() => return None,
            "load" => return Some(settings),
            _ => return None,
        }
        current = *upstream.inputs.first()?;
    }
}

fn typed<T: DeserializeOwned>(params: &Value) -> Option<T> {
    serde_json::from_value(params.clone()).ok()
}
