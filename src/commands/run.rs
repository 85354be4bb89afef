//! `retrain run`: the cron entry point. Takes the run lock, collects what has a source,
//! ends due canary tests and watches fresh promotions, checks every trigger of every
//! configured model, then runs the jobs in priority order on a bounded pool. One line per
//! decision and per job result; a failed job leaves production as it was.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;

use super::{drift_check, evaluate, load_artifact, promote, train};
use crate::candles::Interval;
use crate::candles::time::{TimeParser, format_minute, format_rfc3339, now_millis, set_clock};
use crate::cli::{CollectArgs, Format, RunArgs, Source};
use crate::config::{Regime, Resolved, Severity, SymbolSource};
use crate::error::{Failure, code};
use crate::evaluation::score::Requested;
use crate::evaluation::{self, Record};
use crate::failpoint;
use crate::features;
use crate::lock::{Busy, RunLock};
use crate::output::event;
use crate::schedule::{self, Crontab};
use crate::store::{Change, JobResult, NewAlert, NewJob, Store, VersionRow};
use crate::triggers::{self, Facts, Queued, Trigger};

const HOUR_MS: f64 = 3_600_000.0;
/// Who `run` records as the actor of its deployments.
const ACTOR: &str = "run";

/// A job the run decided on.
#[derive(Debug, Clone)]
struct Planned {
    symbol: String,
    regime: Regime,
    interval: Interval,
    trigger: Trigger,
    queued: Vec<i64>,
    requested_at: i64,
}

pub fn run(resolved: &Resolved, args: &RunArgs) -> anyhow::Result<u8> {
    let settings = &resolved.settings;
    let now = match &args.now {
        Some(text) => TimeParser::new(None).parse(text).map_err(|e| Failure::Usage(format!("--now: {e}")))?,
        None => now_millis(),
    };
    // A run acts at one instant: everything it records carries that time, so that what it
    // measured is never "newer" than the jobs it started.
    set_clock(now);
    if settings.symbols.is_empty() && !resolved.database_path().exists() {
        let file = resolved
            .file
            .as_ref()
            .map_or("the config (none was found)".to_string(), |f| f.display().to_string());
        return Err(Failure::Usage(format!(
            "{file} lists no symbols: add a `symbols:` entry for each market run keeps fresh"
        ))
        .into());
    }
    let pid = std::process::id();
    let lock_path = resolved.database_path().with_file_name("retrain.lock");
    let _lock = if args.dry_run {
        None
    } else {
        let holder = format!("pid {pid}, started {}", format_rfc3339(crate::candles::time::wall_millis()));
        match RunLock::acquire(&lock_path, &holder) {
            Ok(lock) => Some(lock),
            Err(Busy::Held(by)) => {
                eprintln!(
                    "error: another `retrain run` holds {} ({by}); this one did nothing",
                    lock_path.display()
                );
                return Ok(code::LOCKED);
            }
            Err(Busy::Io(e)) => {
                return Err(anyhow::anyhow!("taking the run lock {}: {e}", lock_path.display()));
            }
        }
    };
    // A dry run never creates the database.
    let mut store =
        if args.dry_run { super::existing_store(resolved)? } else { Store::open(&resolved.database_path())? };
    let run_id = if args.dry_run {
        None
    } else {
        let (id, abandoned) = store.begin_run(pid, now, crate::candles::time::wall_millis(), false)?;
        if abandoned > 0 {
            event(&format!("{abandoned} job(s) left running by a killed run are marked abandoned"));
        }
        Some(id)
    };
    let previous = store.previous_run_now(run_id)?;
    event(&format!(
        "run at {}{}{}",
        format_minute(now),
        previous
            .map_or(" (the first run)".to_string(), |p| format!(", previous run at {}", format_minute(p))),
        if args.dry_run { ": dry run, nothing will change" } else { "" }
    ));

    if !args.dry_run {
        for s in settings.symbols.iter().filter(|s| s.source != SymbolSource::None) {
            let collect = CollectArgs {
                symbol: Some(s.symbol.clone()),
                interval: s.interval.clone(),
                file: None,
                source: Some(Source::Binance),
                trades: None,
                format: Format::Auto,
                time_format: None,
                resample: None,
                days: None,
                base_url: None,
            };
            if let Err(e) = super::collect::collect(resolved, &collect, ACTOR) {
                event(&format!(
                    "{}: collect failed: {e:#}; its models are checked on the stored candles",
                    s.symbol
                ));
            }
        }
        for s in &settings.symbols {
            for regime in &s.regimes {
                if let Some((_, decision, Some(_))) =
                    super::live::decide_canary(resolved, &mut store, &s.symbol, *regime, ACTOR)?
                {
                    event(&format!("{} {regime}: canary test ended: {}", s.symbol, decision.reason));
                }
            }
            for done in super::live::watch(resolved, &mut store, &s.symbol, ACTOR)? {
                event(&done);
            }
        }
    }

    let plan = plan(resolved, &mut store, now, previous, !args.dry_run)?;
    if plan.is_empty() {
        event("nothing is due");
    }
    for (i, job) in plan.iter().enumerate() {
        event(&format!(
            "{} {} {}: {} ({}, {}): {}",
            if args.dry_run { "would run" } else { "will run" },
            job.symbol,
            job.regime,
            i + 1,
            job.trigger.kind,
            job.trigger.priority,
            job.trigger.reason
        ));
    }
    if args.dry_run {
        return Ok(code::OK);
    }
    let run_id = run_id.unwrap_or_default();
    let failed = execute(resolved, &plan, run_id, now);
    notify(resolved, &mut store)?;
    store.finish_run(run_id, crate::candles::time::wall_millis())?;
    event(&format!("run done: {} job(s), {failed} failed", plan.len()));
    Ok(if failed > 0 { code::RUNTIME } else { code::OK })
}

