//! What `retrain check` asks of the database: SQLite's own integrity checks, and the
//! invariants of the registry and the run tables that the schema cannot state.

use super::Store;
use super::db::{Begin, Dialect, params};
use crate::config::Regime;
use crate::kinds::VersionStatus;

/// More than one version of a model in a status that allows one.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicated {
    pub symbol: String,
    pub regime: Regime,
    pub status: VersionStatus,
    pub versions: Vec<i64>,
}

/// A model whose production version and deployment record disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    pub symbol: String,
    pub regime: Regime,
    /// The version whose status is production.
    pub live: Option<i64>,
    /// The version the last deployment row made production.
    pub recorded: Option<i64>,
}

/// A run still marked running.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRun {
    pub id: i64,
    pub pid: i64,
    pub started_at: i64,
    /// Its jobs marked running.
    pub running_jobs: i64,
}

/// A job marked running whose run is not.
#[derive(Debug, Clone, PartialEq)]
pub struct StrayJob {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub run_id: Option<i64>,
    pub worker: Option<String>,
}

impl Store {
    /// What SQLite's `integrity_check` and `foreign_key_check` report, one line per
    /// problem; empty when the file is sound. `None` on PostgreSQL, whose server checks its
    /// own pages and enforces every foreign key as it writes.
    pub fn integrity_problems(&self) -> anyhow::Result<Option<Vec<String>>> {
        if self.db.dialect() == Dialect::Postgres {
            return Ok(None);
        }
        let mut problems: Vec<String> = self
            .db
            .query_map("PRAGMA integrity_check", &[], |r| r.get::<String>(0))?
            .into_iter()
            .filter(|line| line != "ok")
            .collect();
        let orphans = self.db.query_map("PRAGMA foreign_key_check", &[], |r| {
            Ok(format!(
                "table {} row {} references a missing row of {}",
                r.get::<String>(0)?,
                r.get::<Option<i64>>(1)?.map_or("?".into(), |id| id.to_string()),
                r.get::<String>(2)?
            ))
        })?;
        problems.extend(orphans);
        Ok(Some(problems))
    }

