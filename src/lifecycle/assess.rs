//! The assessment of every model at one instant: its facts (production age, live win
//! rate, decay, drift, schedule, queue, regime bars) and what the triggers make of them.
//! `run`, `run --dry-run` and `status` all decide here, by the same code, so that what
//! `status` says is due is exactly what a run at that instant would do.

use std::collections::BTreeMap;

use super::drift as drift_step;
use super::{evaluate, load_artifact};
use crate::artifact::Loaded;
use crate::candles::time::format_minute;
use crate::candles::{Candle, Interval};
use crate::config::{FeatureSettings, Regime, RegimeSettings, Resolved};
use crate::error::code;
use crate::evaluation::score::{self, Requested, View};
use crate::evaluation::{self, Record};
use crate::features::{self, FeatureTable};
use crate::kinds::{EvaluationKind, VersionStatus};
use crate::schedule::{self, Crontab};
use crate::store::{Store, VersionRow};
use crate::symbol::Symbol;
use crate::triggers::{self, Decay, Facts, Live, Queued, Refused, Trigger, Verdict};

const HOUR_MS: f64 = 3_600_000.0;

/// How much the assessment may do to learn a production model's decay and drift when no
/// measurement of the latest bar is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Measure, and store what was measured (`run`).
    Record,
    /// Measure, store nothing (`run --dry-run`, `status`).
    Measure,
}

/// Why a model is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keeping {
    /// Listed under `symbols:`: `run` keeps it fresh.
    Configured,
    /// Not configured, but a manual request waits for it: `run` takes the request.
    Requested,
    /// Only in the registry (trained by hand): `run` leaves it alone.
    NotKept,
}

/// One model as a run sees it at an instant.
pub struct Assessed {
    pub symbol: Symbol,
    pub regime: Regime,
    pub interval: Interval,
    pub keeping: Keeping,
    pub facts: Facts,
    pub verdict: Verdict,
    /// Its production, canary and candidate versions, newest first.
    pub versions: Vec<VersionRow>,
    /// What could not be learned, one line each (a damaged production artifact, say).
    pub notes: Vec<String>,
}

impl Assessed {
    /// The job a run would start for the model now, if any.
    pub fn job(&self) -> Option<Trigger> {
        self.verdict.job()
    }

    /// Why no job starts, when none does.
    pub fn not_due(&self, resolved: &Resolved) -> Option<String> {
        if self.job().is_some() {
            return None;
        }
        Some(match self.keeping {
            Keeping::NotKept => {
                "not kept: it is not under `symbols:` in the config, so `run` leaves it to the \
                                 commands typed by hand"
                    .to_string()
            }
            _ => format!("not due: {}", triggers::not_due(&self.facts, &self.verdict, &resolved.settings)),
        })
    }

    pub fn production(&self) -> Option<&VersionRow> {
        self.versions.iter().find(|v| v.status == VersionStatus::Production)
    }

    /// `SYMBOL regime`, as messages name a model.
    pub fn name(&self) -> String {
        format!("{} {}", self.symbol, self.regime)
    }
}

