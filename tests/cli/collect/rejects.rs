//! Bad input: a clear message naming the file and line, the documented exit code, and
//! the database exactly as it was.

use crate::support::{Case, collect, data};

const HEADER: &str = "timestamp,open,high,low,close,volume\n";

fn good_rows(count: usize) -> String {
    (0..count).map(|i| format!("{},1.0,1.2,0.9,1.1,5\n", 1_640_995_200_000 + i as i64 * 60_000)).collect()
}

/// A case holding one good batch already, so that "unchanged" means something.
fn seeded() -> Case {
    let case = Case::new();
    let path = case.write("good.csv", format!("{HEADER}{}", good_rows(20)));
    collect(&case, "X", "1m", &path).assert_exit(0);
    case
}

#[track_caller]
fn refused(case: &Case, name: &str, content: &[u8], code: i32, message: &str) {
    let before = case.dump();
    let path = case.write(name, content);
    collect(case, "X", "1m", &path).assert_exit(code).stderr_contains(message);
    assert_eq!(case.dump(), before, "{name} changed the database");
}

#[test]
fn malformed_files_are_refused_with_file_and_line() {
    let case = seeded();
    let rows = good_rows(5);
    refused(
        &case,
        "cols.csv",
        format!("time,open,shut\n{rows}").as_bytes(),
        2,
        "cols.csv:1: no column for high, low, close, volume",
    );
    let text = format!("{HEADER}{}1640995500000,1.0,1.2,zero,1.1,5\n", good_rows(5));
    refused(
        &case,
        "text.csv",
        text.as_bytes(),
        2,
        "text.csv:7: column \"low\": cannot read \"zero\" as a number",
    );
    let truncated = format!("{HEADER}{}1640995500000,1.0,1.", good_rows(5));
    refused(
        &case,
        "cut.csv",
        truncated.as_bytes(),
        2,
        "cut.csv:7: expected at least 6 fields, found 3 (truncated line?)",
    );
    refused(&case, "empty.csv", b"", 2, "empty.csv: the file is empty");
    refused(&case, "header.csv", HEADER.as_bytes(), 2, "header.csv: no candles");
    refused(&case, "noise.dat", &[0u8, 159, 146, 150, 1, 2, 3, 255], 2, "noise.dat: unknown format");
    refused(
        &case,
        "bad.json",
        b"[[1640995200000, 1, 2, 0.5, 1.5, 3], [1640995260000, 1, 2",
        2,
        "bad.json:1:",
    );
    refused(&case, "bad.feather", b"ARROW1\0\0garbage", 2, "bad.feather: not readable as an Arrow IPC");
    refused(&case, "bad.csv.gz", b"\x1f\x8bnot really gzip", 2, "not a readable gzip file");
    refused(&case, "bad.zip", b"PK\x03\x04broken", 2, "not a readable zip file");
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let case = seeded();
    let before = case.dump();
    case.run(["collect", "--symbol", "X", "--interval", "1m", "--file", "nowhere.csv"])
        .assert_exit(2)
        .stderr_contains("cannot open nowhere.csv");
    assert_eq!(case.dump(), before);
}

#[test]
fn a_bad_file_on_a_fresh_folder_creates_nothing() {
    let case = Case::new();
    let path = case.write("text.csv", format!("{HEADER}1640995200000,1,2,x,1,1\n"));
    collect(&case, "X", "1m", &path).assert_exit(2);
    assert!(!case.has_state());
}

