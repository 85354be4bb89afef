//! `retrain evaluate`: a version on bars it never saw, a challenger against the champion,
//! or the standing of a running canary test.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::{existing_store, requested_window};
use crate::candles::time::{format_minute, format_rfc3339, wall_millis};
use crate::cli::EvaluateArgs;
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::evaluation::backtest::{Bar, Trading};
use crate::evaluation::score::Requested;
use crate::kinds::VersionStatus;
use crate::lifecycle::evaluate::{self, Checked, Compared};
use crate::lifecycle::live::{self, CanaryStanding};
use crate::model::metrics::Classification;
use crate::store::{CanaryEnd, Store, VersionRow};

pub fn run(resolved: &Resolved, args: &EvaluateArgs) -> anyhow::Result<u8> {
    let (symbol, regime) = (&args.symbol, args.regime);
    let mut store = existing_store(resolved)?;
    let versions = store.versions(symbol, Some(regime))?;
    if versions.is_empty() {
        return Err(Failure::Usage(format!("no versions of {symbol} {regime}: train one first")).into());
    }
    let now = wall_millis();
    if args.canary {
        let Some(standing) = live::decide_canary(resolved, &mut store, symbol, regime, &super::actor(), now)?
        else {
            return Err(Failure::Usage(format!(
                "no canary test of {symbol} {regime} is running: start one with `retrain promote --canary PERCENT`"
            ))
            .into());
        };
        return print_canary(symbol, regime, &standing, args.json);
    }
    let requested = requested_window(args.from, args.to, args.window_days);
    if args.compare {
        compare_versions(resolved, &mut store, &versions, args, requested, now)
    } else {
        evaluate_version(resolved, &mut store, &versions, args, requested, now)
    }
}

fn pick<'a>(
    versions: &'a [VersionRow],
    args: &EvaluateArgs,
    default_candidate: bool,
) -> Result<&'a VersionRow, Failure> {
    let found = if let Some(n) = args.version {
        versions.iter().find(|v| v.version == n)
    } else if args.production {
        versions.iter().find(|v| v.status == VersionStatus::Production)
    } else if args.candidate || default_candidate {
        versions.iter().find(|v| v.status == VersionStatus::Candidate)
    } else {
        versions.first()
    };
    found.ok_or_else(|| {
        let what = match (args.version, args.production) {
            (Some(n), _) => format!("no version v{n}"),
            (None, true) => "no production version".into(),
            _ => "no candidate version".into(),
        };
        Failure::Usage(format!("{what} of {} {}", args.symbol, args.regime))
    })
}

