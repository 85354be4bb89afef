//! Runs, jobs (the queue and the history) and alert notifications.

use super::db::{self, Begin, Db, Dialect, params};

/// Now in epoch milliseconds on the database's clock, in each database's words.
fn now_ms(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
        Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    }
}

use super::Store;
use crate::config::{Regime, Severity};
use crate::kinds::{AlertKind, JobStage, JobStatus};
use crate::triggers::{Priority, TriggerKind};

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub trigger: TriggerKind,
    pub reason: String,
    pub priority: Priority,
    pub status: JobStatus,
    pub requested_at: i64,
    /// The clock of the run that took it (`--now`).
    pub run_now: Option<i64>,
    pub seconds: Option<f64>,
    pub version: Option<i64>,
    pub outcome: Option<String>,
    pub error: Option<String>,
    /// A run planned it (else a manual request no run has planned yet).
    pub planned: bool,
    /// `host pid` of the worker that took it.
    pub worker: Option<String>,
}

/// A job a run is working on (or was, if the run died).
#[derive(Debug, Clone, PartialEq)]
pub struct RunningJob {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub trigger: TriggerKind,
    /// `None` before the first step.
    pub stage: Option<JobStage>,
    /// Wall-clock start of its run.
    pub run_started_at: i64,
    /// `host pid` of the worker that holds it.
    pub worker: Option<String>,
    /// Until when (epoch ms, the database's clock) the worker's lease holds.
    pub lease_until: Option<i64>,
    /// How many times it was claimed (more than once: taken over from a lost worker).
    pub attempts: i64,
}

/// A job of a run's plan, stored for the workers to claim.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    pub job: NewJob,
    /// The manual requests it answers: the first becomes the job, the others are cancelled.
    pub queued: Vec<i64>,
    /// Its candidate goes live whatever the gates say (a replay's baselines).
    pub deploy_always: bool,
}

/// A job a worker claimed: what it needs to do the work.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub job: NewJob,
    pub run: i64,
    /// The clock of the run that planned it (`--now`).
    pub run_now: i64,
    pub deploy_always: bool,
    /// 1 for a first claim; more when taken over.
    pub attempts: i64,
    /// The worker whose lease ran out, when this claim took the job over.
    pub taken_from: Option<String>,
}

/// A job to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub symbol: String,
    pub regime: Regime,
    pub trigger: TriggerKind,
    pub reason: String,
    pub priority: Priority,
    /// The drift severity a drift trigger fired on.
    pub severity: Option<Severity>,
}

/// The retrains for drift or decay of one production version that left it in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub count: usize,
    /// When the latest of them started (by its run's clock).
    pub last_at: i64,
    /// The drift severity the latest drift one was started for.
    pub severity: Option<Severity>,
}

/// How a job ended: failed when `error` is set.
#[derive(Debug, Clone, Default)]
pub struct JobResult {
    pub seconds: f64,
    pub version_id: Option<i64>,
    pub outcome: Option<String>,
    pub error: Option<String>,
}

/// An alert not yet posted.
#[derive(Debug, Clone)]
pub struct Unsent {
    pub id: i64,
    pub kind: AlertKind,
    pub severity: Severity,
    pub message: String,
}

/// A run just begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BegunRun {
    pub id: i64,
    /// Jobs left running by killed runs, now marked abandoned.
    pub abandoned: usize,
}

/// A run still marked running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRow {
    pub pid: i64,
    /// Wall-clock start.
    pub started_at: i64,
}

/// The newest run that finished with no failed job or collect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessfulRun {
    /// The run's clock (`--now`).
    pub now: i64,
    /// Wall-clock end.
    pub finished_at: i64,
}

/// A model's newest job that a run took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastJob {
    pub trigger: TriggerKind,
    /// The clock of the run that took it.
    pub at: i64,
    pub status: JobStatus,
}

/// Counts over the newest finished jobs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct JobTotals {
    pub finished: i64,
    pub succeeded: i64,
    pub average_seconds: Option<f64>,
}

