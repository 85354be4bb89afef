//! Training a (symbol, regime) model end to end, without I/O: features -> regime filter ->
//! labels -> time split with embargo -> search on validation -> test metrics once ->
//! everything the artifact holds.

use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Model;
use super::calibrate::{self, Calibrator, TestReliability};
use super::dataset::{self, Prepared};
use super::importance::{self, Importance};
use super::metrics::{self, Classification};
use super::search::{self, Outcome, Training, Validation};
use crate::artifact::{self, Reference, Window};
use crate::candles::{Candle, Interval};
use crate::config::{ModelKind, Regime, Settings};
use crate::drift::calibration::{self, Calibration};
use crate::features::{self, FeatureTable};

/// What to train.
pub struct Request<'a> {
    pub candles: &'a [Candle],
    pub interval: Interval,
    pub regime: Regime,
    pub model: ModelKind,
    pub trials: u32,
    pub seed: u64,
    pub settings: &'a Settings,
}

/// A trained model and everything measured on the way.
pub struct Trained {
    pub table: FeatureTable,
    pub prepared: Prepared,
    pub outcome: Outcome,
    pub test_metrics: Classification,
    /// What the chosen model uses, measured on the validation rows.
    pub importance: Importance,
    /// The map of its P(up) fitted on the validation rows (`training.calibration`).
    pub calibration: Option<Calibrator>,
    /// On the test rows, before and after that map.
    pub reliability: TestReliability,
    pub reference: Reference,
    pub train: Window,
    pub validation: Window,
    pub test: Window,
    pub config_hash: String,
    pub data_fingerprint: String,
    pub timings: Timings,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    pub features: Duration,
    pub search: Duration,
}

impl Trained {
    pub fn model(&self) -> &Model {
        &self.outcome.model
    }
}

/// Why a model cannot be trained on this data: a refusal with the numbers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Train; `progress(trials done, best validation score)` after each trial.
pub fn train(request: &Request, progress: &mut dyn FnMut(usize, f64)) -> Result<Trained, Refusal> {
    let s = request.settings;
    let started = Instant::now();
    if request.candles.iter().any(|c| c.values().iter().any(|v| !v.is_finite())) {
        return Err(Refusal("the stored candles hold a non-finite value; collect them again".into()));
    }
    let table = features::compute(request.candles, &s.features, &s.regimes)
        .map_err(|e| Refusal(format!("computing features: {e}")))?;
    let prepared = dataset::prepare(&table, request.regime, &s.label, &s.training, request.interval.millis())
        .map_err(Refusal)?;
    let features_time = started.elapsed();

    let started = Instant::now();
    let x_train = prepared.matrix(&table, &prepared.train);
    let y_train = prepared.targets(&prepared.train);
    let x_validation = prepared.matrix(&table, &prepared.validation);
    let y_validation = prepared.targets(&prepared.validation);
    let forward: Vec<f64> = prepared.validation.rows.iter().map(|&r| prepared.forward_returns[r]).collect();
    let training = Training::new(x_train.view(), &y_train, s.training.splits).map_err(Refusal)?;
    let validation = Validation {
        x: x_validation.view(),
        y: &y_validation,
        forward_returns: &forward,
        metric: s.training.search.metric,
        threshold: s.evaluation.threshold,
        round_trip_cost: s.label.fee_bps / 1e4,
    };
    let candidates = search::candidates(&s.training.search, request.model, request.trials, request.seed);
    let outcome =
        search::run(&training, &validation, &candidates, request.seed, progress).map_err(Refusal)?;
    let importance = importance::importance(&outcome.model, x_validation.view(), &y_validation, request.seed);
    let calibration =
        Calibrator::fit(s.training.calibration, &outcome.model.predict(x_validation.view()), &y_validation);
    let search_time = started.elapsed();

    let x_test = prepared.matrix(&table, &prepared.test);
    let y_test = prepared.targets(&prepared.test);
    let raw = outcome.model.predict(x_test.view());
    let calibrated = crate::artifact::calibrated(&outcome.model, calibration.as_ref(), x_test.view());
    let empty = || Refusal("the test window is empty".into());
    let test_metrics =
        metrics::classification(&calibrated, &y_test, s.evaluation.threshold).ok_or_else(empty)?;
    let reliability = TestReliability {
        before: calibrate::reliability(&raw, &y_test).ok_or_else(empty)?,
        after: calibrate::reliability(&calibrated, &y_test).ok_or_else(empty)?,
    };
    let reference = reference(&table, &prepared, &outcome.model, calibration.as_ref(), s);
    let window = |part: &dataset::Part| window(&table, &prepared, part);
    Ok(Trained {
        train: window(&prepared.train),
        validation: window(&prepared.validation),
        test: window(&prepared.test),
        config_hash: config_hash(s, request.model),
        data_fingerprint: data_fingerprint(request.candles),
        table,
        reference,
        test_metrics,
        importance,
        calibration,
        reliability,
        outcome,
        prepared,
        timings: Timings { features: features_time, search: search_time },
    })
}

