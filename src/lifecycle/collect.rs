//! Collecting: candles from a file or an exchange checked, scored and upserted in one
//! transaction only if the batch is good enough; then the signals whose horizon passed are
//! resolved, and fresh promotions watched. Trade outcomes from a CSV.

use std::path::Path;

use super::live::{self, SignalsResolved};
use crate::candles::quality::{self, QualityReport};
use crate::candles::resample::{candles_from_ticks, resample};
use crate::candles::time::format_minute;
use crate::candles::{Interval, SourceRow};
use crate::config::Resolved;
use crate::error::Failure;
use crate::ingest::{self, Format, Rows, binance};
use crate::output::byte_progress;
use crate::store::{CollectRecord, Store, UpsertCounts};
use crate::symbol::Symbol;

const DAY_MS: i64 = 86_400_000;

/// Where candles come from.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    File {
        path: &'a Path,
        format: Format,
        time_format: Option<&'a str>,
    },
    /// Binance's klines after the last stored candle (or `days` back, default
    /// `data.source.days`), from `base_url` (default `data.source.base_url`).
    Binance {
        days: Option<u32>,
        base_url: Option<&'a str>,
    },
}

/// What to collect.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub symbol: &'a Symbol,
    /// The interval the input's candles have.
    pub interval: Interval,
    pub input: Input<'a>,
    /// Aggregate into this coarser interval before storing.
    pub resample: Option<Interval>,
}

/// What a collect did.
pub struct Collected {
    /// The one-line account of the batch.
    pub summary: String,
    /// What the quality check found worth saying, one line each.
    pub notes: Vec<String>,
    pub resolved: SignalsResolved,
    /// Automatic rollbacks of fresh promotions, one line each.
    pub rolled_back: Vec<String>,
}

/// Collect at `now`; then resolve the series' signals and watch fresh promotions, rolling
/// back as `actor`. `log` hears what happens on the way (a fetch's retries).
pub fn collect(
    resolved: &Resolved,
    request: &Request,
    actor: &str,
    now: i64,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<Collected> {
    let (symbol, interval) = (request.symbol, request.interval);
    if let Some(to) = request.resample {
        // Refuse a bad pair before reading a large file.
        resample(&[], interval, to).map_err(Failure::Usage)?;
    }
    let batch = match request.input {
        Input::File { path, format, time_format } => {
            let max_unpacked = resolved.settings.data.max_unpacked_mb << 20;
            read_file(path, format, time_format, max_unpacked, interval)?
        }
        Input::Binance { days, base_url } => {
            match fetch_binance(resolved, symbol, interval, days, base_url, now, log)? {
                Fetched::Batch(batch) => batch,
                Fetched::UpToDate(summary) => {
                    return Ok(Collected {
                        summary,
                        notes: Vec::new(),
                        resolved: SignalsResolved::default(),
                        rolled_back: Vec::new(),
                    });
                }
            }
        }
    };
    if let Some(note) = &batch.note {
        log(note);
    }
    let threshold = resolved.settings.data.quality_threshold;
    let assessed = quality::assess(batch.rows, interval, resolved.settings.data.max_zero_volume_run)
        .map_err(|mismatch| {
            Failure::Input(format!(
                "{}: {mismatch} (--interval {interval}); give the interval the candles have, and \
                 --resample to store a coarser one",
                batch.label
            ))
        })?;
    let report = assessed.report;
    let reasons = report.reasons(batch.place);
    if report.score < threshold || assessed.candles.is_empty() {
        let why = if reasons.is_empty() { String::new() } else { format!(": {}", reasons.join("; ")) };
        return Err(Failure::Refused(format!(
            "{symbol} {interval} from {} refused: quality {:.3} is below data.quality_threshold {threshold}{why}; \
             nothing was written",
            batch.label, report.score
        ))
        .into());
    }

    let (stored_interval, candles) = match request.resample {
        Some(to) => (to, resample(&assessed.candles, interval, to).map_err(Failure::Usage)?),
        None => (interval, assessed.candles),
    };
    let record = CollectRecord {
        source: batch.source.clone(),
        finished_at: now,
        rows_read: report.rows_read,
        rejected: report.rejected(),
        duplicates: report.duplicates.rows,
        gaps: report.gaps,
        missing_bars: report.missing_bars,
        quality_score: report.score,
        reasons: reasons.clone(),
    };
    let mut store = Store::open(&resolved.database())?;
    let counts = store.upsert_candles(symbol, stored_interval, &candles, &record)?;
    let range = match (candles.first(), candles.last()) {
        (Some(first), Some(last)) => {
            format!(", {} .. {}", format_minute(first.open_time), format_minute(last.open_time))
        }
        _ => String::new(),
    };
    let resampled = match request.resample {
        Some(to) => format!(" (resampled from {interval} to {} {to} candles)", candles.len()),
        None => String::new(),
    };
    let summary = summary(symbol, stored_interval, &batch.label, &report, counts, &range, &resampled);
    let mut notes = Vec::new();
    if report.reversed {
        notes.push("the input was in descending time order".to_string());
    }
    notes.extend(reasons);
    let signals = live::resolve_signals(&mut store, symbol, stored_interval, now)?;
    let rolled_back =
        if signals.signals > 0 { live::watch(resolved, &mut store, symbol, actor, now)? } else { Vec::new() };
    Ok(Collected { summary, notes, resolved: signals, rolled_back })
}

fn summary(
    symbol: &Symbol,
    interval: Interval,
    label: &str,
    report: &QualityReport,
    counts: UpsertCounts,
    range: &str,
    resampled: &str,
) -> String {
    let unchanged_note = if counts.inserted + counts.updated == 0 { "; nothing changed" } else { "" };
    format!(
        "collected {symbol} {interval} from {label}: {} rows read, {} inserted, {} updated, {} unchanged, \
         {} rejected, {} duplicates, {} gaps, quality {:.3}{range}{resampled}{unchanged_note}",
        report.rows_read,
        counts.inserted,
        counts.updated,
        counts.unchanged,
        report.rejected(),
        report.duplicates.rows,
        report.gaps,
        report.score,
    )
}

/// Rows to check, with what messages call them and what the collect log records.
struct Batch {
    rows: Vec<SourceRow>,
    place: &'static str,
    label: String,
    source: String,
    /// Said before the summary, e.g. how market trades became candles.
    note: Option<String>,
}

fn read_file(
    path: &Path,
    format: Format,
    time_format: Option<&str>,
    max_unpacked: u64,
    interval: Interval,
) -> anyhow::Result<Batch> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let progress = byte_progress(size, "reading");
    let loaded = ingest::read_file(path, format, time_format, max_unpacked, &progress)?;
    let (rows, note) = match loaded.rows {
        Rows::Candles(rows) => (rows, None),
        Rows::Ticks(ticks) => {
            let count = ticks.len();
            let rows = candles_from_ticks(ticks, interval);
            let note = format!("{count} trades bucketed into {} {interval} candles", rows.len());
            (rows, Some(note))
        }
    };
    let label = path.display().to_string();
    if rows.is_empty() {
        return Err(Failure::Input(format!("{label}: no candles in the file")).into());
    }
    Ok(Batch { rows, place: loaded.place, source: label.clone(), label, note })
}

