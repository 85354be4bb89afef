//! Data quality of a batch of candles: what is wrong with it, a score in [0, 1], and
//! the clean, sorted, de-duplicated candles that may be stored.
//!
//! Score = row score x completeness factor, where
//! - row score = 1 - defects / rows read; defects are rejected rows (non-finite values,
//!   non-positive prices or negative volume, OHLC inconsistency, a time not aligned to the
//!   interval, rows that share a time but disagree), exact duplicates, rows out of time
//!   order, and half of each row in an over-long zero-volume run;
//! - completeness factor = 1 - GAP_WEIGHT x (share of the spanned bars that are missing).
//!
//! Missing bars weigh less than bad rows: thin markets have minutes without a trade,
//! which is an absence, not an error (XRP/ETH 1m misses 31% of its minutes).

use super::{Candle, Interval, SourceRow, time};

/// Weight of the share of missing bars in the score.
pub const GAP_WEIGHT: f64 = 0.25;
/// Weight of a row inside an over-long zero-volume run: suspicious, not wrong.
pub const ZERO_VOLUME_WEIGHT: f64 = 0.5;

/// How many rows had a defect, and the first line where it was seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub rows: usize,
    pub first_line: Option<u64>,
}

impl Count {
    fn add(&mut self, line: u64, rows: usize) {
        self.rows += rows;
        self.first_line = Some(self.first_line.map_or(line, |first| first.min(line)));
    }
}

/// Everything found in a batch, and its score.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QualityReport {
    pub rows_read: usize,
    /// The input was in descending time order as a whole (not a defect).
    pub reversed: bool,
    pub out_of_order: Count,
    pub duplicates: Count,
    pub conflicting: Count,
    pub non_finite: Count,
    pub non_positive: Count,
    pub ohlc_inconsistent: Count,
    pub misaligned: Count,
    pub zero_volume_runs: usize,
    pub zero_volume_run_rows: Count,
    pub gaps: usize,
    pub missing_bars: u64,
    /// Open time of the bar before the largest gap, and how many bars it misses.
    pub largest_gap: Option<(i64, u64)>,
    pub score: f64,
}

impl QualityReport {
    /// Rows left out of the clean candles because they are wrong.
    pub fn rejected(&self) -> usize {
        self.non_finite.rows
            + self.non_positive.rows
            + self.ohlc_inconsistent.rows
            + self.misaligned.rows
            + self.conflicting.rows
    }

    /// One line per problem found, e.g. "2 rows with NaN or infinite values (first at line 17)".
    pub fn reasons(&self, place: &str) -> Vec<String> {
        let mut reasons = Vec::new();
        let mut push = |count: &Count, what: &str| {
            if count.rows > 0 {
                let first = count.first_line.map_or(String::new(), |l| format!(" (first at {place} {l})"));
                reasons.push(format!("{} {what}{first}", count.rows));
            }
        };
        push(&self.non_finite, "rows with NaN or infinite values");
        push(&self.non_positive, "rows with a non-positive price or a negative volume");
        push(&self.ohlc_inconsistent, "rows with high < max(open, close) or low > min(open, close)");
        push(&self.misaligned, "rows whose time is not on the interval's boundary");
        push(&self.conflicting, "rows that share a time with a different candle");
        push(&self.duplicates, "duplicate rows");
        push(&self.out_of_order, "rows out of time order");
        if self.zero_volume_runs > 0 {
            let first = self.zero_volume_run_rows.first_line.unwrap_or(0);
            reasons.push(format!(
                "{} rows in {} runs of zero volume (first at {place} {first})",
                self.zero_volume_run_rows.rows, self.zero_volume_runs
            ));
        }
        if self.gaps > 0 {
            let largest = self.largest_gap.map_or(String::new(), |(after, bars)| {
                format!(", largest {bars} bars after {}", time::format_minute(after))
            });
            reasons.push(format!("{} gaps missing {} bars{largest}", self.gaps, self.missing_bars));
        }
        reasons
    }
}

/// The outcome of [`assess`]: candles fit to store, and the report.
#[derive(Debug, Clone)]
pub struct Assessed {
    pub candles: Vec<Candle>,
    pub report: QualityReport,
}

/// The batch's candles are not `interval` apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("most candles are {found} apart, not {declared}")]
pub struct IntervalMismatch {
    pub found: Interval,
    pub declared: Interval,
}

/// Check a batch read from one input and keep what may be stored.
pub fn assess(
    rows: Vec<SourceRow>,
    interval: Interval,
    max_zero_volume_run: u32,
) -> Result<Assessed, IntervalMismatch> {
    let mut report = QualityReport { rows_read: rows.len(), ..QualityReport::default() };
    check_order(&rows, &mut report);

    let mut valid: Vec<SourceRow> =
        rows.into_iter().filter(|row| is_valid(row, interval, &mut report)).collect();
    // Stable: rows sharing a time keep their file order.
    valid.sort_by_key(|row| row.candle.open_time);
    let candles = deduplicate(&valid, &mut report);

    if let Some(found) = modal_spacing(&candles).and_then(Interval::from_millis)
        && found != interval
    {
        return Err(IntervalMismatch { found, declared: interval });
    }
    count_zero_volume_runs(&candles, &valid, max_zero_volume_run, &mut report);
    count_gaps(&candles, interval, &mut report);
    report.score = score(&report, candles.len());
    Ok(Assessed { candles, report })
}

