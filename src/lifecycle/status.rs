//! The status report: the whole fleet at one instant, built once from the store as typed,
//! serialisable data. `status` renders it as a table, as JSON and as Prometheus gauges;
//! nothing that renders it queries the store. One symbol's detail is [`super::detail`].
//!
//! Every model with a version or listed under `symbols:` has a row, and its NEEDS RETRAIN
//! is the job `run --dry-run` at the same instant would plan, decided by the same code
//! ([`super::assess`]).

use serde::Serialize;

use super::assess::{self, Assessed, Keeping, Mode};
use crate::candles::Interval;
use crate::candles::time::{serialize_rfc3339 as rfc3339, serialize_rfc3339_opt as rfc3339_opt, wall_millis};
use crate::config::{Regime, Resolved, SearchMetric, Severity};
use crate::evaluation::Record;
use crate::kinds::{JobStage, JobStatus, VersionStatus};
use crate::store::{AlertCounts, Store};
use crate::triggers::{Priority, TriggerKind};

pub(crate) fn severity_or_none<S: serde::Serializer>(
    severity: &Option<Severity>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(severity.map_or("none", Severity::as_str))
}

/// The fleet at one instant.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The instant the report describes (the wall clock when it was made).
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
    pub database: String,
    pub database_bytes: u64,
    /// Bytes of every artifact file (`None` when the models cannot be listed); `prune`
    /// bounds it.
    pub artifact_bytes: Option<u64>,
    /// The gate metric (`evaluation.metric`) the TEST figures are in.
    pub metric: SearchMetric,
    pub models: Vec<ModelRow>,
    /// Models left out of the assessment, and why.
    pub left_out: Vec<String>,
    pub queue: Vec<QueuedRequest>,
    pub running: Vec<RunningJob>,
    pub jobs: JobsSummary,
    pub open_alerts: AlertCounts,
    pub health: Health,
    pub series: Vec<Series>,
    pub trade_outcomes: Vec<TradeOutcomes>,
}

/// One model's row.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    pub symbol: String,
    pub regime: Regime,
    pub interval: Interval,
    /// configured (under `symbols:`), requested (only a manual request), or not_kept
    /// (trained by hand; `run` leaves it alone).
    pub keeping: Keeping,
    pub production: Option<i64>,
    pub production_age_days: Option<f64>,
    /// The production version's gate metric on its test window.
    pub production_test_metric: Option<f64>,
    /// The newest candidate, if newer than production.
    pub candidate: Option<i64>,
    pub canary: Option<Canary>,
    pub last_job: Option<LastJob>,
    /// The gate metric's name.
    pub metric: &'static str,
    /// The gate metric on the test windows of the newest versions, oldest first.
    pub test_history: Vec<f64>,
    /// improving, declining or stable (see [`trend`]); `None` with fewer than two versions.
    pub trend: Option<&'static str>,
    pub sparkline: String,
    pub live_signals: usize,
    pub live_win_rate: Option<f64>,
    /// The production version's last drift report.
    pub drift: Option<LastDrift>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub next_scheduled: Option<i64>,
    /// The job `run` would start now: `kind (priority): reasons`.
    pub needs_retrain: Option<String>,
    /// Why `run` would start no job now.
    pub not_due: Option<String>,
    /// When drift or decay may fire again, while the back-off after refused retrains holds
    /// them.
    #[serde(serialize_with = "rfc3339_opt")]
    pub backoff_until: Option<i64>,
    /// What could not be learned about the model.
    pub notes: Vec<String>,
}

/// The last job of a model.
#[derive(Debug, Clone, Serialize)]
pub struct LastJob {
    pub trigger: TriggerKind,
    /// The clock of the run that took it.
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
    pub status: JobStatus,
}

/// The production version's last drift report.
#[derive(Debug, Clone, Serialize)]
pub struct LastDrift {
    /// low, medium, high, critical, or none.
    #[serde(serialize_with = "severity_or_none")]
    pub severity: Option<Severity>,
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
}

/// A running canary test.
#[derive(Debug, Clone, Serialize)]
pub struct Canary {
    pub version: i64,
    pub traffic_split: f64,
}

/// A manual request waiting for the next run.
#[derive(Debug, Clone, Serialize)]
pub struct QueuedRequest {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub priority: Priority,
    pub reason: String,
    #[serde(serialize_with = "rfc3339")]
    pub requested_at: i64,
}

/// A job a run is working on.
#[derive(Debug, Clone, Serialize)]
pub struct RunningJob {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub trigger: TriggerKind,
    /// `None` before its first step.
    pub stage: Option<JobStage>,
    /// Seconds since its run started.
    pub elapsed_seconds: f64,
    /// The average duration of the model's recent finished jobs.
    pub usual_seconds: Option<f64>,
    /// `host pid` of the worker that holds it.
    pub worker: Option<String>,
    /// Seconds left on the worker's lease (negative: it ran out, and the next worker to
    /// look takes the job over).
    pub lease_seconds_left: Option<f64>,
    /// How many workers have claimed it (more than 1: taken over).
    pub attempts: i64,
}

