//! What a replay found: each policy's live trading and classification over the replayed
//! bars, per model and for the fleet; its retrains, promotions, rollbacks and canaries;
//! the precision of each trigger kind; every policy against never-retrain and the
//! calendar by the paired moving-block bootstrap of `evaluate --compare`; the Deflated
//! Sharpe Ratio of the best policy; and a verdict line.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Replayed, Rule, Series};
use crate::candles::time::{format_minute, serialize_rfc3339};
use crate::config::{Regime, Settings};
use crate::evaluation::backtest::{self, Bar, Rules, Trading};
use crate::evaluation::compare::{self, Bootstrap, Comparison, Verdict};
use crate::evaluation::deflated;
use crate::features::{self, labels};
use crate::kinds::{DeploymentAction, JobStatus};
use crate::lifecycle::load_artifact;
use crate::model::metrics::{self, Classification};
use crate::store::Store;
use crate::triggers::TriggerKind;

/// The confidence at which a policy is said to beat a baseline (or to lose to it), for
/// the family of policies compared with that baseline: each comparison needs P(better)
/// at or above `CONFIDENCE^(1/k)` with k policies compared (Šidák's correction), so that
/// on a market no policy can beat, some policy is declared better in at most one replay
/// in ten, however many policies are tried.
pub const CONFIDENCE: f64 = 0.9;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(serialize_with = "serialize_rfc3339")]
    pub from: i64,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub to: i64,
    /// How the clock advanced, in words.
    pub clock: String,
    pub ticks: usize,
    /// Bars of the fleet's return series (every policy trades the same bars).
    pub bars: usize,
    pub policies: Vec<PolicyReport>,
    /// Each policy against each baseline it is compared with.
    pub comparisons: Vec<PolicyComparison>,
    pub deflated: Option<Deflated>,
    pub verdict: String,
    /// Wall-clock figures: the only part of the report that differs between two replays
    /// of the same state.
    pub timing: Timing,
}

/// One policy over the replay.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    pub name: String,
    pub rule: &'static str,
    pub fleet: Trading,
    pub counts: Counts,
    pub triggers: Vec<TriggerPrecision>,
    pub models: Vec<ModelReport>,
    /// The fleet's equity over the replay, and when the policy retrained and changed what
    /// was live: what `report --replay` draws.
    pub curve: Curve,
}

/// A policy's equity curve (compounded fleet returns, 1 at `from`), at most
/// [`CURVE_POINTS`] evenly spaced bars and the last, with its events.
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    pub equity: Vec<(Time, f64)>,
    pub retrains: Vec<Time>,
    pub promotions: Vec<Time>,
    pub rollbacks: Vec<Time>,
    pub canaries: Vec<Time>,
}

/// An instant written as RFC 3339.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Time(#[serde(serialize_with = "serialize_rfc3339")] pub i64);

/// Points at most in a policy's equity curve.
pub const CURVE_POINTS: usize = 1000;

/// Compounded fleet returns per bar time, from 1 at `from`.
pub fn equity(from: i64, fleet: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut equity = 1.0;
    let mut curve = vec![(from, 1.0)];
    curve.extend(fleet.iter().map(|&(t, r)| {
        equity *= 1.0 + r;
        (t, equity)
    }));
    curve
}

fn curve(from: i64, fleet: &[(i64, f64)], events: &[(i64, DeploymentAction)], retrains: &[i64]) -> Curve {
    let all = equity(from, fleet);
    let n = all.len();
    let kept: Vec<(Time, f64)> = if n <= CURVE_POINTS {
        all.iter().map(|&(t, e)| (Time(t), e)).collect()
    } else {
        (0..CURVE_POINTS).map(|k| all[k * (n - 1) / (CURVE_POINTS - 1)]).map(|(t, e)| (Time(t), e)).collect()
    };
    let at = |wanted: &[DeploymentAction]| {
        events.iter().filter(|(_, a)| wanted.contains(a)).map(|&(t, _)| Time(t)).collect::<Vec<_>>()
    };
    Curve {
        equity: kept,
        retrains: retrains.iter().map(|&t| Time(t)).collect(),
        promotions: at(&[DeploymentAction::Promote]),
        rollbacks: at(&[DeploymentAction::Rollback]),
        canaries: at(&[DeploymentAction::CanaryStart, DeploymentAction::CanaryEnd]),
    }
}

