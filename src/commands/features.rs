//! `retrain features`: the feature table of a stored series, for a person to inspect.

use std::io::Write;

use polars::prelude::{Column, DataFrame, DataType, TimeUnit};
use polars_io::prelude::{ParquetCompression, ParquetWriter};

use super::existing_store;
use crate::candles::time::format_rfc3339;
use crate::cli::FeaturesArgs;
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::features::{self, labels};

pub fn run(resolved: &Resolved, args: &FeaturesArgs) -> anyhow::Result<u8> {
    let s = &resolved.settings;
    let interval = args.interval.unwrap_or(s.data.interval);
    let extension = args.out.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if extension != "csv" && extension != "parquet" {
        return Err(Failure::Usage(format!(
            "--out {}: expected a .csv or .parquet file",
            args.out.display()
        ))
        .into());
    }
    let store = existing_store(resolved)?;
    let candles = store.candles(&args.symbol, interval, None)?;
    if candles.is_empty() {
        return Err(Failure::Usage(format!("no {interval} candles of {} are stored", args.symbol)).into());
    }
    let table = features::compute(&candles, &s.features, &s.regimes)?;
    let forward = labels::forward_returns(&table.close, s.label.horizon_bars as usize);
    let label: Vec<Option<u8>> =
        forward.iter().map(|&r| labels::label(r, s.label.fee_bps, s.label.threshold_bps)).collect();
    let regime: Vec<Option<&str>> = table.regime.iter().map(|r| r.map(|r| r.as_str())).collect();

    let bytes = if extension == "csv" {
        let mut out = Vec::new();
        write!(out, "open_time,{},regime,label,forward_return", table.names.join(","))?;
        writeln!(out)?;
        for row in 0..table.len() {
            write!(out, "{}", format_rfc3339(table.open_time[row]))?;
            for column in &table.columns {
                let value = column[row];
                if value.is_finite() { write!(out, ",{value}")? } else { write!(out, ",")? }
            }
            let fwd = forward[row];
            writeln!(
                out,
                ",{},{},{}",
                regime[row].unwrap_or(""),
                label[row].map_or(String::new(), |l| l.to_string()),
                if fwd.is_finite() { fwd.to_string() } else { String::new() }
            )?;
        }
        out
    } else {
        let mut columns = vec![
            Column::new("open_time".into(), &table.open_time)
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, Some(polars::prelude::TimeZone::UTC)))?,
        ];
        for (name, values) in table.names.iter().zip(&table.columns) {
            let values: Vec<Option<f64>> = values.iter().map(|v| v.is_finite().then_some(*v)).collect();
            columns.push(Column::new(name.as_str().into(), values));
        }
        columns.push(Column::new("regime".into(), regime));
        columns.push(Column::new("label".into(), label.iter().map(|l| l.map(i32::from)).collect::<Vec<_>>()));
        columns.push(Column::new(
            "forward_return".into(),
            forward.iter().map(|v| v.is_finite().then_some(*v)).collect::<Vec<_>>(),
        ));
        let mut frame = DataFrame::new_infer_height(columns)?;
        let mut out = Vec::new();
        // Snappy, as pyarrow and Spark write by default: zstd's smaller file took a third
        // of the time of writing a million rows.
        ParquetWriter::new(&mut out).with_compression(ParquetCompression::Snappy).finish(&mut frame)?;
        out
    };
    crate::output::write_atomic(&args.out, &bytes)?;
    let labelled = label.iter().filter(|l| l.is_some()).count();
    println!(
        "wrote {}: {} rows x {} features, with regime, label ({labelled} labelled, horizon {} bars) and forward_return",
        args.out.display(),
        table.len(),
        table.names.len(),
        s.label.horizon_bars
    );
    Ok(code::OK)
}
