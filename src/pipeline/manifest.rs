//! Data manifests: one CSV row per case (`case_id`, `image`, `mask`, optional
//! `label`, `roi`, `series`, `image_sha256`, `mask_sha256`; every other
//! column is an outcome or covariate). Paths are relative to the manifest
//! file. `series` chooses one series (by SeriesInstanceUID) of a DICOM
//! directory that holds several.
//!
//! Multi-phase cases (contrast CT: arterial, portal, delayed) name one image
//! per phase in suffixed columns: `image.<phase>`, optional `mask.<phase>`,
//! `image_sha256.<phase>`, `mask_sha256.<phase>`. A phase without its own
//! mask uses the case's `mask` (the `load` task checks that they share a
//! grid). `image` stays the unsuffixed default that a `load` without a
//! `phase` reads; a manifest may leave it out when every case has phases
//! (then [`Case::image`] is the first phase's image, for bookkeeping only,
//! and a `load` without a phase is an error at planning). Suffixed columns
//! are never outcomes or covariates.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// One case of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub case_id: String,
    pub image: PathBuf,
    pub mask: PathBuf,
    pub label: i64,
    /// RTSTRUCT ROI name, when the mask is an RTSTRUCT.
    pub roi: Option<String>,
    /// SeriesInstanceUID of the image series, when the image directory
    /// holds several.
    pub series: Option<String>,
    pub image_sha256: Option<String>,
    pub mask_sha256: Option<String>,
    /// Outcome/covariate values, in the order of [`Manifest::outcome_columns`].
    pub outcomes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub path: PathBuf,
    pub outcome_columns: Vec<String>,
    pub cases: Vec<Case>,
    /// The phases named by `image.<phase>` columns, in header order (empty
    /// for a single-image manifest).
    pub phases: Vec<String>,
    /// Per case (manifest order), per phase (order of [`Manifest::phases`]).
    pub phase_files: Vec<Vec<PhaseFiles>>,
    /// Whether the manifest has the unsuffixed `image` column (what a `load`
    /// without a phase reads).
    pub has_default_image: bool,
}

/// The files of one phase of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseFiles {
    pub image: PathBuf,
    /// The phase's own mask; `None`: the case's `mask`.
    pub mask: Option<PathBuf>,
    pub image_sha256: Option<String>,
    pub mask_sha256: Option<String>,
}

impl PhaseFiles {
    /// The mask this phase reads: its own, or the case's.
    pub fn mask_of<'a>(&'a self, case: &'a Case) -> &'a Path {
        self.mask.as_deref().unwrap_or(&case.mask)
    }

    /// The recorded hash of the mask this phase reads.
    pub fn mask_sha256_of<'a>(&'a self, case: &'a Case) -> Option<&'a str> {
        match &self.mask {
            Some(_) => self.mask_sha256.as_deref(),
            None => case.mask_sha256.as_deref(),
        }
    }
}

/// The suffixed per-phase columns: `<base>.<phase>`.
const PHASE_COLUMNS: [&str; 4] = ["image", "mask", "image_sha256", "mask_sha256"];

/// Splits `image.arterial` into (`image`, `arterial`) when the base is one
/// of the per-phase columns.
fn phase_column(name: &str) -> Option<(&str, &str)> {
    let (base, phase) = name.split_once('.')?;
    PHASE_COLUMNS.contains(&base).then_some((base, phase))
}

/// A phase name becomes a feature-name prefix (`portal_stat_mean`): ASCII
/// letters, digits and `_`, not empty.
pub fn check_phase_name(phase: &str) -> std::result::Result<(), String> {
    if phase.is_empty() || !phase.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "phase `{phase}`: a phase name uses ASCII letters, digits and '_' and is not empty"
        ));
    }
    Ok(())
}

impl Manifest {
    /// The index of `phase` in [`Manifest::phases`].
    pub fn phase_index(&self, phase: &str) -> Option<usize> {
        self.phases.iter().position(|p| p == phase)
    }

    /// The files of `phase` for the case at index `case`.
    pub fn phase_files_of(&self, case: usize, phase: &str) -> Option<&PhaseFiles> {
        let p = self.phase_index(phase)?;
        self.phase_files.get(case)?.get(p)
    }

    /// The files of `phase` for the case `case_id`.
    pub fn phase_files_of_case(&self, case_id: &str, phase: &str) -> Option<&PhaseFiles> {
        let c = self.cases.iter().position(|c| c.case_id == case_id)?;
        self.phase_files_of(c, phase)
    }
}

const RESERVED: [&str; 8] = [
    "case_id",
    "image",
    "mask",
    "label",
    "roi",
    "series",
    "image_sha256",
    "mask_sha256",
];

