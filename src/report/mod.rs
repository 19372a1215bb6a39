//! A self-contained HTML page per evaluation: cohort, protocol, selected
//! features with their fold frequency, ROC and calibration figures (inline
//! SVG), the metrics table, and provenance.

pub mod plots;
pub mod stability;

use std::fmt::Write;

use crate::learn::Evaluation;
use crate::learn::metrics::Metrics;
use crate::learn::protocol::SelectionStep;

/// What the evaluation itself does not know: naming and provenance.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    pub title: String,
    pub run_id: Option<String>,
    /// SHA-256 of the canonical protocol parameters.
    pub parameter_hash: Option<String>,
    /// Other (label, value) lines for the provenance table (stage id, pipeline file, ...).
    pub extra: Vec<(String, String)>,
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else {
        format!("{v:.3}")
    }
}

/// What each `stable` step kept: a fixed list from a stability stage, the
/// same in every fold.
fn stable_steps(h: &mut String, p: &crate::learn::Protocol) {
    for step in &p.selection {
        if let SelectionStep::Stable {
            min_icc,
            from,
            features,
        } = step
        {
            let _ = write!(
                h,
                "<p>Stability filter (<code>stable</code>, from stage <code>{}</code>): \
                 {} features with ICC &ge; {min_icc} kept, the same list in every fold \
                 (not fitted on outcome data), before the steps after it.</p>",
                escape(from),
                features.as_ref().map_or(0, Vec::len)
            );
        }
    }
}

pub fn render_html(eval: &Evaluation, ctx: &ReportContext) -> String {
    let mut h = String::new();
    let c = &eval.cohort;
    let p = &eval.protocol;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:0.5em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}\
         th{{background:#f0f0f0}}.figs{{display:flex;flex-wrap:wrap;gap:1em}}code{{font-size:90%}}</style></head><body>\n\
         <h1>{title}</h1>\n",
        title = escape(&ctx.title)
    );
    let _ = writeln!(
        h,
        "<h2>Cohort</h2><table><tr><th>cases</th><td>{}</td></tr>\
         <tr><th>{} = {} (positive)</th><td>{}</td></tr><tr><th>{} = {}</th><td>{}</td></tr>\
         <tr><th>features</th><td>{}</td></tr></table>",
        c.n_cases,
        escape(&c.label_column),
        escape(&c.positive),
        c.n_positive,
        escape(&c.label_column),
        escape(&c.negative),
        c.n_negative,
        c.n_features
    );
    let protocol_yaml = serde_json::to_string_pretty(p).unwrap_or_default();
    let _ = writeln!(
        h,
        "<h2>Protocol</h2><p>{} · {}-fold stratified cross-validation × {} repeats, seed {}; \
         every step below is fitted on each training fold only.</p><pre><code>{}</code></pre>",
        escape(&p.classifier.describe()),
        p.folds,
        p.repeats,
        eval.seed,
        escape(&protocol_yaml)
    );
    let probabilities: Vec<f64> = eval.out_of_fold.iter().map(|o| o.probability).collect();
    let labels: Vec<bool> = eval.out_of_fold.iter().map(|o| o.positive).collect();
    let _ = writeln!(
        h,
        "<h2>Discrimination and calibration</h2><div class=\"figs\">{}{}</div>",
        plots::roc_svg(&probabilities, &labels, eval.seed),
        plots::calibration_svg(&probabilities, &labels)
    );
    let s = &eval.summary;
    let _ = write!(
        h,
        "<h2>Metrics</h2><p>Mean over {} folds: AUC {} (sd {}).</p>\
         <table><tr><th>metric</th><th>mean over folds</th><th>pooled out-of-fold</th></tr>",
        eval.folds.len(),
        num(s.auc_mean),
        num(s.auc_sd)
    );
    let pooled = &eval.pooled;
    let auc_cell = format!(
        "{} (95% CI {}–{}, DeLong{})",
        num(pooled.auc.value),
        num(pooled.auc.lower),
        num(pooled.auc.upper),
        pooled.auc_bootstrap.map_or(String::new(), |b| format!(
            "; bootstrap {}–{}",
            num(b.lower),
            num(b.upper)
        ))
    );
    let mean_of = |f: fn(&Metrics) -> f64| {
        num(eval.folds.iter().map(|r| f(&r.metrics)).sum::<f64>() / eval.folds.len() as f64)
    };
    let rows: [(&str, String, String); 10] = [
        ("AUC", num(s.auc_mean), auc_cell),
        ("accuracy", num(s.accuracy_mean), num(pooled.accuracy)),
        (
            "balanced accuracy",
            num(s.balanced_accuracy_mean),
            num(pooled.balanced_accuracy),
        ),
        (
            "sensitivity",
            num(s.sensitivity_mean),
            num(pooled.sensitivity),
        ),
        (
            "specificity",
            num(s.specificity_mean),
            num(pooled.specificity),
        ),
        ("F1", num(s.f1_mean), num(pooled.f1)),
        (
            "calibration slope",
            mean_of(|m| m.calibration_slope),
            num(pooled.calibration_slope),
        ),
        (
            "calibration intercept",
            mean_of(|m| m.calibration_intercept),
            num(pooled.calibration_intercept),
        ),
        ("Brier score", num(s.brier_mean), num(pooled.brier)),
        (
            "cases",
            format!("{}", eval.folds.first().map_or(0, |f| f.metrics.n)),
            format!("{}", pooled.n),
        ),
    ];
    for (name, mean, pooled) in rows {
        let _ = write!(
            h,
            "<tr><td>{name}</td><td>{mean}</td><td>{pooled}</td></tr>"
        );
    }
    h.push_str("</table>\n<h2>Selected features</h2>");
    stable_steps(&mut h, p);
    let _ = write!(
        h,
        "<p>{} features were kept by at least one fold.</p><table><tr><th>feature</th><th>folds selecting it</th></tr>",
        eval.selection_frequency.len()
    );
    for f in &eval.selection_frequency {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.0}%</td></tr>",
            escape(&f.feature),
            100.0 * f.frequency
        );
    }
    h.push_str("</table>\n<h2>Provenance</h2><table>");
    let mut prov: Vec<(String, String)> =
        vec![("radial version".into(), eval.radial_version.clone())];
    if let Some(r) = &ctx.run_id {
        prov.push(("run id".into(), r.clone()));
    }
    if let Some(src) = &c.source {
        prov.push(("input table".into(), src.clone()));
    }
    if let Some(hash) = &c.source_sha256 {
        prov.push(("input SHA-256".into(), hash.clone()));
    }
    if let Some(hash) = &ctx.parameter_hash {
        prov.push(("parameter SHA-256".into(), hash.clone()));
    }
    prov.extend(ctx.extra.iter().cloned());
    for (k, v) in prov {
        let _ = write!(
            h,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            escape(&k),
            escape(&v)
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}
