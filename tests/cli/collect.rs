//! `collect` on every real file of tests/data, idempotence, corrections, resampling; the
//! other ways in are in the submodules.

mod binance;
mod formats;
mod mutations;
mod rejects;
mod trades;

use crate::support::{Case, Row, collect, data};

#[test]
fn every_data_file_is_read_with_the_counts_its_readme_gives() {
    let files = [
        ("btc-perp-20211231-20220201_1m.csv", "1m", 45_031, "0 gaps"),
        ("ADABTC-1m-2021-11-27.csv", "1m", 10, "0 gaps"),
        ("ADABTC-1m-2021-11-28.csv", "1m", 11, "0 gaps"),
        ("UNITTEST_BTC-1m.json", "1m", 13_681, "missing 717 bars"),
        ("ETH_BTC-5m.feather", "5m", 5_760, "0 gaps"),
        ("LTC_BTC-5m.feather", "5m", 5_760, "0 gaps"),
        ("XRP_ETH-1m.feather", "1m", 2_469, "missing 1091 bars"),
        ("XRP_ETH-5m.feather", "5m", 706, "missing 6 bars"),
        ("XRP_ETH-trades.feather", "1m", 2_469, "missing 1091 bars"),
    ];
    let case = Case::new();
    for (i, (name, interval, rows, gaps)) in files.iter().enumerate() {
        let path = data(name);
        let symbol = format!("S{i}");
        let run = collect(&case, &symbol, interval, &path);
        run.assert_exit(0).stdout_contains(gaps);
        if !name.contains("trades") {
            run.stdout_contains(&format!("{rows} rows read, {rows} inserted"));
        }
        assert_eq!(case.candles(&symbol, interval).len(), *rows, "{name}");
    }
    // The BTC file's first and last candles, as its README gives them.
    let btc = case.candles("S0", "1m");
    assert_eq!(btc[0], (1_640_991_660_000, 46319.0, 46385.0, 46319.0, 46377.0, 2300413.7295));
    assert_eq!(btc.last().unwrap().0, 1_643_693_460_000);
    // Tiny prices come through untouched.
    assert_eq!(case.candles("S1", "1m")[0].1, 0.00002853);
}

#[test]
fn collecting_twice_changes_nothing_and_says_so() {
    let path = data("btc-perp-20211231-20220201_1m.csv");
    let case = Case::new();
    collect(&case, "BTC", "1m", &path)
        .assert_exit(0)
        .stdout_contains("45031 inserted, 0 updated, 0 unchanged");
    let first = case.candles("BTC", "1m");
    collect(&case, "BTC", "1m", &path)
        .assert_exit(0)
        .stdout_contains("0 inserted, 0 updated, 45031 unchanged")
        .stdout_contains("nothing changed");
    assert_eq!(case.candles("BTC", "1m"), first);
}

#[test]
fn a_corrected_candle_updates_its_row() {
    let path = data("ADABTC-1m-2021-11-27.csv");
    let case = Case::new();
    collect(&case, "ADABTC", "1m", &path).assert_exit(0);
    let text = std::fs::read_to_string(&path).unwrap();
    // Line 3's close 0.00002859 becomes 0.00002858 (still inside its high and low).
    let corrected = text.replacen(
        "1637971320000,0.00002859,0.00002860,0.00002857,0.00002859",
        "1637971320000,0.00002859,0.00002860,0.00002857,0.00002858",
        1,
    );
    assert_ne!(corrected, text);
    let fixed = case.write("fixed.csv", corrected);
    collect(&case, "ADABTC", "1m", &fixed)
        .assert_exit(0)
        .stdout_contains("0 inserted, 1 updated, 9 unchanged");
    assert_eq!(case.candles("ADABTC", "1m")[2].4, 0.00002858);
}

#[test]
fn one_minute_xrp_resampled_to_five_minutes_equals_the_five_minute_file() {
    let (ones, fives) = (data("XRP_ETH-1m.feather"), data("XRP_ETH-5m.feather"));
    let case = Case::new();
    case.collect_5m("R", &ones).assert_exit(0).stdout_contains("resampled from 1m to 706 5m candles");
    collect(&case, "F", "5m", &fives).assert_exit(0);
    let resampled = case.candles("R", "5m");
    assert_eq!(resampled.len(), 706);
    assert_eq!(resampled, case.candles("F", "5m"));
}

#[test]
fn xrp_trades_bucketed_into_minutes_equal_the_one_minute_file() {
    let (trades, ones) = (data("XRP_ETH-trades.feather"), data("XRP_ETH-1m.feather"));
    let case = Case::new();
    collect(&case, "T", "1m", &trades).assert_exit(0);
    collect(&case, "M", "1m", &ones).assert_exit(0);
    assert_eq!(case.candles("T", "1m"), case.candles("M", "1m"));
}

#[test]
fn btc_one_minute_resampled_to_five_minutes_follows_the_aggregation_rules() {
    let path = data("btc-perp-20211231-20220201_1m.csv");
    let case = Case::new();
    collect(&case, "ONE", "1m", &path).assert_exit(0);
    case.collect_5m("FIVE", &path).assert_exit(0);
    let ones = case.candles("ONE", "1m");
    let fives = case.candles("FIVE", "5m");
    // An independent aggregation: group the stored minutes by their five-minute bucket.
    let mut expected: Vec<Row> = Vec::new();
    for c in &ones {
        let bucket = c.0 - c.0.rem_euclid(300_000);
        match expected.last_mut() {
            Some(e) if e.0 == bucket => {
                e.2 = e.2.max(c.2);
                e.3 = e.3.min(c.3);
                e.4 = c.4;
                e.5 += c.5;
            }
            _ => expected.push((bucket, c.1, c.2, c.3, c.4, c.5)),
        }
    }
    assert_eq!(fives, expected);
    // The file starts at 23:01, so the first bucket (23:00) holds four minutes.
    assert_eq!(fives[0].0, 1_640_991_600_000);
}
