//! Delimited text: a header naming the columns (any order, common aliases), or no header
//! with time, open, high, low, close, volume first (Binance's 12-column kline dumps are
//! of this kind). Comma, semicolon or tab, sniffed from the first line.

use super::columns::{self, Layout};
use super::{Loaded, Rows};
use crate::candles::time::{TimeParser, epoch_to_millis};
use crate::candles::{Candle, SourceRow, Tick};
use crate::error::Failure;

/// Columns in a Binance kline dump.
const BINANCE_COLUMNS: usize = 12;

pub fn read(label: &str, bytes: &[u8], binance: bool, time_format: Option<&str>) -> Result<Loaded, Failure> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(bytes))
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let error = |line: u64, message: String| Failure::Input(format!("{label}:{line}: {message}"));
    let mut record = csv::ByteRecord::new();
    let mut times = TimeParser::new(time_format);

    let first_read = reader.read_byte_record(&mut record).map_err(|e| csv_error(label, &e))?;
    if !first_read {
        return Err(Failure::Input(format!("{label}: the file holds no rows")));
    }
    let first_line = line_of(&record);
    let (layout, mut pending_first) = if looks_like_header(&record) {
        let header: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
        let layout = columns::layout(&header).map_err(|m| error(first_line, m))?;
        (layout, false)
    } else {
        if binance && record.len() != BINANCE_COLUMNS {
            return Err(error(
                first_line,
                format!("a Binance kline dump has {BINANCE_COLUMNS} columns, this line has {}", record.len()),
            ));
        }
        if record.len() < 6 {
            return Err(error(
                first_line,
                format!(
                    "no header, and {} columns where time, open, high, low, close, volume were expected",
                    record.len()
                ),
            ));
        }
        (Layout::Candles([0, 1, 2, 3, 4, 5]), true)
    };

    let mut candles = Vec::new();
    let mut ticks = Vec::new();
    loop {
        if !pending_first && !reader.read_byte_record(&mut record).map_err(|e| csv_error(label, &e))? {
            break;
        }
        pending_first = false;
        let line = line_of(&record);
        match &layout {
            Layout::Candles(at) => {
                let [time, open, high, low, close, volume] =
                    fields(&record, at, &["time", "open", "high", "low", "close", "volume"])
                        .map_err(|m| error(line, m))?;
                let open_time = parse_time(time, &mut times).map_err(|m| error(line, m))?;
                let number = |text: &str, name: &str| parse_number(text, name).map_err(|m| error(line, m));
                let candle = Candle {
                    open_time,
                    open: number(open, "open")?,
                    high: number(high, "high")?,
                    low: number(low, "low")?,
                    close: number(close, "close")?,
                    volume: number(volume, "volume")?,
                };
                candles.push(SourceRow { line, candle });
            }
            Layout::Ticks(at) => {
                let [time, price, amount] =
                    fields(&record, at, &["time", "price", "amount"]).map_err(|m| error(line, m))?;
                ticks.push(Tick {
                    line,
                    time: parse_time(time, &mut times).map_err(|m| error(line, m))?,
                    price: parse_number(price, "price").map_err(|m| error(line, m))?,
                    amount: parse_number(amount, "amount").map_err(|m| error(line, m))?,
                });
            }
        }
    }
    let rows = match layout {
        Layout::Candles(_) => Rows::Candles(candles),
        Layout::Ticks(_) => Rows::Ticks(ticks),
    };
    Ok(Loaded { rows, place: "line" })
}

fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |d: u8| first_line.iter().filter(|&&b| b == d).count();
    [b',', b';', b'\t'].into_iter().max_by_key(|&d| count(d)).filter(|&d| count(d) > 0).unwrap_or(b',')
}

/// A first row is a header when a field after the first is text, not a number.
fn looks_like_header(record: &csv::ByteRecord) -> bool {
    record.iter().skip(1).take(5).any(|field| {
        std::str::from_utf8(field).map_or(true, |text| !text.is_empty() && text.parse::<f64>().is_err())
    })
}

