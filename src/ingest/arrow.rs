//! Arrow IPC (feather v2) and Parquet, through polars: columns found by name (common
//! aliases, any case), times from datetime, date, integer, float or text columns.

use std::io::Cursor;

use polars::prelude::{Column, DataFrame, DataType, PolarsResult, TimeUnit};
use polars_io::SerReader;
use polars_io::prelude::{IpcReader, ParquetReader};

use super::columns::{self, Layout};
use super::delimited::parse_number;
use super::{Loaded, Rows};
use crate::candles::time::{TimeParser, epoch_f64_to_millis, epoch_to_millis};
use crate::candles::{Candle, SourceRow, Tick};
use crate::error::Failure;

#[derive(Debug, Clone, Copy)]
pub enum Container {
    Ipc,
    Parquet,
}

const MILLIS_PER_DAY: i64 = 86_400_000;

pub fn read(
    label: &str,
    bytes: &[u8],
    container: Container,
    time_format: Option<&str>,
    max_unpacked: u64,
) -> Result<Loaded, Failure> {
    let what = match container {
        Container::Ipc => "an Arrow IPC (feather) file",
        Container::Parquet => "a Parquet file",
    };
    let frame = decode(bytes, container, max_unpacked)
        .map_err(|e| Failure::Input(format!("{label}: not readable as {what}: {e}")))?;
    let error = |message: String| Failure::Input(format!("{label}: {message}"));
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    let layout = columns::layout(&names).map_err(error)?;
    let column = |index: usize| &frame.columns()[index];
    let mut times = TimeParser::new(time_format);

    let rows = match layout {
        Layout::Candles([t, o, h, l, c, v]) => {
            let time = time_values(column(t), &mut times).map_err(error)?;
            let [open, high, low, close, volume] =
                [o, h, l, c, v].map(|i| number_values(column(i), &names[i]));
            let (open, high, low, close, volume) = (
                open.map_err(error)?,
                high.map_err(error)?,
                low.map_err(error)?,
                close.map_err(error)?,
                volume.map_err(error)?,
            );
            Rows::Candles(
                (0..time.len())
                    .map(|i| SourceRow {
                        line: i as u64 + 1,
                        candle: Candle {
                            open_time: time[i],
                            open: open[i],
                            high: high[i],
                            low: low[i],
                            close: close[i],
                            volume: volume[i],
                        },
                    })
                    .collect(),
            )
        }
        Layout::Ticks([t, p, a]) => {
            let time = time_values(column(t), &mut times).map_err(error)?;
            let price = number_values(column(p), &names[p]).map_err(error)?;
            let amount = number_values(column(a), &names[a]).map_err(error)?;
            Rows::Ticks(
                (0..time.len())
                    .map(|i| Tick { line: i as u64 + 1, time: time[i], price: price[i], amount: amount[i] })
                    .collect(),
            )
        }
    };
    Ok(Loaded { rows, place: "row" })
}