/// The newest `status.recent_jobs` finished jobs.
#[derive(Debug, Clone, Serialize)]
pub struct JobsSummary {
    pub recent: usize,
    pub finished: i64,
    pub succeeded: i64,
    pub average_seconds: Option<f64>,
    /// The mean change of the gate metric from the parent version per retrain.
    pub average_improvement: Option<f64>,
}

/// Whether the fleet is healthy, and which run holds the state.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub healthy: bool,
    /// Open alerts at high or above, a last successful run older than
    /// `status.max_run_age_hours` (or none).
    pub problems: Vec<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub last_successful_run: Option<i64>,
    /// A run marked running, newest: working, or dead without finishing.
    pub run: Option<RunState>,
}

/// A run marked running in the state.
#[derive(Debug, Clone, Serialize)]
pub struct RunState {
    pub pid: i64,
    #[serde(serialize_with = "rfc3339")]
    pub started_at: i64,
    /// Whether its process still exists; a dead one's job is abandoned by the next run.
    pub alive: bool,
}

/// What is stored of one series.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub symbol: String,
    pub interval: Interval,
    pub candles: u64,
    #[serde(serialize_with = "rfc3339")]
    pub first_open_time: i64,
    #[serde(serialize_with = "rfc3339")]
    pub last_open_time: i64,
    pub gaps: u64,
    pub missing_bars: u64,
    pub last_collect: Option<LastCollect>,
}

/// A series' latest accepted batch.
#[derive(Debug, Clone, Serialize)]
pub struct LastCollect {
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
    pub source: String,
    pub inserted: u64,
    pub updated: u64,
    pub quality_score: f64,
}

/// Trade outcomes stored for a symbol.
#[derive(Debug, Clone, Serialize)]
pub struct TradeOutcomes {
    pub symbol: String,
    pub count: u64,
    #[serde(serialize_with = "rfc3339")]
    pub last_closed_at: i64,
}

/// Versions whose test metric the trend and the sparkline show.
const HISTORY: usize = 8;

/// The fleet at `now`, from the store: every model assessed as `run --dry-run` would.
pub fn report(resolved: &Resolved, store: &mut Store, now: i64) -> anyhow::Result<StatusReport> {
    let settings = &resolved.settings;
    let previous = store.previous_run_now(None)?;
    let metric = settings.evaluation.metric;
    let (assessed, left_out) = assess::assess(resolved, store, now, previous, Mode::Measure)?;
    let mut models = Vec::with_capacity(assessed.len());
    for a in &assessed {
        models.push(model_row(resolved, store, a, metric, now)?);
    }
    let recent = settings.status.recent_jobs as usize;
    let totals = store.job_totals(None, recent)?;
    let mut running = Vec::new();
    for j in store.running_jobs()? {
        let usual = store.job_totals(Some((&j.symbol, j.regime)), recent)?.average_seconds;
        running.push(RunningJob {
            id: j.id,
            symbol: j.symbol,
            regime: j.regime,
            trigger: j.trigger,
            stage: j.stage,
            elapsed_seconds: (now - j.run_started_at) as f64 / 1000.0,
            usual_seconds: usual,
            lease_seconds_left: j.lease_until.map(|until| (until - wall_millis()) as f64 / 1000.0),
            worker: j.worker,
            attempts: j.attempts,
        });
    }
    let queue = store
        .requests()?
        .into_iter()
        .map(|j| QueuedRequest {
            id: j.id,
            symbol: j.symbol,
            regime: j.regime,
            priority: j.priority,
            reason: j.reason,
            requested_at: j.requested_at,
        })
        .collect();
    let series = store
        .series_summaries()?
        .into_iter()
        .map(|s| Series {
            symbol: s.symbol,
            interval: s.interval,
            candles: s.candles,
            first_open_time: s.first_open_time,
            last_open_time: s.last_open_time,
            gaps: s.gaps,
            missing_bars: s.missing_bars,
            last_collect: s.last_collect.map(|c| LastCollect {
                at: c.finished_at,
                source: c.source,
                inserted: c.inserted,
                updated: c.updated,
                quality_score: c.quality_score,
            }),
        })
        .collect();
    let trade_outcomes = store
        .trade_outcome_counts()?
        .into_iter()
        .map(|t| TradeOutcomes { symbol: t.symbol, count: t.count, last_closed_at: t.last_closed_at })
        .collect();
    Ok(StatusReport {
        at: now,
        database: store.location().display(),
        database_bytes: store.size_bytes()?,
        artifact_bytes: resolved
            .models()
            .ok()
            .and_then(|models| models.list().ok())
            .map(|files| files.iter().map(|(_, size)| size).sum()),
        metric,
        models,
        left_out,
        queue,
        running,
        jobs: JobsSummary {
            recent,
            finished: totals.finished,
            succeeded: totals.succeeded,
            average_seconds: totals.average_seconds,
            average_improvement: store.average_improvement(metric_path(metric), recent)?,
        },
        open_alerts: store.open_alert_counts()?,
        health: health(resolved, store, now)?,
        series,
        trade_outcomes,
    })
}

