//! `stability` (cohort scope): per feature, the intraclass correlation of
//! its values across the variants of each case ([`crate::learn::icc`]),
//! as in Zwanenburg et al. (2019) for features under image perturbation.
//!
//! Its one input is a table with one row per (case, variant): a `collect`
//! over per-variant stages (a `perturb` fan-out) or a `table` stage reading
//! such a CSV. The rows are told apart by a `variant` column (an integer,
//! written right after the id column). Feature columns are all the others
//! except the id, `variant`, the outcome columns (a `table` stage's label
//! and `ignore`, a `collect`'s manifest columns) and this stage's `ignore`.
//!
//! ```yaml
//! - id: icc
//!   kind: stability
//!   inputs: [variants]
//!   params: {icc: icc1}      # the only form for now; written in the output
//! ```
//!
//! Output: one row per feature (input column order): `feature`, `family`
//! (the IBSI family of its name's tag, whatever the filter or phase prefix),
//! `icc`, `ci_low`, `ci_high` (95%, F-based), `n_cases` (cases that
//! entered: a case with a missing value is left out for that feature only),
//! `n_variants`, `icc_form` (`ICC(1,1)`), `note` (why an ICC is NaN, or
//! which cases were left out). Materialised as `<id>.csv` and `<id>.html`
//! (the ICC distribution per family, counts above 0.75 and 0.9).
//!
//! Bad design, refused with the case named: fewer than 2 variants per case,
//! cases with different numbers of variants, a (case, variant) pair twice,
//! fewer than 2 cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::collect::{Table, format_number};
use super::{Scope, StageKind, TaskData, canonical, one_input_of, typed};
use crate::learn::icc::{ICC1_NAME, Icc, icc1};
use crate::{Error, Result};

/// The column that tells a case's variants apart.
pub const VARIANT_COLUMN: &str = "variant";