/// Refuse an IPC file whose buffers lie outside it, or whose compressed buffers claim to
/// expand past `max_unpacked` bytes in all (`data.max_unpacked_mb`). polars-arrow 0.55
/// allocates what a compressed buffer's 8-byte header claims, and what an uncompressed
/// buffer's declared length implies, before reading a byte of it: one flipped byte there
/// asks for exabytes, and a failed allocation aborts the process, which no error handling
/// can catch (found by the `arrow_ipc` fuzz target). So the footer and every batch's
/// metadata are read here first; what they cannot be read as is left to polars to report.
fn ipc_buffers_fit(bytes: &[u8], max_unpacked: u64) -> Result<(), String> {
    use polars_arrow_format::ipc::planus::ReadAsRoot;
    use polars_arrow_format::ipc::{MessageHeaderRef, MessageRef};

    let Ok(metadata) = polars_arrow::io::ipc::read::read_file_metadata(&mut Cursor::new(bytes)) else {
        return Ok(());
    };
    let blocks = metadata.blocks.iter().chain(metadata.dictionaries.iter().flatten());
    let mut expanded: u64 = 0;
    for block in blocks {
        let (Ok(start), Ok(meta_length)) =
            (usize::try_from(block.offset), usize::try_from(block.meta_data_length))
        else {
            return Err("a record batch at a negative offset".into());
        };
        let Some(message) = message_at(bytes, start) else { continue };
        let Ok(message) = MessageRef::read_as_root(message) else { continue };
        let batch = match message.header() {
            Ok(Some(MessageHeaderRef::RecordBatch(batch))) => batch,
            Ok(Some(MessageHeaderRef::DictionaryBatch(dictionary))) => match dictionary.data() {
                Ok(Some(batch)) => batch,
                _ => continue,
            },
            _ => continue,
        };
        let compressed = matches!(batch.compression(), Ok(Some(_)));
        let body = start.saturating_add(meta_length);
        for buffer in batch.buffers().ok().flatten().into_iter().flatten() {
            let (Ok(offset), Ok(length)) =
                (usize::try_from(buffer.offset()), usize::try_from(buffer.length()))
            else {
                return Err("a buffer with a negative offset or length".into());
            };
            let at = body.saturating_add(offset);
            if at.saturating_add(length) > bytes.len() {
                return Err(format!(
                    "a buffer of {length} bytes at byte {at} lies outside the file's {} bytes",
                    bytes.len()
                ));
            }
            // A compressed buffer starts with its expanded length (-1: stored as it is).
            if compressed && length >= 8 {
                let header: [u8; 8] = bytes[at..at + 8].try_into().expect("eight bytes");
                let claimed = i64::from_le_bytes(header);
                expanded = expanded.saturating_add(u64::try_from(claimed).unwrap_or(0));
                if expanded > max_unpacked {
                    return Err(format!(
                        "its compressed buffers expand to more than {} (data.max_unpacked_mb)",
                        super::unpacked_limit_text(max_unpacked)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Refuse a Parquet file whose footer, read as polars reads it, declares sizes past its
/// bytes or nests its schema too deep (the walk of [`super::thrift`]), or whose footer or
/// page headers claim more values than `max_unpacked` bytes hold at 8 bytes a value.
/// polars-parquet 0.55 reserves what a list header or a page's header claims before
/// reading on, and a forged count asks for exabytes (found by the `parquet` fuzz target).
/// Only the headers are read here (each page's bytes are skipped); what cannot be read is
/// left to polars to report.
fn parquet_rows_fit(bytes: &[u8], max_unpacked: u64) -> Result<(), String> {
    use polars_parquet::parquet::page::CompressedPage;
    use polars_parquet::parquet::read::get_page_iterator;

    // The footer: its length and `PAR1` end the file. What does not fit is left to polars.
    if let Some(end) = bytes.len().checked_sub(8)
        && let Ok(length) = <[u8; 4]>::try_from(&bytes[end..end + 4])
        && let Some(start) = end.checked_sub(u32::from_le_bytes(length) as usize)
    {
        super::thrift::file_metadata_length(&bytes[start..end])
            .map_err(|e| format!("its footer is malformed: {e}"))?;
    }
    let Ok(metadata) = polars_parquet::read::read_metadata(&mut Cursor::new(bytes)) else {
        return Ok(());
    };
    let most = max_unpacked / 8;
    let too_many = |what: &str, count: u64| {
        Err(format!(
            "{what} claims {count} values, more than {} holds at 8 bytes a value (data.max_unpacked_mb)",
            super::unpacked_limit_text(max_unpacked)
        ))
    };
    let grouped =
        metadata.row_groups.iter().map(|group| group.num_rows() as u64).fold(0u64, u64::saturating_add);
    let rows = grouped.max(metadata.num_rows as u64);
    if rows > most {
        return too_many("its footer", rows);
    }
    let buffer = polars_buffer::Buffer::from(bytes.to_vec());
    let page_limit = usize::try_from(max_unpacked).unwrap_or(usize::MAX);
    for group in &metadata.row_groups {
        for column in group.parquet_columns() {
            let Ok(pages) = get_page_iterator(column, Cursor::new(buffer.clone()), Vec::new(), page_limit)
            else {
                continue;
            };
            for page in pages {
                match page {
                    Ok(CompressedPage::Data(page)) if page.num_values() as u64 > most => {
                        return too_many("a page", page.num_values() as u64);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
    }
    Ok(())
}

/// The flatbuffer of the message at `start`: an optional continuation marker, its length
/// (i32, little-endian), then the message, cut short at the end of `bytes` as polars
/// reads it; `None` when not even the length is there.
fn message_at(bytes: &[u8], start: usize) -> Option<&[u8]> {
    let mut at = start;
    let word = |at: &mut usize| -> Option<[u8; 4]> {
        let w = bytes.get(*at..at.checked_add(4)?)?.try_into().ok()?;
        *at += 4;
        Some(w)
    };
    let mut length = word(&mut at)?;
    if length == [0xff; 4] {
        length = word(&mut at)?;
    }
    let length = usize::try_from(i32::from_le_bytes(length)).ok()?;
    bytes.get(at..at.saturating_add(length).min(bytes.len()))
}

/// Decode the whole file. A corrupt file must be an error, never a crash: should the
/// decoder panic on some malformed input, the panic is caught, kept quiet and reported.
/// An IPC file is first checked by [`ipc_buffers_fit`] against `max_unpacked` bytes, inside
/// the same guard (polars' footer reader can panic too).
pub(super) fn decode(bytes: &[u8], container: Container, max_unpacked: u64) -> Result<DataFrame, String> {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| -> Result<DataFrame, String> {
        let cursor = Cursor::new(bytes);
        let decoded: PolarsResult<DataFrame> = match container {
            Container::Ipc => {
                ipc_buffers_fit(bytes, max_unpacked)?;
                IpcReader::new(cursor).finish()
            }
            Container::Parquet => {
                parquet_rows_fit(bytes, max_unpacked)?;
                ParquetReader::new(cursor).finish()
            }
        };
        decoded.map_err(|e| e.to_string())
    });
    std::panic::set_hook(previous_hook);
    match outcome {
        Ok(result) => result,
        Err(_) => Err("the decoder failed on malformed content".into()),
    }
}

fn polars_error(column: &Column, e: impl std::fmt::Display) -> String {
    format!("column {:?}: {e}", column.name().as_str())
}

/// Epoch milliseconds of every row; a null time is an error naming the row.
fn time_values(column: &Column, times: &mut TimeParser) -> Result<Vec<i64>, String> {
    let null_row = |i: usize| format!("column {:?}, row {}: no time", column.name().as_str(), i + 1);
    let physical = |unit_to_ms: &dyn Fn(i64) -> i64| -> Result<Vec<i64>, String> {
        let ints = column.cast(&DataType::Int64).map_err(|e| polars_error(column, e))?;
        let ints = ints.i64().map_err(|e| polars_error(column, e))?;
        ints.iter().enumerate().map(|(i, v)| v.map(unit_to_ms).ok_or_else(|| null_row(i))).collect()
    };
    match column.dtype() {
        DataType::Datetime(unit, _) => {
            let divisor = match unit {
                TimeUnit::Nanoseconds => 1_000_000,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1,
            };
            physical(&|v| v.div_euclid(divisor))
        }
        DataType::Date => {
            let days = column.cast(&DataType::Int32).map_err(|e| polars_error(column, e))?;
            let days = days.i32().map_err(|e| polars_error(column, e))?;
            days.iter()
                .enumerate()
                .map(|(i, d)| d.map(|d| i64::from(d) * MILLIS_PER_DAY).ok_or_else(|| null_row(i)))
                .collect()
        }
        dtype if dtype.is_integer() => physical(&epoch_to_millis),
        dtype if dtype.is_float() => {
            let floats = column.cast(&DataType::Float64).map_err(|e| polars_error(column, e))?;
            let floats = floats.f64().map_err(|e| polars_error(column, e))?;
            floats
                .iter()
                .enumerate()
                .map(|(i, v)| v.and_then(epoch_f64_to_millis).ok_or_else(|| null_row(i)))
                .collect()
        }
        DataType::String => {
            let texts = column.str().map_err(|e| polars_error(column, e))?;
            texts
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    let text = text.ok_or_else(|| null_row(i))?;
                    times
                        .parse(text)
                        .map_err(|m| format!("column {:?}, row {}: {m}", column.name().as_str(), i + 1))
                })
                .collect()
        }
        other => Err(format!("column {:?} holds {other}, not times", column.name().as_str())),
    }
}

/// Every row as f64; nulls are missing values (NaN), text must be numbers.
fn number_values(column: &Column, name: &str) -> Result<Vec<f64>, String> {
    match column.dtype() {
        DataType::String => {
            let texts = column.str().map_err(|e| polars_error(column, e))?;
            texts
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    parse_number(text.unwrap_or("").trim(), name).map_err(|m| format!("row {}: {m}", i + 1))
                })
                .collect()
        }
        dtype if dtype.is_primitive_numeric() => {
            let floats = column.cast(&DataType::Float64).map_err(|e| polars_error(column, e))?;
            let floats = floats.f64().map_err(|e| polars_error(column, e))?;
            Ok(floats.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        }
        other => Err(format!("column {name:?} holds {other}, not numbers")),
    }
}
