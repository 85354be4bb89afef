//! `retrain collect`: candles from a file or an exchange, or trade outcomes from a CSV;
//! checked, scored, and upserted in one transaction only if the batch is good enough.

use std::path::Path;

use crate::candles::quality::{self, QualityReport};
use crate::candles::resample::{candles_from_ticks, resample};
use crate::candles::time::{format_minute, now_millis};
use crate::candles::{Interval, SourceRow};
use crate::cli::{CollectArgs, Source};
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::ingest::{self, Rows, binance};
use crate::output::{byte_progress, event};
use crate::store::{CollectRecord, Store};

const DAY_MS: i64 = 86_400_000;

pub fn run(resolved: &Resolved, args: &CollectArgs) -> anyhow::Result<u8> {
    collect(resolved, args, &super::actor())
}

/// Collect, then resolve signals and watch fresh promotions, rolling back as `actor`.
pub(super) fn collect(resolved: &Resolved, args: &CollectArgs, actor: &str) -> anyhow::Result<u8> {
    if let Some(path) = &args.trades {
        return collect_trades(resolved, path);
    }
    let symbol = checked_symbol(args.symbol.as_deref().unwrap_or_default())?;
    let interval = match &args.interval {
        Some(text) => parse_interval("--interval", text)?,
        None => resolved.default_interval(),
    };
    let target = args.resample.as_deref().map(|text| parse_interval("--resample", text)).transpose()?;
    if let Some(to) = target {
        // Refuse a bad pair before reading a large file.
        resample(&[], interval, to).map_err(Failure::Usage)?;
    }

    let batch = match (&args.file, args.source) {
        (Some(path), _) => read_file(path, interval, args)?,
        (None, Some(Source::Binance)) => match fetch_binance(resolved, args, symbol, interval)? {
            Some(batch) => batch,
            None => return Ok(code::OK),
        },
        (None, None) => {
            return Err(Failure::Usage("collect needs --file, --source or --trades".into()).into());
        }
    };

    if let Some(note) = &batch.note {
        event(note);
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

    let (stored_interval, candles) = match target {
        Some(to) => (to, resample(&assessed.candles, interval, to).map_err(Failure::Usage)?),
        None => (interval, assessed.candles),
    };
    let record = CollectRecord {
        source: batch.source.clone(),
        finished_at: now_millis(),
        rows_read: report.rows_read,
        rejected: report.rejected(),
        duplicates: report.duplicates.rows,
        gaps: report.gaps,
        missing_bars: report.missing_bars,
        quality_score: report.score,
        reasons: reasons.clone(),
    };
    let mut store = Store::open(&resolved.database_path())?;
    let counts = store.upsert_candles(symbol, stored_interval, &candles, &record)?;

    let range = match (candles.first(), candles.last()) {
        (Some(first), Some(last)) => {
            format!(", {} .. {}", format_minute(first.open_time), format_minute(last.open_time))
        }
        _ => String::new(),
    };
    let resampled = match target {
        Some(to) => format!(" (resampled from {interval} to {} {to} candles)", candles.len()),
        None => String::new(),
    };
    let unchanged_note = if counts.inserted + counts.updated == 0 { "; nothing changed" } else { "" };
    event(&format!(
        "collected {symbol} {stored_interval} from {}: {} rows read, {} inserted, {} updated, {} unchanged, \
         {} rejected, {} duplicates, {} gaps, quality {:.3}{range}{resampled}{unchanged_note}",
        batch.label,
        report.rows_read,
        counts.inserted,
        counts.updated,
        counts.unchanged,
        report.rejected(),
        report.duplicates.rows,
        report.gaps,
        report.score,
    ));
    print_reasons(&report, &reasons);
    let (resolved_signals, wins) = super::live::resolve_signals(&mut store, symbol, stored_interval)?;
    if resolved_signals > 0 {
        event(&format!(
            "resolved {resolved_signals} signal(s) of {symbol} {stored_interval} whose horizon passed: {wins} won"
        ));
        for done in super::live::watch(resolved, &mut store, symbol, actor)? {
            event(&done);
        }
    }
    Ok(code::OK)
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

fn read_file(path: &Path, interval: Interval, args: &CollectArgs) -> anyhow::Result<Batch> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let progress = byte_progress(size, "reading");
    let loaded = ingest::read_file(path, args.format, args.time_format.as_deref(), &progress)?;
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

/// Klines after the last stored candle (or `days` back); `None` when there is nothing new.
fn fetch_binance(
    resolved: &Resolved,
    args: &CollectArgs,
    symbol: &str,
    interval: Interval,
) -> anyhow::Result<Option<Batch>> {
    let settings = &resolved.settings.data.source;
    let base_url = args.base_url.as_deref().unwrap_or(&settings.base_url);
    let days = i64::from(args.days.unwrap_or(settings.days));
    let now = now_millis();
    // Only read the store if there is one: a failed first fetch must leave no trace.
    let database = resolved.database_path();
    let resume =
        if database.exists() { Store::open(&database)?.last_open_time(symbol, interval)? } else { None };
    let start = match resume {
        Some(last) => last + interval.millis(),
        None => interval.bucket(now - days * DAY_MS),
    };
    let client = binance::Client::new(settings, base_url);
    let request = binance::Request { symbol, interval, start, now };
    let mut log = |line: &str| event(&format!("binance {symbol} {interval}: {line}"));
    let rows = client.klines(&request, &mut log)?;
    if rows.is_empty() {
        let since = resume.map_or(String::new(), |last| format!(" after {}", format_minute(last)));
        event(&format!("collected {symbol} {interval} from binance: up to date, no closed klines{since}"));
        return Ok(None);
    }
    let source = format!("binance {base_url}");
    Ok(Some(Batch { rows, place: "kline", label: source.clone(), source, note: None }))
}

fn collect_trades(resolved: &Resolved, path: &Path) -> anyhow::Result<u8> {
    let trades = ingest::trades::read(path)?;
    let mut store = Store::open(&resolved.database_path())?;
    let counts = store.upsert_trade_outcomes(&trades)?;
    let unchanged_note = if counts.inserted + counts.updated == 0 { "; nothing changed" } else { "" };
    event(&format!(
        "collected trade outcomes from {}: {} read, {} inserted, {} updated, {} unchanged{unchanged_note}",
        path.display(),
        trades.len(),
        counts.inserted,
        counts.updated,
        counts.unchanged
    ));
    Ok(code::OK)
}

fn print_reasons(report: &QualityReport, reasons: &[String]) {
    if report.reversed {
        println!("  note: the input was in descending time order");
    }
    for reason in reasons {
        println!("  note: {reason}");
    }
}

fn parse_interval(flag: &str, text: &str) -> Result<Interval, Failure> {
    text.parse().map_err(|e| Failure::Usage(format!("{flag}: {e}")))
}

/// A symbol names a folder under models/, so it must be a plain name.
fn checked_symbol(symbol: &str) -> Result<&str, Failure> {
    let ok = !symbol.is_empty()
        && symbol.len() <= 64
        && symbol.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(symbol)
    } else {
        Err(Failure::Usage(format!(
            "--symbol {symbol:?}: use letters, digits, '.', '_' or '-' (it names a folder under models/)"
        )))
    }
}
