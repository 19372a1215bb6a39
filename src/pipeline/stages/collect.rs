//! `collect`: joins the per-case feature sets of its input stages and the
//! manifest's outcome columns into one table (one row per case, manifest
//! order). Stored as CSV; materialised as `<id>.csv` and `<id>.parquet`.
//!
//! Over per-variant stages (downstream of a `perturb` stage) it writes one
//! row per (case, variant), in manifest order then variant order, with a
//! column `variant` (`0`, `1`, ...) right after `case_id`; an input that is
//! not per variant gives each variant of a case the case's features.
//! Without per-variant inputs the table is exactly as before.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Scope, StageKind, TaskData, canonical, typed};
use crate::pipeline::artifact::decode_features;
use crate::pipeline::manifest::{csv_field, parse_csv};
use crate::{Error, Result};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectParams {
    /// Outcome/covariate columns to join; absent: all of them.
    #[serde(default)]
    pub outcomes: Option<Vec<String>>,
    /// Prefix each feature name with its stage id (`glcm_d2.cm_energy_3D_avg`),
    /// needed when two stages produce the same feature names.
    #[serde(default)]
    pub prefix_stage_id: bool,
    /// Set by the planner ([`super::phase`]): the phase of each input stage
    /// whose chain starts at a phased `load`. Its features are prefixed with
    /// the phase (`portal_glcm_contrast_3D_avg`). Absent when no input has a
    /// phase, so single-phase keys do not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_phases: Option<std::collections::BTreeMap<String, String>>,
    /// Set by the planner: feature-name prefixes of phase-suffixed filter
    /// stages to rewrite, `[from, to]` by input stage ([`super::phase::renamed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_renames: Option<std::collections::BTreeMap<String, [String; 2]>>,
}

/// A table of strings: header and rows. Feature values are written with
/// Rust's shortest round-trip formatting, so a CSV reads back bit-identical.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn to_csv(&self) -> Vec<u8> {
        let mut s = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let line: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            s.push_str(&line.join(","));
            s.push('\n');
        }
        s.into_bytes()
    }

    pub fn from_csv(bytes: &[u8]) -> Result<Table> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::data("table is not UTF-8"))?;
        let mut rows = parse_csv(text)
            .map_err(|(l, m)| Error::data(format!("table line {l}: {m}")))?
            .into_iter()
            .map(|(_, r)| r);
        let header = rows.next().ok_or_else(|| Error::data("empty table"))?;
        Ok(Table {
            header,
            rows: rows.collect(),
        })
    }

    /// Writes a Parquet file: `case_id` and non-numeric columns as strings,
    /// columns whose non-empty cells all parse as numbers as Float64.
    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        use polars::prelude::*;
        let fail = |e: PolarsError| Error::format(path, format!("cannot write Parquet: {e}"));
        let mut df = self.to_frame(&[]).map_err(fail)?;
        crate::io::atomic::write_via_temporary(path, |tmp| {
            let file = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
            ParquetWriter::new(file).finish(&mut df).map_err(fail)?;
            Ok(())
        })
    }

    /// The table as a polars frame: the first column and the `text` columns
    /// as strings, columns whose non-empty cells all parse as numbers as
    /// Float64 (empty cells null), the others as strings.
    pub fn to_frame(
        &self,
        text: &[&str],
    ) -> std::result::Result<polars::prelude::DataFrame, polars::prelude::PolarsError> {
        use polars::prelude::*;
        let columns: Vec<Column> = self
            .header
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let cells: Vec<&str> = self.rows.iter().map(|r| r[c].as_str()).collect();
                let numeric: Option<Vec<Option<f64>>> = (c > 0 && !text.contains(&name.as_str()))
                    .then(|| {
                        cells
                            .iter()
                            .map(|s| {
                                if s.is_empty() {
                                    Some(None)
                                } else {
                                    s.parse().ok().map(Some)
                                }
                            })
                            .collect()
                    })
                    .flatten();
                match numeric {
                    Some(v) => Column::new(name.as_str().into(), v),
                    None => Column::new(name.as_str().into(), cells),
                }
            })
            .collect();
        DataFrame::new(self.rows.len(), columns)
    }
}

