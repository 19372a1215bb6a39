//! The feature table: one row per case, numeric feature columns, a binary
//! outcome. Read from CSV or Parquet with polars; every problem is reported
//! with the file and the column or case involved.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::io::atomic::write_via_temporary;
use crate::{Error, Result};

/// Which columns of a table mean what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSpec {
    /// Column with one unique id per case.
    pub id_column: String,
    /// Column holding the outcome (exactly two distinct values).
    pub label_column: String,
    /// The value of `label_column` that is the positive class.
    pub positive: String,
    /// Other non-feature columns (extra outcomes, paths) to leave out.
    pub ignore: Vec<String>,
}

impl TableSpec {
    pub fn new(label_column: &str, positive: &str) -> Self {
        TableSpec {
            id_column: "case_id".into(),
            label_column: label_column.into(),
            positive: positive.into(),
            ignore: Vec::new(),
        }
    }

    /// The spec with `columns` also left out of the features (kept as
    /// [`FeatureTable::side_columns`]): the columns a protocol step such as
    /// ComBat reads, which must never become features.
    pub fn with_side_columns(mut self, columns: &[String]) -> Self {
        for c in columns {
            if !self.ignore.contains(c) && *c != self.id_column && *c != self.label_column {
                self.ignore.push(c.clone());
            }
        }
        self
    }
}

/// A validated cohort table. Missing feature values are NaN; no value is
/// infinite (see [`numeric_matrix`] for the rule).
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub case_ids: Vec<String>,
    pub feature_names: Vec<String>,
    /// Shape [cases, features].
    pub features: Array2<f64>,
    /// `true` for the positive class.
    pub labels: Vec<bool>,
    pub label_column: String,
    pub positive: String,
    pub negative: String,
    /// Where the table came from and the SHA-256 of its bytes (provenance).
    pub source: Option<(PathBuf, String)>,
    /// The ignored (non-feature) columns present in the table, as text by
    /// name: a ComBat batch or covariate column is read from here.
    pub side_columns: BTreeMap<String, Vec<String>>,
}

impl FeatureTable {
    /// Builds a table from memory, with the same checks as reading one.
    pub fn new(
        case_ids: Vec<String>,
        feature_names: Vec<String>,
        features: Array2<f64>,
        labels: Vec<bool>,
        positive: &str,
        negative: &str,
    ) -> Result<Self> {
        let n = case_ids.len();
        if features.dim() != (n, feature_names.len()) || labels.len() != n {
            return Err(Error::data(format!(
                "feature table: {n} case ids, {} labels, {} feature names but a {:?} matrix",
                labels.len(),
                feature_names.len(),
                features.dim()
            )));
        }
        check_unique_ids(&case_ids, "feature table")?;
        check_no_infinite(&features, &case_ids, &feature_names, "feature table")?;
        let t = FeatureTable {
            case_ids,
            feature_names,
            features,
            labels,
            label_column: "label".into(),
            positive: positive.into(),
            negative: negative.into(),
            source: None,
            side_columns: BTreeMap::new(),
        };
        t.check_two_classes("feature table")?;
        Ok(t)
    }

    /// Adds a non-feature column (e.g. a batch) to a table built in memory.
    pub fn with_side_column(mut self, name: &str, values: Vec<String>) -> Result<Self> {
        if values.len() != self.n_cases() {
            return Err(Error::data(format!(
                "feature table: column `{name}` has {} values for {} cases",
                values.len(),
                self.n_cases()
            )));
        }
        self.side_columns.insert(name.to_string(), values);
        Ok(self)
    }

    pub fn n_cases(&self) -> usize {
        self.case_ids.len()
    }

    pub fn n_positive(&self) -> usize {
        self.labels.iter().filter(|&&l| l).count()
    }

    pub fn n_negative(&self) -> usize {
        self.n_cases() - self.n_positive()
    }

    fn check_two_classes(&self, origin: &str) -> Result<()> {
        if self.n_positive() == 0 || self.n_negative() == 0 {
            return Err(Error::data(format!(
                "{origin}: label column `{}` has a single class ({} cases of `{}`, {} of `{}`)",
                self.label_column,
                self.n_positive(),
                self.positive,
                self.n_negative(),
                self.negative
            )));
        }
        Ok(())
    }

    /// Reads a CSV or Parquet table (by extension) and validates it.
    pub fn read(path: &Path, spec: &TableSpec) -> Result<Self> {
        let df = read_frame(path)?;
        let mut table = Self::from_frame(&df, spec, path)?;
        table.source = Some((path.to_path_buf(), sha256_file(path)?));
        Ok(table)
    }

