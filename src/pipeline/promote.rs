//! `radial promote RUN`: writes an experiment's overrides into the pipeline
//! file, editing only the text of the parameters concerned (found by their
//! source spans), so comments, order and layout stay as the user wrote
//! them. The edited text is parsed again and must give exactly the
//! experiment's parameters before it replaces the file.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::spec::PipelineSpec;
use crate::{Error, Result};

#[derive(Deserialize)]
struct Doc {
    stages: Vec<Spanned<DocStage>>,
}

#[derive(Deserialize)]
struct DocStage {
    id: String,
    #[serde(default)]
    params: Option<Spanned<EntryMap>>,
}

/// A parameter as written: where its key and its value start (bytes).
struct Entry {
    key: String,
    key_at: usize,
    value_at: usize,
}

struct EntryMap(Vec<Entry>);

impl<'de> Deserialize<'de> for EntryMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = EntryMap;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of parameters")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<EntryMap, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    let v: Spanned<serde::de::IgnoredAny> = map.next_value()?;
                    out.push(Entry {
                        key: k.value,
                        key_at: offset(&k.referenced),
                        value_at: offset(&v.referenced),
                    });
                }
                Ok(EntryMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn offset(loc: &serde_saphyr::Location) -> usize {
    loc.span().byte_offset().unwrap_or(u64::MAX) as usize
}

/// A JSON value as YAML flow text (JSON is YAML; plain strings stay plain
/// when they cannot be read as anything else).
pub fn yaml_flow(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
                && s.parse::<f64>().is_err()
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
                )
                && !s.starts_with(['-', '.']);
            if plain {
                s.clone()
            } else {
                Value::String(s.clone()).to_string()
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(yaml_flow).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", yaml_flow(&Value::String(k.clone())), yaml_flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A JSON value as YAML block text, each line starting with `indent`
/// spaces, without a trailing newline; `None` for a value that has no block
/// form (a scalar or an empty collection), which stays in flow style.
fn yaml_block(v: &Value, indent: usize) -> Option<String> {
    let pad = " ".repeat(indent);
    let item = |prefix: String, v: &Value| match yaml_block(v, indent + 2) {
        Some(nested) => format!("{prefix}\n{nested}"),
        None => format!("{prefix} {}", yaml_flow(v)),
    };
    match v {
        Value::Array(items) if !items.is_empty() => Some(
            items
                .iter()
                .map(|v| item(format!("{pad}-"), v))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Value::Object(map) if !map.is_empty() => Some(
            map.iter()
                .map(|(k, v)| item(format!("{pad}{}:", yaml_flow(&Value::String(k.clone()))), v))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i)
}

fn indent_of_line(text: &str, at: usize) -> usize {
    let s = line_start(text, at);
    text[s..].chars().take_while(|c| *c == ' ').count()
}

/// The end of the bracketed or quoted text starting at `at`.
fn matching_end(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = at;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) => {
                if c == b'\\' && q == b'"' {
                    i += 1;
                } else if c == q {
                    quote = None;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
            }
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Where the value starting at `at` ends. `flow`: inside a `{...}`.
fn value_end(text: &str, at: usize, key_at: usize, flow: bool) -> Option<usize> {
    let c = text[at..].chars().next()?;
    if matches!(c, '[' | '{' | '"' | '\'') {
        return matching_end(text, at);
    }
    if line_start(text, at) != line_start(text, key_at) {
        // A block value on the lines below its key: up to the last line
        // indented deeper than the key.
        let key_indent = indent_of_line(text, key_at);
        let mut end = line_end(text, at);
        let mut next = end + 1;
        while next < text.len() {
            let e = line_end(text, next);
            let line = &text[next..e];
            let trimmed = line.trim_start();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                if line.len() - trimmed.len() <= key_indent {
                    break;
                }
                end = e;
            }
            next = e + 1;
        }
        return Some(end);
    }
    let e = line_end(text, at);
    let mut end = e;
    let line = &text[at..e];
    if let Some(i) = line.find(" #") {
        end = at + i;
    }
    if flow && let Some(i) = text[at..end].find([',', '}', ']']) {
        end = at + i;
    }
    Some(at + text[at..end].trim_end().len())
}

/// One text edit: replace `range` by `with`.
struct Edit {
    start: usize,
    end: usize,
    with: String,
}

/// Edits `text` (the pipeline file at `path`) so that each stage's own
/// parameters named in `targets` (stage id, parameter, new value or `None`
/// to remove) take those values.
fn edit_text(
    text: &str,
    path: &Path,
    targets: &[(String, String, Option<Value>)],
) -> Result<String> {
    let doc: Doc = serde_saphyr::from_str(text)
        .map_err(|e| Error::format(path, format!("cannot parse: {e}")))?;
    let refuse = |m: String| Error::format(path, format!("cannot edit the text safely: {m}"));
    let mut edits: Vec<Edit> = Vec::new();
    for (stage_id, key, value) in targets {
        let stage = doc
            .stages
            .iter()
            .find(|s| s.value.id == *stage_id)
            .ok_or_else(|| refuse(format!("no stage `{stage_id}`")))?;
        let stage_at = offset(&stage.referenced);
        if stage_at > text.len() {
            return Err(refuse("the parser gave no position".into()));
        }
        let rendered = value.as_ref().map(yaml_flow);
        match &stage.value.params {
            Some(params) => {
                let map_at = offset(&params.referenced);
                let flow = text[map_at..].starts_with('{');
                let entries = &params.value.0;
                match (entries.iter().find(|e| e.key == *key), rendered) {
                    (Some(e), Some(r)) => {
                        let end = value_end(text, e.value_at, e.key_at, flow)
                            .ok_or_else(|| refuse(format!("the value of `{key}`")))?;
                        if line_start(text, e.value_at) != line_start(text, e.key_at) && !flow {
                            // A block value stays a block value at its own
                            // indentation; a new scalar goes after the key.
                            let colon = text[e.key_at..]
                                .find(':')
                                .map(|i| e.key_at + i + 1)
                                .ok_or_else(|| refuse(format!("the key `{key}`")))?;
                            let block = value
                                .as_ref()
                                .and_then(|v| yaml_block(v, indent_of_line(text, e.value_at)));
                            edits.push(Edit {
                                start: colon,
                                end,
                                with: match block {
                                    Some(b) => format!("\n{b}"),
                                    None => format!(" {r}"),
                                },
                            });
                        } else {
                            edits.push(Edit {
                                start: e.value_at,
                                end,
                                with: r,
                            });
                        }
                    }
                    (Some(e), None) => {
                        let end = value_end(text, e.value_at, e.key_at, flow)
                            .ok_or_else(|| refuse(format!("the value of `{key}`")))?;
                        if flow {
                            let after = &text[end..];
                            let trimmed = after.trim_start();
                            if let Some(rest) = trimmed.strip_prefix(',') {
                                let skip = after.len() - rest.trim_start().len();
                                edits.push(Edit {
                                    start: e.key_at,
                                    end: end + skip,
                                    with: String::new(),
                                });
                            } else {
                                let before = text[..e.key_at].trim_end();
                                let start = if before.ends_with(',') {
                                    before.len() - 1
                                } else {
                                    e.key_at
                                };
                                edits.push(Edit {
                                    start,
                                    end,
                                    with: String::new(),
                                });
                            }
                        } else {
                            if entries.len() == 1 {
                                return Err(refuse(format!(
                                    "`{key}` is the only parameter of `{stage_id}`; remove it by hand"
                                )));
                            }
                            let start = line_start(text, e.key_at);
                            let stop = (line_end(text, end) + 1).min(text.len());
                            edits.push(Edit {
                                start,
                                end: stop,
                                with: String::new(),
                            });
                        }
                    }
                    (None, Some(r)) => {
                        if flow {
                            let close = matching_end(text, map_at)
                                .ok_or_else(|| refuse("the params mapping".into()))?
                                - 1;
                            let inner = text[map_at + 1..close].trim();
                            let at = map_at + 1 + text[map_at + 1..close].trim_end().len();
                            edits.push(Edit {
                                start: at,
                                end: at,
                                with: if inner.is_empty() {
                                    format!("{key}: {r}")
                                } else {
                                    format!(", {key}: {r}")
                                },
                            });
                        } else {
                            let last = entries
                                .last()
                                .ok_or_else(|| refuse("an empty params mapping".into()))?;
                            let end = value_end(text, last.value_at, last.key_at, false)
                                .ok_or_else(|| refuse("the last parameter".into()))?;
                            let at = line_end(text, end);
                            let indent = " ".repeat(indent_of_line(text, last.key_at));
                            edits.push(Edit {
                                start: at,
                                end: at,
                                with: format!("\n{indent}{key}: {r}"),
                            });
                        }
                    }
                    (None, None) => {}
                }
            }
            None => {
                let Some(r) = rendered else { continue };
                if text[stage_at..].starts_with('{') {
                    let close = matching_end(text, stage_at)
                        .ok_or_else(|| refuse(format!("stage `{stage_id}`")))?
                        - 1;
                    let at = stage_at + 1 + text[stage_at + 1..close].trim_end().len();
                    edits.push(Edit {
                        start: at,
                        end: at,
                        with: format!(", params: {{{key}: {r}}}"),
                    });
                } else {
                    let indent = text[line_start(text, stage_at)..stage_at].chars().count();
                    // The stage's lines: those indented at least as its keys.
                    let mut last = line_end(text, stage_at);
                    let mut next = last + 1;
                    while next < text.len() {
                        let e = line_end(text, next);
                        let line = &text[next..e];
                        let trimmed = line.trim_start();
                        if !trimmed.is_empty() && !trimmed.starts_with('#') {
                            if line.len() - trimmed.len() < indent {
                                break;
                            }
                            last = e;
                        }
                        next = e + 1;
                    }
                    edits.push(Edit {
                        start: last,
                        end: last,
                        with: format!("\n{}params: {{{key}: {r}}}", " ".repeat(indent)),
                    });
                }
            }
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    for w in edits.windows(2) {
        if w[1].end > w[0].start {
            return Err(refuse("two edits overlap".into()));
        }
    }
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.start..e.end, &e.with);
    }
    Ok(out)
}

/// The pipeline text with `overrides` written in, checked: parsed again it
/// must give every stage the parameters the overrides give the original.
pub fn promoted_text(pipeline: &Path, overrides: &[String]) -> Result<String> {
    let text = std::fs::read_to_string(pipeline).map_err(|e| Error::io(pipeline, e))?;
    let original = PipelineSpec::read(pipeline)?;
    let mut want = original.clone();
    for o in overrides {
        want.apply_override(o)?;
    }
    let mut targets: Vec<(String, String, Option<Value>)> = Vec::new();
    for o in overrides {
        let lhs = o.split_once('=').map_or(o.as_str(), |(l, _)| l).trim();
        let Some((stage, param)) = lhs.split_once('.') else {
            continue;
        };
        let top = param.split('.').next().unwrap_or(param).to_string();
        if targets.iter().any(|(s, k, _)| s == stage && *k == top) {
            continue;
        }
        let st = want
            .stages
            .iter()
            .find(|s| s.id == stage)
            .ok_or_else(|| Error::setting(o.clone(), format!("no stage `{stage}`")))?;
        targets.push((
            stage.to_string(),
            top.clone(),
            st.params_object().get(&top).cloned(),
        ));
    }
    let edited = edit_text(&text, pipeline, &targets)?;
    // Parse the result where the original lives (its includes resolve).
    let check = crate::io::atomic::temporary_path(pipeline);
    std::fs::write(&check, &edited).map_err(|e| Error::io(&check, e))?;
    let reread = PipelineSpec::read(&check);
    let _ = std::fs::remove_file(&check);
    let reread = reread?;
    for (a, b) in want.stages.iter().zip(&reread.stages) {
        if a.params_object() != b.params_object() || a.id != b.id {
            return Err(Error::format(
                pipeline,
                format!(
                    "cannot edit the text safely: stage `{}` would read {} instead of {}; edit the file by hand",
                    a.id,
                    b.params_object(),
                    a.params_object()
                ),
            ));
        }
    }
    Ok(edited)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = "\
# The study.
name: p
manifest: m.csv
stages:
  - id: load
    kind: load
  # Resampling to 1 mm.
  - id: resample
    kind: resample
    inputs: [load]
    params:
      spacing: [1.0, 1.0, 1.0]   # isotropic
      image: linear
  - id: discretise
    kind: discretise
    inputs: [resample]
    params: {method: fixed_bin_size, bin_width: 25}
  - {id: glcm, kind: glcm, inputs: [discretise]}
";

    #[test]
    fn block_values_stay_block_style() {
        let text = "name: p\nmanifest: m.csv\nstages:\n  - id: load\n    kind: load\n  - id: resample\n    kind: resample\n    inputs: [load]\n    params:\n      spacing:\n        - 1.0\n        - 1.0\n        - 1.0\n      image: linear  # kept\n";
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.yaml");
        std::fs::write(&p, text).unwrap();
        let t = promoted_text(&p, &["resample.spacing=[2,2,3]".to_string()]).unwrap();
        assert_eq!(
            t,
            "name: p\nmanifest: m.csv\nstages:\n  - id: load\n    kind: load\n  - id: resample\n    kind: resample\n    inputs: [load]\n    params:\n      spacing:\n        - 2\n        - 2\n        - 3\n      image: linear  # kept\n"
        );
        let t = promoted_text(&p, &["resample.spacing=2".to_string()]).unwrap();
        assert!(
            t.contains("      spacing: 2\n      image: linear  # kept\n"),
            "{t}"
        );
    }

    fn promoted(overrides: &[&str]) -> Result<String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.yaml");
        std::fs::write(&p, PIPELINE).unwrap();
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        promoted_text(&p, &o)
    }

    #[test]
    fn values_are_replaced_in_place_keeping_comments_and_layout() {
        let t = promoted(&["discretise.bin_width=10", "resample.spacing=[2,2,2]"]).unwrap();
        assert!(
            t.contains("params: {method: fixed_bin_size, bin_width: 10}"),
            "{t}"
        );
        assert!(
            t.contains("      spacing: [2, 2, 2]   # isotropic\n"),
            "{t}"
        );
        assert!(t.starts_with("# The study.\n") && t.contains("  # Resampling to 1 mm.\n"));
        let changed: Vec<(&str, &str)> = PIPELINE
            .lines()
            .zip(t.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(changed.len(), 2, "{changed:?}");
    }

    #[test]
    fn new_parameters_are_added_and_null_removes() {
        let t = promoted(&[
            "discretise.method=fixed_bin_number",
            "discretise.bins=32",
            "discretise.bin_width=null",
            "resample.round_intensities=true",
            "glcm.distance=2",
        ])
        .unwrap();
        assert!(
            t.contains("params: {method: fixed_bin_number, bins: 32}"),
            "{t}"
        );
        assert!(
            t.contains("      image: linear\n      round_intensities: true\n"),
            "{t}"
        );
        assert!(
            t.contains("{id: glcm, kind: glcm, inputs: [discretise], params: {distance: 2}}"),
            "{t}"
        );
    }
}
