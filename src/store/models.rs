//! The model registry: version numbers, versions, evaluations. Metrics are stored as JSON
//! and decoded here, once, into [`Record`]s.

use super::db::{self, Begin, Db, params};
use serde::{Deserialize, Serialize};

use super::{Store, json_column, json_column_opt};
use crate::candles::Interval;
use crate::config::{ModelKind, Regime};
use crate::evaluation::Record;
use crate::evaluation::compare::Comparison;
use crate::kinds::{EvaluationKind, VersionStatus};

/// A version to record; its artifact is already complete on disk.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub symbol: String,
    pub regime: Regime,
    pub version: i64,
    pub interval: Interval,
    pub model_kind: ModelKind,
    /// The chosen hyperparameters, as JSON.
    pub hyperparameters: String,
    pub seed: u64,
    pub train: (i64, i64),
    pub validation: (i64, i64),
    pub test: (i64, i64),
    pub data_fingerprint: String,
    pub config_hash: String,
    pub artifact_path: String,
    pub sha256: String,
    pub created_at: i64,
}

/// A reserved version number not registered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingArtifact {
    pub symbol: String,
    pub regime: Regime,
    pub version: i64,
    /// The process that reserved it: "HOST PID".
    pub writer: String,
    /// Wall clock, epoch ms.
    pub started_at: i64,
}

/// A test or backtest evaluation to record.
#[derive(Debug, Clone)]
pub struct NewEvaluation {
    pub kind: EvaluationKind,
    pub window: (i64, i64),
    pub rows: usize,
    pub record: Record,
}

/// What a `compare` evaluation stores with the challenger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRecord {
    pub champion: i64,
    pub challenger: i64,
    pub comparison: Comparison,
}

/// A stored evaluation's window end, metrics and time.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvaluation {
    /// Open time of the window's last bar.
    pub window_to: i64,
    pub record: Record,
    pub created_at: i64,
}

/// The kind and metrics of a version's latest test or backtest evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestEvaluation {
    pub kind: EvaluationKind,
    pub record: Record,
}

/// A stored version with its latest evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub version: i64,
    pub interval: Interval,
    pub status: VersionStatus,
    pub model_kind: ModelKind,
    /// The chosen hyperparameters, as JSON.
    pub hyperparameters: String,
    pub train: (i64, i64),
    pub validation: (i64, i64),
    pub test: (i64, i64),
    pub artifact_path: String,
    pub sha256: String,
    pub parent_id: Option<i64>,
    pub created_at: i64,
    /// When `prune` deleted its artifact files (the row stays, for the record).
    pub pruned_at: Option<i64>,
    /// Left out by [`Store::active_versions`].
    pub latest_evaluation: Option<LatestEvaluation>,
}

/// A model the registry knows: a (symbol, regime) with at least one version.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    pub symbol: String,
    pub regime: Regime,
    /// The interval of its newest version.
    pub interval: Interval,
}

impl Store {
    /// Take the next version number of (symbol, regime) in its own committed transaction,
    /// so that a train that fails later never hands the number out again. The number is
    /// pending, in this process's name, until [`Store::insert_version`] registers it.
    pub fn reserve_version(&mut self, symbol: &str, regime: Regime) -> anyhow::Result<i64> {
        let writer = crate::lock::this_process();
        let started_at = crate::candles::time::wall_millis();
        let tx = self.transaction(Begin::Immediate)?;
        let stored: Option<i64> = tx.query_opt(
            "SELECT last_version FROM version_counters WHERE symbol = ?1 AND regime = ?2",
            params![symbol, regime],
            |r| r.get(0),
        )?;
        let next = stored.unwrap_or(0) + 1;
        tx.execute(
            "INSERT INTO version_counters (symbol, regime, last_version) VALUES (?1, ?2, ?3)
             ON CONFLICT (symbol, regime) DO UPDATE SET last_version = ?3",
            params![symbol, regime, next],
        )?;
        tx.execute(
            "INSERT INTO pending_artifacts (symbol, regime, version, writer, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![symbol, regime, next, writer, started_at],
        )?;
        tx.commit()?;
        Ok(next)
    }

