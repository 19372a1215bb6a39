//! The learning layer as cohort stage kinds:
//!
//! - `table` (no inputs): an existing feature table ([`TableParams`]); its
//!   file's content hash enters the task key.
//! - `select` (a `table` or `collect`): declares feature-selection steps. Its
//!   output is the table plus the *unfitted* recipe; it never applies the
//!   selection to the cohort that downstream stages validate on, so the
//!   leaky protocol (select on the whole cohort, then cross-validate) cannot
//!   be written as a pipeline.
//! - `evaluate` (a `table`, `collect` or `select`): params are a
//!   [`Protocol`]; a `select` input's recipe becomes the protocol's
//!   selection, fitted inside each training fold.
//! - `train` (same inputs): the final model ([`fit_final`]).
//!
//! A `combat` step (ComBat harmonisation) may be given in `evaluate`/`train`
//! or in the `select` stage they read (not both); it is fitted inside the
//! folds like the selection, and its batch and covariate columns are never
//! features.
//! - `report` (an `evaluate`): the HTML report.
//!
//! `select`, `evaluate` and `train` may also read `stability` stages: a
//! `stable: {min_icc, from}` selection step names one of them and keeps the
//! features whose ICC there is at least `min_icc` (filled into the step
//! before anything is fitted, so the evaluation and the model record the
//! list). A `table` may hold one row per (case, variant) (a `variant`
//! column) for a `stability` stage; the learning stages refuse such a table.
//!
//! A `collect` table carries no outcome definition: the learning stage reading
//! it names it (`label_column`, `positive`, optional `id_column`, `ignore`).
//!
//! Tables travel between stages as a small text envelope: a magic line, one
//! JSON line (outcome definition, selection recipe), then the table as
//! canonical CSV (numbers in shortest round-trip form), so downstream keys
//! depend on the table's content, not on its path or formatting.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::collect::{Table, format_number};
use super::stability::{VARIANT_COLUMN, from_csv as read_stability, stable_features};
use super::{InputData, Scope, StageKind, TaskData, canonical, one_input_of, typed};
use crate::learn::combat::{CombatRows, CombatSpec};
use crate::learn::protocol::{Imputation, SelectionStep};
use crate::learn::stage::{TableParams, expand_env};
use crate::learn::table::sha256_hex;
use crate::learn::{Evaluation, FeatureTable, Protocol, TableSpec, evaluate, fit_final};
use crate::report::{ReportContext, render_html};
use crate::{Error, Result};

const MAGIC: &str = "RADIAL-LEARN-TABLE 1";
const TABLE_KINDS: [&str; 2] = ["table", "collect"];
const MODEL_INPUT_KINDS: [&str; 3] = ["table", "collect", "select"];

/// What travels with a table between learning stages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    /// Which columns mean what (absent for a `collect` table).
    spec: Option<TableSpec>,
    /// The unfitted selection recipe of a `select` stage.
    selection: Option<Vec<SelectionStep>>,
    /// Informational: the features the recipe keeps on the whole cohort.
    kept: Vec<String>,
    /// The unfitted ComBat step of a `select` stage (absent otherwise, so
    /// older envelopes keep their bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    combat: Option<CombatSpec>,
}

fn encode(header: &Header, table: &Table) -> Result<Vec<u8>> {
    let mut out = format!("{MAGIC}\n").into_bytes();
    serde_json::to_writer(&mut out, header).map_err(|e| Error::data(e.to_string()))?;
    out.push(b'\n');
    out.extend_from_slice(&table.to_csv());
    Ok(out)
}

/// A learning stage's input: an envelope, or the plain CSV of `collect`.
fn decode(bytes: &[u8]) -> Result<(Header, Table)> {
    let magic = format!("{MAGIC}\n");
    let Some(rest) = bytes.strip_prefix(magic.as_bytes()) else {
        return Ok((Header::default(), Table::from_csv(bytes)?));
    };
    let end = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| Error::data("corrupt table envelope"))?;
    let header = serde_json::from_slice(&rest[..end])
        .map_err(|e| Error::data(format!("corrupt table envelope: {e}")))?;
    Ok((header, Table::from_csv(&rest[end + 1..])?))
}

