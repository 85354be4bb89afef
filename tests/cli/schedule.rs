//! `schedule`: fire times by crontab(5) rules in any time zone, the scheduler files in
//! scripts/ that it prints, and a fleet's: the GitHub Actions matrix and the Kubernetes
//! manifests in deploy/.

use serde::Deserialize;

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
    // A crontab, a workflow or manifests are text for a file: --json with any is refused, not
    // ignored.
    for printed in ["--crontab", "--github-actions", "--kubernetes"] {
        case.run(["schedule", printed, "--json"]).assert_exit(2).stderr_contains("cannot be used with");
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // The committed files are for the default state, a SQLite file, on both runs of the suite.
    let plain = Case::sqlite();
    let workflow = plain.run(["schedule", "--github-actions"]);
    let file = std::fs::read_to_string(root.join("scripts/schedule/retrain.yml")).unwrap();
    assert_eq!(workflow.assert_exit(0).stdout, file, "scripts/schedule/retrain.yml is stale");
    assert_reports(&documents(&workflow.stdout)[0]["jobs"]["run"]["steps"]);
    let line = plain.run(["schedule", "--crontab"]).assert_exit(0).stdout.clone();
    let folder = std::fs::canonicalize(plain.path("")).unwrap();
    let generic = line
        .replace(&format!("'{}'", env!("CARGO_BIN_EXE_retrain")), "retrain")
        .replace(&folder.display().to_string(), "/path/to/project")
        .replace(&plain.path("").display().to_string().trim_end_matches('/').to_string(), "/path/to/project");
    let file = std::fs::read_to_string(root.join("scripts/schedule/crontab")).unwrap();
    assert_eq!(generic, file, "scripts/schedule/crontab is stale");
}

/// Steps that write `retrain report`'s page, then upload it as the artifact retrain-report.
fn assert_reports(steps: &serde_yaml::Value) {
    let steps = steps.as_sequence().expect("steps");
    let write = steps
        .iter()
        .position(|s| s["run"].as_str().is_some_and(|r| r.starts_with("retrain report --config config.yaml --out ")))
        .expect("a step writes the report");
    let upload = &steps[write + 1];
    assert_eq!(upload["uses"].as_str(), Some("actions/upload-artifact@v4"));
    assert_eq!(upload["with"]["name"].as_str(), Some("retrain-report"));
    let out = steps[write]["run"].as_str().unwrap().rsplit(' ').next().unwrap().trim_matches('"').replace("$RUNNER_TEMP", "${{ runner.temp }}");
    assert_eq!(upload["with"]["path"].as_str(), Some(out.as_str()), "it uploads the page written");
}

/// A file of the repository, as committed.
fn committed(relative: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The YAML documents of a run's output.
fn documents(text: &str) -> Vec<serde_yaml::Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| serde_yaml::Value::deserialize(document).expect("a YAML document"))
        .collect()
}

/// A fleet's state: PostgreSQL (schedule never connects to it) and models in object storage.
const FLEET: &str = "state:\n  database: postgres://retrain@db.example:5432/retrain\n  models_dir: s3://retrain-models/fleet\n";

