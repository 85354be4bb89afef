//! Live signals and what they decide: a prediction of the latest bar recorded as a
//! signal, its resolution once later candles arrive, the end of a canary test, and the
//! rollback of a fresh promotion that degrades.

use serde_json::json;

use super::load_artifact;
use crate::candles::time::format_minute;
use crate::candles::{Candle, Interval};
use crate::config::{Regime, Resolved, Severity};
use crate::deploy::canary::{self, Arm, Decision};
use crate::deploy::signals;
use crate::error::Failure;
use crate::evaluation::backtest::{self, Rules};
use crate::evaluation::score;
use crate::features;
use crate::kinds::{AlertKind, DeploymentAction, VersionStatus};
use crate::store::{AbTest, CanaryEnd, Change, NewAlert, NewSignal, Store, StoredSignal, VersionRow};
use crate::symbol::Symbol;

const HOUR_MS: f64 = 3_600_000.0;

/// The latest bar of a series through the production model of its regime (or the arm of
/// the running canary test that the bar routes to), recorded as a signal.
pub struct Prediction {
    pub bar: i64,
    pub regime: Regime,
    pub version: i64,
    /// The canary arm that served it, during a test.
    pub arm: Option<Arm>,
    pub rules: Rules,
    pub horizon_bars: u32,
    /// The signal as stored: an earlier predict of the same bar stands.
    pub signal: StoredSignal,
}

/// Predict the latest stored candle of `symbol` at `interval` and record the signal at `now`.
pub fn predict(
    resolved: &Resolved,
    store: &mut Store,
    symbol: &Symbol,
    interval: Interval,
    now: i64,
) -> anyhow::Result<Prediction> {
    let settings = &resolved.settings;
    let name = format!("{symbol} {interval}");
    let candles = store.candles(symbol, interval, None)?;
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
    let versions = store.versions(symbol, Some(regime))?;
    let production = versions.iter().find(|v| v.status == VersionStatus::Production).ok_or_else(|| {
        Failure::Refused(format!(
            "{name}: the latest bar ({}) is {regime}, and {symbol} {regime} has no production model: promote one",
            format_minute(bar)
        ))
    })?;
    let (version, arm) = match store.running_test(symbol, regime)? {
        Some(test) => {
            let arm = canary::route(symbol, bar, test.traffic_split);
            let id = if arm == Arm::Challenger { test.challenger_id } else { test.champion_id };
            (version_by_id(&versions, id)?, Some((test.id, arm)))
        }
        None => (production, None),
    };
    if version.interval != interval {
        return Err(Failure::Refused(format!(
            "{symbol} {regime} v{} trades {} candles, not {interval}: predict with --interval {}",
            version.version, version.interval, version.interval
        ))
        .into());
    }
    let loaded = load_artifact(resolved, version)?;
    let view = score::view(&candles, &loaded).map_err(|e| anyhow::anyhow!("{e}"))?;
    let probability = view.predictions[view.predictions.len() - 1].ok_or_else(|| {
        Failure::Refused(format!(
            "{symbol} {regime} v{} has no opinion on the latest bar ({}): its features are incomplete or its own \
             regime settings (from its manifest) put the bar in another regime",
            version.version,
            format_minute(bar)
        ))
    })?;
    let rules = Rules::from_settings(&settings.evaluation, interval);
    let horizon_bars = loaded.manifest.label.horizon_bars;
    let signal = record(
        store,
        symbol,
        interval,
        regime,
        last,
        (version.id, arm),
        probability,
        &rules,
        horizon_bars,
        now,
    )?;
    Ok(Prediction {
        bar,
        regime,
        version: version.version,
        arm: arm.map(|(_, a)| a),
        rules,
        horizon_bars,
        signal,
    })
}

/// Record the signal of bar `bar` served by `(version id, canary arm)` with P(up) `probability`.
#[allow(clippy::too_many_arguments)]
fn record(
    store: &mut Store,
    symbol: &Symbol,
    interval: Interval,
    regime: Regime,
    bar: &Candle,
    (version_id, arm): (i64, Option<(i64, Arm)>),
    probability: f64,
    rules: &Rules,
    horizon_bars: u32,
    now: i64,
) -> anyhow::Result<StoredSignal> {
    store.insert_signal(&NewSignal {
        symbol: symbol.to_string(),
        interval,
        regime,
        open_time: bar.open_time,
        version_id,
        ab_test: arm,
        probability,
        position: backtest::position(Some(probability), rules),
        entry_close: bar.close,
        horizon_bars: i64::from(horizon_bars),
        cost_per_side: rules.cost_per_side,
        created_at: now,
    })
}

/// A bar to serve: its row, the version that serves it, and the canary arm if a test runs.
struct Route {
    row: usize,
    version: i64,
    arm: Option<(i64, Arm)>,
    regime: Regime,
}

