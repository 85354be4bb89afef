//! `retrain status`: what the store holds, per symbol and interval.

use serde_json::json;

use super::fleet::{self, ModelRow, age, minute};
use crate::candles::time::{format_minute, format_rfc3339, now_millis, wall_millis};
use crate::cli::StatusArgs;
use crate::config::{Regime, Resolved, SearchMetric};
use crate::error::code;
use crate::evaluation::Record;
use crate::output::{Paint, Table};
use crate::store::Store;

pub fn run(resolved: &Resolved, args: &StatusArgs) -> anyhow::Result<u8> {
    let mut store = Store::open(&resolved.database_path())?;
    if args.check {
        return check(resolved, &store);
    }
    if let Some(symbol) = &args.symbol {
        let regime = args.regime.as_deref().map(super::parse_regime).transpose()?;
        return detail(&store, symbol, regime);
    }
    let now = now_millis();
    let models = fleet::rows(resolved, &mut store, now)?;
    if args.prometheus {
        print!("{}", prometheus(resolved, &store, &models)?);
        return Ok(code::OK);
    }
    let series = store.series_summaries()?;
    let trades = store.trade_outcome_counts()?;
    if args.json {
        let series: Vec<_> = series
            .iter()
            .map(|s| {
                json!({
                    "symbol": s.symbol,
                    "interval": s.interval,
                    "candles": s.candles,
                    "first_open_time": format_rfc3339(s.first_open_time),
                    "last_open_time": format_rfc3339(s.last_open_time),
                    "gaps": s.gaps,
                    "missing_bars": s.missing_bars,
                    "last_collect": s.last_collect.as_ref().map(|c| json!({
                        "at": format_rfc3339(c.finished_at),
                        "source": c.source,
                        "inserted": c.inserted,
                        "updated": c.updated,
                        "quality_score": c.quality_score,
                    })),
                })
            })
            .collect();
        let trades: Vec<_> = trades
            .iter()
            .map(|(symbol, count, last)| json!({"symbol": symbol, "count": count, "last_closed_at": format_rfc3339(*last)}))
            .collect();
        let recent = resolved.settings.status.recent_jobs as usize;
        let (finished, succeeded, average) = store.job_totals(None, recent)?;
        let doc = json!({
            "database": store.path().display().to_string(),
            "models": models,
            "queue": store.jobs(Some("queued"))?.iter().map(|j| json!({"id": j.id, "symbol": j.symbol, "regime": j.regime, "priority": j.priority, "reason": j.reason})).collect::<Vec<_>>(),
            "running": store.running_jobs()?.iter().map(|j| json!({"id": j.id, "symbol": j.symbol, "regime": j.regime, "trigger": j.trigger, "stage": j.stage})).collect::<Vec<_>>(),
            "jobs": {"recent": recent, "finished": finished, "succeeded": succeeded, "average_seconds": average,
                     "average_improvement": store.average_improvement(metric_path(resolved.settings.evaluation.metric), recent)?},
            "open_alerts": alert_counts(&store)?,
            "health": {"problems": problems(resolved, &store)?, "last_successful_run": store.last_successful_run()?.map(|(_, at)| format_rfc3339(at))},
            "series": series,
            "trade_outcomes": trades,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(code::OK);
    }

    let paint = Paint::stdout();
    print_models(resolved, &models, now, paint);
    print_sections(resolved, &store, paint)?;
    if series.is_empty() {
        println!("no candles yet: add some with `retrain collect --symbol S --interval I --file PATH`");
    } else {
        println!("{}", paint.bold("DATA"));
        let mut table =
            Table::new(["SYMBOL", "INTERVAL", "CANDLES", "FIRST", "LAST", "GAPS", "MISSING", "LAST COLLECT"]);
        for s in &series {
            let last_collect = s.last_collect.as_ref().map_or("-".to_string(), |c| {
                format!(
                    "{} (+{} ~{}, quality {:.3})",
                    format_minute(c.finished_at),
                    c.inserted,
                    c.updated,
                    c.quality_score
                )
            });
            table.row(vec![
                s.symbol.clone(),
                s.interval.clone(),
                s.candles.to_string(),
                format_minute(s.first_open_time),
                format_minute(s.last_open_time),
                s.gaps.to_string(),
                s.missing_bars.to_string(),
                last_collect,
            ]);
        }
        print!("{}", table.render());
    }
    if !trades.is_empty() {
        println!();
        let mut table = Table::new(["SYMBOL", "TRADE OUTCOMES", "LAST CLOSED"]);
        for (symbol, count, last) in &trades {
            table.row(vec![symbol.clone(), count.to_string(), format_minute(*last)]);
        }
        print!("{}", table.render());
    }
    Ok(code::OK)
}

/// Why the fleet is unhealthy, if it is: open alerts at high or above, and a last
/// successful run older than `status.max_run_age_hours` (or none).
pub fn problems(resolved: &Resolved, store: &Store) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let serious: Vec<_> = store
        .alerts(false)?
        .into_iter()
        .filter(|a| matches!(a.severity.as_str(), "high" | "critical"))
        .collect();
    if !serious.is_empty() {
        let first = &serious[serious.len() - 1];
        problems.push(format!(
            "{} open alert(s) at high or above, the oldest {} {}: {}",
            serious.len(),
            first.severity,
            first.kind,
            first.message
        ));
    }
    let limit = resolved.settings.status.max_run_age_hours;
    match store.last_successful_run()? {
        None => problems.push("no successful `retrain run` yet".into()),
        Some((_, finished)) => {
            let hours = (wall_millis() - finished) as f64 / 3_600_000.0;
            if hours > limit {
                problems.push(format!(
                    "the last successful run ended {hours:.1} h ago, more than status.max_run_age_hours {limit}"
                ));
            }
        }
    }
    Ok(problems)
}

/// `status --check`: exit 0 when healthy, 1 with the reasons otherwise.
fn check(resolved: &Resolved, store: &Store) -> anyhow::Result<u8> {
    let problems = problems(resolved, store)?;
    if problems.is_empty() {
        println!("healthy");
        return Ok(code::OK);
    }
    for p in &problems {
        println!("unhealthy: {p}");
    }
    Ok(code::RUNTIME)
}

fn alert_counts(store: &Store) -> anyhow::Result<serde_json::Value> {
    let open = store.alerts(false)?;
    let count = |s: &str| open.iter().filter(|a| a.severity == s).count();
    Ok(
        json!({"critical": count("critical"), "high": count("high"), "medium": count("medium"), "low": count("low")}),
    )
}

fn print_models(resolved: &Resolved, models: &[ModelRow], now: i64, paint: Paint) {
    if models.is_empty() {
        println!("no models configured: list the markets to keep fresh under `symbols:` in config.yaml");
        println!();
        return;
    }
    let triggers = &resolved.settings.triggers;
    let metric = models.first().map_or("F1".to_string(), |m| m.metric.to_uppercase());
    let mut table = Table::new([
        "MODEL",
        "PROD",
        "AGE",
        "NEXT",
        "LAST JOB",
        &format!("TEST {metric}"),
        "LIVE",
        "DRIFT",
        "NEXT RUN",
        "NEEDS RETRAIN",
    ]);
    for m in models {
        let next = match (&m.canary, m.candidate) {
            (Some(c), _) => format!("canary v{} {}%", c.version, c.traffic_split),
            (None, Some(v)) => format!("candidate v{v}"),
            _ => "-".into(),
        };
        let last_job = m.last_job.as_ref().map_or("-".to_string(), |j| {
            let failed = if j.status == "failed" { paint.red(" FAILED") } else { String::new() };
            format!("{} {}{failed}", age((now - j.at) as f64 / 86_400_000.0), j.trigger)
        });
        let test = match (m.test_history.last(), m.trend.as_deref()) {
            (Some(v), Some(t)) if paint.on => {
                let t = match t {
                    "improving" => paint.green(t),
                    "declining" => paint.red(t),
                    _ => t.to_string(),
                };
                format!("{v:.3} {} {t}", m.sparkline)
            }
            (Some(v), Some(t)) => format!("{v:.3} {t}"),
            (Some(v), None) => format!("{v:.3}"),
            _ => "-".into(),
        };
        let live = match m.live_win_rate {
            Some(r) => {
                let text = format!("{:.0}% of {}", 100.0 * r, m.live_signals);
                let poor = m.live_signals >= triggers.min_signals as usize && r < triggers.min_win_rate;
                if poor { paint.red(&text) } else { text }
            }
            None if m.live_signals > 0 => format!("no trade in {}", m.live_signals),
            None => "-".into(),
        };
        let drift = m.drift.as_ref().map_or("-".to_string(), |d| {
            paint
                .severity(&d.severity, &format!("{} {}", d.severity, age((now - d.at) as f64 / 86_400_000.0)))
        });
        let needs = m.needs_retrain.as_deref().map_or_else(
            || paint.dim("no"),
            |reason| if reason.contains("(urgent)") { paint.red(reason) } else { paint.yellow(reason) },
        );
        table.row(vec![
            format!("{} {}", m.symbol, m.regime),
            m.production.map_or("-".into(), |v| format!("v{v}")),
            m.production_age_days.map_or("-".into(), age),
            next,
            last_job,
            test,
            live,
            drift,
            minute(m.next_scheduled),
            needs,
        ]);
    }
    print!("{}", table.render());
    println!();
}

fn print_sections(resolved: &Resolved, store: &Store, paint: Paint) -> anyhow::Result<()> {
    let recent = resolved.settings.status.recent_jobs as usize;
    let queued = store.jobs(Some("queued"))?;
    if !queued.is_empty() {
        println!("{}", paint.bold("QUEUE"));
        for j in &queued {
            println!("  {} {} {} ({}): {}", j.id, j.symbol, j.regime, j.priority, j.reason);
        }
    }
    for j in store.running_jobs()? {
        let (_, _, average) = store.job_totals(Some((&j.symbol, &j.regime)), recent)?;
        let elapsed = (wall_millis() - j.run_started_at) as f64 / 1000.0;
        let eta = match average {
            Some(a) if a > elapsed => format!(", about {:.0} s left (usually {a:.0} s)", a - elapsed),
            Some(a) => format!(", over its usual {a:.0} s"),
            None => String::new(),
        };
        println!(
            "{} job {} {} {} ({}): {}{eta}",
            paint.bold("RUNNING"),
            j.id,
            j.symbol,
            j.regime,
            j.trigger,
            j.stage.as_deref().unwrap_or("starting")
        );
    }
    let (finished, succeeded, average) = store.job_totals(None, recent)?;
    if finished > 0 {
        let metric = resolved.settings.evaluation.metric;
        let improvement = store.average_improvement(metric_path(metric), recent)?;
        let rate = format!("{:.0}% succeeded", 100.0 * succeeded as f64 / finished as f64);
        let which =
            if finished as usize >= recent { format!(" (the newest {recent})") } else { String::new() };
        println!(
            "{} {finished} finished{which}, {}, {} on average, {} {} per retrain against the parent version",
            paint.bold("JOBS"),
            if succeeded < finished { paint.yellow(&rate) } else { rate },
            average.map_or("-".to_string(), |a| format!("{a:.1} s")),
            improvement.map_or("-".to_string(), |d| format!("{d:+.4}")),
            metric.as_str()
        );
    }
    let open = store.alerts(false)?;
    if !open.is_empty() {
        let count = |s: &str| {
            let n = open.iter().filter(|a| a.severity == s).count();
            let text = format!("{n} {s}");
            if n > 0 { paint.severity(s, &text) } else { text }
        };
        println!(
            "{} {} open: {}, {}, {}, {} (`retrain alerts`)",
            paint.bold("ALERTS"),
            open.len(),
            count("critical"),
            count("high"),
            count("medium"),
            count("low")
        );
    }
    let size = std::fs::metadata(store.path()).map_or(0, |m| m.len());
    // Read from the runs table, never by touching the lock: a probe must not stop a run.
    let holder = match store.running_runs()?.last() {
        Some((pid, started)) if crate::lock::pid_alive(*pid) => {
            format!("run pid {pid} working since {}", format_minute(*started))
        }
        Some((pid, started)) => paint.yellow(&format!(
            "the run of pid {pid} started {} died without finishing; the next run marks its job abandoned",
            format_minute(*started)
        )),
        None => "no run is working".into(),
    };
    let health = problems(resolved, store)?;
    // A tick or a cross on a terminal only: plain text stays plain words.
    let verdict = match (health.is_empty(), paint.on) {
        (true, true) => paint.green("✔ healthy"),
        (true, false) => "healthy".to_string(),
        (false, true) => paint.red(&format!("✘ {}", health.join("; "))),
        (false, false) => health.join("; "),
    };
    println!(
        "{} {} ({:.1} MB), {holder}, {verdict}",
        paint.bold("HEALTH"),
        store.path().display(),
        size as f64 / 1e6
    );
    println!();
    Ok(())
}

/// `status --symbol S [--regime R]`: each model's versions, deployments, last evaluation
/// and drift report, and recent signals.
fn detail(store: &Store, symbol: &str, regime: Option<Regime>) -> anyhow::Result<u8> {
    let regimes: Vec<Regime> = regime.map_or_else(|| Regime::ALL.to_vec(), |r| vec![r]);
    let mut shown = 0;
    for regime in regimes {
        let versions = store.versions(symbol, Some(regime))?;
        if versions.is_empty() {
            continue;
        }
        shown += 1;
        println!("{symbol} {regime} ({})", versions[0].interval);
        let mut table =
            Table::new(["VERSION", "STATUS", "TRAINED", "TEST F1", "AUC", "SHARPE", "TRADES", "LATEST EVAL"]);
        for v in &versions {
            let test: Option<Record> =
                store.evaluation_of_kind(v.id, "test")?.and_then(|t| serde_json::from_str(&t).ok());
            let c = test.and_then(|t| t.classification);
            let t = test.and_then(|t| t.trading);
            table.row(vec![
                format!("v{}", v.version),
                v.status.clone(),
                format_minute(v.created_at),
                c.map_or("-".into(), |c| format!("{:.3}", c.f1)),
                c.and_then(|c| c.roc_auc).map_or("-".into(), |a| format!("{a:.3}")),
                t.and_then(|t| t.sharpe).map_or("-".into(), |s| format!("{s:.2}")),
                t.map_or("-".into(), |t| t.trades.to_string()),
                v.latest_evaluation.as_ref().map_or("-".into(), |(kind, _)| kind.clone()),
            ]);
        }
        print!("{}", table.render());
        for d in store.deployments(Some(symbol), Some(regime.as_str()))? {
            let version = |v: Option<i64>| v.map_or("-".to_string(), |v| format!("v{v}"));
            println!(
                "  {} {}{} {} -> {}{} by {}: {}",
                format_minute(d.created_at),
                d.action,
                if d.forced { " (forced)" } else { "" },
                version(d.from_version),
                version(d.to_version),
                d.canary_version.map_or(String::new(), |c| format!(", canary v{c}")),
                d.actor,
                d.reason
            );
        }
        if let Some(p) = versions.iter().find(|v| v.status == "production") {
            if let Some((to, metrics, at)) = store.latest_evaluation(p.id, "backtest")? {
                let record: Option<Record> = serde_json::from_str(&metrics).ok();
                println!(
                    "  last evaluation of v{} on bars up to {} (at {}): f1 {}, sharpe {}",
                    p.version,
                    format_minute(to),
                    format_minute(at),
                    record.and_then(|r| r.classification).map_or("-".into(), |c| format!("{:.3}", c.f1)),
                    record
                        .and_then(|r| r.trading)
                        .and_then(|t| t.sharpe)
                        .map_or("-".into(), |s| format!("{s:.2}"))
                );
            }
            if let Some((to, severity, at)) = store.latest_drift(p.id)? {
                println!(
                    "  last drift check of v{} on bars up to {} (at {}): {}",
                    p.version,
                    format_minute(to),
                    format_minute(at),
                    severity.unwrap_or_else(|| "no drift".into())
                );
            }
        }
        let signals = store.recent_signals(symbol, regime.as_str(), 10)?;
        for s in &signals {
            println!(
                "  signal {} v{}{} P(up) {:.3} {}: {}",
                format_minute(s.open_time),
                s.version,
                s.arm.as_ref().map_or(String::new(), |a| format!(" ({a})")),
                s.probability,
                match s.position {
                    1 => "long",
                    -1 => "short",
                    _ => "flat",
                },
                match (s.realised_return, s.win) {
                    (None, _) => "open".to_string(),
                    (Some(r), Some(true)) => format!("won {:+.3}%", 100.0 * r),
                    (Some(r), Some(false)) => format!("lost {:+.3}%", 100.0 * r),
                    (Some(_), None) => "no trade".to_string(),
                }
            );
        }
        println!();
    }
    if shown == 0 {
        println!(
            "no versions of {symbol}{}: train one first",
            regime.map_or(String::new(), |r| format!(" {r}"))
        );
    }
    Ok(code::OK)
}

/// Where `metric` sits in a stored evaluation (JSON path).
fn metric_path(metric: SearchMetric) -> &'static str {
    match metric {
        SearchMetric::F1 => "$.classification.f1",
        SearchMetric::Auc => "$.classification.roc_auc",
        SearchMetric::Sharpe => "$.trading.sharpe",
    }
}