fn window(table: &FeatureTable, prepared: &Prepared, part: &dataset::Part) -> Window {
    let positives = part.rows.iter().filter(|&&r| prepared.labels[r] == Some(1)).count();
    Window {
        from: part.rows.first().map_or(0, |&r| table.open_time[r]),
        to: part.rows.last().map_or(0, |&r| table.open_time[r]),
        rows: part.rows.len(),
        positive_rate: if part.rows.is_empty() { 0.0 } else { positives as f64 / part.rows.len() as f64 },
    }
}

/// The drift reference: up to `training.reference_sample` training rows, evenly spaced in
/// time, with raw feature values; deciles over all training rows; the model's predictions
/// on its validation and test rows, which it did not learn from (on its own training rows
/// a forest is far more confident than on any new bar), calibrated as every prediction
/// is; and the null distributions of calibrated drift, from window-sized chunks of those
/// rows.
fn reference(
    table: &FeatureTable,
    prepared: &Prepared,
    model: &Model,
    calibration: Option<&Calibrator>,
    s: &Settings,
) -> Reference {
    let size = s.training.reference_sample as usize;
    let rows = &prepared.train.rows;
    let picked: Vec<usize> = if rows.len() <= size {
        rows.clone()
    } else {
        (0..size).map(|i| rows[i * rows.len() / size]).collect()
    };
    let sample =
        prepared.features.iter().map(|&f| picked.iter().map(|&r| table.columns[f][r]).collect()).collect();
    let columns: Vec<Vec<f64>> =
        prepared.features.iter().map(|&f| rows.iter().map(|&r| table.columns[f][r]).collect()).collect();
    let deciles: Vec<Vec<f64>> = columns.iter().map(|c| artifact::deciles(c)).collect();
    let unseen: Vec<usize> = prepared.validation.rows.iter().chain(&prepared.test.rows).copied().collect();
    let x = dataset::scaled_matrix(table, &unseen, &prepared.features, &prepared.scaling);
    let predictions = crate::artifact::calibrated(model, calibration, x.view());
    let positives = rows.iter().filter(|&&r| prepared.labels[r] == Some(1)).count();
    let chunked =
        |rows: &[usize], values: &[Vec<f64>], edges: &[Vec<f64>]| -> Option<Vec<calibration::Null>> {
            let span_days =
                (table.open_time[*rows.last()?] - table.open_time[*rows.first()?]) as f64 / 86_400_000.0;
            let (chunk, stride) = calibration::chunking(
                rows.len(),
                span_days,
                f64::from(s.drift.window_days),
                s.drift.min_chunks as usize,
            )?;
            Some(values.iter().zip(edges).map(|(v, e)| calibration::null(v, e, chunk, stride)).collect())
        };
    let prediction_edges = {
        let mut sorted = predictions.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        crate::drift::stats::bin_edges(&sorted)
    };
    let calibration = chunked(rows, &columns, &deciles).map(|features| Calibration {
        features,
        prediction: chunked(
            &unseen,
            std::slice::from_ref(&predictions),
            std::slice::from_ref(&prediction_edges),
        )
        .and_then(|mut nulls| nulls.pop()),
    });
    Reference {
        features: prepared.features.iter().map(|&f| table.names[f].clone()).collect(),
        training_rows: rows.len(),
        sample,
        deciles,
        predictions,
        label_rate: positives as f64 / rows.len().max(1) as f64,
        calibration,
    }
}

/// SHA-256 of the settings that shape a model of the family `model` (features, regimes,
/// label, training, evaluation threshold), as canonical JSON.
pub fn config_hash(s: &Settings, model: ModelKind) -> String {
    let mut training = serde_json::json!(s.training);
    // Without a window the hash is what it was before `window_days` existed, so that the
    // same settings keep naming the same models.
    if s.training.window_days.is_none()
        && let Some(fields) = training.as_object_mut()
    {
        fields.remove("window_days");
    }
    // Likewise the boosting grid, for the models of the families that do not read it.
    if model != ModelKind::GradientBoosting
        && let Some(search) = training.get_mut("search").and_then(|s| s.as_object_mut())
    {
        search.remove("boosting");
    }
    let shaping = serde_json::json!({
        "features": s.features,
        "regimes": s.regimes,
        "label": s.label,
        "training": training,
        "threshold": s.evaluation.threshold,
    });
    artifact::sha256_hex(shaping.to_string().as_bytes())
}

/// SHA-256 over every candle's open time and values, little-endian.
pub fn data_fingerprint(candles: &[Candle]) -> String {
    let mut hasher = Sha256::new();
    for c in candles {
        hasher.update(c.open_time.to_le_bytes());
        for v in c.values() {
            hasher.update(v.to_le_bytes());
        }
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
