use retrain::candles::{Candle, Interval};
use retrain::store::{CollectRecord, UpsertCounts};

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
        reasons: vec!["a reason".into()],
    }
}

#[test]
fn upsert_inserts_updates_and_leaves_equal_rows_alone() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
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
    assert_eq!(store.candles("X", one_minute, Some(120_000)).unwrap().len(), 3);

    let summary = &store.series_summaries().unwrap()[0];
    assert_eq!((summary.candles, summary.gaps, summary.missing_bars), (5, 0, 0));
    let last = summary.last_collect.as_ref().unwrap();
    assert_eq!((last.inserted, last.updated, last.source.as_str()), (2, 1, "test"));
}

#[test]
fn summaries_count_gaps_and_missing_bars() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let one_minute: Interval = "1m".parse().unwrap();
    let candles = [candle(0, 1.0), candle(3, 1.0), candle(4, 1.0), candle(10, 1.0)];
    store.upsert_candles("X", one_minute, &candles, &record()).unwrap();
    let summary = &store.series_summaries().unwrap()[0];
    assert_eq!((summary.gaps, summary.missing_bars), (2, 7));
    assert_eq!(store.last_open_time("X", one_minute).unwrap(), Some(600_000));
    assert_eq!(store.last_open_time("Y", one_minute).unwrap(), None);
}

/// Doubles read back bit for bit, the extremes of f64 included.
#[test]
fn prices_read_back_exactly() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let one_minute: Interval = "1m".parse().unwrap();
    let values = [0.1 + 0.2, 1e-300, 1.7976931348623157e308, 5e-324, 43_123.456_789_012_34];
    let candles: Vec<Candle> = values.iter().enumerate().map(|(i, &v)| candle(i as i64, v)).collect();
    store.upsert_candles("X", one_minute, &candles, &record()).unwrap();
    let back: Vec<u64> =
        store.candles("X", one_minute, None).unwrap().iter().map(|c| c.close.to_bits()).collect();
    assert_eq!(back, values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
}
