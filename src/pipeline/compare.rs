//! `radial runs`: one row per recorded run, newest first, with its
//! overrides and the headline metrics of its evaluate stages; as text, CSV,
//! JSON, or a self-contained HTML page that also plots, for each sweep, the
//! metric against the swept parameter with its confidence band (inline SVG).
//! Reads only the small per-run summaries ([`super::runs::RunSummary`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::execute::civil_time;
use super::runs::RunSummary;

/// The metrics shown per evaluate stage when `--metric` is not given.
pub const HEADLINE: [&str; 5] = [
    "auc",
    "accuracy",
    "balanced_accuracy",
    "sensitivity",
    "specificity",
];

/// A `STAGE.METRIC` column (the AUC carries its interval).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub stage: String,
    pub metric: String,
}

impl Column {
    pub fn title(&self) -> String {
        format!("{}.{}", self.stage, self.metric)
    }

    fn value(&self, run: &RunSummary) -> Option<f64> {
        run.metrics.get(&self.stage)?.get(&self.metric).copied()
    }

    /// The interval of the value, when the run recorded one
    /// (`METRIC_lower`/`METRIC_upper`).
    fn interval(&self, run: &RunSummary) -> Option<(f64, f64)> {
        let m = run.metrics.get(&self.stage)?;
        Some((
            *m.get(&format!("{}_lower", self.metric))?,
            *m.get(&format!("{}_upper", self.metric))?,
        ))
    }

    fn text(&self, run: &RunSummary) -> String {
        match (self.value(run), self.interval(run)) {
            (Some(v), Some((lo, hi))) => format!("{v:.3} [{lo:.3}, {hi:.3}]"),
            (Some(v), None) => format!("{v:.3}"),
            _ => "-".into(),
        }
    }
}

/// Parses `--metric STAGE.METRIC`.
pub fn parse_metric(text: &str) -> Result<Column, String> {
    match text.split_once('.') {
        Some((s, m)) if !s.is_empty() && !m.is_empty() => Ok(Column {
            stage: s.to_string(),
            metric: m.to_string(),
        }),
        _ => Err(format!(
            "--metric {text}: expected STAGE.METRIC, e.g. evaluate.auc"
        )),
    }
}

/// The columns: the one asked for, or the headline metrics of every stage
/// that reported metrics in any run.
pub fn columns(runs: &[RunSummary], metric: Option<&Column>) -> Vec<Column> {
    if let Some(m) = metric {
        return vec![m.clone()];
    }
    let mut stages: Vec<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
    stages.sort();
    stages.dedup();
    stages
        .into_iter()
        .flat_map(|s| {
            HEADLINE.iter().map(|m| Column {
                stage: s.clone(),
                metric: m.to_string(),
            })
        })
        .collect()
}

/// Newest first (run ids sort by time).
pub fn sort_newest_first(runs: &mut [RunSummary]) {
    runs.sort_by(|a, b| {
        b.started_unix
            .total_cmp(&a.started_unix)
            .then_with(|| b.run_id.cmp(&a.run_id))
    });
}

