//! Training a (symbol, regime) model end to end, without I/O: features -> regime filter ->
//! labels -> time split with embargo -> search on validation (or an incremental refresh
//! of the production version) -> test metrics once -> everything the artifact holds.

use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::calibrate::{self, Calibrator, TestReliability};
use super::dataset::{self, Prepared};
use super::importance::{self, Importance};
use super::metrics::{self, Classification};
use super::search::{self, Outcome, Training, Trial, Validation};
use super::{Hyperparameters, Model, forest};
use crate::artifact::{self, Manifest, Reference, Window};
use crate::candles::{Candle, Interval};
use crate::config::{ModelKind, Regime, Settings};
use crate::drift::calibration::{self, Calibration};
use crate::features::{self, FeatureTable};
use crate::rng::SplitMix64;

/// What to train.
pub struct Request<'a> {
    pub candles: &'a [Candle],
    pub interval: Interval,
    pub regime: Regime,
    pub model: ModelKind,
    pub trials: u32,
    pub seed: u64,
    pub settings: &'a Settings,
    /// `training.refresh: incremental`: the production version to refresh, or why there is
    /// none to refresh (the search runs instead). `None`: a full search was asked for.
    pub base: Option<Result<Base<'a>, String>>,
}

/// The production version an incremental refresh starts from.
#[derive(Clone, Copy)]
pub struct Base<'a> {
    pub version: i64,
    pub manifest: &'a Manifest,
    pub model: &'a Model,
}

/// How an incrementally refreshed candidate was made, kept in its manifest.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Refreshed {
    /// The production version whose hyperparameters (and a forest's newer trees) it kept.
    pub from_version: i64,
    pub method: RefreshMethod,
    /// Trees of the base kept, the newest ones (0 for a refit).
    pub kept_trees: usize,
    /// Trees (or boosting rounds) fitted now.
    pub new_trees: usize,
    /// Training rows they were fitted on: for a forest, the ones after the base's training
    /// window; for a refit, the whole training window.
    pub rows: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshMethod {
    /// A forest's oldest `training.replace_share` of trees replaced by trees grown on the
    /// bars its base never learned from, with the base's features, scaling and hyperparameters.
    ReplaceOldest,
    /// A tree or a booster fitted afresh with the base's hyperparameters (forust-ml cannot
    /// continue boosting a fitted model).
    Refit,
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
    /// How an incremental refresh made the model; `None` when the search did.
    pub refreshed: Option<Refreshed>,
    /// Why an incremental refresh was asked for but the search ran instead.
    pub searched_because: Option<String>,
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
    let mut prepared =
        dataset::prepare(&table, request.regime, &s.label, &s.training, request.interval.millis())
            .map_err(Refusal)?;
    let features_time = started.elapsed();

    let started = Instant::now();
    let (plan, searched_because) = match &request.base {
        None => (Plan::Search, None),
        Some(Err(why)) => (Plan::Search, Some(why.clone())),
        Some(Ok(base)) => match plan(*base, &table, &mut prepared, request) {
            Ok(plan) => (plan, None),
            Err(why) => (Plan::Search, Some(why)),
        },
    };
    let x_validation = prepared.matrix(&table, &prepared.validation);
    let y_validation = prepared.targets(&prepared.validation);
    let forward: Vec<f64> = prepared.validation.rows.iter().map(|&r| prepared.forward_returns[r]).collect();
    let validation = Validation {
        x: x_validation.view(),
        y: &y_validation,
        forward_returns: &forward,
        metric: s.training.search.metric,
        threshold: s.evaluation.threshold,
        round_trip_cost: s.label.fee_bps / 1e4,
    };
    let train_part = || (prepared.matrix(&table, &prepared.train), prepared.targets(&prepared.train));
    let (outcome, refreshed) = match plan {
        Plan::Search => {
            let (x_train, y_train) = train_part();
            let training = Training::new(x_train.view(), &y_train, s.training.splits).map_err(Refusal)?;
            let candidates =
                search::candidates(&s.training.search, request.model, request.trials, request.seed);
            (search::run(&training, &validation, &candidates, request.seed, progress).map_err(Refusal)?, None)
        }
        Plan::Refit { version, hyper } => {
            let (x_train, y_train) = train_part();
            let training = Training::new(x_train.view(), &y_train, s.training.splits).map_err(Refusal)?;
            let outcome =
                search::run(&training, &validation, &[hyper], request.seed, progress).map_err(Refusal)?;
            let new_trees = match hyper {
                Hyperparameters::Forest(h) => h.n_trees as usize,
                Hyperparameters::Boosting(h) => h.iterations as usize,
            };
            let refreshed = Refreshed {
                from_version: version,
                method: RefreshMethod::Refit,
                kept_trees: 0,
                new_trees,
                rows: prepared.train.rows.len(),
            };
            (outcome, Some(refreshed))
        }
        Plan::ReplaceOldest { version, old, hyper, rows, replace } => {
            let x_new = dataset::scaled_matrix(&table, &rows, &prepared.features, &prepared.scaling);
            let y_new: Vec<u8> = rows.iter().map(|&r| prepared.labels[r].unwrap_or(0)).collect();
            let training = Training::new(x_new.view(), &y_new, s.training.splits).map_err(Refusal)?;
            // A stream of its own per base version, so that successive refreshes of one
            // model do not grow their trees from the same seeds.
            let seed = SplitMix64::stream(request.seed, 0x2EF2_E500 ^ version as u64).next_u64();
            let new = training.fit_forest(&forest::Hyper { n_trees: replace as u32, ..hyper }, seed);
            // Trees are kept oldest first: the base's newest trees, then the new ones.
            let trees = old.trees[replace..].iter().cloned().chain(new.trees).collect();
            let model = Model::Forest(forest::Forest { trees });
            let score = search::score(&model.predict(x_validation.view()), &validation);
            progress(1, score);
            let refreshed = Refreshed {
                from_version: version,
                method: RefreshMethod::ReplaceOldest,
                kept_trees: old.trees.len() - replace,
                new_trees: replace,
                rows: rows.len(),
            };
            let trial = Trial { hyper: Hyperparameters::Forest(hyper), score };
            (Outcome { trials: vec![trial], best: 0, model }, Some(refreshed))
        }
    };
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
        refreshed,
        searched_because,
    })
}