#[test]
fn low_quality_batches_are_refused_whole_with_the_reasons() {
    let case = seeded();
    // Every row twice: half of the rows are defects.
    let rows = good_rows(10);
    let doubled = format!("{HEADER}{rows}{rows}");
    refused(&case, "doubled.csv", doubled.as_bytes(), 3, "10 duplicate rows (first at line 12)");
    // A third of the rows with high below the close.
    let mut text = String::from(HEADER);
    for i in 0..30_i64 {
        let high = if i % 3 == 0 { "1.0" } else { "1.2" };
        text.push_str(&format!("{},1.0,{high},0.9,1.1,5\n", 1_641_000_000_000 + i * 60_000));
    }
    refused(
        &case,
        "ohlc.csv",
        text.as_bytes(),
        3,
        "10 rows with high < max(open, close) or low > min(open, close) (first at line 2)",
    );
    refused(&case, "ohlc.csv", text.as_bytes(), 3, "quality 0.615 is below data.quality_threshold 0.8");
    refused(&case, "ohlc.csv", text.as_bytes(), 3, "nothing was written");
}

#[test]
fn a_few_defects_are_reported_and_the_rest_stored() {
    let case = Case::new();
    let mut text = format!("{HEADER}{}", good_rows(30));
    text.push_str(&good_rows(1)); // one exact duplicate of the first row
    text.push_str("1640997000000,1.0,1.2,0.9,nan,5\n"); // minute 30: NaN close
    let path = case.write("few.csv", text);
    collect(&case, "X", "1m", &path)
        .assert_exit(0)
        .stdout_contains("32 rows read, 30 inserted, 0 updated, 0 unchanged, 1 rejected, 1 duplicates")
        .stdout_contains("1 rows with NaN or infinite values (first at line 33)")
        .stdout_contains("1 duplicate rows (first at line 32)");
    assert_eq!(case.candles("X", "1m").len(), 30);
}

#[test]
fn candles_at_another_interval_are_refused_with_a_hint() {
    let path = data("ETH_BTC-5m.feather");
    let case = Case::new();
    collect(&case, "E", "1m", &path)
        .assert_exit(2)
        .stderr_contains("most candles are 5m apart, not 1m")
        .stderr_contains("--resample");
    let one = data("XRP_ETH-1m.feather");
    case.run([
        "collect",
        "--symbol",
        "E",
        "--interval",
        "1m",
        "--resample",
        "90s",
        "--file",
        one.to_str().unwrap(),
    ])
    .assert_exit(2)
    .stderr_contains("90s must be a multiple of 1m");
    assert_eq!(case.dump(), "no database");
}

#[test]
fn corrupted_arrow_and_parquet_files_never_crash() {
    let path = data("ETH_BTC-5m.feather");
    let original = std::fs::read(&path).unwrap();
    let case = Case::new();
    // Flip bytes at spread-out places, and cut the file short, each a separate file.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for attempt in 0..12 {
        let mut bytes = original.clone();
        if attempt % 3 == 0 {
            bytes.truncate(bytes.len() * (attempt + 1) / 14);
        } else {
            for _ in 0..(attempt * 3) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % bytes.len() as u64) as usize;
                bytes[at] ^= 0x5a;
            }
        }
        let file = case.write(&format!("c{attempt}.feather"), &bytes);
        let run = collect(&case, "C", "5m", &file);
        assert!(!run.stderr.contains("panicked"), "attempt {attempt} panicked: {}", run.stderr);
        assert!(matches!(run.code, Some(0 | 2 | 3)), "attempt {attempt}: {run:?}");
    }
}