    /// Interprets a polars frame; `path` only names the origin in errors.
    pub fn from_frame(df: &DataFrame, spec: &TableSpec, path: &Path) -> Result<Self> {
        let case_ids = string_column(df, &spec.id_column, path)?;
        check_unique_ids(&case_ids, &path.display().to_string())?;
        let raw_labels = string_column(df, &spec.label_column, path)?;
        let mut values = BTreeMap::new();
        for (id, v) in case_ids.iter().zip(&raw_labels) {
            if is_missing_text(v) {
                return Err(Error::format(
                    path,
                    format!(
                        "case `{id}` has no value in label column `{}`",
                        spec.label_column
                    ),
                ));
            }
            *values.entry(v.clone()).or_insert(0usize) += 1;
        }
        if !values.contains_key(&spec.positive) {
            return Err(Error::format(
                path,
                format!(
                    "label column `{}` has no value `{}` (values: {})",
                    spec.label_column,
                    spec.positive,
                    values.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if values.len() > 2 {
            return Err(Error::format(
                path,
                format!(
                    "label column `{}` has {} classes ({}); a binary outcome is needed",
                    spec.label_column,
                    values.len(),
                    values.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let negative = values
            .keys()
            .find(|v| **v != spec.positive)
            .cloned()
            .unwrap_or_default();
        let labels: Vec<bool> = raw_labels.iter().map(|v| *v == spec.positive).collect();

        let skip: HashSet<&str> = [spec.id_column.as_str(), spec.label_column.as_str()]
            .into_iter()
            .chain(spec.ignore.iter().map(String::as_str))
            .collect();
        let feature_names: Vec<String> = df
            .get_column_names()
            .into_iter()
            .map(|n| n.to_string())
            .filter(|n| !skip.contains(n.as_str()))
            .collect();
        if feature_names.is_empty() {
            return Err(Error::format(path, "the table has no feature column"));
        }
        let features = numeric_matrix(df, &feature_names, &case_ids, path)?;
        let mut side_columns = BTreeMap::new();
        for name in &spec.ignore {
            if df.column(name).is_ok() {
                side_columns.insert(name.clone(), string_column(df, name, path)?);
            }
        }
        let table = FeatureTable {
            case_ids,
            feature_names,
            features,
            labels,
            label_column: spec.label_column.clone(),
            positive: spec.positive.clone(),
            negative: if negative.is_empty() {
                "(none)".into()
            } else {
                negative
            },
            source: None,
            side_columns,
        };
        table.check_two_classes(&path.display().to_string())?;
        Ok(table)
    }

    /// The table as a polars frame (id, label, features).
    pub fn to_frame(&self) -> Result<DataFrame> {
        let mut cols: Vec<Column> = Vec::with_capacity(self.feature_names.len() + 2);
        cols.push(Column::new("case_id".into(), self.case_ids.clone()));
        let labels: Vec<&str> = self
            .labels
            .iter()
            .map(|&l| {
                if l {
                    self.positive.as_str()
                } else {
                    self.negative.as_str()
                }
            })
            .collect();
        cols.push(Column::new(self.label_column.as_str().into(), labels));
        for (j, name) in self.feature_names.iter().enumerate() {
            let v: Vec<Option<f64>> = self
                .features
                .column(j)
                .iter()
                .map(|&x| if x.is_nan() { None } else { Some(x) })
                .collect();
            cols.push(Column::new(name.as_str().into(), v));
        }
        DataFrame::new_infer_height(cols).map_err(|e| Error::data(format!("feature table: {e}")))
    }

    /// Writes the table as CSV and Parquet (atomically), e.g. for a collect stage.
    pub fn write(&self, csv: &Path, parquet: &Path) -> Result<()> {
        let mut df = self.to_frame()?;
        write_frame(&mut df, csv)?;
        write_frame(&mut df, parquet)
    }
}

fn check_unique_ids(ids: &[String], origin: &str) -> Result<()> {
    let mut seen = HashSet::with_capacity(ids.len());
    for id in ids {
        if id.is_empty() {
            return Err(Error::data(format!("{origin}: a case has an empty id")));
        }
        if !seen.insert(id.as_str()) {
            return Err(Error::data(format!("{origin}: duplicate case id `{id}`")));
        }
    }
    Ok(())
}

fn polars_error(path: &Path, e: PolarsError) -> Error {
    Error::format(path, e.to_string())
}

/// Reads a whole CSV (types inferred from every row) or Parquet file.
pub fn read_frame(path: &Path) -> Result<DataFrame> {
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if is_parquet {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        ParquetReader::new(file)
            .finish()
            .map_err(|e| polars_error(path, e))
    } else {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(|e| polars_error(path, e))
    }
}

/// Writes CSV or Parquet by extension, atomically.
pub fn write_frame(df: &mut DataFrame, path: &Path) -> Result<()> {
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    write_via_temporary(path, |tmp| {
        let file = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        let outcome = if is_parquet {
            ParquetWriter::new(file).finish(df).map(|_| ())
        } else {
            CsvWriter::new(file).finish(df)
        };
        outcome.map_err(|e| polars_error(path, e))
    })
}

fn column<'a>(df: &'a DataFrame, name: &str, path: &Path) -> Result<&'a Column> {
    df.column(name).map_err(|_| {
        Error::format(
            path,
            format!(
                "no column `{name}` (columns: {})",
                df.get_column_names()
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// A column as strings; a missing value becomes "".
pub fn string_column(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<String>> {
    let col = column(df, name, path)?;
    let s = col
        .cast(&DataType::String)
        .map_err(|e| polars_error(path, e))?;
    let ca = s.str().map_err(|e| polars_error(path, e))?;
    Ok(ca
        .iter()
        .map(|v| v.map(str::to_string).unwrap_or_default())
        .collect())
}

/// Whether a cell's text means "no value": empty, `NA` or `NaN` (any case,
/// surrounding spaces ignored). Such cells are missing values, imputed by
/// the protocol's imputation in training and with the model's fitted fill
/// values in prediction.
pub fn is_missing_text(text: &str) -> bool {
    let t = text.trim();
    t.is_empty() || t.eq_ignore_ascii_case("na") || t.eq_ignore_ascii_case("nan")
}

/// The value of one feature cell under the one rule for every table radial
/// reads (training and prediction, CSV and Parquet): a missing value (null,
/// NaN, or a text [`is_missing_text`]) becomes NaN; an infinite value is
/// refused, because no imputation or scaling can use it and it would
/// silently dominate a model.
fn cell_value(v: f64, name: &str, case: &str, origin: &str) -> Result<f64> {
    if v.is_infinite() {
        return Err(infinite_error(name, case, &v.to_string(), origin));
    }
    Ok(v)
}

fn infinite_error(name: &str, case: &str, text: &str, origin: &str) -> Error {
    Error::data(format!(
        "{origin}: feature `{name}` of case `{case}` is infinite (`{text}`); radial refuses \
         infinite values: fix the value, or leave the cell empty (or NA) to have it imputed"
    ))
}

/// Refuses infinite values in a matrix built in memory (a collected table,
/// features extracted for prediction), naming the case and the feature.
pub fn check_no_infinite(
    x: &Array2<f64>,
    case_ids: &[String],
    names: &[String],
    origin: &str,
) -> Result<()> {
    for ((i, j), &v) in x.indexed_iter() {
        cell_value(v, &names[j], &case_ids[i], origin)?;
    }
    Ok(())
}

/// The named columns as a [cases, features] matrix (`case_ids` name the
/// rows in errors). Missing cells are NaN; infinite values and text that is
/// neither a number nor a missing value are errors naming column and case.
pub fn numeric_matrix(
    df: &DataFrame,
    names: &[String],
    case_ids: &[String],
    path: &Path,
) -> Result<Array2<f64>> {
    let origin = path.display().to_string();
    let case = |i: usize| case_ids.get(i).map_or("?", String::as_str);
    let mut out = Array2::<f64>::zeros((df.height(), names.len()));
    for (j, name) in names.iter().enumerate() {
        let col = column(df, name, path)?;
        let dtype = col.dtype();
        if dtype.is_primitive_numeric() || dtype.is_bool() {
            let cast = col
                .cast(&DataType::Float64)
                .map_err(|e| polars_error(path, e))?;
            let ca = cast.f64().map_err(|e| polars_error(path, e))?;
            for (i, v) in ca.iter().enumerate() {
                out[[i, j]] = cell_value(v.unwrap_or(f64::NAN), name, case(i), &origin)?;
            }
            continue;
        }
        // Text (or all-empty) columns: each cell by the same rule, so `nan`,
        // `NA` and `inf` mean the same whether or not the CSV reader
        // recognised them as numbers.
        for (i, text) in string_column(df, name, path)?.iter().enumerate() {
            out[[i, j]] = if is_missing_text(text) {
                f64::NAN
            } else {
                match text.trim().parse::<f64>() {
                    Ok(v) if v.is_infinite() => {
                        return Err(infinite_error(name, case(i), text.trim(), &origin));
                    }
                    Ok(v) => v,
                    Err(_) => {
                        return Err(Error::format(
                            path,
                            format!(
                                "feature column `{name}` is not numeric ({dtype}): case `{}` \
                                 has `{text}`; list it as ignored or fix the values (an empty \
                                 cell, NA or NaN is a missing value)",
                                case(i)
                            ),
                        ));
                    }
                }
            };
        }
    }
    Ok(out)
}

/// SHA-256 of a file's bytes, hex encoded.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(sha256_hex(&bytes))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
