//! A run: the cron entry point's work at one instant. Takes the run lock, collects what
//! has a source, ends due canary tests and watches fresh promotions, assesses every model,
//! then runs the jobs in priority order on a bounded pool. One line per decision and per
//! job result; a failed step leaves production as it was.

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
use crate::store::{Location, NewAlert, Store};
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
    /// Claim and do planned jobs without planning (PostgreSQL only).
    pub worker_only: bool,
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
    let worker = job::Worker::this(resolved);
    // SQLite: one run per state, under the run lock. PostgreSQL: any number of runs on any
    // number of machines; the plan is made once, under the plan lock, and every run then
    // claims the plan's jobs until none is left.
    let shared = matches!(database, Location::Postgres(_));
    if options.worker_only {
        return work_only(resolved, &database, &worker);
    }
    let _lock = match (&database, dry_run) {
        (Location::Sqlite(path), false) => {
            let lock_path = path.with_file_name("retrain.lock");
            let holder = format!("pid {pid}, started {}", format_rfc3339(wall_millis()));
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
        }
        _ => None,
    };
    // A dry run never creates the database.
    let mut store = if dry_run { super::existing_store(resolved)? } else { Store::open(&database)? };
    let plan_lock = match (&database, dry_run) {
        (Location::Postgres(url), false) => {
            // Runs started at once: the first to take the plan lock plans; the others find,
            // once they hold it, a plan stored since they began to wait, and work on it.
            let waiting_since = store.database_now()?;
            let holder = format!("retrain run, {}", worker.name);
            let lock = crate::store::session_lock(url, crate::store::db::LOCK_PLAN, &holder)?;
            if store.planned_since(waiting_since)? {
                drop(lock);
                event(&format!(
                    "worker {}: a run planned while this one waited; working on its plan",
                    worker.name
                ));
                return Ok(finish_working(resolved, &worker, None));
            }
            Some(lock)
        }
        _ => None,
    };
    let run_id = if dry_run {
        None
    } else {
        let begun = store.begin_run(pid, now, wall_millis(), !shared)?;
        if begun.abandoned > 0 {
            event(&format!("{} job(s) left running by a killed run are marked abandoned", begun.abandoned));
        }
        for removed in super::check::remove_dead_writes(&mut store, &resolved.models()?, None)? {
            event(&format!("removed the files of {removed}"));
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
    let mut stored = Vec::with_capacity(plan.len());
    if shared {
        // Beside other workers: a model whose job still runs (or waits to be taken over)
        // is not planned twice, and jobs planned by earlier runs that no worker took are
        // planned afresh here.
        let running = store.running_jobs()?;
        for job in &plan {
            match running.iter().find(|r| r.symbol == job.symbol.as_str() && r.regime == job.regime) {
                Some(r) => event(&format!(
                    "{} {}: job {} still runs on {}; not planned again",
                    job.symbol,
                    job.regime,
                    r.id,
                    r.worker.as_deref().unwrap_or("a worker")
                )),
                None => stored.push(job.stored()),
            }
        }
        let stale = store.abandon_unclaimed(run_id)?;
        if stale > 0 {
            event(&format!("{stale} job(s) planned by earlier runs that no worker took are planned afresh"));
        }
    } else {
        stored.extend(plan.iter().map(Planned::stored));
    }
    store.enqueue_plan(run_id, now, &stored)?;
    drop(plan_lock);
    let threads = if shared { None } else { Some(stored.len()) };
    let worked = work(resolved, &worker, threads);
    let (done, failed_jobs) = (worked.done, worked.failed);
    notify(resolved, &mut store, now)?;
    store.finish_run(run_id, wall_millis(), failed_collects)?;
    event(&format!(
        "run done: {done} job(s), {failed_jobs} failed{}{}",
        if failed_collects > 0 { format!("; {failed_collects} collect(s) failed") } else { String::new() },
        if shared { worked.claims() } else { String::new() }
    ));
    Ok(if failed_jobs + failed_collects > 0 { code::RUNTIME } else { code::OK })
}

/// `run --worker-only`: claim and do planned jobs without planning (waiting first for a
/// plan being made), until none is left.
fn work_only(resolved: &Resolved, database: &Location, worker: &job::Worker) -> anyhow::Result<u8> {
    let Location::Postgres(url) = database else {
        return Err(Failure::Usage(format!(
            "--worker-only works beside other runs on a shared PostgreSQL state; {} is a SQLite file, which \
             one `retrain run` plans and works on alone",
            database.display()
        ))
        .into());
    };
    if !Store::exists(database)? {
        return Err(Failure::Usage(format!(
            "no database at {}: run `retrain init` and `retrain run` first",
            database.display()
        ))
        .into());
    }
    crate::store::wait_for_session_lock(url, crate::store::db::LOCK_PLAN)?;
    Ok(finish_working(resolved, worker, None))
}

/// Work until no job is left, say what this worker did, and give its exit code.
fn finish_working(resolved: &Resolved, worker: &job::Worker, threads: Option<usize>) -> u8 {
    let worked = work(resolved, worker, threads);
    event(&format!(
        "worker {} done: {} job(s), {} failed{}",
        worker.name,
        worked.done,
        worked.failed,
        worked.claims()
    ));
    if worked.failed > 0 { code::RUNTIME } else { code::OK }
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

/// Claim and do jobs on `schedule.max_concurrent_jobs` threads (no more than `planned`
/// when the count is known) until none is left; returns how many were done and how many
/// of them failed. On a shared state "none left" means none queued and none running
/// anywhere: a worker waits beside running jobs, so that if their worker dies it takes
/// them over when their lease runs out, and the last worker ends when the last job does.
fn work(resolved: &Resolved, worker: &job::Worker, planned: Option<usize>) -> Worked {
    let counts = Mutex::new(Worked::default());
    let threads = (resolved.settings.schedule.max_concurrent_jobs as usize)
        .clamp(1, planned.unwrap_or(usize::MAX).max(1));
    let database = resolved.database();
    let shared = matches!(database, Location::Postgres(_));
    let poll = std::time::Duration::from_millis((worker.lease_ms / 3).clamp(1, 2_000) as u64);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut store = match Store::open(&database) {
                    Ok(store) => store,
                    Err(e) => return event(&format!("worker {}: {e:#}", worker.name)),
                };
                loop {
                    let asked = std::time::Instant::now();
                    let claimed = match store.claim_job(&worker.name, worker.lease_ms) {
                        Ok(Some(claimed)) => {
                            if let Ok(mut counts) = counts.lock() {
                                counts.claims_ms.push(asked.elapsed().as_secs_f64() * 1000.0);
                            }
                            claimed
                        }
                        Ok(None) if shared => match store.running_job_count() {
                            Ok(0) => break,
                            Ok(_) => {
                                std::thread::sleep(poll);
                                continue;
                            }
                            Err(e) => {
                                event(&format!("worker {}: {e:#}", worker.name));
                                break;
                            }
                        },
                        Ok(None) => break,
                        Err(e) => {
                            event(&format!("worker {}: claiming a job failed: {e:#}", worker.name));
                            break;
                        }
                    };
                    let ok = job::run(resolved, &claimed, worker).unwrap_or_else(|e| {
                        event(&format!(
                            "job {} {} {}: the job could not be recorded: {e:#}",
                            claimed.id, claimed.job.symbol, claimed.job.regime
                        ));
                        false
                    });
                    if let Ok(mut counts) = counts.lock() {
                        counts.done += 1;
                        counts.failed += usize::from(!ok);
                    }
                }
            });
        }
    });
    counts.into_inner().unwrap_or_default()
}