pub struct Collect;

impl StageKind for Collect {
    fn name(&self) -> &str {
        "collect"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::Cohort
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        super::feature_inputs(input_kinds, 1, "one or more feature-family input stages")
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical::<CollectParams>(params)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let p: CollectParams = typed(params).map_err(|e| Error::setting("params", e))?;
        let manifest = task.manifest;
        let outcome_idx: Vec<usize> =
            match &p.outcomes {
                None => (0..manifest.outcome_columns.len()).collect(),
                Some(names) => {
                    names
                        .iter()
                        .map(|n| {
                            manifest.outcome_columns.iter().position(|c| c == n).ok_or_else(|| {
                        Error::setting(
                            "outcomes",
                            format!(
                                "the manifest has no outcome column `{n}` (columns: {})",
                                manifest.outcome_columns.join(", ")
                            ),
                        )
                    })
                        })
                        .collect::<Result<_>>()?
                }
            };
        // Rows: the cases present in every input (all of them unless some
        // failed under --keep-going), each with its variants when an input
        // is per variant; which item of each input every row reads.
        let (rows, row_items) = table_rows(task)?;
        let with_variants = rows.iter().any(|(_, v)| v.is_some());
        let case_ids: Vec<&str> = rows.iter().map(|(c, _)| *c).collect();
        let mut header = vec!["case_id".to_string()];
        if with_variants {
            header.push("variant".to_string());
        }
        let mut per_case: Vec<Vec<(String, f64)>> = vec![Vec::new(); rows.len()];
        // The stage each column of a case came from: two chains giving the
        // same name is an error naming both.
        let mut source: Vec<std::collections::HashMap<String, &str>> =
            vec![Default::default(); rows.len()];
        for (input, items) in task.inputs.iter().zip(&row_items) {
            let phase = p.input_phases.as_ref().and_then(|m| m.get(&input.stage_id));
            let rename = p
                .input_renames
                .as_ref()
                .and_then(|m| m.get(&input.stage_id));
            for ((row, sources), &item) in per_case.iter_mut().zip(&mut source).zip(items) {
                let (case_id, bytes) = &input.items[item];
                let features = decode_features(bytes).map_err(|e| {
                    Error::data(format!("case `{case_id}`, stage `{}`: {e}", input.stage_id))
                })?;
                for (name, v) in features.values {
                    let name = super::phase::renamed(name, rename);
                    let name = if p.prefix_stage_id {
                        format!("{}.{name}", input.stage_id)
                    } else {
                        name
                    };
                    let name = match phase {
                        Some(phase) => format!("{phase}_{name}"),
                        None => name,
                    };
                    if let Some(first) = sources.insert(name.clone(), &input.stage_id) {
                        return Err(Error::setting(
                            "prefix_stage_id",
                            format!(
                                "column `{name}` comes from stage `{first}` and from stage `{}`; \
                                 set prefix_stage_id: true, or read the chains from different phases",
                                input.stage_id
                            ),
                        ));
                    }
                    row.push((name, v));
                }
            }
        }
        // Columns in first-seen order across cases.
        let mut index = std::collections::HashMap::new();
        for row in &per_case {
            for (name, _) in row {
                if !index.contains_key(name) {
                    index.insert(name.clone(), header.len());
                    header.push(name.clone());
                }
            }
        }
        let n_features = header.len();
        for &i in &outcome_idx {
            header.push(manifest.outcome_columns[i].clone());
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = header.iter().find(|h| !seen.insert(h.as_str())) {
            return Err(Error::setting(
                "prefix_stage_id",
                format!("column `{dup}` appears twice; set prefix_stage_id: true"),
            ));
        }
        let mut table = Vec::with_capacity(case_ids.len());
        for ((values, case_id), (_, variant)) in per_case.iter().zip(&case_ids).zip(&rows) {
            let mut row = vec![String::new(); header.len()];
            row[0] = case_id.to_string();
            if let Some(v) = variant {
                row[1] = v.to_string();
            }
            for (name, v) in values {
                row[index[name]] = format_number(*v);
            }
            let case = manifest
                .cases
                .iter()
                .find(|c| c.case_id == *case_id)
                .ok_or_else(|| Error::data(format!("case `{case_id}` is not in the manifest")))?;
            for (k, &i) in outcome_idx.iter().enumerate() {
                row[n_features + k] = case.outcomes[i].clone();
            }
            table.push(row);
        }
        Ok(Table {
            header,
            rows: table,
        }
        .to_csv())
    }
    fn materialise(&self, stage_id: &str, output: &[u8], dir: &Path) -> Result<Vec<PathBuf>> {
        let csv = dir.join(format!("{stage_id}.csv"));
        crate::io::atomic::write_bytes(&csv, output)?;
        let parquet = dir.join(format!("{stage_id}.parquet"));
        Table::from_csv(output)?.write_parquet(&parquet)?;
        Ok(vec![csv, parquet])
    }
}

/// A row of the table: case id and variant.
type Row<'a> = (&'a str, Option<u32>);

