//! Reading candles (or market trades) from files: decompression, format detection, and
//! the readers for delimited text, JSON and Arrow/Parquet. Errors name the file and the
//! line (or row) and say what was expected; nothing here panics on any input.

mod arrow;
pub mod binance;
mod columns;
mod delimited;
mod json;
pub mod table;
mod thrift;
pub mod trades;

use std::io::{Cursor, Read};
use std::path::Path;

use crate::candles::{SourceRow, Tick};
use crate::error::Failure;

/// The formats candle files come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Decide from the file name and its first bytes.
    Auto,
    /// Delimited text: a header naming the columns, or time,open,high,low,close,volume.
    Csv,
    /// Binance's public kline dump: 12 columns, no header, epoch ms or us.
    Binance,
    /// freqtrade's JSON: an array of [time, open, high, low, close, volume].
    FreqtradeJson,
    /// Arrow IPC file (feather v2).
    Feather,
    /// Apache Parquet.
    Parquet,
}

/// What a file held: candles, or market trades still to be bucketed into candles.
#[derive(Debug)]
pub enum Rows {
    Candles(Vec<SourceRow>),
    Ticks(Vec<Tick>),
}

/// The rows of a file, and what a row's position is called in messages ("line", "row").
#[derive(Debug)]
pub struct Loaded {
    pub rows: Rows,
    pub place: &'static str,
}

/// A named byte buffer: a file, or one entry of a compressed archive.
struct Payload {
    /// What messages call it: `path` or `path!entry.csv`.
    label: String,
    /// Name used to guess the format (the entry's name inside an archive).
    name: String,
    bytes: Vec<u8>,
}

/// The default of `data.max_unpacked_mb`: what a `.gz` or `.zip` may expand to.
pub const DEFAULT_MAX_UNPACKED_MB: u64 = 1024;
/// The largest `data.max_unpacked_mb` allowed: the expanded bytes are held in memory.
pub const MAX_UNPACKED_MB_LIMIT: u64 = 65_536;

/// Read every candle (or trade) in `path`; `.gz` and `.zip` are opened transparently and
/// refused once they expand past `max_unpacked` bytes.
pub fn read_file(
    path: &Path,
    format: Format,
    time_format: Option<&str>,
    max_unpacked: u64,
    progress: &indicatif::ProgressBar,
) -> Result<Loaded, Failure> {
    let label = path.display().to_string();
    let mut file =
        std::fs::File::open(path).map_err(|e| Failure::Usage(format!("cannot open {label}: {e}")))?;
    let mut bytes = Vec::new();
    progress
        .wrap_read(&mut file)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::Input(format!("cannot read {label}: {e}")))?;
    progress.finish_and_clear();

    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    read_bytes(&label, &name, bytes, format, time_format, max_unpacked)
}

/// The candles of the file `name` of tests/data, read as `collect` reads it: for the unit
/// tests that compare with oracles.
#[cfg(test)]
pub(crate) fn test_data_candles(name: &str) -> Vec<SourceRow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    assert!(path.is_file(), "{} is missing: the repository holds it", path.display());
    let limit = DEFAULT_MAX_UNPACKED_MB << 20;
    let loaded = read_file(&path, Format::Auto, None, limit, &indicatif::ProgressBar::hidden()).unwrap();
    let Rows::Candles(candles) = loaded.rows else { panic!("{name}: candles expected") };
    candles
}

/// [`read_file`] on bytes in memory: `label` names them in messages, `name` (a file
/// name) helps guess the format. Also the entry point of the fuzz targets.
pub fn read_bytes(
    label: &str,
    name: &str,
    bytes: Vec<u8>,
    format: Format,
    time_format: Option<&str>,
    max_unpacked: u64,
) -> Result<Loaded, Failure> {
    let payload = Payload { label: label.to_string(), name: name.to_lowercase(), bytes };
    let payloads = unpack(payload, max_unpacked)?;
    let mut loaded: Option<Loaded> = None;
    for payload in payloads {
        let next = read_payload(&payload, format, time_format, max_unpacked)?;
        loaded = Some(match loaded {
            None => next,
            Some(acc) => append(acc, next, &payload.label)?,
        });
    }
    loaded.ok_or_else(|| Failure::Input(format!("{label}: the archive holds no files")))
}

fn append(mut acc: Loaded, next: Loaded, label: &str) -> Result<Loaded, Failure> {
    match (&mut acc.rows, next.rows) {
        (Rows::Candles(all), Rows::Candles(more)) => all.extend(more),
        (Rows::Ticks(all), Rows::Ticks(more)) => all.extend(more),
        _ => {
            return Err(Failure::Input(format!(
                "{label}: holds trades where the archive's other files hold candles (or the reverse)"
            )));
        }
    }
    Ok(acc)
}

