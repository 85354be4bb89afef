//! What the candle readers' targets share: after a read that succeeds, the rows go on
//! through what `collect` does next (trades bucketed into candles, the quality
//! assessment), so that a value a reader lets through cannot crash the steps after it.

use retrain::candles::Interval;
use retrain::candles::quality;
use retrain::candles::resample::candles_from_ticks;
use retrain::ingest::{self, Format, Rows};

/// A small expansion limit, so that a target finds the refusal instead of filling memory.
pub const MAX_UNPACKED: u64 = 16 << 20;

/// Read `bytes` as a file called `name` in `format`, and carry on as `collect` would.
pub fn read(name: &str, bytes: &[u8], format: Format, time_format: Option<&str>) {
    let Ok(loaded) = ingest::read_bytes(name, name, bytes.to_vec(), format, time_format, MAX_UNPACKED)
    else {
        return;
    };
    carry_on(loaded.rows);
}

/// The steps after a read: bucket trades, then assess the candles at two intervals.
pub fn carry_on(rows: Rows) {
    for minutes in [1, 60] {
        let interval = Interval::from_millis(minutes * 60_000).expect("a whole number of minutes");
        let rows = match &rows {
            Rows::Candles(rows) => rows.clone(),
            Rows::Ticks(ticks) => candles_from_ticks(ticks.clone(), interval),
        };
        let _ = quality::assess(rows, interval, 5);
    }
}
