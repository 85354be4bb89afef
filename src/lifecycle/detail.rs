//! One symbol's models in detail, as typed, serialisable data: every version with its test
//! metrics, the deployment record, production's latest evaluation and drift check, and
//! the newest signals. `status --symbol` renders it as text or JSON.

use serde::Serialize;

use crate::candles::Interval;
use crate::candles::time::serialize_rfc3339 as rfc3339;
use crate::config::{Regime, Severity};
use crate::deploy::canary::Arm;
use crate::evaluation::Record;
use crate::kinds::{DeploymentAction, EvaluationKind, VersionStatus};
use crate::store::{DeploymentRow, Store};

/// One symbol's models in detail: versions, deployments, the last evaluation and drift
/// report of production, recent signals.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub symbol: String,
    pub models: Vec<ModelDetail>,
}

/// One model in detail.
#[derive(Debug, Clone, Serialize)]
pub struct ModelDetail {
    pub regime: Regime,
    pub interval: Interval,
    pub versions: Vec<VersionDetail>,
    pub deployments: Vec<Deployment>,
    pub last_evaluation: Option<LastEvaluation>,
    pub last_drift: Option<LastDriftCheck>,
    /// The newest signals, newest first.
    pub signals: Vec<Signal>,
}

/// A version with its test metrics.
#[derive(Debug, Clone, Serialize)]
pub struct VersionDetail {
    pub version: i64,
    pub status: VersionStatus,
    #[serde(serialize_with = "rfc3339")]
    pub trained_at: i64,
    /// Its metrics on its test window.
    pub test: Option<Record>,
    /// The kind of its latest test or backtest evaluation.
    pub latest_evaluation: Option<EvaluationKind>,
}

/// A deployment row.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
    pub action: DeploymentAction,
    pub forced: bool,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub canary: Option<i64>,
    pub by: String,
    pub reason: String,
}

impl From<DeploymentRow> for Deployment {
    fn from(d: DeploymentRow) -> Deployment {
        Deployment {
            at: d.created_at,
            action: d.action,
            forced: d.forced,
            from: d.from_version,
            to: d.to_version,
            canary: d.canary_version,
            by: d.actor,
            reason: d.reason,
        }
    }
}

/// Production's latest backtest.
#[derive(Debug, Clone, Serialize)]
pub struct LastEvaluation {
    pub version: i64,
    /// Open time of the window's last bar.
    #[serde(serialize_with = "rfc3339")]
    pub window_to: i64,
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
    pub metrics: Record,
}

/// Production's latest drift report.
#[derive(Debug, Clone, Serialize)]
pub struct LastDriftCheck {
    pub version: i64,
    #[serde(serialize_with = "rfc3339")]
    pub window_to: i64,
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
    /// `None` when no feature drifted: "none" in JSON, as in the fleet's rows.
    #[serde(serialize_with = "super::status::severity_or_none")]
    pub severity: Option<Severity>,
}

/// A served signal and how it turned out.
#[derive(Debug, Clone, Serialize)]
pub struct Signal {
    #[serde(serialize_with = "rfc3339")]
    pub bar: i64,
    pub version: i64,
    pub arm: Option<Arm>,
    pub probability_up: f64,
    /// 1 long, -1 short, 0 flat.
    pub position: i8,
    /// `None` while its horizon has not passed.
    pub realised_return: Option<f64>,
    /// `None` for a flat signal or an open one.
    pub win: Option<bool>,
}

/// Signals shown per model.
const SIGNALS: usize = 10;

/// The detail of `symbol`'s models (of `regime` only, when given) that have versions.
pub fn detail(store: &Store, symbol: &str, regime: Option<Regime>) -> anyhow::Result<Detail> {
    let regimes: Vec<Regime> = regime.map_or_else(|| Regime::ALL.to_vec(), |r| vec![r]);
    let mut models = Vec::new();
    for regime in regimes {
        let versions = store.versions(symbol, Some(regime))?;
        let Some(newest) = versions.first() else { continue };
        let mut rows = Vec::with_capacity(versions.len());
        for v in &versions {
            rows.push(VersionDetail {
                version: v.version,
                status: v.status,
                trained_at: v.created_at,
                test: store.test_record(v.id)?,
                latest_evaluation: v.latest_evaluation.as_ref().map(|e| e.kind),
            });
        }
        let deployments =
            store.deployments(Some(symbol), Some(regime))?.into_iter().map(Deployment::from).collect();
        let (mut last_evaluation, mut last_drift) = (None, None);
        if let Some(p) = versions.iter().find(|v| v.status == VersionStatus::Production) {
            last_evaluation =
                store.latest_evaluation(p.id, EvaluationKind::Backtest)?.map(|e| LastEvaluation {
                    version: p.version,
                    window_to: e.window_to,
                    at: e.created_at,
                    metrics: e.record,
                });
            last_drift = store.latest_drift(p.id)?.map(|d| LastDriftCheck {
                version: p.version,
                window_to: d.window_to,
                at: d.created_at,
                severity: d.severity,
            });
        }
        let signals = store
            .recent_signals(symbol, regime, SIGNALS)?
            .into_iter()
            .map(|s| Signal {
                bar: s.open_time,
                version: s.version,
                arm: s.arm,
                probability_up: s.probability,
                position: s.position,
                realised_return: s.realised_return,
                win: s.win,
            })
            .collect();
        models.push(ModelDetail {
            regime,
            interval: newest.interval,
            versions: rows,
            deployments,
            last_evaluation,
            last_drift,
            signals,
        });
    }
    Ok(Detail { symbol: symbol.to_string(), models })
}