/// A learning table's outcome definition (absent for `collect`) and rows,
/// for the `stability` stage.
pub(super) fn decode_table(bytes: &[u8]) -> Result<(Option<TableSpec>, Table)> {
    let (header, table) = decode(bytes)?;
    Ok((header.spec, table))
}

/// Feature cells in shortest round-trip form (`1.0` and `1` are one value);
/// id, label and ignored columns verbatim.
fn canonicalise(table: &mut Table, spec: &TableSpec) {
    let verbatim: Vec<bool> = table
        .header
        .iter()
        .map(|h| *h == spec.id_column || *h == spec.label_column || spec.ignore.contains(h))
        .collect();
    for row in &mut table.rows {
        for (cell, &keep) in row.iter_mut().zip(&verbatim) {
            if !keep && let Ok(v) = cell.trim().parse::<f64>() {
                *cell = format_number(v);
            }
        }
    }
}

/// The validated feature table of `table` under `spec`.
fn feature_table(table: &Table, spec: &TableSpec, origin: &str) -> Result<FeatureTable> {
    if table.header.iter().any(|h| h == VARIANT_COLUMN) {
        return Err(Error::data(format!(
            "input `{origin}` has one row per (case, variant) (a `{VARIANT_COLUMN}` column): \
             a learning stage needs one row per case; variants feed a `stability` stage"
        )));
    }
    let text = [spec.id_column.as_str(), spec.label_column.as_str()];
    let df = table
        .to_frame(&text)
        .map_err(|e| Error::data(format!("{origin}: {e}")))?;
    let mut t = FeatureTable::from_frame(&df, spec, Path::new(origin))?;
    t.source = Some((PathBuf::from(origin), sha256_hex(&table.to_csv())));
    Ok(t)
}

/// How a learning stage reading a `collect` table names its outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<String>>,
}

impl OutcomeParams {
    const KEYS: [&str; 4] = ["label_column", "positive", "id_column", "ignore"];

    fn given(&self) -> bool {
        *self != OutcomeParams::default()
    }

    /// The outcome definition: the table stage's, or this stage's own.
    fn resolve(&self, from_input: Option<TableSpec>, input_id: &str) -> Result<TableSpec> {
        match (from_input, self.given()) {
            (Some(spec), false) => Ok(spec),
            (Some(_), true) => Err(Error::setting(
                "label_column",
                format!(
                    "the outcome is defined by the table stage `{input_id}`; \
                     remove label_column/positive/id_column/ignore here"
                ),
            )),
            (None, _) => {
                let need = |v: &Option<String>, name: &str| {
                    v.clone().ok_or_else(|| {
                        Error::setting(
                            name,
                            format!(
                                "input `{input_id}` is a collected table: give `label_column` and `positive`"
                            ),
                        )
                    })
                };
                Ok(TableSpec {
                    id_column: self.id_column.clone().unwrap_or_else(|| "case_id".into()),
                    label_column: need(&self.label_column, "label_column")?,
                    positive: need(&self.positive, "positive")?,
                    ignore: self.ignore.clone().unwrap_or_default(),
                })
            }
        }
    }
}

/// Splits a parameter object into the outcome keys and the rest.
fn split_outcome(params: &Value) -> std::result::Result<(OutcomeParams, Value), String> {
    let Value::Object(map) = params else {
        return Err("parameters must be a mapping".into());
    };
    let (outcome, rest): (serde_json::Map<_, _>, serde_json::Map<_, _>) = map
        .clone()
        .into_iter()
        .partition(|(k, _)| OutcomeParams::KEYS.contains(&k.as_str()));
    Ok((typed(&Value::Object(outcome))?, Value::Object(rest)))
}