/// The table's rows and, per input, the item each row reads. Without
/// per-variant inputs: the first input's cases, which every input must
/// list alike. With them: the (case, variant) items of the per-variant
/// inputs, which must agree; the other inputs give each case's item to all
/// its variants.
fn table_rows<'a>(task: &'a TaskData) -> Result<(Vec<Row<'a>>, Vec<Vec<usize>>)> {
    let disagree = || Error::data("collect inputs disagree on the cases");
    let items_of = |input: &'a super::InputData| -> Vec<Row<'a>> {
        input
            .items
            .iter()
            .enumerate()
            .map(|(k, (c, _))| {
                (
                    c.as_str(),
                    input.variants.as_ref().and_then(|v| v.get(k).copied()),
                )
            })
            .collect()
    };
    let reference = task
        .inputs
        .iter()
        .find(|i| i.variants.is_some())
        .or(task.inputs.first())
        .ok_or_else(|| Error::data("collect has no input"))?;
    let rows = items_of(reference);
    let mut row_items = Vec::with_capacity(task.inputs.len());
    for input in &task.inputs {
        let items = items_of(input);
        if input.variants.is_some() || reference.variants.is_none() {
            if items != rows {
                return Err(disagree());
            }
            row_items.push((0..rows.len()).collect());
        } else {
            let index: std::collections::HashMap<&str, usize> = items
                .iter()
                .enumerate()
                .map(|(k, (c, _))| (*c, k))
                .collect();
            let mut cases: Vec<&str> = rows.iter().map(|(c, _)| *c).collect();
            cases.dedup();
            if cases.len() != items.len() {
                return Err(disagree());
            }
            row_items.push(
                rows.iter()
                    .map(|(c, _)| index.get(c).copied().ok_or_else(disagree))
                    .collect::<Result<Vec<usize>>>()?,
            );
        }
    }
    Ok((rows, row_items))
}

/// Shortest representation that reads back to the same f64; NaN and
/// infinities spelled as every CSV reader understands them.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_csv_round_trips_exact_values_and_quotes() {
        let t = Table {
            header: vec!["case_id".into(), "f".into(), "note".into()],
            rows: vec![vec![
                "a".into(),
                format_number(0.1 + 0.2),
                "x, \"y\"".into(),
            ]],
        };
        let csv = t.to_csv();
        assert_eq!(
            String::from_utf8(csv.clone()).unwrap(),
            "case_id,f,note\na,0.30000000000000004,\"x, \"\"y\"\"\"\n"
        );
        assert_eq!(Table::from_csv(&csv).unwrap(), t);
        assert_eq!(t.rows[0][1].parse::<f64>().unwrap(), 0.1 + 0.2);
    }
}
