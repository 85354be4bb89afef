//! `run`: a month of hourly cron calls simulated with `--now`, the lock, a killed run.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

use crate::support::{
    Case, OPEN_GATES, btc_fleet_on, column, count, data, db, http, json, open_gates_with_cooldown,
    paused_run, rows,
};

/// The last `days` days of the BTC minutes, `days` days later (so that they follow on),
/// with every price's log distance from the first close multiplied by 8: the same market,
/// eight times as wild.
fn wild_copy(lines: &[&str], days: i64) -> String {
    let tail = &lines[lines.len() - 1440 * days as usize..];
    let base: f64 = tail[0].split(',').nth(4).unwrap().parse().unwrap();
    let mut out = String::from("timestamp,open,high,low,close,volume\n");
    for line in tail {
        let cells: Vec<&str> = line.split(',').collect();
        let t = chrono::NaiveDateTime::parse_from_str(&cells[0][..19], "%Y-%m-%d %H:%M:%S").unwrap()
            + Duration::days(days);
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
        gates = open_gates_with_cooldown()
    ));
    let text = std::fs::read_to_string(&btc).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    case.collect_5m("BTC", &btc).assert_exit(0);
    // A market too small to train: a manual request for it must fail alone.
    let tiny: String = lines[..1501].iter().map(|l| format!("{l}\n")).collect();
    case.collect_5m("TINY", &case.write("tiny.csv", tiny)).assert_exit(0);

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
            case.collect_5m("BTC", &case.write("wild.csv", wild_copy(&lines, 3))).assert_exit(0);
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
        // Half of trending's features do not reach critical drift (judged by the fixed
        // bands: its training month is too short to calibrate); its F1 decays instead.
        (drift_at, "BTC", "trending", "decay", "succeeded"),
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
        .query_map(
            "SELECT r.now, j.symbol, j.regime, j.trigger, j.status, j.priority, j.reason
             FROM jobs j JOIN runs r ON r.id = j.run_id ORDER BY j.id",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
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
            "decay" => assert!(reason.starts_with("f1 fell from") && priority == "high", "{reason}"),
            other => panic!("unexpected trigger {other}"),
        }
    }
    let failure: String =
        conn.query_row("SELECT error FROM jobs WHERE symbol = 'TINY'", &[], |r| r.get(0)).unwrap();
    assert!(failure.contains("cannot train TINY trending"), "{failure}");
    let alert: (String, String) = conn
        .query_row("SELECT kind, regime FROM alerts WHERE symbol = 'TINY'", &[], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(alert, ("training_failure".to_string(), "trending".to_string()));
    // Production only ever changed through a job: every deployment is by `run`.
    assert_eq!(column::<String>(&case, "SELECT DISTINCT actor FROM deployments"), ["run"]);
    case.run(["history", "--jobs"]).assert_exit(0).stdout_contains(&format!("{} finished", expected.len()));
    // status's average improvement per retrain, recomputed from the stored test metrics.
    let pairs: Vec<(String, String)> = conn
        .query_map(
            "SELECT c.metrics, p.metrics FROM jobs j JOIN model_versions v ON v.id = j.version_id
             JOIN evaluations c ON c.version_id = v.id AND c.kind = 'test'
             JOIN evaluations p ON p.version_id = v.parent_id AND p.kind = 'test' WHERE j.status = 'succeeded'",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let f1 = |json: &str| {
        serde_json::from_str::<serde_json::Value>(json).unwrap()["classification"]["f1"].as_f64().unwrap()
    };
    let expected_gain = pairs.iter().map(|(c, p)| f1(c) - f1(p)).sum::<f64>() / pairs.len() as f64;
    let status = json(&case.run(["status", "--json"]));
    let reported = status["jobs"]["average_improvement"].as_f64().unwrap();
    assert!(
        (reported - expected_gain).abs() < 1e-12,
        "{reported} vs {expected_gain} over {} retrains",
        pairs.len()
    );
}