/// A schedule job's `models` against a model (`SYMBOL/regime`): a pattern with `/` as it
/// is (`*` any run of characters); a regime name alone means that regime of every symbol;
/// anything else alone, every regime of the symbols it matches.
pub(super) fn applies(models: &str, model: &str) -> bool {
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

/// Every model's triggers, merged into one job each, in run order.
/// How much `assess` may do to learn a model's decay and drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Measure what is not stored yet, and store it (`run`).
    Record,
    /// Measure what is not stored yet, store nothing (`run --dry-run`).
    Measure,
    /// Only what is stored; count a series' candles instead of its regime's bars for a
    /// first model (`status`, which must answer at once).
    Stored,
}

/// One model as `run` sees it: its facts, the triggers that fire, and those held back.
pub(super) struct Assessed {
    pub symbol: String,
    pub regime: Regime,
    pub interval: Interval,
    pub facts: Facts,
    pub fired: Vec<Trigger>,
    pub held: Vec<String>,
    /// Its production, canary and candidate versions, newest first.
    pub versions: Vec<VersionRow>,
}

fn plan(
    resolved: &Resolved,
    store: &mut Store,
    now: i64,
    previous: Option<i64>,
    record: bool,
) -> anyhow::Result<Vec<Planned>> {
    let mode = if record { Mode::Record } else { Mode::Measure };
    let mut plan = Vec::new();
    for a in assess(resolved, store, now, previous, mode)? {
        for note in &a.held {
            event(&format!("{} {}: {note}", a.symbol, a.regime));
        }
        if let Some(trigger) = triggers::merge(&a.fired) {
            let requested_at = a.facts.queued.iter().map(|q| q.requested_at).min().unwrap_or(now);
            let queued = a.facts.queued.iter().map(|q| q.id).collect();
            plan.push(Planned {
                symbol: a.symbol,
                regime: a.regime,
                interval: a.interval,
                trigger,
                queued,
                requested_at,
            });
        }
    }
    plan.sort_by(|a, b| {
        let (na, nb) = (format!("{}/{}", a.symbol, a.regime), format!("{}/{}", b.symbol, b.regime));
        triggers::order((&a.trigger, a.requested_at, &na), (&b.trigger, b.requested_at, &nb))
    });
    Ok(plan)
}