enum Fetched {
    Batch(Batch),
    /// Nothing new: the line that says so.
    UpToDate(String),
}

/// Klines after the last stored candle (or `days` back).
fn fetch_binance(
    resolved: &Resolved,
    symbol: &Symbol,
    interval: Interval,
    days: Option<u32>,
    base_url: Option<&str>,
    now: i64,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<Fetched> {
    let settings = &resolved.settings.data.source;
    let base_url = base_url.unwrap_or(&settings.base_url);
    let days = i64::from(days.unwrap_or(settings.days));
    // Only read the store if there is one: a failed first fetch must leave no trace.
    let resume = match Store::open_existing(&resolved.database())? {
        Some(store) => store.last_open_time(symbol, interval)?,
        None => None,
    };
    let start = match resume {
        Some(last) => last + interval.millis(),
        None => interval.bucket(now - days * DAY_MS),
    };
    let client = binance::Client::new(settings, base_url);
    let request = binance::Request { symbol, interval, start, now };
    let mut fetch_log = |line: &str| log(&format!("binance {symbol} {interval}: {line}"));
    let rows = client.klines(&request, &mut fetch_log)?;
    if rows.is_empty() {
        let since = resume.map_or(String::new(), |last| format!(" after {}", format_minute(last)));
        return Ok(Fetched::UpToDate(format!(
            "collected {symbol} {interval} from binance: up to date, no closed klines{since}"
        )));
    }
    let source = format!("binance {base_url}");
    Ok(Fetched::Batch(Batch { rows, place: "kline", label: source.clone(), source, note: None }))
}

/// Import trade outcomes of the live trading system from a CSV; returns the line that
/// says what changed.
pub fn collect_trades(resolved: &Resolved, path: &Path) -> anyhow::Result<String> {
    let trades = ingest::trades::read(path)?;
    let mut store = Store::open(&resolved.database())?;
    let counts = store.upsert_trade_outcomes(&trades)?;
    let unchanged_note = if counts.inserted + counts.updated == 0 { "; nothing changed" } else { "" };
    Ok(format!(
        "collected trade outcomes from {}: {} read, {} inserted, {} updated, {} unchanged{unchanged_note}",
        path.display(),
        trades.len(),
        counts.inserted,
        counts.updated,
        counts.unchanged
    ))
}

/// `resolved N signal(s) of SYMBOL INTERVAL whose horizon passed: W won`.
pub fn resolved_line(symbol: &Symbol, interval: Interval, r: SignalsResolved) -> String {
    format!("resolved {} signal(s) of {symbol} {interval} whose horizon passed: {} won", r.signals, r.wins)
}

/// Whether a series is stale at `now`: its newest candle (if any) is older than the last
/// bar that has closed, so its models cannot see the market as it is.
pub fn is_stale(last_open_time: Option<i64>, interval: Interval, now: i64) -> bool {
    let last_closed = interval.bucket(now) - interval.millis();
    last_open_time.is_none_or(|last| last < last_closed)
}

#[cfg(test)]
mod tests {
    use super::is_stale;

    #[test]
    fn a_series_is_stale_once_a_closed_bar_is_missing() {
        let five: crate::candles::Interval = "5m".parse().unwrap();
        let minute = 60_000;
        // At 10:07 the last closed bar opened at 10:00 (10:05 is still forming).
        let now = 10 * 60 * minute + 7 * minute;
        let ten = 10 * 60 * minute;
        assert!(!is_stale(Some(ten), five, now));
        assert!(!is_stale(Some(ten + 5 * minute), five, now), "the forming bar is fresh too");
        assert!(is_stale(Some(ten - 5 * minute), five, now));
        assert!(is_stale(None, five, now));
        // At exactly 10:10 the 10:05 bar has closed.
        assert!(is_stale(Some(ten), five, ten + 10 * minute));
    }
}