/// Parameters of `evaluate` and `train`: a [`Protocol`] plus, for a
/// `collect` input, the [`OutcomeParams`] (one flat mapping).
fn protocol_params(params: &Value) -> std::result::Result<(OutcomeParams, Protocol), String> {
    let (outcome, rest) = split_outcome(params)?;
    let protocol: Protocol = typed(&rest)?;
    protocol.validate().map_err(|e| e.to_string())?;
    protocol.check_user_given().map_err(|e| e.to_string())?;
    Ok((outcome, protocol))
}

fn canonical_protocol_params(params: &Value) -> std::result::Result<Value, String> {
    let (outcome, protocol) = protocol_params(params)?;
    let mut v = serde_json::to_value(&protocol).map_err(|e| e.to_string())?;
    if let (Value::Object(map), Value::Object(o)) = (
        &mut v,
        serde_json::to_value(&outcome).map_err(|e| e.to_string())?,
    ) {
        map.extend(o);
    }
    Ok(v)
}

/// A model stage reading a `select` stage takes its selection from there:
/// steps given in both places are a conflict, reported at planning.
fn selection_conflict(params: &Value, input_kinds: &[&str]) -> std::result::Result<(), String> {
    let own = params["selection"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    if own && input_kinds.contains(&"select") {
        return Err(
            "gives selection steps, but its input is a select stage, which gives them \
                    too; keep one of them"
                .into(),
        );
    }
    Ok(())
}

/// The single table input of a learning stage (the inputs besides its
/// `stability` stages), decoded.
fn single_input<'t>(task: &'t TaskData) -> Result<(&'t str, Header, Table)> {
    let tables: Vec<&InputData> = task.inputs.iter().filter(|i| i.kind != STABILITY).collect();
    let input = match tables.as_slice() {
        [one] if one.items.len() == 1 => *one,
        _ => return Err(Error::data("the stage expects exactly one table input")),
    };
    let (header, table) = decode(&input.items[0].1)?;
    Ok((&input.stage_id, header, table))
}

const STABILITY: &str = "stability";

/// Checks one table input (of `accepted` kinds) plus any `stability` inputs.
fn table_and_stability_inputs(
    input_kinds: &[&str],
    accepted: &[&str],
) -> std::result::Result<(), String> {
    let tables: Vec<&str> = input_kinds
        .iter()
        .copied()
        .filter(|k| *k != STABILITY)
        .collect();
    one_input_of(&tables, accepted).map_err(|m| format!("{m} (plus any `stability` stages)"))?;
    // The table comes first: a model's extraction recipe follows the first input.
    if input_kinds.first() == Some(&STABILITY) {
        return Err(format!(
            "lists a `stability` stage first; list the table input ({}) first in `inputs`",
            accepted.join(" or ")
        ));
    }
    Ok(())
}

/// The planning check of a protocol stage (`evaluate`, `train`): its
/// selection does not clash with a `select` input, and its `stable` steps
/// name a stability input.
fn check_protocol_inputs(
    params: &Value,
    input_ids: &[&str],
    input_kinds: &[&str],
) -> std::result::Result<(), String> {
    selection_conflict(params, input_kinds)?;
    let (_, protocol) = protocol_params(params)?;
    check_stable_steps(&protocol.selection, input_ids, input_kinds)
}

