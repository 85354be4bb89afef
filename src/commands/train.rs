//! `retrain train`: one (symbol, regime) model, from stored candles to a registered candidate.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::{existing_store, interval_or_default, parse_regime};
use crate::artifact::{self, Loaded, Manifest, Reference, SearchSummary, Window};
use crate::candles::time::{format_minute, format_rfc3339, now_millis};
use crate::candles::{Candle, Interval};
use crate::cli::{ModelArg, TrainArgs};
use crate::config::{ModelKind, Regime, Resolved, Settings};
use crate::error::{Failure, code};
use crate::evaluation::Record;
use crate::evaluation::backtest::{Rules, Trading};
use crate::evaluation::score;
use crate::failpoint;
use crate::model::forest::Forest;
use crate::model::pipeline::{self, Request, Trained};
use crate::output::stderr_is_terminal;
use crate::store::{NewEvaluation, NewVersion, Store};

pub fn run(resolved: &Resolved, args: &TrainArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let settings = &resolved.settings;
    let regime = parse_regime(&args.regime)?;
    let interval = interval_or_default(resolved, args.interval.as_deref())?;
    let model = match args.model {
        Some(ModelArg::DecisionTree) => ModelKind::DecisionTree,
        Some(ModelArg::RandomForest) => ModelKind::RandomForest,
        None => settings.training.model,
    };
    let trials = args.trials.unwrap_or(settings.training.search.max_trials);
    if trials == 0 {
        return Err(Failure::Usage("--trials: expected at least 1".into()).into());
    }
    let seed = args.seed.unwrap_or(settings.training.seed);

    let mut store = existing_store(resolved)?;
    let candles = store.candles(&args.symbol, interval, None)?;
    if candles.is_empty() {
        return Err(Failure::Usage(format!(
            "no {interval} candles of {} are stored: collect them first (retrain collect --symbol {} --interval {interval} ...)",
            args.symbol, args.symbol
        ))
        .into());
    }

    let spec = Spec { symbol: &args.symbol, regime, interval, model, trials, seed };
    let done = train_and_register(resolved, &mut store, &candles, &spec, true)?;
    let Registered { version, trained, sha256, writing, record, relative, .. } = &done;
    let (version, sha256, writing) = (*version, sha256.clone(), *writing);
    let best = &trained.outcome.trials[trained.outcome.best];

    let path = resolved.models_dir().join(relative);
    if args.json {
        let report = json!({
            "symbol": args.symbol,
            "regime": regime,
            "version": version,
            "interval": interval.to_string(),
            "model": model,
            "status": "candidate",
            "rows": {"train": trained.train.rows, "validation": trained.validation.rows, "test": trained.test.rows},
            "windows": {"train": window_json(&trained.train), "validation": window_json(&trained.validation), "test": window_json(&trained.test)},
            "noise_filter": settings.training.noise_filter.then_some(trained.prepared.noise),
            "constant_features": trained.prepared.constant,
            "search": {"metric": settings.training.search.metric, "trials": trained.outcome.trials, "best": trained.outcome.best},
            "hyperparameters": best.hyper,
            "test_metrics": trained.test_metrics,
            "test_trading": record.trading,
            "artifact": path.display().to_string(),
            "sha256": sha256,
            "seconds": {
                "features": trained.timings.features.as_secs_f64(),
                "search": trained.timings.search.as_secs_f64(),
                "writing": writing.as_secs_f64(),
                "total": started.elapsed().as_secs_f64(),
            },
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let metric = settings.training.search.metric.as_str();
        print_report(
            &args.symbol,
            version,
            model,
            interval.to_string(),
            metric,
            trained,
            &path,
            &sha256,
            started,
            writing,
        );
    }
    Ok(code::OK)
}

/// What to train.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub symbol: &'a str,
    pub regime: Regime,
    pub interval: Interval,
    pub model: ModelKind,
    pub trials: u32,
    pub seed: u64,
}

/// A trained, written and registered candidate.
pub struct Registered {
    pub version: i64,
    pub trained: Trained,
    pub sha256: String,
    pub relative: std::path::PathBuf,
    pub writing: std::time::Duration,
    pub record: Record,
}

/// Train on `candles`, write the artifact, register the candidate with its test
/// evaluation. A refusal (too few rows, one class) is a [`Failure::Refused`].
pub fn train_and_register(
    resolved: &Resolved,
    store: &mut Store,
    candles: &[Candle],
    spec: &Spec,
    progress: bool,
) -> anyhow::Result<Registered> {
    let (Spec { regime, interval, model, trials, seed, .. }, settings) = (*spec, &resolved.settings);
    let bar = if progress { trial_bar(trials) } else { ProgressBar::hidden() };
    let request = Request { candles, interval, regime, model, trials, seed, settings };
    let trained = pipeline::train(&request, &mut |done, best| {
        bar.set_position(done as u64);
        bar.set_message(format!("best {best:.4}"));
    })
    .map_err(|refusal| Failure::Refused(format!("cannot train {} {regime}: {refusal}", spec.symbol)))?;
    bar.finish_and_clear();

    let writing = Instant::now();
    let models_dir = resolved.models_dir();
    artifact::remove_leftovers(&models_dir, spec.symbol, regime);
    let version = store.reserve_version(spec.symbol, regime)?;
    failpoint::hit("train:reserved");
    let best = &trained.outcome.trials[trained.outcome.best];
    let mut manifest = Manifest {
        tool: concat!("retrain ", env!("CARGO_PKG_VERSION")).to_string(),
        symbol: spec.symbol.to_string(),
        regime,
        interval: interval.to_string(),
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
        config_hash: trained.config_hash.clone(),
        data_fingerprint: trained.data_fingerprint.clone(),
        files: Default::default(),
    };
    let sha256 = artifact::write(&models_dir, &mut manifest, trained.forest(), &trained.reference)?;
    failpoint::hit("train:written");
    let relative = artifact::relative_dir(spec.symbol, regime, version);
    let new = NewVersion {
        symbol: spec.symbol.to_string(),
        regime,
        version,
        interval: interval.to_string(),
        model_kind: model_name(model).into(),
        hyperparameters: serde_json::to_string(&best.hyper)?,
        seed,
        train: (trained.train.from, trained.train.to),
        validation: (trained.validation.from, trained.validation.to),
        test: (trained.test.from, trained.test.to),
        data_fingerprint: trained.data_fingerprint.clone(),
        config_hash: trained.config_hash.clone(),
        artifact_path: relative.to_string_lossy().into_owned(),
        sha256: sha256.clone(),
        created_at: now_millis(),
    };
    let trading =
        test_backtest(candles, &manifest, trained.forest(), &trained.reference, settings, interval)?;
    let record = Record { classification: Some(trained.test_metrics), trading: Some(trading) };
    let evaluation = NewEvaluation {
        kind: "test".into(),
        window: (trained.test.from, trained.test.to),
        rows: trained.test.rows,
        metrics: serde_json::to_string(&record)?,
    };
    store.insert_version(&new, &evaluation)?;
    let writing = writing.elapsed();
    Ok(Registered { version, trained, sha256, relative, writing, record })
}

/// The version's trading metrics on its test window, as `evaluate` computes them.
fn test_backtest(
    candles: &[Candle],
    manifest: &Manifest,
    forest: &Forest,
    reference: &Reference,
    settings: &Settings,
    interval: Interval,
) -> anyhow::Result<Trading> {
    let loaded = Loaded { manifest: manifest.clone(), forest: forest.clone(), reference: reference.clone() };
    let view = score::view(candles, &loaded).map_err(|e| anyhow::anyhow!("{e}"))?;
    let times = &view.table.open_time;
    let window =
        times.partition_point(|&t| t < manifest.test.from)..times.partition_point(|&t| t <= manifest.test.to);
    let rules = Rules::from_settings(&settings.evaluation, interval);
    Ok(score::score(&view, window, &rules).trading)
}

fn window_json(w: &Window) -> serde_json::Value {
    json!({"from": format_rfc3339(w.from), "to": format_rfc3339(w.to), "rows": w.rows, "positive_rate": w.positive_rate})
}

pub fn model_name(model: ModelKind) -> &'static str {
    match model {
        ModelKind::DecisionTree => "decision-tree",
        ModelKind::RandomForest => "random-forest",
    }
}