/// Serve every stored bar of a series that opened after `after`, each as `predict` serves
/// the latest bar when it closes: routed by its regime to the production version (or the
/// arm of the running canary test), and recorded as a signal stamped with its close. A
/// bar without a regime yet, a production model or an opinion gets no signal (it trades
/// flat). A replay calls this once per tick for the bars that closed since the last one,
/// before the tick's run changes what is live. Returns how many signals were recorded.
pub fn serve_closed_bars(
    resolved: &Resolved,
    store: &mut Store,
    symbol: &Symbol,
    interval: Interval,
    after: i64,
) -> anyhow::Result<usize> {
    let settings = &resolved.settings;
    let candles = store.candles(symbol, interval, None)?;
    let first = candles.partition_point(|c| c.open_time <= after);
    if first == candles.len() {
        return Ok(0);
    }
    let table = features::compute(&candles, &settings.features, &settings.regimes)?;
    // Which version serves each new bar, by its regime.
    let mut routes: Vec<Route> = Vec::new();
    let mut live: std::collections::BTreeMap<Regime, Option<(i64, Option<AbTest>)>> = Default::default();
    for (row, bar) in candles.iter().enumerate().skip(first) {
        let Some(regime) = table.regime[row] else { continue };
        let serving = match live.entry(regime) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let production = store
                    .active_versions(symbol, regime)?
                    .into_iter()
                    .find(|v| v.status == VersionStatus::Production && v.interval == interval)
                    .map(|v| v.id);
                let test = store.running_test(symbol, regime)?;
                e.insert(production.map(|id| (id, test)))
            }
        };
        let Some((production, test)) = serving else { continue };
        let (version, arm) = match test {
            Some(test) => {
                let arm = canary::route(symbol, bar.open_time, test.traffic_split);
                let id = if arm == Arm::Challenger { test.challenger_id } else { test.champion_id };
                (id, Some((test.id, arm)))
            }
            None => (*production, None),
        };
        routes.push(Route { row, version, arm, regime });
    }
    let rules = Rules::from_settings(&settings.evaluation, interval);
    let mut ids: Vec<i64> = routes.iter().map(|r| r.version).collect();
    ids.sort_unstable();
    ids.dedup();
    let versions = store.versions(symbol, None)?;
    let mut recorded = 0;
    for id in ids {
        let loaded = load_artifact(resolved, version_by_id(&versions, id)?)?;
        let m = &loaded.manifest;
        let own;
        let version_table =
            if m.feature_settings == settings.features && m.regime_settings == settings.regimes {
                &table
            } else {
                own = features::compute(&candles, &m.feature_settings, &m.regime_settings)?;
                &own
            };
        let served: Vec<&Route> = routes.iter().filter(|r| r.version == id).collect();
        let rows: Vec<usize> = served.iter().map(|r| r.row).collect();
        let probabilities =
            score::predict_rows(version_table, &loaded, &rows).map_err(|e| anyhow::anyhow!(e))?;
        for (route, probability) in served.iter().zip(probabilities) {
            let Some(probability) = probability else { continue };
            let bar = &candles[route.row];
            let closed = bar.open_time + interval.millis();
            record(
                store,
                symbol,
                interval,
                route.regime,
                bar,
                (id, route.arm),
                probability,
                &rules,
                m.label.horizon_bars,
                closed,
            )?;
            recorded += 1;
        }
    }
    Ok(recorded)
}

/// Signals of a series resolved at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalsResolved {
    pub signals: usize,
    /// Trades among them that won.
    pub wins: usize,
}

/// Resolve, at `now`, the signals of a series whose horizon has passed.
pub fn resolve_signals(
    store: &mut Store,
    symbol: &str,
    interval: Interval,
    now: i64,
) -> anyhow::Result<SignalsResolved> {
    let pending = store.pending_signals(symbol, interval)?;
    let Some(first) = pending.first() else { return Ok(SignalsResolved::default()) };
    let closes: Vec<(i64, f64)> = store
        .candles(symbol, interval, Some(first.open_time))?
        .iter()
        .map(|c| (c.open_time, c.close))
        .collect();
    let resolved = signals::resolve(&pending, &closes, interval.millis());
    store.resolve_signals(&resolved, now)?;
    Ok(SignalsResolved {
        signals: resolved.len(),
        wins: resolved.iter().filter(|r| r.win == Some(true)).count(),
    })
}

fn version_by_id(versions: &[VersionRow], id: i64) -> anyhow::Result<&VersionRow> {
    versions
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| anyhow::anyhow!("model version id {id} is not registered"))
}

/// A running canary test's standing, and its end when it ended.
pub struct CanaryStanding {
    pub test: AbTest,
    pub champion_version: i64,
    pub challenger_version: i64,
    pub decision: Decision,
    pub end: Option<CanaryEnd>,
}