pub fn date(unix: f64) -> String {
    let (y, mo, d, h, mi, s) = civil_time(unix.floor() as i64);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

fn overrides(run: &RunSummary) -> String {
    if run.overrides.is_empty() {
        "(as written)".into()
    } else {
        run.overrides.join(" ")
    }
}

/// The table as aligned text.
pub fn text(runs: &[RunSummary], cols: &[Column]) -> String {
    let mut header = vec![
        "run".to_string(),
        "name".into(),
        "date (UTC)".into(),
        "pipeline".into(),
        "overrides".into(),
    ];
    header.extend(cols.iter().map(Column::title));
    let mut rows = vec![header];
    for r in runs {
        let mut row = vec![
            r.run_id.clone(),
            r.name.clone().unwrap_or_else(|| "-".into()),
            date(r.started_unix),
            r.pipeline.name.clone(),
            overrides(r),
        ];
        row.extend(cols.iter().map(|c| c.text(r)));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(s, "{}", cells.join("  ").trim_end());
    }
    s
}

/// The table as CSV; an interval adds `_lower` and `_upper` columns.
pub fn csv(runs: &[RunSummary], cols: &[Column]) -> String {
    use super::manifest::csv_field;
    let mut header: Vec<String> = ["run_id", "name", "started_utc", "pipeline", "overrides"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for c in cols {
        header.push(c.title());
        if runs.iter().any(|r| c.interval(r).is_some()) {
            header.push(format!("{}_lower", c.title()));
            header.push(format!("{}_upper", c.title()));
        }
    }
    let mut s = header
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    s.push('\n');
    for r in runs {
        let mut row = vec![
            r.run_id.clone(),
            r.name.clone().unwrap_or_default(),
            date(r.started_unix),
            r.pipeline.name.clone(),
            r.overrides.join(" "),
        ];
        for c in cols {
            row.push(c.value(r).map(|v| v.to_string()).unwrap_or_default());
            if runs.iter().any(|x| c.interval(x).is_some()) {
                let (lo, hi) = c
                    .interval(r)
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .unwrap_or_default();
                row.push(lo);
                row.push(hi);
            }
        }
        s.push_str(
            &row.iter()
                .map(|v| csv_field(v))
                .collect::<Vec<_>>()
                .join(","),
        );
        s.push('\n');
    }
    s
}

/// The rows as JSON objects.
pub fn json(runs: &[RunSummary], cols: &[Column]) -> Value {
    Value::Array(
        runs.iter()
            .map(|r| {
                let mut metrics = serde_json::Map::new();
                for c in cols {
                    let mut m = serde_json::Map::new();
                    m.insert("value".into(), c.value(r).into());
                    if let Some((lo, hi)) = c.interval(r) {
                        m.insert("lower".into(), lo.into());
                        m.insert("upper".into(), hi.into());
                    }
                    metrics.insert(c.title(), Value::Object(m));
                }
                serde_json::json!({
                    "run_id": r.run_id,
                    "name": r.name,
                    "started_utc": date(r.started_unix),
                    "pipeline": r.pipeline.name,
                    "overrides": r.overrides,
                    "sweep": r.sweep,
                    "output_dir": r.output_dir,
                    "totals": r.totals,
                    "metrics": metrics,
                })
            })
            .collect(),
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The self-contained comparison page: the table, then for every sweep
/// the metric against each swept parameter (one line per combination of
/// the other parameters) with its confidence band.
pub fn html(runs: &[RunSummary], cols: &[Column], plotted: &Column) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>radial runs</title>\n<style>\
body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}\
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}\
td.num{text-align:right;font-variant-numeric:tabular-nums}</style></head><body>\n<h1>Runs</h1>\n<table>\n<tr>",
    );
    for h in ["run", "name", "date (UTC)", "pipeline", "overrides"] {
        let _ = write!(s, "<th>{h}</th>");
    }
    for c in cols {
        let _ = write!(s, "<th>{}</th>", esc(&c.title()));
    }
    s.push_str("</tr>\n");
    for r in runs {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(&r.run_id),
            esc(r.name.as_deref().unwrap_or("")),
            date(r.started_unix),
            esc(&r.pipeline.name),
            esc(&overrides(r))
        );
        for c in cols {
            let _ = write!(s, "<td class=\"num\">{}</td>", esc(&c.text(r)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    let mut sweeps: BTreeMap<&str, Vec<&RunSummary>> = BTreeMap::new();
    for r in runs {
        if let Some(sw) = &r.sweep {
            sweeps.entry(sw.id.as_str()).or_default().push(r);
        }
    }
    for (id, members) in sweeps.iter().rev() {
        let mut params: Vec<&String> = members
            .iter()
            .flat_map(|r| {
                r.sweep
                    .as_ref()
                    .map(|s| s.values.keys())
                    .into_iter()
                    .flatten()
            })
            .collect();
        params.sort();
        params.dedup();
        let _ = writeln!(
            s,
            "<h2>Sweep {} ({} runs): {}</h2>",
            esc(id),
            members.len(),
            esc(&plotted.title())
        );
        for p in &params {
            s.push_str(&sweep_plot(members, p, plotted));
        }
    }
    s.push_str("</body></html>\n");
    s
}

/// A plotted point: x in pixels, the metric, and its interval when
/// recorded.
type Point = (f64, f64, Option<(f64, f64)>);

fn value_label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One SVG: `metric` against parameter `param`, a line and a band per
/// combination of the other swept values. Numeric values are placed on a
/// linear axis, others (e.g. a spacing `[1,1,1]`) at evenly spaced ticks.
fn sweep_plot(members: &[&RunSummary], param: &str, metric: &Column) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 360.0, 60.0, 180.0, 20.0, 50.0);
    let mut xs: Vec<&Value> = members
        .iter()
        .filter_map(|r| r.sweep.as_ref()?.values.get(param))
        .collect();
    xs.sort_by(|a, b| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => value_label(a).cmp(&value_label(b)),
    });
    xs.dedup();
    let numeric = xs.iter().all(|v| v.as_f64().is_some()) && xs.len() > 1;
    let (xmin, xmax) = if numeric {
        let v: Vec<f64> = xs.iter().filter_map(|v| v.as_f64()).collect();
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    } else {
        (0.0, (xs.len().max(2) - 1) as f64)
    };
    let xpos = |v: &Value| -> f64 {
        let t = if numeric {
            v.as_f64().unwrap_or(xmin)
        } else {
            xs.iter().position(|x| *x == v).unwrap_or(0) as f64
        };
        let span = if xmax > xmin { xmax - xmin } else { 1.0 };
        left + (t - xmin) / span * (w - left - right)
    };
    // Series: the other swept values, as a label.
    let mut series: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    let mut ymin = f64::INFINITY;
    let mut ymax = f64::NEG_INFINITY;
    for r in members {
        let Some(sw) = &r.sweep else { continue };
        let (Some(x), Some(y)) = (sw.values.get(param), metric.value(r)) else {
            continue;
        };
        let band = metric.interval(r);
        for v in [Some(y), band.map(|b| b.0), band.map(|b| b.1)]
            .into_iter()
            .flatten()
        {
            ymin = ymin.min(v);
            ymax = ymax.max(v);
        }
        let label: Vec<String> = sw
            .values
            .iter()
            .filter(|(k, _)| k.as_str() != param)
            .map(|(k, v)| format!("{k}={}", value_label(v)))
            .collect();
        series
            .entry(label.join(", "))
            .or_default()
            .push((xpos(x), y, band));
    }
    if !ymin.is_finite() {
        return format!(
            "<p>No run of this sweep recorded {}.</p>\n",
            esc(&metric.title())
        );
    }
    if ymax - ymin < 1e-9 {
        ymin -= 0.05;
        ymax += 0.05;
    }
    let ypos = |y: f64| top + (ymax - y) / (ymax - ymin) * (h - top - bottom);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-size=\"11\" font-family=\"sans-serif\">\n"
    );
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#333\"/>",
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    );
    for x in &xs {
        let px = xpos(x);
        let _ = writeln!(
            s,
            "<line x1=\"{px:.1}\" y1=\"{}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#333\"/><text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            h - bottom,
            h - bottom + 4.0,
            h - bottom + 16.0,
            esc(&value_label(x))
        );
    }
    for k in 0..=4 {
        let y = ymin + (ymax - ymin) * k as f64 / 4.0;
        let py = ypos(y);
        let _ = writeln!(
            s,
            "<line x1=\"{}\" y1=\"{py:.1}\" x2=\"{left}\" y2=\"{py:.1}\" stroke=\"#333\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{y:.3}</text>",
            left - 4.0,
            left - 6.0,
            py + 4.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text><text x=\"14\" y=\"{:.1}\" transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\">{}</text>",
        left + (w - left - right) / 2.0,
        h - 12.0,
        esc(param),
        top + (h - top - bottom) / 2.0,
        top + (h - top - bottom) / 2.0,
        esc(&metric.title())
    );
    const COLOURS: [&str; 6] = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    ];
    for (i, (label, mut pts)) in series.into_iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let banded: Vec<(f64, (f64, f64))> = pts
            .iter()
            .filter_map(|(x, _, b)| b.map(|b| (*x, b)))
            .collect();
        if banded.len() == pts.len() && !pts.is_empty() {
            let mut poly: Vec<String> = banded
                .iter()
                .map(|(x, (_, hi))| format!("{x:.1},{:.1}", ypos(*hi)))
                .collect();
            poly.extend(
                banded
                    .iter()
                    .rev()
                    .map(|(x, (lo, _))| format!("{x:.1},{:.1}", ypos(*lo))),
            );
            let _ = writeln!(
                s,
                "<polygon points=\"{}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>",
                poly.join(" ")
            );
        }
        let line: Vec<String> = pts
            .iter()
            .map(|(x, y, _)| format!("{x:.1},{:.1}", ypos(*y)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            line.join(" ")
        );
        for (x, y, _) in &pts {
            let _ = writeln!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>",
                ypos(*y)
            );
        }
        let ly = top + 14.0 * i as f64 + 10.0;
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"{:.1}\">{}</text>",
            w - right + 10.0,
            ly - 9.0,
            w - right + 24.0,
            ly,
            esc(if label.is_empty() { "all runs" } else { &label })
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::runs::{Counts, PipelineRef, SweepRecord};

    fn run(id: &str, t: f64, bw: f64, auc: f64) -> RunSummary {
        let mut m = BTreeMap::new();
        m.insert("auc".to_string(), auc);
        m.insert("auc_lower".to_string(), auc - 0.1);
        m.insert("auc_upper".to_string(), auc + 0.05);
        RunSummary {
            run_id: id.into(),
            name: None,
            started_unix: t,
            seconds: 1.0,
            pipeline: PipelineRef {
                name: "p".into(),
                path: "p.yaml".into(),
                sha256: String::new(),
            },
            overrides: vec![format!("d.bin_width={bw}")],
            sweep: Some(SweepRecord {
                id: "s".into(),
                index: 1,
                count: 2,
                values: [("d.bin_width".to_string(), serde_json::json!(bw))].into(),
            }),
            totals: Counts::default(),
            metrics: [("evaluate".to_string(), m)].into(),
            output_dir: String::new(),
        }
    }

    #[test]
    fn rows_are_newest_first_and_the_page_plots_the_sweep_with_its_band() {
        let mut runs = vec![run("a", 1.0, 10.0, 0.8), run("b", 2.0, 25.0, 0.9)];
        sort_newest_first(&mut runs);
        assert_eq!(runs[0].run_id, "b");
        let cols = columns(&runs, None);
        assert_eq!(cols[0].title(), "evaluate.auc");
        let t = text(&runs, &cols);
        assert!(t.contains("0.900 [0.800, 0.950]"), "{t}");
        let c = csv(&runs, &cols);
        assert!(
            c.lines().next().unwrap().contains("evaluate.auc_lower"),
            "{c}"
        );
        let page = html(&runs, &cols, &cols[0]);
        assert!(page.contains("<svg") && page.contains("<polygon"), "{page}");
        assert!(page.contains("d.bin_width"));
    }
}
