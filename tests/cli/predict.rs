//! `predict`: signals from the production model only, and never from a damaged artifact;
//! `promote` and `rollback` refuse a damaged version as well.

use crate::support::deploy::{assert_whole, latest_regime, production, statuses};
use crate::support::{Case, OPEN_GATES, count, flip_a_byte, json, train};

#[test]
fn a_flipped_byte_is_refused_by_promote_rollback_and_predict() {
    let case = Case::new().config(OPEN_GATES).with_sample();
    let regime = latest_regime(&case, "SYNTH", "5m");
    let regime = regime.as_str();
    train(&case, "SYNTH", regime, &["--trials", "2", "--seed", "1"]).assert_exit(0);
    train(&case, "SYNTH", regime, &["--trials", "2", "--seed", "2"]).assert_exit(0);
    case.run(["promote", "--symbol", "SYNTH", "--regime", regime, "--version", "1"]).assert_exit(0);
    let v2 = format!("SYNTH/{regime}/v2/model.json");
    let original = flip_a_byte(&case, &v2);
    let before = case.dump() + &format!("{:?}", statuses(&case));
    case.run([
        "promote",
        "--symbol",
        "SYNTH",
        "--regime",
        regime,
        "--version",
        "2",
        "--force",
        "--reason",
        "x",
    ])
    .assert_exit(3)
    .stderr_contains(&format!("{regime}/v2/model.json: checksum mismatch"));
    assert_eq!(case.dump() + &format!("{:?}", statuses(&case)), before, "nothing changed");
    let served = json(&case.run(["predict", "--symbol", "SYNTH", "--interval", "5m", "--json"]));
    assert_eq!(served["version"], 1, "production keeps serving the last good version");

    case.models().put(&v2, &original, false).unwrap();
    case.run(["promote", "--symbol", "SYNTH", "--regime", regime, "--version", "2"]).assert_exit(0);
    flip_a_byte(&case, &format!("SYNTH/{regime}/v1/reference.json"));
    case.run(["rollback", "--symbol", "SYNTH", "--regime", regime, "--reason", "x"])
        .assert_exit(3)
        .stderr_contains(&format!("{regime}/v1/reference.json: checksum mismatch"));
    assert_eq!(production(&case, regime), Some(2));
    flip_a_byte(&case, &v2);
    case.run(["predict", "--symbol", "SYNTH", "--interval", "5m"])
        .assert_exit(3)
        .stderr_contains(&format!("{regime}/v2/model.json: checksum mismatch"));
    assert_eq!(count(&case, "SELECT COUNT(*) FROM signals"), 1, "no signal from a damaged model");
    assert_whole(&case, "end");
}