/// Count rows against the file's overall direction; a file in descending order is read
/// backwards without penalty.
fn check_order(rows: &[SourceRow], report: &mut QualityReport) {
    let (mut ascents, mut descents) = (Count::default(), Count::default());
    for pair in rows.windows(2) {
        let (before, after) = (pair[0].candle.open_time, pair[1].candle.open_time);
        if after > before {
            ascents.add(pair[1].line, 1);
        } else if after < before {
            descents.add(pair[1].line, 1);
        }
    }
    report.reversed = descents.rows > ascents.rows;
    report.out_of_order = if report.reversed { ascents } else { descents };
}

fn is_valid(row: &SourceRow, interval: Interval, report: &mut QualityReport) -> bool {
    let c = &row.candle;
    let values = c.values();
    let defect = if values.iter().any(|v| !v.is_finite()) {
        &mut report.non_finite
    } else if c.open <= 0.0 || c.high <= 0.0 || c.low <= 0.0 || c.close <= 0.0 || c.volume < 0.0 {
        &mut report.non_positive
    } else if c.high < c.open.max(c.close) || c.low > c.open.min(c.close) {
        &mut report.ohlc_inconsistent
    } else if interval.bucket(c.open_time) != c.open_time {
        &mut report.misaligned
    } else {
        return true;
    };
    defect.add(row.line, 1);
    false
}

/// Keep one candle per time: exact duplicates collapse; rows that disagree are all
/// rejected, since which one is true cannot be known.
fn deduplicate(sorted: &[SourceRow], report: &mut QualityReport) -> Vec<Candle> {
    let mut candles = Vec::with_capacity(sorted.len());
    for group in sorted.chunk_by(|a, b| a.candle.open_time == b.candle.open_time) {
        let first = &group[0];
        if group.iter().all(|row| row.candle.same_as(&first.candle)) {
            if group.len() > 1 {
                report.duplicates.add(group[1].line, group.len() - 1);
            }
            candles.push(first.candle);
        } else {
            report.conflicting.add(first.line.min(group[1].line), group.len());
        }
    }
    candles
}

/// The most common positive spacing between consecutive candles (smallest on ties).
fn modal_spacing(candles: &[Candle]) -> Option<i64> {
    let mut spacings: Vec<i64> = candles.windows(2).map(|p| p[1].open_time - p[0].open_time).collect();
    spacings.sort_unstable();
    spacings
        .chunk_by(|a, b| a == b)
        .max_by(|a, b| a.len().cmp(&b.len()).then(b[0].cmp(&a[0])))
        .map(|run| run[0])
}

fn count_zero_volume_runs(candles: &[Candle], rows: &[SourceRow], max_run: u32, report: &mut QualityReport) {
    let line_of =
        |time: i64| rows.binary_search_by_key(&time, |row| row.candle.open_time).map_or(0, |i| rows[i].line);
    for run in candles.chunk_by(|a, b| (a.volume == 0.0) == (b.volume == 0.0)) {
        if run[0].volume == 0.0 && run.len() > max_run as usize {
            report.zero_volume_runs += 1;
            report.zero_volume_run_rows.add(line_of(run[0].open_time), run.len());
        }
    }
}

fn count_gaps(candles: &[Candle], interval: Interval, report: &mut QualityReport) {
    for pair in candles.windows(2) {
        let bars = (pair[1].open_time - pair[0].open_time) / interval.millis();
        if bars > 1 {
            let missing = (bars - 1) as u64;
            report.gaps += 1;
            report.missing_bars += missing;
            if report.largest_gap.is_none_or(|(_, largest)| missing > largest) {
                report.largest_gap = Some((pair[0].open_time, missing));
            }
        }
    }
}

