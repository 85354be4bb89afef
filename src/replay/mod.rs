//! `retrain replay`: a walk-forward replay of `run` over stored history, for the
//! configured retraining policy and the baselines it must beat.
//!
//! Each policy gets a scratch state of its own (a database and a models folder); the
//! user's database is opened read-only and its models folder is never touched. The clock
//! walks from `--from` to `--to`; at each tick the scratch state is fed the candles that
//! had closed by then, as `collect` would have stored them, so that no step can read a
//! later candle: the state holds none. Then, in production's order: the bars that closed
//! since the last tick are served by the version live when they closed (recorded as
//! signals, as `predict` does), the signals whose horizon passed are resolved and fresh
//! promotions watched (as `collect` does), and `run`'s lifecycle runs at the tick's
//! instant: canaries, rollbacks, triggers, the queue, jobs and gates.
//!
//! The policies differ only in what plans the jobs: the configured triggers (`run`
//! itself), never retraining, or a fixed calendar with or without the gates.

pub mod plot;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::candles::time::{format_minute, wall_millis};
use crate::candles::{Candle, Interval};
use crate::config::{Regime, Resolved, Settings, SymbolSource};
use crate::error::Failure;
use crate::lifecycle::assess;
use crate::lifecycle::job::{Deploy, Planned};
use crate::lifecycle::run::{self, ACTOR};
use crate::lifecycle::{collect, live};
use crate::schedule::{self, Crontab};
use crate::store::{CollectRecord, Store};
use crate::symbol::Symbol;
use crate::triggers::{self, Facts, Priority, Trigger, TriggerKind};

/// How the clock advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticks {
    /// A run every this long from `--from`: an hourly cron line is `Every(1h)`.
    Every(Interval),
    /// A run at every fire time of the configured schedules (and at `--from`).
    Schedule,
}

/// What plans a policy's jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The config's triggers and gates: `run` itself.
    Triggers,
    /// The first model that could be trained, deployed whatever the gates say, kept forever.
    Never,
    /// Retrain every model on a fixed calendar; `gated`: behind the configured gates, else
    /// always deploy the newest (FreqAI's and Qlib's behaviour).
    Calendar { every: Interval, gated: bool },
}

impl Rule {
    pub fn as_str(&self) -> &'static str {
        match self {
            Rule::Triggers => "triggers",
            Rule::Never => "never",
            Rule::Calendar { gated: false, .. } => "calendar",
            Rule::Calendar { gated: true, .. } => "calendar-gated",
        }
    }
}

/// A policy replayed: a name, what plans its jobs, and the settings it runs with.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub rule: Rule,
    pub settings: Settings,
}

/// What to replay.
#[derive(Debug, Clone)]
pub struct Options {
    pub from: i64,
    pub to: i64,
    /// Only this configured symbol.
    pub symbol: Option<Symbol>,
    pub ticks: Ticks,
    pub policies: Vec<Policy>,
    /// Keep each policy's scratch state (database, models, events.log) under this folder.
    pub keep: Option<PathBuf>,
}

/// One configured series, with its candles that had closed by `--to`.
pub struct Series {
    pub symbol: Symbol,
    pub interval: Interval,
    pub regimes: Vec<Regime>,
    pub candles: Vec<Candle>,
}

/// A policy after its replay: the scratch state it left.
pub struct Replayed {
    pub policy: Policy,
    pub state: Resolved,
    /// Wall-clock seconds the replay of this policy took.
    pub seconds: f64,
}

/// The standard policies: the configured one and the three baselines.
pub fn standard_policies(settings: &Settings, baseline_every: Interval) -> Vec<Policy> {
    let policy = |name: &str, rule: Rule| Policy { name: name.to_string(), rule, settings: settings.clone() };
    vec![
        policy("configured", Rule::Triggers),
        policy("never", Rule::Never),
        policy("calendar", Rule::Calendar { every: baseline_every, gated: false }),
        policy("calendar-gated", Rule::Calendar { every: baseline_every, gated: true }),
    ]
}