/// At planning: each `stable` step's `from` names one of the stage's inputs
/// of kind `stability`, and every `stability` input is named by a step.
fn check_stable_steps(
    selection: &[SelectionStep],
    input_ids: &[&str],
    input_kinds: &[&str],
) -> std::result::Result<(), String> {
    let mut named: Vec<&str> = Vec::new();
    for (i, step) in selection.iter().enumerate() {
        let SelectionStep::Stable { from, .. } = step else {
            continue;
        };
        let setting = format!("parameter `selection[{i}].stable.from`");
        match input_ids.iter().position(|id| id == from) {
            None => {
                return Err(format!(
                    "{setting}: `{from}` is not an input of this stage (its inputs: {}); \
                     list the stability stage in `inputs`",
                    input_ids.join(", ")
                ));
            }
            Some(k) if input_kinds[k] != STABILITY => {
                return Err(format!(
                    "{setting}: `{from}` is a `{}` stage, not a `stability` stage",
                    input_kinds[k]
                ));
            }
            Some(_) => named.push(from),
        }
    }
    if let Some(k) = (0..input_ids.len())
        .find(|&k| input_kinds[k] == STABILITY && !named.contains(&input_ids[k]))
    {
        return Err(format!(
            "reads the `stability` stage `{}` but no `stable` selection step names it: \
             add `stable: {{min_icc: ..., from: {}}}` to `selection` or drop the input",
            input_ids[k], input_ids[k]
        ));
    }
    Ok(())
}

/// Fills each unresolved `stable` step with the features of `names` whose
/// ICC in the stability stage it names is at least `min_icc`.
fn resolve_stable(
    selection: &mut [SelectionStep],
    task: &TaskData,
    names: &[String],
) -> Result<()> {
    for (i, step) in selection.iter_mut().enumerate() {
        let SelectionStep::Stable {
            min_icc,
            from,
            features: features @ None,
        } = step
        else {
            continue;
        };
        let setting = format!("selection[{i}].stable.from");
        let input = task
            .inputs
            .iter()
            .find(|input| input.stage_id == *from)
            .ok_or_else(|| {
                let ids: Vec<&str> = task.inputs.iter().map(|i| i.stage_id.as_str()).collect();
                Error::setting(
                    &setting,
                    format!(
                        "`{from}` is not an input of this stage (its inputs: {}); \
                         list the stability stage in `inputs`",
                        ids.join(", ")
                    ),
                )
            })?;
        if input.kind != STABILITY {
            return Err(Error::setting(
                &setting,
                format!(
                    "`{from}` is a `{}` stage, not a `stability` stage",
                    input.kind
                ),
            ));
        }
        let bytes = input
            .items
            .first()
            .ok_or_else(|| Error::data(format!("stability stage `{from}` gave no output")))?;
        let rows = read_stability(&bytes.1)
            .map_err(|e| Error::data(format!("stability stage `{from}`: {e}")))?;
        let stable: std::collections::HashSet<String> =
            stable_features(&rows, *min_icc).into_iter().collect();
        *features = Some(
            names
                .iter()
                .filter(|n| stable.contains(*n))
                .cloned()
                .collect(),
        );
    }
    Ok(())
}

/// The table and protocol an `evaluate` or `train` task works on: a
/// `select` input's recipe becomes the protocol's selection.
fn model_inputs(task: &TaskData, params: &Value) -> Result<(FeatureTable, Protocol)> {
    let (outcome, mut protocol) =
        protocol_params(params).map_err(|e| Error::setting("params", e))?;
    let (input_id, header, table) = single_input(task)?;
    if let Some(combat) = header.combat {
        if protocol.combat.is_some() {
            return Err(Error::setting(
                "combat",
                format!(
                    "a combat step is given both here and by the select stage `{input_id}`; \
                     keep one of them"
                ),
            ));
        }
        protocol.combat = Some(combat);
    }
    if let Some(recipe) = header.selection {
        if !protocol.selection.is_empty() {
            return Err(Error::setting(
                "selection",
                format!(
                    "selection steps are given both here and by the select stage `{input_id}`; \
                     keep one of them"
                ),
            ));
        }
        protocol.selection = recipe;
    }
    // ComBat's batch and covariate columns are never features.
    let spec = outcome
        .resolve(header.spec, input_id)?
        .with_side_columns(&protocol.side_columns());
    let table = feature_table(&table, &spec, input_id)?;
    resolve_stable(&mut protocol.selection, task, &table.feature_names)?;
    Ok((table, protocol))
}

