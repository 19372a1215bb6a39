//! `PIPELINE.lock`: beside the pipeline file, meant to be committed. It
//! holds what a reviewer wants to see change in a diff (resolved parameters,
//! input file hashes, every task's key and output hash) and nothing that
//! changes between identical runs (no times, no host, no run id).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::execute::TaskRecord;
use super::plan::Plan;
use super::runs::{FileRef, manifest_ref};
use super::store::Store;
use crate::{Error, Result};

pub const LOCK_FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockFile {
    pub radial_lock: u32,
    pub pipeline: String,
    pub manifest: FileRef,
    /// Per case: the image and mask read by the pipeline.
    pub inputs: BTreeMap<String, CaseInputs>,
    pub stages: BTreeMap<String, LockStage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseInputs {
    pub image: FileRef,
    pub mask: FileRef,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockStage {
    pub kind: String,
    pub version: u32,
    pub inputs: Vec<String>,
    pub params: Value,
    /// Files the stage itself reads (a `table` stage's feature table).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRef>,
    /// Case id (`case_id~v03` for variant 3 of a per-variant task, `*` for
    /// a cohort task) → key and output.
    pub tasks: BTreeMap<String, LockTask>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockTask {
    pub key: String,
    pub output: String,
}

/// How a stage's declared file is named in the lock: relative to the
/// pipeline's directory when inside it, so the lock does not depend on the
/// directory the run was started from.
pub fn declared_file_name(plan: &Plan, path: &Path) -> String {
    let base = plan.lock_path.parent().unwrap_or(Path::new(""));
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `path` as written relative to directory `base` when both lie under one
/// root (they share a first directory below `/`, e.g. one checkout or one
/// home), with `..` where needed; otherwise absolute. Locks and run records
/// name files this way, so a lock made in one clone describes another.
pub fn portable_path(path: &Path, base: &Path) -> String {
    let (Ok(p), Ok(b)) = (std::path::absolute(path), std::path::absolute(base)) else {
        return path.display().to_string();
    };
    let p = normalise(&p);
    let b = normalise(&b);
    let pc: Vec<_> = p.components().collect();
    let bc: Vec<_> = b.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    // Sharing only the root (`/`) means different trees: keep it absolute.
    if common < 2 {
        return p.display().to_string();
    }
    let mut rel = std::path::PathBuf::new();
    for _ in common..bc.len() {
        rel.push("..");
    }
    for c in &pc[common..] {
        rel.push(c.as_os_str());
    }
    if rel.as_os_str().is_empty() {
        ".".into()
    } else {
        rel.display().to_string()
    }
}

/// Removes `.` and resolves `..` lexically (no file system access).
pub fn normalise(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The directory of the lock file (the pipeline's).
pub fn lock_dir(plan: &Plan) -> &Path {
    plan.lock_path.parent().unwrap_or(Path::new(""))
}

pub fn read_lock(path: &Path) -> Result<Option<LockFile>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::format(path, format!("not a radial lock file: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes the lock of a run: the successful tasks and the current settings.
/// The manifest is named relative to the lock's directory and each case's
/// files relative to the manifest's, so the lock is the same in any clone.
pub fn write_lock(
    plan: &Plan,
    store: &Store,
    tasks: &[TaskRecord],
    input_hashes: &[Option<(String, String)>],
) -> Result<()> {
    let mut stages: BTreeMap<String, LockStage> = plan
        .stages
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                LockStage {
                    kind: s.kind.name().to_string(),
                    version: s.kind.version(),
                    inputs: s
                        .inputs
                        .iter()
                        .map(|&i| plan.stages[i].id.clone())
                        .collect(),
                    params: s.params.clone(),
                    files: s
                        .files
                        .iter()
                        .map(|(path, sha256)| FileRef {
                            path: declared_file_name(plan, path),
                            sha256: sha256.clone(),
                        })
                        .collect(),
                    tasks: BTreeMap::new(),
                },
            )
        })
        .collect();
    for t in tasks {
        if let (Some(key), Some(output)) = (&t.key, &t.output)
            && let Some(st) = stages.get_mut(&t.stage)
        {
            st.tasks.insert(
                t.label().unwrap_or_else(|| "*".into()),
                LockTask {
                    key: key.clone(),
                    output: output.clone(),
                },
            );
        }
    }
    let inputs = case_inputs(plan, input_hashes);
    let lock = LockFile {
        radial_lock: LOCK_FORMAT,
        pipeline: plan.spec.name.clone(),
        manifest: manifest_ref(plan, lock_dir(plan))?,
        inputs,
        stages,
    };
    let mut text = serde_json::to_string_pretty(&lock).map_err(|e| Error::data(e.to_string()))?;
    text.push('\n');
    if std::fs::read_to_string(&plan.lock_path).ok().as_deref() != Some(text.as_str()) {
        crate::io::atomic::write_bytes(&plan.lock_path, text.as_bytes())?;
    }
    store.register_lock_file(&plan.lock_path)
}

/// Each case's image and mask with their content hashes, paths relative to
/// the manifest where they lie under the same root: what a lock and a run
/// record both hold. Cases whose inputs were not hashed are left out.
pub fn case_inputs(
    plan: &Plan,
    input_hashes: &[Option<(String, String)>],
) -> BTreeMap<String, CaseInputs> {
    let manifest_dir = plan.manifest.path.parent().unwrap_or(Path::new(""));
    plan.manifest
        .cases
        .iter()
        .zip(input_hashes)
        .filter_map(|(c, h)| {
            let (img, msk) = h.as_ref()?;
            Some((
                c.case_id.clone(),
                CaseInputs {
                    image: FileRef {
                        path: portable_path(&c.image, manifest_dir),
                        sha256: img.clone(),
                    },
                    mask: FileRef {
                        path: portable_path(&c.mask, manifest_dir),
                        sha256: msk.clone(),
                    },
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_paths_are_relative_under_one_root_and_absolute_across_roots() {
        assert_eq!(
            portable_path(
                Path::new("/work/a/data/x.nii"),
                Path::new("/work/a/pipelines")
            ),
            "../data/x.nii"
        );
        assert_eq!(
            portable_path(Path::new("/work/a/p/./x.csv"), Path::new("/work/a/p")),
            "x.csv"
        );
        assert_eq!(
            portable_path(Path::new("/tmp/x.nii"), Path::new("/work/a")),
            "/tmp/x.nii"
        );
    }
}