/// A symbol names a folder under models/ and goes into URLs: anything but a plain name is
/// refused at every door (the command line, the config's `symbols`, the queue) with the
/// reason, and nothing is written.
#[test]
fn a_symbol_that_is_no_plain_name_is_refused_at_every_door_and_nothing_is_written() {
    let case = Case::new();
    let file = crate::support::sample();
    let file = file.to_str().unwrap();
    for symbol in ["..", "../x", "BTC/USDT", ".hidden", "_x", ""] {
        case.run(["collect", "--symbol", symbol, "--interval", "5m", "--file", file])
            .assert_exit(2)
            .stderr_contains(&format!("{symbol:?} is not a symbol"));
    }
    case.run(["train", "--symbol", "..", "--regime", "trending"])
        .assert_exit(2)
        .stderr_contains("is not a symbol");
    case.run(["queue", "add", "--symbol", "BTC/USDT", "--regime", "trending", "--reason", "x"])
        .assert_exit(2)
        .stderr_contains("is not a symbol");
    let written: Vec<_> = std::fs::read_dir(case.path("")).unwrap().collect();
    assert!(written.is_empty(), "{written:?}");

    let configured = Case::new().config("symbols:\n  - symbol: \"BTC/USDT\"\n");
    for args in [&["run"][..], &["status"], &["collect", "--symbol", "BTC", "--file", file]] {
        configured
            .run(args)
            .assert_exit(2)
            .stderr_contains("config.yaml: symbols[0].symbol: \"BTC/USDT\" is not a symbol");
    }
    let written: Vec<_> =
        std::fs::read_dir(configured.path("")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(written, ["config.yaml"]);
}

/// A gzip or zip that expands past `data.max_unpacked_mb` is refused before it is read
/// whole, naming the file and the key; under the limit the same bytes are read.
#[test]
fn archives_that_expand_past_the_limit_are_refused() {
    use std::io::Write;
    // 1.6 MB of candles, compressing to a few kB: a small bomb against a 1 MB limit.
    let text = format!("{HEADER}{}", good_rows(50_000));
    assert!(text.len() > 3 << 19, "{}", text.len());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("a.csv", options).unwrap();
    zip.write_all(&text.as_bytes()[..text.len() / 2]).unwrap();
    zip.start_file("b.csv", options).unwrap();
    zip.write_all(&text.as_bytes()[text.len() / 2..]).unwrap();
    let zip = zip.finish().unwrap().into_inner();

    let case = seeded().config("data:\n  max_unpacked_mb: 1\n");
    refused(&case, "bomb.csv.gz", &gz, 2, "bomb.csv.gz: expands to more than 1 MB (data.max_unpacked_mb)");
    refused(&case, "bomb.zip", &zip, 2, "bomb.zip: expands to more than 1 MB (data.max_unpacked_mb)");

    let roomy = seeded().config("data:\n  max_unpacked_mb: 2\n");
    let path = roomy.write("fine.csv.gz", &gz);
    collect(&roomy, "X", "1m", &path).assert_exit(0).stdout_contains("50000 rows read");
}

/// Values that size memory have upper bounds, named with the key or flag.
#[test]
fn absurd_sizes_in_config_and_flags_are_refused_with_their_bounds() {
    let file = crate::support::sample();
    let file = file.to_str().unwrap();
    for (yaml, message) in [
        ("regimes:\n  lookback_bars: 100000000\n", "regimes.lookback_bars: expected an integer from 20 to 100000"),
        (
            "evaluation:\n  bootstrap_resamples: 1000000000\n",
            "evaluation.bootstrap_resamples: expected an integer from 100 to 100000",
        ),
        ("data:\n  max_unpacked_mb: 0\n", "data.max_unpacked_mb: expected an integer from 1 to 65536"),
        ("training:\n  search:\n    n_trees: [100, 9000000]\n", "training.search.n_trees[1]: expected an integer from 1 to 5000"),
    ] {
        let case = Case::new().config(yaml);
        case.run(["collect", "--symbol", "X", "--interval", "5m", "--file", file])
            .assert_exit(2)
            .stderr_contains(message);
        assert!(!case.has_state(), "{yaml}");
    }
    let case = Case::new();
    case.run(["sample-data", "--days", "100000", "--out", "x.csv"])
        .assert_exit(2)
        .stderr_contains("100000 is not in 1..=3650");
    case.run(["sample-data", "--days", "3650", "--interval", "1s", "--out", "x.csv"])
        .assert_exit(2)
        .stderr_contains("--days 3650 at 1s is 315360000 candles; at most 5256000");
    assert!(!case.path("x.csv").exists());
}

/// What the fuzz targets found (tests/fixtures/fuzz/README.md): each input that crashed
/// the binary is now refused by name, with the state as it was.
#[test]
fn inputs_the_fuzzers_found_crashing_are_refused() {
    let case = seeded();
    let bytes = std::fs::read(crate::support::fixture("fuzz/arrow-ipc-buffer-claims-exabytes.feather")).unwrap();
    refused(
        &case,
        "claims.feather",
        &bytes,
        2,
        "claims.feather: not readable as an Arrow IPC (feather) file: its compressed buffers expand to more than 1024 MB (data.max_unpacked_mb)",
    );
    let bytes = std::fs::read(crate::support::fixture("fuzz/arrow-ipc-schema-panics-polars.feather")).unwrap();
    refused(
        &case,
        "schema.feather",
        &bytes,
        2,
        "schema.feather: not readable as an Arrow IPC (feather) file: the decoder failed on malformed content",
    );
    let bytes = std::fs::read(crate::support::fixture("fuzz/arrow-ipc-message-cut-short.feather")).unwrap();
    refused(
        &case,
        "short.feather",
        &bytes,
        2,
        "short.feather: not readable as an Arrow IPC (feather) file: its compressed buffers expand to more than 1024 MB",
    );
    let bytes = std::fs::read(crate::support::fixture("fuzz/parquet-page-claims-exabytes.parquet")).unwrap();
    refused(
        &case,
        "page.parquet",
        &bytes,
        2,
        "page.parquet: not readable as a Parquet file: a page claims 18446744073709551573 values, more than 1024 MB holds",
    );
    let bytes = std::fs::read(crate::support::fixture("fuzz/parquet-footer-list-claims-gigabytes.parquet")).unwrap();
    refused(
        &case,
        "footer.parquet",
        &bytes,
        2,
        "footer.parquet: not readable as a Parquet file: its footer is malformed: a list of 729740671 elements where 3692 bytes are left",
    );
    // polars reads the footer's fields by id, whatever types they declare: here the
    // schema's field is declared as an i64, and read as a list its elements go on into a
    // run of 0xff bytes that the old walk, going by the declared types, never reached.
    let bytes = std::fs::read(crate::support::fixture("fuzz/parquet-footer-declares-another-type.parquet")).unwrap();
    refused(
        &case,
        "types.parquet",
        &bytes,
        2,
        "types.parquet: not readable as a Parquet file: its footer is malformed: a varint longer than ten bytes",
    );
}

/// A Parquet schema of 200,000 nested groups: polars builds the schema tree by recursion
/// and overflowed its stack (the process aborted). Not a fuzzer's find: read in polars'
/// schema builder while fixing the footer walk.
#[test]
fn a_parquet_schema_nested_past_the_limit_is_refused() {
    fn varint(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push(value as u8 | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
    let groups = 200_000;
    // FileMetaData { version: 1, schema: [group x 200000, leaf], num_rows: 0, row_groups: [] }
    // in Thrift's compact protocol; a group is { repetition_type: REQUIRED, name: "g",
    // num_children: 1 } and the leaf { type: INT32, repetition_type: REQUIRED, name: "x" }.
    let mut footer = vec![0x15, 0x02, 0x19, 0xfc];
    varint(groups + 1, &mut footer);
    for _ in 0..groups {
        footer.extend([0x35, 0x00, 0x18, 0x01, b'g', 0x15, 0x02, 0x00]);
    }
    footer.extend([0x15, 0x02, 0x25, 0x00, 0x18, 0x01, b'x', 0x00]);
    footer.extend([0x16, 0x00, 0x19, 0x0c, 0x00]);
    let mut file = b"PAR1".to_vec();
    file.extend(&footer);
    file.extend((footer.len() as u32).to_le_bytes());
    file.extend(b"PAR1");
    refused(
        &seeded(),
        "deep.parquet",
        &file,
        2,
        "deep.parquet: not readable as a Parquet file: its footer is malformed: its schema nests 200001 groups deep, more than 64",
    );
}