/// Every configured model, and any with a manual request: facts and triggers.
pub(super) fn assess(
    resolved: &Resolved,
    store: &mut Store,
    now: i64,
    previous: Option<i64>,
    mode: Mode,
) -> anyhow::Result<Vec<Assessed>> {
    let settings = &resolved.settings;
    let queued = store.jobs(Some("queued"))?;
    // Configured models, then any model with a manual request.
    let mut models: Vec<(String, Regime, Interval)> = Vec::new();
    for s in &settings.symbols {
        let interval = match &s.interval {
            Some(text) => {
                text.parse().map_err(|e| Failure::Usage(format!("symbols {}: interval: {e}", s.symbol)))?
            }
            None => resolved.default_interval(),
        };
        models.extend(s.regimes.iter().map(|r| (s.symbol.clone(), *r, interval)));
    }
    for q in &queued {
        let Ok(regime) = q.regime.parse::<Regime>() else { continue };
        if !models.iter().any(|(s, r, _)| *s == q.symbol && *r == regime) {
            let interval = settings
                .symbols
                .iter()
                .find(|s| s.symbol == q.symbol)
                .and_then(|s| s.interval.as_deref())
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| resolved.default_interval());
            models.push((q.symbol.clone(), regime, interval));
        }
    }
    let mut regime_rows: BTreeMap<(String, String), BTreeMap<Regime, usize>> = BTreeMap::new();
    let mut last_bars: BTreeMap<(String, Interval), Option<i64>> = BTreeMap::new();
    let mut assessed = Vec::new();
    for (symbol, regime, interval) in models {
        let name = format!("{symbol} {regime}");
        let versions = store.active_versions(&symbol, regime)?;
        let production = versions.iter().find(|v| v.status == "production").cloned();
        let last_bar = match last_bars.get(&(symbol.clone(), interval)) {
            Some(bar) => *bar,
            None => {
                let bar = store.last_open_time(&symbol, interval)?;
                last_bars.insert((symbol.clone(), interval), bar);
                bar
            }
        };
        let last_job = store.last_job_at(&symbol, regime.as_str())?;
        let mut facts = Facts {
            has_production: production.is_some(),
            schedule_due: schedule_due(resolved, &format!("{symbol}/{regime}"), previous, now),
            hours_since_job: last_job.map(|t| (now - t) as f64 / HOUR_MS),
            queued: queued
                .iter()
                .filter(|q| q.symbol == symbol && q.regime == regime.as_str())
                .map(|q| Queued {
                    id: q.id,
                    priority: q.priority.clone(),
                    reason: q.reason.clone(),
                    requested_at: q.requested_at,
                })
                .collect(),
            ..Facts::default()
        };
        if production.is_none() && last_bar.is_some() && mode == Mode::Stored {
            facts.regime_rows = store.candle_count(&symbol, interval)?;
        } else if production.is_none() && last_bar.is_some() {
            let key = (symbol.clone(), interval.to_string());
            if !regime_rows.contains_key(&key) {
                let candles = store.candles(&symbol, interval, None)?;
                let table = features::compute(&candles, &settings.features, &settings.regimes)?;
                let mut counts = BTreeMap::new();
                for row in (0..table.len()).filter(|&r| table.complete(r)) {
                    if let Some(r) = table.regime[row] {
                        *counts.entry(r).or_insert(0) += 1;
                    }
                }
                regime_rows.insert(key.clone(), counts);
            }
            facts.regime_rows = regime_rows[&key].get(&regime).copied().unwrap_or(0);
        }
        if let (Some(p), Some(last_bar)) = (&production, last_bar) {
            facts.production_age_days = Some((now - p.created_at) as f64 / (24.0 * HOUR_MS));
            let promoted_at = store.promoted_at(&symbol, regime.as_str(), p.id)?.unwrap_or(p.created_at);
            let live = store.live_summary(p.id, promoted_at, settings.triggers.live_window as usize)?;
            facts.live = Some((live.signals, live.win_rate));
            // Decay and drift count once per measurement: only one taken after the model's
            // last job (new candles since), so that a drift retraining cannot fix does not
            // retrain it every run.
            let fresh = |at: i64| last_job.is_none_or(|job| at > job);
            match measure_production(resolved, store, p, last_bar, now, mode) {
                Ok(m) => {
                    facts.decay = m.decay.filter(|(_, at)| fresh(*at)).map(|(d, _)| d);
                    facts.drift = m.drift.filter(|(_, at)| fresh(*at)).map(|(d, _)| d);
                }
                Err(e) => event(&format!("{name}: production v{} could not be checked: {e:#}", p.version)),
            }
        }
        let (fired, held) = triggers::evaluate(&facts, settings);
        assessed.push(Assessed { symbol, regime, interval, facts, fired, held, versions });
    }
    Ok(assessed)
}

