//! `sample-data`: the generator behind data/sample/ writes the committed file exactly,
//! and what it writes goes through `collect` cleanly.

use crate::support::{Case, sample};

#[test]
fn the_committed_sample_is_what_the_generator_writes() {
    let case = Case::new();
    case.run(["sample-data", "--out", "sample.csv"]).assert_exit(0).stdout_contains("12960 5m candles");
    let committed = std::fs::read(sample()).unwrap();
    assert!(
        std::fs::read(case.path("sample.csv")).unwrap() == committed,
        "data/sample/SYNTH-5m.csv is stale: rerun `retrain sample-data`"
    );

    case.run(["collect", "--symbol", "SYNTH", "--interval", "5m", "--file", "sample.csv"])
        .assert_exit(0)
        .stdout_contains("12960 rows read, 12960 inserted, 0 updated, 0 unchanged, 0 rejected, 0 duplicates, 0 gaps, quality 1.000");
}