/// What a policy did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    pub signals: usize,
    /// Jobs that trained a version.
    pub retrains: usize,
    pub failed_jobs: usize,
    pub promotions: usize,
    pub rollbacks: usize,
    pub canaries: usize,
}

/// One model (symbol, regime) of a policy: its share of the bars.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub symbol: String,
    pub regime: Regime,
    pub trading: Trading,
    /// Its signals against the bars' labels (`None` without both classes or signals).
    pub classification: Option<Classification>,
    pub counts: Counts,
}

/// How often a trigger kind fired, and how often the retrain it caused was promoted and
/// then earned more than the version it replaced would have on the bars it served.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerPrecision {
    pub kind: TriggerKind,
    pub fired: usize,
    pub promoted: usize,
    /// Promoted, replaced a version, served bars, and beat it on them.
    pub beat: usize,
    /// Promoted over a version and served bars: the retrains that could be judged.
    pub judged: usize,
    /// beat / judged; `None` when none could be judged.
    pub precision: Option<f64>,
}

/// A policy against a baseline on the fleet's bars.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyComparison {
    pub policy: String,
    pub baseline: String,
    /// P(better) needed to declare the policy better (1 minus it: worse): the 0.9 level
    /// corrected for the number of policies compared with the baseline.
    pub threshold: f64,
    /// Annualised Sharpe ratio: baseline is the champion, the policy the challenger.
    pub sharpe: Comparison,
    pub total_return: Comparison,
}