impl Store {
    /// Start a run. `alone` (SQLite, under the run lock: no other run can be working):
    /// runs left `running` by a killed process are marked `killed`, their running jobs
    /// `abandoned`, and jobs they planned that no worker took `abandoned` too; their models
    /// are planned again. Beside other workers (PostgreSQL) nothing is touched: a lost
    /// worker's job is taken over when its lease runs out.
    pub fn begin_run(
        &mut self,
        pid: u32,
        now: i64,
        started_at: i64,
        alone: bool,
    ) -> anyhow::Result<BegunRun> {
        let tx = self.transaction(Begin::Immediate)?;
        let mut abandoned = 0;
        if alone {
            requeue_manual(&tx, "status = 'running' OR (status = 'queued' AND run_id IS NOT NULL)", &[])?;
            abandoned = tx.execute(
                "UPDATE jobs SET status = 'abandoned', error = 'the run that took it was killed', finished_at = ?1
                 WHERE status = 'running'",
                params![started_at],
            )?;
            tx.execute(
                "UPDATE jobs SET status = 'abandoned', error = 'planned by a run that ended before a worker took it'
                 WHERE status = 'queued' AND run_id IS NOT NULL",
                &[],
            )?;
            tx.execute("UPDATE runs SET status = 'killed' WHERE status = 'running'", &[])?;
        }
        let id: i64 = tx.query_row(
            "INSERT INTO runs (pid, now, started_at, dry_run, status) VALUES (?1, ?2, ?3, 0, 'running')
             RETURNING id",
            params![pid, now, started_at],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(BegunRun { id, abandoned })
    }

    /// How many jobs are running (on any worker).
    pub fn running_job_count(&self) -> anyhow::Result<usize> {
        let n: i64 =
            self.query_row("SELECT COUNT(*) FROM jobs WHERE status = 'running'", &[], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// Jobs planned by runs other than `run` that no worker took: marked abandoned (their
    /// models are planned again). Returns how many.
    pub fn abandon_unclaimed(&mut self, run: i64) -> anyhow::Result<usize> {
        let tx = self.transaction(Begin::Immediate)?;
        let unclaimed = "status = 'queued' AND run_id IS NOT NULL AND run_id != ?1";
        requeue_manual(&tx, unclaimed, params![run])?;
        let abandoned = tx.execute(
            &format!(
                "UPDATE jobs SET status = 'abandoned', error = 'planned by a run that ended before a worker took it'
                 WHERE {unclaimed}"
            ),
            params![run],
        )?;
        tx.commit()?;
        Ok(abandoned)
    }

    /// Runs still marked running, oldest first.
    pub fn running_runs(&self) -> anyhow::Result<Vec<RunRow>> {
        let rows = self.db.query_map(
            "SELECT pid, started_at FROM runs WHERE status = 'running' ORDER BY id",
            &[],
            |r| Ok(RunRow { pid: r.get(0)?, started_at: r.get(1)? }),
        )?;
        Ok(rows)
    }

    /// End a run, with how many of its collects failed.
    pub fn finish_run(&mut self, run: i64, finished_at: i64, failed_collects: usize) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE runs SET status = 'finished', finished_at = ?1, failed_collects = ?2 WHERE id = ?3",
            params![finished_at, failed_collects as i64, run],
        )?;
        Ok(())
    }

    /// The clock of the last run that finished (besides `except`): schedules are due
    /// after it, so slots of a killed run are caught up by the next.
    pub fn previous_run_now(&self, except: Option<i64>) -> anyhow::Result<Option<i64>> {
        Ok(self.query_row(
            "SELECT MAX(now) FROM runs WHERE dry_run = 0 AND status = 'finished' AND (?1 IS NULL OR id != ?1)",
            params![except],
            |r| r.get(0),
        )?)
    }

    /// Queue a manual request.
    pub fn queue_job(&mut self, job: &NewJob, at: i64) -> anyhow::Result<i64> {
        Ok(self.db.query_row(
            "INSERT INTO jobs (symbol, regime, trigger, reason, priority, status, requested_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6) RETURNING id",
            params![job.symbol, job.regime, job.trigger, job.reason, job.priority, at],
            |r| r.get(0),
        )?)
    }

    /// Cancel a queued job; false if it is not queued.
    pub fn cancel_job(&mut self, id: i64) -> anyhow::Result<bool> {
        Ok(self.db.execute(
            "UPDATE jobs SET status = 'cancelled' WHERE id = ?1 AND status = 'queued'",
            params![id],
        )? == 1)
    }

    /// Store a run's plan as queued jobs in run order, for any worker to claim; a manual
    /// request a job answers becomes that job (the others it answers are cancelled). One
    /// transaction: workers see the whole plan or none of it. Returns the jobs' ids.
    pub fn enqueue_plan(&mut self, run: i64, now: i64, plan: &[PlannedJob]) -> anyhow::Result<Vec<i64>> {
        let tx = self.transaction(Begin::Immediate)?;
        let mut ids = Vec::with_capacity(plan.len());
        for (position, p) in plan.iter().enumerate() {
            let j = &p.job;
            let deploy = if p.deploy_always { "always" } else { "gates" };
            let mut id = None;
            if let Some(&queued) = p.queued.first() {
                let taken = tx.execute(
                    "UPDATE jobs SET request = reason, run_id = ?1, trigger = ?2, reason = ?3, priority = ?4,
                         severity = ?5, position = ?6, deploy = ?7
                     WHERE id = ?8 AND status = 'queued' AND run_id IS NULL",
                    params![run, j.trigger, j.reason, j.priority, j.severity, position, deploy, queued],
                )?;
                // Cancelled since the plan was made: the job runs for its other triggers.
                id = (taken == 1).then_some(queued);
            }
            let id = match id {
                Some(id) => id,
                None => tx.query_row(
                    "INSERT INTO jobs (symbol, regime, trigger, reason, priority, status, requested_at, run_id,
                         severity, position, deploy)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?8, ?9, ?10) RETURNING id",
                    params![j.symbol, j.regime, j.trigger, j.reason, j.priority, now, run, j.severity, position, deploy],
                    |r| r.get(0),
                )?,
            };
            for other in p.queued.iter().skip(1) {
                tx.execute(
                    "UPDATE jobs SET status = 'cancelled', error = ?2
                     WHERE id = ?1 AND status = 'queued' AND run_id IS NULL",
                    params![other, format!("answered by job {id}")],
                )?;
            }
            ids.push(id);
        }
        let now = now_ms(tx.dialect());
        tx.execute(&format!("UPDATE runs SET planned_at = {now} WHERE id = ?1"), params![run])?;
        tx.commit()?;
        Ok(ids)
    }

    /// Now, in epoch milliseconds on the database's clock.
    pub fn database_now(&self) -> anyhow::Result<i64> {
        let now = now_ms(self.dialect());
        Ok(self.query_row(&format!("SELECT {now}"), &[], |r| r.get(0))?)
    }

    /// Whether a run stored its plan at or after `since` (the database's clock).
    pub fn planned_since(&self, since: i64) -> anyhow::Result<bool> {
        let n: i64 =
            self.query_row("SELECT COUNT(*) FROM runs WHERE planned_at >= ?1", params![since], |r| r.get(0))?;
        Ok(n > 0)
    }

    /// Claim the next job for `worker` under a lease of `lease_ms`: the first planned job
    /// no one has taken (oldest run first, in run order), or a running one whose lease ran
    /// out (its worker died or lost the database). PostgreSQL skips the rows other workers
    /// are claiming at the same instant (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
    /// The lease is on the database's clock, so the workers' clocks do not matter.
    pub fn claim_job(&mut self, worker: &str, lease_ms: i64) -> anyhow::Result<Option<Claimed>> {
        let dialect = self.dialect();
        let now = now_ms(dialect);
        let (begin, lock) = match dialect {
            Dialect::Sqlite => (Begin::Immediate, ""),
            Dialect::Postgres => (Begin::Deferred, "FOR UPDATE SKIP LOCKED"),
        };
        let tx = self.transaction(begin)?;
        let candidate: Option<(i64, Option<String>, JobStatus)> = tx.query_opt(
            &format!(
                "SELECT id, worker, status FROM jobs
                 WHERE (status = 'queued' AND run_id IS NOT NULL) OR (status = 'running' AND lease_until < {now})
                 ORDER BY run_id, position, id LIMIT 1 {lock}"
            ),
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let Some((id, previous, status)) = candidate else { return Ok(None) };
        tx.execute(
            &format!(
                "UPDATE jobs SET status = 'running', worker = ?1, attempts = attempts + 1, lease_until = {now} + ?2,
                     started_at = COALESCE(started_at, (SELECT r.now FROM runs r WHERE r.id = jobs.run_id)),
                     stage = NULL
                 WHERE id = ?3"
            ),
            params![worker, lease_ms, id],
        )?;
        let claimed = tx.query_row(
            "SELECT j.id, j.symbol, j.regime, j.trigger, j.reason, j.priority, j.severity, j.run_id, r.now, j.deploy,
                    j.attempts
             FROM jobs j JOIN runs r ON r.id = j.run_id WHERE j.id = ?1",
            params![id],
            |r| {
                Ok(Claimed {
                    id: r.get(0)?,
                    job: NewJob {
                        symbol: r.get(1)?,
                        regime: r.get(2)?,
                        trigger: r.get(3)?,
                        reason: r.get(4)?,
                        priority: r.get(5)?,
                        severity: r.get(6)?,
                    },
                    run: r.get(7)?,
                    run_now: r.get(8)?,
                    deploy_always: r.get::<String>(9)? == "always",
                    attempts: r.get(10)?,
                    taken_from: if status == JobStatus::Running { previous } else { None },
                })
            },
        )?;
        tx.commit()?;
        Ok(Some(claimed))
    }

    /// Extend `worker`'s lease on job `id`; false when the job is no longer the worker's
    /// (its lease ran out and another took it over, or it ended).
    pub fn renew_lease(&mut self, id: i64, worker: &str, lease_ms: i64) -> anyhow::Result<bool> {
        let now = now_ms(self.dialect());
        Ok(self.db.execute(
            &format!(
                "UPDATE jobs SET lease_until = {now} + ?3 WHERE id = ?1 AND worker = ?2 AND status = 'running'"
            ),
            params![id, worker, lease_ms],
        )? == 1)
    }

    /// Record how `worker`'s job ended; false (and nothing written) when the job is no
    /// longer the worker's.
    pub fn finish_job(
        &mut self,
        id: i64,
        worker: &str,
        finished_at: i64,
        result: &JobResult,
    ) -> anyhow::Result<bool> {
        Ok(self.db.execute(
            "UPDATE jobs SET status = ?1, finished_at = ?2, seconds = ?3, version_id = ?4, outcome = ?5, error = ?6
             WHERE id = ?7 AND worker = ?8 AND status = 'running'",
            params![
                if result.error.is_none() { JobStatus::Succeeded } else { JobStatus::Failed },
                finished_at,
                result.seconds,
                result.version_id,
                result.outcome,
                result.error,
                id,
                worker
            ],
        )? == 1)
    }

    /// Manual requests waiting for a run to plan them, oldest first.
    pub fn requests(&self) -> anyhow::Result<Vec<JobRow>> {
        Ok(self.jobs(Some(JobStatus::Queued))?.into_iter().filter(|j| !j.planned).collect())
    }

    /// Say which step a running job is at.
    pub fn set_job_stage(&mut self, id: i64, stage: JobStage) -> anyhow::Result<()> {
        self.db.execute("UPDATE jobs SET stage = ?1 WHERE id = ?2", params![stage, id])?;
        Ok(())
    }

    /// Running jobs, oldest first.
    pub fn running_jobs(&self) -> anyhow::Result<Vec<RunningJob>> {
        let rows = self.db.query_map(
            "SELECT j.id, j.symbol, j.regime, j.trigger, j.stage, r.started_at, j.worker, j.lease_until, j.attempts
             FROM jobs j JOIN runs r ON r.id = j.run_id
             WHERE j.status = 'running' ORDER BY j.id",
            &[],
            |r| {
            Ok(RunningJob {
                id: r.get(0)?,
                symbol: r.get(1)?,
                regime: r.get(2)?,
                trigger: r.get(3)?,
                stage: r.get(4)?,
                run_started_at: r.get(5)?,
                worker: r.get(6)?,
                lease_until: r.get(7)?,
                attempts: r.get(8)?,
            })
        }
        )?;
        Ok(rows)
    }

    /// The mean change of a test metric (a JSON path into the test evaluation) from the
    /// parent version to the version a succeeded job produced, over the newest `recent`
    /// finished jobs.
    pub fn average_improvement(&self, path: &str, recent: usize) -> anyhow::Result<Option<f64>> {
        // A JSON path (`$.classification.roc_auc`) in each database's words; `+status`
        // keeps SQLite from sorting every finished job found through the status index.
        let (sql, path) = match self.dialect() {
            Dialect::Sqlite => (
                "SELECT AVG(json_extract(c.metrics, ?1) - json_extract(p.metrics, ?1))
                 FROM (SELECT version_id FROM jobs WHERE +status IN ('succeeded', 'failed') ORDER BY id DESC LIMIT ?2) j
                 JOIN model_versions v ON v.id = j.version_id
                 JOIN evaluations c ON c.version_id = v.id AND c.kind = 'test'
                 JOIN evaluations p ON p.version_id = v.parent_id AND p.kind = 'test'",
                path.to_string(),
            ),
            Dialect::Postgres => (
                "SELECT AVG((c.metrics::jsonb #>> ?1::text[])::float8 - (p.metrics::jsonb #>> ?1::text[])::float8)
                 FROM (SELECT version_id FROM jobs WHERE status IN ('succeeded', 'failed') ORDER BY id DESC LIMIT ?2) j
                 JOIN model_versions v ON v.id = j.version_id
                 JOIN evaluations c ON c.version_id = v.id AND c.kind = 'test'
                 JOIN evaluations p ON p.version_id = v.parent_id AND p.kind = 'test'",
                format!("{{{}}}", path.trim_start_matches("$.").replace('.', ",")),
            ),
        };
        Ok(self.query_row(sql, params![path, recent as i64], |r| r.get(0))?)
    }

    /// Jobs, oldest first; `status` filters.
    pub fn jobs(&self, status: Option<JobStatus>) -> anyhow::Result<Vec<JobRow>> {
        // Spelled out so that a status (the queue, say) seeks its index.
        let filter = if status.is_some() { "j.status = ?1" } else { "?1 IS NULL" };
        let rows = self.db.query_map(
            &format!(
            "SELECT j.id, j.symbol, j.regime, j.trigger, j.reason, j.priority, j.status, j.requested_at, r.now,
                    j.seconds, v.version, j.outcome, j.error, j.run_id IS NOT NULL, j.worker
             FROM jobs j LEFT JOIN runs r ON r.id = j.run_id LEFT JOIN model_versions v ON v.id = j.version_id
             WHERE {filter} ORDER BY j.id"
        ),
            params![status],
            |r| {
            Ok(JobRow {
                id: r.get(0)?,
                symbol: r.get(1)?,
                regime: r.get(2)?,
                trigger: r.get(3)?,
                reason: r.get(4)?,
                priority: r.get(5)?,
                status: r.get(6)?,
                requested_at: r.get(7)?,
                run_now: r.get(8)?,
                seconds: r.get(9)?,
                version: r.get(10)?,
                outcome: r.get(11)?,
                error: r.get(12)?,
                planned: r.get(13)?,
                worker: r.get(14)?,
            })
        }
        )?;
        Ok(rows)
    }

    /// The model's newest job that a run took.
    pub fn last_job(&self, symbol: &str, regime: Regime) -> anyhow::Result<Option<LastJob>> {
        Ok(self.db.query_opt(
            "SELECT j.trigger, r.now, j.status FROM jobs j JOIN runs r ON r.id = j.run_id
                 WHERE j.symbol = ?1 AND j.regime = ?2 ORDER BY j.id DESC LIMIT 1",
            params![symbol, regime],
            |r| Ok(LastJob { trigger: r.get(0)?, at: r.get(1)?, status: r.get(2)? }),
        )?)
    }

    /// Totals over the newest `recent` finished jobs, of one model when given. Newest
    /// first by id, so that the answer never reads history.
    pub fn job_totals(&self, model: Option<(&str, Regime)>, recent: usize) -> anyhow::Result<JobTotals> {
        // A model's jobs seek their index; the fleet's walk the table back from the newest
        // (`+status` keeps SQLite from sorting every job found through the status index).
        let filter = match (model.is_some(), self.dialect()) {
            (true, _) => "symbol = ?1 AND regime = ?2 AND status IN ('succeeded', 'failed')",
            (false, Dialect::Sqlite) => "?1 IS NULL AND ?2 IS NULL AND +status IN ('succeeded', 'failed')",
            (false, Dialect::Postgres) => "?1 IS NULL AND ?2 IS NULL AND status IN ('succeeded', 'failed')",
        };
        let (symbol, regime) = model.unzip();
        Ok(self.query_row(
            &format!(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), 0), AVG(seconds)
                 FROM (SELECT status, seconds FROM jobs WHERE {filter} ORDER BY id DESC LIMIT ?3) AS recent"
            ),
            params![symbol, regime, recent as i64],
            |r| Ok(JobTotals { finished: r.get(0)?, succeeded: r.get(1)?, average_seconds: r.get(2)? }),
        )?)
    }

    /// The clock of the run that took the model's newest job that ran to an end (or runs
    /// now); an abandoned job did not do its work and does not count.
    pub fn last_job_at(&self, symbol: &str, regime: Regime) -> anyhow::Result<Option<i64>> {
        Ok(self.db.query_opt(
            "SELECT r.now FROM jobs j JOIN runs r ON r.id = j.run_id
                 WHERE j.symbol = ?1 AND j.regime = ?2 AND j.status IN ('running', 'succeeded', 'failed')
                 ORDER BY j.id DESC LIMIT 1",
            params![symbol, regime],
            |r| r.get(0),
        )?)
    }

    /// The finished drift and decay jobs of a model started at or after `since` (when its
    /// production version `production` went live) that did not make a new production
    /// version: the retrains the back-off counts. `None` when there are none.
    pub fn refused_retrains(
        &self,
        symbol: &str,
        regime: Regime,
        production: i64,
        since: i64,
    ) -> anyhow::Result<Option<Refused>> {
        let rows = self.db.query_map(
            "SELECT started_at, severity FROM jobs
             WHERE symbol = ?1 AND regime = ?2 AND trigger IN ('drift', 'decay')
                   AND status IN ('succeeded', 'failed') AND started_at >= ?3
                   AND (version_id IS NULL OR version_id != ?4)
             ORDER BY started_at DESC, id DESC",
            params![symbol, regime, since, production],
            |r| Ok((r.get::<i64>(0)?, r.get::<Option<Severity>>(1)?)),
        )?;
        Ok(rows.first().map(|&(last_at, severity)| Refused { count: rows.len(), last_at, severity }))
    }

    /// The candidates that earlier jobs of a model left, other than `keep`: those a newer
    /// job's version has superseded. A candidate trained by `retrain train` (no job) is not
    /// among them.
    pub fn superseded_candidates(&self, symbol: &str, regime: Regime, keep: i64) -> anyhow::Result<Vec<i64>> {
        let ids = self.db.query_map(
            "SELECT v.id FROM jobs j JOIN model_versions v ON v.id = j.version_id
             WHERE j.symbol = ?1 AND j.regime = ?2 AND v.status = 'candidate' AND v.id != ?3
             ORDER BY v.id",
            params![symbol, regime, keep],
            |r| r.get(0),
        )?;
        Ok(ids)
    }

    /// Open alerts at or above `min` that were never delivered (a failed post is tried
    /// again by the next run).
    pub fn unsent_alerts(&self, min: Severity, channel: &str) -> anyhow::Result<Vec<Unsent>> {
        let rows = self.db.query_map(
            "SELECT a.id, a.kind, a.severity, a.message FROM alerts a
             WHERE a.resolved_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM notifications n
                               WHERE n.alert_id = a.id AND n.delivered = 1 AND n.channel = ?1)
             ORDER BY a.id",
            params![channel],
            |r| Ok(Unsent { id: r.get(0)?, kind: r.get(1)?, severity: r.get(2)?, message: r.get(3)? }),
        )?;
        Ok(rows.into_iter().filter(|u| u.severity >= min).collect())
    }

    /// The newest run that finished with no failed job or collect.
    pub fn last_successful_run(&self) -> anyhow::Result<Option<SuccessfulRun>> {
        Ok(self.db.query_opt(
            "SELECT r.now, r.finished_at FROM runs r
                 WHERE r.status = 'finished' AND r.dry_run = 0 AND r.failed_collects = 0
                 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = r.id AND j.status = 'failed')
                 ORDER BY r.id DESC LIMIT 1",
            &[],
            |r| Ok(SuccessfulRun { now: r.get(0)?, finished_at: r.get(1)? }),
        )?)
    }

    pub fn record_notification(
        &mut self,
        alert: i64,
        at: i64,
        attempts: u32,
        delivered: bool,
        error: Option<&str>,
        channel: &str,
    ) -> anyhow::Result<()> {
        self.db.execute(
            "INSERT INTO notifications (alert_id, attempted_at, attempts, delivered, error, channel)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![alert, at, attempts, delivered, error, channel],
        )?;
        Ok(())
    }
}

/// Before the jobs matching `condition` are marked abandoned: those that answered a
/// manual request ask for it again, in the user's words (a trigger that the assessment
/// finds, such as drift or a schedule, is found again by the next run; a request is not).
pub(super) fn requeue_manual(tx: &Db, condition: &str, params: &[&dyn db::ToValue]) -> db::Result<usize> {
    tx.execute(
        &format!(
            "INSERT INTO jobs (symbol, regime, trigger, reason, priority, status, requested_at)
             SELECT symbol, regime, 'manual', COALESCE(request, reason), priority, 'queued', requested_at FROM jobs
             WHERE (request IS NOT NULL OR trigger = 'manual') AND ({condition}) ORDER BY id"
        ),
        params,
    )
}
