//! Drift reports and their per-feature rows.

use super::db::{Begin, params};

use super::Store;
use crate::config::Severity;
use crate::drift::Report;

/// The facts of a stored drift report that decisions and `status` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriftSummary {
    /// Open time of the window's last bar.
    pub window_to: i64,
    /// `None` when no feature drifted.
    pub severity: Option<Severity>,
    pub created_at: i64,
}

impl Store {
    /// Record a drift check in one transaction; returns the report's id.
    pub fn insert_drift_report(
        &mut self,
        version_id: i64,
        window: (i64, i64),
        report: &Report,
        created_at: i64,
    ) -> anyhow::Result<i64> {
        let tx = self.transaction(Begin::Deferred)?;
        let current_rows = report.features.iter().map(|f| f.current_rows).max().unwrap_or(0);
        let id: i64 = tx.query_row(
            "INSERT INTO drift_reports (version_id, window_from, window_to, current_rows, drifted_features,
                 share_drifted, dataset_drift, severity, prediction, label, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
            params![
                version_id,
                window.0,
                window.1,
                current_rows as i64,
                report.drifted_features as i64,
                report.share_drifted,
                report.dataset_drift,
                report.severity,
                report.prediction.as_ref().map(serde_json::to_string).transpose()?,
                report.label.as_ref().map(serde_json::to_string).transpose()?,
                created_at
            ],
            |r| r.get(0),
        )?;
        {
            let insert = "INSERT INTO drift_features (report_id, feature, reference_rows, current_rows, psi,
                              ks_statistic, ks_p_value, js_distance, wasserstein, drifted, severity, note)
                          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
            for f in &report.features {
                tx.execute(
                    insert,
                    params![
                        id,
                        f.name,
                        f.reference_rows as i64,
                        f.current_rows as i64,
                        f.psi,
                        f.ks_statistic,
                        f.ks_p_value,
                        f.js_distance,
                        f.wasserstein,
                        f.drifted,
                        f.severity,
                        f.note
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Drift checks of a symbol's versions after the job that made each (the checks of a
    /// live version, not of a candidate), as (time, severity rank: 0 none, 1 low .. 4
    /// critical), oldest first.
    pub fn drift_severities(&self, symbol: &str) -> anyhow::Result<Vec<(i64, u8)>> {
        let rows = self.db.query_map(
            "SELECT d.created_at, CASE d.severity WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3
                 WHEN 'critical' THEN 4 ELSE 0 END
             FROM drift_reports d JOIN model_versions v ON v.id = d.version_id
             WHERE v.symbol = ?1 AND d.created_at > v.created_at ORDER BY d.created_at, d.id",
            params![symbol],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows)
    }

    /// The newest drift report of a version.
    pub fn latest_drift(&self, version_id: i64) -> anyhow::Result<Option<DriftSummary>> {
        Ok(self.db
            .query_opt(
                "SELECT window_to, severity, created_at FROM drift_reports WHERE version_id = ?1 ORDER BY id DESC LIMIT 1",
                params![version_id],
                |r| Ok(DriftSummary { window_to: r.get(0)?, severity: r.get(1)?, created_at: r.get(2)? }),
            )?)
    }
}
