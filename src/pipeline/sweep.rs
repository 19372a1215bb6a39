//! Sweeps: `--sweep STAGE.PARAM=V1,V2,...` (repeatable) expands to the grid
//! of experiments, one plan per point, all planned (and so checked) before
//! any task runs. The plans are executed together
//! ([`super::execute::execute_many`]) so a task shared by several points is
//! computed once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::{Plan, PlanOptions};
use super::stages::Registry;
use crate::{Error, Result};

/// The default bound on the number of experiments of one sweep.
pub const DEFAULT_MAX_EXPERIMENTS: usize = 64;

/// One swept parameter and its values (YAML texts, as given).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepAxis {
    /// `STAGE.PARAM` (PARAM may be dotted, as for `--set`).
    pub target: String,
    pub values: Vec<String>,
    /// The argument as given, for messages.
    pub arg: String,
}

/// A plan's point of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// 1-based position in the grid (first axis slowest).
    pub index: usize,
    pub count: usize,
    /// `STAGE.PARAM` → this point's value.
    pub values: BTreeMap<String, Value>,
}

fn bad(arg: &str, msg: impl Into<String>) -> Error {
    Error::setting(format!("--sweep {arg}"), msg)
}

/// Parses `STAGE.PARAM=V1,V2,...`. Values are split at the commas that are
/// not inside brackets, braces or quotes, so `[1,1,1],[2,2,2]` is two values.
pub fn parse_axis(arg: &str) -> Result<SweepAxis> {
    let (lhs, rhs) = arg
        .split_once('=')
        .ok_or_else(|| bad(arg, "expected STAGE.PARAM=V1,V2,..."))?;
    let target = lhs.trim();
    match target.split_once('.') {
        Some((stage, param)) if !stage.is_empty() && !param.is_empty() => {}
        _ => return Err(bad(arg, "expected STAGE.PARAM=V1,V2,...")),
    }
    let values = split_values(rhs).map_err(|m| bad(arg, m))?;
    if values.is_empty() {
        return Err(bad(arg, "the list of values is empty"));
    }
    if let Some(i) = values.iter().position(|v| v.trim().is_empty()) {
        return Err(bad(arg, format!("value {} of the list is empty", i + 1)));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].iter().any(|w| w.trim() == v.trim()) {
            return Err(bad(arg, format!("value `{}` is given twice", v.trim())));
        }
    }
    Ok(SweepAxis {
        target: target.to_string(),
        values: values.into_iter().map(|v| v.trim().to_string()).collect(),
        arg: arg.to_string(),
    })
}

fn split_values(text: &str) -> std::result::Result<Vec<String>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut current = String::new();
    for ch in text.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(ch);
                current.push(ch);
            }
            (None, '[' | '{') => {
                depth += 1;
                current.push(ch);
            }
            (None, ']' | '}') => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced `{ch}`"));
                }
                current.push(ch);
            }
            (None, ',') if depth == 0 => out.push(std::mem::take(&mut current)),
            (None, c) => current.push(c),
        }
    }
    if depth != 0 || quote.is_some() {
        return Err("unbalanced brackets or quotes".into());
    }
    out.push(current);
    Ok(out)
}

/// The plans of a sweep: `base` options (with their `--set` overrides) plus
/// each point's values, in grid order (first axis slowest). Every plan is
/// made (so every value checked) before anything runs; more than
/// `max_experiments` points is an error.
pub fn plan_sweep(
    pipeline: &Path,
    base: &PlanOptions,
    axes: &[SweepAxis],
    max_experiments: usize,
    registry: &Registry,
) -> Result<Vec<Plan>> {
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.target == a.target) {
            return Err(bad(
                &a.arg,
                format!(
                    "`{}` is swept twice; give all its values in one --sweep",
                    a.target
                ),
            ));
        }
    }
    let count = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .unwrap_or(usize::MAX);
    if count > max_experiments {
        return Err(Error::setting(
            "--sweep",
            format!(
                "the grid has {count} experiments ({}), more than --max-experiments {max_experiments}",
                axes.iter()
                    .map(|a| format!("{} values of {}", a.values.len(), a.target))
                    .collect::<Vec<_>>()
                    .join(" × ")
            ),
        ));
    }
    let mut plans = Vec::with_capacity(count);
    for index in 0..count {
        // Mixed-radix digits of `index`, the last axis fastest.
        let mut rest = index;
        let mut picks = vec![0; axes.len()];
        for (k, a) in axes.iter().enumerate().rev() {
            picks[k] = rest % a.values.len();
            rest /= a.values.len();
        }
        let mut opts = base.clone();
        let mut values = BTreeMap::new();
        for (a, &p) in axes.iter().zip(&picks) {
            let text = &a.values[p];
            opts.overrides.push(format!("{}={text}", a.target));
            let value: Value = serde_saphyr::from_str(text)
                .map_err(|e| bad(&a.arg, format!("value `{text}` is not YAML: {e}")))?;
            values.insert(a.target.clone(), value);
        }
        opts.name = base.name.as_ref().map(|n| format!("{n}-{}", index + 1));
        let mut plan = Plan::new(pipeline, &opts, registry).map_err(|e| {
            let which: Vec<String> = axes
                .iter()
                .zip(&picks)
                .map(|(a, &p)| format!("{}={}", a.target, a.values[p]))
                .collect();
            Error::setting(
                "--sweep",
                format!("experiment {} ({}): {e}", index + 1, which.join(", ")),
            )
        })?;
        plan.sweep = Some(SweepPoint {
            index: index + 1,
            count,
            values,
        });
        plans.push(plan);
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_top_level_commas_only() {
        let a = parse_axis("resample.spacing=[1,1,1],[2,2,2]").unwrap();
        assert_eq!(a.target, "resample.spacing");
        assert_eq!(a.values, vec!["[1,1,1]", "[2,2,2]"]);
        let a = parse_axis("d.bin_width=10, 25,50").unwrap();
        assert_eq!(a.values, vec!["10", "25", "50"]);
        let a = parse_axis("x.label=\"a,b\",c").unwrap();
        assert_eq!(a.values, vec!["\"a,b\"", "c"]);
    }

    #[test]
    fn malformed_sweeps_are_errors_naming_the_argument() {
        for (arg, want) in [
            ("d.bin_width=", "empty"),
            ("d.bin_width=10,,20", "value 2 of the list is empty"),
            ("bin_width=10", "STAGE.PARAM"),
            ("d.spacing=[1,1", "unbalanced"),
            ("d.bin_width=10,10", "given twice"),
        ] {
            let e = parse_axis(arg).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("--sweep"), "{arg}: {e}");
        }
    }
}
