//! The final model: the protocol's steps fitted on the whole cohort, stored
//! as JSON with everything needed to score new cases (input feature names and
//! order, imputation and scaling values, the classifier).

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::combat::{CombatRows, parse_covariate};
use super::evaluate::{Cohort, check_class_sizes, choose_candidate, combat_rows, derive_seed};
use super::fitted::{self, FittedPipeline};
use super::protocol::Protocol;
use super::recipe::ExtractionRecipe;
use super::table::{FeatureTable, check_no_infinite, numeric_matrix, read_frame, string_column};
use crate::features::FeatureSet;
use crate::image::Volume;
use crate::io::atomic::write_bytes;
use crate::{Error, Result};

pub const ARTIFACT_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub format: u32,
    pub radial_version: String,
    /// The protocol as fitted (with a search: the chosen candidate).
    pub protocol: Protocol,
    pub cohort: Cohort,
    /// The input columns the model reads, in the order of `pipeline.columns`'
    /// indices: `pipeline.columns[k]` indexes this list.
    pub input_features: Vec<String>,
    pub pipeline: FittedPipeline,
    /// How the input features are computed from an image and a mask, when
    /// known (a pipeline's `train` stage, `radial evaluate
    /// --extraction-settings`): what `radial predict --image --mask` replays.
    #[serde(default)]
    pub extraction: Option<ExtractionRecipe>,
}

/// A new case's batch and covariate values, for a model that harmonises.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseBatch {
    pub batch: String,
    pub covariates: std::collections::BTreeMap<String, f64>,
}

/// One scored case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub case_id: String,
    pub score: f64,
    pub probability: f64,
    /// The predicted class value (probability >= 0.5).
    pub predicted: String,
}

/// Fits the protocol on the whole table. With a search, the candidate is
/// chosen by a stratified k-fold over the whole table first.
pub fn fit_final(table: &FeatureTable, protocol: &Protocol) -> Result<ModelArtifact> {
    protocol.validate()?;
    let rows = combat_rows(table, protocol)?;
    let candidates = protocol.candidates();
    let chosen = if candidates.len() > 1 {
        let k = protocol.search.as_ref().map_or(3, |s| s.inner_folds);
        check_class_sizes(table, k, "inner folds")?;
        choose_candidate(
            table.features.view(),
            &table.labels,
            &table.feature_names,
            rows.as_ref(),
            &candidates,
            k,
            derive_seed(protocol.seed, u64::MAX - 1),
        )?
        .0
    } else {
        0
    };
    let protocol = candidates[chosen].clone();
    let pipeline = fitted::fit(
        table.features.view(),
        &table.labels,
        &table.feature_names,
        rows.as_ref(),
        &protocol,
        protocol.seed,
    )?;
    // Keep only the columns the model reads, re-indexed.
    let input_features: Vec<String> = pipeline
        .columns
        .iter()
        .map(|&j| table.feature_names[j].clone())
        .collect();
    let pipeline = FittedPipeline {
        columns: (0..input_features.len()).collect(),
        ..pipeline
    };
    Ok(ModelArtifact {
        format: ARTIFACT_FORMAT,
        radial_version: crate::VERSION.to_string(),
        protocol,
        cohort: Cohort::of(table),
        input_features,
        pipeline,
        extraction: None,
    })
}