/// What a worker did: jobs done and failed, and how long each successful claim took.
#[derive(Debug, Default)]
struct Worked {
    done: usize,
    failed: usize,
    claims_ms: Vec<f64>,
}

impl Worked {
    /// ", claims took 3.1 ms (median) to 9.8 ms": what coordinating with other workers cost.
    fn claims(&self) -> String {
        let mut ms = self.claims_ms.clone();
        ms.sort_by(f64::total_cmp);
        match (ms.get(ms.len() / 2), ms.last()) {
            (Some(median), Some(max)) => format!("; claims took {median:.1} ms (median) to {max:.1} ms"),
            _ => String::new(),
        }
    }
}

/// Post (and email) alerts at or above `notifications.min_severity` that were never
/// delivered on that channel; each attempt is recorded, and a failure never fails the run.
fn notify(resolved: &Resolved, store: &mut Store, now: i64) -> anyhow::Result<()> {
    let n = &resolved.settings.notifications;
    if let Some(url) = n.webhook_url.as_deref().filter(|u| !u.trim().is_empty()) {
        for alert in store.unsent_alerts(n.min_severity, "webhook")? {
            let body = crate::notify::message(alert.severity.as_str(), alert.kind.as_str(), &alert.message);
            let (attempts, outcome) = crate::notify::post(n, url, &body);
            let error = outcome.as_ref().err().cloned();
            store.record_notification(
                alert.id,
                now,
                attempts,
                outcome.is_ok(),
                error.as_deref(),
                "webhook",
            )?;
            match error {
                None => event(&format!("alert {} posted to the webhook", alert.id)),
                Some(e) => event(&format!("alert {} not posted after {attempts} attempt(s): {e}", alert.id)),
            }
        }
    }
    if n.email.smtp_host.is_none() {
        return Ok(());
    }
    let unsent = store.unsent_alerts(n.min_severity, "email")?;
    if unsent.is_empty() {
        return Ok(());
    }
    // A mailer that cannot be made (no password in the environment, an unreadable CA
    // file) fails every alert's delivery, recorded with no attempt made.
    let mailer = crate::notify::email::Mailer::new(n, &resolved.base_dir);
    for alert in unsent {
        let (attempts, outcome, server) = match &mailer {
            Ok(Some(mailer)) => {
                let (subject, body) = crate::notify::email::message(
                    alert.id,
                    alert.severity.as_str(),
                    alert.kind.as_str(),
                    &alert.message,
                );
                let (attempts, outcome) = mailer.send(n.retries, &subject, &body);
                (attempts, outcome, mailer.server.as_str())
            }
            Ok(None) => return Ok(()),
            Err(e) => (0, Err(e.clone()), "the SMTP server"),
        };
        let error = outcome.as_ref().err().cloned();
        store.record_notification(alert.id, now, attempts, outcome.is_ok(), error.as_deref(), "email")?;
        match error {
            None => event(&format!("alert {} emailed through {server}", alert.id)),
            Some(e) => event(&format!("alert {} not emailed after {attempts} attempt(s): {e}", alert.id)),
        }
    }
    Ok(())
}