/// The production version's decay (test value, recent value, relative drop) and drift
/// severity on the latest bars, each with when it was measured: from the stored
/// evaluation and drift report of the latest bar when there are (nothing new to measure),
/// else measured now (and stored unless a dry run).
struct Measured {
    decay: Option<((f64, f64, f64), i64)>,
    drift: Option<(Severity, i64)>,
}

fn measure_production(
    resolved: &Resolved,
    store: &mut Store,
    p: &VersionRow,
    last_bar: i64,
    now: i64,
    mode: Mode,
) -> anyhow::Result<Measured> {
    let record = mode == Mode::Record;
    let settings = &resolved.settings;
    let test: Option<Record> =
        store.evaluation_of_kind(p.id, "test")?.and_then(|t| serde_json::from_str(&t).ok());
    let recent: Option<(Record, i64)> = match store.latest_evaluation(p.id, "backtest")? {
        Some((to, metrics, at)) if to == last_bar => serde_json::from_str(&metrics).ok().map(|r| (r, at)),
        _ if mode == Mode::Stored => None,
        _ => {
            let days = Requested::LastDays(settings.evaluation.window_days);
            match evaluate::backtest(resolved, store, p, days, record) {
                Ok(checked) => Some((
                    Record {
                        classification: checked.scored.classification,
                        trading: Some(checked.scored.trading),
                    },
                    now,
                )),
                Err(e) if crate::error::exit_code(&e) == code::REFUSED => None,
                Err(e) => return Err(e),
            }
        }
    };
    let decay = test.zip(recent).and_then(|(t, (r, at))| {
        evaluation::degradation(settings.evaluation.metric, &t, &r, settings.triggers.performance_decay)
            .map(|d| ((d.test, d.recent, d.relative_drop), at))
    });
    let drift = match store.latest_drift(p.id)? {
        Some((to, severity, at)) if to == last_bar => {
            severity.and_then(|s| s.parse::<Severity>().ok()).map(|s| (s, at))
        }
        _ if mode == Mode::Stored => None,
        _ => {
            let days = Requested::LastDays(settings.drift.window_days);
            drift_check::measure(resolved, store, p, days, record, record)?
                .report
                .and_then(|r| r.severity)
                .map(|s| (s, now))
        }
    };
    Ok(Measured { decay, drift })
}

/// Run the plan on `schedule.max_concurrent_jobs` threads; returns how many failed.
fn execute(resolved: &Resolved, plan: &[Planned], run: i64, now: i64) -> usize {
    let queue = Mutex::new(plan.iter().collect::<VecDeque<_>>());
    let failed = Mutex::new(0usize);
    let workers = (resolved.settings.schedule.max_concurrent_jobs as usize).clamp(1, plan.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                    let Some(job) = next else { break };
                    let ok = run_job(resolved, job, run, now).unwrap_or_else(|e| {
                        event(&format!(
                            "{} {}: the job could not be recorded: {e:#}",
                            job.symbol, job.regime
                        ));
                        false
                    });
                    if !ok && let Ok(mut count) = failed.lock() {
                        *count += 1;
                    }
                }
            });
        }
    });
    failed.into_inner().unwrap_or(0)
}