/// BTC's trending model on a SQLite state, whatever the suite's backend: what these tests
/// prove is the run lock (one `run` per state) and what the next run does after a crash
/// under it. On PostgreSQL many runs work at once and a dead worker's job is taken over
/// when its lease runs out: tests/store/fleet.rs proves that on a server.
fn on_sqlite_alone() -> Case {
    btc_fleet_on(Case::sqlite(), "training:\n  search:\n    max_trials: 2\n")
}

#[test]
fn two_runs_at_once_one_works_and_the_other_exits_5() {
    let case = on_sqlite_alone();
    let mut first = paused_run(&case, "2022-02-01T06:00:00Z");
    let second = case.run(["run", "--now", "2022-02-01T06:00:00Z"]);
    second
        .assert_exit(5)
        .stderr_contains("another `retrain run` holds")
        .stderr_contains(&format!("pid {}", first.id()));
    // Let the first go on: it finishes its job.
    drop(first.stdin.take());
    assert_eq!(first.wait().unwrap().code(), Some(0));
    assert_eq!(count(&case, "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'"), 1, "the job ran once");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM runs"), 1, "the refused run left no trace");
}

#[test]
fn kill_9_of_a_working_run_and_the_next_one_takes_over() {
    let case = on_sqlite_alone();
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
    let case = on_sqlite_alone();
    for point in ["run:job-started", "train:reserved", "promote:switched"] {
        let run =
            case.run_with_env(&[("RETRAIN_FAILPOINT", point)], ["run", "--now", "2022-02-01T06:00:00Z"]);
        assert!(run.stderr.contains(&format!("failpoint {point}")), "{point}: {run:?}");
    }
    let running = count(&case, "SELECT COUNT(*) FROM jobs WHERE status = 'running'");
    assert_eq!(running, 1, "the last killed run left its job running");
    let next = case.run(["run", "--now", "2022-02-01T07:00:00Z"]);
    next.assert_exit(0).stdout_contains("left running by a killed run are marked abandoned");
    let statuses = column::<String>(&case, "SELECT status FROM jobs ORDER BY id");
    assert_eq!(statuses, ["abandoned", "abandoned", "abandoned", "succeeded"]);
    // v1 was reserved by a killed run and never written; v2 was written but its promotion
    // killed, so it is a whole candidate; v3 is live.
    let versions: Vec<(i64, String)> =
        rows(&case, "SELECT version, status FROM model_versions ORDER BY version", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    assert_eq!(versions.iter().filter(|v| v.1 == "production").count(), 1, "{versions:?}");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM deployments"), 1, "the killed promotion left no row");
    case.run(["versions", "--symbol", "BTC"]).assert_exit(0).stdout_contains("ok");
}

/// A run whose collect fails exits 1 and is no successful run; a symbol left without its
/// last closed bar raises a `stale_data` alert (high), once while it stays open.
#[test]
fn a_failed_collect_fails_the_run_and_stale_candles_raise_one_alert() {
    let down = http::Server::start(|_| http::Response::json(502, "<html>502 Bad Gateway</html>"));
    let case = Case::new()
        .config(&format!(
            "symbols:\n  - symbol: SYNTH\n    interval: 5m\n    regimes: [trending]\n    source: binance\n\
             data:\n  source:\n    base_url: {}\n    max_retries: 0\ntriggers:\n  min_initial_rows: 1000000\n",
            down.url
        ))
        .with_sample();
    // Before the bar after the sample's last (2024-02-14 23:55) closes, there is nothing
    // to fetch: the run asks nothing of the exchange.
    case.run(["run", "--now", "2024-02-15T00:02:00Z"]).assert_exit(0).stdout_contains("up to date");
    // Once it has closed, the fetch fails and the stored candles are stale.
    case.run(["run", "--now", "2024-02-15T00:07:00Z"])
        .assert_exit(1)
        .stdout_contains("SYNTH: collect failed")
        .stdout_contains("its models are checked on the stored candles")
        .stdout_contains("SYNTH trending: not due:")
        .stdout_contains("stale_data alert raised: SYNTH 5m: collecting from binance failed")
        .stdout_contains("run done: 0 job(s), 0 failed; 1 collect(s) failed");
    case.run(["run", "--now", "2024-02-15T01:02:00Z"])
        .assert_exit(1)
        .stdout_contains("stale_data alert still open");
    let alerts: Vec<String> = column(
        &case,
        "SELECT kind || ' ' || severity || ' ' || symbol || ' ' || COALESCE(regime, '-') FROM alerts",
    );
    assert_eq!(alerts, ["stale_data high SYNTH -"]);
    // The probe fails on the alert, and the runs that failed to collect are no success:
    // the last successful one is the first.
    let probe = case.run(["status", "--check"]);
    probe.assert_exit(1).stdout_contains("1 open alert(s) at high or above, the oldest high stale_data");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM runs WHERE failed_collects = 1"), 2);
    let doc = json(&case.run(["status", "--json"]));
    let last = count(&case, "SELECT finished_at FROM runs WHERE failed_collects = 0");
    let expected = chrono::DateTime::from_timestamp_millis(last).unwrap();
    assert_eq!(
        doc["health"]["last_successful_run"].as_str(),
        Some(expected.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true).as_str())
    );
}

