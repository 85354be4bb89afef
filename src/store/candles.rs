//! Candles and collect batches.

use rusqlite::{OptionalExtension, params};

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
        let tx = self.conn.transaction()?;
        let mut counts = UpsertCounts::default();
        if let (Some(first), Some(last)) = (candles.first(), candles.last()) {
            let stored = stored_between(&tx, symbol, &interval_text, first.open_time, last.open_time)?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE candles SET open = ?4, high = ?5, low = ?6, close = ?7, volume = ?8
                 WHERE symbol = ?1 AND interval = ?2 AND open_time = ?3",
            )?;
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
                        insert.execute(values)?;
                        counts.inserted += 1;
                    }
                    Some(old) if old.same_as(candle) => counts.unchanged += 1,
                    Some(_) => {
                        update.execute(values)?;
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
        stored_between(&self.conn, symbol, &interval.to_string(), from.unwrap_or(i64::MIN), i64::MAX)
    }

    /// Every stored series with its counts, range, gaps and latest collect.
    pub fn series_summaries(&self) -> anyhow::Result<Vec<SeriesSummary>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT symbol, interval, COUNT(*), MIN(open_time), MAX(open_time)
             FROM candles GROUP BY symbol, interval ORDER BY symbol, interval",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Interval>(1)?,
                row.get::<_, i64>(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?;
        let mut summaries = Vec::new();
        for row in rows {
            let (symbol, interval, count, first, last) = row?;
            let step = interval.millis();
            let (gaps, missing): (i64, i64) = self.query_row(
                "SELECT COUNT(*), COALESCE(SUM(step / ?3 - 1), 0) FROM (
                     SELECT open_time - LAG(open_time) OVER (ORDER BY open_time) AS step
                     FROM candles WHERE symbol = ?1 AND interval = ?2
                 ) WHERE step > ?3",
                params![symbol, interval, step],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let last_collect = self
                .query_row(
                    "SELECT finished_at, source, inserted, updated, quality_score FROM collects
                     WHERE symbol = ?1 AND interval = ?2 ORDER BY id DESC LIMIT 1",
                    params![symbol, interval],
                    |r| {
                        Ok(LastCollect {
                            finished_at: r.get(0)?,
                            source: r.get(1)?,
                            inserted: r.get::<_, i64>(2)? as u64,
                            updated: r.get::<_, i64>(3)? as u64,
                            quality_score: r.get(4)?,
                        })
                    },
                )
                .optional()?;
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
    conn: &rusqlite::Connection,
    symbol: &str,
    interval: &str,
    from: i64,
    to: i64,
) -> anyhow::Result<Vec<Candle>> {
    let mut statement = conn.prepare_cached(
        "SELECT open_time, open, high, low, close, volume FROM candles
         WHERE symbol = ?1 AND interval = ?2 AND open_time BETWEEN ?3 AND ?4 ORDER BY open_time",
    )?;
    let rows = statement.query_map(params![symbol, interval, from, to], |row| {
        Ok(Candle {
            open_time: row.get(0)?,
            open: row.get(1)?,
            high: row.get(2)?,
            low: row.get(3)?,
            close: row.get(4)?,
            volume: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(minute: i64, close: f64) -> Candle {
        Candle { open_time: minute * 60_000, open: 1.0, high: 3.0, low: 0.5, close, volume: 7.0 }
    }

    fn record() -> CollectRecord {
        CollectRecord {
            source: "test".into(),
            finished_at: 0,
            rows_read: 0,
            rejected: 0,
            duplicates: 0,
            gaps: 0,
            missing_bars: 0,
            quality_score: 1.0,
            reasons: Vec::new(),
        }
    }

    #[test]
    fn upsert_inserts_updates_and_leaves_equal_rows_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let one_minute: Interval = "1m".parse().unwrap();
        let first = [candle(0, 1.0), candle(1, 2.0), candle(3, 3.0)];
        let counts = store.upsert_candles("X", one_minute, &first, &record()).unwrap();
        assert_eq!(counts, UpsertCounts { inserted: 3, updated: 0, unchanged: 0 });

        let again = store.upsert_candles("X", one_minute, &first, &record()).unwrap();
        assert_eq!(again, UpsertCounts { inserted: 0, updated: 0, unchanged: 3 });

        let corrected = [candle(1, 2.5), candle(2, 9.0), candle(3, 3.0), candle(4, 4.0)];
        let counts = store.upsert_candles("X", one_minute, &corrected, &record()).unwrap();
        assert_eq!(counts, UpsertCounts { inserted: 2, updated: 1, unchanged: 1 });

        let stored = store.candles("X", one_minute, None).unwrap();
        let closes: Vec<f64> = stored.iter().map(|c| c.close).collect();
        assert_eq!(closes, [1.0, 2.5, 9.0, 3.0, 4.0]);

        let summary = &store.series_summaries().unwrap()[0];
        assert_eq!((summary.candles, summary.gaps, summary.missing_bars), (5, 0, 0));
        assert_eq!(summary.last_collect.as_ref().unwrap().inserted, 2);
    }

    #[test]
    fn summaries_count_gaps_and_missing_bars() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let one_minute: Interval = "1m".parse().unwrap();
        let candles = [candle(0, 1.0), candle(3, 1.0), candle(4, 1.0), candle(10, 1.0)];
        store.upsert_candles("X", one_minute, &candles, &record()).unwrap();
        let summary = &store.series_summaries().unwrap()[0];
        assert_eq!((summary.gaps, summary.missing_bars), (2, 7));
        assert_eq!(store.last_open_time("X", one_minute).unwrap(), Some(600_000));
    }
}