impl ModelArtifact {
    pub fn save(&self, path: &Path) -> Result<()> {
        // JSON has no infinity or NaN: such a value would be written as
        // `null` and make a file no radial can load. Refuse it here instead.
        super::model_check::check(self).map_err(|e| {
            Error::data(format!("cannot save the model to {}: {e}", path.display()))
        })?;
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::format(path, format!("cannot serialise model: {e}")))?;
        write_bytes(path, &json)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let model: ModelArtifact = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(path, format!("not a radial model: {e}")))?;
        if model.format != ARTIFACT_FORMAT {
            return Err(Error::format(
                path,
                format!(
                    "model format {} (this radial reads {ARTIFACT_FORMAT})",
                    model.format
                ),
            ));
        }
        super::model_check::check(&model)
            .map_err(|e| Error::format(path, format!("not a usable model: {e}")))?;
        Ok(model)
    }

    /// Scores rows whose columns are exactly `input_features`; `rows` their
    /// batches (and covariates) when the model harmonises with ComBat.
    pub fn predict_matrix(
        &self,
        case_ids: &[String],
        x: &Array2<f64>,
        rows: Option<&CombatRows>,
    ) -> Result<Vec<Prediction>> {
        let (scores, probabilities) = self.pipeline.predict(x.view(), rows)?;
        Ok(case_ids
            .iter()
            .zip(scores.iter().zip(&probabilities))
            .map(|(id, (&score, &probability))| Prediction {
                case_id: id.clone(),
                score,
                probability,
                predicted: if probability >= 0.5 {
                    self.cohort.positive.clone()
                } else {
                    self.cohort.negative.clone()
                },
            })
            .collect())
    }

    /// The ComBat step of the protocol, when the model harmonises.
    pub fn combat_spec(&self) -> Option<&super::combat::CombatSpec> {
        self.pipeline
            .harmonisation
            .as_ref()
            .and(self.protocol.combat.as_ref())
    }

    /// The rows' ComBat input for one new case: its batch must be given
    /// exactly when the model harmonises, with every covariate it needs.
    pub fn case_rows(
        &self,
        case_id: &str,
        batch: Option<&CaseBatch>,
    ) -> Result<Option<CombatRows>> {
        match (self.combat_spec(), batch) {
            (None, None) => Ok(None),
            (None, Some(b)) => Err(Error::data(format!(
                "case `{case_id}`: a batch (`{}`) was given, but this model does not harmonise with ComBat",
                b.batch
            ))),
            (Some(spec), None) => Err(Error::data(format!(
                "case `{case_id}`: this model harmonises its features with ComBat by `{}` (batches: {}); give the case's batch (--batch){}",
                spec.batch,
                self.known_batches(),
                if spec.covariates.is_empty() {
                    String::new()
                } else {
                    format!(" and its covariates {}", spec.covariates.join(", "))
                }
            ))),
            (Some(spec), Some(b)) => {
                let mut covariates = Array2::zeros((1, spec.covariates.len()));
                for (c, name) in spec.covariates.iter().enumerate() {
                    covariates[[0, c]] = *b.covariates.get(name).ok_or_else(|| {
                        Error::data(format!(
                            "case `{case_id}`: the model's ComBat needs covariate `{name}` (--covariate {name}=VALUE)"
                        ))
                    })?;
                }
                if let Some(extra) = b.covariates.keys().find(|k| !spec.covariates.contains(k)) {
                    return Err(Error::data(format!(
                        "case `{case_id}`: covariate `{extra}` is not one the model's ComBat uses ({})",
                        crate::error::none_or_joined(&spec.covariates)
                    )));
                }
                Ok(Some(CombatRows {
                    batch: vec![b.batch.clone()],
                    covariates,
                }))
            }
        }
    }

    fn known_batches(&self) -> String {
        self.pipeline
            .harmonisation
            .as_ref()
            .map(|h| h.combat.known_batches())
            .unwrap_or_default()
    }

    /// The recorded extraction recipe, or why scoring from images is impossible.
    pub fn recipe(&self) -> Result<&ExtractionRecipe> {
        self.extraction.as_ref().ok_or_else(|| {
            Error::data(
                "this model does not record how its features were extracted (it was \
                 trained on a feature table, or on features radial cannot yet recompute \
                 from one image: a pyradiomics stage's or several phases'); score it with \
                 --features TABLE, or train it with a pipeline of IBSI stages or with \
                 `radial evaluate --extraction-settings`",
            )
        })
    }

    /// The model's input row, read by name from extracted features.
    pub fn input_row(&self, features: &FeatureSet) -> Result<Vec<f64>> {
        self.input_features
            .iter()
            .map(|name| {
                features.get(name).ok_or_else(|| {
                    Error::data(format!(
                        "the recorded extraction does not produce the model's input feature `{name}`"
                    ))
                })
            })
            .collect()
    }

    /// Scores one case from its image and ROI: the recorded extraction
    /// recipe computes the features, the model reads its inputs by name.
    pub fn predict_case(
        &self,
        case_id: &str,
        image: &Volume<f32>,
        mask: &Volume<bool>,
        batch: Option<&CaseBatch>,
    ) -> Result<Prediction> {
        let features = self.recipe()?.extract(image, mask)?;
        let row = self.input_row(&features)?;
        self.predict_row(case_id, row, batch)
    }

    /// Scores one row whose values follow `input_features`; an infinite
    /// value is refused, naming the feature and the case.
    pub fn predict_row(
        &self,
        case_id: &str,
        row: Vec<f64>,
        batch: Option<&CaseBatch>,
    ) -> Result<Prediction> {
        let rows = self.case_rows(case_id, batch)?;
        let x = Array2::from_shape_vec((1, row.len()), row).expect("one row");
        let ids = [case_id.to_string()];
        check_no_infinite(&x, &ids, &self.input_features, "extracted features")?;
        Ok(self.predict_matrix(&ids, &x, rows.as_ref())?.remove(0))
    }

    /// Reads a CSV/Parquet table holding `id_column` and every input feature
    /// (by name, any order, extra columns ignored) and scores each row. A
    /// model that harmonises reads each case's batch (and covariates) from
    /// the columns its ComBat was fitted with.
    pub fn predict_file(&self, path: &Path, id_column: &str) -> Result<Vec<Prediction>> {
        let df = read_frame(path)?;
        let ids = string_column(&df, id_column, path)?;
        let x = numeric_matrix(&df, &self.input_features, &ids, path)?;
        let rows = match self.combat_spec() {
            None => None,
            Some(spec) => {
                let origin = path.display().to_string();
                let batch = string_column(&df, &spec.batch, path)?;
                for (id, b) in ids.iter().zip(&batch) {
                    if super::table::is_missing_text(b) {
                        return Err(Error::format(
                            path,
                            format!("case `{id}` has no value in batch column `{}`", spec.batch),
                        ));
                    }
                }
                let mut covariates = Array2::zeros((ids.len(), spec.covariates.len()));
                for (c, name) in spec.covariates.iter().enumerate() {
                    for (i, text) in string_column(&df, name, path)?.iter().enumerate() {
                        covariates[[i, c]] = parse_covariate(text, name, &ids[i], &origin)?;
                    }
                }
                Some(CombatRows { batch, covariates })
            }
        };
        self.predict_matrix(&ids, &x, rows.as_ref())
    }
}
