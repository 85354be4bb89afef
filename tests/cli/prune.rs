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

/// Candidates the gates refused pile up no more when the initial trigger (or a schedule)
/// retrains a model than when drift does: each job's new version archives those earlier
/// jobs left, and prune can then delete their files. Without it, a fleet whose gates refuse
/// its retrains keeps every candidate, and no `--keep` bounds its disk. No cooldown here,
/// so the initial trigger fires at every run while nothing is in production.
#[test]
fn candidates_earlier_jobs_left_are_archived_by_the_next_one_and_then_pruned() {
    let closed = OPEN_GATES.replace("min_f1: 0.0", "min_f1: 0.99");
    let case = Case::new().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{closed}\
         training:\n  search:\n    max_trials: 2\n"
    ));
    case.collect_5m("BTC", &data("btc-perp-20211231-20220201_1m.csv")).assert_exit(0);
    for hour in 0..3 {
        case.run(["run", "--now", &format!("2022-02-01T0{hour}:00:00Z")]).assert_exit(0);
    }
    let jobs = column::<String>(&case, "SELECT trigger || ': ' || outcome FROM jobs ORDER BY id");
    assert_eq!(jobs.len(), 3, "{jobs:#?}");
    assert!(jobs[0].contains("left a candidate: gates fail (min_f1") && !jobs[0].contains("archived"), "{jobs:#?}");
    for job in &jobs[1..] {
        assert!(job.starts_with("initial: ") && job.ends_with("1 earlier candidate archived"), "{jobs:#?}");
    }
    let statuses =
        column::<String>(&case, "SELECT 'v' || version || ' ' || status FROM model_versions ORDER BY version");
    assert_eq!(statuses, ["v1 archived", "v2 archived", "v3 candidate"]);
    let done = json(&case.run(["prune", "--keep", "1", "--json"]));
    let pruned: Vec<i64> = done["pruned"].as_array().unwrap().iter().map(|p| p["version"].as_i64().unwrap()).collect();
    assert_eq!(pruned, [1], "{done:#}");
    assert_eq!(folders(&case), ["BTC/trending/v2", "BTC/trending/v3"]);
    // An archived candidate can still be promoted by hand, as before.
    let forced = ["promote", "--symbol", "BTC", "--regime", "trending", "--version", "2", "--force"];
    case.run([&forced[..], &["--reason", "test"]].concat()).assert_exit(0).stdout_contains("BTC trending: v2 is production");
}
