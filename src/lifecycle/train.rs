//! Training and registration: candles to a written, checksummed artifact and a registered
//! candidate with its test evaluation. `train` and the jobs of `run` both come here.

use std::time::{Duration, Instant};

use crate::artifact::{self, Loaded, Manifest, Reference, SearchSummary};
use crate::candles::{Candle, Interval};
use crate::config::{ModelKind, Refresh, Regime, Resolved, Settings};
use crate::error::Failure;
use crate::evaluation::Record;
use crate::evaluation::backtest::{Rules, Trading};
use crate::evaluation::score;
use crate::failpoint;
use crate::kinds::{EvaluationKind, VersionStatus};
use crate::model::Model;
use crate::model::pipeline::{self, Base, Request, Trained};
use crate::store::{NewEvaluation, NewVersion, Store};
use crate::symbol::Symbol;

/// What to train.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub symbol: &'a Symbol,
    pub regime: Regime,
    pub interval: Interval,
    pub model: ModelKind,
    pub trials: u32,
    pub seed: u64,
    /// A full search, or an incremental refresh of the production version.
    pub refresh: Refresh,
}

/// A trained, written and registered candidate.
pub struct Registered {
    pub id: i64,
    pub version: i64,
    pub trained: Trained,
    pub sha256: String,
    /// The artifact's folder, relative to the models folder.
    pub relative: String,
    /// Time spent writing the artifact and the registry rows.
    pub writing: Duration,
    /// The test window's metrics as stored.
    pub record: Record,
}

/// Train on `candles`, write the artifact, register the candidate with its test
/// evaluation, created at `now`. `progress` hears (trials done, best score) during the
/// search. A refusal (too few rows, one class) is a [`Failure::Refused`].
pub fn train_and_register(
    resolved: &Resolved,
    store: &mut Store,
    candles: &[Candle],
    spec: &Spec,
    now: i64,
    progress: &mut dyn FnMut(usize, f64),
) -> anyhow::Result<Registered> {
    let (Spec { symbol, regime, interval, model, trials, seed, refresh }, settings) =
        (*spec, &resolved.settings);
    let base = match refresh {
        Refresh::Full => None,
        Refresh::Incremental => Some(production(resolved, store, symbol, regime)?),
    };
    let base_ref = base.as_ref().map(|b| {
        b.as_ref()
            .map(|(version, loaded)| Base {
                version: *version,
                manifest: &loaded.manifest,
                model: &loaded.model,
            })
            .map_err(Clone::clone)
    });
    let request = Request { candles, interval, regime, model, trials, seed, settings, base: base_ref };
    let trained = pipeline::train(&request, progress)
        .map_err(|refusal| Failure::Refused(format!("cannot train {symbol} {regime}: {refusal}")))?;

    let writing = Instant::now();
    let models = resolved.models()?;
    super::check::remove_dead_writes(store, &models, Some((symbol.as_str(), regime)))?;
    let version = store.reserve_version(symbol, regime)?;
    failpoint::hit("train:reserved");
    let written = write_and_register(resolved, store, &models, candles, spec, now, trained, version, writing);
    if written.is_err() {
        // Nothing of a version that failed stays behind; what cannot be removed now is
        // removed by the next train of the model, as a writer's that died.
        if models.remove_dir(&artifact::relative_dir(symbol, regime, version)).is_ok() {
            let _ = store.forget_pending(symbol, regime, version);
        }
    }
    written
}

/// The production version of (symbol, regime) with its artifact, for an incremental
/// refresh; or why there is none to refresh (the search runs instead).
fn production(
    resolved: &Resolved,
    store: &Store,
    symbol: &Symbol,
    regime: Regime,
) -> anyhow::Result<Result<(i64, Loaded), String>> {
    let versions = store.versions(symbol, Some(regime))?;
    let Some(live) = versions.iter().find(|v| v.status == VersionStatus::Production) else {
        return Ok(Err(format!("{symbol} {regime} has no production version to refresh: a full search")));
    };
    Ok(super::load_artifact(resolved, live)
        .map(|loaded| (live.version, loaded))
        .map_err(|e| format!("{e}: a full search")))
}

