//! What `retrain report` draws, as typed data: the status report (the same
//! one `status --json` prints), and per model its history over the last days: the gate
//! metric of every test and backtest, which version was production or canary when, the
//! live win rate over its resolved signals, its drift checks with the top features of
//! the latest, and the latest gate table; then the jobs. The page renders it and inlines
//! it for its charts; nothing that renders it reads the store.

use std::collections::BTreeMap;

use super::detail::Deployment;
use super::status::{self, StatusReport};
use crate::config::{Regime, Resolved, Severity};
use crate::deploy::canary::Arm;
use crate::kinds::{DeploymentAction, EvaluationKind, JobStatus};
use crate::store::{AlertRow, DeploymentRow, DriftFeature, ResolvedSignal, Store};
use crate::triggers::TriggerKind;

/// Points at most in a model's win-rate series: a longer one keeps evenly spaced points
/// and its last (the value `status` shows).
pub const MAX_WIN_RATE_POINTS: usize = 240;
/// Features listed from a model's latest drift check.
pub const TOP_FEATURES: usize = 5;
/// Jobs listed in the page's table (all of the window are in its daily figures).
pub const RECENT_JOBS: usize = 50;

/// What to report on.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only this symbol's models, queue and jobs.
    pub symbol: Option<String>,
    /// The history shown: the last `days` days before now.
    pub days: u32,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub at: i64,
    /// The start of the history shown.
    pub since: i64,
    pub days: u32,
    pub symbol: Option<String>,
    /// `triggers.min_win_rate`, drawn on the win-rate charts.
    pub min_win_rate: f64,
    /// `triggers.live_window`: the win rate is over a version's newest this many.
    pub live_window: u32,
    /// The fleet as `status --json` gives it (only the symbol's models and queue with
    /// --symbol).
    pub status: StatusReport,
    /// Open alerts, newest first.
    pub alerts: Vec<Alert>,
    pub models: Vec<ModelHistory>,
    pub jobs: Jobs,
}

/// An open alert.
#[derive(Debug, Clone)]
pub struct Alert {
    pub id: i64,
    pub severity: Severity,
    pub kind: String,
    pub model: Option<String>,
    pub message: String,
    pub at: i64,
    pub acknowledged: bool,
}

/// One model's history over the window.
#[derive(Debug, Clone)]
pub struct ModelHistory {
    pub symbol: String,
    pub regime: Regime,
    /// The gate metric's name.
    pub metric: &'static str,
    /// Tests (at training) and later backtests, oldest first.
    pub evaluations: Vec<Evaluation>,
    /// The model's deployments in the window, oldest first, as `history` lists them.
    pub deployments: Vec<Deployment>,
    /// Which version was production, and which canary, from `since` (or the first
    /// deployment) to now: one point per change, and one at each end.
    pub timeline: Vec<Live>,
    /// The live win rate after each resolved signal of the production version (the
    /// canary's arm is left out), as `status` computes it at that signal.
    pub win_rate: Vec<WinRate>,
    /// Resolved signals in the window (before thinning to the points above).
    pub resolved_signals: usize,
    /// Drift checks of versions that went live, oldest first.
    pub drift: Vec<DriftCheck>,
    /// The features of the latest drift check, drifted first, then by PSI.
    pub top_features: Vec<DriftFeature>,
    /// The gates of the latest deployment that checked them.
    pub gates: Option<Gates>,
}