/// One job, in its own connection; returns whether it succeeded.
fn run_job(resolved: &Resolved, job: &Planned, run: i64, now: i64) -> anyhow::Result<bool> {
    let mut store = Store::open(&resolved.database_path())?;
    let name = format!("{} {}", job.symbol, job.regime);
    let new = NewJob {
        symbol: job.symbol.clone(),
        regime: job.regime.to_string(),
        trigger: job.trigger.kind.to_string(),
        reason: job.trigger.reason.clone(),
        priority: job.trigger.priority.to_string(),
    };
    let id = store.start_job(job.queued.first().copied(), &new, run, now)?;
    failpoint::hit("run:job-started");
    let started = Instant::now();
    // Whatever happens inside, the job is finished and recorded: an error or even a panic
    // is its failure, never a job left `running`.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for other in job.queued.iter().skip(1) {
            store.cancel_job(*other)?;
        }
        work(resolved, &mut store, job, id, now)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned());
        Err(anyhow::anyhow!("the job panicked: {}", what.unwrap_or_default()))
    });
    let seconds = started.elapsed().as_secs_f64();
    let result = match outcome {
        Ok((version_id, outcome)) => {
            event(&format!("job {id} {name} ({}) done in {seconds:.1} s: {outcome}", job.trigger.kind));
            JobResult { seconds, version_id, outcome: Some(outcome), error: None }
        }
        Err(e) => {
            let error = format!("{e:#}");
            event(&format!("job {id} {name} ({}) failed in {seconds:.1} s: {error}", job.trigger.kind));
            JobResult { seconds, version_id: None, outcome: None, error: Some(error) }
        }
    };
    let ok = result.error.is_none();
    store.finish_job(id, now_millis(), &result)?;
    if let Some(error) = &result.error {
        let alert = NewAlert {
            kind: "training_failure".into(),
            severity: Severity::High,
            symbol: job.symbol.clone(),
            regime: job.regime.to_string(),
            version_id: None,
            message: format!("{name}: job {id} ({}) failed: {error}", job.trigger.kind),
            details: json!({"job": id, "trigger": job.trigger.kind, "reason": job.trigger.reason})
                .to_string(),
            created_at: now,
        };
        if let Err(e) = store.raise_alert(&alert) {
            event(&format!("job {id} {name}: the training_failure alert could not be raised: {e:#}"));
        }
    }
    Ok(ok)
}