impl Manifest {
    /// Reads and checks a manifest: required columns, unique non-empty case
    /// ids, non-empty paths, integer labels. Files are not opened here.
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Manifest> {
        // Spreadsheet programs save CSV with a UTF-8 byte-order mark; it is
        // not part of the first column's name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let err = |line: usize, msg: String| Error::format(path, format!("line {line}: {msg}"));
        let rows = parse_csv(text).map_err(|(line, msg)| err(line, msg))?;
        let Some((header_line, header)) = rows.first() else {
            return Err(Error::format(path, "the manifest is empty (no header row)"));
        };
        let column = |name: &str| header.iter().position(|h| h == name);
        let mut seen = BTreeSet::new();
        for h in header {
            if !seen.insert(h.as_str()) {
                return Err(err(*header_line, format!("column `{h}` appears twice")));
            }
        }
        let phases = phase_columns(header).map_err(|m| err(*header_line, m))?;
        // Without phases: case_id, image and mask, as always. With phases,
        // `image` may be left out, and `mask` when every phase has its own.
        let has_shared_mask = column("mask").is_some();
        let every_phase_masked = !phases.is_empty() && phases.iter().all(|p| p.mask.is_some());
        let (Some(c_id), Some(c_image), Some(c_mask)) = (
            column("case_id"),
            column("image").or_else(|| phases.first().map(|p| p.image)),
            column("mask").or_else(|| {
                every_phase_masked
                    .then(|| phases.first().and_then(|p| p.mask))
                    .flatten()
            }),
        ) else {
            return Err(err(
                *header_line,
                format!(
                    "the header must have the columns case_id, image and mask (found: {})",
                    header.join(", ")
                ),
            ));
        };
        let (c_label, c_roi, c_series) = (column("label"), column("roi"), column("series"));
        let (c_isha, c_msha) = (column("image_sha256"), column("mask_sha256"));
        let outcome_idx: Vec<usize> = (0..header.len())
            .filter(|&i| {
                !RESERVED.contains(&header[i].as_str()) && phase_column(&header[i]).is_none()
            })
            .collect();
        let base = path.parent().unwrap_or(Path::new(""));
        let mut ids = BTreeSet::new();
        let mut cases = Vec::new();
        let mut phase_files = Vec::new();
        for (line, row) in &rows[1..] {
            if row.len() != header.len() {
                return Err(err(
                    *line,
                    format!("{} fields where the header has {}", row.len(), header.len()),
                ));
            }
            let get = |c: Option<usize>| c.map(|c| row[c].trim()).filter(|v| !v.is_empty());
            let case_id = row[c_id].trim().to_string();
            if case_id.is_empty() {
                return Err(err(*line, "empty case_id".into()));
            }
            if !ids.insert(case_id.clone()) {
                return Err(err(*line, format!("case_id `{case_id}` appears twice")));
            }
            let file = |c: usize, name: &str| -> Result<PathBuf> {
                let v = row[c].trim();
                if v.is_empty() {
                    return Err(err(
                        *line,
                        format!("case `{case_id}` has an empty {name} path"),
                    ));
                }
                Ok(base.join(v))
            };
            let label = match get(c_label) {
                None => 1,
                Some(v) => v.parse::<i64>().map_err(|_| {
                    err(
                        *line,
                        format!("case `{case_id}`: label `{v}` is not an integer"),
                    )
                })?,
            };
            let sha = |c: Option<usize>, name: &str| -> Result<Option<String>> {
                match get(c) {
                    None => Ok(None),
                    Some(v) if super::hash::is_sha256_hex(&v.to_ascii_lowercase()) => {
                        Ok(Some(v.to_ascii_lowercase()))
                    }
                    Some(v) => Err(err(
                        *line,
                        format!("case `{case_id}`: {name} `{v}` is not a SHA-256 hex digest"),
                    )),
                }
            };
            let mut files = Vec::with_capacity(phases.len());
            for p in &phases {
                let name = |c: Option<usize>| c.map_or("", |c| header[c].as_str());
                // An empty cell of a phase's mask column: the case's mask.
                let mask = match p.mask.and_then(|c| get(Some(c))) {
                    Some(v) => Some(base.join(v)),
                    None if has_shared_mask => None,
                    None => {
                        return Err(err(
                            *line,
                            format!(
                                "case `{case_id}` has an empty {} path and the manifest has no `mask` column",
                                name(p.mask)
                            ),
                        ));
                    }
                };
                files.push(PhaseFiles {
                    image: file(p.image, name(Some(p.image)))?,
                    mask,
                    image_sha256: sha(p.image_sha256, name(p.image_sha256))?,
                    mask_sha256: sha(p.mask_sha256, name(p.mask_sha256))?,
                });
            }
            phase_files.push(files);
            cases.push(Case {
                image: file(c_image, &header[c_image])?,
                mask: file(c_mask, &header[c_mask])?,
                label,
                roi: get(c_roi).map(str::to_string),
                series: get(c_series).map(str::to_string),
                image_sha256: sha(c_isha, "image_sha256")?,
                mask_sha256: sha(c_msha, "mask_sha256")?,
                outcomes: outcome_idx.iter().map(|&i| row[i].clone()).collect(),
                case_id,
            });
        }
        if cases.is_empty() {
            return Err(Error::format(path, "the manifest has no case rows"));
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            outcome_columns: outcome_idx.iter().map(|&i| header[i].clone()).collect(),
            cases,
            phases: phases.iter().map(|p| p.name.clone()).collect(),
            phase_files,
            has_default_image: column("image").is_some(),
        })
    }
}

