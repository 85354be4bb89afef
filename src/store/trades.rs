//! Trade outcomes of the live trading system.

use super::db::{Begin, params};

use super::{Store, UpsertCounts};
use crate::ingest::trades::TradeOutcome;

impl Store {
    /// Insert new outcomes and update changed ones, keyed on id, in one transaction.
    pub fn upsert_trade_outcomes(&mut self, trades: &[TradeOutcome]) -> anyhow::Result<UpsertCounts> {
        let tx = self.transaction(Begin::Deferred)?;
        let mut counts = UpsertCounts::default();
        {
            let current = "SELECT symbol, opened_at, closed_at, side, entry_price, exit_price, quantity, pnl,
                               model_version
                           FROM trade_outcomes WHERE id = ?1";
            let upsert = "INSERT INTO trade_outcomes (id, symbol, opened_at, closed_at, side, entry_price,
                              exit_price, quantity, pnl, model_version)
                          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                          ON CONFLICT (id) DO UPDATE SET symbol = ?2, opened_at = ?3, closed_at = ?4, side = ?5,
                              entry_price = ?6, exit_price = ?7, quantity = ?8, pnl = ?9, model_version = ?10";
            for trade in trades {
                let values = (
                    trade.symbol.as_str(),
                    trade.opened_at,
                    trade.closed_at,
                    trade.side.as_str(),
                    trade.entry_price,
                    trade.exit_price,
                    trade.quantity,
                    trade.pnl,
                    trade.model_version,
                );
                let stored = tx.query_opt(current, params![trade.id], |r| {
                    Ok((
                        r.get::<String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get::<String>(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                })?;
                match stored {
                    Some(s) if (s.0.as_str(), s.1, s.2, s.3.as_str(), s.4, s.5, s.6, s.7, s.8) == values => {
                        counts.unchanged += 1;
                        continue;
                    }
                    Some(_) => counts.updated += 1,
                    None => counts.inserted += 1,
                }
                tx.execute(
                    upsert,
                    params![
                        trade.id, values.0, values.1, values.2, values.3, values.4, values.5, values.6,
                        values.7, values.8
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    /// Stored trade outcomes per symbol.
    pub fn trade_outcome_counts(&self) -> anyhow::Result<Vec<TradeOutcomeCount>> {
        let rows = self.db.query_map(
            "SELECT symbol, COUNT(*), MAX(closed_at) FROM trade_outcomes GROUP BY symbol ORDER BY symbol",
            &[],
            |r| {
                Ok(TradeOutcomeCount {
                    symbol: r.get(0)?,
                    count: r.get::<i64>(1)? as u64,
                    last_closed_at: r.get(2)?,
                })
            },
        )?;
        Ok(rows)
    }
}

/// The trade outcomes stored for one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeOutcomeCount {
    pub symbol: String,
    pub count: u64,
    /// Close time of the newest.
    pub last_closed_at: i64,
}