    /// Versions reserved and not registered, oldest first: being written, or left by a
    /// writer that died.
    pub fn pending_artifacts(&self) -> anyhow::Result<Vec<PendingArtifact>> {
        Ok(self.db.query_map(
            "SELECT symbol, regime, version, writer, started_at FROM pending_artifacts
             ORDER BY started_at, symbol, regime, version",
            &[],
            |r| {
                Ok(PendingArtifact {
                    symbol: r.get(0)?,
                    regime: r.get(1)?,
                    version: r.get(2)?,
                    writer: r.get(3)?,
                    started_at: r.get(4)?,
                })
            },
        )?)
    }

    /// Drop a pending version whose files are gone (its writer failed or died).
    pub fn forget_pending(&mut self, symbol: &str, regime: Regime, version: i64) -> anyhow::Result<()> {
        self.db.execute(
            "DELETE FROM pending_artifacts WHERE symbol = ?1 AND regime = ?2 AND version = ?3",
            params![symbol, regime, version],
        )?;
        Ok(())
    }

    /// The last version number handed out per model.
    pub fn version_counters(&self) -> anyhow::Result<Vec<(String, Regime, i64)>> {
        Ok(self.db.query_map(
            "SELECT symbol, regime, last_version FROM version_counters ORDER BY symbol, regime",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    /// Mark an archived version pruned (its files are deleted next); false when it is no
    /// longer archived or was pruned already.
    pub fn mark_pruned(&mut self, id: i64, at: i64) -> anyhow::Result<bool> {
        Ok(self.db.execute(
            "UPDATE model_versions SET pruned_at = ?1 WHERE id = ?2 AND status = 'archived' AND pruned_at IS NULL",
            params![at, id],
        )? == 1)
    }

    /// Every version of every model, without evaluations, by symbol, regime and version.
    pub fn all_versions(&self) -> anyhow::Result<Vec<VersionRow>> {
        Ok(self.db.query_map(
            &format!(
                "SELECT {VERSION_COLUMNS}, NULL, NULL FROM model_versions v ORDER BY v.symbol, v.regime, v.version"
            ),
            &[],
            version_row,
        )?)
    }

    /// Record a candidate version and its test evaluation in one transaction; the parent
    /// is the latest earlier version of the model.
    pub fn insert_version(&mut self, v: &NewVersion, evaluation: &NewEvaluation) -> anyhow::Result<i64> {
        // Immediate: it reads the parent, then writes, beside other jobs' writers.
        let fence = self.fence.clone();
        let tx = self.transaction(Begin::Immediate)?;
        super::check_fence(&tx, &fence)?;
        let parent: Option<i64> = tx.query_opt(
            "SELECT id FROM model_versions WHERE symbol = ?1 AND regime = ?2 ORDER BY version DESC LIMIT 1",
            params![v.symbol, v.regime],
            |r| r.get(0),
        )?;
        let id: i64 = tx.query_row(
            "INSERT INTO model_versions (symbol, regime, version, interval, status, model_kind, hyperparameters,
                 seed, train_from, train_to, validation_from, validation_to, test_from, test_to,
                 data_fingerprint, config_hash, artifact_path, sha256, parent_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
             RETURNING id",
            params![
                v.symbol,
                v.regime,
                v.version,
                v.interval,
                VersionStatus::Candidate,
                v.model_kind,
                v.hyperparameters,
                v.seed as i64,
                v.train.0,
                v.train.1,
                v.validation.0,
                v.validation.1,
                v.test.0,
                v.test.1,
                v.data_fingerprint,
                v.config_hash,
                v.artifact_path,
                v.sha256,
                parent,
                v.created_at
            ],
            |r| r.get(0),
        )?;
        add_evaluation(
            &tx,
            id,
            evaluation.kind,
            evaluation.window,
            evaluation.rows,
            &evaluation.record,
            v.created_at,
        )?;
        tx.execute(
            "DELETE FROM pending_artifacts WHERE symbol = ?1 AND regime = ?2 AND version = ?3",
            params![v.symbol, v.regime, v.version],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Record a test or backtest evaluation of a version.
    pub fn insert_evaluation(
        &mut self,
        version_id: i64,
        evaluation: &NewEvaluation,
        created_at: i64,
    ) -> anyhow::Result<i64> {
        let e = evaluation;
        add_evaluation(&self.db, version_id, e.kind, e.window, e.rows, &e.record, created_at)
    }

    /// Record a comparison with the challenger's version.
    pub fn insert_comparison(
        &mut self,
        challenger_id: i64,
        window: (i64, i64),
        bars: usize,
        record: &ComparisonRecord,
        created_at: i64,
    ) -> anyhow::Result<i64> {
        add_evaluation(&self.db, challenger_id, EvaluationKind::Compare, window, bars, record, created_at)
    }

    /// The metrics a version got on its test window when it was trained.
    pub fn test_record(&self, version_id: i64) -> anyhow::Result<Option<Record>> {
        Ok(self.db.query_opt(
            "SELECT metrics FROM evaluations WHERE version_id = ?1 AND kind = ?2 ORDER BY id LIMIT 1",
            params![version_id, EvaluationKind::Test],
            |r| json_column(r, 0),
        )?)
    }

    /// The test metrics of the newest `limit` versions of a model, newest first.
    pub fn test_records(&self, symbol: &str, regime: Regime, limit: usize) -> anyhow::Result<Vec<Record>> {
        let rows = self.db.query_map(
            "SELECT (SELECT e.metrics FROM evaluations e WHERE e.version_id = v.id AND e.kind = 'test'
                     ORDER BY e.id LIMIT 1)
             FROM model_versions v WHERE v.symbol = ?1 AND v.regime = ?2 ORDER BY v.version DESC LIMIT ?3",
            params![symbol, regime, limit as i64],
            |r| json_column_opt::<Record>(r, 0),
        )?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// The newest evaluation of `kind` (test or backtest) of a version.
    pub fn latest_evaluation(
        &self,
        version_id: i64,
        kind: EvaluationKind,
    ) -> anyhow::Result<Option<StoredEvaluation>> {
        Ok(self.db.query_opt(
            "SELECT window_to, metrics, created_at FROM evaluations WHERE version_id = ?1 AND kind = ?2
                 ORDER BY id DESC LIMIT 1",
            params![version_id, kind],
            |r| {
                Ok(StoredEvaluation {
                    window_to: r.get(0)?,
                    record: json_column(r, 1)?,
                    created_at: r.get(2)?,
                })
            },
        )?)
    }

    /// Versions of (symbol, regime), newest first; every (symbol, regime) when `regime` is None.
    pub fn versions(&self, symbol: &str, regime: Option<Regime>) -> anyhow::Result<Vec<VersionRow>> {
        // Two spellings of the filter, so that SQLite seeks (symbol, regime) when given.
        let filter = if regime.is_some() { "v.regime = ?2" } else { "?2 IS NULL" };
        let rows = self.db.query_map(
            &format!(
                "SELECT {VERSION_COLUMNS}, e.kind, e.metrics
             FROM model_versions v
             LEFT JOIN evaluations e ON e.id = (SELECT MAX(x.id) FROM evaluations x
                                               WHERE x.version_id = v.id AND x.kind IN ('test', 'backtest'))
             WHERE v.symbol = ?1 AND {filter}
             ORDER BY v.regime, v.version DESC"
            ),
            params![symbol, regime],
            version_row,
        )?;
        Ok(rows)
    }

    /// A model's production, canary and candidate versions, newest first, without their
    /// evaluations: what deciding about a model needs, not its whole history.
    pub fn active_versions(&self, symbol: &str, regime: Regime) -> anyhow::Result<Vec<VersionRow>> {
        let rows = self.db.query_map(
            &format!(
                "SELECT {VERSION_COLUMNS}, NULL, NULL FROM model_versions v
             WHERE v.symbol = ?1 AND v.regime = ?2 AND v.status IN ('production', 'canary', 'candidate')
             ORDER BY v.version DESC"
            ),
            params![symbol, regime],
            version_row,
        )?;
        Ok(rows)
    }

    /// Every model with a version, by symbol and regime, with its newest version's interval.
    /// Archive the versions among `ids` that are still candidates; returns how many were.
    pub fn archive_candidates(&mut self, ids: &[i64]) -> anyhow::Result<usize> {
        let tx = self.transaction(Begin::Deferred)?;
        let mut archived = 0;
        for id in ids {
            archived += tx.execute(
                "UPDATE model_versions SET status = 'archived' WHERE id = ?1 AND status = 'candidate'",
                params![id],
            )?;
        }
        tx.commit()?;
        Ok(archived)
    }

    pub fn registered_models(&self) -> anyhow::Result<Vec<RegisteredModel>> {
        let rows = self.db.query_map(
            "SELECT v.symbol, v.regime, v.interval FROM model_versions v
             WHERE v.version = (SELECT MAX(x.version) FROM model_versions x
                                WHERE x.symbol = v.symbol AND x.regime = v.regime)
             ORDER BY v.symbol, v.regime",
            &[],
            |r| Ok(RegisteredModel { symbol: r.get(0)?, regime: r.get(1)?, interval: r.get(2)? }),
        )?;
        Ok(rows)
    }
}

const VERSION_COLUMNS: &str = "v.id, v.symbol, v.regime, v.version, v.interval, v.status, v.model_kind,
    v.hyperparameters, v.train_from, v.train_to, v.validation_from, v.validation_to, v.test_from, v.test_to,
    v.artifact_path, v.sha256, v.parent_id, v.created_at, v.pruned_at";

/// A [`VersionRow`] from [`VERSION_COLUMNS`] followed by the evaluation's kind and metrics.
fn version_row(r: &db::Row<'_>) -> db::Result<VersionRow> {
    let kind: Option<EvaluationKind> = r.get(19)?;
    let latest_evaluation = match kind {
        Some(kind) => Some(LatestEvaluation { kind, record: json_column(r, 20)? }),
        None => None,
    };
    Ok(VersionRow {
        id: r.get(0)?,
        symbol: r.get(1)?,
        regime: r.get(2)?,
        version: r.get(3)?,
        interval: r.get(4)?,
        status: r.get(5)?,
        model_kind: r.get(6)?,
        hyperparameters: r.get(7)?,
        train: (r.get(8)?, r.get(9)?),
        validation: (r.get(10)?, r.get(11)?),
        test: (r.get(12)?, r.get(13)?),
        artifact_path: r.get(14)?,
        sha256: r.get(15)?,
        parent_id: r.get(16)?,
        created_at: r.get(17)?,
        pruned_at: r.get(18)?,
        latest_evaluation,
    })
}

fn add_evaluation<T: Serialize>(
    conn: &Db,
    version_id: i64,
    kind: EvaluationKind,
    window: (i64, i64),
    rows: usize,
    metrics: &T,
    created_at: i64,
) -> anyhow::Result<i64> {
    Ok(conn.query_row(
        "INSERT INTO evaluations (version_id, kind, window_from, window_to, rows, metrics, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        params![
            version_id,
            kind,
            window.0,
            window.1,
            rows as i64,
            serde_json::to_string(metrics)?,
            created_at
        ],
        |r| r.get(0),
    )?)
}