fn write(dir: &Path, name: String, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    crate::io::atomic::write_bytes(&path, bytes)?;
    Ok(path)
}

/// The one rendering of an evaluation's report, for `evaluate` and `report`.
fn report_html(evaluation_json: &[u8], stage_id: &str) -> Result<String> {
    let evaluation: Evaluation = serde_json::from_slice(evaluation_json)
        .map_err(|e| Error::data(format!("corrupt evaluation: {e}")))?;
    let protocol =
        serde_json::to_string(&evaluation.protocol).map_err(|e| Error::data(e.to_string()))?;
    let context = ReportContext {
        title: format!("radial evaluation: {stage_id}"),
        run_id: None,
        parameter_hash: Some(sha256_hex(protocol.as_bytes())),
        extra: vec![
            ("stage".into(), stage_id.to_string()),
            ("evaluation sha256".into(), sha256_hex(evaluation_json)),
        ],
    };
    Ok(render_html(&evaluation, &context))
}

// ---------------------------------------------------------------- table

pub struct TableStage;

impl StageKind for TableStage {
    fn name(&self) -> &str {
        "table"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::Cohort
    }
    fn input_files(
        &self,
        params: &Value,
        base: &Path,
    ) -> std::result::Result<Vec<PathBuf>, String> {
        let p: TableParams = typed(params)?;
        let path = PathBuf::from(expand_env(&p.path).map_err(|e| e.to_string())?);
        Ok(vec![if path.is_relative() {
            base.join(path)
        } else {
            path
        }])
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        if input_kinds.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "reads a file and takes no input stage (got: {})",
                input_kinds.join(", ")
            ))
        }
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical::<TableParams>(params)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let p: TableParams = typed(params).map_err(|e| Error::setting("params", e))?;
        let (path, _) = task
            .files
            .first()
            .ok_or_else(|| Error::data("the table file was not resolved"))?;
        let spec = p.spec();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut table = Table::from_csv(&bytes)
            .map_err(|e| Error::format(path, format!("cannot read the table: {e}")))?;
        canonicalise(&mut table, &spec);
        // Checked here, once: ids, outcome, numeric features. A table of
        // variants (for `stability`) is checked with (case, variant) as id.
        let (checked, check_spec) = match table.header.iter().position(|h| h == VARIANT_COLUMN) {
            None => (table.clone(), spec.clone()),
            Some(v) => with_variant_ids(&table, &spec, v),
        };
        let df = checked
            .to_frame(&[
                check_spec.id_column.as_str(),
                check_spec.label_column.as_str(),
            ])
            .map_err(|e| Error::format(path, e.to_string()))?;
        FeatureTable::from_frame(&df, &check_spec, path)?;
        encode(
            &Header {
                spec: Some(spec),
                ..Header::default()
            },
            &table,
        )
    }
    fn materialise(&self, stage_id: &str, output: &[u8], dir: &Path) -> Result<Vec<PathBuf>> {
        let (_, table) = decode(output)?;
        Ok(vec![write(
            dir,
            format!("{stage_id}.csv"),
            &table.to_csv(),
        )?])
    }
}

/// A variants table with each row's id made `<case> variant <n>` and the
/// variant column ignored, so the feature-table checks apply per row.
fn with_variant_ids(table: &Table, spec: &TableSpec, variant: usize) -> (Table, TableSpec) {
    let mut checked = table.clone();
    if let Some(id) = table.header.iter().position(|h| *h == spec.id_column) {
        for row in &mut checked.rows {
            row[id] = format!("{} variant {}", row[id], row[variant]);
        }
    }
    let mut spec = spec.clone();
    spec.ignore.push(VARIANT_COLUMN.to_string());
    (checked, spec)
}

// ---------------------------------------------------------------- select

