//! `prune --keep N`: the artifact files of old archived versions go, their rows stay
//! marked; production, the rollback target and what the deployment record names stay;
//! a prune killed between marking and deleting is finished by `check --repair`.

use crate::support::{Case, OPEN_GATES, column, data, json, train};

/// BTC's trending model promoted five times (v5 live, v1..v4 archived), on the suite's
/// backend.
fn five_promotions() -> Case {
    let case = Case::new().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}\
         training:\n  search:\n    max_trials: 2\n"
    ));
    case.collect_5m("BTC", &data("btc-perp-20211231-20220201_1m.csv")).assert_exit(0);
    for version in 1..=5 {
        train(&case, "BTC", "trending", &["--trials", "2", "--seed", &version.to_string()]).assert_exit(0);
        case.run(["promote", "--symbol", "BTC", "--regime", "trending", "--version", &version.to_string()])
            .assert_exit(0);
    }
    case
}

fn folders(case: &Case) -> Vec<String> {
    let mut folders: Vec<String> = case
        .artifacts()
        .into_iter()
        .map(|(path, _)| path.rsplit_once('/').unwrap().0.to_string())
        .collect();
    folders.dedup();
    folders
}

#[test]
fn prune_keeps_what_may_serve_again_and_marks_what_it_deleted() {
    let case = five_promotions();
    let before = json(&case.run(["status", "--json"]))["artifact_bytes"].as_u64().unwrap();
    let dry = json(&case.run(["prune", "--keep", "1", "--dry-run", "--json"]));
    let would: Vec<i64> = dry["pruned"].as_array().unwrap().iter().map(|p| p["version"].as_i64().unwrap()).collect();
    assert_eq!(would, [3, 2, 1], "v4 is the newest archived, v5 production");
    assert_eq!(folders(&case).len(), 5, "a dry run deletes nothing");

    let done = json(&case.run(["prune", "--keep", "1", "--json"]));
    let freed = done["bytes_before"].as_u64().unwrap() - done["bytes_after"].as_u64().unwrap();
    assert_eq!(done["bytes_before"].as_u64(), Some(before));
    assert_eq!(folders(&case), ["BTC/trending/v4", "BTC/trending/v5"]);
    let after = json(&case.run(["status", "--json"]))["artifact_bytes"].as_u64().unwrap();
    assert_eq!(after, before - freed, "status counts what is left");
    let marked: Vec<i64> =
        column(&case, "SELECT version FROM model_versions WHERE pruned_at IS NOT NULL ORDER BY version");
    assert_eq!(marked, [1, 2, 3], "the rows stay, marked");
    case.run(["versions", "--symbol", "BTC"]).assert_exit(0).stdout_contains("pruned");
    case.run(["check"]).assert_exit(0).stdout_contains("3 pruned");
    let refused = case.run(["promote", "--symbol", "BTC", "--regime", "trending", "--version", "2"]);
    refused.assert_exit(3).stderr_contains("was pruned");

    // Rolled back to v4: v5 is named by the last deployment row, so even --keep 0 keeps it.
    case.run(["rollback", "--symbol", "BTC", "--regime", "trending", "--reason", "test"]).assert_exit(0);
    let none = json(&case.run(["prune", "--keep", "0", "--json"]));
    assert_eq!(none["pruned"].as_array().unwrap().len(), 0, "{none:#}");
    assert!(none["protected"][0].as_str().unwrap().contains("v5"), "{none:#}");
    assert_eq!(folders(&case), ["BTC/trending/v4", "BTC/trending/v5"]);
}

#[test]
fn a_prune_killed_before_deleting_is_finished_by_check_repair() {
    let case = five_promotions();
    let killed = case.run_with_env(&[("RETRAIN_FAILPOINT", "prune:marked")], ["prune", "--keep", "1"]);
    assert!(killed.stderr.contains("failpoint prune:marked"), "{killed:?}");
    // v3 is marked and its files are still there.
    let run = case.run(["check"]);
    run.assert_exit(6).stdout_contains("a version marked pruned");
    case.run(["check", "--repair"]).assert_exit(0);
    assert!(!folders(&case).contains(&"BTC/trending/v3".to_string()));
    case.run(["prune", "--keep", "1"]).assert_exit(0).stdout_contains("pruned 2 version(s)");
    assert_eq!(folders(&case), ["BTC/trending/v4", "BTC/trending/v5"]);
    case.run(["check"]).assert_exit(0);
}