/// Train, evaluate, check drift, and promote (or start a canary) when the gates pass.
fn work(
    resolved: &Resolved,
    store: &mut Store,
    job: &Planned,
    id: i64,
    now: i64,
) -> anyhow::Result<(Option<i64>, String)> {
    let settings = &resolved.settings;
    let candles = store.candles(&job.symbol, job.interval, None)?;
    if candles.is_empty() {
        return Err(
            Failure::Refused(format!("no {} candles of {} are stored", job.interval, job.symbol)).into()
        );
    }
    let spec = train::Spec {
        symbol: &job.symbol,
        regime: job.regime,
        interval: job.interval,
        model: settings.training.model,
        trials: settings.training.search.max_trials,
        seed: settings.training.seed,
    };
    store.set_job_stage(id, "train")?;
    let registered = train::train_and_register(resolved, store, &candles, &spec, false)?;
    let versions = store.versions(&job.symbol, Some(job.regime))?;
    let version = versions
        .iter()
        .find(|v| v.version == registered.version)
        .ok_or_else(|| anyhow::anyhow!("v{} was not registered", registered.version))?;
    let mut notes = vec![format!("trained v{}", version.version)];
    store.set_job_stage(id, "evaluate")?;
    match evaluate::backtest(
        resolved,
        store,
        version,
        Requested::LastDays(settings.evaluation.window_days),
        true,
    ) {
        Ok(c) => notes.push(format!(
            "recent {} {}",
            settings.evaluation.metric.as_str(),
            Record { classification: c.scored.classification, trading: Some(c.scored.trading) }
                .value(settings.evaluation.metric)
                .map_or("undefined".to_string(), |v| format!("{v:.4}"))
        )),
        Err(e) => notes.push(format!("not evaluated: {e:#}")),
    }
    // A candidate is not live: its drift is recorded for the gates, not alerted on.
    store.set_job_stage(id, "drift-check")?;
    let days = Requested::LastDays(settings.drift.window_days);
    match drift_check::measure(resolved, store, version, days, true, false) {
        Ok(m) => notes.push(format!(
            "drift {}",
            m.report
                .and_then(|r| r.severity)
                .map_or("none".to_string(), |s| crate::store::severity_name(s).to_string())
        )),
        Err(e) => notes.push(format!("drift not measured: {e:#}")),
    }
    if !settings.deployment.auto_deploy {
        notes.push("left a candidate: deployment.auto_deploy is off".into());
        return Ok((Some(version.id), notes.join(", ")));
    }
    if store.running_test(&job.symbol, job.regime.as_str())?.is_some() {
        notes.push("left a candidate: a canary test of the model is running".into());
        return Ok((Some(version.id), notes.join(", ")));
    }
    let champion = versions.iter().find(|v| v.status == "production");
    store.set_job_stage(id, "promote")?;
    let gates = promote::check_gates(resolved, store, version, champion, now)?;
    let failed: Vec<&str> = gates.iter().filter(|g| !g.passed).map(|g| g.name.as_str()).collect();
    if !failed.is_empty() {
        notes.push(format!("left a candidate: gates fail ({})", failed.join(", ")));
        return Ok((Some(version.id), notes.join(", ")));
    }
    let change = Change {
        symbol: job.symbol.clone(),
        regime: job.regime.to_string(),
        reason: format!("job {id} ({}): every gate passed", job.trigger.kind),
        gates: Some(serde_json::to_string(&gates)?),
        forced: false,
        actor: ACTOR.into(),
        at: now,
    };
    match champion {
        Some(c) if settings.deployment.canary.enabled => {
            load_artifact(resolved, c)?;
            let split = settings.deployment.canary.traffic_split;
            store.start_canary(version.id, c.id, split, &change)?;
            notes.push(format!("canary test started on {split}% against v{}", c.version));
        }
        _ => {
            store.promote(version.id, champion.map(|c| c.id), &change)?;
            notes.push(match champion {
                Some(c) => format!("promoted, v{} archived", c.version),
                None => "promoted (the first production version)".into(),
            });
        }
    }
    Ok((Some(version.id), notes.join(", ")))
}

/// Post alerts at or above `notifications.min_severity` that were never posted.
fn notify(resolved: &Resolved, store: &mut Store) -> anyhow::Result<()> {
    let n = &resolved.settings.notifications;
    let Some(url) = n.webhook_url.as_deref().filter(|u| !u.trim().is_empty()) else { return Ok(()) };
    let wanted: Vec<&str> = Severity::ALL
        .iter()
        .filter(|s| **s >= n.min_severity)
        .map(|s| crate::store::severity_name(*s))
        .collect();
    for alert in store.unsent_alerts(&wanted)? {
        let (attempts, outcome) = crate::notify::post(
            n,
            url,
            &crate::notify::message(&alert.severity, &alert.kind, &alert.message),
        );
        let error = outcome.as_ref().err().cloned();
        store.record_notification(alert.id, now_millis(), attempts, outcome.is_ok(), error.as_deref())?;
        match error {
            None => event(&format!("alert {} posted to the webhook", alert.id)),
            Some(e) => event(&format!("alert {} not posted after {attempts} attempt(s): {e}", alert.id)),
        }
    }
    Ok(())
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