/// The series to replay: the configured symbols (or the one asked for), each with its
/// stored candles that closed by `to`, read from the user's database without writing it.
pub fn series(resolved: &Resolved, options: &Options) -> anyhow::Result<Vec<Series>> {
    let settings = &resolved.settings;
    let location = resolved.database();
    if !Store::exists(&location)? {
        return Err(Failure::Usage(format!(
            "no database at {}: collect the candles to replay first (`retrain collect`)",
            location.display()
        ))
        .into());
    }
    if let Some(wanted) = &options.symbol
        && !settings.symbols.iter().any(|s| &s.symbol == wanted)
    {
        return Err(Failure::Usage(format!(
            "--symbol {wanted} is not under `symbols:` in the config: a replay runs the configured models"
        ))
        .into());
    }
    if settings.symbols.is_empty() {
        return Err(Failure::Usage(
            "the config lists no symbols: a replay runs `run` over the models under `symbols:`".into(),
        )
        .into());
    }
    let store = Store::open_read_only(&location)?;
    let mut out = Vec::new();
    for s in settings.symbols.iter().filter(|s| options.symbol.as_ref().is_none_or(|w| &s.symbol == w)) {
        let interval = s.interval.unwrap_or(settings.data.interval);
        let mut candles = store.candles(&s.symbol, interval, None)?;
        candles.retain(|c| c.open_time + interval.millis() <= options.to);
        let before = candles.iter().filter(|c| c.open_time + interval.millis() <= options.from).count();
        if before == 0 || candles.len() == before {
            return Err(Failure::Usage(format!(
                "{} {interval}: {} stored candles closed before --from {} and {} between --from and --to {}: a \
                 replay needs history before --from to train on and bars after it to trade",
                s.symbol,
                before,
                format_minute(options.from),
                candles.len() - before,
                format_minute(options.to)
            ))
            .into());
        }
        out.push(Series { symbol: s.symbol.clone(), interval, regimes: s.regimes.clone(), candles });
    }
    Ok(out)
}

/// The instants the clock stops at, in order: `--from`, then each tick up to `--to`.
pub fn ticks(resolved: &Resolved, options: &Options) -> anyhow::Result<Vec<i64>> {
    let (from, to) = (options.from, options.to);
    let mut out = vec![from];
    match options.ticks {
        Ticks::Every(every) => {
            let mut t = from + every.millis();
            while t <= to {
                out.push(t);
                t += every.millis();
            }
        }
        Ticks::Schedule => {
            let jobs = &resolved.settings.schedule.jobs;
            if jobs.is_empty() {
                return Err(Failure::Usage(
                    "--schedule: the config has no schedule.jobs to tick by; give --every instead".into(),
                )
                .into());
            }
            for job in jobs {
                let cron: Crontab = job.cron.parse().map_err(Failure::Usage)?;
                let tz = schedule::zone(&job.timezone).map_err(Failure::Usage)?;
                let mut after = chrono::DateTime::from_timestamp_millis(from).unwrap_or_default();
                while let Some(next) = cron.first_after(tz, after) {
                    let ms = next.timestamp_millis();
                    if ms > to {
                        break;
                    }
                    out.push(ms);
                    after = next.with_timezone(&chrono::Utc);
                }
            }
            out.sort_unstable();
            out.dedup();
        }
    }
    Ok(out)
}

/// A policy's scratch state in `dir`: the user's settings with the state moved there, no
/// exchange to fetch from and no webhook to post to.
fn scratch(policy: &Policy, dir: &Path, series: &[Series]) -> Resolved {
    let mut settings = policy.settings.clone();
    settings.state.database = "retrain.db".into();
    settings.state.models_dir = "models".into();
    settings.notifications.webhook_url = None;
    settings.symbols.retain(|s| series.iter().any(|x| x.symbol == s.symbol));
    for s in &mut settings.symbols {
        s.source = SymbolSource::None;
    }
    if policy.rule != Rule::Triggers && !matches!(policy.rule, Rule::Calendar { gated: true, .. }) {
        // Always the newest: no canary test, no rollback.
        settings.deployment.canary.enabled = false;
        settings.deployment.rollback_on_degradation = false;
    }
    Resolved { settings, file: None, base_dir: dir.to_path_buf() }
}

/// Replay every policy over `ticks`; `progress(policy index, tick index, instant)` hears
/// each tick as it starts.
pub fn replay(
    options: &Options,
    series: &[Series],
    ticks: &[i64],
    root: &Path,
    progress: &mut dyn FnMut(usize, usize, i64),
) -> anyhow::Result<Vec<Replayed>> {
    // Each series' features, once per set of settings: every step of every tick slices them.
    for s in series {
        let mut done: Vec<(&crate::config::FeatureSettings, &crate::config::RegimeSettings)> = Vec::new();
        for policy in &options.policies {
            let settings = (&policy.settings.features, &policy.settings.regimes);
            if !done.contains(&settings) {
                crate::features::precompute(&s.candles, settings.0, settings.1)?;
                done.push(settings);
            }
        }
    }
    let result = replay_all(options, series, ticks, root, progress);
    crate::features::forget_precomputed();
    result
}

