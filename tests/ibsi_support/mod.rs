//! What the IBSI conformance tests share: the reference tables, the
//! comparison rule, extraction of every family, and the minimum counts.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use radial::extract::{compute_families, family_name, prepare_case};
use radial::image::Volume;
use radial::processing::ExtractionSettings;

/// One row of an IBSI reference table.
pub struct Reference {
    pub family: String,
    pub tag: String,
    pub value: f64,
    pub tolerance: f64,
    /// The decimal position of the reference's last significant digit
    /// (negative for tens, hundreds, ...).
    pub decimals: i32,
}

/// Splits one CSV line, honouring double quotes.
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

pub fn read_references(path: &Path) -> Vec<Reference> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = csv_fields(lines.next().unwrap().trim_start_matches('\u{feff}'));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    };
    let (family, value, tolerance, tag) = (
        col("family"),
        col("reference value"),
        col("tolerance"),
        col("tag"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let f = csv_fields(line);
            let v = f[value].trim();
            let value_num: f64 = v.parse().ok()?;
            let tolerance: f64 = f[tolerance].trim().parse().ok()?;
            let decimals = last_significant_decimal(v);
            Some(Reference {
                family: f[family].trim().to_string(),
                tag: f[tag].trim().to_string(),
                value: value_num,
                tolerance,
                decimals,
            })
        })
        .collect()
}

/// Where the last significant digit of a written number sits: `0.977` -> 3,
/// `-266` -> 0, `1490` -> -1 (trailing zeros of an integer do not count),
/// `2.50` -> 2.
pub fn last_significant_decimal(written: &str) -> i32 {
    let digits = written.trim().trim_start_matches(['-', '+']);
    match digits.split_once('.') {
        Some((_, fraction)) => fraction.len() as i32,
        None => {
            let trailing_zeros = digits.len() - digits.trim_end_matches('0').len();
            if trailing_zeros == digits.len() {
                0
            } else {
                -(trailing_zeros as i32)
            }
        }
    }
}

pub fn passes(r: &Reference, ours: f64) -> bool {
    if !ours.is_finite() {
        return false;
    }
    if r.tolerance == 0.0 {
        let scale = 10f64.powi(r.decimals);
        return ((ours * scale).round() / scale - r.value).abs() <= 1e-9 * r.value.abs().max(1.0);
    }
    (ours - r.value).abs() <= r.tolerance
}

/// Per family of one configuration: passed, total, and the failures as
/// (tag, ours, reference, tolerance).
#[derive(Default)]
pub struct FamilyResult {
    pub passed: usize,
    pub total: usize,
    pub failures: Vec<(String, Option<f64>, f64, f64)>,
}

/// The extraction settings of one configuration (`pipelines/ibsi/<file>`).
pub fn settings(file: &str) -> ExtractionSettings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ExtractionSettings::from_yaml_file(&root.join("pipelines/ibsi").join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Every diagnostic and feature value of one case, by IBSI tag.
pub fn extract_all(
    name: &str,
    image: &Volume<f32>,
    mask: &Volume<bool>,
    settings: &ExtractionSettings,
) -> HashMap<String, f64> {
    let case = prepare_case(image, mask, settings).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut ours: HashMap<String, f64> = case.diagnostics.values.iter().cloned().collect();
    for (family, result) in compute_families(&case, settings) {
        match result {
            Ok(values) => ours.extend(values.values),
            Err(e) => eprintln!("  {name}: family {} failed: {e}", family_name(family)),
        }
    }
    ours
}

/// Our values compared with one reference table
/// (`ibsi/reference/ibsi_1_reference_values_<reference>.csv`), per family.
pub fn compare(
    data: &Path,
    reference: &str,
    ours: &HashMap<String, f64>,
) -> Vec<(String, FamilyResult)> {
    let references = read_references(
        &data
            .join("ibsi/reference")
            .join(format!("ibsi_1_reference_values_{reference}.csv")),
    );
    let mut by_family: Vec<(String, FamilyResult)> = Vec::new();
    for r in &references {
        if by_family.last().is_none_or(|(f, _)| *f != r.family) {
            by_family.push((r.family.clone(), FamilyResult::default()));
        }
        let entry = &mut by_family.last_mut().unwrap().1;
        entry.total += 1;
        let value = ours.get(&r.tag).copied();
        if value.is_some_and(|v| passes(r, v)) {
            entry.passed += 1;
        } else {
            entry
                .failures
                .push((r.tag.clone(), value, r.value, r.tolerance));
        }
    }
    by_family
}

/// Prints the counts and returns them keyed `"<config> | <family>"`.
pub fn counts(results: &[(&str, Vec<(String, FamilyResult)>)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (config, families) in results {
        let (passed, total) = families
            .iter()
            .fold((0, 0), |(p, t), (_, r)| (p + r.passed, t + r.total));
        eprintln!("configuration {config}: {passed} / {total} passed");
        for (family, r) in families {
            eprintln!("  {family}: {} / {}", r.passed, r.total);
            for (tag, ours, reference, tol) in &r.failures {
                eprintln!("    fails {tag}: ours {ours:?}, reference {reference} ± {tol}");
            }
            counts.insert(format!("{config} | {family}"), r.passed);
        }
    }
    counts
}

/// The counts below `tests/conformance_minimum.json`, for the
/// configurations whose names are listed (all when `only` is `None`).
pub fn regressions(counts: &BTreeMap<String, usize>, only: Option<&[&str]>) -> Vec<String> {
    let minimum: BTreeMap<String, usize> = serde_json::from_str(
        &std::fs::read_to_string(minimum_path()).expect("tests/conformance_minimum.json"),
    )
    .expect("tests/conformance_minimum.json is a map of counts");
    let mut regressions = Vec::new();
    for (key, &min) in &minimum {
        let config = key.split(" | ").next().unwrap_or_default();
        if only.is_some_and(|names| !names.contains(&config)) {
            continue;
        }
        let got = counts.get(key).copied().unwrap_or(0);
        if got < min {
            regressions.push(format!("{key}: {got} passed, minimum {min}"));
        }
    }
    regressions
}

pub fn minimum_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance_minimum.json")
}

pub fn markdown(results: &[(&str, Vec<(String, FamilyResult)>)]) -> String {
    let mut md = String::from(
        "# IBSI chapter 1 conformance\n\n\
         Generated by `RADIAL_WRITE_CONFORMANCE=1 cargo test --test ibsi_conformance`.\n\
         A value passes when |ours - reference| <= tolerance; for tolerance 0, ours is first \
         rounded to the significant digits the reference shows (IBSI reports 3). A missing feature fails.\n\n\
         | configuration | family | passed / total |\n|---|---|---|\n",
    );
    for (config, families) in results {
        for (family, r) in families {
            md.push_str(&format!(
                "| {config} | {family} | {} / {} |\n",
                r.passed, r.total
            ));
        }
    }
    md.push_str("\n## Failing values\n");
    for (config, families) in results {
        for (family, r) in families {
            if r.failures.is_empty() {
                continue;
            }
            md.push_str(&format!("\n### {config}: {family}\n\n| tag | ours | reference | tolerance |\n|---|---|---|---|\n"));
            for (tag, ours, reference, tol) in &r.failures {
                let ours = ours
                    .map(|v| format!("{v:.6}"))
                    .unwrap_or_else(|| "missing".into());
                md.push_str(&format!("| {tag} | {ours} | {reference} | {tol} |\n"));
            }
        }
    }
    md
}
