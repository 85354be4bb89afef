//! `report --replay FILE.json`: the part of a replay's report (`retrain replay --json`) that
//! the page draws, read and checked before anything is written.

use std::path::Path;

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::error::Failure;

/// What the page shows of a replay; instants as epoch seconds, as the charts take them.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    pub file: String,
    pub from: f64,
    pub to: f64,
    pub verdict: String,
    pub policies: Vec<Policy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub name: String,
    pub rule: String,
    pub total_return: f64,
    pub sharpe: Option<f64>,
    pub max_drawdown: f64,
    pub trades: u64,
    pub retrains: u64,
    pub promotions: u64,
    pub rollbacks: u64,
    pub equity: Vec<(f64, f64)>,
    pub retrain_times: Vec<f64>,
    pub promotion_times: Vec<f64>,
    pub rollback_times: Vec<f64>,
}

#[derive(Deserialize)]
struct FileReport {
    from: String,
    to: String,
    verdict: String,
    policies: Vec<FilePolicy>,
}

#[derive(Deserialize)]
struct FilePolicy {
    name: String,
    rule: String,
    fleet: FileTrading,
    counts: FileCounts,
    curve: FileCurve,
}

#[derive(Deserialize)]
struct FileTrading {
    total_return: f64,
    sharpe: Option<f64>,
    max_drawdown: f64,
    trades: u64,
}

#[derive(Deserialize)]
struct FileCounts {
    retrains: u64,
    promotions: u64,
    rollbacks: u64,
}

#[derive(Deserialize)]
struct FileCurve {
    equity: Vec<(String, f64)>,
    retrains: Vec<String>,
    promotions: Vec<String>,
    rollbacks: Vec<String>,
}

/// Read a replay report, naming the file and what is wrong with it.
pub fn read(path: &Path) -> anyhow::Result<Replay> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Input(format!("--replay {name}: cannot read it: {e}")))?;
    let file: FileReport = serde_json::from_str(&text).map_err(|e| {
        Failure::Input(format!(
            "--replay {name}: not the JSON report of `retrain replay --json` ({e}); write one with \
             `retrain replay --from .. --to .. --json > {name}`"
        ))
    })?;
    let seconds = |text: &str, what: &str| -> anyhow::Result<f64> {
        DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis() as f64 / 1e3).map_err(|e| {
            Failure::Input(format!("--replay {name}: {what} {text:?} is not an RFC 3339 time: {e}")).into()
        })
    };
    let mut policies = Vec::with_capacity(file.policies.len());
    for p in file.policies {
        let times = |list: &[String], what: &str| -> anyhow::Result<Vec<f64>> {
            list.iter().map(|t| seconds(t, &format!("policy {}'s {what}", p.name))).collect()
        };
        let mut equity = Vec::with_capacity(p.curve.equity.len());
        for (t, e) in &p.curve.equity {
            if !e.is_finite() {
                return Err(Failure::Input(format!(
                    "--replay {name}: policy {}'s equity at {t} is {e}, not a number",
                    p.name
                ))
                .into());
            }
            equity.push((seconds(t, &format!("policy {}'s equity time", p.name))?, *e));
        }
        policies.push(Policy {
            retrain_times: times(&p.curve.retrains, "retrain time")?,
            promotion_times: times(&p.curve.promotions, "promotion time")?,
            rollback_times: times(&p.curve.rollbacks, "rollback time")?,
            name: p.name,
            rule: p.rule,
            total_return: p.fleet.total_return,
            sharpe: p.fleet.sharpe,
            max_drawdown: p.fleet.max_drawdown,
            trades: p.fleet.trades,
            retrains: p.counts.retrains,
            promotions: p.counts.promotions,
            rollbacks: p.counts.rollbacks,
            equity,
        });
    }
    if policies.is_empty() {
        return Err(Failure::Input(format!("--replay {name}: the report has no policy")).into());
    }
    Ok(Replay {
        from: seconds(&file.from, "from")?,
        to: seconds(&file.to, "to")?,
        verdict: file.verdict,
        file: name,
        policies,
    })
}