/// Every model at `now`: the configured ones (in config order), then those with a manual
/// request, then the rest of the registry. `previous` is the clock of the last finished
/// run, after which schedules come due. Also returns the models it left out and why.
pub fn assess(
    resolved: &Resolved,
    store: &mut Store,
    now: i64,
    previous: Option<i64>,
    mode: Mode,
) -> anyhow::Result<(Vec<Assessed>, Vec<String>)> {
    let settings = &resolved.settings;
    let queued = store.requests()?;
    let registered = store.registered_models()?;
    let mut left_out = Vec::new();
    let mut models: Vec<(Symbol, Regime, Interval, Keeping)> = Vec::new();
    let listed = |models: &[(Symbol, Regime, Interval, Keeping)], symbol: &str, regime: Regime| {
        models.iter().any(|(s, r, ..)| s.as_str() == symbol && *r == regime)
    };
    for s in &settings.symbols {
        let interval = s.interval.unwrap_or(settings.data.interval);
        models.extend(s.regimes.iter().map(|r| (s.symbol.clone(), *r, interval, Keeping::Configured)));
    }
    for q in &queued {
        if listed(&models, &q.symbol, q.regime) {
            continue;
        }
        let Ok(symbol) = q.symbol.parse::<Symbol>() else {
            left_out.push(format!("request {} names {:?}, which is not a symbol; cancel it", q.id, q.symbol));
            continue;
        };
        let interval = settings
            .symbols
            .iter()
            .find(|s| s.symbol == symbol)
            .and_then(|s| s.interval)
            .or_else(|| {
                registered.iter().find(|m| m.symbol == q.symbol && m.regime == q.regime).map(|m| m.interval)
            })
            .unwrap_or(settings.data.interval);
        models.push((symbol, q.regime, interval, Keeping::Requested));
    }
    for m in &registered {
        if listed(&models, &m.symbol, m.regime) {
            continue;
        }
        match m.symbol.parse::<Symbol>() {
            Ok(symbol) => models.push((symbol, m.regime, m.interval, Keeping::NotKept)),
            Err(why) => left_out.push(format!("a registered model is left out: {why}")),
        }
    }

    let mut series = Series::default();
    let mut regime_rows: BTreeMap<(Symbol, Interval), BTreeMap<Regime, usize>> = BTreeMap::new();
    let mut last_bars: BTreeMap<(Symbol, Interval), Option<i64>> = BTreeMap::new();
    let mut assessed = Vec::new();
    for (symbol, regime, interval, keeping) in models {
        let versions = store.active_versions(&symbol, regime)?;
        let production = versions.iter().find(|v| v.status == VersionStatus::Production).cloned();
        let key = (symbol.clone(), interval);
        let last_bar = match last_bars.get(&key) {
            Some(bar) => *bar,
            None => {
                let bar = store.last_open_time(&symbol, interval)?;
                last_bars.insert(key.clone(), bar);
                bar
            }
        };
        let last_job = store.last_job_at(&symbol, regime)?;
        let mut facts = Facts {
            has_production: production.is_some(),
            schedule_due: schedule_due(resolved, &format!("{symbol}/{regime}"), previous, now),
            hours_since_job: last_job.map(|t| (now - t) as f64 / HOUR_MS),
            queued: queued
                .iter()
                .filter(|q| q.symbol == symbol.as_str() && q.regime == regime)
                .map(|q| Queued {
                    id: q.id,
                    priority: q.priority,
                    reason: q.reason.clone(),
                    requested_at: q.requested_at,
                })
                .collect(),
            ..Facts::default()
        };
        let mut notes = Vec::new();
        let kept = keeping != Keeping::NotKept;
        if kept && production.is_none() && last_bar.is_some() {
            if !regime_rows.contains_key(&key) {
                let counts =
                    count_regime_rows(resolved, series.candles(store, &(symbol.to_string(), interval))?)?;
                regime_rows.insert(key.clone(), counts);
            }
            facts.regime_rows = regime_rows[&key].get(&regime).copied().unwrap_or(0);
        }
        if let Some(p) = &production {
            facts.production_age_days = Some((now - p.created_at) as f64 / (24.0 * HOUR_MS));
            let promoted_at = store.promoted_at(&symbol, regime, p.id)?.unwrap_or(p.created_at);
            let live = store.live_summary(p.id, promoted_at, settings.triggers.live_window as usize)?;
            facts.live = Some(Live { signals: live.signals, win_rate: live.win_rate });
            facts.refused =
                store.refused_retrains(symbol.as_str(), regime, p.id, promoted_at)?.map(|r| Refused {
                    count: r.count,
                    hours_since: (now - r.last_at) as f64 / HOUR_MS,
                    last_at: r.last_at,
                    severity: r.severity,
                });
        }
        if let (true, Some(p), Some(last_bar)) = (kept, &production, last_bar) {
            // Decay and drift count once per measurement: only one taken after the model's
            // last job (new candles since), so that a drift retraining cannot fix does not
            // retrain it every run.
            let fresh = |at: i64| last_job.is_none_or(|job| at > job);
            match measure_production(resolved, store, &mut series, p, last_bar, now, mode) {
                Ok(m) => {
                    facts.decay = m.decay.filter(|(_, at)| fresh(*at)).map(|(d, _)| d);
                    facts.drift = m.drift.filter(|(_, at)| fresh(*at)).map(|(d, _)| d);
                }
                Err(e) => notes.push(format!("production v{} could not be checked: {e:#}", p.version)),
            }
        }
        let verdict = if kept { triggers::evaluate(&facts, settings) } else { Verdict::default() };
        assessed.push(Assessed { symbol, regime, interval, keeping, facts, verdict, versions, notes });
    }
    Ok((assessed, left_out))
}