/// How the candidate's model is made.
enum Plan<'a> {
    /// The seeded search over the configured grid.
    Search,
    /// A tree or a booster of base `version` refitted with its hyperparameters.
    Refit { version: i64, hyper: Hyperparameters },
    /// The oldest `replace` trees of the forest `old` of base `version` replaced by trees
    /// grown on `rows` with its hyperparameters.
    ReplaceOldest {
        version: i64,
        old: &'a forest::Forest,
        hyper: forest::Hyper,
        rows: Vec<usize>,
        replace: usize,
    },
}

/// The refresh of `base` this data allows, or why the search must run instead. A forest
/// keeps the base's features and scaling (its kept trees split on them), so `prepared`
/// takes them.
fn plan<'a>(
    base: Base<'a>,
    table: &FeatureTable,
    prepared: &mut Prepared,
    request: &Request,
) -> Result<Plan<'a>, String> {
    let s = request.settings;
    let (manifest, v) = (base.manifest, base.version);
    if manifest.model != request.model {
        return Err(format!(
            "production v{v} is a {}, not a {}: a full search",
            manifest.model.as_str(),
            request.model.as_str()
        ));
    }
    if manifest.interval != request.interval {
        return Err(format!(
            "production v{v} learned from {} candles, not {}: a full search",
            manifest.interval, request.interval
        ));
    }
    if manifest.config_hash != config_hash(s, request.model) {
        return Err(format!(
            "the features, label or training settings changed since production v{v} was trained: a full search"
        ));
    }
    let refit = Plan::Refit { version: v, hyper: manifest.hyperparameters };
    let (Model::Forest(old), Hyperparameters::Forest(hyper)) = (base.model, manifest.hyperparameters) else {
        return Ok(refit);
    };
    if !hyper.bootstrap || old.trees.len() < 2 {
        return Ok(refit);
    }
    let features = manifest
        .features
        .iter()
        .map(|name| table.names.iter().position(|n| n == name))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
            format!("production v{v} reads a feature this config does not compute: a full search")
        })?;
    let rows: Vec<usize> =
        prepared.train.rows.iter().copied().filter(|&r| table.open_time[r] > manifest.train.to).collect();
    let min = s.training.min_rows_per_part as usize;
    if rows.len() < min {
        return Err(format!(
            "only {} training rows are newer than production v{v}'s training window, fewer than \
             training.min_rows_per_part {min}: a full search",
            rows.len()
        ));
    }
    prepared.features = features;
    prepared.scaling = manifest.scaling.clone();
    prepared.constant = manifest.constant_features.clone();
    let n = old.trees.len();
    let replace = ((s.training.replace_share * n as f64).round() as usize).clamp(1, n);
    Ok(Plan::ReplaceOldest { version: v, old, hyper, rows, replace })
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
/// label, training, evaluation threshold), as canonical JSON. How a retrain is made
/// (`refresh`, `replace_share`) is not part of it: a refreshed model is of the same
/// config as its base, and the hashes stay what they were before refreshes existed.
pub fn config_hash(s: &Settings, model: ModelKind) -> String {
    let mut training = serde_json::json!(s.training);
    if let Some(fields) = training.as_object_mut() {
        fields.remove("refresh");
        fields.remove("replace_share");
    }
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