/// Decompress `.gz` and expand `.zip` (by name or by magic bytes) into plain payloads,
/// refusing (before reading on) once the expanded bytes pass `max_unpacked` in all.
fn unpack(payload: Payload, max_unpacked: u64) -> Result<Vec<Payload>, Failure> {
    let is_gzip = payload.name.ends_with(".gz") || payload.bytes.starts_with(&[0x1f, 0x8b]);
    let is_zip = payload.name.ends_with(".zip") || payload.bytes.starts_with(b"PK\x03\x04");
    let too_big = |label: &str| {
        Failure::Input(format!(
            "{label}: expands to more than {} (data.max_unpacked_mb); refused before reading it whole",
            unpacked_limit_text(max_unpacked)
        ))
    };
    if is_gzip {
        let mut bytes = Vec::new();
        let decoder = flate2::read::MultiGzDecoder::new(payload.bytes.as_slice());
        decoder
            .take(max_unpacked.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::Input(format!("{}: not a readable gzip file: {e}", payload.label)))?;
        if bytes.len() as u64 > max_unpacked {
            return Err(too_big(&payload.label));
        }
        let name = payload.name.trim_end_matches(".gz").to_string();
        return Ok(vec![Payload { label: payload.label, name, bytes }]);
    }
    if is_zip {
        let bad = |e: zip::result::ZipError| {
            Failure::Input(format!("{}: not a readable zip file: {e}", payload.label))
        };
        let mut archive = zip::ZipArchive::new(Cursor::new(payload.bytes)).map_err(bad)?;
        // The sizes the archive declares first (a zip bomb says what it is), then the bytes
        // actually read, which a forged header cannot raise past the limit.
        let declared = (0..archive.len()).try_fold(0u64, |sum, index| {
            let entry = archive.by_index_raw(index).map_err(bad)?;
            Ok::<u64, Failure>(sum.saturating_add(entry.size()))
        })?;
        if declared > max_unpacked {
            return Err(too_big(&payload.label));
        }
        let mut entries = Vec::with_capacity(archive.len());
        let mut left = max_unpacked;
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).map_err(bad)?;
            if entry.is_dir() {
                continue;
            }
            let name = entry.name().map_err(bad)?.to_string();
            let label = format!("{}!{name}", payload.label);
            let mut bytes = Vec::new();
            (&mut entry)
                .take(left.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::Input(format!("{label}: cannot decompress: {e}")))?;
            left = match left.checked_sub(bytes.len() as u64) {
                Some(left) => left,
                None => return Err(too_big(&payload.label)),
            };
            entries.push(Payload { label, name: name.to_lowercase(), bytes });
        }
        entries.sort_by(|a, b| a.label.cmp(&b.label));
        return Ok(entries);
    }
    Ok(vec![payload])
}

/// `1024 MB`, or the bytes when the limit is not whole megabytes (tests set small ones).
fn unpacked_limit_text(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) { format!("{} MB", bytes >> 20) } else { format!("{bytes} bytes") }
}

/// The formats a payload can be read as, once `auto` is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Concrete {
    Delimited { binance: bool },
    Json,
    Feather,
    Parquet,
}

fn read_payload(
    payload: &Payload,
    format: Format,
    time_format: Option<&str>,
    max_unpacked: u64,
) -> Result<Loaded, Failure> {
    if payload.bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::Input(format!("{}: the file is empty", payload.label)));
    }
    let concrete = match format {
        Format::Csv => Concrete::Delimited { binance: false },
        Format::Binance => Concrete::Delimited { binance: true },
        Format::FreqtradeJson => Concrete::Json,
        Format::Feather => Concrete::Feather,
        Format::Parquet => Concrete::Parquet,
        Format::Auto => detect(payload)?,
    };
    match concrete {
        Concrete::Delimited { binance } => {
            delimited::read(&payload.label, &payload.bytes, binance, time_format)
        }
        Concrete::Json => json::read(&payload.label, &payload.bytes, time_format),
        Concrete::Feather => {
            arrow::read(&payload.label, &payload.bytes, arrow::Container::Ipc, time_format, max_unpacked)
        }
        Concrete::Parquet => {
            arrow::read(&payload.label, &payload.bytes, arrow::Container::Parquet, time_format, max_unpacked)
        }
    }
}

fn detect(payload: &Payload) -> Result<Concrete, Failure> {
    let extension = payload.name.rsplit_once('.').map_or("", |(_, ext)| ext);
    match extension {
        "csv" | "txt" | "tsv" => return Ok(Concrete::Delimited { binance: false }),
        "json" => return Ok(Concrete::Json),
        "feather" | "arrow" | "ipc" => return Ok(Concrete::Feather),
        "parquet" | "pq" => return Ok(Concrete::Parquet),
        _ => {}
    }
    let bytes = &payload.bytes;
    if bytes.starts_with(b"ARROW1") {
        return Ok(Concrete::Feather);
    }
    if bytes.starts_with(b"PAR1") {
        return Ok(Concrete::Parquet);
    }
    let head = &bytes[..bytes.len().min(4096)];
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[' | b'{') => Ok(Concrete::Json),
        Some(_) if head.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) => {
            Ok(Concrete::Delimited { binance: false })
        }
        _ => Err(Failure::Usage(format!(
            "{}: unknown format: not CSV, JSON, feather or Parquet (name the format with --format)",
            payload.label
        ))),
    }
}
