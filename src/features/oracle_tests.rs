//! Features on real candles against TA-Lib and pandas (fixture made by
//! scripts/oracles/features.py), and the two properties every feature must have:
//! scale-free, and blind to the future.

use super::compute;
use crate::candles::Candle;
use crate::config::{FeatureSettings, Regime, RegimeSettings};
use crate::ingest;

/// The first `rows` candles of the BTC month in tests/data (all of them with `usize::MAX`).
fn btc(rows: usize) -> Vec<Candle> {
    let all = ingest::test_data_candles("btc-perp-20211231-20220201_1m.csv");
    all.into_iter().take(rows).map(|row| row.candle).collect()
}

fn close_enough(ours: f64, theirs: f64, relative: f64) -> bool {
    (ours - theirs).abs() <= relative * theirs.abs().max(1e-3)
}

#[test]
fn features_match_talib_and_pandas() {
    let candles = btc(3000);
    let table = compute(&candles, &FeatureSettings::default(), &RegimeSettings::default()).unwrap();
    let fixture = include_str!("../../tests/fixtures/oracles/features-btc-1m.csv");
    let mut lines = fixture.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[1..], table.names.iter().map(String::as_str).collect::<Vec<_>>()[..]);
    let mut checked = 0;
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let time: i64 = fields[0].parse().unwrap();
        let row = table.open_time.iter().position(|t| *t == time).unwrap();
        for (i, name) in table.names.iter().enumerate() {
            let theirs: f64 = fields[i + 1].parse().unwrap_or(f64::NAN);
            let ours = table.columns[i][row];
            if theirs.is_nan() {
                assert!(ours.is_nan(), "{name} at row {row}: ours {ours}, the reference is undefined");
                continue;
            }
            // TA-Lib's BBANDS takes the variance as E[x^2] - E[x]^2, which loses about
            // nine digits on prices near 40,000; polars' rolling variance does not.
            let tolerance = if name.starts_with("bb_") { 1e-6 } else { 1e-9 };
            assert!(
                close_enough(ours, theirs, tolerance),
                "{name} at row {row}: ours {ours}, reference {theirs}"
            );
            checked += 1;
        }
    }
    assert!(checked > 3000, "only {checked} values checked");
}

#[test]
fn features_are_scale_free() {
    let candles = btc(3000);
    let tiny: Vec<Candle> = candles
        .iter()
        .map(|c| Candle {
            open: c.open * 1e-6,
            high: c.high * 1e-6,
            low: c.low * 1e-6,
            close: c.close * 1e-6,
            ..*c
        })
        .collect();
    let settings = (FeatureSettings::default(), RegimeSettings::default());
    let a = compute(&candles, &settings.0, &settings.1).unwrap();
    let b = compute(&tiny, &settings.0, &settings.1).unwrap();
    for (i, name) in a.names.iter().enumerate() {
        for row in 0..a.len() {
            let (x, y) = (a.columns[i][row], b.columns[i][row]);
            assert!(x.is_nan() == y.is_nan(), "{name} at {row}: {x} vs {y}");
            if !x.is_nan() {
                assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{name} at {row}: {x} vs {y}");
            }
        }
    }
    assert_eq!(a.regime, b.regime);
}

#[test]
fn appending_future_bars_changes_no_earlier_row() {
    let candles = btc(3000);
    let settings = (FeatureSettings::default(), RegimeSettings::default());
    let past = compute(&candles[..2000], &settings.0, &settings.1).unwrap();
    let all = compute(&candles, &settings.0, &settings.1).unwrap();
    for (i, name) in past.names.iter().enumerate() {
        for row in 0..past.len() {
            let (x, y) = (past.columns[i][row], all.columns[i][row]);
            assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()), "{name} at {row}: {x} vs {y}");
        }
    }
    assert_eq!(past.regime[..], all.regime[..2000]);
}

#[test]
fn every_regime_occurs_on_btc_at_one_and_five_minutes() {
    let candles = btc(usize::MAX);
    let five =
        crate::candles::resample::resample(&candles, "1m".parse().unwrap(), "5m".parse().unwrap()).unwrap();
    for (interval, series) in [("1m", &candles), ("5m", &five)] {
        let table = compute(series, &FeatureSettings::default(), &RegimeSettings::default()).unwrap();
        for regime in Regime::ALL {
            let count = table.regime.iter().filter(|r| **r == Some(regime)).count();
            assert!(count > series.len() / 50, "{regime:?} on {interval}: {count} of {} bars", series.len());
        }
    }
}

/// The regime lines against polars' own rolling quantile (the `linear` method, a whole
/// window of values required), the way regimes were computed before the sorted-window
/// kernel: every bar of the BTC month gets the same regime.
#[test]
fn regimes_equal_those_from_polars_rolling_quantiles() {
    use polars::prelude::*;
    let candles = btc(usize::MAX);
    let r = RegimeSettings::default();
    let table = compute(&candles, &FeatureSettings::default(), &r).unwrap();
    let column = |name: &str| {
        let values = &table.columns[table.names.iter().position(|n| n == name).unwrap()];
        Column::new(name.into(), values.iter().map(|v| v.is_finite().then_some(*v)).collect::<Vec<_>>())
    };
    let frame =
        DataFrame::new_infer_height(vec![column("volatility"), column("bb_bandwidth"), column("adx")])
            .unwrap();
    let window = RollingOptionsFixedWindow {
        window_size: r.lookback_bars as usize,
        min_periods: r.lookback_bars as usize,
        ..Default::default()
    };
    let lines = frame
        .lazy()
        .select([
            col("volatility").rolling_quantile(QuantileMethod::Linear, r.volatile_percentile, window.clone()),
            col("bb_bandwidth").rolling_quantile(QuantileMethod::Linear, r.squeeze_percentile, window),
        ])
        .collect()
        .unwrap();
    let line =
        |name: &str| -> Vec<Option<f64>> { lines.column(name).unwrap().f64().unwrap().iter().collect() };
    let (volatile_line, squeeze_line) = (line("volatility"), line("bb_bandwidth"));
    let value = |name: &str, t: usize| table.columns[table.names.iter().position(|n| n == name).unwrap()][t];
    let mut defined = 0;
    for t in 0..table.len() {
        let expected = match (volatile_line[t], squeeze_line[t], value("adx", t)) {
            (Some(v), Some(s), adx) if adx.is_finite() => {
                defined += 1;
                Some(if value("volatility", t) >= v {
                    Regime::Volatile
                } else if adx >= r.trend_adx {
                    Regime::Trending
                } else if value("bb_bandwidth", t) <= s {
                    Regime::Consolidation
                } else {
                    Regime::Sideways
                })
            }
            _ => None,
        };
        assert_eq!(table.regime[t], expected, "bar {t}");
    }
    assert!(defined > 44_000, "{defined}");
}
