//! Numeric tables for ad hoc drift checks: every numeric column of a CSV (with a header),
//! feather or Parquet file, by name.

use std::path::Path;

use polars::prelude::{DataFrame, DataType};

use super::arrow::{Container, decode};
use crate::error::Failure;

/// The file's numeric columns in file order: name and values (NaN for missing values).
pub fn read_numeric(path: &Path) -> Result<Vec<(String, Vec<f64>)>, Failure> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot open {label}: {e}")))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::Input(format!("{label}: the file is empty")));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    // The decoder's guard turns a panic on malformed content into an error naming the file.
    let container = if name.ends_with(".parquet") || bytes.starts_with(b"PAR1") {
        Some(Container::Parquet)
    } else if name.ends_with(".feather") || name.ends_with(".arrow") || bytes.starts_with(b"ARROW1") {
        Some(Container::Ipc)
    } else {
        None
    };
    if let Some(container) = container {
        // These files are not archives: the default bound of data.max_unpacked_mb applies.
        let limit = super::DEFAULT_MAX_UNPACKED_MB << 20;
        let frame = decode(&bytes, container, limit).map_err(|e| Failure::Input(format!("{label}: {e}")))?;
        return frame_columns(&frame, &label);
    }
    csv_columns(&bytes, &label)
}

fn frame_columns(frame: &DataFrame, label: &str) -> Result<Vec<(String, Vec<f64>)>, Failure> {
    let mut out = Vec::new();
    for column in frame.columns() {
        if !column.dtype().is_primitive_numeric() {
            continue;
        }
        let values = column
            .cast(&DataType::Float64)
            .and_then(|c| c.f64().map(|ca| ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect::<Vec<f64>>()))
            .map_err(|e| Failure::Input(format!("{label}: column {:?}: {e}", column.name().as_str())))?;
        out.push((column.name().to_string(), values));
    }
    Ok(out)
}

/// Columns whose every non-empty value is a number; the others are left out.
fn csv_columns(bytes: &[u8], label: &str) -> Result<Vec<(String, Vec<f64>)>, Failure> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Failure::Input(format!("{label}: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut columns: Vec<Option<Vec<f64>>> = vec![Some(Vec::new()); header.len()];
    for record in reader.records() {
        let record = record.map_err(|e| Failure::Input(format!("{label}: {e}")))?;
        for (i, column) in columns.iter_mut().enumerate() {
            let Some(values) = column else { continue };
            match record.get(i).unwrap_or("") {
                "" => values.push(f64::NAN),
                text => match text.parse::<f64>() {
                    Ok(v) => values.push(v),
                    Err(_) => *column = None,
                },
            }
        }
    }
    Ok(header.into_iter().zip(columns).filter_map(|(name, values)| Some((name, values?))).collect())
}
