//! The fleet as `status` shows it: one row per model, from stored facts only, with the
//! "needs retrain" verdict computed by the same code `run` uses.

use serde::Serialize;

use super::run::{Assessed, Mode, assess};
use crate::candles::time::format_minute;
use crate::config::Resolved;
use crate::evaluation::Record;
use crate::schedule::{self, Crontab};
use crate::store::Store;
use crate::triggers;

fn rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::candles::time::format_rfc3339(*ms))
}

fn rfc3339_opt<S: serde::Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => rfc3339(ms, s),
        None => s.serialize_none(),
    }
}

/// The last job of a model.
#[derive(Debug, Clone, Serialize)]
pub struct LastJob {
    pub trigger: String,
    /// The clock of the run that took it.
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
    pub status: String,
}

/// The production version's last drift report.
#[derive(Debug, Clone, Serialize)]
pub struct LastDrift {
    /// low, medium, high, critical, or none.
    pub severity: String,
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
}

/// A running canary test.
#[derive(Debug, Clone, Serialize)]
pub struct Canary {
    pub version: i64,
    pub traffic_split: f64,
}

/// One model's row.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    pub symbol: String,
    pub regime: String,
    pub interval: String,
    pub production: Option<i64>,
    pub production_age_days: Option<f64>,
    /// The newest candidate, if newer than production.
    pub candidate: Option<i64>,
    pub canary: Option<Canary>,
    pub last_job: Option<LastJob>,
    /// The gate metric on the test windows of the last versions, oldest first.
    pub metric: String,
    pub test_history: Vec<f64>,
    /// improving, declining or stable (see [`trend`]); `None` with fewer than two versions.
    pub trend: Option<String>,
    pub sparkline: String,
    pub live_signals: usize,
    pub live_win_rate: Option<f64>,
    pub drift: Option<LastDrift>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub next_scheduled: Option<i64>,
    /// The merged trigger, as `run` would see it now from stored facts.
    pub needs_retrain: Option<String>,
}

/// Versions whose test metric the trend and the sparkline show.
const HISTORY: usize = 8;

/// The trend of a metric over versions: the mean of the last three against the mean of
/// the three before (fewer when there are fewer); a change of more than 0.01 either way is
/// improving or declining, anything less stable.
pub fn trend(values: &[f64]) -> Option<&'static str> {
    if values.len() < 2 {
        return None;
    }
    let recent = values.len().div_ceil(2).min(3);
    let (before, after) = values.split_at(values.len() - recent);
    let before = &before[before.len().saturating_sub(3)..];
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let change = mean(after) - mean(before);
    Some(if change > 0.01 {
        "improving"
    } else if change < -0.01 {
        "declining"
    } else {
        "stable"
    })
}

/// Eight-level bars from the smallest to the largest value.
pub fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (low, high) =
        values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
    values
        .iter()
        .map(|v| if high > low { BARS[(((v - low) / (high - low)) * 7.0).round() as usize] } else { BARS[3] })
        .collect()
}

/// Every model `run` keeps (configured, or with a manual request), from what is stored.
pub fn rows(resolved: &Resolved, store: &mut Store, now: i64) -> anyhow::Result<Vec<ModelRow>> {
    let previous = store.previous_run_now(None)?;
    let metric = resolved.settings.evaluation.metric;
    let mut out = Vec::new();
    for Assessed { symbol, regime, interval, facts, fired, versions, .. } in
        assess(resolved, store, now, previous, Mode::Stored)?
    {
        let production = versions.iter().find(|v| v.status == "production");
        let candidate = versions
            .iter()
            .find(|v| v.status == "candidate")
            .filter(|c| production.is_none_or(|p| c.version > p.version))
            .map(|c| c.version);
        let canary = store.running_test(&symbol, regime.as_str())?.and_then(|t| {
            versions
                .iter()
                .find(|v| v.id == t.challenger_id)
                .map(|v| Canary { version: v.version, traffic_split: t.traffic_split })
        });
        let test_history: Vec<f64> = store
            .test_evaluations(&symbol, regime, HISTORY)?
            .iter()
            .rev()
            .filter_map(|t| serde_json::from_str::<Record>(t).ok().and_then(|r| r.value(metric)))
            .collect();
        let drift = match production {
            Some(p) => store.latest_drift(p.id)?.map(|(_, severity, at)| LastDrift {
                severity: severity.unwrap_or_else(|| "none".into()),
                at,
            }),
            None => None,
        };
        let next_scheduled = resolved
            .settings
            .schedule
            .jobs
            .iter()
            .find(|j| super::run::applies(&j.models, &format!("{symbol}/{regime}")))
            .and_then(|j| {
                let cron: Crontab = j.cron.parse().ok()?;
                let tz = schedule::zone(&j.timezone).ok()?;
                cron.first_after(tz, chrono::DateTime::from_timestamp_millis(now)?)
            })
            .map(|t| t.timestamp_millis());
        out.push(ModelRow {
            interval: interval.to_string(),
            production: production.map(|p| p.version),
            production_age_days: facts.production_age_days,
            candidate,
            canary,
            last_job: store.last_job(&symbol, regime.as_str())?.map(|(trigger, at, status)| LastJob {
                trigger,
                at,
                status,
            }),
            metric: metric.as_str().into(),
            trend: trend(&test_history).map(str::to_string),
            sparkline: sparkline(&test_history),
            test_history,
            live_signals: facts.live.map_or(0, |l| l.0),
            live_win_rate: facts.live.and_then(|l| l.1),
            drift,
            next_scheduled,
            needs_retrain: triggers::merge(&fired)
                .map(|t| format!("{} ({}): {}", t.kind, t.priority, t.reason)),
            symbol,
            regime: regime.to_string(),
        });
    }
    Ok(out)
}

/// A duration in days, hours or minutes, for ages.
pub fn age(days: f64) -> String {
    if days >= 1.0 {
        format!("{days:.1}d")
    } else if days * 24.0 >= 1.0 {
        format!("{:.1}h", days * 24.0)
    } else {
        format!("{:.0}m", days * 24.0 * 60.0)
    }
}

/// `2022-02-07 02:00` or `-`.
pub fn minute(ms: Option<i64>) -> String {
    ms.map_or("-".into(), format_minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trends_compare_the_last_three_with_the_three_before() {
        assert_eq!(trend(&[0.5]), None);
        assert_eq!(trend(&[0.50, 0.52]), Some("improving"));
        assert_eq!(trend(&[0.50, 0.505]), Some("stable"));
        // Last three 0.40 against the three before 0.50.
        assert_eq!(trend(&[0.9, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4]), Some("declining"));
        assert_eq!(sparkline(&[0.1, 0.2, 0.3]), "▁▅█");
        assert_eq!(sparkline(&[0.3, 0.3]), "▄▄");
    }
}
