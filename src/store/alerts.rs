//! Alerts: raised once per (kind, model, version, severity) until resolved.

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::config::Severity;

/// An alert to raise.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub kind: String,
    pub severity: Severity,
    pub symbol: String,
    pub regime: String,
    /// `None` for alerts about a model rather than a version (a failed training).
    pub version_id: Option<i64>,
    pub message: String,
    pub details: String,
    pub created_at: i64,
}

/// Whether [`Store::raise_alert`] wrote a new alert or found one still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    New(i64),
    AlreadyOpen(i64),
}

pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

impl Store {
    /// Raise an alert unless one of the same kind, model, version and severity is still open.
    pub fn raise_alert(&mut self, alert: &NewAlert) -> anyhow::Result<Raised> {
        let tx = self.conn.transaction()?;
        let open: Option<i64> = tx
            .query_row(
                "SELECT id FROM alerts WHERE resolved_at IS NULL AND kind = ?1 AND version_id IS ?2 AND severity = ?3
                     AND symbol = ?4 AND regime = ?5
                 ORDER BY id LIMIT 1",
                params![alert.kind, alert.version_id, severity_name(alert.severity), alert.symbol, alert.regime],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = open {
            return Ok(Raised::AlreadyOpen(id));
        }
        tx.execute(
            "INSERT INTO alerts (kind, severity, symbol, regime, version_id, message, details, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                alert.kind,
                severity_name(alert.severity),
                alert.symbol,
                alert.regime,
                alert.version_id,
                alert.message,
                alert.details,
                alert.created_at
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Raised::New(id))
    }
}