/// Parameters of `select`: the selection steps (as in a [`Protocol`]), and
/// the outcome when the input is a `collect` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectParams {
    pub selection: Vec<SelectionStep>,
    /// ComBat harmonisation, fitted inside the folds of the stages reading
    /// this one (as their own `combat` would be).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combat: Option<CombatSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<String>>,
}

impl SelectParams {
    fn outcome(&self) -> OutcomeParams {
        OutcomeParams {
            label_column: self.label_column.clone(),
            positive: self.positive.clone(),
            id_column: self.id_column.clone(),
            ignore: self.ignore.clone(),
        }
    }
}

pub struct Select;

impl StageKind for Select {
    fn name(&self) -> &str {
        "select"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::Cohort
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        table_and_stability_inputs(input_kinds, &TABLE_KINDS)
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        let p: SelectParams = typed(params)?;
        if p.selection.is_empty() {
            return Err("`selection` lists no step".into());
        }
        crate::learn::protocol::check_stable_not_given(&p.selection).map_err(|e| e.to_string())?;
        canonical::<SelectParams>(params)
    }
    fn check_params_with_inputs(
        &self,
        params: &Value,
        input_ids: &[&str],
        input_kinds: &[&str],
    ) -> std::result::Result<(), String> {
        let p: SelectParams = typed(params)?;
        check_stable_steps(&p.selection, input_ids, input_kinds)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let mut p: SelectParams = typed(params).map_err(|e| Error::setting("params", e))?;
        let (input_id, header, table) = single_input(task)?;
        if let Some(c) = &p.combat {
            c.validate()?;
        }
        let side = p
            .combat
            .as_ref()
            .map(CombatSpec::columns)
            .unwrap_or_default();
        let spec = p
            .outcome()
            .resolve(header.spec, input_id)?
            .with_side_columns(&side);
        let cohort = feature_table(&table, &spec, input_id)?;
        resolve_stable(&mut p.selection, task, &cohort.feature_names)?;
        // Informational only: the recipe fitted on the whole cohort (what the
        // final model would keep). Downstream stages refit it inside folds.
        let harmonised = match &p.combat {
            None => None,
            Some(c) => {
                let rows = CombatRows::from_table(&cohort, c)?;
                let x = cohort.features.view();
                Some(crate::learn::fitted::harmonise(x, &rows, c, Imputation::Median)?.0)
            }
        };
        let x = match &harmonised {
            Some(h) => h.view(),
            None => cohort.features.view(),
        };
        let pre = crate::learn::preprocess::Preprocessor::fit(x, Imputation::Median, true);
        let all: Vec<usize> = (0..x.ncols()).collect();
        let prepared = pre.transform(x, &all);
        let kept = crate::learn::select::select(
            prepared.view(),
            &cohort.labels,
            &pre.variance,
            &p.selection,
            &cohort.feature_names,
        )?
        .into_iter()
        .map(|j| cohort.feature_names[j].clone())
        .collect();
        encode(
            &Header {
                spec: Some(spec),
                selection: Some(p.selection),
                kept,
                combat: p.combat,
            },
            &table,
        )
    }
    fn materialise(&self, stage_id: &str, output: &[u8], dir: &Path) -> Result<Vec<PathBuf>> {
        let (header, _) = decode(output)?;
        let mut csv = String::from("feature\n");
        for f in &header.kept {
            csv.push_str(&super::super::manifest::csv_field(f));
            csv.push('\n');
        }
        Ok(vec![write(dir, format!("{stage_id}.csv"), csv.as_bytes())?])
    }
}

// ---------------------------------------------------------------- evaluate

pub struct Evaluate;

