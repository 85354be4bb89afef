//! Candle intervals: `30s`, `1m`, `5m`, `1h`, `4h`, `1d`, `1w`, with a canonical spelling.

use std::fmt;
use std::str::FromStr;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
/// 1970-01-01 was a Thursday; weekly candles start on Monday, as exchanges do.
const FIRST_MONDAY: i64 = 4 * DAY;

/// A fixed candle length in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    ms: i64,
}

impl Interval {
    /// An interval of `ms` milliseconds; `None` unless it is a positive whole second.
    pub fn from_millis(ms: i64) -> Option<Interval> {
        (ms > 0 && ms % SECOND == 0).then_some(Interval { ms })
    }

    pub fn millis(self) -> i64 {
        self.ms
    }

    /// The open time of the candle of this interval that contains `time_ms`.
    pub fn bucket(self, time_ms: i64) -> i64 {
        let origin = if self.ms % WEEK == 0 { FIRST_MONDAY } else { 0 };
        (time_ms - origin).div_euclid(self.ms) * self.ms + origin
    }

    /// How many bars of this interval fit in a year (365.25 days), for annualising.
    pub fn bars_per_year(self) -> f64 {
        365.25 * DAY as f64 / self.ms as f64
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unit_ms, suffix) = [(WEEK, "w"), (DAY, "d"), (HOUR, "h"), (MINUTE, "m")]
            .into_iter()
            .find(|(unit, _)| self.ms % unit == 0)
            .unwrap_or((SECOND, "s"));
        write!(f, "{}{}", self.ms / unit_ms, suffix)
    }
}

/// Why a text is not an interval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid interval {text:?}: expected a number and a unit s, m, h, d or w, such as 1m, 5m, 1h, 1d")]
pub struct ParseIntervalError {
    text: String,
}

impl FromStr for Interval {
    type Err = ParseIntervalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseIntervalError { text: text.to_string() };
        let trimmed = text.trim();
        let digits_end = trimmed.find(|c: char| !c.is_ascii_digit()).ok_or_else(error)?;
        let (count, unit) = trimmed.split_at(digits_end);
        let count: i64 = count.parse().map_err(|_| error())?;
        let unit_ms = match unit {
            "s" => SECOND,
            "m" | "min" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            "w" => WEEK,
            _ => return Err(error()),
        };
        count.checked_mul(unit_ms).and_then(Interval::from_millis).ok_or_else(error)
    }
}

/// Stored as its canonical spelling, `5m`.
impl crate::store::db::ToValue for Interval {
    fn to_value(&self) -> crate::store::db::Value<'_> {
        crate::store::db::Value::Text(std::borrow::Cow::Owned(self.to_string()))
    }
}

impl crate::store::db::Typed for Interval {
    const KIND: crate::store::db::Kind = crate::store::db::Kind::Text;
}

impl crate::store::db::FromCell for Interval {
    fn from_cell(cell: crate::store::db::Cell<'_>) -> Result<Interval, String> {
        cell.text()?.parse().map_err(|e: ParseIntervalError| e.to_string())
    }
}

/// Written and read as its spelling (`5m`) in the config, manifests and JSON.
impl serde::Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interval, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(text: &str) -> Interval {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_canonically() {
        assert_eq!(iv("1m").millis(), 60_000);
        assert_eq!(iv("5m").to_string(), "5m");
        assert_eq!(iv("60m").to_string(), "1h");
        assert_eq!(iv("24h").to_string(), "1d");
        assert_eq!(iv("7d").to_string(), "1w");
        assert_eq!(iv("90s").to_string(), "90s");
        assert_eq!(iv("15min").to_string(), "15m");
    }

    #[test]
    fn rejects_what_is_not_an_interval() {
        for bad in ["", "m", "5", "0m", "-1m", "1M", "1y", "1.5h", "99999999999999999999m"] {
            assert!(bad.parse::<Interval>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn buckets_align_to_epoch_and_weeks_to_monday() {
        // 2019-10-11 00:07:30 UTC falls in the 00:05 five-minute candle.
        assert_eq!(iv("5m").bucket(1_570_752_450_000), 1_570_752_300_000);
        // 2024-01-03 (a Wednesday) is in the week that starts Monday 2024-01-01.
        assert_eq!(iv("1w").bucket(1_704_240_000_000), 1_704_067_200_000);
        // Before the epoch, floor division keeps buckets aligned.
        assert_eq!(iv("1h").bucket(-1), -3_600_000);
    }

    #[test]
    fn bars_per_year_follows_the_interval() {
        assert!((iv("1d").bars_per_year() - 365.25).abs() < 1e-12);
        assert!((iv("1h").bars_per_year() - 8766.0).abs() < 1e-9);
    }
}