/// The running canary test's standing; ended (and recorded as by `actor` at `now`) once
/// both arms have enough resolved signals. `None` when no test runs.
pub fn decide_canary(
    resolved: &Resolved,
    store: &mut Store,
    symbol: &str,
    regime: Regime,
    actor: &str,
    now: i64,
) -> anyhow::Result<Option<CanaryStanding>> {
    let Some(test) = store.running_test(symbol, regime)? else { return Ok(None) };
    let c = &resolved.settings.deployment.canary;
    let champion = store.outcomes(test.champion_id, test.started_at, Some(test.id))?;
    let challenger = store.outcomes(test.challenger_id, test.started_at, Some(test.id))?;
    let mut decision = canary::decide(&champion, &challenger, c.min_signals as usize, c.min_confidence);
    let versions = store.versions(symbol, Some(regime))?;
    let champion_version = version_by_id(&versions, test.champion_id)?.version;
    let challenger_version = version_by_id(&versions, test.challenger_id)?.version;
    if !decision.complete {
        return Ok(Some(CanaryStanding { test, champion_version, challenger_version, decision, end: None }));
    }
    let mut end = if decision.promote { CanaryEnd::Promoted } else { CanaryEnd::Kept };
    if end == CanaryEnd::Promoted {
        // A damaged challenger never goes live, whatever its signals said.
        if let Err(damaged) = load_artifact(resolved, version_by_id(&versions, test.challenger_id)?) {
            end = CanaryEnd::Kept;
            decision.promote = false;
            decision.reason = format!("{damaged}; the champion stays ({})", decision.reason);
        }
    }
    let change = Change {
        symbol: symbol.to_string(),
        regime,
        reason: decision.reason.clone(),
        gates: None,
        forced: false,
        actor: actor.to_string(),
        at: now,
    };
    store.end_canary(&test, end, &serde_json::to_value(&decision)?, &change)?;
    Ok(Some(CanaryStanding { test, champion_version, challenger_version, decision, end: Some(end) }))
}

/// Roll back, as `actor` at `now`, every model of `symbol` whose promotion is younger than
/// `deployment.watch_hours` and whose live win rate fell past `triggers.performance_decay`
/// against the version it replaced, significantly (`deployment.canary.min_confidence`).
/// Returns what was done, one line each.
pub fn watch(
    resolved: &Resolved,
    store: &mut Store,
    symbol: &str,
    actor: &str,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let settings = &resolved.settings;
    if !settings.deployment.rollback_on_degradation {
        return Ok(Vec::new());
    }
    let mut done = Vec::new();
    for regime in Regime::ALL {
        let rows = store.deployments(Some(symbol), Some(regime))?;
        // The last row that changed production; canary rows that kept it do not count.
        let Some(last) = rows.iter().rev().find(|d| d.from_version != d.to_version) else { continue };
        let (Some(from), Some(to)) = (last.from_version, last.to_version) else { continue };
        if last.action == DeploymentAction::Rollback
            || (now - last.created_at) as f64 > settings.deployment.watch_hours * HOUR_MS
        {
            continue;
        }
        let versions = store.versions(symbol, Some(regime))?;
        let (Some(new), Some(old)) =
            (versions.iter().find(|v| v.version == to), versions.iter().find(|v| v.version == from))
        else {
            continue;
        };
        if new.status != VersionStatus::Production {
            continue;
        }
        let live = store.outcomes(new.id, last.created_at, None)?;
        let before = store.outcomes(old.id, i64::MIN, None)?;
        let Some(d) = signals::live_degradation(
            &live,
            &before,
            settings.triggers.min_signals as usize,
            settings.triggers.performance_decay,
            settings.deployment.canary.min_confidence,
        ) else {
            continue;
        };
        if !d.degraded {
            continue;
        }
        let percent = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}%", 100.0 * r));
        let why = format!(
            "live win rate {} over {} trades since its promotion against {} over {} trades of v{from}, a {:.0}% drop \
             (more than triggers.performance_decay {:.0}%) at confidence {:.3}",
            percent(d.new.win_rate),
            d.new.trades,
            percent(d.replaced.win_rate),
            d.replaced.trades,
            100.0 * d.relative_drop,
            100.0 * d.threshold,
            d.confidence
        );
        let (message, rolled_back) = match load_artifact(resolved, old) {
            Ok(_) => {
                let change = Change {
                    symbol: symbol.to_string(),
                    regime,
                    reason: format!("automatic rollback: {why}"),
                    gates: None,
                    forced: false,
                    actor: actor.to_string(),
                    at: now,
                };
                match store.rollback(old.id, Some(new.id), &change) {
                    Ok(_) => (format!("{symbol} {regime}: v{to} rolled back to v{from}: {why}"), true),
                    Err(e) => (
                        format!("{symbol} {regime}: v{to} degraded ({why}) but the rollback failed: {e:#}"),
                        false,
                    ),
                }
            }
            Err(damaged) => {
                (format!("{symbol} {regime}: v{to} degraded ({why}) but cannot roll back: {damaged}"), false)
            }
        };
        store.raise_alert(&NewAlert {
            kind: if rolled_back { AlertKind::AutomaticRollback } else { AlertKind::RollbackFailed },
            severity: if rolled_back { Severity::High } else { Severity::Critical },
            symbol: symbol.to_string(),
            regime: Some(regime),
            version_id: Some(new.id),
            message: message.clone(),
            details: json!({"degradation": d, "from": to, "to": from}),
            created_at: now,
        })?;
        done.push(message);
    }
    Ok(done)
}