impl StageKind for Evaluate {
    fn name(&self) -> &str {
        "evaluate"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::Cohort
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        table_and_stability_inputs(input_kinds, &MODEL_INPUT_KINDS)
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical_protocol_params(params)
    }
    fn check_params_with_inputs(
        &self,
        params: &Value,
        input_ids: &[&str],
        input_kinds: &[&str],
    ) -> std::result::Result<(), String> {
        check_protocol_inputs(params, input_ids, input_kinds)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let (table, protocol) = model_inputs(task, params)?;
        let evaluation = evaluate(&table, &protocol, protocol.seed)?;
        serde_json::to_vec_pretty(&evaluation)
            .map_err(|e| Error::data(format!("cannot serialise the evaluation: {e}")))
    }
    fn reports_metrics(&self) -> bool {
        true
    }
    /// The pooled out-of-fold AUC with its DeLong interval, and the means
    /// over folds of the threshold metrics.
    fn headline_metrics(&self, output: &[u8]) -> Option<std::collections::BTreeMap<String, f64>> {
        let ev: crate::learn::evaluate::Evaluation = serde_json::from_slice(output).ok()?;
        Some(
            [
                ("auc", ev.pooled.auc.value),
                ("auc_lower", ev.pooled.auc.lower),
                ("auc_upper", ev.pooled.auc.upper),
                ("auc_mean", ev.summary.auc_mean),
                ("auc_sd", ev.summary.auc_sd),
                ("accuracy", ev.summary.accuracy_mean),
                ("balanced_accuracy", ev.summary.balanced_accuracy_mean),
                ("sensitivity", ev.summary.sensitivity_mean),
                ("specificity", ev.summary.specificity_mean),
                ("f1", ev.summary.f1_mean),
                ("brier", ev.summary.brier_mean),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        )
    }
    fn materialise(&self, stage_id: &str, output: &[u8], dir: &Path) -> Result<Vec<PathBuf>> {
        let html = report_html(output, stage_id)?;
        Ok(vec![
            write(dir, format!("{stage_id}.metrics.json"), output)?,
            write(dir, format!("{stage_id}.html"), html.as_bytes())?,
        ])
    }
}

// ---------------------------------------------------------------- train

pub struct Train;

impl StageKind for Train {
    fn name(&self) -> &str {
        "train"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::Cohort
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        table_and_stability_inputs(input_kinds, &MODEL_INPUT_KINDS)
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical_protocol_params(params)
    }
    fn check_params_with_inputs(
        &self,
        params: &Value,
        input_ids: &[&str],
        input_kinds: &[&str],
    ) -> std::result::Result<(), String> {
        check_protocol_inputs(params, input_ids, input_kinds)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        // The planner's extraction recipe travels beside the protocol.
        let mut params = params.clone();
        let extraction = params
            .as_object_mut()
            .and_then(|p| p.remove(crate::pipeline::recipe::EXTRACTION_PARAM))
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| Error::setting("extraction", e.to_string()))?;
        let (table, protocol) = model_inputs(task, &params)?;
        let mut model = fit_final(&table, &protocol)?;
        model.extraction = extraction;
        serde_json::to_vec_pretty(&model)
            .map_err(|e| Error::data(format!("cannot serialise the model: {e}")))
    }
    fn materialise(&self, stage_id: &str, output: &[u8], dir: &Path) -> Result<Vec<PathBuf>> {
        Ok(vec![write(dir, format!("{stage_id}.model.json"), output)?])
    }
}

// ---------------------------------------------------------------- report

pub struct Report;

