//! crontab(5) schedules in a time zone.
//!
//! The five fields are parsed here, exactly as crontab(5) reads them: `*`, lists,
//! ranges, steps (`*/15`, `1-30/5`, and Vixie's `5/10` for "from 5 to the end"), month and
//! day names, and day-of-week 0 and 7 both Sunday. The `cron` crate then iterates, given
//! every field as an explicit list, because its conventions differ in three ways that this
//! module translates:
//! - it has a seconds field (always 0 here) and numbers days of the week 1-7 from Sunday;
//! - it requires the day of the month AND the day of the week to match, while cron fires
//!   on EITHER when both fields are restricted (neither starts with `*`), so such an
//!   expression becomes two schedules whose fire times are merged;
//! - it iterates in a `TimeZone`'s instants, while cron daemons iterate wall-clock times.
//!   Here the wall-clock times are iterated (as if in UTC) and then placed in the zone as
//!   Vixie cron and cronie do. A job at a fixed time (neither minute nor hour starts with
//!   `*`): a local time that does not exist (clocks go forward) fires once at the end of
//!   the gap; one that occurs twice (clocks go back) fires once, at its first occurrence.
//!   A wildcard job (`*` leads the minute or the hour) follows the wall clock: a time that
//!   does not exist does not fire, and one that occurs twice fires twice.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// A parsed five-field expression.
#[derive(Debug, Clone)]
pub struct Crontab {
    text: String,
    schedules: Vec<cron::Schedule>,
    /// `*` leads the minute or the hour field.
    wildcard: bool,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The first name's number (1 for months, 0 for days).
    first_name: u32,
}

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[], first_name: 0 },
    Field { name: "hour", min: 0, max: 23, names: &[], first_name: 0 },
    Field { name: "day of month", min: 1, max: 31, names: &[], first_name: 0 },
    Field { name: "month", min: 1, max: 12, names: &MONTHS, first_name: 1 },
    Field { name: "day of week", min: 0, max: 7, names: &DAYS, first_name: 0 },
];

impl Field {
    fn value(&self, text: &str) -> Result<u32, String> {
        let lower = text.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + self.first_name);
        }
        let value: u32 = text.parse().map_err(|_| {
            let names = if self.names.is_empty() { String::new() } else { " or a name".to_string() };
            format!("{}: {text:?} is not a number{names}", self.name)
        })?;
        if value < self.min || value > self.max {
            return Err(format!("{}: {value} is outside {}-{}", self.name, self.min, self.max));
        }
        Ok(value)
    }

    /// The values a field allows, and whether it starts with `*` (unrestricted, for the
    /// day-of-month / day-of-week rule).
    fn parse(&self, text: &str) -> Result<(BTreeSet<u32>, bool), String> {
        let mut values = BTreeSet::new();
        for item in text.split(',') {
            let (base, step) = match item.split_once('/') {
                Some((base, step)) => {
                    let step: u32 =
                        step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                            format!("{}: step {step:?} is not a positive number", self.name)
                        })?;
                    (base, Some(step))
                }
                None => (item, None),
            };
            let (from, to) = if base == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = base.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!("{}: range {base} runs backwards", self.name));
                }
                (a, b)
            } else {
                let a = self.value(base)?;
                // Vixie cron reads `5/10` as `5-max/10`.
                (a, if step.is_some() { self.max } else { a })
            };
            values.extend((from..=to).step_by(step.unwrap_or(1) as usize));
        }
        if self.name == "day of week" && values.remove(&7) {
            values.insert(0);
        }
        Ok((values, text.starts_with('*')))
    }
}

fn list(values: &BTreeSet<u32>, shift: u32) -> String {
    values.iter().map(|v| (v + shift).to_string()).collect::<Vec<_>>().join(",")
}

impl FromStr for Crontab {
    type Err = String;

