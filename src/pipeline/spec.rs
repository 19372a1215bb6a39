//! Pipeline files: parsing, `include` of shared settings, `--set` overrides.
//! Every element keeps the file, line and column it came from, so that the
//! validation in [`super::plan`] can point at the offending text.
//!
//! ```yaml
//! name: demo
//! manifest: ../data-manifests/demo.csv   # relative to this file
//! include: [shared.yaml]                 # files with `settings: {NAME: {params}}`
//! stages:
//!   - {id: load, kind: load}
//!   - {id: resample, kind: resample, inputs: [load], params: {spacing: [1, 1, 1]}}
//!   - {id: glcm, kind: glcm, inputs: [discretise], settings: texture}
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::{Error, Result};

/// Where a piece of configuration came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    File {
        path: PathBuf,
        line: u64,
        column: u64,
    },
    /// A `--set` argument, quoted as given.
    Override(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, column } => write!(f, "{}:{line}:{column}", path.display()),
            Origin::Override(arg) => write!(f, "--set {arg}"),
        }
    }
}

/// An error located in a pipeline file or an override.
pub fn located(origin: &Origin, message: impl fmt::Display) -> Error {
    match origin {
        // The "path" of the error is `file:line:column`, the way editors and
        // compilers print a location.
        Origin::File { .. } => Error::format(origin.to_string(), message.to_string()),
        Origin::Override(_) => Error::setting(origin.to_string(), message.to_string()),
    }
}

/// One parameter as written.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub value: Value,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct StageSpec {
    pub id: String,
    pub kind: String,
    /// Input stage ids with the place each is named.
    pub inputs: Vec<(String, Origin)>,
    /// Parameters in file order (shared settings first, then the stage's own).
    pub params: Vec<Param>,
    pub origin: Origin,
    pub kind_origin: Origin,
}

impl StageSpec {
    /// The parameters as one JSON object (later entries win).
    pub fn params_object(&self) -> Value {
        let mut map = serde_json::Map::new();
        for p in &self.params {
            map.insert(p.name.clone(), p.value.clone());
        }
        Value::Object(map)
    }
}

#[derive(Debug, Clone)]
pub struct PipelineSpec {
    pub path: PathBuf,
    /// SHA-256 of the pipeline file and every included file, in order.
    pub source_sha256: String,
    pub name: String,
    /// Absent for a pipeline that starts from feature tables only.
    pub manifest: Option<PathBuf>,
    pub store: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub stages: Vec<StageSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: Spanned<String>,
    #[serde(default)]
    manifest: Option<Spanned<String>>,
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    stages: Vec<Spanned<RawStage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    id: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    inputs: Vec<Spanned<String>>,
    #[serde(default)]
    params: Option<ParamMap>,
    /// Name of a shared settings block from an included file.
    #[serde(default)]
    settings: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInclude {
    settings: BTreeMap<String, ParamMap>,
}

/// A YAML mapping whose values keep their location.
struct ParamMap(Vec<(String, Spanned<Value>)>);

impl<'de> Deserialize<'de> for ParamMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ParamMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of parameter names to values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<ParamMap, A::Error> {
                let mut entries: Vec<(String, Spanned<Value>)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(serde::de::Error::custom(format!(
                            "parameter `{key}` is given twice"
                        )));
                    }
                    entries.push((key, map.next_value()?));
                }
                Ok(ParamMap(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// The rule for names that become file names (a pipeline's `name`, which
/// names its output directory, and a run's `--name`): ASCII letters,
/// digits, `-`, `_` and `.`, not starting with `.`, at most 100 characters.
/// So a name can never climb out of the output directory or hide.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    let rule = "a name may use ASCII letters, digits, '-', '_' and '.', must not start with '.' and has at most 100 characters";
    if name.is_empty()
        || name.len() > 100
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(rule.to_string());
    }
    Ok(())
}

fn origin(path: &Path, loc: &serde_saphyr::Location) -> Origin {
    Origin::File {
        path: path.to_path_buf(),
        line: loc.line(),
        column: loc.column(),
    }
}

fn parse_yaml<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T> {
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let msg = crate::error::yaml_message(&e.to_string());
        match e.location() {
            Some(loc) => located(&origin(path, &loc), msg),
            None => Error::format(path, msg),
        }
    })
}

fn param_list(path: &Path, map: ParamMap) -> Vec<Param> {
    map.0
        .into_iter()
        .map(|(name, v)| Param {
            name,
            origin: origin(path, &v.referenced),
            value: v.value,
        })
        .collect()
}

