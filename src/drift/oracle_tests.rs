//! Drift statistics on real columns against scipy and a plainly written-out PSI (fixture
//! made by scripts/oracles/drift.py).

use super::feature;
use crate::config::DriftSettings;
use crate::ingest;

/// Rows `rows.0..rows.1` of the column `name` of a candle file of tests/data.
fn column(file: &str, name: &str, rows: (usize, usize)) -> Vec<f64> {
    let candles = ingest::test_data_candles(file);
    let values = candles[rows.0..rows.1].iter().map(|row| match name {
        "volume" => row.candle.volume,
        "close" => row.candle.close,
        "high" => row.candle.high,
        other => panic!("no column {other}"),
    });
    values.collect()
}

#[test]
fn statistics_agree_with_scipy_and_the_plain_psi() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/fixtures/oracles/drift.json")).unwrap();
    for case in fixture.as_array().unwrap() {
        let side = |key: &str| {
            let s = &case[key];
            let rows = (s["rows"][0].as_u64().unwrap() as usize, s["rows"][1].as_u64().unwrap() as usize);
            column(s["file"].as_str().unwrap(), s["column"].as_str().unwrap(), rows)
        };
        let (reference, current) = (side("reference"), side("current"));
        let name = case["name"].as_str().unwrap();
        let ours = feature(name, &reference, &current, None, &DriftSettings::default());
        let expect = |key: &str| case[key].as_f64().unwrap();
        let psi = ours.psi.unwrap();
        assert!((psi - expect("psi")).abs() <= 1e-9 * expect("psi").abs().max(1.0), "{name}: psi {psi}");
        let d = ours.ks_statistic.unwrap();
        assert!((d - expect("ks_statistic")).abs() <= 1e-12, "{name}: ks {d}");
        let (p, theirs) = (ours.ks_p_value.unwrap(), expect("ks_p_value"));
        assert!(
            (p - theirs).abs() <= 1e-6 * theirs.abs() || (theirs == 0.0 && p < 1e-300),
            "{name}: p {p} vs {theirs}"
        );
        let js = ours.js_distance.unwrap();
        assert!((js - expect("js_distance")).abs() <= 1e-12, "{name}: js {js}");
        let w = ours.wasserstein.unwrap();
        assert!(
            (w - expect("wasserstein")).abs() <= 1e-9 * expect("wasserstein").max(1.0),
            "{name}: wasserstein {w}"
        );
    }
}