/// Bars of each regime with complete features: what a first model needs
/// (`triggers.min_initial_rows`).
pub fn count_regime_rows(
    resolved: &Resolved,
    candles: &[crate::candles::Candle],
) -> anyhow::Result<BTreeMap<Regime, usize>> {
    let settings = &resolved.settings;
    let table = features::compute(candles, &settings.features, &settings.regimes)?;
    let mut counts = BTreeMap::new();
    for row in (0..table.len()).filter(|&r| table.complete(r)) {
        if let Some(r) = table.regime[row] {
            *counts.entry(r).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// The production version's decay and drift severity on the latest bars, each with when
/// it was measured: the stored evaluation and drift report of the latest bar when there
/// are (nothing new to measure), else measured at `now` (and stored when recording).
struct Measured {
    decay: Option<(Decay, i64)>,
    drift: Option<(Option<crate::config::Severity>, i64)>,
}

fn measure_production(
    resolved: &Resolved,
    store: &mut Store,
    series: &mut Series,
    p: &VersionRow,
    last_bar: i64,
    now: i64,
    mode: Mode,
) -> anyhow::Result<Measured> {
    let record = mode == Mode::Record;
    let settings = &resolved.settings;
    let test = store.test_record(p.id)?;
    // The backtest and the drift check share the loaded artifact and its view, which
    // predicts the bars of the longer of their two windows.
    let mut seen: Option<(Loaded, View)> = None;
    let longer = settings.evaluation.window_days.max(settings.drift.window_days);
    let recent: Option<(Record, i64)> = match store.latest_evaluation(p.id, EvaluationKind::Backtest)? {
        Some(stored) if stored.window_to == last_bar => Some((stored.record, stored.created_at)),
        _ => {
            let days = Requested::LastDays(settings.evaluation.window_days);
            let checked = series.view(resolved, store, p, longer).and_then(|(loaded, view)| {
                let checked = evaluate::backtest_on(resolved, store, p, (&loaded, &view), days, record, now);
                seen = Some((loaded, view));
                checked
            });
            match checked {
                Ok(checked) => Some((checked.record(), now)),
                Err(e) if crate::error::exit_code(&e) == code::REFUSED => None,
                Err(e) => return Err(e),
            }
        }
    };
    let decay = test.zip(recent).and_then(|(t, (r, at))| {
        evaluation::degradation(settings.evaluation.metric, &t, &r, settings.triggers.performance_decay)
            .map(|d| (Decay { test: d.test, recent: d.recent, relative_drop: d.relative_drop }, at))
    });
    let drift = match store.latest_drift(p.id)? {
        Some(stored) if stored.window_to == last_bar => Some((stored.severity, stored.created_at)),
        _ => {
            let days = Requested::LastDays(settings.drift.window_days);
            let (loaded, view) = match seen {
                Some(seen) => seen,
                None => series.view(resolved, store, p, longer)?,
            };
            drift_step::measure_on(resolved, store, p, (&loaded, &view), days, record, record, now)?
                .report
                .map(|report| (report.severity, now))
        }
    };
    Ok(Measured { decay, drift })
}

/// What the checks of one series share within an assessment: its candles, read once,
/// and its feature tables, computed once for each settings a version was trained with
/// (the regimes of a symbol share theirs unless the config changed between their
/// trainings). Models come series by series (the config lists a symbol's regimes
/// together), so one series is held at a time: the memory is one series' however large the
/// fleet; a series met again later is read again.
#[derive(Default)]
struct Series {
    key: Option<(String, Interval)>,
    candles: Option<Vec<Candle>>,
    tables: Vec<(FeatureSettings, RegimeSettings, FeatureTable)>,
}

impl Series {
    /// Hold `key`'s series from now on, dropping another's.
    fn switch(&mut self, key: &(String, Interval)) {
        if self.key.as_ref() != Some(key) {
            *self = Series { key: Some(key.clone()), ..Series::default() };
        }
    }

    fn candles(&mut self, store: &Store, key: &(String, Interval)) -> anyhow::Result<&[Candle]> {
        self.switch(key);
        let candles = match self.candles.take() {
            Some(candles) => candles,
            None => store.candles(&key.0, key.1, None)?,
        };
        Ok(self.candles.insert(candles))
    }

    /// A version's artifact, loaded and verified, and its view of its own series,
    /// predicting the bars of its last `days` days.
    fn view(
        &mut self,
        resolved: &Resolved,
        store: &Store,
        version: &VersionRow,
        days: u32,
    ) -> anyhow::Result<(Loaded, View)> {
        let loaded = load_artifact(resolved, version)?;
        let key = (version.symbol.clone(), version.interval);
        let (f, r) = (&loaded.manifest.feature_settings, &loaded.manifest.regime_settings);
        self.switch(&key);
        let table = match self.tables.iter().find(|(kf, kr, _)| kf == f && kr == r) {
            Some((.., table)) => table.clone(),
            None => {
                let table = features::compute(self.candles(store, &key)?, f, r)?;
                self.tables.push((f.clone(), r.clone(), table.clone()));
                table
            }
        };
        let view = score::view_of(table, &loaded, Some(days)).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((loaded, view))
    }
}

/// A schedule job's `models` against a model (`SYMBOL/regime`): a pattern with `/` as it
/// is (`*` any run of characters); a regime name alone means that regime of every symbol;
/// anything else alone, every regime of the symbols it matches.
pub fn applies(models: &str, model: &str) -> bool {
    let models = models.trim();
    if models.contains('/') {
        matches(models, model)
    } else if models.parse::<Regime>().is_ok() {
        matches(&format!("*/{}", models.to_lowercase()), model)
    } else {
        matches(&format!("{models}/*"), model)
    }
}

fn matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .any(|i| text.is_char_boundary(head.len() + i) && matches(tail, &text[head.len() + i..]))
        }
    }
}

