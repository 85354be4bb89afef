//! `drift-check`: model mode against the training reference, ad hoc mode on two files;
//! stored reports, one alert per severity, exit code 4 at --fail-on.

use std::path::Path;

use crate::support::{Case, Run, collect, count, data, json, sample};

/// `drift-check --reference .. --current ..` with `extra` arguments.
fn ad_hoc(case: &Case, reference: impl AsRef<Path>, current: impl AsRef<Path>, extra: &[&str]) -> Run {
    let (reference, current) = (reference.as_ref().to_str().unwrap(), current.as_ref().to_str().unwrap());
    let mut args = vec!["drift-check", "--reference", reference, "--current", current];
    args.extend_from_slice(extra);
    case.run(args)
}

/// The fixed method with bands so low that any drift at all is critical.
const TOUCHY: &str = "drift:\n  method: fixed\n  psi_low: 0.00001\n  psi_medium: 0.00002\n  psi_high: 0.00003\n  \
                      psi_critical: 0.00004\n";

#[test]
fn a_model_check_is_stored_alerts_once_and_fails_at_the_level_asked() {
    let case = Case::new().config(TOUCHY).with_trained_model("2", "42");
    let run = case.run([
        "drift-check",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--window-days",
        "10",
        "--fail-on",
        "critical",
    ]);
    run.assert_exit(4)
        .stdout_contains("drift of SYNTH trending v1 (candidate)")
        .stdout_contains("FEATURE")
        .stdout_contains("prediction")
        .stdout_contains("labels: ")
        .stdout_contains("severity critical")
        .stdout_contains("alert raised: SYNTH trending v1: critical drift");
    let again = case.run([
        "drift-check",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--window-days",
        "10",
        "--json",
    ]);
    let doc = json(&again);
    assert_eq!(doc["report"]["severity"], "critical");
    assert_eq!(doc["alert"]["new"], false);
    // One row per input of the model, in its order: the features its manifest lists.
    let manifest = case.manifest("SYNTH/trending/v1");
    let reported: Vec<&str> =
        doc["report"]["features"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    let inputs: Vec<&str> =
        manifest["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(reported, inputs);
    assert_eq!(count(&case, "SELECT COUNT(*) FROM drift_reports"), 2);
    assert_eq!(count(&case, "SELECT COUNT(*) FROM alerts WHERE kind = 'model_drift'"), 1);
    assert!(count(&case, "SELECT COUNT(*) FROM drift_features") > 20);

    case.run([
        "drift-check",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--from",
        "2030-01-01",
        "--to",
        "2030-02-01",
    ])
    .assert_exit(2)
    .stderr_contains("no stored bar falls in the window");
}

#[test]
fn a_model_against_its_own_training_window_shows_no_drift() {
    let case = Case::new().with_trained_model("2", "42");
    let manifest = case.manifest("SYNTH/trending/v1");
    let (from, to) = (manifest["train"]["from"].to_string(), manifest["train"]["to"].to_string());
    let run = case.run([
        "drift-check",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--from",
        &from,
        "--to",
        &to,
        "--json",
    ]);
    let doc = json(&run);
    assert!(doc["report"]["severity"].is_null(), "{}", doc["report"]);
    assert_eq!(doc["report"]["drifted_features"], 0);
    for feature in doc["report"]["features"].as_array().unwrap() {
        assert!(feature["psi"].as_f64().unwrap() < 0.01, "{feature}");
    }
    // The reference predictions are the model's on bars it did not learn from; on its own
    // training rows a forest is more confident, which is no drift of the market.
    let prediction = &doc["report"]["prediction"];
    assert!(prediction["psi"].as_f64().unwrap() > 0.1, "{prediction}");
}

#[test]
fn a_sample_against_itself_shows_no_drift() {
    let case = Case::new();
    let path = sample();
    let run = ad_hoc(&case, &path, &path, &["--fail-on", "low", "--json"]);
    let doc = json(&run);
    let report = &doc["report"];
    assert!(report["severity"].is_null());
    assert_eq!(report["drifted_features"], 0);
    for f in report["features"].as_array().unwrap() {
        assert_eq!(f["psi"], 0.0, "{f}");
        assert_eq!(f["ks_statistic"], 0.0, "{f}");
    }
    assert!(!case.has_state(), "ad hoc checks touch no state");
}

#[test]
fn ad_hoc_checks_name_missing_columns_and_handle_gaps_in_the_data() {
    let case = Case::new();
    let reference = case.write("a.csv", "x,flat,text,only_a\n1,5,a,1\n2,5,b,2\n3,5,c,3\n4,5,d,4\n,5,e,5\n");
    let current = case.write("b.csv", "x,flat,text,only_b\n7,5,a,1\n8,5,b,2\n9,5,c,3\nnan,5,d,4\n");
    let run = ad_hoc(&case, &reference, &current, &[]);
    run.assert_exit(0)
        .stdout_contains("2 shared numeric columns")
        .stdout_contains("only in the reference: only_a; only in the current: only_b");
    let doc = json(&ad_hoc(&case, &reference, &current, &["--json"]));
    let features = doc["report"]["features"].as_array().unwrap();
    let x = &features[0];
    assert_eq!(
        (
            x["name"].as_str(),
            x["reference_rows"].as_u64(),
            x["current_rows"].as_u64(),
            x["non_finite"].as_u64()
        ),
        (Some("x"), Some(4), Some(3), Some(2))
    );
    assert_eq!(x["ks_statistic"], 1.0);
    let flat = &features[1];
    assert_eq!((flat["psi"].as_f64(), flat["drifted"].as_bool()), (Some(0.0), Some(false)));
    ad_hoc(&case, &reference, &current, &["--columns", "x,only_a"])
        .assert_exit(2)
        .stderr_contains("has no numeric column \"only_a\"");
    let unrelated = case.write("c.csv", "y\n1\n");
    ad_hoc(&case, &reference, &unrelated, &[]).assert_exit(2).stderr_contains("share no numeric column");
}

#[test]
fn eth_later_weeks_drift_moderately_and_btc_differs_where_it_really_does() {
    let (eth, btc) = (data("ETH_BTC-5m.feather"), data("btc-perp-20211231-20220201_1m.csv"));
    let case = Case::new();
    collect(&case, "ETH", "5m", &eth).assert_exit(0);
    collect(&case, "BTC", "1m", &btc).assert_exit(0);
    case.run(["features", "--symbol", "ETH", "--interval", "5m", "--out", "eth.csv"]).assert_exit(0);
    case.run(["features", "--symbol", "BTC", "--interval", "1m", "--out", "btc.csv"]).assert_exit(0);
    // The first 12 days of ETH against its last 8.
    let text = std::fs::read_to_string(case.path("eth.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let split = 1 + 12 * 288;
    case.write("eth-early.csv", lines[..split].join("\n"));
    case.write("eth-late.csv", [&lines[..1], &lines[split..]].concat().join("\n"));
    let check =
        |a: &str, b: &str| json(&case.run(["drift-check", "--reference", a, "--current", b, "--json"]));

    let same = check("eth-early.csv", "eth-early.csv");
    assert!(same["report"]["severity"].is_null());
    let psi = |doc: &serde_json::Value, name: &str| {
        doc["report"]["features"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap()["psi"]
            .as_f64()
            .unwrap()
    };
    // Late January 2018 was more volatile than early January: the volatility features
    // move, the oscillators and the hour of day do not; a moderate picture overall.
    let later = check("eth-early.csv", "eth-late.csv");
    let severity = later["report"]["severity"].as_str().unwrap_or("none");
    assert!(["low", "medium"].contains(&severity), "later weeks of the same market: {severity}");
    assert!(psi(&later, "natr") > 0.3 && psi(&later, "volatility") > 0.3);
    assert!(psi(&later, "rsi") < 0.1 && psi(&later, "bb_pct_b") < 0.1);
    assert_eq!(psi(&later, "hour_sin"), 0.0, "whole days on both sides");
    let other = check("eth.csv", "btc.csv");
    // The hour of day is uniform in both: no drift; volatility per bar is not (1m vs 5m).
    assert!(psi(&other, "hour_sin") < 0.05, "{}", psi(&other, "hour_sin"));
    assert!(psi(&other, "volatility") > 0.3, "{}", psi(&other, "volatility"));
}

/// A malformed Feather or Parquet file is refused with exit 2 naming it, never a panic:
/// these flipped bytes made the decoder panic before the ad hoc reader got its guard.
#[test]
fn a_malformed_feather_or_parquet_file_is_a_usage_error_naming_it() {
    let case = Case::new().with_sample();
    let good_feather = data("XRP_ETH-5m.feather");
    let mut bytes = std::fs::read(&good_feather).unwrap();
    bytes[1771] ^= 0xff;
    let bad_feather = case.write("bad.feather", &bytes);
    case.run(["features", "--symbol", "SYNTH", "--out", "good.parquet"]).assert_exit(0);
    let good_parquet = case.path("good.parquet");
    let mut bytes = std::fs::read(&good_parquet).unwrap();
    bytes[56] ^= 0xff;
    let bad_parquet = case.write("bad.parquet", &bytes);
    for (good, bad) in [(&good_feather, &bad_feather), (&good_parquet, &bad_parquet)] {
        for (reference, current) in [(good, bad), (bad, good)] {
            ad_hoc(&case, reference, current, &[])
                .assert_exit(2)
                .stderr_contains(&format!("{}: the decoder failed on malformed content", bad.display()));
        }
    }
}