    /// Models with more than one production or more than one canary version (the
    /// schema's unique indexes forbid it; a database edited by hand may not have them).
    pub fn duplicated_live_versions(&self) -> anyhow::Result<Vec<Duplicated>> {
        let rows: Vec<(String, Regime, VersionStatus, i64)> = self.db.query_map(
            "SELECT symbol, regime, status, version FROM model_versions v
             WHERE status IN ('production', 'canary')
               AND (SELECT COUNT(*) FROM model_versions x
                    WHERE x.symbol = v.symbol AND x.regime = v.regime AND x.status = v.status) > 1
             ORDER BY symbol, regime, status, version",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let mut duplicated: Vec<Duplicated> = Vec::new();
        for (symbol, regime, status, version) in rows {
            match duplicated.last_mut() {
                Some(d) if d.symbol == symbol && d.regime == regime && d.status == status => {
                    d.versions.push(version)
                }
                _ => duplicated.push(Duplicated { symbol, regime, status, versions: vec![version] }),
            }
        }
        Ok(duplicated)
    }

    /// Canary versions that no running canary test serves: (symbol, regime, version).
    pub fn canaries_without_test(&self) -> anyhow::Result<Vec<(String, Regime, i64)>> {
        Ok(self.db.query_map(
            "SELECT v.symbol, v.regime, v.version FROM model_versions v
             WHERE v.status = 'canary'
               AND NOT EXISTS (SELECT 1 FROM ab_tests t WHERE t.challenger_id = v.id AND t.ended_at IS NULL)
             ORDER BY v.symbol, v.regime",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    /// Models whose production version is not the one the deployment record ends with.
    pub fn deployment_record_disagreements(&self) -> anyhow::Result<Vec<Disagreement>> {
        let rows: Vec<Disagreement> = self.db.query_map(
            "SELECT m.symbol, m.regime,
                    (SELECT v.version FROM model_versions v
                     WHERE v.symbol = m.symbol AND v.regime = m.regime AND v.status = 'production'
                     ORDER BY v.version DESC LIMIT 1),
                    (SELECT t.version FROM deployments d JOIN model_versions t ON t.id = d.to_version_id
                     WHERE d.symbol = m.symbol AND d.regime = m.regime ORDER BY d.id DESC LIMIT 1)
             FROM (SELECT DISTINCT symbol, regime FROM model_versions) m ORDER BY m.symbol, m.regime",
            &[],
            |r| {
                Ok(Disagreement {
                    symbol: r.get(0)?,
                    regime: r.get(1)?,
                    live: r.get(2)?,
                    recorded: r.get(3)?,
                })
            },
        )?;
        Ok(rows.into_iter().filter(|d| d.live != d.recorded).collect())
    }

    /// Runs marked running, oldest first, with how many of their jobs are running.
    pub fn open_runs(&self) -> anyhow::Result<Vec<OpenRun>> {
        Ok(self.db.query_map(
            "SELECT r.id, r.pid, r.started_at,
                    (SELECT COUNT(*) FROM jobs j WHERE j.run_id = r.id AND j.status = 'running')
             FROM runs r WHERE r.status = 'running' ORDER BY r.id",
            &[],
            |r| Ok(OpenRun { id: r.get(0)?, pid: r.get(1)?, started_at: r.get(2)?, running_jobs: r.get(3)? }),
        )?)
    }

    /// Jobs marked running whose run is over (or that no run took).
    pub fn stray_running_jobs(&self) -> anyhow::Result<Vec<StrayJob>> {
        Ok(self.db.query_map(
            "SELECT j.id, j.symbol, j.regime, j.run_id, j.worker FROM jobs j
             WHERE j.status = 'running'
               AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = j.run_id AND r.status = 'running')
             ORDER BY j.id",
            &[],
            |r| {
                Ok(StrayJob {
                    id: r.get(0)?,
                    symbol: r.get(1)?,
                    regime: r.get(2)?,
                    run_id: r.get(3)?,
                    worker: r.get(4)?,
                })
            },
        )?)
    }

    /// Mark run `id` killed, its running jobs abandoned and the jobs it planned that no
    /// worker took abandoned too, as the next run would (see [`Store::begin_run`]).
    /// Returns how many jobs were marked.
    pub fn mark_run_killed(&mut self, id: i64, at: i64) -> anyhow::Result<usize> {
        let tx = self.transaction(Begin::Immediate)?;
        super::jobs::requeue_manual(&tx, "status IN ('running', 'queued') AND run_id = ?1", params![id])?;
        let mut jobs = tx.execute(
            "UPDATE jobs SET status = 'abandoned', error = 'the run that took it was killed', finished_at = ?1
             WHERE status = 'running' AND run_id = ?2",
            params![at, id],
        )?;
        jobs += tx.execute(
            "UPDATE jobs SET status = 'abandoned', error = 'planned by a run that ended before a worker took it'
             WHERE status = 'queued' AND run_id = ?1",
            params![id],
        )?;
        tx.execute("UPDATE runs SET status = 'killed' WHERE id = ?1 AND status = 'running'", params![id])?;
        tx.commit()?;
        Ok(jobs)
    }

    /// Mark a running job whose run is over abandoned.
    pub fn abandon_stray_job(&mut self, id: i64, at: i64) -> anyhow::Result<()> {
        let tx = self.transaction(Begin::Immediate)?;
        super::jobs::requeue_manual(&tx, "status = 'running' AND id = ?1", params![id])?;
        tx.execute(
            "UPDATE jobs SET status = 'abandoned', error = 'its run was over while it was marked running',
                 finished_at = ?1
             WHERE id = ?2 AND status = 'running'",
            params![at, id],
        )?;
        tx.commit()?;
        Ok(())
    }
}
