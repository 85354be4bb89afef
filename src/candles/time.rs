//! Timestamps: epoch numbers in s, ms, us or ns told apart by magnitude, text in the
//! common ISO 8601 spellings or a user's strftime pattern, and how we print them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Epoch values below this are seconds (1e11 s is the year 5138).
const MAX_SECONDS: i64 = 100_000_000_000;
/// ... below this milliseconds (1e14 ms is the year 5138 too), then micro-, then nanoseconds.
const MAX_MILLIS: i64 = 100_000_000_000_000;
const MAX_MICROS: i64 = 100_000_000_000_000_000;

/// Convert an epoch number in s, ms, us or ns, detected by magnitude, to milliseconds.
pub fn epoch_to_millis(value: i64) -> i64 {
    match value.unsigned_abs() {
        v if v < MAX_SECONDS as u64 => value * 1_000,
        v if v < MAX_MILLIS as u64 => value,
        v if v < MAX_MICROS as u64 => value.div_euclid(1_000),
        _ => value.div_euclid(1_000_000),
    }
}

/// Like [`epoch_to_millis`] for a fractional epoch number (e.g. `1637971200.5` seconds).
pub fn epoch_f64_to_millis(value: f64) -> Option<i64> {
    if !value.is_finite() || value.abs() >= 9.0e18 {
        return None;
    }
    let magnitude = value.abs();
    let millis = if magnitude < MAX_SECONDS as f64 {
        value * 1_000.0
    } else if magnitude < MAX_MILLIS as f64 {
        value
    } else if magnitude < MAX_MICROS as f64 {
        value / 1_000.0
    } else {
        value / 1_000_000.0
    };
    Some(millis.floor() as i64)
}

/// Naive (UTC) spellings tried in order; the last one that matched is tried first.
const NAIVE_FORMATS: [&str; 8] = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y%m%dT%H%M%S",
];

/// Reads text timestamps; remembers which spelling matched to try it first next time.
#[derive(Debug, Default)]
pub struct TimeParser {
    custom: Option<String>,
    last_naive: usize,
}

impl TimeParser {
    /// A parser that only accepts `pattern` (strftime), or the built-in spellings if `None`.
    pub fn new(pattern: Option<&str>) -> TimeParser {
        TimeParser { custom: pattern.map(str::to_string), last_naive: 0 }
    }

    /// Whether a `--time-format` pattern was given.
    pub fn has_pattern(&self) -> bool {
        self.custom.is_some()
    }

    /// Epoch milliseconds of `text`, or why it is not a time.
    pub fn parse(&mut self, text: &str) -> Result<i64, String> {
        let text = text.trim();
        if let Some(pattern) = &self.custom {
            return parse_with_pattern(text, pattern)
                .ok_or_else(|| format!("{text:?} does not match --time-format {pattern:?}"));
        }
        if let Ok(number) = text.parse::<i64>() {
            return Ok(epoch_to_millis(number));
        }
        if let Some(millis) = text.parse::<f64>().ok().and_then(epoch_f64_to_millis) {
            return Ok(millis);
        }
        let naive_text = text.strip_suffix(['Z', 'z']).unwrap_or(text);
        for offset in 0..NAIVE_FORMATS.len() {
            let index = (self.last_naive + offset) % NAIVE_FORMATS.len();
            if let Ok(time) = NaiveDateTime::parse_from_str(naive_text, NAIVE_FORMATS[index]) {
                self.last_naive = index;
                return Ok(time.and_utc().timestamp_millis());
            }
        }
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(time.timestamp_millis());
        }
        for pattern in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
            if let Ok(time) = DateTime::parse_from_str(text, pattern) {
                return Ok(time.timestamp_millis());
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(date.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis()));
        }
        Err(format!(
            "cannot read {text:?} as a time: expected epoch s/ms/us/ns or ISO 8601 such as \
             2021-12-31 23:01:00 (use --time-format for other spellings)"
        ))
    }
}

/// A time given on the command line (UTC; ISO 8601 or epoch s/ms/us/ns), as epoch ms.
pub fn parse_time(text: &str) -> Result<i64, String> {
    TimeParser::new(None).parse(text)
}

/// Parse with a strftime pattern; with an offset (%z) if the pattern has one, else UTC;
/// a pattern without a time of day gives midnight.
fn parse_with_pattern(text: &str, pattern: &str) -> Option<i64> {
    if let Ok(time) = DateTime::parse_from_str(text, pattern) {
        return Some(time.timestamp_millis());
    }
    if let Ok(time) = NaiveDateTime::parse_from_str(text, pattern) {
        return Some(time.and_utc().timestamp_millis());
    }
    let date = NaiveDate::parse_from_str(text, pattern).ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// `2021-12-31 23:01` (UTC), or the raw number if it is out of chrono's range.
pub fn format_minute(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// `2021-12-31 23:01:07` (UTC), for records where seconds matter.
pub fn format_second(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `2021-12-31T23:01:00Z`, RFC 3339 in UTC with seconds, for JSON.
pub fn format_rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// Serde: epoch milliseconds written as RFC 3339, for reports.
pub fn serialize_rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*ms))
}

/// Serde: like [`serialize_rfc3339`], `null` for `None`.
pub fn serialize_rfc3339_opt<S: serde::Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => serialize_rfc3339(ms, s),
        None => s.serialize_none(),
    }
}

/// The wall clock in epoch milliseconds. Commands read it once, where they start, and
/// pass the instant down: nothing below them asks the clock.
pub fn wall_millis() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_637_971_200_000; // 2021-11-27 00:00:00 UTC

    #[test]
    fn epoch_units_are_told_apart_by_magnitude() {
        assert_eq!(epoch_to_millis(1_637_971_200), T);
        assert_eq!(epoch_to_millis(T), T);
        assert_eq!(epoch_to_millis(T * 1_000), T);
        assert_eq!(epoch_to_millis(T * 1_000_000), T);
        assert_eq!(epoch_to_millis(T * 1_000 + 999), T);
        assert_eq!(epoch_f64_to_millis(1_637_971_200.5), Some(T + 500));
        assert_eq!(epoch_f64_to_millis(f64::NAN), None);
    }

    #[test]
    fn iso_spellings_read_as_utc() {
        let mut p = TimeParser::new(None);
        for text in [
            "2021-11-27 00:00:00",
            "2021-11-27 00:00:00.000000",
            "2021-11-27T00:00:00",
            "2021-11-27T00:00:00Z",
            "2021-11-27T00:00:00.000Z",
            "2021-11-27 00:00",
            "2021-11-27T01:00:00+01:00",
            "2021-11-27 00:00:00+00:00",
            "2021-11-27",
            "1637971200",
            "1637971200000",
            "1637971200000000",
        ] {
            assert_eq!(p.parse(text), Ok(T), "{text}");
        }
        assert!(p.parse("yesterday").unwrap_err().contains("--time-format"));
    }

    #[test]
    fn a_custom_pattern_reads_day_first_dates() {
        let mut p = TimeParser::new(Some("%d/%m/%Y %H:%M"));
        assert_eq!(p.parse("27/11/2021 00:00"), Ok(T));
        assert!(p.parse("2021-11-27 00:00").is_err());
        let mut dates = TimeParser::new(Some("%d.%m.%Y"));
        assert_eq!(dates.parse("27.11.2021"), Ok(T));
    }

    #[test]
    fn prints_utc() {
        assert_eq!(format_minute(T + 60_000), "2021-11-27 00:01");
        assert_eq!(format_rfc3339(T), "2021-11-27T00:00:00Z");
    }
}
