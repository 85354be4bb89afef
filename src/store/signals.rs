//! Signals: each prediction `predict` served, and later its realised outcome.

use super::db::{Begin, params};

use super::Store;
use crate::candles::Interval;
use crate::config::Regime;
use crate::deploy::canary::Arm;
use crate::deploy::signals::Summary;

/// A prediction to record.
#[derive(Debug, Clone)]
pub struct NewSignal {
    pub symbol: String,
    pub interval: Interval,
    pub regime: Regime,
    pub open_time: i64,
    pub version_id: i64,
    /// The canary test and the arm that served it, during a test.
    pub ab_test: Option<(i64, Arm)>,
    pub probability: f64,
    pub position: i8,
    /// The close of the bar as the model saw it: the entry price.
    pub entry_close: f64,
    pub horizon_bars: i64,
    pub cost_per_side: f64,
    pub created_at: i64,
}

/// A signal whose horizon had not passed when it was last looked at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pending {
    pub id: i64,
    pub open_time: i64,
    pub position: i8,
    pub entry_close: f64,
    pub horizon_bars: i64,
    pub cost_per_side: f64,
}

/// How a signal turned out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolution {
    pub id: i64,
    pub market_return: f64,
    pub realised_return: f64,
    /// `None` for a flat signal: no trade, neither won nor lost.
    pub win: Option<bool>,
}

/// A signal as `insert_signal` found it stored: the first record of its bar stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredSignal {
    pub id: i64,
    pub probability: f64,
    pub position: i8,
    /// Whether this call recorded it (else an earlier predict of the same bar did).
    pub new: bool,
}

/// A stored signal, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRow {
    pub open_time: i64,
    pub version: i64,
    pub arm: Option<Arm>,
    pub probability: f64,
    pub position: i8,
    pub realised_return: Option<f64>,
    pub win: Option<bool>,
}

/// A resolved signal's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub open_time: i64,
    pub realised_return: f64,
    /// `None` for a flat signal.
    pub win: Option<bool>,
}

impl Store {
    /// Record a signal; the same version on the same bar is recorded once (a concurrent
    /// `predict` of the same bar finds the first one).
    pub fn insert_signal(&mut self, s: &NewSignal) -> anyhow::Result<StoredSignal> {
        let inserted = self.db.execute(
            "INSERT INTO signals (symbol, interval, regime, open_time, version_id, ab_test_id, arm, probability,
                 position, entry_close, horizon_bars, cost_per_side, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (version_id, open_time) DO NOTHING",
            params![
                s.symbol,
                s.interval,
                s.regime,
                s.open_time,
                s.version_id,
                s.ab_test.map(|(id, _)| id),
                s.ab_test.map(|(_, arm)| arm),
                s.probability,
                s.position,
                s.entry_close,
                s.horizon_bars,
                s.cost_per_side,
                s.created_at
            ],
        )?;
        Ok(self.query_row(
            "SELECT id, probability, position FROM signals WHERE version_id = ?1 AND open_time = ?2",
            params![s.version_id, s.open_time],
            |r| {
                Ok(StoredSignal {
                    id: r.get(0)?,
                    probability: r.get(1)?,
                    position: r.get(2)?,
                    new: inserted == 1,
                })
            },
        )?)
    }

    /// The newest `limit` signals of a model, newest first.
    pub fn recent_signals(
        &self,
        symbol: &str,
        regime: Regime,
        limit: usize,
    ) -> anyhow::Result<Vec<SignalRow>> {
        let rows = self.db.query_map(
            "SELECT s.open_time, v.version, s.arm, s.probability, s.position, s.realised_return, s.win
             FROM signals s JOIN model_versions v ON v.id = s.version_id
             WHERE s.symbol = ?1 AND s.regime = ?2 ORDER BY s.open_time DESC, s.id DESC LIMIT ?3",
            params![symbol, regime, limit as i64],
            |r| {
                Ok(SignalRow {
                    open_time: r.get(0)?,
                    version: r.get(1)?,
                    arm: r.get(2)?,
                    probability: r.get(3)?,
                    position: r.get(4)?,
                    realised_return: r.get(5)?,
                    win: r.get(6)?,
                })
            },
        )?;
        Ok(rows)
    }