#[test]
fn the_fleet_files_in_deploy_are_what_schedule_prints() {
    // SQLite cases: the PostgreSQL run of the suite would give them its own
    // RETRAIN_DATABASE_URL, and the committed files are for the configs' URLs.
    let example = committed("deploy/kubernetes/config.yaml");
    let case = Case::sqlite().config(&example);
    let printed = case.run(["schedule", "--kubernetes", "--workers", "4"]);
    let files = ["configmap.yaml", "cronjob.yaml", "secret.yaml"]
        .map(|file| committed(&format!("deploy/kubernetes/{file}")));
    assert_eq!(
        printed.assert_exit(0).stdout,
        files.join("---\n"),
        "deploy/kubernetes is stale: `retrain --config deploy/kubernetes/config.yaml schedule --kubernetes` prints it"
    );
    assert_eq!(case.run(["schedule", "--kubernetes"]).stdout, printed.stdout, "4 workers by default");
    let docs = documents(&printed.stdout);
    assert_eq!(docs[0]["data"]["config.yaml"].as_str(), Some(example.as_str()));
    assert_eq!(docs[1]["spec"]["schedule"].as_str(), Some("0 * * * *"));
    assert_eq!(docs[1]["spec"]["jobTemplate"]["spec"]["parallelism"].as_u64(), Some(4));
    assert_eq!(docs[2]["kind"].as_str(), Some("Secret"));

    let fleet = Case::sqlite().config(FLEET);
    let workflow = fleet.run(["schedule", "--github-actions", "--workers", "4"]);
    assert_eq!(
        workflow.assert_exit(0).stdout,
        committed("deploy/github-actions/retrain-fleet.yml"),
        "deploy/github-actions/retrain-fleet.yml is stale"
    );
    assert_eq!(fleet.run(["schedule", "--github-actions"]).stdout, workflow.stdout, "4 workers by default");
    let report = &documents(&workflow.stdout)[0]["jobs"]["report"];
    assert_eq!(report["needs"].as_str(), Some("plan-and-work"), "the report waits for every worker");
    assert_reports(&report["steps"]);

    // --workers sizes both, and the cadence follows schedule.jobs as for cron.
    let every_half_hour = Case::sqlite()
        .config(&format!("{FLEET}schedule:\n  jobs:\n    - models: '*'\n      cron: '30 2 * * *'\n"));
    let docs =
        documents(&every_half_hour.run(["schedule", "--kubernetes", "--workers", "7"]).assert_exit(0).stdout);
    let job = &docs[1]["spec"];
    assert_eq!(job["schedule"].as_str(), Some("*/30 * * * *"));
    assert_eq!(job["jobTemplate"]["spec"]["parallelism"].as_u64(), Some(7));
    assert_eq!(job["jobTemplate"]["spec"]["completions"].as_u64(), Some(7));
    let matrix = documents(
        &every_half_hour.run(["schedule", "--github-actions", "--workers", "7"]).assert_exit(0).stdout,
    );
    let workers = &matrix[0]["jobs"]["plan-and-work"]["strategy"]["matrix"]["worker"];
    assert_eq!(workers.as_sequence().map(Vec::len), Some(7));
    assert_eq!(matrix[0]["on"]["schedule"][0]["cron"].as_str(), Some("*/30 * * * *"));
}

#[test]
fn the_config_map_holds_the_config_file_byte_for_byte() {
    for text in [
        FLEET.trim_end(),
        &format!("{FLEET}\n\n"),
        &format!("  # an indented first line\n{FLEET}"),
        &format!("# a tab\there\n{FLEET}").replace('\n', "\r\n"),
        &format!("{FLEET}# \"quotes\" and a \\ backslash\n"),
    ] {
        let case = Case::sqlite().config(text);
        let docs = documents(&case.run(["schedule", "--kubernetes"]).assert_exit(0).stdout);
        assert_eq!(docs[0]["data"]["config.yaml"].as_str(), Some(text), "{text:?}");
    }
}