/// The schedule of a model that came due in (previous, now], said in words.
fn schedule_due(resolved: &Resolved, model: &str, previous: Option<i64>, now: i64) -> Option<String> {
    let job = resolved.settings.schedule.jobs.iter().find(|j| applies(&j.models, model))?;
    let (cron, tz) = (job.cron.parse::<Crontab>().ok()?, schedule::zone(&job.timezone).ok()?);
    let after = chrono::DateTime::from_timestamp_millis(previous?)?;
    let slots: Vec<_> =
        cron.next(tz, after, 1000).into_iter().filter(|t| t.timestamp_millis() <= now).collect();
    let last = slots.last()?;
    let missed = if slots.len() >= 1000 {
        ", at least 1000 slots since the last run, caught up once".to_string()
    } else if slots.len() > 1 {
        format!(", {} slots since the last run, caught up once", slots.len())
    } else {
        String::new()
    };
    Some(format!(
        "schedule {:?} ({}) came due at {} ({}){missed}",
        cron.text(),
        job.timezone,
        last.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z"),
        format_minute(last.timestamp_millis())
    ))
}

/// The next fire time after `now` of the schedule that applies to a model.
pub fn next_scheduled(resolved: &Resolved, model: &str, now: i64) -> Option<i64> {
    let job = resolved.settings.schedule.jobs.iter().find(|j| applies(&j.models, model))?;
    let cron: Crontab = job.cron.parse().ok()?;
    let tz = schedule::zone(&job.timezone).ok()?;
    cron.first_after(tz, chrono::DateTime::from_timestamp_millis(now)?).map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::{applies, matches};

    #[test]
    fn model_patterns_match_like_shell_globs() {
        assert!(matches("*", "BTCUSDT/trending"));
        assert!(matches("BTCUSDT/*", "BTCUSDT/trending"));
        assert!(!matches("BTCUSDT/*", "ETHUSDT/trending"));
        assert!(matches("*/volatile", "ETHUSDT/volatile"));
        assert!(matches("*USDT/t*g", "ETHUSDT/trending"));
        assert!(!matches("BTC/trending", "BTC/sideways"));
        assert!(applies("BTCUSDT", "BTCUSDT/volatile") && !applies("BTCUSDT", "BTCUSD/volatile"));
        assert!(applies("Trending", "ETH/trending") && !applies("trending", "ETH/sideways"));
        assert!(applies("*", "ETH/sideways"));
    }
}
