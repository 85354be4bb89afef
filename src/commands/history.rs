//! `retrain history`: the deployment record, and which version was live at a time.

use std::collections::BTreeMap;

use serde_json::json;

use super::existing_store;
use crate::candles::time::{format_rfc3339, format_second};
use crate::cli::HistoryArgs;
use crate::config::{Regime, Resolved};
use crate::error::code;
use crate::kinds::{DeploymentAction, JobStatus};
use crate::output::Table;
use crate::store::{DeploymentRow, JobRow};

pub fn run(resolved: &Resolved, args: &HistoryArgs) -> anyhow::Result<u8> {
    let regime = args.regime;
    let store = existing_store(resolved)?;
    if args.jobs {
        let jobs: Vec<JobRow> = store
            .jobs(None)?
            .into_iter()
            .filter(|j| args.symbol.as_ref().is_none_or(|s| *s == j.symbol.as_str()))
            .filter(|j| regime.is_none_or(|r| r == j.regime))
            .collect();
        return list_jobs(&jobs, args.json);
    }
    let rows = store.deployments(args.symbol.as_deref(), regime)?;
    match args.at {
        Some(at) => live_at(&rows, at, args.json),
        None => list(&rows, args.json),
    }
}

fn version(v: Option<i64>) -> String {
    v.map_or("-".into(), |v| format!("v{v}"))
}

fn list(rows: &[DeploymentRow], as_json: bool) -> anyhow::Result<u8> {
    if as_json {
        let out: Vec<_> = rows
            .iter()
            .map(|d| {
                json!({
                    "at": format_rfc3339(d.created_at),
                    "symbol": d.symbol,
                    "regime": d.regime,
                    "action": d.action,
                    "from": d.from_version,
                    "to": d.to_version,
                    "canary": d.canary_version,
                    "reason": d.reason,
                    "forced": d.forced,
                    "by": d.actor,
                    "gates": d.gates,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({"deployments": out}))?);
        return Ok(code::OK);
    }
    if rows.is_empty() {
        println!("no deployments yet: `retrain promote` makes the first");
        return Ok(code::OK);
    }
    let mut table =
        Table::new(["TIME (UTC)", "SYMBOL", "REGIME", "ACTION", "FROM", "TO", "CANARY", "BY", "REASON"]);
    for d in rows {
        table.row(vec![
            format_second(d.created_at),
            d.symbol.clone(),
            d.regime.to_string(),
            if d.forced { format!("{} (forced)", d.action) } else { d.action.to_string() },
            version(d.from_version),
            version(d.to_version),
            version(d.canary_version),
            d.actor.clone(),
            d.reason.clone(),
        ]);
    }
    print!("{}", table.render());
    Ok(code::OK)
}

/// Per model, the version live at `at`: the `to` of its last row at or before `at`, and
/// the canary under test then, if any.
fn live_at(rows: &[DeploymentRow], at: i64, as_json: bool) -> anyhow::Result<u8> {
    let mut models: BTreeMap<(&str, Regime), Vec<&DeploymentRow>> = BTreeMap::new();
    for d in rows {
        models.entry((d.symbol.as_str(), d.regime)).or_default().push(d);
    }
    let mut out = Vec::new();
    for ((symbol, regime), rows) in &models {
        let before: Vec<&&DeploymentRow> = rows.iter().filter(|d| d.created_at <= at).collect();
        let canary = before
            .last()
            .filter(|d| d.action == DeploymentAction::CanaryStart)
            .and_then(|d| d.canary_version);
        // The row that put the live version there (canary rows that kept it do not).
        let last = before.iter().rev().find(|d| d.from_version != d.to_version).map(|d| **d);
        out.push((symbol, regime, last, canary));
    }
    if as_json {
        let doc: Vec<_> = out
            .iter()
            .map(|(symbol, regime, last, canary)| {
                json!({
                    "symbol": symbol,
                    "regime": regime,
                    "at": format_rfc3339(at),
                    "live": last.and_then(|d| d.to_version),
                    "since": last.map(|d| format_rfc3339(d.created_at)),
                    "by": last.map(|d| format!("{}: {}", d.action, d.reason)),
                    "canary": canary,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({"live": doc}))?);
        return Ok(code::OK);
    }
    if out.is_empty() {
        println!("no deployments match: no version was live at {}", format_second(at));
    }
    for (symbol, regime, last, canary) in out {
        match last.and_then(|d| d.to_version.map(|v| (d, v))) {
            Some((d, live)) => println!(
                "{symbol} {regime} at {}: v{live} was live (since {}, {} by {}: {}){}",
                format_second(at),
                format_second(d.created_at),
                d.action,
                d.actor,
                d.reason,
                canary.map_or(String::new(), |c| format!("; canary v{c} under test"))
            ),
            None => println!("{symbol} {regime} at {}: no version was live yet", format_second(at)),
        }
    }
    Ok(code::OK)
}

/// The jobs of `run`, with the success rate and average duration of the finished ones.
fn list_jobs(jobs: &[JobRow], as_json: bool) -> anyhow::Result<u8> {
    let finished: Vec<&JobRow> =
        jobs.iter().filter(|j| matches!(j.status, JobStatus::Succeeded | JobStatus::Failed)).collect();
    let succeeded = finished.iter().filter(|j| j.status == JobStatus::Succeeded).count();
    let rate = (!finished.is_empty()).then(|| succeeded as f64 / finished.len() as f64);
    let seconds: Vec<f64> = finished.iter().filter_map(|j| j.seconds).collect();
    let average = (!seconds.is_empty()).then(|| seconds.iter().sum::<f64>() / seconds.len() as f64);
    if as_json {
        let rows: Vec<_> = jobs
            .iter()
            .map(|j| {
                json!({
                    "id": j.id,
                    "symbol": j.symbol,
                    "regime": j.regime,
                    "trigger": j.trigger,
                    "priority": j.priority,
                    "status": j.status,
                    "reason": j.reason,
                    "requested_at": format_rfc3339(j.requested_at),
                    "run_at": j.run_now.map(format_rfc3339),
                    "seconds": j.seconds,
                    "version": j.version,
                    "outcome": j.outcome,
                    "error": j.error,
                })
            })
            .collect();
        let doc = json!({"jobs": rows, "finished": finished.len(), "success_rate": rate, "average_seconds": average});
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(code::OK);
    }
    if jobs.is_empty() {
        println!("no jobs yet: `retrain run` makes them");
        return Ok(code::OK);
    }
    let mut table = Table::new([
        "ID",
        "RUN AT (UTC)",
        "SYMBOL",
        "REGIME",
        "TRIGGER",
        "PRIORITY",
        "STATUS",
        "SECONDS",
        "VERSION",
        "RESULT",
    ]);
    for j in jobs {
        table.row(vec![
            j.id.to_string(),
            j.run_now.map_or("-".into(), format_second),
            j.symbol.clone(),
            j.regime.to_string(),
            j.trigger.to_string(),
            j.priority.to_string(),
            j.status.to_string(),
            j.seconds.map_or("-".into(), |s| format!("{s:.1}")),
            version(j.version),
            j.error.clone().or_else(|| j.outcome.clone()).unwrap_or_else(|| j.reason.clone()),
        ]);
    }
    print!("{}", table.render());
    println!(
        "{} finished: {} succeeded ({}), average {}",
        finished.len(),
        succeeded,
        rate.map_or("-".to_string(), |r| format!("{:.0}%", 100.0 * r)),
        average.map_or("-".to_string(), |a| format!("{a:.1} s"))
    );
    Ok(code::OK)
}