/// The column indices of one phase.
struct PhaseColumns {
    name: String,
    image: usize,
    mask: Option<usize>,
    image_sha256: Option<usize>,
    mask_sha256: Option<usize>,
}

/// The phases of a header, in the order of their `image.<phase>` columns.
/// Every other suffixed column needs its phase's image column (and a
/// `mask_sha256.<phase>` its mask column).
fn phase_columns(header: &[String]) -> std::result::Result<Vec<PhaseColumns>, String> {
    let find = |base: &str, phase: &str| {
        header
            .iter()
            .position(|h| phase_column(h) == Some((base, phase)))
    };
    let mut phases = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let Some((base, phase)) = phase_column(h) else {
            continue;
        };
        check_phase_name(phase).map_err(|m| format!("column `{h}`: {m}"))?;
        let needs = if base == "mask_sha256" {
            "mask"
        } else {
            "image"
        };
        if base != "image" && find(needs, phase).is_none() {
            return Err(format!(
                "column `{h}` has no column `{needs}.{phase}`: a phase's {base} needs its {needs}"
            ));
        }
        if base == "image" {
            phases.push(PhaseColumns {
                name: phase.to_string(),
                image: i,
                mask: find("mask", phase),
                image_sha256: find("image_sha256", phase),
                mask_sha256: find("mask_sha256", phase),
            });
        }
    }
    Ok(phases)
}

/// A CSV row with its 1-based line number.
pub type CsvRow = (usize, Vec<String>);

/// Splits CSV text (RFC 4180 quoting) into rows with their 1-based line
/// numbers; blank lines are skipped.
pub fn parse_csv(text: &str) -> std::result::Result<Vec<CsvRow>, (usize, String)> {
    let mut rows = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let start_line = line;
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err((start_line, "unterminated quoted field".into()));
                }
                break;
            };
            if quoted {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
                continue;
            }
            match c {
                '"' if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                ',' => {
                    row.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                '\r' => {}
                '\n' => {
                    line += 1;
                    break;
                }
                c => field.push(c),
            }
        }
        row.push(field);
        if !(row.len() == 1 && row[0].trim().is_empty() && !was_quoted) {
            rows.push((start_line, row));
        }
    }
    Ok(rows)
}

/// Quotes a CSV field when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_column() {
        let m = Manifest::parse(
            Path::new("/d/m.csv"),
            "\u{feff}case_id,image,mask\na,a.nii,a_mask.nii\n",
        )
        .unwrap();
        assert_eq!(m.cases[0].case_id, "a");
    }

    #[test]
    fn parses_paths_relative_to_the_manifest_and_outcomes() {
        let m = Manifest::parse(
            Path::new("/data/m.csv"),
            "case_id,image,mask,label,phenotype\nA,img/a.nii,msk/a.nii,,\"x, y\"\n\nB,b.nii,bm.nii,2,0\n",
        )
        .unwrap();
        assert_eq!(m.outcome_columns, vec!["phenotype"]);
        assert_eq!(m.cases[0].image, Path::new("/data/img/a.nii"));
        assert_eq!(m.cases[0].label, 1);
        assert_eq!(m.cases[0].outcomes, vec!["x, y"]);
        assert_eq!(m.cases[1].label, 2);
    }

    #[test]
    fn empty_path_duplicate_id_and_missing_column_are_errors_with_line() {
        let p = Path::new("m.csv");
        let e = Manifest::parse(p, "case_id,image,mask\nA,a.nii,\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("empty mask path") && e.contains("`A`"),
            "{e}"
        );
        let e = Manifest::parse(p, "case_id,image,mask\nA,a,b\nA,c,d\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("twice"), "{e}");
        let e = Manifest::parse(p, "case_id,image\nA,a\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mask"), "{e}");
    }
}