    /// Every signal of a series from `from` (open time, inclusive), oldest first, with its
    /// regime.
    pub fn series_signals(
        &self,
        symbol: &str,
        interval: Interval,
        from: i64,
    ) -> anyhow::Result<Vec<(Regime, SignalRow)>> {
        let rows = self.db.query_map(
            "SELECT s.regime, s.open_time, v.version, s.arm, s.probability, s.position, s.realised_return, s.win
             FROM signals s JOIN model_versions v ON v.id = s.version_id
             WHERE s.symbol = ?1 AND s.interval = ?2 AND s.open_time >= ?3 ORDER BY s.open_time, s.id",
            params![symbol, interval, from],
            |r| {
            Ok((
                r.get(0)?,
                SignalRow {
                    open_time: r.get(1)?,
                    version: r.get(2)?,
                    arm: r.get(3)?,
                    probability: r.get(4)?,
                    position: r.get(5)?,
                    realised_return: r.get(6)?,
                    win: r.get(7)?,
                },
            ))
        }
        )?;
        Ok(rows)
    }

    /// Unresolved signals of a series, oldest first.
    pub fn pending_signals(&self, symbol: &str, interval: Interval) -> anyhow::Result<Vec<Pending>> {
        let rows = self.db.query_map(
            "SELECT id, open_time, position, entry_close, horizon_bars, cost_per_side FROM signals
             WHERE symbol = ?1 AND interval = ?2 AND resolved_at IS NULL ORDER BY open_time, id",
            params![symbol, interval],
            |r| {
                Ok(Pending {
                    id: r.get(0)?,
                    open_time: r.get(1)?,
                    position: r.get(2)?,
                    entry_close: r.get(3)?,
                    horizon_bars: r.get(4)?,
                    cost_per_side: r.get(5)?,
                })
            },
        )?;
        Ok(rows)
    }

    /// Record resolutions in one transaction.
    pub fn resolve_signals(&mut self, resolved: &[Resolution], at: i64) -> anyhow::Result<()> {
        let tx = self.transaction(Begin::Deferred)?;
        {
            let update =
                "UPDATE signals SET resolved_at = ?1, market_return = ?2, realised_return = ?3, win = ?4
                          WHERE id = ?5 AND resolved_at IS NULL";
            for r in resolved {
                tx.execute(update, params![at, r.market_return, r.realised_return, r.win, r.id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The newest `last` resolved signals of a version served at or after `since` (epoch
    /// ms), summed up as [`crate::deploy::signals::summary`] sums outcomes: read from the
    /// index alone and never more than `last` rows, however long the version has served.
    pub fn live_summary(&self, version_id: i64, since: i64, last: usize) -> anyhow::Result<Summary> {
        let (signals, trades, wins, total): (i64, i64, i64, f64) = self.query_row(
            "SELECT COUNT(*), COUNT(win), COALESCE(SUM(win), 0), COALESCE(SUM(realised_return), 0.0) FROM
             (SELECT win, realised_return FROM signals
              WHERE version_id = ?1 AND created_at >= ?2 AND resolved_at IS NOT NULL
              ORDER BY created_at DESC, open_time DESC LIMIT ?3) AS newest",
            params![version_id, since, last as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let (signals, trades, wins) = (signals as usize, trades as usize, wins as usize);
        Ok(Summary {
            signals,
            trades,
            wins,
            win_rate: (trades > 0).then(|| wins as f64 / trades as f64),
            mean_return: total / signals.max(1) as f64,
        })
    }

    /// Resolved signals of a version served at or after `since` (epoch ms), oldest bar
    /// first; only those served in canary test `ab_test` when given.
    pub fn outcomes(
        &self,
        version_id: i64,
        since: i64,
        ab_test: Option<i64>,
    ) -> anyhow::Result<Vec<Outcome>> {
        let rows = self.db.query_map(
            "SELECT open_time, realised_return, win FROM signals
             WHERE version_id = ?1 AND created_at >= ?2 AND resolved_at IS NOT NULL
               AND (?3 IS NULL OR ab_test_id = ?3)
             ORDER BY open_time",
            params![version_id, since, ab_test],
            |r| Ok(Outcome { open_time: r.get(0)?, realised_return: r.get(1)?, win: r.get(2)? }),
        )?;
        Ok(rows)
    }
}
