//! `run`: a month of hourly cron calls simulated with `--now`, the lock, a killed run,
//! manual requests, notifications; `schedule` against crontab(5).

use std::process::{Command, Stdio};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

use crate::{Case, OPEN_GATES, column, data, http};

fn db(case: &Case) -> rusqlite::Connection {
    rusqlite::Connection::open(case.path("retrain.db")).expect("opening the database")
}

fn collect(case: &Case, symbol: &str, path: &std::path::Path) {
    case.collect_5m(symbol, path).assert_exit(0);
}

/// The open gates with the default 24 h cooldown.
fn gates() -> String {
    OPEN_GATES.replace("cooldown_hours: 0.0", "cooldown_hours: 24.0")
}

/// The last three days of the BTC minutes, three days later, with every price's log
/// distance from the first close multiplied by 8: the same market, eight times as wild.
fn wild_copy(lines: &[&str]) -> String {
    let tail = &lines[lines.len() - 4320..];
    let base: f64 = tail[0].split(',').nth(4).unwrap().parse().unwrap();
    let mut out = String::from("timestamp,open,high,low,close,volume\n");
    for line in tail {
        let cells: Vec<&str> = line.split(',').collect();
        let t = chrono::NaiveDateTime::parse_from_str(&cells[0][..19], "%Y-%m-%d %H:%M:%S").unwrap()
            + Duration::days(3);
        let wild = |i: usize| base * (8.0 * (cells[i].parse::<f64>().unwrap() / base).ln()).exp();
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            t.format("%Y-%m-%d %H:%M:%S"),
            wild(1),
            wild(2),
            wild(3),
            wild(4),
            cells[5]
        ));
    }
    out
}