/// A label value in the exposition format: backslash, double quote and newline escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The fleet as Prometheus gauges (text exposition format 0.0.4).
fn prometheus(resolved: &Resolved, store: &Store, models: &[ModelRow]) -> anyhow::Result<String> {
    use std::fmt::Write;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP retrain_{name} {help}");
        let _ = writeln!(out, "# TYPE retrain_{name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "retrain_{name}{labels} {value}");
        }
    };
    let model = |m: &ModelRow| format!("{{symbol=\"{}\",regime=\"{}\"}}", label(&m.symbol), label(&m.regime));
    let per_model = |f: &dyn Fn(&ModelRow) -> Option<f64>| -> Vec<(String, f64)> {
        models.iter().filter_map(|m| f(m).map(|v| (model(m), v))).collect()
    };
    gauge(
        "model_production_version",
        "Production version number, 0 without one.",
        per_model(&|m| Some(m.production.unwrap_or(0) as f64)),
    );
    gauge(
        "model_production_age_seconds",
        "Age of the production version.",
        per_model(&|m| m.production_age_days.map(|d| d * 86_400.0)),
    );
    gauge(
        "model_test_metric",
        "The gate metric (evaluation.metric) of the newest version on its test window.",
        per_model(&|m| m.test_history.last().copied()),
    );
    gauge(
        "model_live_win_rate",
        "Win rate of live trades since the promotion.",
        per_model(&|m| m.live_win_rate),
    );
    gauge(
        "model_live_signals",
        "Resolved live signals since the promotion.",
        per_model(&|m| Some(m.live_signals as f64)),
    );
    gauge(
        "model_drift_severity",
        "Severity of the last drift report: 0 none, 1 low, 2 medium, 3 high, 4 critical.",
        per_model(&|m| {
            m.drift.as_ref().map(|d| match d.severity.as_str() {
                "low" => 1.0,
                "medium" => 2.0,
                "high" => 3.0,
                "critical" => 4.0,
                _ => 0.0,
            })
        }),
    );
    gauge(
        "model_needs_retrain",
        "1 when run would retrain the model now.",
        per_model(&|m| Some(f64::from(u8::from(m.needs_retrain.is_some())))),
    );
    let open = store.alerts(false)?;
    gauge(
        "open_alerts",
        "Open alerts by severity.",
        ["low", "medium", "high", "critical"]
            .iter()
            .map(|s| {
                (format!("{{severity=\"{s}\"}}"), open.iter().filter(|a| a.severity == *s).count() as f64)
            })
            .collect(),
    );
    let (finished, succeeded, _) = store.job_totals(None, resolved.settings.status.recent_jobs as usize)?;
    gauge(
        "jobs_finished",
        "Finished jobs among the newest status.recent_jobs.",
        vec![(String::new(), finished as f64)],
    );
    gauge(
        "jobs_succeeded",
        "Succeeded jobs among the newest status.recent_jobs.",
        vec![(String::new(), succeeded as f64)],
    );
    if let Some((_, at)) = store.last_successful_run()? {
        gauge(
            "last_successful_run_timestamp_seconds",
            "When the last run with no failed job ended.",
            vec![(String::new(), at as f64 / 1000.0)],
        );
    }
    let healthy = problems(resolved, store)?.is_empty();
    gauge("healthy", "1 when status --check passes.", vec![(String::new(), f64::from(u8::from(healthy)))]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped_as_the_exposition_format_asks() {
        assert_eq!(super::label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(super::label("x\ny"), r"x\ny");
        assert_eq!(super::label("BTCUSDT"), "BTCUSDT");
    }
}
