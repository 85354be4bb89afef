//! Alerts: raised once per (kind, model, version, severity) until resolved.

use super::db::{Begin, params};
use serde::Serialize;

use super::Store;
use crate::config::{Regime, Severity};
use crate::kinds::AlertKind;

/// An alert to raise.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub kind: AlertKind,
    pub severity: Severity,
    pub symbol: String,
    /// `None` for alerts about a whole symbol (stale data).
    pub regime: Option<Regime>,
    /// `None` for alerts about a model rather than a version (a failed training).
    pub version_id: Option<i64>,
    pub message: String,
    /// JSON object with the facts behind the message.
    pub details: serde_json::Value,
    pub created_at: i64,
}

/// Whether [`Store::raise_alert`] wrote a new alert or found one still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    New(i64),
    AlreadyOpen(i64),
}

impl Store {
    /// Raise an alert unless one of the same kind, model, version and severity is still open.
    pub fn raise_alert(&mut self, alert: &NewAlert) -> anyhow::Result<Raised> {
        // Immediate: a read that turns into a write beside another writer would fail at once.
        let tx = self.transaction(Begin::Immediate)?;
        let open: Option<i64> = tx
            .query_opt(
                "SELECT id FROM alerts WHERE resolved_at IS NULL AND kind = ?1 AND version_id IS NOT DISTINCT FROM ?2
                     AND severity = ?3 AND symbol = ?4 AND regime IS NOT DISTINCT FROM ?5
                 ORDER BY id LIMIT 1",
                params![alert.kind, alert.version_id, alert.severity, alert.symbol, alert.regime],
                |r| r.get(0),
            )?;
        if let Some(id) = open {
            return Ok(Raised::AlreadyOpen(id));
        }
        let id: i64 = tx.query_row(
            "INSERT INTO alerts (kind, severity, symbol, regime, version_id, message, details, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
            params![
                alert.kind,
                alert.severity,
                alert.symbol,
                alert.regime,
                alert.version_id,
                alert.message,
                alert.details.to_string(),
                alert.created_at
            ],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(Raised::New(id))
    }
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub id: i64,
    pub kind: AlertKind,
    pub severity: Severity,
    pub symbol: Option<String>,
    pub regime: Option<Regime>,
    pub message: String,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub resolution: Option<String>,
}

impl Store {
    /// Alerts, newest first: open ones only unless `all`.
    pub fn alerts(&self, all: bool) -> anyhow::Result<Vec<AlertRow>> {
        let rows = self.db.query_map(
            "SELECT id, kind, severity, symbol, regime, message, created_at, acknowledged_at, resolved_at, resolution
             FROM alerts WHERE ?1 = 1 OR resolved_at IS NULL ORDER BY id DESC",
            params![all],
            |r| {
            Ok(AlertRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                severity: r.get(2)?,
                symbol: r.get(3)?,
                regime: r.get(4)?,
                message: r.get(5)?,
                created_at: r.get(6)?,
                acknowledged_at: r.get(7)?,
                resolved_at: r.get(8)?,
                resolution: r.get(9)?,
            })
        }
        )?;
        Ok(rows)
    }

    /// Acknowledge an open alert; false if there is no such open alert.
    pub fn acknowledge_alert(&mut self, id: i64, at: i64) -> anyhow::Result<bool> {
        Ok(self.db.execute(
            "UPDATE alerts SET acknowledged_at = COALESCE(acknowledged_at, ?1) WHERE id = ?2 AND resolved_at IS NULL",
            params![at, id],
        )? == 1)
    }

    /// Resolve an open alert; false if there is no such open alert.
    pub fn resolve_alert(&mut self, id: i64, resolution: &str, at: i64) -> anyhow::Result<bool> {
        Ok(self.db.execute(
            "UPDATE alerts SET resolved_at = ?1, resolution = ?2 WHERE id = ?3 AND resolved_at IS NULL",
            params![at, resolution, id],
        )? == 1)
    }

    /// Open alerts by severity.
    pub fn open_alert_counts(&self) -> anyhow::Result<AlertCounts> {
        let mut counts = AlertCounts::default();
        let rows = self.db.query_map(
            "SELECT severity, COUNT(*) FROM alerts WHERE resolved_at IS NULL GROUP BY severity",
            &[],
            |r| Ok((r.get::<Severity>(0)?, r.get::<i64>(1)?)),
        )?;
        for (severity, n) in rows {
            *counts.get_mut(severity) = n as usize;
        }
        Ok(counts)
    }
}

/// Open alerts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertCounts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

impl AlertCounts {
    pub fn get(self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }

    fn get_mut(&mut self, severity: Severity) -> &mut usize {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
        }
    }

    pub fn total(self) -> usize {
        self.critical + self.high + self.medium + self.low
    }
}