#[test]
fn a_month_of_hourly_runs_does_every_job_once_when_due_in_order() {
    let btc = data("btc-perp-20211231-20220201_1m.csv");
    let case = Case::new().config(&format!(
        "symbols:
  - symbol: BTC
    interval: 5m
    regimes: [trending, sideways]
training:
  search:
    max_trials: 2
{gates}triggers:
  drift_severity: critical
schedule:
  max_concurrent_jobs: 1
  jobs:
    - models: BTC/trending
      cron: 0 2 * * mon
      timezone: Europe/London
    - models: BTC/sideways
      cron: 15 6 1,15 * 5
      timezone: UTC
",
        gates = gates()
    ));
    let text = std::fs::read_to_string(&btc).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    collect(&case, "BTC", &btc);
    // A market too small to train: a manual request for it must fail alone.
    let tiny: String = lines[..1501].iter().map(|l| format!("{l}\n")).collect();
    collect(&case, "TINY", &case.write("tiny.csv", tiny));

    let start = Utc.with_ymd_and_hms(2022, 2, 1, 0, 0, 0).unwrap();
    let request_at = start + Duration::hours(10 * 24 + 13);
    let drift_at = start + Duration::hours(19 * 24 + 13);
    for hour in 0..720 {
        let now = start + Duration::hours(hour);
        if now == request_at {
            case.run([
                "queue",
                "add",
                "--symbol",
                "BTC",
                "--regime",
                "trending",
                "--priority",
                "urgent",
                "--reason",
                "new fee schedule",
            ])
            .assert_exit(0);
            case.run([
                "queue",
                "add",
                "--symbol",
                "TINY",
                "--regime",
                "trending",
                "--priority",
                "high",
                "--reason",
                "try it",
            ])
            .assert_exit(0);
        }
        if now == drift_at {
            collect(&case, "BTC", &case.write("wild.csv", wild_copy(&lines)));
        }
        let run = case.run(["run", "--now", &now.to_rfc3339()]);
        run.assert_exit(if now == request_at { 1 } else { 0 });
    }

    // What should have run, worked out here from the calendar alone.
    let tick = |day: NaiveDate, hour: u32| Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).unwrap());
    let mut expected: Vec<(DateTime<Utc>, &str, &str, &str, &str)> = vec![
        (start, "BTC", "sideways", "initial", "succeeded"),
        (start, "BTC", "trending", "initial", "succeeded"),
        (request_at, "BTC", "trending", "manual", "succeeded"),
        (request_at, "TINY", "trending", "manual", "failed"),
        (drift_at, "BTC", "sideways", "drift", "succeeded"),
        (drift_at, "BTC", "trending", "drift", "succeeded"),
    ];
    let mut day = start.date_naive();
    while day < (start + Duration::hours(720)).date_naive() {
        // Mondays 02:00 in London, which is UTC in February.
        if day.weekday() == Weekday::Mon {
            expected.push((tick(day, 2), "BTC", "trending", "schedule", "succeeded"));
        }
        // 06:15 UTC on the 1st, the 15th and every Friday (either day field), run at 07:00.
        if [1, 15].contains(&day.day()) || day.weekday() == Weekday::Fri {
            expected.push((tick(day, 7), "BTC", "sideways", "schedule", "succeeded"));
        }
        day = day.succ_opt().unwrap();
    }
    expected.sort_by_key(|e| e.0);

    let conn = db(&case);
    let jobs: Vec<(i64, String, String, String, String, String, String)> = conn
        .prepare(
            "SELECT r.now, j.symbol, j.regime, j.trigger, j.status, j.priority, j.reason
             FROM jobs j JOIN runs r ON r.id = j.run_id ORDER BY j.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let got: Vec<(DateTime<Utc>, &str, &str, &str, &str)> = jobs
        .iter()
        .map(|j| {
            (
                DateTime::from_timestamp_millis(j.0).unwrap(),
                j.1.as_str(),
                j.2.as_str(),
                j.3.as_str(),
                j.4.as_str(),
            )
        })
        .collect();
    assert_eq!(got, expected, "every job once, when due, urgent first within a run");
    // The reasons say why, and the priorities follow the triggers.
    for j in &jobs {
        let (reason, priority) = (j.6.as_str(), j.5.as_str());
        match j.3.as_str() {
            "initial" => assert!(reason.starts_with("no production model yet and"), "{reason}"),
            "schedule" => assert!(reason.contains("came due at") && priority == "medium", "{reason}"),
            "manual" if j.1 == "BTC" => assert!(reason.contains("new fee schedule") && priority == "urgent"),
            "manual" => assert_eq!(priority, "high"),
            "drift" => assert!(reason.starts_with("critical drift") && priority == "urgent", "{reason}"),
            other => panic!("unexpected trigger {other}"),
        }
    }
    let failure: String =
        conn.query_row("SELECT error FROM jobs WHERE symbol = 'TINY'", [], |r| r.get(0)).unwrap();
    assert!(failure.contains("cannot train TINY trending"), "{failure}");
    let alert: (String, String) = conn
        .query_row("SELECT kind, regime FROM alerts WHERE symbol = 'TINY'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(alert, ("training_failure".to_string(), "trending".to_string()));
    // Production only ever changed through a job: every deployment is by `run`.
    assert_eq!(column::<String>(&case, "SELECT DISTINCT actor FROM deployments"), ["run"]);
    case.run(["history", "--jobs"]).assert_exit(0).stdout_contains(&format!("{} finished", expected.len()));
    // status's average improvement per retrain, recomputed from the stored test metrics.
    let pairs: Vec<(String, String)> = conn
        .prepare(
            "SELECT c.metrics, p.metrics FROM jobs j JOIN model_versions v ON v.id = j.version_id
             JOIN evaluations c ON c.version_id = v.id AND c.kind = 'test'
             JOIN evaluations p ON p.version_id = v.parent_id AND p.kind = 'test' WHERE j.status = 'succeeded'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let f1 = |json: &str| {
        serde_json::from_str::<serde_json::Value>(json).unwrap()["classification"]["f1"].as_f64().unwrap()
    };
    let expected_gain = pairs.iter().map(|(c, p)| f1(c) - f1(p)).sum::<f64>() / pairs.len() as f64;
    let status: serde_json::Value =
        serde_json::from_str(&case.run(["status", "--json"]).assert_exit(0).stdout).unwrap();
    let reported = status["jobs"]["average_improvement"].as_f64().unwrap();
    assert!(
        (reported - expected_gain).abs() < 1e-12,
        "{reported} vs {expected_gain} over {} retrains",
        pairs.len()
    );
}

fn btc_case(extra: &str) -> Case {
    let btc = data("btc-perp-20211231-20220201_1m.csv");
    let case = Case::new().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{}{extra}",
        gates()
    ));
    collect(&case, "BTC", &btc);
    case
}