    fn from_str(text: &str) -> Result<Crontab, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "{text:?} has {} fields; crontab(5) has five: minute hour day-of-month month day-of-week",
                parts.len()
            ));
        }
        let mut parsed = Vec::with_capacity(5);
        for (field, part) in FIELDS.iter().zip(&parts) {
            parsed.push(field.parse(part)?);
        }
        let [(minutes, _), (hours, _), (days, dom_star), (months, _), (weekdays, dow_star)]: [(
            BTreeSet<u32>,
            bool,
        ); 5] = parsed.try_into().map_err(|_| "five fields".to_string())?;
        let expression = |dom: &str, dow: &str| {
            format!("0 {} {} {dom} {} {dow}", list(&minutes, 0), list(&hours, 0), list(&months, 0))
        };
        // The cron crate numbers days of the week 1-7 from Sunday.
        let (dom, dow) = (list(&days, 0), list(&weekdays, 1));
        let expressions = if !dom_star && !dow_star {
            vec![expression(&dom, "*"), expression("*", &dow)]
        } else {
            vec![expression(&dom, &dow)]
        };
        let schedules = expressions
            .iter()
            .map(|e| cron::Schedule::from_str(e).map_err(|err| format!("{text:?}: {err}")))
            .collect::<Result<_, _>>()?;
        let wildcard = parts[0].starts_with('*') || parts[1].starts_with('*');
        Ok(Crontab { text: text.to_string(), schedules, wildcard })
    }
}

/// An IANA time zone name.
pub fn zone(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone (e.g. Europe/London, UTC)"))
}

impl Crontab {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first `n` fire times strictly after `after`, in `tz` (fewer if it never fires
    /// again, or beyond chrono's range).
    pub fn next(&self, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        if n == 0 {
            return Vec::new();
        }
        let mut found = std::collections::BTreeSet::new();
        // Start a little early: a gap or a repeat can move a wall-clock time across `after`.
        let Some(start) = after.with_timezone(&tz).naive_local().checked_sub_signed(Duration::hours(3))
        else {
            return Vec::new();
        };
        let start = Utc.from_utc_datetime(&start);
        let mut iterators: Vec<_> =
            self.schedules.iter().map(|s| s.after(&start).map(|t| t.naive_utc()).peekable()).collect();
        // The earliest next wall-clock time of the schedules (equal ones fire once).
        while let Some(local) = iterators.iter_mut().filter_map(|it| it.peek().copied()).min() {
            // Wall-clock times come in order, and no placement moves one by more than a
            // few hours: once `n` are found and this one is well past the nth, stop.
            if found.len() >= n
                && found.iter().nth(n - 1).is_some_and(|nth: &DateTime<Utc>| {
                    local.checked_sub_signed(Duration::hours(26)).is_some_and(|l| l > nth.naive_utc())
                })
            {
                break;
            }
            for it in iterators.iter_mut() {
                if it.peek() == Some(&local) {
                    it.next();
                }
            }
            for instant in self.place(tz, local) {
                if instant > after {
                    found.insert(instant);
                }
            }
        }
        found.into_iter().take(n).collect()
    }

    /// The instants a wall-clock time fires at (see the module's note on daylight saving).
    fn place(&self, tz: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
            LocalResult::Ambiguous(first, second) if self.wildcard => {
                vec![first.with_timezone(&Utc), second.with_timezone(&Utc)]
            }
            LocalResult::Ambiguous(first, _) => vec![first.with_timezone(&Utc)],
            LocalResult::None if self.wildcard => Vec::new(),
            LocalResult::None => gap_end(tz, local).into_iter().collect(),
        }
    }

    /// The first fire time strictly after `after`.
    pub fn first_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next(tz, after, 1).into_iter().next()
    }
}

