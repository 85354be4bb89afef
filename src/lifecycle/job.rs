//! One job of a run: train a new version, evaluate it on recent bars, check its drift, and
//! promote it (or start a canary test) when every gate passes. However the work ends, the
//! job is finished and recorded; a failure raises a `training_failure` alert.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::json;

use super::deploy::{self, GoLive};
use super::drift as drift_step;
use super::evaluate;
use super::run::ACTOR;
use super::train::{self, Spec};
use crate::candles::Interval;
use crate::config::{Regime, Resolved, Severity};
use crate::error::Failure;
use crate::evaluation::score::Requested;
use crate::failpoint;
use crate::kinds::{AlertKind, JobStage, VersionStatus};
use crate::output::event;
use crate::store::{Change, Claimed, JobResult, NewAlert, NewJob, PlannedJob, Store};
use crate::symbol::Symbol;
use crate::triggers::Trigger;

/// A job the run decided on.
#[derive(Debug, Clone)]
pub struct Planned {
    pub symbol: Symbol,
    pub regime: Regime,
    pub interval: Interval,
    pub trigger: Trigger,
    /// The manual requests it answers; the first is the job's row, the others are cancelled.
    pub queued: Vec<i64>,
    /// When the oldest of them was made (the run's clock without one), for the run order.
    pub requested_at: i64,
    pub deploy: Deploy,
}

/// How a job's candidate may go live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deploy {
    /// Only when every gate passes (as a canary when configured): what `run` does.
    BehindGates,
    /// Always, straight to production, the gates checked and recorded but not obeyed: the
    /// "always deploy the newest" of a replay's calendar and never-retrain baselines.
    Always,
}

impl Planned {
    /// The job as stored for the workers.
    pub fn stored(&self) -> PlannedJob {
        PlannedJob {
            job: NewJob {
                symbol: self.symbol.to_string(),
                regime: self.regime,
                trigger: self.trigger.kind,
                reason: self.trigger.reason.clone(),
                priority: self.trigger.priority,
                severity: self.trigger.severity,
            },
            queued: self.queued.clone(),
            deploy_always: self.deploy == Deploy::Always,
        }
    }
}

/// Who works on jobs: `host pid`, and how long a lease it takes.
#[derive(Debug, Clone)]
pub struct Worker {
    pub name: String,
    pub lease_ms: i64,
}

impl Worker {
    /// This process, with the configured lease.
    pub fn this(resolved: &Resolved) -> Worker {
        Worker {
            name: crate::lock::this_process(),
            lease_ms: (resolved.settings.schedule.lease_seconds * 1000.0).round() as i64,
        }
    }
}

/// The interval a claimed job's model trains on: its symbol's in the config, else its
/// newest version's, else the default.
fn interval_of(resolved: &Resolved, store: &Store, symbol: &str, regime: Regime) -> anyhow::Result<Interval> {
    let settings = &resolved.settings;
    if let Some(s) = settings.symbols.iter().find(|s| s.symbol == symbol) {
        return Ok(s.interval.unwrap_or(settings.data.interval));
    }
    let registered = store.registered_models()?;
    Ok(registered
        .iter()
        .find(|m| m.symbol == symbol && m.regime == regime)
        .map_or(settings.data.interval, |m| m.interval))
}

/// Keeps a worker's lease on a job alive from a thread of its own (a connection of its
/// own, so that a long training step never lets it lapse): renewed every third of the
/// lease. If the job stops being the worker's, `lost` says so.
struct Lease {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
    lost: Arc<AtomicBool>,
}

