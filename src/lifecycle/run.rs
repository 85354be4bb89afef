//! A run: the cron entry point's work at one instant. Takes the run lock, collects what
//! has a source, ends due canary tests and watches fresh promotions, assesses every model,
//! then runs the jobs in priority order on a bounded pool. One line per decision and per
//! job result; a failed step leaves production as it was.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::json;

use super::assess::{self, Assessed, Keeping, Mode};
use super::collect::{self, Input, Request};
use super::job::Deploy;
use super::job::{self, Planned};
use crate::candles::time::{format_minute, format_rfc3339, wall_millis};
use crate::config::{Resolved, Severity, SymbolSource};
use crate::error::{Failure, code};
use crate::kinds::AlertKind;
use crate::lock::{Busy, RunLock};
use crate::output::event;
use crate::store::{NewAlert, Store};
use crate::triggers;

/// Who `run` records as the actor of its deployments.
pub const ACTOR: &str = "run";

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The instant the run acts at: everything it records carries this time.
    pub now: i64,
    /// Say what would run and why; change nothing (no lock, no collect, no job).
    pub dry_run: bool,
}

/// Run once at `options.now`; the result is the exit code: 0, 1 when a job or a collect
/// failed, 5 when another run holds the lock. Everything the run decides and records is
/// stamped with `now`; the wall clock is read only for when the process really started and
/// ended (the lock's holder line and the run's row), which is what a probe asks of it.
pub fn run(resolved: &Resolved, options: Options) -> anyhow::Result<u8> {
    run_planned(resolved, options, &mut |resolved, store, now, previous, mode| {
        let (models, left_out) = assess::assess(resolved, store, now, previous, mode)?;
        for note in &left_out {
            event(note);
        }
        Ok(plan(resolved, &models, now))
    })
}

/// What decides a run's jobs: given the store at `now` and the previous run's clock, the
/// jobs in run order. `run` plans by the triggers; a replay's baseline policies plan by
/// their own rule and run everything else as `run` does.
pub type Planner<'a> =
    dyn FnMut(&Resolved, &mut Store, i64, Option<i64>, Mode) -> anyhow::Result<Vec<Planned>> + 'a;

