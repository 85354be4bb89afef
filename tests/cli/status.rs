//! `status`: what the store holds, as a table and as JSON.

use crate::{Case, shared};

#[test]
fn an_empty_store_says_how_to_begin() {
    Case::new().run(["status"]).assert_exit(0).stdout_contains("no candles yet");
}

#[test]
fn series_show_counts_ranges_and_gaps() {
    let (Some(btc), Some(xrp)) = (shared("btc-perp-20211231-20220201_1m.csv"), shared("XRP_ETH-1m.feather"))
    else {
        return;
    };
    let case = Case::new();
    for (symbol, path) in [("BTC", &btc), ("XRP", &xrp)] {
        case.run(["collect", "--symbol", symbol, "--interval", "1m", "--file", path.to_str().unwrap()])
            .assert_exit(0);
    }
    case.run(["status"])
        .assert_exit(0)
        .stdout_contains("SYMBOL  INTERVAL  CANDLES  FIRST             LAST              GAPS  MISSING")
        .stdout_contains("BTC     1m        45031    2021-12-31 23:01  2022-02-01 05:31  0     0")
        .stdout_contains("XRP     1m        2469     2019-10-11 00:00  2019-10-13 11:19  676   1091");

    let run = case.run(["status", "--json"]);
    run.assert_exit(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let xrp = &doc["series"][1];
    assert_eq!(xrp["symbol"], "XRP");
    assert_eq!(xrp["candles"], 2469);
    assert_eq!(xrp["gaps"], 676);
    assert_eq!(xrp["missing_bars"], 1091);
    assert_eq!(xrp["first_open_time"], "2019-10-11T00:00:00Z");
    assert!((xrp["last_collect"]["quality_score"].as_f64().unwrap() - 0.923).abs() < 0.001);
}