const HEADER: [&str; 9] = [
    "feature",
    "family",
    "icc",
    "ci_low",
    "ci_high",
    "n_cases",
    "n_variants",
    "icc_form",
    "note",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IccForm {
    /// ICC(1,1): one-way random effects, absolute agreement, single measurement.
    #[default]
    Icc1,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StabilityParams {
    #[serde(default)]
    pub icc: IccForm,
    /// Further columns that are not features (e.g. a text column).
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// One feature's row of the stability table.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureIcc {
    pub feature: String,
    pub family: String,
    pub icc: Icc,
}

/// IBSI feature-name tags and the family (stage kind) each belongs to,
/// then the class names of PyRadiomics-style names (`original_glcm_Contrast`).
const FAMILY_TAGS: [(&str, &str); 18] = [
    ("morph", "morphology"),
    ("loc", "local_intensity"),
    ("stat", "statistics"),
    ("ih", "histogram"),
    ("ivh", "ivh"),
    ("cm", "glcm"),
    ("rlm", "glrlm"),
    ("szm", "glszm"),
    ("dzm", "gldzm"),
    ("ngt", "ngtdm"),
    ("ngl", "ngldm"),
    ("glcm", "glcm"),
    ("glrlm", "glrlm"),
    ("glszm", "glszm"),
    ("ngtdm", "ngtdm"),
    ("gldm", "gldm"),
    ("firstorder", "firstorder"),
    ("shape", "morphology"),
];

/// The IBSI family of a feature name: the first `_`-separated token that is
/// a family tag, so filter and phase prefixes (`log_s2_`, `portal_`) and
/// derived names (`delta_...`) resolve to the family of the feature inside;
/// `other` when no token is a tag.
pub fn family_of(feature: &str) -> &'static str {
    feature
        .split('_')
        .find_map(|token| {
            FAMILY_TAGS
                .iter()
                .find(|(tag, _)| *tag == token)
                .map(|(_, family)| *family)
        })
        .unwrap_or("other")
}

/// The ICC of every feature of a variants table. `not_features` are the
/// columns besides the id and `variant` that are not features.
pub fn stability_table(
    table: &Table,
    id_column: &str,
    not_features: &[String],
) -> Result<Vec<FeatureIcc>> {
    let column = |name: &str| table.header.iter().position(|h| h == name);
    let id = column(id_column).ok_or_else(|| {
        Error::data(format!(
            "the input table has no id column `{id_column}` (columns: {})",
            table.header.join(", ")
        ))
    })?;
    let variant = column(VARIANT_COLUMN).ok_or_else(|| {
        Error::data(format!(
            "the input table has no `{VARIANT_COLUMN}` column: an ICC needs one row per \
             (case, variant), e.g. a `collect` over a `perturb` stage's variants"
        ))
    })?;
    // Rows of each case, cases in first-appearance (manifest) order.
    let mut order: Vec<&str> = Vec::new();
    let mut by_case: BTreeMap<&str, Vec<(u64, usize)>> = BTreeMap::new();
    for (r, row) in table.rows.iter().enumerate() {
        let case = row[id].as_str();
        let v: u64 = row[variant].trim().parse().map_err(|_| {
            Error::data(format!(
                "case `{case}`: `{VARIANT_COLUMN}` is `{}`, not a variant number (0, 1, ...)",
                row[variant]
            ))
        })?;
        let rows = by_case.entry(case).or_insert_with(|| {
            order.push(case);
            Vec::new()
        });
        if rows.iter().any(|&(w, _)| w == v) {
            return Err(Error::data(format!("case `{case}` has variant {v} twice")));
        }
        rows.push((v, r));
    }
    if order.len() < 2 {
        return Err(Error::data(format!(
            "an ICC needs at least 2 cases; got {}{}",
            order.len(),
            order.first().map_or(String::new(), |c| format!(" (`{c}`)"))
        )));
    }
    let k = by_case[order[0]].len();
    if let Some(odd) = order.iter().find(|c| by_case[**c].len() != k) {
        return Err(Error::data(format!(
            "case `{odd}` has {} variants, but case `{}` has {k}: every case needs the same \
             number of variants",
            by_case[odd].len(),
            order[0]
        )));
    }
    if k < 2 {
        return Err(Error::data(format!(
            "an ICC needs at least 2 variants per case; got {k} (case `{}`)",
            order[0]
        )));
    }
    for rows in by_case.values_mut() {
        rows.sort_unstable();
    }
    let mut out = Vec::new();
    for (c, name) in table.header.iter().enumerate() {
        if c == id || c == variant || not_features.contains(name) {
            continue;
        }
        let mut values = Vec::with_capacity(order.len());
        for case in &order {
            let mut row = Vec::with_capacity(k);
            for &(v, r) in &by_case[*case] {
                let cell = table.rows[r][c].trim();
                row.push(if cell.is_empty() {
                    f64::NAN
                } else {
                    cell.parse().map_err(|_| {
                        Error::data(format!(
                            "column `{name}`, case `{case}`, variant {v}: `{cell}` is not a \
                             number (list non-feature columns in `ignore`)"
                        ))
                    })?
                });
            }
            values.push(row);
        }
        out.push(FeatureIcc {
            feature: name.clone(),
            family: family_of(name).to_string(),
            icc: icc1(&values),
        });
    }
    if out.is_empty() {
        return Err(Error::data("the input table has no feature column"));
    }
    Ok(out)
}

/// The stability table as CSV (numbers in shortest round-trip form).
pub fn to_csv(rows: &[FeatureIcc]) -> Vec<u8> {
    let table = Table {
        header: HEADER.iter().map(|h| h.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.feature.clone(),
                    r.family.clone(),
                    format_number(r.icc.icc),
                    format_number(r.icc.ci_low),
                    format_number(r.icc.ci_high),
                    r.icc.n_cases.to_string(),
                    r.icc.n_variants.to_string(),
                    ICC1_NAME.to_string(),
                    r.icc.note.clone(),
                ]
            })
            .collect(),
    };
    table.to_csv()
}

