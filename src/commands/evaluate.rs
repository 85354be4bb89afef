//! `retrain evaluate`: a version on bars it never saw, or a challenger against the champion.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::{
    champion_vs_challenger, existing_store, load_artifact, parse_regime, requested_window, version_view,
};
use crate::candles::time::{format_minute, format_rfc3339, now_millis};
use crate::cli::EvaluateArgs;
use crate::config::{Resolved, Severity};
use crate::error::{Failure, code};
use crate::evaluation::backtest::{Bar, Rules, Trading};
use crate::evaluation::compare::Comparison;
use crate::evaluation::score::{self, Requested, Scored, View};
use crate::evaluation::{self, Record};
use crate::model::metrics::Classification;
use crate::store::{NewAlert, NewEvaluation, Raised, Store, VersionRow};

pub fn run(resolved: &Resolved, args: &EvaluateArgs) -> anyhow::Result<u8> {
    let regime = parse_regime(&args.regime)?;
    let mut store = existing_store(resolved)?;
    let versions = store.versions(&args.symbol, Some(regime))?;
    if versions.is_empty() {
        return Err(
            Failure::Usage(format!("no versions of {} {regime}: train one first", args.symbol)).into()
        );
    }
    if args.canary {
        return super::live::report_canary(resolved, &mut store, &args.symbol, regime, &super::actor());
    }
    let requested = requested_window(args.from.as_deref(), args.to.as_deref(), args.window_days)?;
    if args.compare {
        compare_versions(resolved, &mut store, &versions, args, requested)
    } else {
        evaluate_version(resolved, &mut store, &versions, args, requested)
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
        versions.iter().find(|v| v.status == "production")
    } else if args.candidate || default_candidate {
        versions.iter().find(|v| v.status == "candidate")
    } else {
        versions.first()
    };
    found.ok_or_else(|| {
        let what = match (args.version, args.production) {
            (Some(n), _) => format!("no version v{n}"),
            (None, true) => "no production version".into(),
            _ => "no candidate version".into(),
        };
        Failure::Usage(format!("{what} of {} {}", versions[0].symbol, versions[0].regime))
    })
}

