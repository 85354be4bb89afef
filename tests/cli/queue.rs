//! `queue`: requests to retrain a model, taken by the next `run` (a dry run shows them
//! and changes nothing), listed and cancelled.

use crate::support::{btc_fleet, count};

#[test]
fn a_dry_run_changes_nothing_and_the_queue_takes_requests() {
    let case = btc_fleet("");
    case.run([
        "queue",
        "add",
        "--symbol",
        "BTC",
        "--regime",
        "volatile",
        "--priority",
        "low",
        "--reason",
        "look",
    ])
    .assert_exit(0)
    .stdout_contains("queued request 1");
    case.run(["queue", "add", "--symbol", "BTC", "--regime", "nowhere", "--reason", "x"]).assert_exit(2);
    case.run(["queue", "list"]).assert_exit(0).stdout_contains("volatile  low");
    let before = case.dump();
    let dry = case.run(["run", "--dry-run", "--now", "2022-02-01T06:00:00Z"]);
    dry.assert_exit(0).stdout_contains("would run BTC trending: 1 (initial, medium)").stdout_contains(
        "would run BTC volatile: 2 (initial, medium): manual request 1: look; no production model yet",
    );
    assert_eq!(case.dump(), before);
    assert_eq!(
        count(&case, "SELECT COUNT(*) FROM model_versions") + count(&case, "SELECT COUNT(*) FROM runs"),
        0
    );
    case.run(["queue", "cancel", "1"]).assert_exit(0);
    case.run(["queue", "cancel", "1"]).assert_exit(2).stderr_contains("no waiting request 1");
    case.run(["run", "--dry-run", "--now", "2022-02-01T06:00:00Z"])
        .assert_exit(0)
        .stdout_contains("would run BTC trending");
}