#[derive(Debug, Clone)]
pub struct Evaluation {
    pub version: i64,
    pub kind: EvaluationKind,
    pub at: i64,
    pub window_to: i64,
    /// The gate metric (`None` where undefined).
    pub value: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub at: i64,
    pub production: Option<i64>,
    pub canary: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct WinRate {
    /// The signal's bar.
    pub at: i64,
    /// When it was served.
    pub served: i64,
    pub version: i64,
    /// Resolved signals and trades in the window the rate is over.
    pub signals: usize,
    pub trades: usize,
    /// `None` without a trade.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct DriftCheck {
    pub at: i64,
    pub version: i64,
    pub severity: Option<Severity>,
    pub drifted_features: i64,
}

#[derive(Debug, Clone)]
pub struct Gates {
    /// The version the gates were checked for.
    pub version: Option<i64>,
    pub action: DeploymentAction,
    pub at: i64,
    pub forced: bool,
    pub gates: Vec<crate::deploy::gates::Gate>,
}

/// The jobs of the window.
#[derive(Debug, Clone)]
pub struct Jobs {
    /// Finished (succeeded or failed) in the window.
    pub finished: usize,
    pub succeeded: usize,
    pub average_seconds: Option<f64>,
    /// The newest [`RECENT_JOBS`], newest first.
    pub recent: Vec<Job>,
    /// Per UTC day with a finished job, oldest first.
    pub days: Vec<JobDay>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub trigger: TriggerKind,
    pub status: JobStatus,
    /// The clock of the run that took it.
    pub run_at: Option<i64>,
    pub seconds: Option<f64>,
    pub version: Option<i64>,
    /// Its error, else its outcome, else why it was asked for.
    pub result: String,
}

#[derive(Debug, Clone)]
pub struct JobDay {
    pub day: i64,
    pub finished: usize,
    pub succeeded: usize,
    pub average_seconds: Option<f64>,
}

const DAY: i64 = 86_400_000;

/// The report at `now`.
pub fn report(resolved: &Resolved, store: &mut Store, now: i64, options: &Options) -> anyhow::Result<Report> {
    let settings = &resolved.settings;
    let since = now.saturating_sub(i64::from(options.days) * DAY);
    let mut status = status::report(resolved, store, now)?;
    let keep = |symbol: &str| options.symbol.as_deref().is_none_or(|s| s == symbol);
    status.models.retain(|m| keep(&m.symbol));
    status.queue.retain(|q| keep(&q.symbol));
    status.running.retain(|r| keep(&r.symbol));
    status.series.retain(|s| keep(&s.symbol));
    status.trade_outcomes.retain(|t| keep(&t.symbol));

    let metric = settings.evaluation.metric;
    type Key = (String, Regime);
    let mut evaluations: BTreeMap<Key, Vec<Evaluation>> = BTreeMap::new();
    for e in store.evaluations_since(since)? {
        evaluations.entry((e.symbol, e.regime)).or_default().push(Evaluation {
            version: e.version,
            kind: e.kind,
            at: e.created_at,
            window_to: e.window_to,
            value: e.record.value(metric),
        });
    }
    let mut deployments: BTreeMap<Key, Vec<DeploymentRow>> = BTreeMap::new();
    for d in store.deployments(options.symbol.as_deref(), None)? {
        deployments.entry((d.symbol.clone(), d.regime)).or_default().push(d);
    }
    let mut drift: BTreeMap<Key, Vec<(i64, DriftCheck)>> = BTreeMap::new();
    for d in store.drift_checks_since(since)? {
        drift.entry((d.symbol, d.regime)).or_default().push((
            d.report_id,
            DriftCheck {
                at: d.created_at,
                version: d.version,
                severity: d.severity,
                drifted_features: d.drifted_features,
            },
        ));
    }

    let mut models = Vec::new();
    for m in &status.models {
        let key = (m.symbol.clone(), m.regime);
        let record = deployments.remove(&key).unwrap_or_default();
        let checks = drift.remove(&key).unwrap_or_default();
        let top_features = match checks.last() {
            Some((id, _)) => store.drift_features(*id)?.into_iter().take(TOP_FEATURES).collect(),
            None => Vec::new(),
        };
        // The win rate at the window's first signals counts the live version's earlier
        // ones: read from when the version live at `since` went live.
        let signals = store.resolved_signals(&m.symbol, m.regime, live_since(&record, since))?;
        let resolved_signals = signals.iter().filter(|s| s.created_at >= since).count();
        let gates = record.iter().rev().find_map(|d| {
            let list = serde_json::from_value::<Vec<crate::deploy::gates::Gate>>(d.gates.clone()?).ok()?;
            Some(Gates {
                version: if d.action == DeploymentAction::CanaryStart {
                    d.canary_version
                } else {
                    d.to_version
                },
                action: d.action,
                at: d.created_at,
                forced: d.forced,
                gates: list,
            })
        });
        models.push(ModelHistory {
            symbol: m.symbol.clone(),
            regime: m.regime,
            metric: metric.as_str(),
            evaluations: evaluations.remove(&key).unwrap_or_default(),
            timeline: timeline(&record, since, now),
            win_rate: thin(
                win_rates(&signals, &record, settings.triggers.live_window as usize)
                    .into_iter()
                    .filter(|w| w.served >= since)
                    .collect(),
            ),
            resolved_signals,
            drift: checks.into_iter().map(|(_, c)| c).collect(),
            top_features,
            gates,
            deployments: record.into_iter().filter(|d| d.created_at >= since).map(Deployment::from).collect(),
        });
    }

    let alerts = store
        .alerts(false)?
        .into_iter()
        .filter(|a| options.symbol.is_none() || a.symbol.as_deref().is_some_and(keep))
        .map(alert)
        .collect();
    let jobs = jobs(store.jobs(None)?.into_iter().filter(|j| keep(&j.symbol)).collect(), since);
    Ok(Report {
        at: now,
        since,
        days: options.days,
        symbol: options.symbol.clone(),
        min_win_rate: settings.triggers.min_win_rate,
        live_window: settings.triggers.live_window,
        status,
        alerts,
        models,
        jobs,
    })
}

fn alert(a: AlertRow) -> Alert {
    Alert {
        id: a.id,
        severity: a.severity,
        kind: a.kind.to_string(),
        model: a.symbol.map(|s| match a.regime {
            Some(r) => format!("{s} {r}"),
            None => s,
        }),
        message: a.message,
        at: a.created_at,
        acknowledged: a.acknowledged_at.is_some(),
    }
}

/// What was live from `since` to `now`: the state at `since` (or at the first deployment,
/// if later), each change, and the state at `now`.
pub fn timeline(record: &[DeploymentRow], since: i64, now: i64) -> Vec<Live> {
    let mut points = Vec::new();
    let (mut production, mut canary) = (None, None);
    for d in record {
        let before = (production, canary);
        production = d.to_version;
        canary = match d.action {
            DeploymentAction::CanaryStart => d.canary_version,
            _ => None,
        };
        if d.created_at < since {
            continue;
        }
        if points.is_empty() && before != (None, None) {
            points.push(Live { at: since, production: before.0, canary: before.1 });
        }
        points.push(Live { at: d.created_at, production, canary });
    }
    if points.is_empty() && (production, canary) != (None, None) {
        points.push(Live { at: since, production, canary });
    }
    if !points.is_empty() {
        points.push(Live { at: now.max(points[points.len() - 1].at), production, canary });
    }
    points
}

/// When the version live at `since` went live (`since` if none was, or it went live
/// later).
pub fn live_since(record: &[DeploymentRow], since: i64) -> i64 {
    record
        .iter()
        .filter(|d| d.created_at <= since && d.to_version.is_some() && d.from_version != d.to_version)
        .map(|d| d.created_at)
        .next_back()
        .unwrap_or(since)
}

/// After each resolved signal of the production version, its win rate over its newest
/// `window` resolved signals served since it last went live: [`Store::live_summary`]'s
/// figure at that signal.
pub fn win_rates(signals: &[ResolvedSignal], record: &[DeploymentRow], window: usize) -> Vec<WinRate> {
    // When each version went live, in order.
    let went_live: Vec<(i64, i64)> = record
        .iter()
        .filter_map(|d| d.to_version.filter(|&v| d.from_version != Some(v)).map(|v| (d.created_at, v)))
        .collect();
    let mut recent: BTreeMap<i64, (i64, std::collections::VecDeque<Option<bool>>)> = BTreeMap::new();
    let mut out = Vec::new();
    for s in signals.iter().filter(|s| s.arm != Some(Arm::Challenger)) {
        let since = went_live
            .iter()
            .filter(|(at, v)| *v == s.version && *at <= s.created_at)
            .map(|(at, _)| *at)
            .next_back()
            .unwrap_or(i64::MIN);
        let (start, outcomes) = recent.entry(s.version).or_insert_with(|| (since, Default::default()));
        if *start != since {
            *start = since;
            outcomes.clear();
        }
        outcomes.push_back(s.win);
        if outcomes.len() > window.max(1) {
            outcomes.pop_front();
        }
        let trades = outcomes.iter().filter(|w| w.is_some()).count();
        let wins = outcomes.iter().filter(|w| **w == Some(true)).count();
        out.push(WinRate {
            at: s.open_time,
            served: s.created_at,
            version: s.version,
            signals: outcomes.len(),
            trades,
            rate: (trades > 0).then(|| wins as f64 / trades as f64),
        });
    }
    out
}

/// At most [`MAX_WIN_RATE_POINTS`], evenly spaced, the last always kept.
fn thin(points: Vec<WinRate>) -> Vec<WinRate> {
    let n = points.len();
    if n <= MAX_WIN_RATE_POINTS {
        return points;
    }
    (0..MAX_WIN_RATE_POINTS).map(|k| points[(k * (n - 1)) / (MAX_WIN_RATE_POINTS - 1)]).collect()
}

fn jobs(all: Vec<crate::store::JobRow>, since: i64) -> Jobs {
    let in_window: Vec<_> =
        all.into_iter().filter(|j| j.run_now.unwrap_or(j.requested_at) >= since).collect();
    let finished: Vec<_> =
        in_window.iter().filter(|j| matches!(j.status, JobStatus::Succeeded | JobStatus::Failed)).collect();
    let succeeded = finished.iter().filter(|j| j.status == JobStatus::Succeeded).count();
    let mean =
        |seconds: Vec<f64>| (!seconds.is_empty()).then(|| seconds.iter().sum::<f64>() / seconds.len() as f64);
    let mut days: BTreeMap<i64, (usize, usize, Vec<f64>)> = BTreeMap::new();
    for j in &finished {
        let at = j.run_now.unwrap_or(j.requested_at);
        let day = days.entry(at.div_euclid(DAY) * DAY).or_default();
        day.0 += 1;
        day.1 += usize::from(j.status == JobStatus::Succeeded);
        day.2.extend(j.seconds);
    }
    let mut newest: Vec<_> = in_window.iter().collect();
    newest.sort_by_key(|j| std::cmp::Reverse(j.id));
    Jobs {
        finished: finished.len(),
        succeeded,
        average_seconds: mean(finished.iter().filter_map(|j| j.seconds).collect()),
        recent: newest
            .into_iter()
            .take(RECENT_JOBS)
            .map(|j| Job {
                id: j.id,
                symbol: j.symbol.clone(),
                regime: j.regime,
                trigger: j.trigger,
                status: j.status,
                run_at: j.run_now,
                seconds: j.seconds,
                version: j.version,
                result: j.error.clone().or_else(|| j.outcome.clone()).unwrap_or_else(|| j.reason.clone()),
            })
            .collect(),
        days: days
            .into_iter()
            .map(|(day, (finished, succeeded, seconds))| JobDay {
                day,
                finished,
                succeeded,
                average_seconds: mean(seconds),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        at: i64,
        action: DeploymentAction,
        from: Option<i64>,
        to: Option<i64>,
        canary: Option<i64>,
    ) -> DeploymentRow {
        DeploymentRow {
            id: at,
            symbol: "X".into(),
            regime: Regime::Trending,
            action,
            from_version: from,
            to_version: to,
            canary_version: canary,
            reason: String::new(),
            gates: None,
            forced: false,
            actor: "t".into(),
            created_at: at,
        }
    }

    #[test]
    fn the_timeline_starts_with_what_was_live_at_the_window_s_start() {
        use DeploymentAction::*;
        let record = [
            row(10, Promote, None, Some(1), None),
            row(20, CanaryStart, Some(1), Some(1), Some(2)),
            row(30, CanaryEnd, Some(1), Some(2), None),
            row(40, Rollback, Some(2), Some(1), None),
        ];
        let points = |since, now| -> Vec<(i64, Option<i64>, Option<i64>)> {
            timeline(&record, since, now).iter().map(|p| (p.at, p.production, p.canary)).collect()
        };
        assert_eq!(
            points(0, 50),
            [
                (10, Some(1), None),
                (20, Some(1), Some(2)),
                (30, Some(2), None),
                (40, Some(1), None),
                (50, Some(1), None)
            ]
        );
        // From 25: v1 with the v2 canary then, not the first promotion.
        assert_eq!(
            points(25, 50),
            [(25, Some(1), Some(2)), (30, Some(2), None), (40, Some(1), None), (50, Some(1), None)]
        );
        // Nothing changed in the window: what was live, from start to end.
        assert_eq!(points(45, 50), [(45, Some(1), None), (50, Some(1), None)]);
        assert!(timeline(&[], 0, 50).is_empty());
        // The win rate's signals are read from when the version live at `since` went live.
        assert_eq!(live_since(&record, 35), 30, "v2 from the canary's end");
        assert_eq!(live_since(&record, 25), 10, "v1, whatever the canary did");
        assert_eq!(live_since(&record, 45), 40);
        assert_eq!(live_since(&record, 5), 5, "nothing was live yet");
    }

    #[test]
    fn the_win_rate_is_over_the_newest_signals_since_the_version_went_live() {
        use DeploymentAction::*;
        let record = [
            row(0, Promote, None, Some(1), None),
            row(100, Promote, Some(1), Some(2), None),
            row(200, Rollback, Some(2), Some(1), None),
        ];
        let signal =
            |t: i64, version, win| ResolvedSignal { version, arm: None, open_time: t, created_at: t, win };
        let signals = [
            signal(10, 1, Some(true)),
            signal(20, 1, Some(false)),
            signal(30, 1, None),
            signal(40, 1, Some(true)),
            signal(110, 2, Some(false)),
            ResolvedSignal { arm: Some(Arm::Challenger), ..signal(120, 3, Some(true)) },
            signal(210, 1, Some(false)),
        ];
        let rates: Vec<(i64, usize, usize, Option<f64>)> =
            win_rates(&signals, &record, 3).iter().map(|w| (w.at, w.signals, w.trades, w.rate)).collect();
        assert_eq!(
            rates,
            [
                (10, 1, 1, Some(1.0)),
                (20, 2, 2, Some(0.5)),
                (30, 3, 2, Some(0.5)),
                // The window holds the newest 3: false, flat, true.
                (40, 3, 2, Some(0.5)),
                (110, 1, 1, Some(0.0)),
                // v1 live again from 200: its earlier signals no longer count.
                (210, 1, 1, Some(0.0)),
            ]
        );
    }
}
