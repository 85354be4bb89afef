//! What live signals decide: their resolution once later candles arrive, the end of a
//! canary test, and the rollback of a fresh promotion that degrades. Called by
//! `collect`, `evaluate --canary` (and `run`).

use serde_json::json;

use super::load_artifact;
use crate::candles::Interval;
use crate::candles::time::{format_minute, now_millis};
use crate::config::{Regime, Resolved, Severity};
use crate::deploy::canary::{self, Decision};
use crate::deploy::signals;
use crate::error::{Failure, code};
use crate::store::{AbTest, CanaryEnd, Change, NewAlert, Store, VersionRow};

const HOUR_MS: f64 = 3_600_000.0;

/// Resolve the signals of a series whose horizon has passed; returns (resolved, winning trades).
pub fn resolve_signals(
    store: &mut Store,
    symbol: &str,
    interval: Interval,
) -> anyhow::Result<(usize, usize)> {
    let pending = store.pending_signals(symbol, &interval.to_string())?;
    let Some(first) = pending.first() else { return Ok((0, 0)) };
    let closes: Vec<(i64, f64)> = store
        .candles(symbol, interval, Some(first.open_time))?
        .iter()
        .map(|c| (c.open_time, c.close))
        .collect();
    let resolved = signals::resolve(&pending, &closes, interval.millis());
    store.resolve_signals(&resolved, now_millis())?;
    Ok((resolved.len(), resolved.iter().filter(|r| r.win == Some(true)).count()))
}

fn version_by_id(versions: &[VersionRow], id: i64) -> anyhow::Result<&VersionRow> {
    versions
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| anyhow::anyhow!("model version id {id} is not registered"))
}

/// The running canary test's standing; ended (and recorded) once both arms have enough
/// resolved signals. `None` when no test runs.
pub fn decide_canary(
    resolved: &Resolved,
    store: &mut Store,
    symbol: &str,
    regime: Regime,
    actor: &str,
) -> anyhow::Result<Option<(AbTest, Decision, Option<CanaryEnd>)>> {
    let Some(test) = store.running_test(symbol, regime.as_str())? else { return Ok(None) };
    let c = &resolved.settings.deployment.canary;
    let champion = store.outcomes(test.champion_id, test.started_at, Some(test.id))?;
    let challenger = store.outcomes(test.challenger_id, test.started_at, Some(test.id))?;
    let mut decision = canary::decide(&champion, &challenger, c.min_signals as usize, c.min_confidence);
    if !decision.complete {
        return Ok(Some((test, decision, None)));
    }
    let versions = store.versions(symbol, Some(regime))?;
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
        regime: regime.to_string(),
        reason: decision.reason.clone(),
        gates: None,
        forced: false,
        actor: actor.to_string(),
        at: now_millis(),
    };
    store.end_canary(&test, end, &serde_json::to_string(&decision)?, &change)?;
    Ok(Some((test, decision, Some(end))))
}

/// `evaluate --canary`: print the running test's standing, and its end when due.
pub fn report_canary(
    resolved: &Resolved,
    store: &mut Store,
    symbol: &str,
    regime: Regime,
    actor: &str,
) -> anyhow::Result<u8> {
    let versions = store.versions(symbol, Some(regime))?;
    let Some((test, decision, end)) = decide_canary(resolved, store, symbol, regime, actor)? else {
        return Err(Failure::Usage(format!(
            "no canary test of {symbol} {regime} is running: start one with `retrain promote --canary PERCENT`"
        ))
        .into());
    };
    let (champion, challenger) = (
        version_by_id(&versions, test.champion_id)?.version,
        version_by_id(&versions, test.challenger_id)?.version,
    );
    println!(
        "canary test of {symbol} {regime}: challenger v{challenger} on {}% of predictions against champion v{champion} since {}",
        test.traffic_split,
        format_minute(test.started_at)
    );
    for (name, arm) in [("champion", &decision.champion), ("challenger", &decision.challenger)] {
        println!(
            "  {name:<10} {} resolved signals, {} trades, win rate {}, mean return {:+.4}% per signal",
            arm.signals,
            arm.trades,
            arm.win_rate.map_or("-".to_string(), |r| format!("{:.1}%", 100.0 * r)),
            100.0 * arm.mean_return
        );
    }
    match end {
        None => println!("  {}", decision.reason),
        Some(CanaryEnd::Promoted) => {
            println!(
                "  ended: v{challenger} promoted to production, v{champion} archived: {}",
                decision.reason
            )
        }
        Some(CanaryEnd::Kept) => {
            println!("  ended: v{challenger} archived, v{champion} stays in production: {}", decision.reason)
        }
    }
    Ok(code::OK)
}

/// Roll back every model of `symbol` whose promotion is younger than
/// `deployment.watch_hours` and whose live win rate fell past `triggers.performance_decay`
/// against the version it replaced, significantly (`deployment.canary.min_confidence`).
/// Returns what was done, one line each.
pub fn watch(
    resolved: &Resolved,
    store: &mut Store,
    symbol: &str,
    actor: &str,
) -> anyhow::Result<Vec<String>> {
    let settings = &resolved.settings;
    if !settings.deployment.rollback_on_degradation {
        return Ok(Vec::new());
    }
    let now = now_millis();
    let mut done = Vec::new();
    for regime in Regime::ALL {
        let rows = store.deployments(Some(symbol), Some(regime.as_str()))?;
        // The last row that changed production; canary rows that kept it do not count.
        let Some(last) = rows.iter().rev().find(|d| d.from_version != d.to_version) else { continue };
        let (Some(from), Some(to)) = (last.from_version, last.to_version) else { continue };
        if last.action == "rollback"
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
        if new.status != "production" {
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
                    regime: regime.to_string(),
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
            kind: if rolled_back { "automatic_rollback" } else { "rollback_failed" }.into(),
            severity: if rolled_back { Severity::High } else { Severity::Critical },
            symbol: symbol.to_string(),
            regime: regime.to_string(),
            version_id: Some(new.id),
            message: message.clone(),
            details: json!({"degradation": d, "from": to, "to": from}).to_string(),
            created_at: now,
        })?;
        done.push(message);
    }
    Ok(done)
}