/// [`run`] with the jobs decided by `planner`.
pub fn run_planned(resolved: &Resolved, options: Options, planner: &mut Planner) -> anyhow::Result<u8> {
    let (now, dry_run) = (options.now, options.dry_run);
    let settings = &resolved.settings;
    let database = resolved.database();
    if settings.symbols.is_empty() && !Store::exists(&database)? {
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
    let lock_name = RunLock::name_for(&database);
    let _lock = if dry_run {
        None
    } else {
        let holder = format!("pid {pid}, started {}", format_rfc3339(wall_millis()));
        match RunLock::acquire_for(&database, &holder) {
            Ok(lock) => Some(lock),
            Err(Busy::Held(by)) => {
                eprintln!("error: another `retrain run` holds {lock_name} ({by}); this one did nothing");
                return Ok(code::LOCKED);
            }
            Err(Busy::Io(e)) => {
                return Err(anyhow::anyhow!("taking the run lock {lock_name}: {e}"));
            }
        }
    };
    // A dry run never creates the database.
    let mut store = if dry_run { super::existing_store(resolved)? } else { Store::open(&database)? };
    let run_id = if dry_run {
        None
    } else {
        let begun = store.begin_run(pid, now, wall_millis(), false)?;
        if begun.abandoned > 0 {
            event(&format!("{} job(s) left running by a killed run are marked abandoned", begun.abandoned));
        }
        Some(begun.id)
    };
    let previous = store.previous_run_now(run_id)?;
    event(&format!(
        "run at {}{}{}",
        format_minute(now),
        previous
            .map_or(" (the first run)".to_string(), |p| format!(", previous run at {}", format_minute(p))),
        if dry_run { ": dry run, nothing will change" } else { "" }
    ));

    let mut failed_collects = 0;
    if !dry_run {
        failed_collects = collect_sources(resolved, &mut store, now)?;
        for s in &settings.symbols {
            for regime in &s.regimes {
                if let Some(standing) =
                    super::live::decide_canary(resolved, &mut store, &s.symbol, *regime, ACTOR, now)?
                    && standing.end.is_some()
                {
                    event(&format!("{} {regime}: canary test ended: {}", s.symbol, standing.decision.reason));
                }
            }
            for done in super::live::watch(resolved, &mut store, &s.symbol, ACTOR, now)? {
                event(&done);
            }
        }
    }

    let mode = if dry_run { Mode::Measure } else { Mode::Record };
    let plan = planner(resolved, &mut store, now, previous, mode)?;
    if plan.is_empty() {
        event("nothing is due");
    }
    for (i, job) in plan.iter().enumerate() {
        event(&format!(
            "{} {} {}: {} ({}, {}): {}",
            if dry_run { "would run" } else { "will run" },
            job.symbol,
            job.regime,
            i + 1,
            job.trigger.kind,
            job.trigger.priority,
            job.trigger.reason
        ));
    }
    if dry_run {
        return Ok(code::OK);
    }
    let run_id = run_id.unwrap_or_default();
    let failed_jobs = execute(resolved, &plan, run_id, now);
    notify(resolved, &mut store, now)?;
    store.finish_run(run_id, wall_millis(), failed_collects)?;
    event(&format!(
        "run done: {} job(s), {failed_jobs} failed{}",
        plan.len(),
        if failed_collects > 0 { format!("; {failed_collects} collect(s) failed") } else { String::new() }
    ));
    Ok(if failed_jobs + failed_collects > 0 { code::RUNTIME } else { code::OK })
}

/// Collect every configured symbol that has a source, once, at the start: triggers need
/// fresh candles. A failure is a failed step: the models are still checked on the stored
/// candles, and a symbol left without its last closed bar raises a `stale_data` alert.
/// Returns how many collects failed.
fn collect_sources(resolved: &Resolved, store: &mut Store, now: i64) -> anyhow::Result<usize> {
    let mut failed = 0;
    for s in resolved.settings.symbols.iter().filter(|s| s.source != SymbolSource::None) {
        let interval = s.interval.unwrap_or(resolved.settings.data.interval);
        let request = Request {
            symbol: &s.symbol,
            interval,
            input: Input::Binance { days: None, base_url: None },
            resample: None,
        };
        let error = match collect::collect(resolved, &request, ACTOR, now, &mut |line| event(line)) {
            Ok(collected) => {
                event(&collected.summary);
                for note in &collected.notes {
                    event(&format!("{} {interval}: note: {note}", s.symbol));
                }
                if collected.resolved.signals > 0 {
                    event(&collect::resolved_line(&s.symbol, interval, collected.resolved));
                }
                for done in &collected.rolled_back {
                    event(done);
                }
                continue;
            }
            Err(e) => e,
        };
        failed += 1;
        event(&format!(
            "{}: collect failed: {error:#}; its models are checked on the stored candles",
            s.symbol
        ));
        let last = store.last_open_time(&s.symbol, interval)?;
        if collect::is_stale(last, interval, now) {
            let newest = last
                .map_or("none is stored".to_string(), |t| format!("the newest opened {}", format_minute(t)));
            let message = format!(
                "{} {interval}: collecting from {} failed and its candles are stale ({newest}, the last closed bar \
                 opened {}): {error:#}",
                s.symbol,
                s.source.as_str(),
                format_minute(interval.bucket(now) - interval.millis())
            );
            let raised = store.raise_alert(&NewAlert {
                kind: AlertKind::StaleData,
                severity: Severity::High,
                symbol: s.symbol.to_string(),
                regime: None,
                version_id: None,
                message: message.clone(),
                details: json!({"interval": interval, "last_open_time": last, "error": format!("{error:#}")}),
                created_at: now,
            })?;
            let state = if matches!(raised, crate::store::Raised::New(_)) { "raised" } else { "still open" };
            event(&format!("stale_data alert {state}: {message}"));
        }
    }
    Ok(failed)
}

/// The jobs of the assessed models, in run order; every kept model that is not due says why.
fn plan(resolved: &Resolved, models: &[Assessed], now: i64) -> Vec<Planned> {
    let mut plan = Vec::new();
    for a in models {
        for note in &a.notes {
            event(&format!("{}: {note}", a.name()));
        }
        match a.job() {
            Some(trigger) if a.keeping != Keeping::NotKept => {
                let requested_at = a.facts.queued.iter().map(|q| q.requested_at).min().unwrap_or(now);
                plan.push(Planned {
                    symbol: a.symbol.clone(),
                    regime: a.regime,
                    interval: a.interval,
                    trigger,
                    queued: a.facts.queued.iter().map(|q| q.id).collect(),
                    requested_at,
                    deploy: Deploy::BehindGates,
                });
            }
            _ => {
                if let Some(why) = a.not_due(resolved) {
                    event(&format!("{}: {why}", a.name()));
                }
            }
        }
    }
    in_run_order(&mut plan);
    plan
}

/// Sort jobs in the order a run takes them: by priority, then trigger kind, request time
/// and model name.
pub fn in_run_order(plan: &mut [Planned]) {
    plan.sort_by(|a, b| {
        let (na, nb) = (format!("{}/{}", a.symbol, a.regime), format!("{}/{}", b.symbol, b.regime));
        triggers::order((&a.trigger, a.requested_at, &na), (&b.trigger, b.requested_at, &nb))
    });
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
                    let ok = job::run(resolved, job, run, now).unwrap_or_else(|e| {
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

/// Post alerts at or above `notifications.min_severity` that were never posted.
fn notify(resolved: &Resolved, store: &mut Store, now: i64) -> anyhow::Result<()> {
    let n = &resolved.settings.notifications;
    let Some(url) = n.webhook_url.as_deref().filter(|u| !u.trim().is_empty()) else { return Ok(()) };
    for alert in store.unsent_alerts(n.min_severity)? {
        let body = crate::notify::message(alert.severity.as_str(), alert.kind.as_str(), &alert.message);
        let (attempts, outcome) = crate::notify::post(n, url, &body);
        let error = outcome.as_ref().err().cloned();
        store.record_notification(alert.id, now, attempts, outcome.is_ok(), error.as_deref())?;
        match error {
            None => event(&format!("alert {} posted to the webhook", alert.id)),
            Some(e) => event(&format!("alert {} not posted after {attempts} attempt(s): {e}", alert.id)),
        }
    }
    Ok(())
}
