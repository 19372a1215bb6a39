//! The `pyradiomics` stage kind: PyRadiomics 3.0.1's features of a case
//! (src/compat/pyradiomics), from a `load` stage, with a PyRadiomics
//! parameter file given inline (`params: {setting: ..., featureClass: ...}`)
//! or by path (`params_file: exampleCT.yaml`, relative to the pipeline; its
//! content enters the task key, so editing the file reruns the stage).
//!
//! The output is one feature row per case under PyRadiomics' column names
//! (`original_glcm_Contrast`), which `collect` gathers like any family's.
//! The `diagnostics_*` columns are left out: they describe the files and the
//! settings (hashes, versions, sizes), not the tumour, and would otherwise
//! enter the learning table as features. `radial extract --pyradiomics`
//! writes them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Scope, StageKind, TaskData, one_input_of, typed};
use crate::compat::pyradiomics::{self, Cell, Params};
use crate::features::FeatureSet;
use crate::pipeline::artifact::{CaseImage, encode_features};
use crate::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PyRadiomicsParams {
    /// The parameter file's content, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// A PyRadiomics parameter file, relative to the pipeline file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_file: Option<String>,
}

impl PyRadiomicsParams {
    fn check(&self) -> std::result::Result<(), String> {
        match (&self.params, &self.params_file) {
            (Some(_), Some(_)) => {
                Err("give either `params` (inline) or `params_file`, not both".into())
            }
            (Some(inline), None) => parse_inline(inline).map(|_| ()),
            // The file is read and checked when it is resolved (input_files).
            (None, _) => Ok(()),
        }
    }
}

/// An inline parameter mapping, read as PyRadiomics reads its file (JSON is
/// YAML), so that errors name the same keys.
fn parse_inline(inline: &Value) -> std::result::Result<Params, String> {
    let text = serde_json::to_string(inline).map_err(|e| e.to_string())?;
    pyradiomics::params::parse(&text).map_err(|e| format!("params: {e}"))
}

fn parse_file(path: &Path) -> std::result::Result<Params, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("params_file {}: {e}", path.display()))?;
    pyradiomics::params::parse(&text).map_err(|e| format!("params_file {}: {e}", path.display()))
}

pub struct PyRadiomicsStage;

impl StageKind for PyRadiomicsStage {
    fn name(&self) -> &str {
        "pyradiomics"
    }
    fn version(&self) -> u32 {
        // 2: in the image file's pixel type and on its header spacings.
        2
    }
    fn scope(&self) -> Scope {
        Scope::PerCase
    }
    fn input_files(
        &self,
        params: &Value,
        base: &Path,
    ) -> std::result::Result<Vec<PathBuf>, String> {
        let p: PyRadiomicsParams = typed(params)?;
        let Some(file) = &p.params_file else {
            return Ok(Vec::new());
        };
        let path = Path::new(file);
        let path = if path.is_relative() {
            base.join(path)
        } else {
            path.to_path_buf()
        };
        // Checked at planning: a bad key fails before any task runs.
        parse_file(&path)?;
        Ok(vec![path])
    }
    fn check_inputs(&self, input_kinds: &[&str]) -> std::result::Result<(), String> {
        one_input_of(input_kinds, &["load"])
    }
    fn canonical_params(&self, params: &Value) -> std::result::Result<Value, String> {
        let p: PyRadiomicsParams = typed(params)?;
        if p.params.is_none() && p.params_file.is_none() {
            return Err(
                "needs `params` (a PyRadiomics parameter mapping) or `params_file` (a path)".into(),
            );
        }
        p.check()?;
        serde_json::to_value(&p).map_err(|e| e.to_string())
    }
    fn run(&self, task: &TaskData, params: &Value) -> Result<Vec<u8>> {
        let p: PyRadiomicsParams = typed(params).map_err(|e| Error::setting("params", e))?;
        let parameters = match (&p.params, task.files.first()) {
            (Some(inline), _) => parse_inline(inline).map_err(|e| Error::setting("params", e))?,
            (None, Some((path, planned))) => {
                let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
                // The key was made from the planned content: a file edited
                // since must not produce features under the old key.
                if crate::pipeline::hash::sha256_hex(&bytes) != *planned {
                    return Err(Error::format(
                        path,
                        "the parameter file changed since the run was planned; run again",
                    ));
                }
                parse_file(path).map_err(|e| Error::setting("params_file", e))?
            }
            (None, None) => return Err(Error::data("the parameter file was not resolved")),
        };
        let case = task
            .case
            .ok_or_else(|| Error::data("pyradiomics runs per case"))?;
        let (_, bytes) = task.only_input()?;
        let loaded = CaseImage::decode(bytes)?;
        // In the file's pixel type and on its header spacings, as
        // `radial extract --pyradiomics` computes.
        let row = pyradiomics::extract::extract_stored(
            loaded.image,
            loaded.mask,
            &loaded.stored,
            case.label,
            &parameters,
        )?;
        let mut out = FeatureSet::new();
        for (name, cell) in row {
            if let Cell::Number(v) = cell
                && !name.starts_with("diagnostics_")
            {
                out.values.push((name, v));
            }
        }
        Ok(encode_features(&out))
    }
}