impl Lease {
    fn hold(resolved: &Resolved, job: i64, worker: &Worker) -> anyhow::Result<Lease> {
        let mut store = Store::open(&resolved.database())?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let lost = Arc::new(AtomicBool::new(false));
        let (flag, name, lease_ms) = (lost.clone(), worker.name.clone(), worker.lease_ms);
        let every = std::time::Duration::from_millis((lease_ms / 3).max(1) as u64);
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                match store.renew_lease(job, &name, lease_ms) {
                    Ok(true) => {}
                    Ok(false) => {
                        flag.store(true, Ordering::SeqCst);
                        event(&format!(
                            "job {job}: this worker ({name}) lost its lease; it publishes nothing"
                        ));
                        return;
                    }
                    // The database is away: try again; if it stays away the lease runs out
                    // and the fence keeps this worker from publishing.
                    Err(e) => event(&format!("job {job}: renewing the lease failed: {e:#}")),
                }
            }
        });
        Ok(Lease { stop, thread: Some(thread), lost })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Do a claimed job in its own connection, holding its lease, and record how it ended;
/// returns whether it succeeded. Everything it publishes is fenced by the lease: if the
/// job stops being this worker's, nothing more is published and nothing is recorded.
pub fn run(resolved: &Resolved, claimed: &Claimed, worker: &Worker) -> anyhow::Result<bool> {
    let mut store = Store::open(&resolved.database())?;
    let (id, now) = (claimed.id, claimed.run_now);
    store.set_fence(id, &worker.name);
    let lease = Lease::hold(resolved, id, worker)?;
    let symbol: Symbol = claimed.job.symbol.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let job = Planned {
        interval: interval_of(resolved, &store, &claimed.job.symbol, claimed.job.regime)?,
        symbol,
        regime: claimed.job.regime,
        trigger: Trigger {
            kind: claimed.job.trigger,
            priority: claimed.job.priority,
            reason: claimed.job.reason.clone(),
            severity: claimed.job.severity,
        },
        queued: Vec::new(),
        requested_at: now,
        deploy: if claimed.deploy_always { Deploy::Always } else { Deploy::BehindGates },
    };
    let name = format!("{} {}", job.symbol, job.regime);
    if let Some(from) = &claimed.taken_from {
        event(&format!(
            "job {id} {name}: taken over from {from}, whose lease ran out (attempt {})",
            claimed.attempts
        ));
    }
    failpoint::hit("run:job-started");
    let started = Instant::now();
    // Whatever happens inside, the job is finished and recorded: an error or even a panic
    // is its failure, never a job left `running`.
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(resolved, &mut store, &job, id, now)))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned());
                Err(anyhow::anyhow!("the job panicked: {}", what.unwrap_or_default()))
            });
    let lost = lease.lost.load(Ordering::SeqCst);
    drop(lease);
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
    if lost || !store.finish_job(id, &worker.name, now, &result)? {
        event(&format!("job {id} {name}: another worker holds it now; this worker's result is not recorded"));
        return Ok(false);
    }
    let ok = result.error.is_none();
    if let Some(error) = &result.error {
        let alert = NewAlert {
            kind: AlertKind::TrainingFailure,
            severity: Severity::High,
            symbol: job.symbol.to_string(),
            regime: Some(job.regime),
            version_id: None,
            message: format!("{name}: job {id} ({}) failed: {error}", job.trigger.kind),
            details: json!({"job": id, "trigger": job.trigger.kind, "reason": job.trigger.reason}),
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
    let spec = Spec {
        symbol: &job.symbol,
        regime: job.regime,
        interval: job.interval,
        model: settings.training.model,
        trials: settings.training.search.max_trials,
        seed: settings.training.seed,
        refresh: settings.training.refresh,
    };
    store.set_job_stage(id, JobStage::Train)?;
    let registered = train::train_and_register(resolved, store, &candles, &spec, now, &mut |_, _| {})?;
    let versions = store.versions(&job.symbol, Some(job.regime))?;
    let version = versions
        .iter()
        .find(|v| v.id == registered.id)
        .ok_or_else(|| anyhow::anyhow!("v{} was not registered", registered.version))?;
    let made = match (&registered.trained.refreshed, &registered.trained.searched_because) {
        (Some(r), _) => format!(", incremental from v{} ({} new trees)", r.from_version, r.new_trees),
        (None, Some(why)) => format!(", not incremental: {why}"),
        (None, None) => String::new(),
    };
    let mut notes = vec![format!("trained v{}{made}", version.version)];
    store.set_job_stage(id, JobStage::Evaluate)?;
    match evaluate::backtest(
        resolved,
        store,
        version,
        Requested::LastDays(settings.evaluation.window_days),
        true,
        now,
    ) {
        Ok(c) => notes.push(format!(
            "recent {} {}",
            settings.evaluation.metric.as_str(),
            c.record()
                .value(settings.evaluation.metric)
                .map_or("undefined".to_string(), |v| format!("{v:.4}"))
        )),
        Err(e) => notes.push(format!("not evaluated: {e:#}")),
    }
    // A candidate is not live: its drift is recorded for the gates, not alerted on.
    store.set_job_stage(id, JobStage::DriftCheck)?;
    let days = Requested::LastDays(settings.drift.window_days);
    match drift_step::measure(resolved, store, version, days, true, false, now) {
        Ok(m) => notes
            .push(format!("drift {}", m.report.and_then(|r| r.severity).map_or("none", Severity::as_str))),
        Err(e) => notes.push(format!("drift not measured: {e:#}")),
    }
    let champion = versions.iter().find(|v| v.status == VersionStatus::Production);
    let mut gates = Vec::new();
    let left = if job.deploy == Deploy::Always {
        store.set_job_stage(id, JobStage::Promote)?;
        gates = deploy::check_gates(resolved, store, version, champion, now)?;
        None
    } else if !settings.deployment.auto_deploy {
        Some("left a candidate: deployment.auto_deploy is off".to_string())
    } else if store.running_test(&job.symbol, job.regime)?.is_some() {
        Some("left a candidate: a canary test of the model is running".to_string())
    } else {
        store.set_job_stage(id, JobStage::Promote)?;
        gates = deploy::check_gates(resolved, store, version, champion, now)?;
        let failed: Vec<&str> = gates.iter().filter(|g| !g.passed).map(|g| g.name.as_str()).collect();
        (!failed.is_empty()).then(|| format!("left a candidate: gates fail ({})", failed.join(", ")))
    };
    if let Some(left) = left {
        notes.push(left);
        notes.extend(archive_superseded(store, job, version.id)?);
        return Ok((Some(version.id), notes.join(", ")));
    }
    let always = job.deploy == Deploy::Always;
    let change = Change {
        symbol: job.symbol.to_string(),
        regime: job.regime,
        reason: if always {
            format!("job {id} ({}): the newest is always deployed", job.trigger.kind)
        } else {
            format!("job {id} ({}): every gate passed", job.trigger.kind)
        },
        gates: Some(serde_json::to_value(&gates)?),
        forced: always,
        actor: ACTOR.into(),
        at: now,
    };
    let canary = !always && settings.deployment.canary.enabled && champion.is_some();
    let how =
        if canary { GoLive::Canary(settings.deployment.canary.traffic_split) } else { GoLive::Production };
    deploy::go_live(resolved, store, version, champion, how, &change)?;
    notes.push(match (how, champion) {
        (GoLive::Canary(split), Some(c)) => format!("canary test started on {split}% against v{}", c.version),
        (_, Some(c)) => format!("promoted, v{} archived", c.version),
        (_, None) => "promoted (the first production version)".into(),
    });
    notes.extend(archive_superseded(store, job, version.id)?);
    Ok((Some(version.id), notes.join(", ")))
}

/// A job's new version, left as a candidate or gone live, supersedes the candidates that
/// earlier jobs left for the model: they are archived (still promotable by version, and
/// now prunable), so that retrains the gates refuse do not pile candidates up, whatever
/// triggered them (the back-off spaces drift and decay retrains; a schedule does not).
fn archive_superseded(store: &mut Store, job: &Planned, keep: i64) -> anyhow::Result<Option<String>> {
    let ids = store.superseded_candidates(job.symbol.as_str(), job.regime, keep)?;
    let archived = store.archive_candidates(&ids)?;
    Ok((archived > 0)
        .then(|| format!("{archived} earlier candidate{} archived", if archived == 1 { "" } else { "s" })))
}
