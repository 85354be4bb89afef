//! Cron expressions and time zones: the expression on the first line, the zone on the
//! second, a start instant (epoch seconds) on the third; parsed, then iterated.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use retrain::schedule::{Crontab, zone};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.splitn(3, '\n');
    let (expression, name, after) = (lines.next().unwrap_or(""), lines.next(), lines.next());
    let Ok(crontab) = expression.parse::<Crontab>() else { return };
    let tz = match name.map(zone) {
        Some(Ok(tz)) => tz,
        Some(Err(_)) => return,
        None => chrono_tz::UTC,
    };
    let seconds = after.and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or(1_700_000_000);
    let Some(after) = DateTime::<Utc>::from_timestamp(seconds, 0) else { return };
    let fires = crontab.next(tz, after, 8);
    assert!(fires.windows(2).all(|w| w[0] < w[1]), "{expression} in {tz}: fire times out of order");
    assert!(fires.iter().all(|t| *t > after), "{expression} in {tz}: a fire time not after the start");
    if let Some(first) = crontab.first_after(tz, after) {
        assert_eq!(Some(&first), fires.first(), "{expression} in {tz}: first_after disagrees with next");
    }
});