/// Reads a stability stage's output back.
pub fn from_csv(bytes: &[u8]) -> Result<Vec<FeatureIcc>> {
    let table = Table::from_csv(bytes)?;
    if table.header != HEADER {
        return Err(Error::data(format!(
            "not a stability table (columns: {})",
            table.header.join(", ")
        )));
    }
    let number = |s: &str| -> Result<f64> {
        s.parse()
            .map_err(|_| Error::data(format!("stability table: `{s}` is not a number")))
    };
    let count = |s: &str| -> Result<usize> {
        s.parse()
            .map_err(|_| Error::data(format!("stability table: `{s}` is not a count")))
    };
    table
        .rows
        .iter()
        .map(|r| {
            Ok(FeatureIcc {
                feature: r[0].clone(),
                family: r[1].clone(),
                icc: Icc {
                    icc: number(&r[2])?,
                    ci_low: number(&r[3])?,
                    ci_high: number(&r[4])?,
                    n_cases: count(&r[5])?,
                    n_variants: count(&r[6])?,
                    note: r[8].clone(),
                },
            })
        })
        .collect()
}

/// The features of a stability table with ICC >= `min_icc`, in its order;
/// NaN ICCs never pass.
pub fn stable_features(rows: &[FeatureIcc], min_icc: f64) -> Vec<String> {
    rows.iter()
        .filter(|r| r.icc.icc >= min_icc)
        .map(|r| r.feature.clone())
        .collect()
}

pub struct Stability;

impl StageKind for Stability {
    fn name(&self) -> &str {
        "stability"
    }
    fn version(&self) -> u32 {
        1
    }
    fn scope(&self) -> Scope {
        Scope::Cohort
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        one_input_of(input_kinds, &["collect", "table"])
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        canonical::<StabilityParams>(params)
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let p: StabilityParams = typed(params).map_err(|e| Error::setting("params", e))?;
        let IccForm::Icc1 = p.icc;
        let input = match task.inputs.as_slice() {
            [one] if one.items.len() == 1 => one,
            _ => return Err(Error::data("the stage expects exactly one table input")),
        };
        let (spec, table) = super::learn::decode_table(&input.items[0].1)?;
        let mut not_features = p.ignore.clone();
        let id_column = match spec {
            // A `table` stage: its outcome and ignored columns.
            Some(spec) => {
                not_features.push(spec.label_column);
                not_features.extend(spec.ignore);
                spec.id_column
            }
            // A `collect` table: the manifest's outcome columns follow the features.
            None => {
                not_features.extend(task.manifest.outcome_columns.iter().cloned());
                "case_id".to_string()
            }
        };
        let rows = stability_table(&table, &id_column, &not_features)
            .map_err(|e| Error::data(format!("input `{}`: {e}", input.stage_id)))?;
        Ok(to_csv(&rows))
    }
    fn materialise(&self, stage_id: &str, output: &[u8], dir: &Path) -> Result<Vec<PathBuf>> {
        let rows = from_csv(output)?;
        let html =
            crate::report::stability::render_html(stage_id, ICC1_NAME, &rows_for_report(&rows));
        let csv = dir.join(format!("{stage_id}.csv"));
        crate::io::atomic::write_bytes(&csv, output)?;
        let page = dir.join(format!("{stage_id}.html"));
        crate::io::atomic::write_bytes(&page, html.as_bytes())?;
        Ok(vec![csv, page])
    }
}

