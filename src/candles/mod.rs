//! Candles and the pure work on them: intervals, timestamps, quality, resampling.
//! Nothing here touches a file or the database.

mod interval;
pub mod quality;
pub mod resample;
pub mod time;

pub use interval::{Interval, ParseIntervalError};

/// One OHLCV candle; `open_time` is UTC epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candle {
    pub open_time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl Candle {
    /// Bitwise equality of every field: what decides whether a stored row changed.
    pub fn same_as(&self, other: &Candle) -> bool {
        self.open_time == other.open_time
            && self.values().iter().zip(other.values()).all(|(a, b)| a.to_bits() == b.to_bits())
    }

    pub fn values(&self) -> [f64; 5] {
        [self.open, self.high, self.low, self.close, self.volume]
    }
}

/// A candle as read from an input, with where it came from (1-based line or row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceRow {
    pub line: u64,
    pub candle: Candle,
}

/// One market trade (not a trade outcome): the raw material of candles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tick {
    pub line: u64,
    pub time: i64,
    pub price: f64,
    pub amount: f64,
}
