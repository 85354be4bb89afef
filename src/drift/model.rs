//! A model's drift: its training reference against its view of recent bars.

use super::{Column, Report};
use crate::artifact::Reference;
use crate::config::{DriftMethod, DriftSettings};
use crate::evaluation::score::View;

/// Compare the reference with the view's `rows` (bars of the model's regime with
/// complete features): every feature, the predictions, and the label base rate; judged as
/// `drift.method` says, calibrated features weighted by `importance` (the model's, in the
/// reference's feature order).
pub fn against_reference(
    view: &View,
    reference: &Reference,
    importance: Option<&[f64]>,
    rows: &[usize],
    s: &DriftSettings,
) -> Report {
    let columns: Vec<Vec<f64>> = reference
        .features
        .iter()
        .map(|name| {
            let index = view.table.names.iter().position(|n| n == name).unwrap_or(usize::MAX);
            rows.iter().map(|&r| view.table.columns.get(index).map_or(f64::NAN, |c| c[r])).collect()
        })
        .collect();
    let inputs: Vec<Column> = reference
        .features
        .iter()
        .enumerate()
        .map(|(j, name)| Column {
            name: name.clone(),
            reference: &reference.sample[j],
            current: &columns[j],
            edges: Some(&reference.deciles[j]),
        })
        .collect();
    let features = super::features(&inputs, s);
    let current_predictions: Vec<f64> = rows.iter().filter_map(|&r| view.predictions[r]).collect();
    let prediction = super::feature("prediction", &reference.predictions, &current_predictions, None, s);
    let labelled: Vec<u8> = rows.iter().filter_map(|&r| view.labels[r]).collect();
    let label = super::label_drift(
        reference.label_rate,
        reference.training_rows,
        labelled.iter().map(|&l| f64::from(l)).sum::<f64>() / labelled.len().max(1) as f64,
        labelled.len(),
    );
    match (s.method, &reference.calibration) {
        (DriftMethod::Calibrated, Some(calibration)) if calibration.features.len() == features.len() => {
            super::calibrated_report(features, Some(prediction), label, calibration, importance, s)
        }
        (DriftMethod::Calibrated, _) => {
            let mut report = super::report(features, Some(prediction), label, s);
            report.note = Some(format!(
                "judged with the fixed thresholds: the model has no calibration (its training period holds fewer \
                 than drift.min_chunks {} chunks of drift.window_days, or it was trained before calibrations were kept)",
                s.min_chunks
            ));
            report
        }
        (DriftMethod::Fixed, _) => super::report(features, Some(prediction), label, s),
    }
}
