//! `retrain predict`: the latest stored candle through the production model of its
//! regime (or the canary's arm), recorded as a signal.

use serde_json::json;

use super::{existing_store, interval_or_default, load_artifact};
use crate::candles::time::{format_minute, format_rfc3339, now_millis};
use crate::cli::PredictArgs;
use crate::config::Resolved;
use crate::deploy::canary::{self, Arm};
use crate::error::{Failure, code};
use crate::evaluation::backtest::{self, Rules};
use crate::evaluation::score;
use crate::features;
use crate::store::NewSignal;

pub fn run(resolved: &Resolved, args: &PredictArgs) -> anyhow::Result<u8> {
    let settings = &resolved.settings;
    let interval = interval_or_default(resolved, args.interval.as_deref())?;
    let mut store = existing_store(resolved)?;
    let name = format!("{} {interval}", args.symbol);
    let candles = store.candles(&args.symbol, interval, None)?;
    let Some(last) = candles.last() else {
        return Err(Failure::Usage(format!("no candles of {name}: collect some first")).into());
    };
    let bar = last.open_time;
    let table = features::compute(&candles, &settings.features, &settings.regimes)?;
    let regime = table.regime[table.len() - 1].ok_or_else(|| {
        Failure::Refused(format!(
            "{name}: the regime of the latest bar ({}) is not defined yet: {} bars are not enough history",
            format_minute(bar),
            candles.len()
        ))
    })?;
    let versions = store.versions(&args.symbol, Some(regime))?;
    let production = versions.iter().find(|v| v.status == "production").ok_or_else(|| {
        Failure::Refused(format!(
            "{name}: the latest bar ({}) is {regime}, and {} {regime} has no production model: promote one",
            format_minute(bar),
            args.symbol
        ))
    })?;
    let test = store.running_test(&args.symbol, regime.as_str())?;
    let (version, arm) = match &test {
        Some(test) => {
            let arm = canary::route(&args.symbol, bar, test.traffic_split);
            let id = if arm == Arm::Challenger { test.challenger_id } else { test.champion_id };
            let version = versions
                .iter()
                .find(|v| v.id == id)
                .ok_or_else(|| anyhow::anyhow!("the canary test's version id {id} is not registered"))?;
            (version, Some((test.id, arm)))
        }
        None => (production, None),
    };
    if version.interval != interval.to_string() {
        return Err(Failure::Refused(format!(
            "{} {regime} v{} trades {} candles, not {interval}: predict with --interval {}",
            args.symbol, version.version, version.interval, version.interval
        ))
        .into());
    }
    let loaded = load_artifact(resolved, version)?;
    let view = score::view(&candles, &loaded).map_err(|e| anyhow::anyhow!("{e}"))?;
    let probability = view.predictions[view.predictions.len() - 1].ok_or_else(|| {
        Failure::Refused(format!(
            "{} {regime} v{} has no opinion on the latest bar ({}): its features are incomplete or its own \
             regime settings (from its manifest) put the bar in another regime",
            args.symbol,
            version.version,
            format_minute(bar)
        ))
    })?;
    let rules = Rules::from_settings(&settings.evaluation, interval);
    let position = backtest::position(Some(probability), &rules);
    let (id, probability, position, new) = store.insert_signal(&NewSignal {
        symbol: args.symbol.clone(),
        interval: interval.to_string(),
        regime: regime.to_string(),
        open_time: bar,
        version_id: version.id,
        ab_test: arm.map(|(test, arm)| (test, arm.as_str())),
        probability,
        position,
        entry_close: last.close,
        horizon_bars: loaded.manifest.label.horizon_bars as i64,
        cost_per_side: rules.cost_per_side,
        created_at: now_millis(),
    })?;
    // An earlier predict of the same bar recorded what it said then; that stands.
    let signal = match position {
        1 => "long",
        -1 => "short",
        _ => "flat",
    };
    let horizon = loaded.manifest.label.horizon_bars;
    if args.json {
        let doc = json!({
            "symbol": args.symbol,
            "interval": interval.to_string(),
            "bar": format_rfc3339(bar),
            "regime": regime,
            "version": version.version,
            "arm": arm.map(|(_, arm)| arm),
            "probability_up": probability,
            "threshold": rules.threshold,
            "signal": signal,
            "horizon_bars": horizon,
            "signal_id": id,
            "recorded": new,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{name} bar {}: regime {regime}, v{}{}, P(up) {probability:.4} (threshold {}): {signal}{}",
            format_minute(bar),
            version.version,
            arm.map_or(String::new(), |(_, arm)| format!(" ({} of the canary test)", arm.as_str())),
            rules.threshold,
            if new {
                format!("; recorded, resolved by `collect` once {horizon} later bars arrive")
            } else {
                "; already recorded for this bar".to_string()
            }
        );
    }
    Ok(code::OK)
}
