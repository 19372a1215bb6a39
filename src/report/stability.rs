//! The page of a `stability` stage: the ICC of every feature as a strip
//! plot per IBSI family (inline SVG), counts above the usual thresholds
//! (0.75 "good", 0.9 "excellent", Koo & Li 2016), and the table itself.

use std::fmt::Write;

use plotters::prelude::*;

use super::escape;

/// One feature's ICC with its interval, and its family.
#[derive(Debug, Clone, PartialEq)]
pub struct IccPoint {
    pub feature: String,
    pub family: String,
    pub icc: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The thresholds the page counts features against.
pub const THRESHOLDS: [f64; 2] = [0.75, 0.9];

/// Per family (first-appearance order): the features' positions in `points`.
fn by_family(points: &[IccPoint]) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        match out.iter_mut().find(|(f, _)| *f == p.family) {
            Some((_, members)) => members.push(i),
            None => out.push((p.family.clone(), vec![i])),
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else {
        format!("{v:.3}")
    }
}

/// The ICC of each feature against its family, one row per family, with
/// the thresholds drawn; points spread vertically by a fixed offset (their
/// rank in the family), so the figure is the same bytes every time.
pub fn strip_svg(points: &[IccPoint]) -> String {
    let families = by_family(points);
    let finite: Vec<f64> = points
        .iter()
        .map(|p| p.icc)
        .filter(|v| v.is_finite())
        .collect();
    let low = finite.iter().copied().fold(0.0f64, f64::min).max(-1.0);
    let x_min = (low * 10.0).floor() / 10.0;
    let height = 80 + 36 * families.len().max(1) as u32;
    let names: Vec<String> = families.iter().map(|(f, _)| f.clone()).collect();
    let mut svg = String::new();
    let drawn = (|| -> std::result::Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (640, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("ICC per feature family", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(120)
            .build_cartesian_2d(x_min..1.0, -0.5..(families.len() as f64 - 0.5))?;
        chart
            .configure_mesh()
            .x_desc("ICC")
            .y_labels(families.len().max(1))
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .max_light_lines(0)
            .draw()?;
        let n_rows = families.len() as f64;
        for t in THRESHOLDS {
            chart.draw_series(LineSeries::new(
                [(t, -0.5), (t, n_rows - 0.5)],
                BLACK.mix(0.3).stroke_width(1),
            ))?;
        }
        for (row, (_, members)) in families.iter().enumerate() {
            let m = members.len() as f64;
            chart.draw_series(members.iter().enumerate().filter_map(|(r, &i)| {
                let v = points[i].icc;
                let offset = if m > 1.0 {
                    (r as f64 / (m - 1.0) - 0.5) * 0.5
                } else {
                    0.0
                };
                v.is_finite().then(|| {
                    Circle::new(
                        (v, row as f64 + offset),
                        3,
                        RGBColor(20, 80, 160).mix(0.7).filled(),
                    )
                })
            }))?;
        }
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => format!("<p>(figure unavailable: {})</p>", escape(&e.to_string())),
    }
}

/// The stability page of stage `stage_id`.
pub fn render_html(stage_id: &str, form: &str, points: &[IccPoint]) -> String {
    let mut h = String::new();
    let title = format!("radial feature stability: {stage_id}");
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:0.5em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}\
         th{{background:#f0f0f0}}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    let count = |members: &[usize], t: f64| members.iter().filter(|&&i| points[i].icc >= t).count();
    let all: Vec<usize> = (0..points.len()).collect();
    let nan = points.iter().filter(|p| p.icc.is_nan()).count();
    let _ = writeln!(
        h,
        "<p>{} features, ICC form {}: {} with ICC &ge; {}, {} with ICC &ge; {}{}.</p>",
        points.len(),
        escape(form),
        count(&all, THRESHOLDS[0]),
        THRESHOLDS[0],
        count(&all, THRESHOLDS[1]),
        THRESHOLDS[1],
        if nan > 0 {
            format!(", {nan} without an ICC (see the note column of the CSV)")
        } else {
            String::new()
        }
    );
    h.push_str(&strip_svg(points));
    h.push_str(
        "\n<h2>Per family</h2><table><tr><th>family</th><th>features</th><th>median ICC</th>",
    );
    for t in THRESHOLDS {
        let _ = write!(h, "<th>ICC &ge; {t}</th>");
    }
    h.push_str("<th>no ICC</th></tr>");
    for (family, members) in by_family(points) {
        let values: Vec<f64> = members
            .iter()
            .map(|&i| points[i].icc)
            .filter(|v| !v.is_nan())
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            escape(&family),
            members.len(),
            num(median(values.clone()))
        );
        for t in THRESHOLDS {
            let _ = write!(h, "<td>{}</td>", count(&members, t));
        }
        let _ = write!(h, "<td>{}</td></tr>", members.len() - values.len());
    }
    h.push_str("</table>\n<h2>Features</h2><table><tr><th>feature</th><th>family</th><th>ICC</th><th>95% CI</th></tr>");
    for p in points {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td></tr>",
            escape(&p.feature),
            escape(&p.family),
            num(p.icc),
            num(p.ci_low),
            num(p.ci_high)
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(feature: &str, family: &str, icc: f64) -> IccPoint {
        IccPoint {
            feature: feature.into(),
            family: family.into(),
            icc,
            ci_low: icc - 0.1,
            ci_high: icc + 0.05,
        }
    }

    #[test]
    fn page_counts_thresholds_per_family_and_draws_the_strips() {
        let points = [
            point("stat_mean", "statistics", 0.95),
            point("stat_var", "statistics", 0.8),
            point("cm_contrast", "glcm", 0.5),
            point("cm_flat", "glcm", f64::NAN),
        ];
        let html = render_html("icc", "ICC(1,1)", &points);
        assert!(html.contains("4 features, ICC form ICC(1,1): 2 with ICC &ge; 0.75, 1 with ICC &ge; 0.9, 1 without an ICC"), "{html}");
        assert!(
            html.contains(
                "<tr><td>statistics</td><td>2</td><td>0.875</td><td>2</td><td>1</td><td>0</td></tr>"
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "<tr><td>glcm</td><td>2</td><td>0.500</td><td>0</td><td>0</td><td>1</td></tr>"
            ),
            "{html}"
        );
        assert!(html.contains("<svg"), "no figure");
        // Three finite points, three circles.
        assert_eq!(strip_svg(&points).matches("<circle").count(), 3);
        assert_eq!(
            render_html("icc", "ICC(1,1)", &points),
            html,
            "not deterministic"
        );
    }
}
