//! Candles and collect batches.

use super::db::{Begin, Db, params};

use super::Store;
use crate::candles::{Candle, Interval};

/// What an upsert did to the stored rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// The facts of an accepted batch, stored with it in the same transaction.
#[derive(Debug, Clone)]
pub struct CollectRecord {
    pub source: String,
    pub finished_at: i64,
    pub rows_read: usize,
    pub rejected: usize,
    pub duplicates: usize,
    pub gaps: usize,
    pub missing_bars: u64,
    pub quality_score: f64,
    pub reasons: Vec<String>,
}

/// Per (symbol, interval): what is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSummary {
    pub symbol: String,
    pub interval: Interval,
    pub candles: u64,
    pub first_open_time: i64,
    pub last_open_time: i64,
    pub gaps: u64,
    pub missing_bars: u64,
    pub last_collect: Option<LastCollect>,
}

/// The latest accepted batch of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct LastCollect {
    pub finished_at: i64,
    pub source: String,
    pub inserted: u64,
    pub updated: u64,
    pub quality_score: f64,
}

impl Store {
    /// Insert new candles, update changed ones, leave equal ones alone, and log the
    /// batch: all in one transaction, so that a failure writes nothing.
    pub fn upsert_candles(
        &mut self,
        symbol: &str,
        interval: Interval,
        candles: &[Candle],
        record: &CollectRecord,
    ) -> anyhow::Result<UpsertCounts> {
        let interval_text = interval.to_string();
        let tx = self.transaction(Begin::Deferred)?;
        let mut counts = UpsertCounts::default();
        if let (Some(first), Some(last)) = (candles.first(), candles.last()) {
            let stored = stored_between(&tx, symbol, &interval_text, first.open_time, last.open_time)?;
            let insert = "INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume)
                          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
            let update = "UPDATE candles SET open = ?4, high = ?5, low = ?6, close = ?7, volume = ?8
                          WHERE symbol = ?1 AND interval = ?2 AND open_time = ?3";
            let mut stored = stored.iter().peekable();
            for candle in candles {
                while stored.next_if(|s| s.open_time < candle.open_time).is_some() {}
                let existing = stored.next_if(|s| s.open_time == candle.open_time);
                let values = params![
                    symbol,
                    interval_text,
                    candle.open_time,
                    candle.open,
                    candle.high,
                    candle.low,
                    candle.close,
                    candle.volume
                ];
                match existing {
                    None => {
                        tx.execute(insert, values)?;
                        counts.inserted += 1;
                    }
                    Some(old) if old.same_as(candle) => counts.unchanged += 1,
                    Some(_) => {
                        tx.execute(update, values)?;
                        counts.updated += 1;
                    }
                }
            }
        }
        tx.execute(
            "INSERT INTO collects (symbol, interval, source, finished_at, rows_read, inserted, updated,
                 unchanged, rejected, duplicates, gaps, missing_bars, first_open_time, last_open_time,
                 quality_score, reasons)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                symbol,
                interval_text,
                record.source,
                record.finished_at,
                record.rows_read as i64,
                counts.inserted as i64,
                counts.updated as i64,
                counts.unchanged as i64,
                record.rejected as i64,
                record.duplicates as i64,
                record.gaps as i64,
                record.missing_bars as i64,
                candles.first().map(|c| c.open_time),
                candles.last().map(|c| c.open_time),
                record.quality_score,
                serde_json::to_string(&record.reasons)?,
            ],
        )?;
        tx.commit()?;
        Ok(counts)
    }

    /// The open time of the newest stored candle of a series.
    pub fn last_open_time(&self, symbol: &str, interval: Interval) -> anyhow::Result<Option<i64>> {
        Ok(self.query_row(
            "SELECT MAX(open_time) FROM candles WHERE symbol = ?1 AND interval = ?2",
            params![symbol, interval.to_string()],
            |row| row.get(0),
        )?)
    }

    /// Candles of a series in time order, optionally from `from` (inclusive).
    pub fn candles(
        &self,
        symbol: &str,
        interval: Interval,
        from: Option<i64>,
    ) -> anyhow::Result<Vec<Candle>> {
        stored_between(&self.db, symbol, &interval.to_string(), from.unwrap_or(i64::MIN), i64::MAX)
    }

    /// Every stored series with its counts, range, gaps and latest collect.
    pub fn series_summaries(&self) -> anyhow::Result<Vec<SeriesSummary>> {
        let rows = self.db.query_map(
            "SELECT symbol, interval, COUNT(*), MIN(open_time), MAX(open_time)
             FROM candles GROUP BY symbol, interval ORDER BY symbol, interval",
            &[],
            |row| {
                Ok((
                    row.get::<String>(0)?,
                    row.get::<Interval>(1)?,
                    row.get::<i64>(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )?;
        let mut summaries = Vec::new();
        for (symbol, interval, count, first, last) in rows {
            let step = interval.millis();
            let (gaps, missing): (i64, i64) = self.query_row(
                "SELECT COUNT(*), COALESCE(SUM(step / ?3 - 1), 0) FROM (
                     SELECT open_time - LAG(open_time) OVER (ORDER BY open_time) AS step
                     FROM candles WHERE symbol = ?1 AND interval = ?2
                 ) AS steps WHERE step > ?3",
                params![symbol, interval, step],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let last_collect = self.db.query_opt(
                "SELECT finished_at, source, inserted, updated, quality_score FROM collects
                     WHERE symbol = ?1 AND interval = ?2 ORDER BY id DESC LIMIT 1",
                params![symbol, interval],
                |r| {
                    Ok(LastCollect {
                        finished_at: r.get(0)?,
                        source: r.get(1)?,
                        inserted: r.get::<i64>(2)? as u64,
                        updated: r.get::<i64>(3)? as u64,
                        quality_score: r.get(4)?,
                    })
                },
            )?;
            summaries.push(SeriesSummary {
                symbol,
                interval,
                candles: count as u64,
                first_open_time: first,
                last_open_time: last,
                gaps: gaps as u64,
                missing_bars: missing as u64,
                last_collect,
            });
        }
        Ok(summaries)
    }
}

fn stored_between(
    conn: &Db,
    symbol: &str,
    interval: &str,
    from: i64,
    to: i64,
) -> anyhow::Result<Vec<Candle>> {
    let rows = conn.query_map(
        "SELECT open_time, open, high, low, close, volume FROM candles
         WHERE symbol = ?1 AND interval = ?2 AND open_time BETWEEN ?3 AND ?4 ORDER BY open_time",
        params![symbol, interval, from, to],
        |row| {
            Ok(Candle {
                open_time: row.get(0)?,
                open: row.get(1)?,
                high: row.get(2)?,
                low: row.get(3)?,
                close: row.get(4)?,
                volume: row.get(5)?,
            })
        },
    )?;
    Ok(rows)
}
