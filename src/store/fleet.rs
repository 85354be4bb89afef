//! The fleet's history across tables, for `report`: every evaluation, drift check and
//! resolved signal since an instant, each in one query for the whole fleet (a 500-model
//! fleet asks three questions, not three per model).

use super::db::params;

use super::{Store, json_column};
use crate::config::{Regime, Severity};
use crate::deploy::canary::Arm;
use crate::evaluation::Record;
use crate::kinds::EvaluationKind;

/// A stored test or backtest of a version.
#[derive(Debug, Clone)]
pub struct EvaluationPoint {
    pub symbol: String,
    pub regime: Regime,
    pub version: i64,
    pub kind: EvaluationKind,
    /// Open time of the window's last bar.
    pub window_to: i64,
    pub created_at: i64,
    pub record: Record,
}

/// A drift check of a version that went live (its check at training included: the one
/// `status` shows until the next).
#[derive(Debug, Clone)]
pub struct DriftPoint {
    pub symbol: String,
    pub regime: Regime,
    pub version: i64,
    pub report_id: i64,
    pub created_at: i64,
    /// `None` when no feature drifted.
    pub severity: Option<Severity>,
    pub drifted_features: i64,
}

/// One feature of a drift report.
#[derive(Debug, Clone)]
pub struct DriftFeature {
    pub feature: String,
    pub psi: Option<f64>,
    pub ks_statistic: Option<f64>,
    pub ks_p_value: Option<f64>,
    pub drifted: bool,
    pub severity: Option<Severity>,
}

/// A resolved signal: when it was served, by which version (on which arm of a canary
/// test), and whether it won (`None`: flat, no trade).
#[derive(Debug, Clone, Copy)]
pub struct ResolvedSignal {
    pub version: i64,
    pub arm: Option<Arm>,
    pub open_time: i64,
    pub created_at: i64,
    pub win: Option<bool>,
}

impl Store {
    /// Test and backtest evaluations made at or after `since`, by model, then time.
    pub fn evaluations_since(&self, since: i64) -> anyhow::Result<Vec<EvaluationPoint>> {
        Ok(self.db.query_map(
            "SELECT v.symbol, v.regime, v.version, e.kind, e.window_to, e.created_at, e.metrics
             FROM evaluations e JOIN model_versions v ON v.id = e.version_id
             WHERE e.created_at >= ?1 AND e.kind IN ('test', 'backtest')
             ORDER BY v.symbol, v.regime, e.created_at, e.id",
            params![since],
            |r| {
                Ok(EvaluationPoint {
                    symbol: r.get(0)?,
                    regime: r.get(1)?,
                    version: r.get(2)?,
                    kind: r.get(3)?,
                    window_to: r.get(4)?,
                    created_at: r.get(5)?,
                    record: json_column(r, 6)?,
                })
            },
        )?)
    }

    /// Drift checks made at or after `since` of versions that went live (production or
    /// canary), by model, then time.
    pub fn drift_checks_since(&self, since: i64) -> anyhow::Result<Vec<DriftPoint>> {
        Ok(self.db.query_map(
            "SELECT v.symbol, v.regime, v.version, d.id, d.created_at, d.severity, d.drifted_features
             FROM drift_reports d JOIN model_versions v ON v.id = d.version_id
             WHERE d.created_at >= ?1
               AND d.version_id IN (SELECT to_version_id FROM deployments WHERE to_version_id IS NOT NULL
                                    UNION SELECT canary_version_id FROM deployments WHERE canary_version_id IS NOT NULL)
             ORDER BY v.symbol, v.regime, d.created_at, d.id",
            params![since],
            |r| {
                Ok(DriftPoint {
                    symbol: r.get(0)?,
                    regime: r.get(1)?,
                    version: r.get(2)?,
                    report_id: r.get(3)?,
                    created_at: r.get(4)?,
                    severity: r.get(5)?,
                    drifted_features: r.get(6)?,
                })
            },
        )?)
    }

    /// The features of drift report `report_id`, drifted ones first, then by PSI, largest
    /// first.
    pub fn drift_features(&self, report_id: i64) -> anyhow::Result<Vec<DriftFeature>> {
        let mut rows = self.db.query_map(
            "SELECT feature, psi, ks_statistic, ks_p_value, drifted, severity FROM drift_features
             WHERE report_id = ?1",
            params![report_id],
            |r| {
                Ok(DriftFeature {
                    feature: r.get(0)?,
                    psi: r.get(1)?,
                    ks_statistic: r.get(2)?,
                    ks_p_value: r.get(3)?,
                    drifted: r.get(4)?,
                    severity: r.get(5)?,
                })
            },
        )?;
        rows.sort_by(|a, b| {
            b.drifted
                .cmp(&a.drifted)
                .then(b.psi.unwrap_or(f64::NEG_INFINITY).total_cmp(&a.psi.unwrap_or(f64::NEG_INFINITY)))
                .then_with(|| a.feature.cmp(&b.feature))
        });
        Ok(rows)
    }

    /// Resolved signals of a model served at or after `since`, in the order the live win
    /// rate counts them (served, then bar).
    pub fn resolved_signals(
        &self,
        symbol: &str,
        regime: Regime,
        since: i64,
    ) -> anyhow::Result<Vec<ResolvedSignal>> {
        Ok(self.db.query_map(
            // By version: the index of served signals answers it.
            "SELECT v.version, s.arm, s.open_time, s.created_at, s.win
             FROM model_versions v JOIN signals s ON s.version_id = v.id
             WHERE v.symbol = ?1 AND v.regime = ?2 AND s.created_at >= ?3 AND s.resolved_at IS NOT NULL
             ORDER BY s.created_at, s.open_time",
            params![symbol, regime, since],
            |r| {
                Ok(ResolvedSignal {
                    version: r.get(0)?,
                    arm: r.get(1)?,
                    open_time: r.get(2)?,
                    created_at: r.get(3)?,
                    win: r.get(4)?,
                })
            },
        )?)
    }
}