#[test]
fn schedule_refuses_a_fleet_it_cannot_run() {
    // The defaults: a SQLite file beside the config.
    let plain = Case::sqlite();
    plain.run(["schedule", "--kubernetes"]).assert_exit(2).stderr_contains("the state is the SQLite file");
    plain
        .run(["schedule", "--github-actions", "--workers", "2"])
        .assert_exit(2)
        .stderr_contains("a matrix of workers needs a PostgreSQL state");
    plain.run(["schedule", "--workers", "2"]).assert_exit(2).stderr_contains("--kubernetes");
    for flags in [
        "--crontab --workers 2",
        "--kubernetes --github-actions",
        "--kubernetes --crontab",
        "--kubernetes --expr 0",
        "--github-actions --expr 0",
    ] {
        plain
            .run(["schedule"].into_iter().chain(flags.split(' ')))
            .assert_exit(2)
            .stderr_contains("cannot be used with");
    }
    for workers in ["0", "1001", "many"] {
        plain
            .run(["schedule", "--kubernetes", "--workers", workers])
            .assert_exit(2)
            .stderr_contains("--workers");
    }

    // PostgreSQL with the models in a folder: each worker would keep its own.
    let local = Case::sqlite().config("state:\n  database: postgres://retrain@db.example:5432/retrain\n");
    for printer in ["--kubernetes", "--github-actions"] {
        local.run(["schedule", printer]).assert_exit(2).stderr_contains("set it to object storage");
    }

    // A password in the file would be in the ConfigMap for anyone to read.
    let secret = Case::sqlite().config(&FLEET.replace("retrain@", "retrain:hunter2@"));
    let refused = secret.run(["schedule", "--kubernetes"]);
    refused.assert_exit(2).stderr_contains("holds a password");
    assert!(refused.stdout.is_empty() && !refused.stderr.contains("hunter2"));

    let fleet = Case::sqlite().config(FLEET);
    fleet
        .run(["schedule", "--github-actions", "--workers", "257"])
        .assert_exit(2)
        .stderr_contains("at most 256");

    // RETRAIN_DATABASE_URL (the Secret's, for the pods) makes a fleet of a SQLite config;
    // its password never reaches the output.
    let from_env = Case::sqlite()
        .config("state:\n  models_dir: gs://retrain-models/fleet\n")
        .env("RETRAIN_DATABASE_URL", "postgres://fleet:hunter2@db.internal/retrain");
    let printed = from_env.run(["schedule", "--kubernetes"]);
    printed
        .assert_exit(0)
        .stdout_contains("RETRAIN_DATABASE_URL: \"postgres://fleet:PASSWORD@db.internal/retrain\"")
        .stdout_contains("GOOGLE_SERVICE_ACCOUNT_KEY: \"CHANGE-ME\"");
    assert!(!printed.stdout.contains("hunter2"));
}

/// The state step of the printed workflow, run by bash as GitHub runs it, against a stub
/// of the GitHub CLI (`gh`) that answers what the artifacts and the run history hold, and
/// the real binary. No GitHub runs here: the stub stands for its API (docs/operations.md
/// says so), and these are the decisions the step makes from its answers.
mod the_workflow_never_starts_afresh_by_accident {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use crate::support::{Case, Run};

    /// What the stubbed GitHub holds: a live backup (its run id and folder), how many
    /// backups were ever kept, how many runs succeeded, and the newest backup's time.
    #[derive(Default)]
    struct Github {
        live_backup: Option<(u64, PathBuf)>,
        backups_ever: u32,
        succeeded: u32,
        newest: Option<String>,
    }

    const GH: &str = r#"#!/bin/sh
# A stub of the GitHub CLI: answers from the files of $STUB, records each call.
echo "$*" >> "$STUB/calls"
case "$*" in
  *"| max // empty"*) cat "$STUB/newest" ;;
  *"workflow_run.id // empty"*) cat "$STUB/live" ;;
  *".total_count"*) cat "$STUB/ever" ;;
  "run list"*) cat "$STUB/succeeded" ;;
  "run download"*) mkdir -p "$7" && cp -R "$STUB/backup/." "$7" ;;
  *) echo "unexpected gh $*" >&2; exit 9 ;;