impl StageKind for Report {
    fn name(&self) -> &str {
        "report"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::Cohort
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        one_input_of(input_kinds, &["evaluate"])
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical::<super::NoParams>(params)
    }
    fn run(&self, task: &TaskData, _params: &Value) -> Result<Vec<u8>> {
        let input = task
            .inputs
            .first()
            .filter(|i| i.items.len() == 1)
            .ok_or_else(|| Error::data("the stage expects one evaluate input"))?;
        Ok(report_html(&input.items[0].1, &input.stage_id)?.into_bytes())
    }
    fn materialise(&self, stage_id: &str, output: &[u8], dir: &Path) -> Result<Vec<PathBuf>> {
        Ok(vec![write(dir, format!("{stage_id}.html"), output)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_plain_csv_reads_as_collect_table() {
        let table = Table {
            header: vec!["case_id".into(), "f".into(), "y".into()],
            rows: vec![vec!["a".into(), "1".into(), "0".into()]],
        };
        let header = Header {
            spec: Some(TableSpec::new("y", "1")),
            selection: Some(vec![SelectionStep::Mrmr { k: 3 }]),
            kept: vec!["f".into()],
            combat: None,
        };
        let bytes = encode(&header, &table).unwrap();
        assert_eq!(decode(&bytes).unwrap(), (header, table.clone()));
        let (h, t) = decode(&table.to_csv()).unwrap();
        assert_eq!((h, t), (Header::default(), table));
    }

    #[test]
    fn learning_stages_take_one_table_first_plus_stability_stages() {
        let ok = |k: &[&str]| table_and_stability_inputs(k, &MODEL_INPUT_KINDS);
        assert!(ok(&["table"]).is_ok());
        assert!(ok(&["collect", "stability", "stability"]).is_ok());
        assert!(ok(&["stability"]).is_err());
        assert!(ok(&["table", "collect", "stability"]).is_err());
        let e = ok(&["stability", "table"]).unwrap_err();
        assert!(e.contains("first"), "{e}");
        let stable = |from: &str| SelectionStep::Stable {
            min_icc: 0.75,
            from: from.into(),
            features: None,
        };
        let ids = ["t", "a"];
        let kinds = ["table", "stability"];
        assert!(check_stable_steps(&[stable("a")], &ids, &kinds).is_ok());
        // Two steps reading one stage are one source.
        assert!(check_stable_steps(&[stable("a"), stable("a")], &ids, &kinds).is_ok());
        let e = check_stable_steps(&[stable("a"), stable("b")], &ids, &kinds).unwrap_err();
        assert!(
            e.contains("selection[1].stable.from") && e.contains("`b` is not an input"),
            "{e}"
        );
        let e = check_stable_steps(&[stable("t")], &ids, &kinds).unwrap_err();
        assert!(e.contains("`t` is a `table` stage"), "{e}");
        let e = check_stable_steps(&[], &ids, &kinds).unwrap_err();
        assert!(
            e.contains("stage `a` but no `stable` selection step"),
            "{e}"
        );
    }

    #[test]
    fn canonical_cells_make_equal_numbers_equal_bytes() {
        let mut t = Table {
            header: vec!["case_id".into(), "f".into(), "y".into()],
            rows: vec![vec!["001".into(), "1.0".into(), "1.0".into()]],
        };
        canonicalise(&mut t, &TableSpec::new("y", "1.0"));
        assert_eq!(t.rows[0], ["001", "1", "1.0"]);
    }

    #[test]
    fn outcome_comes_from_exactly_one_place() {
        let own = OutcomeParams {
            label_column: Some("phenotype".into()),
            positive: Some("1".into()),
            ..OutcomeParams::default()
        };
        let spec = own.resolve(None, "collect").unwrap();
        assert_eq!(
            (spec.id_column.as_str(), spec.positive.as_str()),
            ("case_id", "1")
        );
        let e = own
            .resolve(Some(TableSpec::new("y", "1")), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("defined by the table stage `t`"), "{e}");
        let e = OutcomeParams::default()
            .resolve(None, "c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("label_column"), "{e}");
    }

    #[test]
    fn protocol_params_are_flat_and_reject_unknown_keys() {
        let v = serde_json::json!({"classifier": {"kind": "svm"}, "label_column": "y", "positive": "1"});
        let c = canonical_protocol_params(&v).unwrap();
        assert_eq!(c["label_column"], "y");
        assert_eq!(c["folds"], 5);
        let bad = serde_json::json!({"classifier": {"kind": "svm"}, "colour": 1});
        assert!(
            canonical_protocol_params(&bad)
                .unwrap_err()
                .contains("colour")
        );
    }
}