fn rows_for_report(rows: &[FeatureIcc]) -> Vec<crate::report::stability::IccPoint> {
    rows.iter()
        .map(|r| crate::report::stability::IccPoint {
            feature: r.feature.clone(),
            family: r.family.clone(),
            icc: r.icc.icc,
            ci_low: r.icc.ci_low,
            ci_high: r.icc.ci_high,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        Table::from_csv(text.as_bytes()).unwrap()
    }

    #[test]
    fn families_come_from_the_tag_whatever_the_prefix() {
        assert_eq!(family_of("stat_mean"), "statistics");
        assert_eq!(family_of("portal_cm_contrast_3D_avg"), "glcm");
        assert_eq!(family_of("log_s2_szm_zone_entropy_3D"), "glszm");
        assert_eq!(family_of("ivh_v10"), "ivh");
        assert_eq!(family_of("ih_entropy"), "histogram");
        assert_eq!(family_of("ngt_coarseness_3D"), "ngtdm");
        assert_eq!(family_of("ngl_lde_3D"), "ngldm");
        assert_eq!(family_of("age"), "other");
        assert_eq!(
            family_of("delta_arterial_minus_portal_stat_mean"),
            "statistics"
        );
        assert_eq!(family_of("original_glcm_Contrast"), "glcm");
        assert_eq!(family_of("wavelet-LLH_firstorder_Mean"), "firstorder");
    }

    #[test]
    fn icc_per_feature_in_column_order_skipping_outcomes() {
        let t = table(
            "case_id,variant,f,g,y\na,1,3,1,0\na,0,1,1,0\nb,0,5,2,1\nb,1,7,2,1\nc,0,9,3,0\nc,1,11,3,0\n",
        );
        let rows = stability_table(&t, "case_id", &["y".into()]).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].feature, "f");
        assert!((rows[0].icc.icc - 30.0 / 34.0).abs() < 1e-15);
        assert_eq!(rows[1].icc.icc, 1.0);
        let back = from_csv(&to_csv(&rows)).unwrap();
        assert_eq!(back, rows);
        assert_eq!(stable_features(&back, 0.9), ["g"]);
    }

    /// The contract with `collect` over per-variant stages: `variant` after
    /// `case_id`, then features, then the manifest's outcome columns (here a
    /// numeric one, which must not be taken for a feature).
    #[test]
    fn a_collect_input_skips_the_manifest_outcome_columns() {
        let manifest = crate::pipeline::manifest::Manifest {
            outcome_columns: vec!["phenotype".into()],
            ..Default::default()
        };
        let csv =
            "case_id,variant,f,phenotype\na,0,1,0\na,1,3,0\nb,0,5,1\nb,1,7,1\nc,0,9,0\nc,1,11,0\n";
        let task = TaskData {
            case: None,
            variant: None,
            manifest: &manifest,
            inputs: vec![super::super::InputData {
                stage_id: "collect".into(),
                kind: "collect".into(),
                items: vec![(String::new(), std::sync::Arc::new(csv.as_bytes().to_vec()))],
                variants: None,
            }],
            files: &[],
        };
        let out = Stability
            .run(&task, &serde_json::json!({"icc": "icc1"}))
            .unwrap();
        let rows = from_csv(&out).unwrap();
        assert_eq!(rows.len(), 1, "{}", String::from_utf8_lossy(&out));
        assert_eq!(rows[0].feature, "f");
        assert!((rows[0].icc.icc - 30.0 / 34.0).abs() < 1e-15);
        // An unknown form is refused by name.
        let e = Stability
            .canonical_params(&serde_json::json!({"icc": "icc2"}))
            .unwrap_err();
        assert!(e.contains("icc2"), "{e}");
    }

    #[test]
    fn bad_designs_name_the_case() {
        let e = |text: &str| {
            stability_table(&table(text), "case_id", &[])
                .unwrap_err()
                .to_string()
        };
        let m = e("case_id,variant,f\na,0,1\nb,0,2\n");
        assert!(m.contains("at least 2 variants per case; got 1"), "{m}");
        let m = e("case_id,variant,f\na,0,1\na,1,2\nb,0,2\nb,1,3\nc,0,1\n");
        assert!(
            m.contains("case `c` has 1 variants") && m.contains("`a` has 2"),
            "{m}"
        );
        let m = e("case_id,variant,f\na,0,1\na,1,2\n");
        assert!(m.contains("at least 2 cases; got 1 (`a`)"), "{m}");
        let m = e("case_id,variant,f\na,0,1\na,0,2\n");
        assert!(m.contains("case `a` has variant 0 twice"), "{m}");
        let m = e("case_id,f\na,1\n");
        assert!(m.contains("no `variant` column"), "{m}");
        let m = e("case_id,variant,f\na,0,1\na,x,2\n");
        assert!(m.contains("case `a`") && m.contains("`x`"), "{m}");
        let m = e("case_id,variant,f\na,0,1\na,1,2\nb,0,low\nb,1,3\n");
        assert!(m.contains("column `f`, case `b`, variant 0"), "{m}");
    }
}