esac
"#;

    /// The step's script, from the workflow `case` prints.
    fn script(case: &Case) -> String {
        let printed = case.run(["schedule", "--github-actions"]);
        let workflow: serde_yaml::Value = serde_yaml::from_str(&printed.assert_exit(0).stdout).unwrap();
        let steps = workflow["jobs"]["run"]["steps"].as_sequence().unwrap();
        let step = steps.iter().find(|s| s["name"] == "Never start afresh by accident").expect("the state step");
        step["run"].as_str().unwrap().to_string()
    }

    /// Run the step in `case`'s folder with `cached` (the cache's matched key) and
    /// `afresh` (the dispatch input); returns its run and what it wrote to GITHUB_OUTPUT.
    fn step(case: &Case, github: &Github, cached: &str, afresh: bool) -> (Run, String) {
        let stub = case.path("stub");
        std::fs::create_dir_all(stub.join("bin")).unwrap();
        std::fs::write(stub.join("bin/gh"), GH).unwrap();
        set_executable(&stub.join("bin/gh"));
        let (live, folder) = github.live_backup.clone().map_or((String::new(), None), |(id, f)| (id.to_string(), Some(f)));
        std::fs::write(stub.join("live"), live).unwrap();
        if let Some(folder) = folder {
            copy_dir(&folder, &stub.join("backup"));
        }
        std::fs::write(stub.join("ever"), github.backups_ever.to_string()).unwrap();
        std::fs::write(stub.join("succeeded"), github.succeeded.to_string()).unwrap();
        std::fs::write(stub.join("newest"), github.newest.clone().unwrap_or_default()).unwrap();
        let output = case.path("github-output");
        std::fs::write(&output, "").unwrap();
        let temp = case.path("runner-temp");
        std::fs::create_dir_all(&temp).unwrap();
        let binary = Path::new(env!("CARGO_BIN_EXE_retrain")).parent().unwrap().to_path_buf();
        let path = std::env::join_paths(
            [stub.join("bin"), binary].into_iter().chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        // As the runner runs it: bash, in the project's folder, calling `retrain` and `gh`
        // by name, with no variable of the test's own.
        let out = Command::new("bash")
            .arg("-c")
            .arg(script(case))
            .current_dir(case.path(""))
            .env_clear()
            .env("PATH", path)
            .env("STUB", &stub)
            .env("GITHUB_REPOSITORY", "quant/strategies")
            .env("GITHUB_OUTPUT", &output)
            .env("RUNNER_TEMP", &temp)
            .env("CACHED", cached)
            .env("START_AFRESH", if afresh { "true" } else { "false" })
            .env("WORKFLOW", "retrain")
            .output()
            .expect("running bash");
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        (run, std::fs::read_to_string(&output).unwrap())
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    fn set_executable(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A project folder as a runner checks it out: the config, no state.
    fn checkout() -> Case {
        Case::sqlite().config("data:\n  interval: 5m\n")
    }

    /// A real backup of a project with a trained model.
    fn a_backup() -> (Case, PathBuf) {
        let project = Case::sqlite().config("data:\n  interval: 5m\n").with_trained_model("1", "1");
        let folder = project.path("backup");
        project.run(["backup", "--to", folder.to_str().unwrap()]).assert_exit(0);
        (project, folder)
    }

    #[test]
    fn a_cache_hit_goes_on_and_a_backup_is_due_once_a_day() {
        let case = checkout();
        let (run, output) = step(&case, &Github::default(), "retrain-state-41-1", false);
        run.assert_exit(0);
        assert_eq!(output, "backup-due=true\n", "no backup yet: one is due");
        let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let fresh = Github { newest: Some(an_hour_ago), backups_ever: 1, ..Github::default() };
        let (run, output) = step(&case, &fresh, "retrain-state-41-1", false);
        run.assert_exit(0);
        assert_eq!(output, "", "a backup an hour old: none due");
        let calls = std::fs::read_to_string(case.path("stub/calls")).unwrap();
        assert!(!calls.contains("run download") && !calls.contains("run list"), "{calls}");
        assert!(!case.path("retrain.db").exists());
    }

    #[test]
    fn a_cache_miss_restores_the_newest_backup() {
        let (project, folder) = a_backup();
        let case = checkout();
        let github = Github { live_backup: Some((77, folder)), backups_ever: 3, succeeded: 9, ..Github::default() };
        let (run, _) = step(&case, &github, "", false);
        run.assert_exit(0).stdout_contains("restored the backup of run 77");
        assert_eq!(
            case.run(["versions", "--symbol", "SYNTH"]).assert_exit(0).stdout,
            project.run(["versions", "--symbol", "SYNTH"]).assert_exit(0).stdout,
            "the registry is back"
        );
    }

    #[test]
    fn a_cache_miss_after_a_state_existed_fails_loudly_and_starts_nothing() {
        for github in [
            Github { backups_ever: 2, ..Github::default() },
            Github { succeeded: 1, ..Github::default() },
        ] {
            let case = checkout();
            let (run, _) = step(&case, &github, "", false);
            run.assert_exit(1).stdout_contains("::error::No state in the cache and no backup to restore");
            assert!(!case.path("retrain.db").exists() && !case.path("models").exists());
            // Asked for by hand, an empty state may start.
            let (run, _) = step(&case, &github, "", true);
            run.assert_exit(0).stdout_contains("starting an empty one, as asked");
        }
    }

    #[test]
    fn the_very_first_run_starts_the_state() {
        let case = checkout();
        let (run, _) = step(&case, &Github::default(), "", false);
        run.assert_exit(0).stdout_contains("The first run: it starts the state.");
    }
}
