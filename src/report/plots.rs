//! The report's figures as inline SVG (plotters): the ROC curve with its
//! bootstrap band, and the calibration plot.

use plotters::prelude::*;

use crate::learn::metrics::{roc_band, roc_curve};

const SIZE: (u32, u32) = (440, 420);
const BAND: RGBColor = RGBColor(170, 200, 235);
const LINE: RGBColor = RGBColor(20, 80, 160);

/// ROC curve of pooled probabilities with a pointwise 95% bootstrap band.
pub fn roc_svg(probabilities: &[f64], labels: &[bool], seed: u64) -> String {
    let curve = roc_curve(probabilities, labels);
    let band = roc_band(probabilities, labels, 200, seed);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("ROC (pooled out-of-fold)", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("1 - specificity")
            .y_desc("sensitivity")
            .max_light_lines(0)
            .draw()?;
        let mut outline: Vec<(f64, f64)> = band.iter().map(|&(f, _, hi)| (f, hi)).collect();
        outline.extend(band.iter().rev().map(|&(f, lo, _)| (f, lo)));
        chart.draw_series(std::iter::once(Polygon::new(
            outline,
            BAND.mix(0.7).filled(),
        )))?;
        chart.draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.mix(0.3).stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(curve, LINE.stroke_width(2)))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn)
}

/// Observed fraction of positives against mean predicted probability in ten
/// equal-count bins.
pub fn calibration_svg(probabilities: &[f64], labels: &[bool]) -> String {
    let bins = calibration_bins(probabilities, labels, 10);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Calibration (pooled out-of-fold)", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("predicted probability")
            .y_desc("observed fraction")
            .max_light_lines(0)
            .draw()?;
        chart.draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.mix(0.3).stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(bins.clone(), LINE.stroke_width(2)))?;
        chart.draw_series(bins.iter().map(|&p| Circle::new(p, 4, LINE.filled())))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn)
}

fn finish(svg: String, drawn: Result<(), Box<dyn std::error::Error + '_>>) -> String {
    match drawn {
        Ok(()) => svg,
        Err(e) => format!(
            "<p>(figure unavailable: {})</p>",
            super::escape(&e.to_string())
        ),
    }
}

/// (mean predicted, observed fraction) per bin of cases sorted by probability.
pub fn calibration_bins(probabilities: &[f64], labels: &[bool], bins: usize) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| {
        probabilities[a]
            .total_cmp(&probabilities[b])
            .then(a.cmp(&b))
    });
    let n = order.len();
    (0..bins)
        .filter_map(|b| {
            let members = &order[b * n / bins..(b + 1) * n / bins];
            if members.is_empty() {
                return None;
            }
            let m = members.len() as f64;
            let predicted = members.iter().map(|&i| probabilities[i]).sum::<f64>() / m;
            let observed = members.iter().filter(|&&i| labels[i]).count() as f64 / m;
            Some((predicted, observed))
        })
        .collect()
}
