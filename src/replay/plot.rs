//! `replay --plot`: each policy's equity over the replay with its retrains, promotions
//! and rollbacks marked, and below it the drift severity of the configured policy's live
//! models at each check. SVG through plotters, text left to the viewer's fonts.

use plotters::prelude::*;

use super::report::{Detail, Report, equity};
use crate::candles::time::format_minute;
use crate::kinds::DeploymentAction;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 760;
const SEVERITIES: [&str; 5] = ["none", "low", "medium", "high", "critical"];

/// Colours of the policies, in report order (then repeated).
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(127, 127, 127),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(214, 39, 40),
];

/// The picture as SVG text.
pub fn svg(report: &Report, detail: &Detail) -> anyhow::Result<String> {
    let mut out = String::new();
    draw(report, detail, &mut out).map_err(|e| anyhow::anyhow!("drawing the plot: {e}"))?;
    Ok(out)
}

fn draw(report: &Report, detail: &Detail, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(HEIGHT * 7 / 10);
    // Equity curves: compounded fleet returns, from 1 at --from.
    let curves: Vec<Vec<(i64, f64)>> =
        detail.fleet.iter().map(|series| equity(report.from, series)).collect();
    let (low, high) =
        curves.iter().flatten().fold((1.0f64, 1.0f64), |(lo, hi), &(_, e)| (lo.min(e), hi.max(e)));
    let margin = ((high - low) * 0.05).max(0.001);
    // Dates on a long replay; month, day and time on a short one.
    let short = report.to - report.from < 4 * 86_400_000;
    let days = |t: &i64| {
        let text = format_minute(*t);
        if short { text[5..].to_string() } else { text[..10].to_string() }
    };
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!(
                "retrain replay {} .. {}: equity by policy",
                format_minute(report.from),
                format_minute(report.to)
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(report.from..report.to, (low - margin)..(high + margin))?;
    chart.configure_mesh().x_labels(8).x_label_formatter(&days).y_desc("equity (1 at --from)").draw()?;
    for (i, ((name, _), curve)) in detail.policies.iter().zip(&curves).enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(curve.iter().copied(), colour.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        let at = |t: i64| {
            let k = curve.partition_point(|p| p.0 <= t).saturating_sub(1);
            (t, curve[k].1)
        };
        let retrains = detail.retrains.get(i).map_or(&[][..], Vec::as_slice);
        chart.draw_series(retrains.iter().map(|&t| Circle::new(at(t), 3, colour.stroke_width(1))))?;
        for &(t, action) in detail.events.get(i).map_or(&[][..], Vec::as_slice) {
            match action {
                DeploymentAction::Promote => {
                    chart.draw_series(std::iter::once(Circle::new(at(t), 5, colour.filled())))?;
                }
                DeploymentAction::Rollback => {
                    chart.draw_series(std::iter::once(Cross::new(at(t), 6, colour.stroke_width(2))))?;
                }
                DeploymentAction::CanaryStart | DeploymentAction::CanaryEnd => {
                    chart.draw_series(std::iter::once(TriangleMarker::new(at(t), 5, colour.filled())))?;
                }
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;

    let mut drift = ChartBuilder::on(&bottom)
        .caption(
            "drift severity of the configured policy's live models (o retrain, ● promotion, x rollback, ▲ canary)",
            ("sans-serif", 15),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(report.from..report.to, -0.5f64..4.5f64)?;
    drift
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&days)
        .y_labels(5)
        .y_label_formatter(&|v| {
            SEVERITIES.get(v.round().max(0.0) as usize).copied().unwrap_or("").to_string()
        })
        .draw()?;
    if detail.drift.is_empty() {
        let middle = report.from + (report.to - report.from) / 3;
        drift.draw_series(std::iter::once(Text::new(
            "no live model of the configured policy was checked for drift",
            (middle, 2.2),
            ("sans-serif", 15),
        )))?;
    }
    let severe = RGBColor(214, 39, 40);
    drift.draw_series(
        detail
            .drift
            .iter()
            .filter(|(t, _)| (report.from..=report.to).contains(t))
            .map(|&(t, s)| Circle::new((t, f64::from(s)), 3, severe.mix(0.7).filled())),
    )?;
    root.present()?;
    Ok(())
}