/// The part of [`train_and_register`] after the version number is reserved.
#[allow(clippy::too_many_arguments)]
fn write_and_register(
    resolved: &Resolved,
    store: &mut Store,
    models: &artifact::Models,
    candles: &[Candle],
    spec: &Spec,
    now: i64,
    trained: Trained,
    version: i64,
    writing: Instant,
) -> anyhow::Result<Registered> {
    let (Spec { symbol, regime, interval, model, seed, .. }, settings) = (*spec, &resolved.settings);
    let best = &trained.outcome.trials[trained.outcome.best];
    let mut manifest = Manifest {
        tool: concat!("retrain ", env!("CARGO_PKG_VERSION")).to_string(),
        symbol: symbol.clone(),
        regime,
        interval,
        version,
        model,
        features: trained.reference.features.clone(),
        scaling: trained.prepared.scaling.clone(),
        constant_features: trained.prepared.constant.clone(),
        hyperparameters: best.hyper,
        seed,
        search: SearchSummary {
            metric: settings.training.search.metric,
            trials: trained.outcome.trials.len(),
            best_validation_score: best.score,
        },
        feature_settings: settings.features.clone(),
        regime_settings: settings.regimes.clone(),
        label: settings.label.clone(),
        train: trained.train.clone(),
        validation: trained.validation.clone(),
        test: trained.test.clone(),
        noise_filter: settings.training.noise_filter.then_some(trained.prepared.noise),
        test_metrics: trained.test_metrics,
        importance: Some(trained.importance.clone()),
        calibration: trained.calibration.clone(),
        reliability: Some(trained.reliability.clone()),
        refreshed: trained.refreshed.clone(),
        config_hash: trained.config_hash.clone(),
        data_fingerprint: trained.data_fingerprint.clone(),
        files: Default::default(),
    };
    let sha256 = artifact::write(models, &mut manifest, trained.model(), &trained.reference)?;
    failpoint::hit("train:written");
    let relative = artifact::relative_dir(symbol, regime, version);
    let new = NewVersion {
        symbol: symbol.to_string(),
        regime,
        version,
        interval,
        model_kind: model,
        hyperparameters: serde_json::to_string(&best.hyper)?,
        seed,
        train: (trained.train.from, trained.train.to),
        validation: (trained.validation.from, trained.validation.to),
        test: (trained.test.from, trained.test.to),
        data_fingerprint: trained.data_fingerprint.clone(),
        config_hash: trained.config_hash.clone(),
        artifact_path: relative.clone(),
        sha256: sha256.clone(),
        created_at: now,
    };
    let trading = test_backtest(candles, &manifest, trained.model(), &trained.reference, settings, interval)?;
    let record = Record { classification: Some(trained.test_metrics), trading: Some(trading) };
    let evaluation = NewEvaluation {
        kind: EvaluationKind::Test,
        window: (trained.test.from, trained.test.to),
        rows: trained.test.rows,
        record,
    };
    let id = store.insert_version(&new, &evaluation)?;
    let writing = writing.elapsed();
    Ok(Registered { id, version, trained, sha256, relative, writing, record })
}

/// The version's trading metrics on its test window, as `evaluate` computes them.
fn test_backtest(
    candles: &[Candle],
    manifest: &Manifest,
    model: &Model,
    reference: &Reference,
    settings: &Settings,
    interval: Interval,
) -> anyhow::Result<Trading> {
    let loaded = Loaded { manifest: manifest.clone(), model: model.clone(), reference: reference.clone() };
    let view = score::view(candles, &loaded).map_err(|e| anyhow::anyhow!("{e}"))?;
    let times = &view.table.open_time;
    let window =
        times.partition_point(|&t| t < manifest.test.from)..times.partition_point(|&t| t <= manifest.test.to);
    let rules = Rules::from_settings(&settings.evaluation, interval);
    Ok(score::score(&view, window, &rules).trading)
}