fn score(report: &QualityReport, kept: usize) -> f64 {
    if report.rows_read == 0 {
        return 0.0;
    }
    let defects = (report.rejected() + report.duplicates.rows + report.out_of_order.rows) as f64
        + ZERO_VOLUME_WEIGHT * report.zero_volume_run_rows.rows as f64;
    let row_score = (1.0 - defects / report.rows_read as f64).max(0.0);
    let spanned = kept as f64 + report.missing_bars as f64;
    let missing_share = if spanned > 0.0 { report.missing_bars as f64 / spanned } else { 0.0 };
    row_score * (1.0 - GAP_WEIGHT * missing_share)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn row(line: u64, minute: i64, ohlcv: [f64; 5]) -> SourceRow {
        let [open, high, low, close, volume] = ohlcv;
        SourceRow { line, candle: Candle { open_time: minute * MIN, open, high, low, close, volume } }
    }

    fn good(line: u64, minute: i64) -> SourceRow {
        row(line, minute, [10.0, 11.0, 9.0, 10.5, 3.0])
    }

    fn one_minute() -> Interval {
        "1m".parse().unwrap()
    }

    #[test]
    fn a_clean_batch_scores_one() {
        let rows: Vec<_> = (0..10).map(|i| good(i as u64 + 2, i)).collect();
        let out = assess(rows, one_minute(), 5).unwrap();
        assert_eq!(out.candles.len(), 10);
        assert_eq!(out.report.score, 1.0);
        assert!(out.report.reasons("line").is_empty());
    }

    #[test]
    fn each_defect_is_counted_with_its_first_line() {
        let rows = vec![
            good(1, 0),
            row(2, 1, [f64::NAN, 11.0, 9.0, 10.0, 1.0]),
            row(3, 2, [10.0, 11.0, 0.0, 10.0, 1.0]),
            row(4, 3, [10.0, 9.5, 9.0, 10.0, 1.0]), // high below open and close
            good(5, 4),
            good(6, 4), // exact duplicate
            good(7, 5),
            row(8, 5, [10.0, 12.0, 9.0, 11.0, 1.0]), // disagrees with line 7
            good(9, 7),
            good(10, 6), // out of order
        ];
        let out = assess(rows, one_minute(), 5).unwrap();
        let r = &out.report;
        assert_eq!(r.non_finite, Count { rows: 1, first_line: Some(2) });
        assert_eq!(r.non_positive, Count { rows: 1, first_line: Some(3) });
        assert_eq!(r.ohlc_inconsistent, Count { rows: 1, first_line: Some(4) });
        assert_eq!(r.duplicates, Count { rows: 1, first_line: Some(6) });
        assert_eq!(r.conflicting, Count { rows: 2, first_line: Some(7) });
        assert_eq!(r.out_of_order, Count { rows: 1, first_line: Some(10) });
        assert_eq!(r.rejected(), 5);
        let times: Vec<i64> = out.candles.iter().map(|c| c.open_time / MIN).collect();
        assert_eq!(times, [0, 4, 6, 7]);
        // Bars 1, 2, 3 and 5 are missing: two gaps.
        assert_eq!((r.gaps, r.missing_bars), (2, 4));
        // 7 defects in 10 rows; 4 of 8 spanned bars missing.
        let expected = (1.0 - 7.0 / 10.0) * (1.0 - GAP_WEIGHT * 4.0 / 8.0);
        assert!((r.score - expected).abs() < 1e-15, "{}", r.score);
    }

    #[test]
    fn descending_files_are_not_out_of_order() {
        let rows: Vec<_> = (0..5).rev().map(|i| good(5 - i as u64, i)).collect();
        let out = assess(rows, one_minute(), 5).unwrap();
        assert!(out.report.reversed);
        assert_eq!(out.report.out_of_order.rows, 0);
        assert_eq!(out.report.score, 1.0);
        assert!(out.candles.windows(2).all(|p| p[0].open_time < p[1].open_time));
    }

    #[test]
    fn zero_volume_runs_longer_than_the_limit_are_defects() {
        let mut rows: Vec<_> = (0..20).map(|i| good(i as u64 + 1, i)).collect();
        for row in &mut rows[5..12] {
            row.candle.volume = 0.0;
        }
        for row in &mut rows[15..17] {
            row.candle.volume = 0.0;
        }
        let out = assess(rows, one_minute(), 5).unwrap();
        assert_eq!(out.report.zero_volume_runs, 1);
        assert_eq!(out.report.zero_volume_run_rows, Count { rows: 7, first_line: Some(6) });
        assert!((out.report.score - (1.0 - 0.5 * 7.0 / 20.0)).abs() < 1e-15);
        assert_eq!(out.candles.len(), 20, "zero-volume candles are real and kept");
    }

    #[test]
    fn a_series_at_another_spacing_is_a_mismatch() {
        let rows: Vec<_> = (0..10).map(|i| good(i as u64 + 1, i * 5)).collect();
        let err = assess(rows, one_minute(), 5).unwrap_err();
        assert_eq!(err.found.to_string(), "5m");
        assert_eq!(err.to_string(), "most candles are 5m apart, not 1m");
    }

    #[test]
    fn misaligned_times_are_rejected() {
        let mut rows: Vec<_> = (0..4).map(|i| good(i as u64 + 1, i)).collect();
        rows[2].candle.open_time += 30_000;
        let out = assess(rows, one_minute(), 5).unwrap();
        assert_eq!(out.report.misaligned, Count { rows: 1, first_line: Some(3) });
    }

    #[test]
    fn an_empty_batch_scores_zero() {
        let out = assess(Vec::new(), one_minute(), 5).unwrap();
        assert_eq!(out.report.score, 0.0);
        assert!(out.candles.is_empty());
    }
}