fn evaluate_version(
    resolved: &Resolved,
    store: &mut Store,
    versions: &[VersionRow],
    args: &EvaluateArgs,
    requested: Option<Requested>,
    now: i64,
) -> anyhow::Result<u8> {
    let settings = &resolved.settings;
    let version = pick(versions, args, false)?;
    let requested = requested.unwrap_or(Requested::LastDays(settings.evaluation.window_days));
    let checked = evaluate::backtest(resolved, store, version, requested, true, now)?;
    let Checked { scored, rules, from, to, degradation, alert } = &checked;
    if let Some(path) = &args.export_returns {
        export(path, &scored.bars)?;
    }

    if args.json {
        let doc = json!({
            "symbol": version.symbol,
            "regime": version.regime,
            "version": version.version,
            "status": version.status,
            "window": {"from": format_rfc3339(*from), "to": format_rfc3339(*to), "bars": scored.bars.len(), "labelled_rows": scored.rows.len()},
            "rules": {"threshold": rules.threshold, "position": settings.evaluation.position, "cost_per_side": rules.cost_per_side, "bars_per_year": rules.bars_per_year},
            "trading": scored.trading,
            "classification": scored.classification,
            "degradation": degradation,
            "alert": alert.as_ref().map(|a| json!({"id": a.id(), "new": a.is_new(), "message": a.message})),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(code::OK);
    }
    println!(
        "evaluated {} {} v{} ({}) on {} .. {}: {} bars, {} of them in its regime with a label",
        version.symbol,
        version.regime,
        version.version,
        version.status,
        format_minute(*from),
        format_minute(*to),
        scored.bars.len(),
        scored.rows.len()
    );
    print_trading(&scored.trading);
    print_classification(scored.classification.as_ref());
    match degradation {
        Some(d) => println!(
            "  vs test   {} {:.4} -> {:.4} ({:+.1}%): {}",
            d.metric,
            d.test,
            d.recent,
            -100.0 * d.relative_drop,
            if d.degraded {
                "degraded beyond triggers.performance_decay"
            } else {
                "within triggers.performance_decay"
            }
        ),
        None => println!(
            "  vs test   {}: undefined on one of the two windows",
            settings.evaluation.metric.as_str()
        ),
    }
    if let Some(a) = alert {
        println!("  alert {} {}: {}", a.id(), if a.is_new() { "raised" } else { "still open" }, a.message);
    }
    if let Some(path) = &args.export_returns {
        println!("  returns   written to {}", path.display());
    }
    Ok(code::OK)
}

fn compare_versions(
    resolved: &Resolved,
    store: &mut Store,
    versions: &[VersionRow],
    args: &EvaluateArgs,
    requested: Option<Requested>,
    now: i64,
) -> anyhow::Result<u8> {
    let challenger = pick(versions, args, true)?;
    let champion = match args.champion {
        Some(n) => versions.iter().find(|v| v.version == n),
        None => versions.iter().find(|v| v.status == VersionStatus::Production),
    }
    .ok_or_else(|| {
        Failure::Usage(format!(
            "no champion to compare with: {} {} has no production version (name one with --champion N)",
            challenger.symbol, challenger.regime
        ))
    })?;
    let requested = requested.unwrap_or(Requested::Between(i64::MIN, i64::MAX));
    let compared = match evaluate::compare(resolved, store, champion, challenger, requested, now)? {
        Ok(compared) => compared,
        Err(why) => {
            // No shared unseen bar at all: inconclusive, said as such.
            println!(
                "{} {}: champion v{} vs challenger v{}: inconclusive: {why}",
                challenger.symbol, challenger.regime, champion.version, challenger.version
            );
            return Ok(code::OK);
        }
    };
    if args.json {
        let doc = json!({
            "symbol": challenger.symbol,
            "regime": challenger.regime,
            "champion": {"version": champion.version, "status": champion.status},
            "challenger": {"version": challenger.version, "status": challenger.status},
            "window": {"from": format_rfc3339(compared.from), "to": format_rfc3339(compared.to)},
            "comparison": compared.comparison,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_comparison(champion, challenger, &compared);
    }
    Ok(code::OK)
}

/// `evaluate --canary`: the running test's standing, and its end when due.
fn print_canary(
    symbol: &str,
    regime: crate::config::Regime,
    s: &CanaryStanding,
    as_json: bool,
) -> anyhow::Result<u8> {
    let (champion, challenger) = (s.champion_version, s.challenger_version);
    let ended = s.end.map(|end| match end {
        CanaryEnd::Promoted => "promoted",
        CanaryEnd::Kept => "kept",
    });
    if as_json {
        let doc = json!({
            "symbol": symbol,
            "regime": regime,
            "champion": champion,
            "challenger": challenger,
            "traffic_split": s.test.traffic_split,
            "started_at": format_rfc3339(s.test.started_at),
            "decision": s.decision,
            "ended": ended,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(code::OK);
    }
    println!(
        "canary test of {symbol} {regime}: challenger v{challenger} on {}% of predictions against champion v{champion} since {}",
        s.test.traffic_split,
        format_minute(s.test.started_at)
    );
    for (name, arm) in [("champion", &s.decision.champion), ("challenger", &s.decision.challenger)] {
        println!(
            "  {name:<10} {} resolved signals, {} trades, win rate {}, mean return {:+.4}% per signal",
            arm.signals,
            arm.trades,
            arm.win_rate.map_or("-".to_string(), |r| format!("{:.1}%", 100.0 * r)),
            100.0 * arm.mean_return
        );
    }
    match s.end {
        None => println!("  {}", s.decision.reason),
        Some(CanaryEnd::Promoted) => {
            println!(
                "  ended: v{challenger} promoted to production, v{champion} archived: {}",
                s.decision.reason
            )
        }
        Some(CanaryEnd::Kept) => {
            println!(
                "  ended: v{challenger} archived, v{champion} stays in production: {}",
                s.decision.reason
            )
        }
    }
    Ok(code::OK)
}

fn print_comparison(champion: &VersionRow, challenger: &VersionRow, compared: &Compared) {
    let (from, to, c) = (compared.from, compared.to, &compared.comparison);
    println!(
        "{} {}: champion v{} ({}) vs challenger v{} ({}) on {} .. {}: {} shared bars (at least {} needed)",
        challenger.symbol,
        challenger.regime,
        champion.version,
        champion.status,
        challenger.version,
        challenger.status,
        format_minute(from),
        format_minute(to),
        c.bars,
        c.min_bars
    );
    println!(
        "  {}  champion {:.4}  challenger {:.4}  difference {:+.4}",
        c.metric, c.champion, c.challenger, c.difference
    );
    match (c.probability_better, c.interval) {
        (Some(p), Some([low, high])) => println!(
            "  P(challenger better) {p:.3}, 95% interval of the difference [{low:+.4}, {high:+.4}] ({} resamples of {}-bar blocks): {}",
            c.resamples,
            c.block_bars,
            c.verdict.describe()
        ),
        _ => println!("  inconclusive: too few shared bars to tell the two apart"),
    }
}

fn undefined(value: Option<f64>, percent: bool) -> String {
    match value {
        Some(v) if percent => format!("{:.2}%", 100.0 * v),
        Some(v) => format!("{v:.3}"),
        None => "undefined".into(),
    }
}

fn print_trading(t: &Trading) {
    println!(
        "  trading   total return {:.2}%  annual {}  sharpe {}  sortino {}  max drawdown {:.2}%  calmar {}",
        100.0 * t.total_return,
        undefined(t.annual_return, true),
        undefined(t.sharpe, false),
        undefined(t.sortino, false),
        100.0 * t.max_drawdown,
        undefined(t.calmar, false)
    );
    println!(
        "            trades {}  win rate {}  profit factor {}  average trade {}  exposure {:.1}%  consistency {}  hit rate {}",
        t.trades,
        undefined(t.win_rate, true),
        undefined(t.profit_factor, false),
        undefined(t.average_trade, true),
        100.0 * t.exposure,
        undefined(t.consistency, true),
        undefined(t.hit_rate, true)
    );
}

fn print_classification(c: Option<&Classification>) {
    match c {
        Some(m) => println!(
            "  classes   accuracy {:.4}  precision {:.4}  recall {:.4}  f1 {:.4}  auc {}  log loss {:.4}  brier {:.4}  ({:.1}% up)",
            m.accuracy,
            m.precision,
            m.recall,
            m.f1,
            undefined(m.roc_auc, false),
            m.log_loss,
            m.brier,
            100.0 * m.positive_rate
        ),
        None => println!("  classes   no bar of the window is in the model's regime with a label: undefined"),
    }
}

/// One row per bar, for plotting or recomputing anything.
fn export(path: &Path, bars: &[Bar]) -> anyhow::Result<()> {
    let mut out = Vec::with_capacity(bars.len() * 80);
    writeln!(out, "open_time,position,market_return,strategy_return,equity")?;
    for b in bars {
        writeln!(
            out,
            "{},{},{},{},{}",
            format_rfc3339(b.open_time),
            b.position,
            b.market_return,
            b.strategy_return,
            b.equity
        )?;
    }
    crate::output::write_atomic(path, &out)
}