/// The first valid minute after a gap in the wall clock.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    (1..=24 * 60).find_map(|m| match tz.from_local_datetime(&(local + Duration::minutes(m))) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap().and_utc()
    }

    fn fires(expr: &str, tz: &str, from: &str, n: usize) -> Vec<String> {
        let c: Crontab = expr.parse().unwrap();
        let tz = zone(tz).unwrap();
        c.next(tz, utc(from), n)
            .iter()
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %a").to_string())
            .collect()
    }

    #[test]
    fn lists_ranges_steps_and_names() {
        assert_eq!(
            fires("*/20 9-10 * * *", "UTC", "2024-01-01 00:00", 7),
            [
                "2024-01-01 09:00 Mon",
                "2024-01-01 09:20 Mon",
                "2024-01-01 09:40 Mon",
                "2024-01-01 10:00 Mon",
                "2024-01-01 10:20 Mon",
                "2024-01-01 10:40 Mon",
                "2024-01-02 09:00 Tue"
            ]
        );
        assert_eq!(
            fires("5,35 2 * jan,Mar mon-wed", "UTC", "2024-01-29 00:00", 5),
            [
                "2024-01-29 02:05 Mon",
                "2024-01-29 02:35 Mon",
                "2024-01-30 02:05 Tue",
                "2024-01-30 02:35 Tue",
                "2024-01-31 02:05 Wed"
            ]
        );
        // Vixie's "10/20" is 10-59/20; "1-10/4" is 1,5,9.
        assert_eq!(fires("10/20 0 1 1 *", "UTC", "2023-12-31 00:00", 3).len(), 3);
        assert_eq!(
            fires("0 1-10/4 1 1 *", "UTC", "2023-12-31 00:00", 3),
            ["2024-01-01 01:00 Mon", "2024-01-01 05:00 Mon", "2024-01-01 09:00 Mon"]
        );
        // After the last fire of the year comes the next year's first.
        assert_eq!(fires("0 0 1 jan *", "UTC", "2024-01-01 00:00", 1), ["2025-01-01 00:00 Wed"]);
        assert!(fires("* * * * *", "UTC", "2024-01-01 00:00", 0).is_empty());
        // February 30th never comes.
        assert!(fires("0 0 30 2 *", "UTC", "2024-01-01 00:00", 1).is_empty());
    }

    #[test]
    fn sunday_is_0_and_7_and_weekday_ranges_may_end_on_7() {
        let sundays = ["2024-01-07 02:00 Sun", "2024-01-14 02:00 Sun"];
        assert_eq!(fires("0 2 * * 0", "UTC", "2024-01-01 00:00", 2), sundays);
        assert_eq!(fires("0 2 * * 7", "UTC", "2024-01-01 00:00", 2), sundays);
        assert_eq!(fires("0 2 * * sun", "UTC", "2024-01-01 00:00", 2), sundays);
        assert_eq!(
            fires("0 2 * * 5-7", "UTC", "2024-01-01 00:00", 3),
            ["2024-01-05 02:00 Fri", "2024-01-06 02:00 Sat", "2024-01-07 02:00 Sun"]
        );
    }

    #[test]
    fn both_day_fields_restricted_fire_on_either() {
        // The 13th of any month, and every Friday: crontab(5)'s "either matches".
        assert_eq!(
            fires("0 0 13 * 5", "UTC", "2024-09-01 00:00", 5),
            [
                "2024-09-06 00:00 Fri",
                "2024-09-13 00:00 Fri",
                "2024-09-20 00:00 Fri",
                "2024-09-27 00:00 Fri",
                "2024-10-04 00:00 Fri"
            ]
        );
        assert_eq!(
            fires("0 0 13 * 5", "UTC", "2024-10-05 00:00", 2),
            ["2024-10-11 00:00 Fri", "2024-10-13 00:00 Sun"]
        );
        // A day-of-month field starting with * is unrestricted: both must match.
        assert_eq!(
            fires("0 0 */2 * 1", "UTC", "2023-12-31 00:00", 2),
            ["2024-01-01 00:00 Mon", "2024-01-15 00:00 Mon"]
        );
    }

    #[test]
    fn time_zones_and_daylight_saving() {
        // 02:30 does not exist in London on 2024-03-31: it fires once when the gap ends.
        let c: Crontab = "30 1 * * *".parse().unwrap();
        let london = zone("Europe/London").unwrap();
        let times = c.next(london, utc("2024-03-29 12:00"), 4);
        let utc_times: Vec<String> = times.iter().map(|t| t.format("%m-%d %H:%M").to_string()).collect();
        assert_eq!(utc_times, ["03-30 01:30", "03-31 01:00", "04-01 00:30", "04-02 00:30"]);
        // 01:30 happens twice on 2024-10-27: it fires once, at the first (BST, 00:30 UTC).
        let times = c.next(london, utc("2024-10-26 12:00"), 3);
        let utc_times: Vec<String> = times.iter().map(|t| t.format("%m-%d %H:%M").to_string()).collect();
        assert_eq!(utc_times, ["10-27 00:30", "10-28 01:30", "10-29 01:30"]);
        // A fixed hour with minutes 0 and 30 across the repeated hour: each wall-clock
        // time once, at its first occurrence.
        let fixed: Crontab = "0,30 1 27 10 *".parse().unwrap();
        assert_eq!(
            fixed.next(london, utc("2024-10-26 12:00"), 3),
            [utc("2024-10-27 00:00"), utc("2024-10-27 00:30"), utc("2025-10-27 01:00")]
        );
        // Wildcard jobs follow the wall clock: hourly fires in both 01:00s and skips the gap.
        let hourly: Crontab = "0 * * * *".parse().unwrap();
        assert_eq!(
            hourly.next(london, utc("2024-10-26 23:30"), 4),
            [
                utc("2024-10-27 00:00"),
                utc("2024-10-27 01:00"),
                utc("2024-10-27 02:00"),
                utc("2024-10-27 03:00")
            ]
        );
        let half_past: Crontab = "30 * * * *".parse().unwrap();
        assert_eq!(
            half_past.next(london, utc("2024-03-30 23:45"), 3),
            [utc("2024-03-31 00:30"), utc("2024-03-31 01:30"), utc("2024-03-31 02:30")]
        );
        // New York is UTC-5 in winter.
        assert_eq!(fires("0 9 * * 1-5", "America/New_York", "2024-01-05 15:00", 1), ["2024-01-08 09:00 Mon"]);
        let ny = zone("America/New_York").unwrap();
        let c: Crontab = "0 9 * * 1-5".parse().unwrap();
        assert_eq!(c.first_after(ny, utc("2024-01-05 15:00")), Some(utc("2024-01-08 14:00")));
    }

    #[test]
    fn fire_times_agree_with_croniter() {
        // scripts/oracles/schedule.py: 14 expressions x 4 zones x 2 starts, 12 fires each.
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/oracles/schedule.json")).unwrap();
        let cases = fixture["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 112);
        for case in cases {
            let c: Crontab = case["expr"].as_str().unwrap().parse().unwrap();
            let tz = zone(case["zone"].as_str().unwrap()).unwrap();
            let after =
                chrono::DateTime::parse_from_rfc3339(&case["after"].as_str().unwrap().replace('Z', ":00Z"))
                    .unwrap()
                    .with_timezone(&Utc);
            let ours: Vec<String> =
                c.next(tz, after, 12).iter().map(|t| t.format("%Y-%m-%dT%H:%MZ").to_string()).collect();
            let theirs: Vec<&str> =
                case["fires"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
            assert_eq!(ours, theirs, "{case}");
        }
    }

    #[test]
    fn bad_expressions_name_the_field_and_value() {
        let err = |e: &str| e.parse::<Crontab>().unwrap_err();
        assert!(err("0 2 * *").contains("has 4 fields"));
        assert!(err("60 2 * * *").contains("minute: 60 is outside 0-59"));
        assert!(err("0 24 * * *").contains("hour: 24 is outside 0-23"));
        assert!(err("0 2 0 * *").contains("day of month: 0 is outside 1-31"));
        assert!(err("0 2 * foo *").contains("month: \"foo\" is not a number or a name"));
        assert!(err("0 2 * * 8").contains("day of week: 8 is outside 0-7"));
        assert!(err("*/0 2 * * *").contains("step \"0\""));
        assert!(err("0 5-2 * * *").contains("range 5-2 runs backwards"));
        assert!(zone("Mars/Olympus").unwrap_err().contains("not an IANA time zone"));
    }
}
