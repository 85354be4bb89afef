//! `schedule`: fire times by crontab(5) rules in any time zone, and the scheduler files
//! in scripts/ that it prints.

use crate::support::{Case, json};

#[test]
fn schedule_lists_fire_times_by_crontab_rules_in_any_zone() {
    let case = Case::new();
    // 01:30 does not exist in London on 2024-03-31: it fires when the gap ends, at 02:00 BST.
    let run = case.run([
        "schedule",
        "--expr",
        "30 1 * * 0",
        "--tz",
        "Europe/London",
        "--from",
        "2024-03-20",
        "--next",
        "3",
    ]);
    run.assert_exit(0)
        .stdout_contains("Sun 2024-03-24 01:30 GMT  =  2024-03-24 01:30 UTC")
        .stdout_contains("Sun 2024-03-31 02:00 BST  =  2024-03-31 01:00 UTC")
        .stdout_contains("Sun 2024-04-07 01:30 BST  =  2024-04-07 00:30 UTC");
    let seven = case.run([
        "schedule",
        "--expr",
        "30 1 * * 7",
        "--tz",
        "Europe/London",
        "--from",
        "2024-03-20",
        "--next",
        "3",
    ]);
    assert_eq!(
        seven.stdout.lines().skip(1).collect::<Vec<_>>(),
        run.stdout.lines().skip(1).collect::<Vec<_>>()
    );
    let doc = json(&case.run([
        "schedule",
        "--expr",
        "30 9 13 * fri",
        "--from",
        "2024-09-01",
        "--next",
        "4",
        "--json",
    ]));
    let utc: Vec<&str> =
        doc["schedules"][0]["next"].as_array().unwrap().iter().map(|t| t["utc"].as_str().unwrap()).collect();
    assert_eq!(
        utc,
        ["2024-09-06T09:30:00Z", "2024-09-13T09:30:00Z", "2024-09-20T09:30:00Z", "2024-09-27T09:30:00Z"]
    );
    case.run(["schedule", "--expr", "61 * * * *"])
        .assert_exit(2)
        .stderr_contains("minute: 61 is outside 0-59");
    case.run(["schedule", "--expr", "0 * * * *", "--tz", "Mars/Base"])
        .assert_exit(2)
        .stderr_contains("not an IANA time zone");
}

#[test]
fn the_scheduler_files_in_scripts_are_what_schedule_prints() {
    let case = Case::new().config(
        "schedule:\n  jobs:\n    - models: '*'\n      cron: '30 2 * * *'\n    - models: 'BTC/*'\n      cron: '0 */6 * * *'\n",
    );
    let crontab = case.run(["schedule", "--crontab"]);
    crontab.assert_exit(0).stdout_contains("*/30 * * * * cd ");
    // A crontab or a workflow is text for a file: --json with either is refused, not ignored.
    for printed in ["--crontab", "--github-actions"] {
        case.run(["schedule", printed, "--json"]).assert_exit(2).stderr_contains("cannot be used with");
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // The committed files are for the default state, a SQLite file, on both runs of the suite.
    let plain = Case::sqlite();
    let workflow = plain.run(["schedule", "--github-actions"]);
    let file = std::fs::read_to_string(root.join("scripts/schedule/retrain.yml")).unwrap();
    assert_eq!(workflow.assert_exit(0).stdout, file, "scripts/schedule/retrain.yml is stale");
    let line = plain.run(["schedule", "--crontab"]).assert_exit(0).stdout.clone();
    let folder = std::fs::canonicalize(plain.path("")).unwrap();
    let generic = line
        .replace(&format!("'{}'", env!("CARGO_BIN_EXE_retrain")), "retrain")
        .replace(&folder.display().to_string(), "/path/to/project")
        .replace(&plain.path("").display().to_string().trim_end_matches('/').to_string(), "/path/to/project");
    let file = std::fs::read_to_string(root.join("scripts/schedule/crontab")).unwrap();
    assert_eq!(generic, file, "scripts/schedule/crontab is stale");
}