/// A `run` paused inside its job (holding the lock) until its stdin closes or it is
/// killed; returns once it says it is paused.
fn paused_run(case: &Case, now: &str) -> std::process::Child {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_retrain"))
        .current_dir(case.path(""))
        .args(["run", "--now", now])
        .env_remove("RETRAIN_CONFIG")
        .env("RETRAIN_FAILPOINT", "pause:run:job-started")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let paused = lines.by_ref().map_while(Result::ok).any(|l| l.contains("pausing"));
    assert!(paused, "the run never reached its job");
    // Keep reading, so that the run never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

#[test]
fn two_runs_at_once_one_works_and_the_other_exits_5() {
    let case = btc_case("training:\n  search:\n    max_trials: 2\n");
    let mut first = paused_run(&case, "2022-02-01T06:00:00Z");
    let second = case.run(["run", "--now", "2022-02-01T06:00:00Z"]);
    second
        .assert_exit(5)
        .stderr_contains("another `retrain run` holds")
        .stderr_contains(&format!("pid {}", first.id()));
    // Let the first go on: it finishes its job.
    drop(first.stdin.take());
    assert_eq!(first.wait().unwrap().code(), Some(0));
    let count = |sql: &str| -> i64 { db(&case).query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'"), 1, "the job ran once");
    assert_eq!(count("SELECT COUNT(*) FROM runs"), 1, "the refused run left no trace");
}

#[test]
fn kill_9_of_a_working_run_and_the_next_one_takes_over() {
    let case = btc_case("training:\n  search:\n    max_trials: 2\n");
    let mut first = paused_run(&case, "2022-02-01T06:00:00Z");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let next = case.run(["run", "--now", "2022-02-01T07:00:00Z"]);
    next.assert_exit(0).stdout_contains("1 job(s) left running by a killed run are marked abandoned");
    let statuses = column::<String>(&case, "SELECT status FROM jobs ORDER BY id");
    assert_eq!(statuses, ["abandoned", "succeeded"]);
    assert_eq!(column::<String>(&case, "SELECT status FROM runs ORDER BY id"), ["killed", "finished"]);
}

#[test]
fn a_killed_run_leaves_nothing_half_made_and_the_next_one_proceeds() {
    let case = btc_case("training:\n  search:\n    max_trials: 2\n");
    for point in ["run:job-started", "train:reserved", "promote:switched"] {
        let run =
            case.run_with_env(&[("RETRAIN_FAILPOINT", point)], ["run", "--now", "2022-02-01T06:00:00Z"]);
        assert!(run.stderr.contains(&format!("failpoint {point}")), "{point}: {run:?}");
    }
    let conn = db(&case);
    let running: i64 =
        conn.query_row("SELECT COUNT(*) FROM jobs WHERE status = 'running'", [], |r| r.get(0)).unwrap();
    assert_eq!(running, 1, "the last killed run left its job running");
    let next = case.run(["run", "--now", "2022-02-01T07:00:00Z"]);
    next.assert_exit(0).stdout_contains("left running by a killed run are marked abandoned");
    let statuses = column::<String>(&case, "SELECT status FROM jobs ORDER BY id");
    assert_eq!(statuses, ["abandoned", "abandoned", "abandoned", "succeeded"]);
    // v1 was reserved by a killed run and never written; v2 was written but its promotion
    // killed, so it is a whole candidate; v3 is live.
    let versions: Vec<(i64, String)> = conn
        .prepare("SELECT version, status FROM model_versions ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(versions.iter().filter(|v| v.1 == "production").count(), 1, "{versions:?}");
    let deployments: i64 = conn.query_row("SELECT COUNT(*) FROM deployments", [], |r| r.get(0)).unwrap();
    assert_eq!(deployments, 1, "the killed promotion left no row");
    case.run(["versions", "--symbol", "BTC"]).assert_exit(0).stdout_contains("ok");
}

#[test]
fn a_dry_run_changes_nothing_and_the_queue_takes_requests() {
    let case = btc_case("");
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
    let count = |sql: &str| -> i64 { db(&case).query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM model_versions") + count("SELECT COUNT(*) FROM runs"), 0);
    case.run(["queue", "cancel", "1"]).assert_exit(0);
    case.run(["queue", "cancel", "1"]).assert_exit(2).stderr_contains("no waiting request 1");
    case.run(["run", "--dry-run", "--now", "2022-02-01T06:00:00Z"])
        .assert_exit(0)
        .stdout_contains("would run BTC trending");
}

#[test]
fn alerts_are_posted_to_the_webhook_and_a_dead_webhook_never_fails_the_run() {
    let btc = data("btc-perp-20211231-20220201_1m.csv");
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let server = http::Server::start(move |_| {
        let first = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        http::Response::json(if first { 500 } else { 200 }, "ok")
    });
    let case = Case::new().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}\
         notifications:\n  webhook_url: {}/hook\n  min_severity: high\n  retries: 1\n  timeout_secs: 5\n",
        server.url
    ));
    collect(&case, "BTC", &btc);
    case.run(["queue", "add", "--symbol", "NOPE", "--regime", "trending", "--reason", "fails"])
        .assert_exit(0);
    let run = case.run(["run", "--now", "2022-02-01T06:00:00Z"]);
    run.assert_exit(1).stdout_contains("posted to the webhook");
    // Every alert at high or above: the first post got a 500 and was retried, unchanged.
    let bodies = server.bodies();
    let posted: i64 = db(&case)
        .query_row("SELECT COUNT(*) FROM alerts WHERE severity IN ('high', 'critical')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(bodies.len() as i64, posted + 1, "{bodies:?}");
    assert_eq!(bodies[0], bodies[1], "the retry posts the same alert");
    let texts: Vec<String> = bodies
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["text"].as_str().unwrap().to_string())
        .collect();
    assert!(texts.iter().any(|t| t.contains("HIGH training_failure: NOPE trending")), "{texts:?}");
    let delivered: i64 = db(&case)
        .query_row("SELECT COUNT(*) FROM notifications WHERE delivered = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(delivered, posted);

    // No server at all: the post fails, is recorded, and the run still succeeds.
    let dead = Case::new().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}\
         notifications:\n  webhook_url: http://127.0.0.1:9/hook\n  min_severity: low\n  retries: 0\n  timeout_secs: 2\n"
    ));
    collect(&dead, "BTC", &btc);
    dead.run(["run", "--now", "2022-02-01T06:00:00Z"]).assert_exit(0);
    // A drift check of the new production version raises an alert for the next run to post.
    dead.run(["drift-check", "--symbol", "BTC", "--regime", "trending"])
        .assert_exit(0)
        .stdout_contains("alert raised");
    dead.run(["run", "--now", "2022-02-01T07:00:00Z"])
        .assert_exit(0)
        .stdout_contains("not posted after 1 attempt(s)");
    // Not delivered, so the next run tries again.
    dead.run(["run", "--now", "2022-02-01T08:00:00Z"])
        .assert_exit(0)
        .stdout_contains("not posted after 1 attempt(s)");
    let recorded: i64 = db(&dead)
        .query_row("SELECT COUNT(*) FROM notifications WHERE delivered = 0 AND error IS NOT NULL", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(recorded >= 1);
}

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
    let json: serde_json::Value = serde_json::from_str(
        &case
            .run(["schedule", "--expr", "30 9 13 * fri", "--from", "2024-09-01", "--next", "4", "--json"])
            .assert_exit(0)
            .stdout,
    )
    .unwrap();
    let utc: Vec<&str> =
        json["schedules"][0]["next"].as_array().unwrap().iter().map(|t| t["utc"].as_str().unwrap()).collect();
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
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let plain = Case::new();
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