fn trial_bar(trials: u32) -> ProgressBar {
    if !stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(u64::from(trials)), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("search {bar:30} {pos}/{len} trials, {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    symbol: &str,
    version: i64,
    model: ModelKind,
    interval: String,
    metric: &str,
    t: &Trained,
    path: &std::path::Path,
    sha256: &str,
    started: Instant,
    writing: std::time::Duration,
) {
    let p = &t.prepared;
    let best = &t.outcome.trials[t.outcome.best];
    let m = &t.test_metrics;
    let span = |w: &Window| format!("{} .. {}", format_minute(w.from), format_minute(w.to));
    println!(
        "trained {symbol} {} v{version} ({}, {interval}) in {:.1} s: candidate",
        p.regime,
        model_name(model),
        started.elapsed().as_secs_f64()
    );
    let noise = if p.noise.outliers + p.noise.near_gaps > 0 {
        format!(
            " (noise filter left out {}: {} outliers, {} near gaps)",
            p.noise.outliers + p.noise.near_gaps,
            p.noise.outliers,
            p.noise.near_gaps
        )
    } else {
        String::new()
    };
    println!(
        "  rows      train {}{noise}, validation {}, test {}",
        t.train.rows, t.validation.rows, t.test.rows
    );
    println!("  train     {}  ({:.1}% up)", span(&t.train), 100.0 * t.train.positive_rate);
    println!("  validate  {}", span(&t.validation));
    println!("  test      {}", span(&t.test));
    if !p.constant.is_empty() {
        println!("  left out  constant on the training rows: {}", p.constant.join(", "));
    }
    let h = best.hyper;
    println!(
        "  search    {} trials, validation {metric}: best {:.4} with max_depth {}, min_samples_leaf {}, n_trees {}, feature_fraction {}",
        t.outcome.trials.len(),
        best.score,
        h.max_depth,
        h.min_samples_leaf,
        h.n_trees,
        h.feature_fraction
    );
    let auc = m.roc_auc.map_or("undefined".to_string(), |a| format!("{a:.4}"));
    println!(
        "  test      accuracy {:.4}  precision {:.4}  recall {:.4}  f1 {:.4}  auc {auc}  log loss {:.4}  brier {:.4}  ({:.1}% up)",
        m.accuracy,
        m.precision,
        m.recall,
        m.f1,
        m.log_loss,
        m.brier,
        100.0 * m.positive_rate
    );
    println!("  artifact  {} (manifest sha256 {})", path.display(), &sha256[..16]);
    println!(
        "  time      features {:.2} s, search {:.2} s, writing {:.2} s",
        t.timings.features.as_secs_f64(),
        t.timings.search.as_secs_f64(),
        writing.as_secs_f64()
    );
}