/// A run checks each production model on its last days only, with one view of the series
/// shared by the backtest and the drift check, predicting the bars of the longer window:
/// what it stores is what `evaluate` and `drift-check` measure on the whole history's view
/// over the same windows (here of different lengths, the drift's the longer).
#[test]
fn the_hourly_check_stores_what_evaluate_and_drift_check_measure_on_the_whole_history() {
    let btc = data("btc-perp-20211231-20220201_1m.csv");
    let text = std::fs::read_to_string(&btc).unwrap();
    let case = Case::new().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n\
         training:\n  search:\n    max_trials: 2\n\
         evaluation:\n  window_days: 2\ndrift:\n  window_days: 4\n{OPEN_GATES}"
    ));
    let until_jan_24: String = text.lines().take_while(|l| !l.starts_with("2022-01-24")).collect::<Vec<_>>().join("\n");
    case.collect_5m("BTC", &case.write("first.csv", until_jan_24 + "\n")).assert_exit(0);
    case.run(["run", "--now", "2022-01-24T00:00:00Z"]).assert_exit(0);
    assert_eq!(column::<String>(&case, "SELECT status FROM model_versions"), ["production"]);
    case.collect_5m("BTC", &btc).assert_exit(0);
    let checked = Utc.with_ymd_and_hms(2022, 2, 1, 1, 0, 0).unwrap();
    case.run(["run", "--now", &checked.to_rfc3339()]).assert_exit(0);
    let at = checked.timestamp_millis();
    // The check is of v1, production when the run began (its drift may retrain it).
    let v1 = count(&case, "SELECT id FROM model_versions WHERE version = 1");

    let (window, metrics): (Vec<i64>, String) = rows(
        &case,
        &format!("SELECT window_from, window_to, metrics FROM evaluations WHERE kind = 'backtest' AND created_at = {at} \
             AND version_id = {v1}"),
        |r| Ok((vec![r.get(0)?, r.get(1)?], r.get(2)?)),
    )
    .pop()
    .expect("the run stored the production model's backtest");
    let stored: serde_json::Value = serde_json::from_str(&metrics).unwrap();
    let doc = json(&case.run(["evaluate", "--symbol", "BTC", "--regime", "trending", "--version", "1", "--window-days", "2", "--json"]));
    let time = |key: &str, doc: &serde_json::Value| {
        DateTime::parse_from_rfc3339(doc["window"][key].as_str().unwrap()).unwrap().timestamp_millis()
    };
    assert_eq!(window, [time("from", &doc), time("to", &doc)]);
    assert!(stored["trading"]["trades"].as_i64().unwrap() > 0, "{stored:#}");
    assert_eq!(stored["trading"], doc["trading"]);
    assert_eq!(stored["classification"], doc["classification"]);

    let report: Vec<(i64, i64, i64, f64, Option<String>)> = rows(
        &case,
        &format!(
            "SELECT id, window_from, current_rows, share_drifted, severity FROM drift_reports \
             WHERE created_at = {at} AND version_id = {v1}"
        ),
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    );
    let (id, from, current, share, severity) = report.into_iter().next().expect("the run stored a drift report");
    let doc = json(&case.run(["drift-check", "--symbol", "BTC", "--regime", "trending", "--version", "1", "--window-days", "4", "--json"]));
    assert!(from < window[0], "the drift window is the longer");
    assert_eq!(from, time("from", &doc));
    assert_eq!(current, doc["window"]["rows"].as_i64().unwrap());
    assert_eq!(share, doc["report"]["share_drifted"].as_f64().unwrap());
    assert_eq!(severity.as_deref(), doc["report"]["severity"].as_str());
    let psi: Vec<Option<f64>> = column(&case, &format!("SELECT psi FROM drift_features WHERE report_id = {id} ORDER BY feature"));
    let mut features: Vec<(String, Option<f64>)> = doc["report"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["psi"].as_f64()))
        .collect();
    features.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(psi, features.into_iter().map(|f| f.1).collect::<Vec<_>>());
}

