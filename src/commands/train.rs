//! `retrain train`: one (symbol, regime) model, from stored candles to a registered candidate.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::existing_store;
use crate::artifact::Window;
use crate::candles::time::{format_minute, format_rfc3339, wall_millis};
use crate::cli::TrainArgs;
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::lifecycle::train::{Registered, Spec, train_and_register};
use crate::model::pipeline::{RefreshMethod, Refreshed};
use crate::output::stderr_is_terminal;

pub fn run(resolved: &Resolved, args: &TrainArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let settings = &resolved.settings;
    let (symbol, regime) = (&args.symbol, args.regime);
    let interval = args.interval.unwrap_or(settings.data.interval);
    let model = args.model.unwrap_or(settings.training.model);
    let trials = args.trials.unwrap_or(settings.training.search.max_trials);
    if trials == 0 {
        return Err(Failure::Usage("--trials: expected at least 1".into()).into());
    }
    let seed = args.seed.unwrap_or(settings.training.seed);
    let refresh = args.refresh.unwrap_or(settings.training.refresh);

    let mut store = existing_store(resolved)?;
    let candles = store.candles(symbol, interval, None)?;
    if candles.is_empty() {
        return Err(Failure::Usage(format!(
            "no {interval} candles of {symbol} are stored: collect them first (retrain collect --symbol {symbol} --interval {interval} ...)"
        ))
        .into());
    }

    let spec = Spec { symbol, regime, interval, model, trials, seed, refresh };
    let bar = trial_bar(trials);
    let done =
        train_and_register(resolved, &mut store, &candles, &spec, wall_millis(), &mut |done, best| {
            bar.set_position(done as u64);
            bar.set_message(format!("best {best:.4}"));
        })?;
    bar.finish_and_clear();
    let Registered { version, trained, sha256, writing, record, relative, .. } = &done;
    let best = &trained.outcome.trials[trained.outcome.best];
    let path = resolved.models()?.locate(relative);
    if args.json {
        let report = json!({
            "symbol": symbol,
            "regime": regime,
            "version": version,
            "interval": interval,
            "model": model,
            "status": "candidate",
            "rows": {"train": trained.train.rows, "validation": trained.validation.rows, "test": trained.test.rows},
            "windows": {"train": window_json(&trained.train), "validation": window_json(&trained.validation), "test": window_json(&trained.test)},
            "noise_filter": settings.training.noise_filter.then_some(trained.prepared.noise),
            "constant_features": trained.prepared.constant,
            "search": {"metric": settings.training.search.metric, "trials": trained.outcome.trials, "best": trained.outcome.best},
            "refresh": {"asked": refresh, "refreshed": trained.refreshed, "searched_because": trained.searched_because},
            "hyperparameters": best.hyper,
            "test_metrics": trained.test_metrics,
            "test_trading": record.trading,
            "artifact": path,
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
        print_report(&done, &spec, settings.training.search.metric.as_str(), &path, started);
    }
    Ok(code::OK)
}

/// "incremental from v3: the oldest 25 of 100 trees replaced by trees grown on the 812
/// training rows newer than v3's".
fn refreshed_line(r: &Refreshed) -> String {
    let v = r.from_version;
    match r.method {
        RefreshMethod::ReplaceOldest => format!(
            "incremental from v{v}: the oldest {} of {} trees replaced by trees grown on the {} training rows newer \
             than v{v}'s",
            r.new_trees,
            r.new_trees + r.kept_trees,
            r.rows
        ),
        RefreshMethod::Refit => {
            format!("incremental from v{v}: refitted on {} training rows with v{v}'s hyperparameters", r.rows)
        }
    }
}

fn window_json(w: &Window) -> serde_json::Value {
    json!({"from": format_rfc3339(w.from), "to": format_rfc3339(w.to), "rows": w.rows, "positive_rate": w.positive_rate})
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

fn print_report(done: &Registered, spec: &Spec, metric: &str, path: &str, started: Instant) {
    let Registered { version, trained: t, sha256, writing, .. } = done;
    let Spec { symbol, model, interval, .. } = *spec;
    let p = &t.prepared;
    let best = &t.outcome.trials[t.outcome.best];
    let m = &t.test_metrics;
    let span = |w: &Window| format!("{} .. {}", format_minute(w.from), format_minute(w.to));
    println!(
        "trained {symbol} {} v{version} ({}, {interval}) in {:.1} s: candidate",
        p.regime,
        model.as_str(),
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
    match &t.refreshed {
        Some(r) => println!(
            "  refresh   {}; validation {metric} {:.4} with {}",
            refreshed_line(r),
            best.score,
            best.hyper
        ),
        None => {
            if let Some(why) = &t.searched_because {
                println!("  refresh   not incremental: {why}");
            }
            println!(
                "  search    {} trials, validation {metric}: best {:.4} with {}",
                t.outcome.trials.len(),
                best.score,
                best.hyper
            );
        }
    }
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
    println!("  artifact  {path} (manifest sha256 {})", &sha256[..16]);
    println!(
        "  time      features {:.2} s, search {:.2} s, writing {:.2} s",
        t.timings.features.as_secs_f64(),
        t.timings.search.as_secs_f64(),
        writing.as_secs_f64()
    );
}