fn evaluate_version(
    resolved: &Resolved,
    store: &mut Store,
    versions: &[VersionRow],
    args: &EvaluateArgs,
    requested: Option<Requested>,
) -> anyhow::Result<u8> {
    let settings = &resolved.settings;
    let version = pick(versions, args, false)?;
    let requested = requested.unwrap_or(Requested::LastDays(settings.evaluation.window_days));
    let Checked { scored, rules, from, to, degradation, alert } =
        backtest(resolved, store, version, requested, true)?;
    if let Some(path) = &args.export_returns {
        export(path, &scored.bars)?;
    }

    if args.json {
        let doc = json!({
            "symbol": version.symbol,
            "regime": version.regime,
            "version": version.version,
            "status": version.status,
            "window": {"from": format_rfc3339(from), "to": format_rfc3339(to), "bars": scored.bars.len(), "labelled_rows": scored.rows.len()},
            "rules": {"threshold": rules.threshold, "position": settings.evaluation.position, "cost_per_side": rules.cost_per_side, "bars_per_year": rules.bars_per_year},
            "trading": scored.trading,
            "classification": scored.classification,
            "degradation": degradation,
            "alert": alert.as_ref().map(|(raised, message)| json!({"id": alert_id(*raised), "new": matches!(raised, Raised::New(_)), "message": message})),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "evaluated {} {} v{} ({}) on {} .. {}: {} bars, {} of them in its regime with a label",
            version.symbol,
            version.regime,
            version.version,
            version.status,
            format_minute(from),
            format_minute(to),
            scored.bars.len(),
            scored.rows.len()
        );
        print_trading(&scored.trading);
        print_classification(scored.classification.as_ref());
        match &degradation {
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
        if let Some((raised, message)) = &alert {
            let state = if matches!(raised, Raised::New(_)) { "raised" } else { "still open" };
            println!("  alert {} {state}: {message}", alert_id(*raised));
        }
        if let Some(path) = &args.export_returns {
            println!("  returns   written to {}", path.display());
        }
    }
    Ok(code::OK)
}

/// A version's backtest on a window of unseen bars, stored, and its degradation check
/// (with an alert for a production or canary version).
pub(super) struct Checked {
    pub scored: Scored,
    pub rules: Rules,
    pub from: i64,
    pub to: i64,
    pub degradation: Option<evaluation::Degradation>,
    pub alert: Option<(Raised, String)>,
}

pub(super) fn backtest(
    resolved: &Resolved,
    store: &mut Store,
    version: &VersionRow,
    requested: Requested,
    record_it: bool,
) -> anyhow::Result<Checked> {
    let settings = &resolved.settings;
    let loaded = load_artifact(resolved, version)?;
    let (interval, view) = version_view(store, version, &loaded)?;
    let horizon = loaded.manifest.label.horizon_bars as usize;
    let unseen = score::unseen_start(&view.table.open_time, loaded.manifest.validation.to, horizon);
    let window = score::window(&view.table.open_time, requested, unseen).map_err(|e| {
        Failure::Refused(format!(
            "cannot evaluate {} {} v{}: {e}",
            version.symbol, version.regime, version.version
        ))
    })?;
    let rules = Rules::from_settings(&settings.evaluation, interval);
    let scored = score::score(&view, window, &rules);
    let record = Record { classification: scored.classification, trading: Some(scored.trading) };
    let (from, to) = window_times(&view, &scored);
    let now = now_millis();
    if record_it {
        store.insert_evaluation(
            version.id,
            &NewEvaluation {
                kind: "backtest".into(),
                window: (from, to),
                rows: scored.bars.len(),
                metrics: serde_json::to_string(&record)?,
            },
            now,
        )?;
    }

    let test: Option<Record> =
        store.evaluation_of_kind(version.id, "test")?.and_then(|json| serde_json::from_str(&json).ok());
    let degradation = test.and_then(|t| {
        evaluation::degradation(settings.evaluation.metric, &t, &record, settings.triggers.performance_decay)
    });
    let mut alert = None;
    if let Some(d) = degradation
        .as_ref()
        .filter(|d| record_it && d.degraded && matches!(version.status.as_str(), "production" | "canary"))
    {
        let message = format!(
            "{} {} v{}: {} fell from {:.4} on its test window to {:.4} on {} .. {} ({:.1}% down, more than triggers.performance_decay {:.0}%)",
            version.symbol,
            version.regime,
            version.version,
            d.metric,
            d.test,
            d.recent,
            format_minute(from),
            format_minute(to),
            100.0 * d.relative_drop,
            100.0 * d.threshold
        );
        let raised = store.raise_alert(&NewAlert {
            kind: "performance_degradation".into(),
            severity: Severity::High,
            symbol: version.symbol.clone(),
            regime: version.regime.clone(),
            version_id: Some(version.id),
            message: message.clone(),
            details: serde_json::to_string(d)?,
            created_at: now,
        })?;
        alert = Some((raised, message));
    }
    Ok(Checked { scored, rules, from, to, degradation, alert })
}

fn alert_id(raised: Raised) -> i64 {
    match raised {
        Raised::New(id) | Raised::AlreadyOpen(id) => id,
    }
}

fn window_times(view: &View, scored: &Scored) -> (i64, i64) {
    let t = &view.table.open_time;
    (t[scored.window.start], t[scored.window.end - 1])
}

fn compare_versions(
    resolved: &Resolved,
    store: &mut Store,
    versions: &[VersionRow],
    args: &EvaluateArgs,
    requested: Option<Requested>,
) -> anyhow::Result<u8> {
    let settings = &resolved.settings;
    let challenger = pick(versions, args, true)?;
    let champion = match args.champion {
        Some(n) => versions.iter().find(|v| v.version == n),
        None => versions.iter().find(|v| v.status == "production"),
    }
    .ok_or_else(|| {
        Failure::Usage(format!(
            "no champion to compare with: {} {} has no production version (name one with --champion N)",
            challenger.symbol, challenger.regime
        ))
    })?;
    if champion.id == challenger.id {
        return Err(Failure::Usage(format!("v{} cannot be compared with itself", champion.version)).into());
    }
    if champion.interval != challenger.interval {
        return Err(Failure::Usage(format!(
            "v{} trades {} candles and v{} {}: they cannot be scored on the same bars",
            champion.version, champion.interval, challenger.version, challenger.interval
        ))
        .into());
    }
    let (champion_model, challenger_model) =
        (load_artifact(resolved, champion)?, load_artifact(resolved, challenger)?);
    let (interval, champion_view) = version_view(store, champion, &champion_model)?;
    let (_, challenger_view) = version_view(store, challenger, &challenger_model)?;
    let outcome = champion_vs_challenger(
        settings,
        interval,
        (&champion_model, &champion_view),
        (&challenger_model, &challenger_view),
        requested.unwrap_or(Requested::Between(i64::MIN, i64::MAX)),
    );
    let ((from, to), comparison) = match outcome {
        Ok(found) => found,
        Err(why) => {
            // No shared unseen bar at all: inconclusive, said as such.
            println!(
                "{} {}: champion v{} vs challenger v{}: inconclusive: {why}",
                challenger.symbol, challenger.regime, champion.version, challenger.version
            );
            return Ok(code::OK);
        }
    };
    let now = now_millis();
    let details =
        json!({"champion": champion.version, "challenger": challenger.version, "comparison": comparison});
    store.insert_evaluation(
        challenger.id,
        &NewEvaluation {
            kind: "compare".into(),
            window: (from, to),
            rows: comparison.bars,
            metrics: details.to_string(),
        },
        now,
    )?;
    if args.json {
        let doc = json!({
            "symbol": challenger.symbol,
            "regime": challenger.regime,
            "champion": {"version": champion.version, "status": champion.status},
            "challenger": {"version": challenger.version, "status": challenger.status},
            "window": {"from": format_rfc3339(from), "to": format_rfc3339(to)},
            "comparison": comparison,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_comparison(champion, challenger, from, to, &comparison);
    }
    Ok(code::OK)
}

fn print_comparison(champion: &VersionRow, challenger: &VersionRow, from: i64, to: i64, c: &Comparison) {
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
