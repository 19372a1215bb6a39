//! The served models: each read once at start, its file hashed (SHA-256 of
//! the exact bytes parsed) and served under a name: the `name` the model
//! file records, else its file stem (`liver.model.json` → `liver`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use crate::learn::ModelArtifact;
use crate::pipeline::hash::sha256_hex;
use crate::{Error, Result};

pub struct ServedModel {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
    pub recipe_sha256: Option<String>,
    pub intended_use: Option<String>,
    pub artifact: ModelArtifact,
}

impl ServedModel {
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let sha256 = sha256_hex(&bytes);
        // Parse exactly the bytes hashed: write them to nothing else.
        let artifact = ModelArtifact::load(path)?;
        // `name` and `intended_use` are optional top-level members of the
        // model file that the artifact itself does not read.
        let extra: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(path, format!("not JSON: {e}")))?;
        let text = |key: &str| extra.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let name = text("name").unwrap_or_else(|| model_stem(path));
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(Error::format(
                path,
                format!("model name `{name}`: use letters, digits, `-`, `_` and `.` only"),
            ));
        }
        let recipe_sha256 = artifact
            .extraction
            .as_ref()
            .map(|r| sha256_hex(&serde_json::to_vec(r).expect("recipe serialises")));
        // The file must still be the one hashed (it was read twice).
        let again = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if again != bytes {
            return Err(Error::format(
                path,
                "the model file changed while it was read",
            ));
        }
        Ok(ServedModel {
            name,
            path: path.to_path_buf(),
            sha256,
            recipe_sha256,
            intended_use: text("intended_use"),
            artifact,
        })
    }

    /// The `GET /v1/models` entry.
    pub fn describe(&self) -> serde_json::Value {
        let a = &self.artifact;
        json!({
            "name": self.name,
            "sha256": self.sha256,
            "radial_version": a.radial_version,
            "recipe": {
                "sha256": self.recipe_sha256,
                "extraction": a.extraction,
            },
            "features": a.input_features,
            "classes": {"positive": a.cohort.positive, "negative": a.cohort.negative},
            "label_column": a.cohort.label_column,
            "intended_use": self.intended_use,
            "scores_images": a.extraction.is_some(),
        })
    }
}

/// `liver.model.json` → `liver`; other names lose their last extension.
fn model_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".model.json")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(&name)
        .to_string()
}

/// Every `*.model.json` directly inside the directories of a colon-separated
/// list (`RADIAL_MODELS`), sorted by path; missing directories are skipped.
pub fn discover(dirs: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for dir in dirs.split(':').filter(|d| !d.is_empty()) {
        let dir = Path::new(dir);
        if !dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            let is_model = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".model.json"));
            if is_model && path.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Loads every model; two models with one name are an error naming both.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Arc<ServedModel>>> {
    let mut models: Vec<Arc<ServedModel>> = Vec::new();
    for path in paths {
        let model = ServedModel::load(path)?;
        if let Some(other) = models.iter().find(|m| m.name == model.name) {
            return Err(Error::format(
                path,
                format!(
                    "model name `{}` is already served from {}",
                    model.name,
                    other.path.display()
                ),
            ));
        }
        models.push(Arc::new(model));
    }
    Ok(models)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert_eq!(model_stem(Path::new("/m/liver.model.json")), "liver");
        assert_eq!(model_stem(Path::new("x.json")), "x");
    }
}