fn replay_all(
    options: &Options,
    series: &[Series],
    ticks: &[i64],
    root: &Path,
    progress: &mut dyn FnMut(usize, usize, i64),
) -> anyhow::Result<Vec<Replayed>> {
    // Only an earlier replay's state is replaced; anything else there is the user's.
    for policy in &options.policies {
        let dir = root.join(&policy.name);
        if dir.exists() && !dir.join("events.log").is_file() {
            return Err(Failure::Usage(format!(
                "--keep: {} exists and is not the scratch state of a replay (it has no events.log); keep the \
                 replay in another folder",
                dir.display()
            ))
            .into());
        }
    }
    let mut out = Vec::new();
    for (p, policy) in options.policies.iter().enumerate() {
        let dir = root.join(&policy.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| anyhow::anyhow!("clearing {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        let state = scratch(policy, &dir, series);
        let started = Instant::now();
        let clock = Arc::new(AtomicI64::new(options.from));
        let log = std::fs::File::create(dir.join("events.log"))
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.join("events.log").display()))?;
        let log = Arc::new(Mutex::new(std::io::BufWriter::new(log)));
        let sink = {
            let (clock, log) = (clock.clone(), log.clone());
            move |line: &str| {
                use std::io::Write;
                if let Ok(mut log) = log.lock() {
                    let _ = writeln!(log, "{} {line}", format_minute(clock.load(Ordering::Relaxed)));
                }
            }
        };
        let previous = crate::output::redirect_events(Some(Box::new(sink)));
        let result = replay_policy(policy, &state, series, ticks, &clock, &mut |k, t| progress(p, k, t));
        crate::output::redirect_events(previous);
        if let Ok(mut log) = log.lock() {
            use std::io::Write;
            let _ = log.flush();
        }
        result.map_err(|e| anyhow::anyhow!("replaying the {} policy: {e:#}", policy.name))?;
        out.push(Replayed { policy: policy.clone(), state, seconds: started.elapsed().as_secs_f64() });
    }
    Ok(out)
}

fn replay_policy(
    policy: &Policy,
    state: &Resolved,
    series: &[Series],
    ticks: &[i64],
    clock: &AtomicI64,
    progress: &mut dyn FnMut(usize, i64),
) -> anyhow::Result<()> {
    let mut fed = vec![0usize; series.len()];
    let mut next_calendar = ticks.first().copied().unwrap_or_default();
    for (k, &now) in ticks.iter().enumerate() {
        progress(k, now);
        clock.store(now, Ordering::Relaxed);
        let mut store = Store::open(&state.database())?;
        for (s, f) in series.iter().zip(fed.iter_mut()) {
            let closed = s.candles.partition_point(|c| c.open_time + s.interval.millis() <= now);
            if closed <= *f {
                continue;
            }
            let last_served = if *f == 0 { None } else { Some(s.candles[*f - 1].open_time) };
            let batch = &s.candles[*f..closed];
            let record = CollectRecord {
                source: "replay".into(),
                finished_at: now,
                rows_read: batch.len(),
                rejected: 0,
                duplicates: 0,
                gaps: 0,
                missing_bars: 0,
                quality_score: 1.0,
                reasons: Vec::new(),
            };
            store.upsert_candles(&s.symbol, s.interval, batch, &record)?;
            *f = closed;
            // The bars that closed since the last tick, served by what was live then.
            if let Some(after) = last_served {
                live::serve_closed_bars(state, &mut store, &s.symbol, s.interval, after)?;
            }
            let resolved = live::resolve_signals(&mut store, &s.symbol, s.interval, now)?;
            if resolved.signals > 0 {
                crate::output::event(&collect::resolved_line(&s.symbol, s.interval, resolved));
                for done in live::watch(state, &mut store, &s.symbol, ACTOR, now)? {
                    crate::output::event(&done);
                }
            }
        }
        drop(store);
        let options = run::Options { now, dry_run: false, worker_only: false };
        match &policy.rule {
            Rule::Triggers => {
                run::run(state, options)?;
            }
            Rule::Never => {
                run::run_planned(state, options, &mut |resolved, store, now, _, _| {
                    baseline_plan(resolved, store, now, None, Deploy::Always)
                })?;
            }
            Rule::Calendar { every, gated } => {
                let due = (now >= next_calendar).then(|| format!("calendar baseline: every {every}"));
                if due.is_some() {
                    while next_calendar <= now {
                        next_calendar += every.millis();
                    }
                }
                let deploy = if *gated { Deploy::BehindGates } else { Deploy::Always };
                run::run_planned(state, options, &mut |resolved, store, now, _, _| {
                    baseline_plan(resolved, store, now, due.clone(), deploy)
                })?;
            }
        }
    }
    Ok(())
}