/// The retrain storm, fixed: a drift that retraining cannot fix (the gates refuse every
/// candidate) while new bars arrive every hour retrains the model once, then waits out
/// the back-off (24 h, then 48 h), saying until when, instead of retraining every run.
#[test]
fn a_drift_the_gates_refuse_to_fix_backs_off_instead_of_storming() {
    let btc = data("btc-perp-20211231-20220201_1m.csv");
    let text = std::fs::read_to_string(&btc).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let config = |gates: &str| {
        format!(
            "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [sideways]\n\
             training:\n  search:\n    max_trials: 2\n{gates}"
        )
    };
    let case = Case::new().config(&config(OPEN_GATES));
    case.collect_5m("BTC", &btc).assert_exit(0);
    let start = Utc.with_ymd_and_hms(2022, 2, 1, 6, 0, 0).unwrap();
    case.run(["run", "--now", &start.to_rfc3339()]).assert_exit(0);
    assert_eq!(column::<String>(&case, "SELECT status FROM model_versions"), ["production"]);
    // From here no candidate passes (an F1 of 0.99), and no cooldown holds a trigger back:
    // only the back-off can stop a storm.
    case.write("config.yaml", config(&OPEN_GATES.replace("min_f1: 0.0", "min_f1: 0.99")));
    // A week of eight-times-wild bars fills the drift window; more arrive hour by hour.
    let wild = wild_copy(&lines, 14);
    let wild: Vec<&str> = wild.lines().collect();
    let feed = |until: DateTime<Utc>| {
        let cut = until.format("%Y-%m-%d %H:%M:%S").to_string();
        let mut csv = format!("{}\n", wild[0]);
        for line in wild[1..].iter().take_while(|l| l[..19] < *cut) {
            csv.push_str(line);
            csv.push('\n');
        }
        case.collect_5m("BTC", &case.write("feed.csv", csv)).assert_exit(0);
    };
    let drifting = Utc.with_ymd_and_hms(2022, 2, 8, 6, 0, 0).unwrap();
    let mut said = Vec::new();
    for hours in [0, 1, 12, 23, 24, 25, 71, 72, 73] {
        let now = drifting + Duration::hours(hours);
        feed(now);
        let run = case.run(["run", "--now", &now.to_rfc3339()]);
        run.assert_exit(0);
        said.push((hours, run.stdout.clone()));
    }
    let jobs: Vec<(i64, String, Option<String>, String)> = rows(
        &case,
        "SELECT started_at, trigger, severity, outcome FROM jobs WHERE trigger != 'initial' ORDER BY id",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    let at: Vec<(i64, &str)> =
        jobs.iter().map(|j| ((j.0 - drifting.timestamp_millis()) / 3_600_000, j.1.as_str())).collect();
    assert_eq!(at, [(0, "drift"), (24, "drift"), (72, "drift")], "{jobs:#?}");
    // Each was for the same unresolved drift, and each candidate was refused.
    let severity = jobs[0].2.clone().expect("a drift job keeps its severity");
    assert!(["high", "critical"].contains(&severity.as_str()), "{severity}");
    for j in &jobs {
        assert_eq!(j.2.as_deref(), Some(severity.as_str()));
        assert!(j.3.contains("left a candidate: gates fail (min_f1"), "{}", j.3);
    }
    // In between, the runs say why not and until when.
    let out = |hours: i64| &said.iter().find(|(h, _)| *h == hours).unwrap().1;
    for (hours, until) in [
        (1, "until 2022-02-09 06:00"),
        (23, "until 2022-02-09 06:00"),
        (25, "is 48 h, until 2022-02-11 06:00"),
        (71, "until 2022-02-11 06:00"),
    ] {
        let text = out(hours);
        assert!(text.contains("drift held back: ") && text.contains(until), "+{hours} h:\n{text}");
    }
    assert!(out(73).contains("3 retrains for drift or decay left production in place"), "{}", out(73));
    // The refused candidates do not pile up: each retrain archives the one before.
    let statuses = column::<String>(
        &case,
        "SELECT 'v' || version || ' ' || status FROM model_versions ORDER BY version",
    );
    assert_eq!(statuses, ["v1 production", "v2 archived", "v3 archived", "v4 candidate"]);

    // `status` says it too. It acts at the wall clock's time, years after these runs: a
    // back-off of a million hours (doubled twice) still holds there, and an age limit as
    // long keeps the age trigger out of it.
    let closed = OPEN_GATES.replace("min_f1: 0.0", "min_f1: 0.99");
    case.write(
        "config.yaml",
        config(&closed) + "triggers:\n  drift_backoff_hours: 1000000\n  max_age_days: 1000000\n",
    );
    let until = drifting + Duration::hours(72 + 4_000_000);
    let doc = json(&case.run(["status", "--json"]));
    assert_eq!(doc["models"][0]["backoff_until"], until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    assert!(doc["models"][0]["needs_retrain"].is_null(), "{doc:#}");
    case.run(["status"])
        .assert_exit(0)
        .stdout_contains(&format!("no: drift and decay backed off until {}", until.format("%Y-%m-%d %H:%M")));
}

/// `--worker-only` joins other runs on a shared PostgreSQL state: on a SQLite file one run
/// plans and works alone, so it is refused; and a worker keeps each job's planning clock,
/// so `--now` with it is refused too.
#[test]
fn worker_only_is_for_a_shared_state() {
    let case = Case::sqlite().config("symbols:\n  - symbol: BTC\n    interval: 5m\n");
    case.run(["init"]).assert_exit(0);
    case.run(["run", "--worker-only"])
        .assert_exit(2)
        .stderr_contains("--worker-only works beside other runs on a shared PostgreSQL state");
    case.run(["run", "--worker-only", "--now", "2024-01-01T00:00:00Z"])
        .assert_exit(2)
        .stderr_contains("cannot be used with");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM runs"), 0, "nothing ran");
}

/// Concurrent hands: a person's command while `run` is mid-job (paused at a failpoint,
/// after its job was claimed and before it trains). The command completes; the run then
/// finishes its job; no write of either is lost and the state is whole.
mod concurrent_hands {
    use crate::support::deploy::assert_whole;
    use crate::support::{Case, OPEN_GATES, column, count, data, paused_run};

    /// BTC trending with v1 in production (the first run) and v2 a candidate (a `train`),
    /// open gates without cooldown, and a manual job queued for the next run to work on.
    fn fleet_with_a_candidate() -> Case {
        let case = Case::new().config(&format!(
            "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}\
             training:\n  search:\n    max_trials: 1\n"
        ));
        case.collect_5m("BTC", &data("btc-perp-20211231-20220201_1m.csv")).assert_exit(0);
        case.run(["run", "--now", "2022-02-01T06:00:00Z"]).assert_exit(0);
        case.run(["train", "--symbol", "BTC", "--regime", "trending", "--trials", "1"]).assert_exit(0);
        case.run(["queue", "add", "--symbol", "BTC", "--regime", "trending", "--reason", "nightly by hand"])
            .assert_exit(0);
        case
    }

    /// Run `hands` while a run is paused in its job, then let the run finish; the state
    /// is whole and `check` finds nothing.
    fn while_a_run_works(case: &Case, hands: impl FnOnce(&Case)) {
        let mut working = paused_run(case, "2022-02-01T07:00:00Z");
        hands(case);
        drop(working.stdin.take());
        assert_eq!(working.wait().unwrap().code(), Some(0), "the run finished its job");
        assert_eq!(count(case, "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'"), 2);
        assert_whole(case, "after the run");
        case.run(["check"]).assert_exit(0);
    }

    fn production(case: &Case) -> Vec<i64> {
        column(case, "SELECT version FROM model_versions WHERE status = 'production'")
    }

    #[test]
    fn promote_while_a_run_works() {
        let case = fleet_with_a_candidate();
        while_a_run_works(&case, |case| {
            case.run(["promote", "--symbol", "BTC", "--regime", "trending", "--version", "2"])
                .assert_exit(0)
                .stdout_contains("v2 is production");
        });
        // The person's promotion is in the record, whatever the run's job did after it.
        let by_hand = count(&case, "SELECT COUNT(*) FROM deployments WHERE actor <> 'run' AND action = 'promote'");
        assert_eq!(by_hand, 1);
        assert_eq!(production(&case).len(), 1);
    }

    #[test]
    fn rollback_while_a_run_works() {
        let case = fleet_with_a_candidate();
        case.run(["promote", "--symbol", "BTC", "--regime", "trending", "--version", "2"]).assert_exit(0);
        while_a_run_works(&case, |case| {
            case.run(["rollback", "--symbol", "BTC", "--regime", "trending", "--reason", "v2 misbehaves"])
                .assert_exit(0)
                .stdout_contains("v1 is production");
        });
        assert_eq!(count(&case, "SELECT COUNT(*) FROM deployments WHERE action = 'rollback'"), 1);
        assert_eq!(production(&case).len(), 1);
    }

    #[test]
    fn collect_while_a_run_works() {
        let case = fleet_with_a_candidate();
        while_a_run_works(&case, |case| {
            let ada = data("ADABTC-1m-2021-11-27.csv");
            case.run(["collect", "--symbol", "ADA", "--interval", "1m", "--file", ada.to_str().unwrap()])
                .assert_exit(0)
                .stdout_contains("10 inserted");
        });
        assert_eq!(case.candles("ADA", "1m").len(), 10, "the collected candles stayed");
    }

    #[test]
    fn queue_add_while_a_run_works() {
        let case = fleet_with_a_candidate();
        while_a_run_works(&case, |case| {
            case.run(["queue", "add", "--symbol", "BTC", "--regime", "trending", "--reason", "added mid-run"])
                .assert_exit(0);
        });
        // Asked while the run worked: it waits for the next run, which does it.
        let waiting = column::<String>(&case, "SELECT status FROM jobs WHERE reason LIKE '%added mid-run%'");
        assert_eq!(waiting, ["queued"]);
        case.run(["run", "--now", "2022-02-01T08:00:00Z"]).assert_exit(0);
        let done = column::<String>(&case, "SELECT status FROM jobs WHERE reason LIKE '%added mid-run%'");
        assert_eq!(done, ["succeeded"]);
    }
}