/// The Deflated Sharpe Ratio of the best policy (Bailey & López de Prado 2014).
#[derive(Debug, Clone, Serialize)]
pub struct Deflated {
    pub policy: String,
    pub trials: usize,
    /// Per-bar Sharpe ratio of the best policy, and the variance of the trials' ones.
    pub sharpe_per_bar: f64,
    pub trials_variance: f64,
    /// The per-bar Sharpe ratio the best of `trials` skill-less policies would show.
    pub expected_max_sharpe: f64,
    pub skewness: f64,
    pub kurtosis: f64,
    /// Whether the best policy traded at all (a flat one has no Sharpe ratio to deflate).
    pub traded: bool,
    /// P(the true Sharpe ratio exceeds the expected maximum); `None` when undefined.
    pub dsr: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub policies: Vec<PolicyTiming>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyTiming {
    pub name: String,
    /// Wall-clock seconds of the policy's replay.
    pub seconds: f64,
    /// Seconds its jobs took (training, evaluation, drift, gates).
    pub job_seconds: f64,
}

/// One bar of one policy, for `--export` and `--plot`.
#[derive(Debug, Clone)]
pub struct BarRow {
    pub symbol: String,
    pub regime: Option<Regime>,
    pub open_time: i64,
    pub version: Option<i64>,
    pub probability: Option<f64>,
    pub bar: Bar,
}

/// Everything per bar, by policy: what the export and the plot draw.
pub struct Detail {
    pub policies: Vec<(String, Vec<BarRow>)>,
    /// The fleet's return per bar time, by policy (same order).
    pub fleet: Vec<Vec<(i64, f64)>>,
    /// Deployment events of each policy: (time, action).
    pub events: Vec<Vec<(i64, DeploymentAction)>>,
    /// When each policy's jobs trained a version (its run's clock).
    pub retrains: Vec<Vec<i64>>,
    /// Drift checks of the configured policy's production versions: (time, severity rank
    /// 0 none .. 4 critical).
    pub drift: Vec<(i64, u8)>,
}

/// The bars a replay judges in a series: opened at or after `from`, with the next bar's
/// close stored (every candle of a series closed by `--to`).
fn judged(series: &Series, from: i64) -> std::ops::Range<usize> {
    let start = series.candles.partition_point(|c| c.open_time < from);
    start..series.candles.len().saturating_sub(1).max(start)
}

/// Build the report of `replayed` (the configured settings first) over `series`.
pub fn build(
    settings: &Settings,
    replayed: &[Replayed],
    series: &[Series],
    (from, to): (i64, i64),
    clock: String,
    ticks: usize,
) -> anyhow::Result<(Report, Detail)> {
    // Each bar's regime by the configured settings, for every policy alike.
    let mut tables = Vec::new();
    for s in series {
        tables.push(features::compute(&s.candles, &settings.features, &settings.regimes)?);
    }
    let mut policies = Vec::new();
    let mut detail = Detail {
        policies: Vec::new(),
        fleet: Vec::new(),
        events: Vec::new(),
        retrains: Vec::new(),
        drift: Vec::new(),
    };
    let mut timing = Vec::new();
    for r in replayed {
        let store = Store::open(&r.state.database())?;
        let jobs = store.jobs(None)?;
        let policy_settings = &r.state.settings;
        let mut rows = Vec::new();
        let mut models = Vec::new();
        let mut fleet_returns: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
        let mut fleet_bars: Vec<Bar> = Vec::new();
        let mut symbol_tradings = Vec::new();
        for (s, table) in series.iter().zip(&tables) {
            let rules = Rules::from_settings(&policy_settings.evaluation, s.interval);
            let range = judged(s, from);
            let signals: BTreeMap<i64, crate::store::SignalRow> = store
                .series_signals(&s.symbol, s.interval, from)?
                .into_iter()
                .map(|(_, row)| (row.open_time, row))
                .collect();
            let c = &s.candles;
            let open_time: Vec<i64> = range.clone().map(|i| c[i].open_time).collect();
            let close: Vec<f64> = range.clone().map(|i| c[i].close).collect();
            let next_close: Vec<f64> = range.clone().map(|i| c[i + 1].close).collect();
            let positions: Vec<i8> =
                open_time.iter().map(|t| signals.get(t).map_or(0, |row| row.position)).collect();
            let bars =
                backtest::run_positions(&open_time, &close, &next_close, &positions, rules.cost_per_side);
            symbol_tradings.push(backtest::metrics(&bars, &rules));
            let label = &policy_settings.label;
            let forward = labels::forward_returns(&table.close, label.horizon_bars as usize);
            for regime in &s.regimes {
                let mine: Vec<usize> =
                    (0..bars.len()).filter(|&j| table.regime[range.start + j] == Some(*regime)).collect();
                let model_bars: Vec<Bar> = mine.iter().map(|&j| bars[j]).collect();
                let (mut probabilities, mut truth) = (Vec::new(), Vec::new());
                for &j in &mine {
                    let i = range.start + j;
                    let y = labels::label(forward[i], label.fee_bps, label.threshold_bps);
                    if let (Some(row), Some(y)) = (signals.get(&c[i].open_time), y) {
                        probabilities.push(row.probability);
                        truth.push(y);
                    }
                }
                models.push(ModelReport {
                    symbol: s.symbol.to_string(),
                    regime: *regime,
                    trading: backtest::metrics(&model_bars, &rules),
                    classification: metrics::classification(&probabilities, &truth, rules.threshold),
                    counts: counts(&store, &jobs, s.symbol.as_str(), *regime, &signals, table)?,
                });
            }
            for (j, bar) in bars.iter().enumerate() {
                let entry = fleet_returns.entry(bar.open_time).or_insert((0.0, 0));
                entry.0 += bar.strategy_return;
                entry.1 += 1;
                let i = range.start + j;
                let signal = signals.get(&bar.open_time);
                rows.push(BarRow {
                    symbol: s.symbol.to_string(),
                    regime: table.regime[i],
                    open_time: bar.open_time,
                    version: signal.map(|row| row.version),
                    probability: signal.map(|row| row.probability),
                    bar: *bar,
                });
            }
            fleet_bars.extend(bars);
        }
        let fleet_series: Vec<(i64, f64)> =
            fleet_returns.into_iter().map(|(t, (sum, n))| (t, sum / n as f64)).collect();
        let fleet = fleet_trading(settings, series, &fleet_series, &symbol_tradings, &fleet_bars);
        let mut total = Counts::default();
        for m in &models {
            total.signals += m.counts.signals;
            total.retrains += m.counts.retrains;
            total.failed_jobs += m.counts.failed_jobs;
            total.promotions += m.counts.promotions;
            total.rollbacks += m.counts.rollbacks;
            total.canaries += m.counts.canaries;
        }
        let triggers = trigger_precision(r, &store, &jobs, series, from)?;
        timing.push(PolicyTiming {
            name: r.policy.name.clone(),
            seconds: r.seconds,
            job_seconds: jobs.iter().filter_map(|j| j.seconds).sum(),
        });
        let mut events = Vec::new();
        for s in series {
            for d in store.deployments(Some(s.symbol.as_str()), None)? {
                events.push((d.created_at, d.action));
            }
        }
        events.sort_by_key(|e| e.0);
        if r.policy.rule == Rule::Triggers && detail.drift.is_empty() {
            detail.drift = drift_history(&store, series)?;
        }
        let retrains: Vec<i64> =
            jobs.iter().filter(|j| j.version.is_some()).filter_map(|j| j.run_now).collect();
        let curve = curve(from, &fleet_series, &events, &retrains);
        detail.policies.push((r.policy.name.clone(), rows));
        detail.fleet.push(fleet_series);
        detail.events.push(events);
        detail.retrains.push(retrains);
        policies.push(PolicyReport {
            name: r.policy.name.clone(),
            rule: r.policy.rule.as_str(),
            fleet,
            counts: total,
            triggers,
            models,
            curve,
        });
    }
    let bars_per_year = series.iter().map(|s| s.interval.bars_per_year()).fold(0.0, f64::max);
    let comparisons = compare_policies(settings, &policies, &detail.fleet, bars_per_year);
    let deflated = deflate(&policies, &detail.fleet);
    let verdict = verdict(&policies, &comparisons, deflated.as_ref());
    let report = Report {
        from,
        to,
        clock,
        ticks,
        bars: detail.fleet.first().map_or(0, Vec::len),
        policies,
        comparisons,
        deflated,
        verdict,
        timing: Timing { policies: timing },
    };
    Ok((report, detail))
}

/// A model's signals (the bars of its regime by `table` that have one) and what its
/// jobs and deployments did.
fn counts(
    store: &Store,
    jobs: &[crate::store::JobRow],
    symbol: &str,
    regime: Regime,
    signals: &BTreeMap<i64, crate::store::SignalRow>,
    table: &features::FeatureTable,
) -> anyhow::Result<Counts> {
    let of_regime = |t: &&i64| {
        let i = table.open_time.partition_point(|x| x < *t);
        table.regime.get(i).copied().flatten() == Some(regime)
    };
    let mut c = Counts { signals: signals.keys().filter(of_regime).count(), ..Counts::default() };
    for j in jobs.iter().filter(|j| j.symbol == symbol && j.regime == regime) {
        if j.version.is_some() {
            c.retrains += 1;
        }
        if j.status == JobStatus::Failed {
            c.failed_jobs += 1;
        }
    }
    for d in store.deployments(Some(symbol), Some(regime))? {
        match d.action {
            DeploymentAction::Promote => c.promotions += 1,
            DeploymentAction::Rollback => c.rollbacks += 1,
            DeploymentAction::CanaryStart => c.canaries += 1,
            DeploymentAction::CanaryEnd if d.from_version != d.to_version => c.promotions += 1,
            DeploymentAction::CanaryEnd => {}
        }
    }
    Ok(c)
}

/// The fleet's trading: the equal-weighted mean of its symbols' returns per bar time for
/// the returns, Sharpe, drawdown; trades and exposure summed over the symbols.
fn fleet_trading(
    settings: &Settings,
    series: &[Series],
    fleet: &[(i64, f64)],
    symbols: &[Trading],
    all_bars: &[Bar],
) -> Trading {
    let interval = series.iter().map(|s| s.interval).min().unwrap_or(settings.data.interval);
    let rules = Rules::from_settings(&settings.evaluation, interval);
    if symbols.len() == 1 {
        return symbols[0];
    }
    let bars: Vec<Bar> = fleet
        .iter()
        .map(|&(open_time, r)| Bar {
            open_time,
            position: 0,
            market_return: 0.0,
            strategy_return: r,
            equity: 0.0,
        })
        .collect();
    let mut t = backtest::metrics(&bars, &rules);
    t.trades = symbols.iter().map(|s| s.trades).sum();
    let wins: f64 = symbols.iter().map(|s| s.win_rate.unwrap_or(0.0) * s.trades as f64).sum();
    t.win_rate = (t.trades > 0).then(|| wins / t.trades as f64);
    t.exposure = all_bars.iter().filter(|b| b.position != 0).count() as f64 / all_bars.len().max(1) as f64;
    t.profit_factor = None;
    t.average_trade = None;
    t.hit_rate = None;
    t
}

/// For each trigger kind of a policy's jobs: fired, promoted, and beat the replaced
/// version on the bars the new one served (the replaced version's counterfactual signals
/// computed from its artifact on the same bars).
fn trigger_precision(
    r: &Replayed,
    store: &Store,
    jobs: &[crate::store::JobRow],
    series: &[Series],
    from: i64,
) -> anyhow::Result<Vec<TriggerPrecision>> {
    let mut by_kind: BTreeMap<TriggerKind, TriggerPrecision> = BTreeMap::new();
    for job in jobs {
        let Some(s) = series.iter().find(|s| s.symbol.as_str() == job.symbol) else { continue };
        let entry = by_kind.entry(job.trigger).or_insert(TriggerPrecision {
            kind: job.trigger,
            fired: 0,
            promoted: 0,
            beat: 0,
            judged: 0,
            precision: None,
        });
        entry.fired += 1;
        let Some(version) = job.version else { continue };
        let deployments = store.deployments(Some(&job.symbol), Some(job.regime))?;
        let Some(promotion) = deployments.iter().find(|d| {
            d.to_version == Some(version)
                && d.from_version != d.to_version
                && matches!(d.action, DeploymentAction::Promote | DeploymentAction::CanaryEnd)
        }) else {
            continue;
        };
        entry.promoted += 1;
        let Some(old) = promotion.from_version else { continue };
        let served: Vec<i64> = store
            .series_signals(&job.symbol, s.interval, from)?
            .into_iter()
            .filter(|(regime, row)| *regime == job.regime && row.version == version && row.arm.is_none())
            .map(|(_, row)| row.open_time)
            .collect();
        if served.is_empty() {
            continue;
        }
        let versions = store.versions(&job.symbol, Some(job.regime))?;
        let (Some(new_row), Some(old_row)) =
            (versions.iter().find(|v| v.version == version), versions.iter().find(|v| v.version == old))
        else {
            continue;
        };
        let rules = Rules::from_settings(&r.state.settings.evaluation, s.interval);
        let earned = |row: &crate::store::VersionRow| -> anyhow::Result<Option<f64>> {
            let loaded = load_artifact(&r.state, row)?;
            let m = &loaded.manifest;
            let table = features::compute(&s.candles, &m.feature_settings, &m.regime_settings)?;
            let rows: Vec<usize> = served
                .iter()
                .filter_map(|t| {
                    let i = table.open_time.partition_point(|x| x < t);
                    (i + 1 < table.len()).then_some(i)
                })
                .collect();
            if rows.is_empty() {
                return Ok(None);
            }
            let p = crate::evaluation::score::predict_rows(&table, &loaded, &rows)
                .map_err(|e| anyhow::anyhow!(e))?;
            let positions: Vec<i8> = p.iter().map(|p| backtest::position(*p, &rules)).collect();
            let open: Vec<i64> = rows.iter().map(|&i| table.open_time[i]).collect();
            let close: Vec<f64> = rows.iter().map(|&i| table.close[i]).collect();
            let next: Vec<f64> = rows.iter().map(|&i| table.close[i + 1]).collect();
            let bars = backtest::run_positions(&open, &close, &next, &positions, rules.cost_per_side);
            Ok(Some(bars.last().map_or(0.0, |b| b.equity - 1.0)))
        };
        if let (Some(new), Some(old)) = (earned(new_row)?, earned(old_row)?) {
            entry.judged += 1;
            if new > old {
                entry.beat += 1;
            }
        }
    }
    Ok(by_kind
        .into_values()
        .map(|mut t| {
            t.precision = (t.judged > 0).then(|| t.beat as f64 / t.judged as f64);
            t
        })
        .collect())
}

/// Drift checks of production versions, as (time, severity rank).
fn drift_history(store: &Store, series: &[Series]) -> anyhow::Result<Vec<(i64, u8)>> {
    let mut out = Vec::new();
    for s in series {
        out.extend(store.drift_severities(s.symbol.as_str())?);
    }
    out.sort_unstable();
    Ok(out)
}

/// Every policy against `never` and `calendar` (not itself) on the fleet's bars, and each
/// `--policy` file's against `configured`: the change it makes to the config, judged.
fn compare_policies(
    settings: &Settings,
    policies: &[PolicyReport],
    fleet: &[Vec<(i64, f64)>],
    bars_per_year: f64,
) -> Vec<PolicyComparison> {
    let e = &settings.evaluation;
    let compared = policies.len().saturating_sub(1).max(1);
    let threshold = CONFIDENCE.powf(1.0 / compared as f64);
    let bootstrap = Bootstrap {
        block_bars: e.bootstrap_block_bars as usize,
        resamples: e.bootstrap_resamples as usize,
        seed: e.bootstrap_seed,
        min_bars: e.min_compare_bars as usize,
        min_probability: threshold,
    };
    let mut out = Vec::new();
    let standard =
        |p: &PolicyReport| ["configured", "never", "calendar", "calendar-gated"].contains(&p.name.as_str());
    for baseline in ["never", "calendar", "configured"] {
        let Some(b) = policies.iter().position(|p| p.name == baseline) else { continue };
        let compared = |p: &PolicyReport| baseline != "configured" || !standard(p);
        for (i, p) in policies.iter().enumerate().filter(|(i, p)| *i != b && compared(p)) {
            let (champion, challenger) = (&fleet[b], &fleet[i]);
            let n = champion.len().min(challenger.len());
            let pick = |idx: &[usize], is_challenger: bool| -> Vec<f64> {
                let s = if is_challenger { challenger } else { champion };
                idx.iter().map(|&k| s[k].1).collect()
            };
            let sharpe = compare::compare("sharpe", n, &bootstrap, &|idx, c| {
                backtest::sharpe(&pick(idx, c), bars_per_year).unwrap_or(0.0)
            });
            let total_return = compare::compare("total_return", n, &bootstrap, &|idx, c| {
                pick(idx, c).iter().fold(1.0, |acc, r| acc * (1.0 + r)) - 1.0
            });
            out.push(PolicyComparison {
                policy: p.name.clone(),
                baseline: baseline.to_string(),
                threshold,
                sharpe,
                total_return,
            });
        }
    }
    out
}

/// The DSR of the policy with the highest per-bar Sharpe ratio, the policies being the
/// trials.
fn deflate(policies: &[PolicyReport], fleet: &[Vec<(i64, f64)>]) -> Option<Deflated> {
    let moments: Vec<Option<deflated::Moments>> =
        fleet.iter().map(|f| deflated::moments(&f.iter().map(|x| x.1).collect::<Vec<_>>())).collect();
    // A policy that never traded has no variance: its Sharpe ratio is taken as 0, a trial
    // like the others; if it is the best, there is no track record to deflate.
    let sharpes: Vec<f64> = moments.iter().map(|m| m.map_or(0.0, |m| m.sharpe)).collect();
    // The first of equals, in report order (the configured policy first).
    let best = (0..sharpes.len()).rev().max_by(|&a, &b| sharpes[a].total_cmp(&sharpes[b]))?;
    let trials = policies.len();
    let mean = sharpes.iter().sum::<f64>() / sharpes.len() as f64;
    let variance = if sharpes.len() > 1 {
        sharpes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (sharpes.len() - 1) as f64
    } else {
        0.0
    };
    let chosen = moments[best];
    Some(Deflated {
        policy: policies[best].name.clone(),
        trials,
        sharpe_per_bar: sharpes[best],
        trials_variance: variance,
        expected_max_sharpe: deflated::expected_max_sharpe(trials, variance),
        skewness: chosen.map_or(0.0, |m| m.skewness),
        kurtosis: chosen.map_or(0.0, |m| m.kurtosis),
        traded: chosen.is_some(),
        dsr: chosen.and_then(|m| deflated::deflated_sharpe(&m, trials, variance)),
    })
}

/// "the configured policy beats never-retrain with P = 0.93; not distinguishable from
/// calendar (P = 0.55); ...".
fn verdict(
    policies: &[PolicyReport],
    comparisons: &[PolicyComparison],
    deflated: Option<&Deflated>,
) -> String {
    let Some(policy) = policies.first() else { return "nothing was replayed".into() };
    let parts: Vec<String> = comparisons
        .iter()
        .filter(|c| c.policy == policy.name && c.baseline != "configured")
        .map(judgement)
        .collect();
    let threshold = comparisons.first().map_or(CONFIDENCE, |c| c.threshold);
    let mut line = format!(
        "the {} policy {} (in Sharpe ratio; better at P >= {threshold:.3}, the {CONFIDENCE} level for {} policies \
         compared)",
        policy.name,
        parts.join("; "),
        policies.len().saturating_sub(1)
    );
    // Each `--policy` file against the configured policy: the change it makes, judged.
    for c in comparisons.iter().filter(|c| c.baseline == "configured") {
        line.push_str(&format!("; the {} policy {}", c.policy, judgement(c)));
    }
    if let Some(d) = deflated {
        line.push_str(&match d.dsr {
            Some(dsr) if dsr >= 0.95 => format!(
                "; the best of {} policies ({}) has a Deflated Sharpe Ratio of {dsr:.2}: more than luck",
                d.trials, d.policy
            ),
            Some(dsr) => format!(
                "; the best of {} policies ({}) has a Deflated Sharpe Ratio of {dsr:.2}: its Sharpe ratio could be luck",
                d.trials, d.policy
            ),
            None if !d.traded => format!(
                "; the best of {} policies ({}) never traded: no Sharpe ratio to deflate, no policy earned more than \
                 staying flat",
                d.trials, d.policy
            ),
            None => format!("; the Deflated Sharpe Ratio of the best policy ({}) is undefined", d.policy),
        });
    }
    line
}

/// "beats never-retrain with P = 0.930", by the comparison's Sharpe ratio.
fn judgement(c: &PolicyComparison) -> String {
    let baseline = if c.baseline == "never" { "never-retrain" } else { c.baseline.as_str() };
    let p = c.sharpe.probability_better.unwrap_or(0.5);
    match c.sharpe.verdict {
        Verdict::Inconclusive => format!(
            "cannot be told from {baseline}: {} bars, fewer than evaluation.min_compare_bars {}",
            c.sharpe.bars, c.sharpe.min_bars
        ),
        Verdict::ChallengerBetter => format!("beats {baseline} with P = {p:.3}"),
        Verdict::ChampionBetter => format!("loses to {baseline} (P = {p:.3})"),
        Verdict::NoClearDifference => format!("is not distinguishable from {baseline} (P = {p:.3})"),
    }
}

/// The report as the terminal shows it.
pub fn render(report: &Report) -> String {
    use crate::output::Table;
    // `+ 0.0` prints the -0 of a flat policy's drawdown as 0.
    let pct = |v: f64| format!("{:.2}%", 100.0 * v + 0.0);
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".to_string(), f);
    let mut out = format!(
        "replay {} .. {}, {} ticks ({}), {} bars\n\n",
        format_minute(report.from),
        format_minute(report.to),
        report.ticks,
        report.clock,
        report.bars
    );
    let mut table = Table::new([
        "POLICY",
        "RETURN",
        "ANNUAL",
        "SHARPE",
        "SORTINO",
        "MAX DD",
        "WIN",
        "TRADES",
        "EXPOSURE",
        "F1",
        "RETRAINS",
        "PROMOTED",
        "ROLLBACKS",
        "CANARIES",
        "COMPUTE",
    ]);
    for p in &report.policies {
        let f1 = {
            let (mut sum, mut rows) = (0.0, 0usize);
            for m in &p.models {
                if let Some(c) = m.classification {
                    sum += c.f1 * c.rows as f64;
                    rows += c.rows;
                }
            }
            (rows > 0).then(|| sum / rows as f64)
        };
        let seconds = report.timing.policies.iter().find(|t| t.name == p.name).map_or(0.0, |t| t.seconds);
        table.row(vec![
            p.name.clone(),
            pct(p.fleet.total_return),
            opt(p.fleet.annual_return, &|v| pct(v)),
            opt(p.fleet.sharpe, &|v| format!("{v:.2}")),
            opt(p.fleet.sortino, &|v| format!("{v:.2}")),
            pct(p.fleet.max_drawdown),
            opt(p.fleet.win_rate, &|v| pct(v)),
            p.fleet.trades.to_string(),
            pct(p.fleet.exposure),
            opt(f1, &|v| format!("{v:.3}")),
            p.counts.retrains.to_string(),
            p.counts.promotions.to_string(),
            p.counts.rollbacks.to_string(),
            p.counts.canaries.to_string(),
            format!("{seconds:.0} s"),
        ]);
    }
    out.push_str(&table.render());
    out.push('\n');
    let mut models =
        Table::new(["POLICY", "MODEL", "RETURN", "SHARPE", "WIN", "TRADES", "SIGNALS", "F1", "AUC"]);
    for p in &report.policies {
        for m in &p.models {
            models.row(vec![
                p.name.clone(),
                format!("{} {}", m.symbol, m.regime),
                pct(m.trading.total_return),
                opt(m.trading.sharpe, &|v| format!("{v:.2}")),
                opt(m.trading.win_rate, &|v| pct(v)),
                m.trading.trades.to_string(),
                m.counts.signals.to_string(),
                opt(m.classification.map(|c| c.f1), &|v| format!("{v:.3}")),
                opt(m.classification.and_then(|c| c.roc_auc), &|v| format!("{v:.3}")),
            ]);
        }
    }
    out.push_str(&models.render());
    out.push('\n');
    let mut triggers = Table::new(["POLICY", "TRIGGER", "FIRED", "PROMOTED", "JUDGED", "BEAT", "PRECISION"]);
    for p in &report.policies {
        for t in &p.triggers {
            triggers.row(vec![
                p.name.clone(),
                t.kind.to_string(),
                t.fired.to_string(),
                t.promoted.to_string(),
                t.judged.to_string(),
                t.beat.to_string(),
                opt(t.precision, &|v| pct(v)),
            ]);
        }
    }
    out.push_str(&triggers.render());
    out.push('\n');
    let mut versus = Table::new([
        "POLICY",
        "AGAINST",
        "P(SHARPE BETTER)",
        "SHARPE DIFF 95%",
        "P(RETURN BETTER)",
        "RETURN DIFF 95%",
        "VERDICT",
    ]);
    for c in &report.comparisons {
        let interval = |c: &Comparison, f: &dyn Fn(f64) -> String| {
            c.interval.map_or("-".to_string(), |[lo, hi]| format!("{} .. {}", f(lo), f(hi)))
        };
        versus.row(vec![
            c.policy.clone(),
            c.baseline.clone(),
            opt(c.sharpe.probability_better, &|v| format!("{v:.3}")),
            interval(&c.sharpe, &|v| format!("{v:.2}")),
            opt(c.total_return.probability_better, &|v| format!("{v:.3}")),
            interval(&c.total_return, &|v| pct(v)),
            match c.sharpe.verdict {
                Verdict::ChallengerBetter => "better".to_string(),
                Verdict::ChampionBetter => "worse".to_string(),
                other => other.describe().to_string(),
            },
        ]);
    }
    out.push_str(&versus.render());
    if let Some(d) = report.deflated.as_ref().filter(|d| !d.traded) {
        out.push_str(&format!(
            "\nThe best of {} policies by Sharpe ratio ({}) never traded: no Deflated Sharpe Ratio\n",
            d.trials, d.policy
        ));
    }
    if let Some(d) = report.deflated.as_ref().filter(|d| d.traded) {
        out.push_str(&format!(
            "\nDeflated Sharpe Ratio of the best policy ({}, per-bar Sharpe {:.4}, skewness {:.2}, kurtosis {:.2}) \
             against the best of {} trials ({:.4}): {}\n",
            d.policy,
            d.sharpe_per_bar,
            d.skewness,
            d.kurtosis,
            d.trials,
            d.expected_max_sharpe,
            d.dsr.map_or("undefined".to_string(), |v| format!("{v:.3}"))
        ));
    }
    out.push_str(&format!("\nverdict: {}\n", report.verdict));
    out
}
