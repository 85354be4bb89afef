//! The same candles in every spelling a user meets: compressed, Binance microseconds,
//! no header, an unnamed index column, day-first dates, Parquet, JSON objects.

use std::io::Write;

use crate::support::{Case, Row, collect, data};

/// ADABTC's first day as stored from the original Binance dump: its text and candles.
fn reference(case: &Case) -> (String, Vec<Row>) {
    let path = data("ADABTC-1m-2021-11-27.csv");
    collect(case, "REF", "1m", &path).assert_exit(0);
    (std::fs::read_to_string(path).unwrap(), case.candles("REF", "1m"))
}

fn collect_as(case: &Case, symbol: &str, file: &std::path::Path, extra: &[&str]) {
    let mut args = vec!["collect", "--symbol", symbol, "--interval", "1m", "--file", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    case.run(args).assert_exit(0).stdout_contains("10 inserted");
}

#[test]
fn gzip_and_zip_are_read_transparently() {
    let case = Case::new();
    let (text, expected) = reference(&case);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz_path = case.write("ADABTC-1m.csv.gz", gz.finish().unwrap());
    collect_as(&case, "GZ", &gz_path, &[]);
    assert_eq!(case.candles("GZ", "1m"), expected);

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("ADABTC-1m-2021-11-27.csv", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(text.as_bytes()).unwrap();
    let zip_path = case.write("ADABTC-1m-2021-11-27.zip", zip.finish().unwrap().into_inner());
    collect_as(&case, "ZIP", &zip_path, &[]);
    assert_eq!(case.candles("ZIP", "1m"), expected);
}

#[test]
fn binance_dumps_in_microseconds_read_like_milliseconds() {
    let case = Case::new();
    let (text, expected) = reference(&case);
    // Binance's spot dumps switched to microseconds in 2025: both time columns x1000.
    let micros: String = text
        .lines()
        .map(|line| {
            let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
            for i in [0, 6] {
                fields[i] = format!("{}000", fields[i]);
            }
            fields.join(",") + "\n"
        })
        .collect();
    let path = case.write("ADABTC-1m-2025.csv", micros);
    collect_as(&case, "US", &path, &["--format", "binance"]);
    assert_eq!(case.candles("US", "1m"), expected);
}

/// The reference rows rewritten by `line` (given time ms and the five values as text).
fn rewrite(text: &str, header: &str, line: impl Fn(i64, &[&str]) -> String) -> String {
    let mut out = String::from(header);
    for row in text.lines() {
        let fields: Vec<&str> = row.split(',').collect();
        out.push_str(&line(fields[0].parse().unwrap(), &fields[1..6]));
        out.push('\n');
    }
    out
}

fn utc(ms: i64, pattern: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().format(pattern).to_string()
}

#[test]
fn headers_are_optional_and_names_are_matched_loosely() {
    let case = Case::new();
    let (text, expected) = reference(&case);
    let seconds = rewrite(&text, "", |ms, v| format!("{},{}", ms / 1000, v.join(",")));
    collect_as(&case, "SEC", &case.write("seconds.csv", seconds), &[]);
    assert_eq!(case.candles("SEC", "1m"), expected);

    // pandas' to_csv of a frame indexed by time: the first header cell is empty.
    let unnamed = rewrite(&text, ",Open,High,Low,Close,Volume\n", |ms, v| {
        format!("{},{}", utc(ms, "%Y-%m-%d %H:%M:%S"), v.join(","))
    });
    collect_as(&case, "IDX", &case.write("indexed.csv", unnamed), &[]);
    assert_eq!(case.candles("IDX", "1m"), expected);

    // Columns in another order, semicolons, ISO times with Z.
    let shuffled = rewrite(&text, "Vol;Close;Low;High;Open;Date\n", |ms, v| {
        format!("{};{};{};{};{};{}", v[4], v[3], v[2], v[1], v[0], utc(ms, "%Y-%m-%dT%H:%M:%SZ"))
    });
    collect_as(&case, "SHUF", &case.write("shuffled.txt", shuffled), &[]);
    assert_eq!(case.candles("SHUF", "1m"), expected);
}

#[test]
fn day_first_dates_need_and_take_a_time_format() {
    let case = Case::new();
    let (text, expected) = reference(&case);
    let day_first = rewrite(&text, "date,open,high,low,close,volume\n", |ms, v| {
        format!("{},{}", utc(ms, "%d/%m/%Y %H:%M"), v.join(","))
    });
    let path = case.write("dayfirst.csv", day_first);
    collect(&case, "DF", "1m", &path)
        .assert_exit(2)
        .stderr_contains("dayfirst.csv:2: column \"time\": cannot read \"27/11/2021 00:00\"");
    collect_as(&case, "DF", &path, &["--time-format", "%d/%m/%Y %H:%M"]);
    assert_eq!(case.candles("DF", "1m"), expected);
}

#[test]
fn descending_files_are_stored_in_time_order() {
    let case = Case::new();
    let (text, expected) = reference(&case);
    let reversed: String = text.lines().rev().map(|l| format!("{l}\n")).collect();
    let path = case.write("desc.csv", reversed);
    collect(&case, "DESC", "1m", &path)
        .assert_exit(0)
        .stdout_contains("quality 1.000")
        .stdout_contains("descending time order");
    assert_eq!(case.candles("DESC", "1m"), expected);
}

#[test]
fn json_objects_with_named_fields_are_read() {
    let case = Case::new();
    let (text, expected) = reference(&case);
    let objects: Vec<String> = text
        .lines()
        .map(|row| {
            let f: Vec<&str> = row.split(',').collect();
            format!(
                r#"{{"date": "{}", "open": {}, "high": {}, "low": {}, "close": {}, "volume": {}}}"#,
                utc(f[0].parse().unwrap(), "%Y-%m-%dT%H:%M:%SZ"),
                f[1],
                f[2],
                f[3],
                f[4],
                f[5]
            )
        })
        .collect();
    let path = case.write("objects.json", format!("[{}]", objects.join(",\n")));
    collect_as(&case, "OBJ", &path, &[]);
    assert_eq!(case.candles("OBJ", "1m"), expected);
}

#[test]
fn parquet_holds_the_same_candles_as_feather() {
    use polars::prelude::{IpcReader, ParquetWriter, SerReader};
    let feather = data("ETH_BTC-5m.feather");
    let case = Case::new();
    let mut frame = IpcReader::new(std::fs::File::open(&feather).unwrap()).finish().unwrap();
    let parquet = case.path("ETH_BTC-5m.parquet");
    ParquetWriter::new(std::fs::File::create(&parquet).unwrap()).finish(&mut frame).unwrap();
    // A name that says nothing: the format is found from the content.
    let unnamed = case.path("eth-candles.bin");
    std::fs::copy(&parquet, &unnamed).unwrap();
    for (symbol, path) in [("F", &feather), ("P", &parquet), ("B", &unnamed)] {
        collect(&case, symbol, "5m", path).assert_exit(0).stdout_contains("5760 inserted");
    }
    assert_eq!(case.candles("F", "5m"), case.candles("P", "5m"));
    assert_eq!(case.candles("F", "5m"), case.candles("B", "5m"));
}

#[test]
fn market_trades_in_a_csv_become_candles() {
    let case = Case::new();
    let trades = "timestamp,id,side,price,amount\n\
                  1570752011620,1,sell,0.001413,23\n\
                  1570752017964,2,buy,0.001416,8\n\
                  1570752030000,3,sell,0.001412,4\n\
                  1570752071000,4,buy,0.001415,10\n";
    let path = case.write("trades.csv", trades);
    collect(&case, "X", "1m", &path)
        .assert_exit(0)
        .stdout_contains("4 trades bucketed into 2 1m candles")
        .stdout_contains("2 inserted");
    assert_eq!(
        case.candles("X", "1m"),
        vec![
            (1_570_752_000_000, 0.001413, 0.001416, 0.001412, 0.001412, 35.0),
            (1_570_752_060_000, 0.001415, 0.001415, 0.001415, 0.001415, 10.0),
        ]
    );
}
