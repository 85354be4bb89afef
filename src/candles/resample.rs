//! Aggregation: finer candles into a coarser interval, and market trades into candles.
//! Open is the first, close the last, high the max, low the min, volume the sum; a bucket
//! exists when at least one input falls in it (as pandas' resample with dropna does).

use super::{Candle, Interval, SourceRow, Tick};

/// Aggregate time-sorted candles into `to`; `to` must be a multiple of `from`.
pub fn resample(candles: &[Candle], from: Interval, to: Interval) -> Result<Vec<Candle>, String> {
    if to.millis() <= from.millis() || to.millis() % from.millis() != 0 {
        return Err(format!("cannot resample {from} candles to {to}: {to} must be a multiple of {from}"));
    }
    Ok(candles
        .chunk_by(|a, b| to.bucket(a.open_time) == to.bucket(b.open_time))
        .map(|bucket| merge(to.bucket(bucket[0].open_time), bucket))
        .collect())
}

fn merge(open_time: i64, bucket: &[Candle]) -> Candle {
    let first = bucket[0];
    let mut out = Candle { open_time, ..first };
    for candle in &bucket[1..] {
        out.high = out.high.max(candle.high);
        out.low = out.low.min(candle.low);
        out.volume += candle.volume;
    }
    out.close = bucket[bucket.len() - 1].close;
    out
}

/// Bucket market trades into candles of `interval`; trades at the same time keep their
/// input order. A bucket holding an invalid trade (non-finite or non-positive price,
/// negative amount) becomes a NaN candle, so that the quality check rejects it.
pub fn candles_from_ticks(mut ticks: Vec<Tick>, interval: Interval) -> Vec<SourceRow> {
    ticks.sort_by_key(|tick| tick.time);
    ticks
        .chunk_by(|a, b| interval.bucket(a.time) == interval.bucket(b.time))
        .map(|bucket| {
            let open_time = interval.bucket(bucket[0].time);
            let valid = bucket
                .iter()
                .all(|t| t.price.is_finite() && t.price > 0.0 && t.amount.is_finite() && t.amount >= 0.0);
            let price = |t: &Tick| if valid { t.price } else { f64::NAN };
            let mut candle = Candle {
                open_time,
                open: price(&bucket[0]),
                high: f64::NEG_INFINITY,
                low: f64::INFINITY,
                close: price(&bucket[bucket.len() - 1]),
                volume: 0.0,
            };
            for tick in bucket {
                candle.high = candle.high.max(price(tick));
                candle.low = candle.low.min(price(tick));
                candle.volume += tick.amount;
            }
            if !valid {
                candle.high = f64::NAN;
                candle.low = f64::NAN;
            }
            SourceRow { line: bucket[0].line, candle }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(text: &str) -> Interval {
        text.parse().unwrap()
    }

    fn c(minute: i64, o: f64, h: f64, l: f64, cl: f64, v: f64) -> Candle {
        Candle { open_time: minute * 60_000, open: o, high: h, low: l, close: cl, volume: v }
    }

    #[test]
    fn five_one_minute_candles_make_one_five_minute_candle() {
        let ones = [
            c(0, 10.0, 11.0, 9.0, 10.5, 1.0),
            c(1, 10.5, 12.0, 10.0, 11.0, 2.0),
            c(3, 11.0, 11.5, 8.0, 9.0, 3.0), // minute 2 missing: still one bucket
            c(4, 9.0, 9.5, 8.5, 9.2, 4.0),
            c(5, 9.2, 9.9, 9.1, 9.8, 5.0),
        ];
        let fives = resample(&ones, iv("1m"), iv("5m")).unwrap();
        assert_eq!(fives, vec![c(0, 10.0, 12.0, 8.0, 9.2, 10.0), c(5, 9.2, 9.9, 9.1, 9.8, 5.0)]);
    }

    #[test]
    fn refuses_intervals_that_do_not_divide() {
        assert!(resample(&[], iv("5m"), iv("7m")).is_err());
        assert!(resample(&[], iv("5m"), iv("1m")).is_err());
        assert!(resample(&[], iv("5m"), iv("5m")).is_err());
    }

    #[test]
    fn ticks_become_candles_in_time_then_input_order() {
        let tick = |line, second: i64, price, amount| Tick { line, time: second * 1_000, price, amount };
        let ticks = vec![
            tick(1, 5, 2.0, 1.0),
            tick(2, 5, 2.5, 1.0),
            tick(3, 59, 1.5, 2.0),
            tick(4, 61, 3.0, 4.0),
            tick(5, 30, 1.0, 0.5), // out of order, still in the first minute
        ];
        let rows = candles_from_ticks(ticks, iv("1m"));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].candle, c(0, 2.0, 2.5, 1.0, 1.5, 4.5));
        assert_eq!(rows[1].candle, c(1, 3.0, 3.0, 3.0, 3.0, 4.0));
        assert_eq!(rows[1].line, 4);
    }

    #[test]
    fn an_invalid_tick_poisons_its_candle() {
        let ticks = vec![Tick { line: 1, time: 0, price: -1.0, amount: 1.0 }];
        assert!(candles_from_ticks(ticks, iv("1m"))[0].candle.open.is_nan());
    }
}
