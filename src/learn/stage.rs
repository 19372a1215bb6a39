//! What a pipeline engine needs to run the learning layer as stages:
//!
//! - kind `table` (cohort scope, no inputs): [`TableParams`] → a
//!   [`FeatureTable`], e.g. from an existing CSV or a PyRadiomics output.
//! - kind `evaluate` (cohort scope, one table input): params are exactly a
//!   [`Protocol`]; outputs `<id>.metrics.json` ([`Evaluation`] as JSON),
//!   `<id>.html` ([`crate::report::render_html`]) and `<id>.model.json`
//!   ([`crate::learn::fit_final`]).
//!
//! `${VAR:-default}` in `path` is expanded from the environment (as the tests'
//! `RADIAL_DATA_DIR`); a relative path is relative to the pipeline file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::table::{FeatureTable, TableSpec};
use super::{Evaluation, Protocol, evaluate, fit_final};
use crate::report::{ReportContext, render_html};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableParams {
    pub path: String,
    #[serde(default = "default_id")]
    pub id_column: String,
    pub label_column: String,
    pub positive: String,
    #[serde(default)]
    pub ignore: Vec<String>,
}

fn default_id() -> String {
    "case_id".into()
}

impl TableParams {
    pub fn spec(&self) -> TableSpec {
        TableSpec {
            id_column: self.id_column.clone(),
            label_column: self.label_column.clone(),
            positive: self.positive.clone(),
            ignore: self.ignore.clone(),
        }
    }

    /// The table's path with `${VAR}` / `${VAR:-default}` expanded, relative to `base`.
    pub fn resolved_path(&self, base: &Path) -> Result<PathBuf> {
        let expanded = expand_env(&self.path)?;
        let p = PathBuf::from(expanded);
        Ok(if p.is_relative() { base.join(p) } else { p })
    }

    pub fn load(&self, base: &Path) -> Result<FeatureTable> {
        FeatureTable::read(&self.resolved_path(base)?, &self.spec())
    }
}

/// Expands `${VAR}` and `${VAR:-default}`; an unset variable without default is an error.
pub fn expand_env(text: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| Error::setting("path", format!("unclosed `${{` in `{text}`")))?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(name).ok().filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(Error::setting(
                    "path",
                    format!("environment variable `{name}` is not set (in `{text}`)"),
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The three outputs of an `evaluate` stage.
pub struct EvaluateOutputs {
    pub evaluation: Evaluation,
    pub metrics_json: Vec<u8>,
    pub html: String,
    pub model_json: Vec<u8>,
}

/// Runs an `evaluate` stage: cross-validation, report, final model.
pub fn run_evaluate(
    table: &FeatureTable,
    protocol: &Protocol,
    context: &ReportContext,
) -> Result<EvaluateOutputs> {
    let evaluation = evaluate(table, protocol, protocol.seed)?;
    let metrics_json = serde_json::to_vec_pretty(&evaluation)
        .map_err(|e| Error::data(format!("cannot serialise evaluation: {e}")))?;
    let html = render_html(&evaluation, context);
    let model = fit_final(table, protocol)?;
    let model_json = serde_json::to_vec_pretty(&model)
        .map_err(|e| Error::data(format!("cannot serialise model: {e}")))?;
    Ok(EvaluateOutputs {
        evaluation,
        metrics_json,
        html,
        model_json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_defaults_and_rejects_unset_variables() {
        assert_eq!(
            expand_env("${RADIAL_SURELY_UNSET_VAR:-../shared/data}/wdbc/x.csv").unwrap(),
            "../shared/data/wdbc/x.csv"
        );
        assert!(expand_env("${RADIAL_SURELY_UNSET_VAR}/x").is_err());
        assert_eq!(expand_env("plain/path").unwrap(), "plain/path");
    }

    #[test]
    fn the_wdbc_pipeline_stages_parse_as_our_params() {
        let text = include_str!("../../pipelines/wdbc.yaml");
        let doc: serde_json::Value = serde_saphyr::from_str(text).unwrap();
        let stages = doc["stages"].as_array().unwrap();
        let table: TableParams = serde_json::from_value(stages[0]["params"].clone()).unwrap();
        assert_eq!(table.label_column, "diagnosis");
        let ids: Vec<&str> = stages[1..]
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["eval-svm", "eval-logreg", "eval-rf"]);
        for s in &stages[1..] {
            assert_eq!(s["kind"], "evaluate");
            let p: Protocol = serde_json::from_value(s["params"].clone()).unwrap();
            p.validate().unwrap();
            assert_eq!((p.folds, p.repeats), (5, 10));
        }
    }
}