/// A baseline's jobs at `now`: a first model wherever the triggers would train one (same
/// rows needed, same cooldown), and with `calendar` a retrain of every model that has a
/// production version.
fn baseline_plan(
    resolved: &Resolved,
    store: &mut Store,
    now: i64,
    calendar: Option<String>,
    deploy: Deploy,
) -> anyhow::Result<Vec<Planned>> {
    let settings = &resolved.settings;
    let mut plan = Vec::new();
    for s in &settings.symbols {
        let interval = s.interval.unwrap_or(settings.data.interval);
        let mut rows = None;
        for &regime in &s.regimes {
            let production = store
                .active_versions(&s.symbol, regime)?
                .iter()
                .any(|v| v.status == crate::kinds::VersionStatus::Production);
            let trigger = if production {
                calendar.clone().map(|reason| Trigger {
                    kind: TriggerKind::Schedule,
                    priority: Priority::Medium,
                    reason,
                    severity: None,
                })
            } else {
                if rows.is_none() {
                    let candles = store.candles(&s.symbol, interval, None)?;
                    rows = Some(assess::count_regime_rows(resolved, &candles)?);
                }
                let facts = Facts {
                    regime_rows: rows.as_ref().and_then(|r| r.get(&regime).copied()).unwrap_or(0),
                    hours_since_job: store
                        .last_job_at(&s.symbol, regime)?
                        .map(|t| (now - t) as f64 / 3_600_000.0),
                    ..Facts::default()
                };
                triggers::evaluate(&facts, settings)
                    .fired
                    .into_iter()
                    .find(|t| t.kind == TriggerKind::Initial)
            };
            if let Some(trigger) = trigger {
                plan.push(Planned {
                    symbol: s.symbol.clone(),
                    regime,
                    interval,
                    trigger,
                    queued: Vec::new(),
                    requested_at: now,
                    deploy,
                });
            }
        }
    }
    run::in_run_order(&mut plan);
    Ok(plan)
}

/// The folder the scratch states go in: `--keep`'s, or a fresh one under the system's
/// temporary folder, removed when dropped.
pub enum Root {
    Kept(PathBuf),
    Temporary(PathBuf),
}

impl Root {
    pub fn new(keep: Option<&Path>) -> anyhow::Result<Root> {
        match keep {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
                Ok(Root::Kept(dir.to_path_buf()))
            }
            None => {
                let dir = std::env::temp_dir().join(format!(
                    "retrain-replay-{}-{}",
                    std::process::id(),
                    wall_millis()
                ));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
                Ok(Root::Temporary(dir))
            }
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Root::Kept(p) | Root::Temporary(p) => p,
        }
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        if let Root::Temporary(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(from: &str, to: &str, ticks: Ticks) -> Options {
        let t = |s: &str| crate::candles::time::parse_time(s).unwrap();
        Options { from: t(from), to: t(to), symbol: None, ticks, policies: Vec::new(), keep: None }
    }

    fn resolved(yaml: &str) -> Resolved {
        Resolved { settings: crate::config::parse(yaml).unwrap(), file: None, base_dir: PathBuf::from(".") }
    }

    #[test]
    fn the_clock_ticks_from_from_to_to_by_every_or_by_the_schedules() {
        let hourly =
            options("2022-01-10T00:00:00Z", "2022-01-10T03:30:00Z", Ticks::Every("1h".parse().unwrap()));
        let ticks = super::ticks(&resolved(""), &hourly).unwrap();
        let shown: Vec<String> = ticks.iter().map(|t| format_minute(*t)).collect();
        assert_eq!(shown, ["2022-01-10 00:00", "2022-01-10 01:00", "2022-01-10 02:00", "2022-01-10 03:00"]);

        // 02:00 in London and 06:15 on the 15th in UTC; --from itself is always a tick.
        let config = resolved(
            "schedule:\n  jobs:\n    - models: BTC/trending\n      cron: 0 2 * * *\n      timezone: Europe/London\n    \
             - models: '*'\n      cron: 15 6 15 * *\n",
        );
        let scheduled = options("2022-07-13T12:00:00Z", "2022-07-15T12:00:00Z", Ticks::Schedule);
        let shown: Vec<String> =
            super::ticks(&config, &scheduled).unwrap().iter().map(|t| format_minute(*t)).collect();
        assert_eq!(
            shown,
            ["2022-07-13 12:00", "2022-07-14 01:00", "2022-07-15 01:00", "2022-07-15 06:15"],
            "London's 02:00 is 01:00 UTC in summer"
        );
        let err = super::ticks(&resolved(""), &scheduled).unwrap_err().to_string();
        assert!(err.contains("no schedule.jobs"), "{err}");
    }
}