fn line_of(record: &csv::ByteRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

fn csv_error(label: &str, error: &csv::Error) -> Failure {
    match error.position() {
        Some(pos) => Failure::Input(format!("{label}:{}: {error}", pos.line())),
        None => Failure::Input(format!("{label}: {error}")),
    }
}

/// The fields at `at`, as text; a short line is named as probably truncated.
fn fields<'r, const N: usize>(
    record: &'r csv::ByteRecord,
    at: &[usize; N],
    names: &[&str; N],
) -> Result<[&'r str; N], String> {
    let needed = at.iter().max().map_or(0, |m| m + 1);
    if record.len() < needed {
        return Err(format!("expected at least {needed} fields, found {} (truncated line?)", record.len()));
    }
    let mut out = [""; N];
    for (i, &index) in at.iter().enumerate() {
        out[i] = std::str::from_utf8(&record[index])
            .map_err(|_| format!("column {:?} is not UTF-8 text", names[i]))?;
    }
    Ok(out)
}

fn parse_time(text: &str, parser: &mut TimeParser) -> Result<i64, String> {
    // Integers are by far the most common; skip the general parser for them.
    match text.parse::<i64>() {
        Ok(number) if !parser.has_pattern() => Ok(epoch_to_millis(number)),
        _ => parser.parse(text).map_err(|m| format!("column \"time\": {m}")),
    }
}

/// A price or volume: an empty field is a missing value (NaN, caught by the quality
/// check); text that is not a number is an error.
pub fn parse_number(text: &str, column: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Ok(f64::NAN);
    }
    text.parse::<f64>().map_err(|_| format!("column {column:?}: cannot read {text:?} as a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candles(text: &str) -> Result<Vec<SourceRow>, String> {
        match read("t.csv", text.as_bytes(), false, None) {
            Ok(Loaded { rows: Rows::Candles(rows), .. }) => Ok(rows),
            Ok(_) => Err("ticks".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn reads_a_header_csv_with_text_times() {
        let rows =
            candles("timestamp,open,high,low,close,volume\n2021-12-31 23:01:00.000000,1,2,0.5,1.5,10\n")
                .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].candle.open_time, 1_640_991_660_000);
        assert_eq!(rows[0].candle.close, 1.5);
    }

    #[test]
    fn reads_headerless_rows_and_semicolons() {
        let rows = candles("1637971200000;1;2;0.5;1.5;10\n1637971260000;1;2;0.5;1.5;11\n").unwrap();
        assert_eq!(rows[1].candle.volume, 11.0);
        assert_eq!(rows[1].line, 2);
    }

    #[test]
    fn errors_name_the_line_and_the_column() {
        let err =
            candles("time,open,high,low,close,volume\n1,1,2,0.5,1.5,10\n2,1,2,abc,1.5,10\n").unwrap_err();
        assert_eq!(err, "t.csv:3: column \"low\": cannot read \"abc\" as a number");
        let err = candles("time,open,high,low,close,volume\n1,1,2,0.5,1.5,10\n2,1,2\n").unwrap_err();
        assert_eq!(err, "t.csv:3: expected at least 6 fields, found 3 (truncated line?)");
        let err = candles("time,open,high,low,close,volume\nnever,1,2,0.5,1.5,10\n").unwrap_err();
        assert!(err.starts_with("t.csv:2: column \"time\": cannot read \"never\" as a time"), "{err}");
        let err = candles("a,b,c\n").unwrap_err();
        assert!(err.starts_with("t.csv:1: no column for time, open"), "{err}");
    }

    #[test]
    fn empty_fields_are_missing_values() {
        let rows = candles("time,open,high,low,close,volume\n1,1,2,0.5,,10\n").unwrap();
        assert!(rows[0].candle.close.is_nan());
    }

    #[test]
    fn binance_dumps_must_have_twelve_columns() {
        let err = read("k.csv", b"1637971200000,1,2,0.5,1.5,10\n", true, None).unwrap_err();
        assert!(err.to_string().contains("12 columns"), "{err}");
    }
}