impl PipelineSpec {
    /// Reads a pipeline file and its includes. Structure errors (unknown keys,
    /// wrong types, unknown shared settings, duplicate ids) come with
    /// file:line:column; kinds, inputs and parameters are checked by the planner.
    pub fn read(path: &Path) -> Result<PipelineSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let raw: RawPipeline = parse_yaml(path, &text)?;
        check_name(&raw.name.value).map_err(|m| {
            located(
                &origin(path, &raw.name.referenced),
                format!("pipeline name `{}`: {m}", raw.name.value),
            )
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let mut sources = super::hash::sha256_hex(text.as_bytes());
        let mut shared: BTreeMap<String, Vec<Param>> = BTreeMap::new();
        for inc in &raw.include {
            let inc_path = base.join(&inc.value);
            let inc_text = std::fs::read_to_string(&inc_path).map_err(|e| {
                located(
                    &origin(path, &inc.referenced),
                    format!("cannot read included file {}: {e}", inc_path.display()),
                )
            })?;
            sources.push_str(&super::hash::sha256_hex(inc_text.as_bytes()));
            let raw_inc: RawInclude = parse_yaml(&inc_path, &inc_text)?;
            for (name, map) in raw_inc.settings {
                shared.insert(name, param_list(&inc_path, map));
            }
        }
        let mut stages: Vec<StageSpec> = Vec::new();
        for s in raw.stages {
            let stage_origin = origin(path, &s.referenced);
            let s = s.value;
            let id_origin = origin(path, &s.id.referenced);
            if s.id.value.is_empty() || s.id.value.contains(['/', '.', ' ']) {
                return Err(located(
                    &id_origin,
                    format!(
                        "stage id `{}` must be non-empty, without '/', '.' or spaces",
                        s.id.value
                    ),
                ));
            }
            if let Some(first) = stages.iter().find(|st| st.id == s.id.value) {
                return Err(located(
                    &id_origin,
                    format!(
                        "duplicate stage id `{}` (first defined at {})",
                        s.id.value, first.origin
                    ),
                ));
            }
            let mut params = Vec::new();
            if let Some(name) = &s.settings {
                let block = shared.get(&name.value).ok_or_else(|| {
                    located(
                        &origin(path, &name.referenced),
                        format!(
                            "no shared settings named `{}` in the included files (known: {})",
                            name.value,
                            shared.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                params.extend(block.iter().cloned());
            }
            if let Some(map) = s.params {
                params.extend(param_list(path, map));
            }
            stages.push(StageSpec {
                id: s.id.value,
                kind: s.kind.value,
                kind_origin: origin(path, &s.kind.referenced),
                inputs: s
                    .inputs
                    .into_iter()
                    .map(|i| (i.value, origin(path, &i.referenced)))
                    .collect(),
                params,
                origin: stage_origin,
            });
        }
        Ok(PipelineSpec {
            path: path.to_path_buf(),
            source_sha256: if raw.include.is_empty() {
                sources
            } else {
                super::hash::sha256_hex(sources.as_bytes())
            },
            name: raw.name.value,
            manifest: raw.manifest.map(|m| base.join(&m.value)),
            store: raw.store.map(|s| base.join(s)),
            output: raw.output.map(PathBuf::from),
            stages,
        })
    }

    /// Applies `--set STAGE.PARAM=VALUE` (PARAM may be a dotted path into a
    /// nested mapping; VALUE is YAML). Whether the parameter exists is
    /// checked by the planner against the stage kind. A `null` value (`~`,
    /// or nothing after `=`) removes the parameter, so it takes its default
    /// or stops applying: `--set d.method=fixed_bin_number --set d.bins=32
    /// --set d.bin_width=null` switches a discretisation's method.
    pub fn apply_override(&mut self, arg: &str) -> Result<()> {
        let bad = |msg: String| Error::setting(format!("--set {arg}"), msg);
        let (lhs, value_text) = arg
            .split_once('=')
            .ok_or_else(|| bad("expected STAGE.PARAM=VALUE".into()))?;
        let (stage_id, path) = lhs
            .trim()
            .split_once('.')
            .ok_or_else(|| bad("expected STAGE.PARAM=VALUE".into()))?;
        let known: Vec<&str> = self.stages.iter().map(|s| s.id.as_str()).collect();
        let known = known.join(", ");
        let stage = self
            .stages
            .iter_mut()
            .find(|s| s.id == stage_id)
            .ok_or_else(|| {
                bad(format!(
                    "no stage `{stage_id}` in the pipeline (stages: {known})"
                ))
            })?;
        let value: Value = if value_text.trim().is_empty() {
            Value::Null
        } else {
            serde_saphyr::from_str(value_text).map_err(|e| {
                bad(format!(
                    "cannot parse the value: {}",
                    crate::error::yaml_message(&e.to_string())
                ))
            })?
        };
        let mut keys = path.split('.');
        let top = keys.next().unwrap_or_default().to_string();
        if top.is_empty() {
            return Err(bad("empty parameter name".into()));
        }
        let rest: Vec<&str> = keys.collect();
        let origin = Origin::Override(arg.to_string());
        let current = stage.params_object().get(&top).cloned();
        if rest.is_empty() && value.is_null() {
            stage.params.retain(|p| p.name != top);
            return Ok(());
        }
        let new_value = if rest.is_empty() {
            value
        } else {
            let mut root = match current {
                Some(v @ Value::Object(_)) => v,
                Some(_) => return Err(bad(format!("parameter `{top}` is not a mapping"))),
                None => Value::Object(Default::default()),
            };
            let (last, parents) = rest.split_last().expect("a nested path");
            let mut node = &mut root;
            for (i, k) in parents.iter().enumerate() {
                let Value::Object(map) = node else {
                    return Err(bad(format!("`{}` is not a mapping", rest[..i].join("."))));
                };
                node = map
                    .entry(k.to_string())
                    .or_insert(Value::Object(Default::default()));
            }
            let Value::Object(map) = node else {
                return Err(bad(format!("`{}` is not a mapping", parents.join("."))));
            };
            if value.is_null() {
                map.remove(*last);
            } else {
                map.insert(last.to_string(), value);
            }
            root
        };
        stage.params.retain(|p| p.name != top);
        stage.params.push(Param {
            name: top,
            value: new_value,
            origin,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn unknown_key_is_reported_with_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "p.yaml",
            "name: x\nmanifest: m.csv\nstages:\n  - id: load\n    kind: load\n    colour: red\n",
        );
        let e = PipelineSpec::read(&p).unwrap_err().to_string();
        assert!(e.contains("p.yaml:6:"), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn a_pipeline_name_that_would_leave_the_output_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../../../escape", ".hidden", "a/b", "\"\""] {
            let p = write(
                dir.path(),
                "p.yaml",
                &format!("name: {bad}\nmanifest: m.csv\nstages:\n  - id: load\n    kind: load\n"),
            );
            let e = PipelineSpec::read(&p).unwrap_err().to_string();
            assert!(
                e.contains("p.yaml:1:") && e.contains("pipeline name"),
                "{bad}: {e}"
            );
        }
        assert!(check_name("example-liver_v1.2").is_ok());
    }

    #[test]
    fn duplicate_ids_name_both_places() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "p.yaml",
            "name: x\nmanifest: m.csv\nstages:\n  - id: a\n    kind: load\n  - id: a\n    kind: load\n",
        );
        let e = PipelineSpec::read(&p).unwrap_err().to_string();
        assert!(
            e.contains("p.yaml:6:") && e.contains("duplicate stage id `a`"),
            "{e}"
        );
        assert!(e.contains("p.yaml:4:"), "{e}");
    }

    #[test]
    fn include_merges_shared_settings_under_stage_params() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "shared.yaml",
            "settings:\n  tex:\n    distance: 2\n    ngldm_alpha: 1\n",
        );
        let p = write(
            dir.path(),
            "p.yaml",
            "name: x\nmanifest: m.csv\ninclude: [shared.yaml]\nstages:\n  - id: t\n    kind: glcm\n    settings: tex\n    params: {distance: 3}\n",
        );
        let spec = PipelineSpec::read(&p).unwrap();
        let params = spec.stages[0].params_object();
        assert_eq!(params["distance"], 3);
        assert_eq!(params["ngldm_alpha"], 1);
        assert!(
            spec.stages[0].params[0]
                .origin
                .to_string()
                .contains("shared.yaml:3:")
        );
    }

    #[test]
    fn overrides_set_nested_values_and_reject_unknown_stages() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "p.yaml",
            "name: x\nmanifest: m.csv\nstages:\n  - id: d\n    kind: discretise\n    params: {method: fixed_bin_size, bin_width: 25}\n",
        );
        let mut spec = PipelineSpec::read(&p).unwrap();
        spec.apply_override("d.bin_width=10").unwrap();
        assert_eq!(spec.stages[0].params_object()["bin_width"], 10);
        spec.apply_override("d.extra.depth=1").unwrap();
        assert_eq!(spec.stages[0].params_object()["extra"]["depth"], 1);
        spec.apply_override("d.extra.depth=null").unwrap();
        assert_eq!(
            spec.stages[0].params_object()["extra"],
            serde_json::json!({})
        );
        spec.apply_override("d.bin_width=null").unwrap();
        assert!(spec.stages[0].params_object().get("bin_width").is_none());
        let e = spec.apply_override("nope.x=1").unwrap_err().to_string();
        assert!(
            e.contains("no stage `nope`") && e.contains("stages: d"),
            "{e}"
        );
    }
}