fn model_row(
    resolved: &Resolved,
    store: &Store,
    a: &Assessed,
    metric: SearchMetric,
    now: i64,
) -> anyhow::Result<ModelRow> {
    let production = a.production();
    let candidate = a
        .versions
        .iter()
        .find(|v| v.status == VersionStatus::Candidate)
        .filter(|c| production.is_none_or(|p| c.version > p.version))
        .map(|c| c.version);
    let canary = store.running_test(&a.symbol, a.regime)?.and_then(|t| {
        a.versions
            .iter()
            .find(|v| v.id == t.challenger_id)
            .map(|v| Canary { version: v.version, traffic_split: t.traffic_split })
    });
    let test_history: Vec<f64> = store
        .test_records(&a.symbol, a.regime, HISTORY)?
        .iter()
        .rev()
        .filter_map(|r| r.value(metric))
        .collect();
    let (production_test_metric, drift) = match production {
        Some(p) => (
            store.test_record(p.id)?.and_then(|r: Record| r.value(metric)),
            store.latest_drift(p.id)?.map(|d| LastDrift { severity: d.severity, at: d.created_at }),
        ),
        None => (None, None),
    };
    let model = format!("{}/{}", a.symbol, a.regime);
    Ok(ModelRow {
        symbol: a.symbol.to_string(),
        regime: a.regime,
        interval: a.interval,
        keeping: a.keeping,
        production: production.map(|p| p.version),
        production_age_days: a.facts.production_age_days,
        production_test_metric,
        candidate,
        canary,
        last_job: store.last_job(&a.symbol, a.regime)?.map(|j| LastJob {
            trigger: j.trigger,
            at: j.at,
            status: j.status,
        }),
        metric: metric.as_str(),
        trend: trend(&test_history),
        sparkline: sparkline(&test_history),
        test_history,
        live_signals: a.facts.live.map_or(0, |l| l.signals),
        live_win_rate: a.facts.live.and_then(|l| l.win_rate),
        drift,
        next_scheduled: assess::next_scheduled(resolved, &model, now),
        needs_retrain: a.job().map(|t| t.to_string()),
        not_due: a.not_due(resolved),
        backoff_until: a.verdict.backoff_until,
        notes: a.notes.clone(),
    })
}

/// Why the fleet is unhealthy at `now`, if it is: open alerts at high or above, and a last
/// successful run older than `status.max_run_age_hours` (or none).
pub fn health(resolved: &Resolved, store: &Store, now: i64) -> anyhow::Result<Health> {
    let mut problems = Vec::new();
    let serious: Vec<_> = store.alerts(false)?.into_iter().filter(|a| a.severity >= Severity::High).collect();
    if let Some(oldest) = serious.last() {
        problems.push(format!(
            "{} open alert(s) at high or above, the oldest {} {}: {}",
            serious.len(),
            oldest.severity,
            oldest.kind,
            oldest.message
        ));
    }
    let limit = resolved.settings.status.max_run_age_hours;
    let last = store.last_successful_run()?;
    match last {
        None => problems.push("no successful `retrain run` yet".into()),
        Some(run) => {
            let hours = (now - run.finished_at) as f64 / 3_600_000.0;
            if hours > limit {
                problems.push(format!(
                    "the last successful run ended {hours:.1} h ago, more than status.max_run_age_hours {limit}"
                ));
            }
        }
    }
    // Read from the runs table, never by touching the lock: a probe must not stop a run.
    let run = store.running_runs()?.last().map(|r| RunState {
        pid: r.pid,
        started_at: r.started_at,
        alive: crate::lock::pid_alive(r.pid),
    });
    Ok(Health {
        healthy: problems.is_empty(),
        problems,
        last_successful_run: last.map(|r| r.finished_at),
        run,
    })
}

/// Where `metric` sits in a stored evaluation (JSON path).
fn metric_path(metric: SearchMetric) -> &'static str {
    match metric {
        SearchMetric::F1 => "$.classification.f1",
        SearchMetric::Auc => "$.classification.roc_auc",
        SearchMetric::Sharpe => "$.trading.sharpe",
    }
}

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
